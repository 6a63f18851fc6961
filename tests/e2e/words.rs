//! Every page in the viewer's language: the English catalogue's phrases,
//! read with Fluent's own parser, and a walk of the portal that reads each
//! page as a browser would (its text and the attributes people hear or
//! see: titles, labels, placeholders, alternative text, button values) and
//! fails on any English phrase left on a Finnish page.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
use scraper::{Html, Node};

use crate::portal::Visitor;

/// The text of one catalogue's messages, by id: each run of literal text
/// between placeables (and in every variant of a selector), trimmed.
fn catalogue(lang: &str) -> BTreeMap<String, Vec<String>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../web/locales/{lang}"));
    let mut messages = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ftl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no catalogue in {}", dir.display());
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let resource = fluent_syntax::parser::parse(source.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{}: {errors:?}", file.display()));
        for entry in resource.body {
            if let Entry::Message(m) = entry {
                let mut runs = Vec::new();
                if let Some(value) = &m.value {
                    literal_runs(value, &mut runs);
                }
                for attribute in &m.attributes {
                    literal_runs(&attribute.value, &mut runs);
                }
                messages.insert(m.id.name.to_owned(), runs);
            }
        }
    }
    messages
}

fn literal_runs(pattern: &Pattern<&str>, runs: &mut Vec<String>) {
    let mut current = String::new();
    let flush = |current: &mut String, runs: &mut Vec<String>| {
        let run = current.split_whitespace().collect::<Vec<_>>().join(" ");
        if !run.is_empty() {
            runs.push(run);
        }
        current.clear();
    };
    for element in &pattern.elements {
        match element {
            PatternElement::TextElement { value } => current.push_str(value),
            PatternElement::Placeable { expression } => {
                flush(&mut current, runs);
                match expression {
                    Expression::Select { variants, .. } => {
                        for v in variants {
                            literal_runs(&v.value, runs);
                        }
                    }
                    Expression::Inline(InlineExpression::Placeable { expression }) => {
                        if let Expression::Select { variants, .. } = expression.as_ref() {
                            for v in variants {
                                literal_runs(&v.value, runs);
                            }
                        }
                    }
                    Expression::Inline(_) => {}
                }
            }
        }
    }
    flush(&mut current, runs);
}

/// The English phrases no Finnish page may show: runs of the English
/// catalogue of at least two words, which no Finnish message also says
/// (names such as "Onepane", "API" or "CSV" are the same in both), with
/// the message each comes from.
pub fn english_phrases() -> Vec<(String, String)> {
    let english = catalogue("en");
    let finnish = catalogue("fi");
    assert!(english.len() > 200, "the English catalogue read whole");
    let missing: Vec<_> = english
        .keys()
        .filter(|id| !finnish.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "no Finnish for {missing:?}");
    let all_finnish: String = finnish
        .values()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let mut phrases = BTreeSet::new();
    for (id, runs) in &english {
        for run in runs {
            let words = run
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic));
            if words.count() >= 2 && !all_finnish.contains(run.as_str()) {
                phrases.insert((run.clone(), id.clone()));
            }
        }
    }
    phrases.into_iter().map(|(run, id)| (id, run)).collect()
}

/// What a page says to a person: its text outside scripts and styles, and
/// the attributes read out or shown, whitespace collapsed.
pub fn page_text(html: &str) -> String {
    let document = Html::parse_document(html);
    let mut out = Vec::new();
    for node in document.tree.nodes() {
        match node.value() {
            Node::Text(text) => {
                let hidden = node.ancestors().any(|a| {
                    a.value()
                        .as_element()
                        .is_some_and(|e| matches!(e.name(), "script" | "style" | "template"))
                });
                if !hidden {
                    out.push(text.to_string());
                }
            }
            Node::Element(e) => {
                for name in [
                    "title",
                    "aria-label",
                    "placeholder",
                    "alt",
                    "aria-description",
                ] {
                    if let Some(v) = e.attr(name) {
                        out.push(v.to_owned());
                    }
                }
                if e.name() == "input" && matches!(e.attr("type"), Some("submit" | "button")) {
                    out.extend(e.attr("value").map(str::to_owned));
                }
            }
            _ => {}
        }
    }
    out.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The portal paths a page links to (same origin, without fragments).
fn links(html: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let a = scraper::Selector::parse("a[href]").unwrap();
    document
        .select(&a)
        .filter_map(|e| e.value().attr("href"))
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.split('#').next().unwrap_or(h).to_owned())
        .collect()
}

/// The shape of a path, its ids (UUIDs, numbers) as `{id}`: the walk reads
/// a few pages of each shape, not every lead.
fn shape(path: &str) -> String {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<String> = path
        .split('/')
        .map(|s| {
            let id = s.len() >= 8 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if id || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())) {
                "{id}".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect();
    let keys: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .collect();
    format!("{}?{}", segments.join("/"), keys.join("&"))
}

/// Walks the portal from `/` as `visitor` (logged in), reading up to
/// `limit` pages, at most three of each shape; fails on a page that does
/// not answer 200, that lacks `marker` (a phrase of the chosen language on
/// every portal page), or that shows any of `phrases`. The paths read.
pub async fn walk(
    visitor: &mut Visitor,
    marker: &str,
    phrases: &[(String, String)],
    limit: usize,
) -> Vec<String> {
    // Links that leave the pages: downloads, feeds, the API and its
    // reference (English by design, as the OpenAPI document is), logging
    // out, and the public pages a visitor reads in the partner's language.
    let skip = |p: &str| {
        p.starts_with("/logout")
            || p.starts_with("/api")
            || p.starts_with("/static/")
            || p.starts_with("/l/")
            || p.starts_with("/calendar/")
            || p.starts_with("/unsubscribe")
            || p.contains(".csv")
            || p.contains(".ics")
            || p.contains("/download")
    };
    let mut queue = VecDeque::from(["/".to_owned()]);
    let mut seen = BTreeSet::from(["/".to_owned()]);
    let mut per_shape: BTreeMap<String, usize> = BTreeMap::new();
    let mut read = Vec::new();
    let mut faults = Vec::new();
    while let Some(path) = queue.pop_front() {
        if read.len() >= limit {
            break;
        }
        let mut page = visitor.get(&path).await;
        // A page that moved (`/settings` to its first section) is read
        // where it points, within the portal.
        for _ in 0..3 {
            match (&page.status, &page.location) {
                (301 | 302 | 303 | 307 | 308, Some(to)) if to.starts_with('/') => {
                    let to = to.clone();
                    page = visitor.get(&to).await;
                }
                _ => break,
            }
        }
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        read.push(path.clone());
        let text = page_text(&page.body);
        if !text.contains(marker) {
            faults.push(format!("{path}: does not say {marker:?}"));
        }
        for (id, phrase) in phrases {
            if contains_phrase(&text, phrase) {
                faults.push(format!("{path}: English {phrase:?} ({id})"));
            }
        }
        for link in links(&page.body) {
            if skip(&link) || !seen.insert(link.clone()) {
                continue;
            }
            let n = per_shape.entry(shape(&link)).or_default();
            if *n < 3 {
                *n += 1;
                queue.push_back(link);
            }
        }
    }
    assert!(
        faults.is_empty(),
        "{} faults:\n{}",
        faults.len(),
        faults.join("\n")
    );
    read
}

/// Whether `text` says `phrase` as words (not inside a longer word).
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[test]
fn the_catalogue_and_the_page_reader_find_what_they_must() {
    let phrases = english_phrases();
    // The checks below can fail: a phrase of the English catalogue is found
    // on a page that shows it, in text and in an attribute, and not inside
    // a longer word.
    let (_, phrase) = phrases
        .iter()
        .find(|(id, _)| id == "login-forgot")
        .expect("the login page's English link is a phrase to look for");
    let page = format!(
        "<html><head><title>x</title><script>var t = '{phrase}';</script></head>\
         <body><p>Unohditko salasanasi?</p><a href=\"/x\" aria-label=\"{phrase}\">?</a></body></html>"
    );
    let text = page_text(&page);
    assert!(contains_phrase(&text, phrase), "{text}");
    assert!(!page_text("<script>Forgot your password?</script>").contains("Forgot"));
    assert!(!contains_phrase("Log inside", "Log in"));
    assert_eq!(
        shape("/leads/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b?tab=history"),
        "/leads/{id}?tab"
    );
}
