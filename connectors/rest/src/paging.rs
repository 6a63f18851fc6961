//! Where a page starts, and where the next one does.
//!
//! The position travels through the sync engine as an opaque JSON value:
//! `{"cursor": ...}`, `{"url": "..."}`, `{"offset": 200}` or `{"page": 3}`.

use reqwest::header::{HeaderMap, LINK};
use serde_json::{Value, json};
use url::Url;

use crate::manifest::Pagination;
use crate::pointer::scalar_text;

/// Where one page starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Position {
    /// The first page of a pass.
    First,
    /// A cursor the vendor gave (a string or a number).
    Cursor(Value),
    /// A next link the vendor gave, checked to be on the base URL's origin.
    Url(Url),
    /// Records to skip.
    Offset(u64),
    /// A page number.
    Page(u64),
}

impl Position {
    /// Reads `next` as the engine gives it back, for `pagination`.
    pub(crate) fn read(
        pagination: &Pagination,
        next: Option<&Value>,
        base: &Url,
    ) -> Result<Position, String> {
        let Some(next) = next else {
            return Ok(Position::First);
        };
        let misfit = || {
            format!(
                "the page position {next} does not fit the manifest's `{}` pagination (was the manifest changed during a pass?)",
                pagination.kind()
            )
        };
        let field = |name: &str| {
            next.as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.get(name))
        };
        match pagination {
            Pagination::None {} => Err(misfit()),
            Pagination::Cursor { .. } => match field("cursor") {
                Some(cursor @ (Value::String(_) | Value::Number(_))) => {
                    Ok(Position::Cursor(cursor.clone()))
                }
                _ => Err(misfit()),
            },
            Pagination::NextLink { .. } | Pagination::LinkHeader {} => {
                let url = field("url")
                    .and_then(Value::as_str)
                    .and_then(|u| Url::parse(u).ok())
                    .ok_or_else(misfit)?;
                same_origin(&url, base)?;
                Ok(Position::Url(url))
            }
            Pagination::Offset { .. } => field("offset")
                .and_then(Value::as_u64)
                .map(Position::Offset)
                .ok_or_else(misfit),
            Pagination::PageNumber { .. } => field("page")
                .and_then(Value::as_u64)
                .map(Position::Page)
                .ok_or_else(misfit),
        }
    }

    /// The query parameters this position adds to the stream's URL (none
    /// for a next link, which is a whole URL of its own).
    pub(crate) fn params(&self, pagination: &Pagination) -> Vec<(String, String)> {
        let mut params = Vec::new();
        match (pagination, self) {
            (_, Position::Url(_)) => {}
            (Pagination::Cursor { param, .. }, Position::Cursor(Value::String(cursor))) => {
                params.push((param.clone(), cursor.clone()))
            }
            (Pagination::Cursor { param, .. }, Position::Cursor(cursor)) => {
                params.push((param.clone(), cursor.to_string()));
            }
            (
                Pagination::Offset {
                    param,
                    page_size,
                    page_size_param,
                },
                position,
            ) => {
                let offset = match position {
                    Position::Offset(offset) => *offset,
                    _ => 0,
                };
                params.push((param.clone(), offset.to_string()));
                params.extend(
                    page_size_param
                        .iter()
                        .map(|p| (p.clone(), page_size.to_string())),
                );
            }
            (
                Pagination::PageNumber {
                    param,
                    first_page,
                    page_size,
                    page_size_param,
                },
                position,
            ) => {
                let page = match position {
                    Position::Page(page) => *page,
                    _ => *first_page,
                };
                params.push((param.clone(), page.to_string()));
                params.extend(
                    page_size_param
                        .iter()
                        .map(|p| (p.clone(), page_size.to_string())),
                );
            }
            _ => {}
        }
        params
    }
}

/// What a page said about the next one.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    /// The URL that was requested.
    pub(crate) url: &'a Url,
    /// The response headers.
    pub(crate) headers: &'a HeaderMap,
    /// The parsed body.
    pub(crate) body: &'a Value,
    /// How many records the page selected (rejected ones included).
    pub(crate) count: u64,
    /// The total the vendor reported, if any.
    pub(crate) total: Option<u64>,
}

/// Where the next page starts, or `None` when this one was the last:
///
/// - cursor: the body has no cursor (absent, `null` or empty);
/// - next link / Link header: there is no next link;
/// - offset / page number: the page was empty or shorter than the page
///   size, or the records read so far reach the reported total.
///
/// A cursor or link that repeats the current one, or a link to another
/// origin, is an error: following it would loop or leave the vendor.
pub(crate) fn next(
    pagination: &Pagination,
    position: &Position,
    answer: &Answer<'_>,
    base: &Url,
) -> Result<Option<Value>, String> {
    match pagination {
        Pagination::None {} => Ok(None),
        Pagination::Cursor { cursor, .. } => {
            let found = match cursor.find(answer.body) {
                None => return Ok(None),
                Some(Value::String(s)) if s.is_empty() => return Ok(None),
                Some(found @ (Value::String(_) | Value::Number(_))) => found,
                Some(other) => {
                    return Err(format!(
                        "the next cursor at {cursor} is {}, not a text or number",
                        crate::pointer::kind(other)
                    ));
                }
            };
            if let Position::Cursor(current) = position
                && current == found
            {
                return Err(format!("the next cursor {found} repeats the one just used"));
            }
            Ok(Some(json!({ "cursor": found })))
        }
        Pagination::NextLink { next } => {
            let link = match next.find(answer.body) {
                None => return Ok(None),
                Some(found) => scalar_text(found).ok_or_else(|| {
                    format!(
                        "the next link at {next} is {}, not a URL",
                        crate::pointer::kind(found)
                    )
                })?,
            };
            if link.is_empty() {
                return Ok(None);
            }
            follow(&link, answer.url, base)
        }
        Pagination::LinkHeader {} => match next_link(answer.headers)? {
            None => Ok(None),
            Some(link) => follow(&link, answer.url, base),
        },
        Pagination::Offset { page_size, .. } => {
            let offset = match position {
                Position::Offset(offset) => *offset,
                _ => 0,
            };
            let read = offset.saturating_add(answer.count);
            let last = answer.count == 0
                || answer.count < *page_size
                || answer.total.is_some_and(|total| read >= total);
            Ok((!last).then(|| json!({ "offset": read })))
        }
        Pagination::PageNumber {
            first_page,
            page_size,
            ..
        } => {
            let page = match position {
                Position::Page(page) => *page,
                _ => *first_page,
            };
            let pages_read = page.saturating_sub(*first_page).saturating_add(1);
            let last = answer.count == 0
                || answer.count < *page_size
                || answer
                    .total
                    .is_some_and(|total| pages_read.saturating_mul(*page_size) >= total);
            Ok((!last).then(|| json!({ "page": page.saturating_add(1) })))
        }
    }
}

/// A next link, resolved against the page's URL, checked to stay on the
/// base URL's origin and to move.
fn follow(link: &str, current: &Url, base: &Url) -> Result<Option<Value>, String> {
    let url = current
        .join(link)
        .map_err(|e| format!("the next link `{link}` is not a URL: {e}"))?;
    same_origin(&url, base)?;
    if &url == current {
        return Err("the next link repeats the page just read".to_owned());
    }
    Ok(Some(json!({ "url": url.as_str() })))
}

/// Refuses a URL off the base URL's origin: a vendor cannot send us elsewhere.
pub(crate) fn same_origin(url: &Url, base: &Url) -> Result<(), String> {
    if url.origin() == base.origin() {
        Ok(())
    } else {
        Err(format!(
            "the next link goes to {}, off the manifest's {}; it is not followed",
            url.origin().ascii_serialization(),
            base.origin().ascii_serialization()
        ))
    }
}

/// The `rel="next"` target of the `Link` headers (RFC 8288), if any.
fn next_link(headers: &HeaderMap) -> Result<Option<String>, String> {
    for value in headers.get_all(LINK) {
        let text = value
            .to_str()
            .map_err(|_| "the Link header is not ASCII".to_owned())?;
        for (target, rels) in parse_link_header(text)? {
            if rels.iter().any(|r| r.eq_ignore_ascii_case("next")) {
                return Ok(Some(target));
            }
        }
    }
    Ok(None)
}

/// `<url>; rel="next"; title="a, b", <url2>; rel=last` into targets and
/// their relation types.
fn parse_link_header(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let malformed = || {
        format!(
            "the Link header `{}` is malformed",
            onepane_connector::snippet(text.as_bytes())
        )
    };
    let mut links = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return Ok(links);
        }
        let inside = rest.strip_prefix('<').ok_or_else(malformed)?;
        let end = inside.find('>').ok_or_else(malformed)?;
        let target = inside[..end].trim().to_owned();
        rest = &inside[end + 1..];
        let mut quoted = false;
        let mut params_end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    params_end = i;
                    break;
                }
                _ => {}
            }
        }
        let mut rels = Vec::new();
        for param in rest[..params_end].split(';') {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("rel")
            {
                rels.extend(
                    value
                        .trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .map(str::to_owned),
                );
            }
        }
        rest = &rest[params_end..];
        links.push((target, rels));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_parse_as_rfc_8288_writes_them() {
        let links = parse_link_header(
            r#"<https://api.example/v1/leads?page=3>; rel="next", <https://api.example/v1/leads?page=1>; rel="prev first"; title="a, b", <https://api.example/v1/leads?page=9>; rel=last"#,
        )
        .unwrap();
        assert_eq!(links.len(), 3);
        assert_eq!(links[0].0, "https://api.example/v1/leads?page=3");
        assert_eq!(links[0].1, vec!["next"]);
        assert_eq!(links[1].1, vec!["prev", "first"]);
        assert_eq!(links[2].1, vec!["last"]);
        assert!(parse_link_header("https://no-brackets; rel=next").is_err());
        assert!(parse_link_header("").unwrap().is_empty());
    }

    #[test]
    fn next_links_stay_on_the_origin_and_move() {
        let base = Url::parse("https://api.example/v1/").unwrap();
        let current = Url::parse("https://api.example/v1/leads?page=1").unwrap();
        assert_eq!(
            follow("/v1/leads?page=2", &current, &base).unwrap(),
            Some(json!({"url": "https://api.example/v1/leads?page=2"}))
        );
        assert!(follow("https://evil.example/v1/leads", &current, &base).is_err());
        assert!(follow("http://api.example/v1/leads?page=2", &current, &base).is_err());
        assert!(follow("https://api.example:8443/v1/leads", &current, &base).is_err());
        assert!(follow("?page=1", &current, &base).is_err());
    }

    #[test]
    fn short_pages_and_totals_end_offset_pagination() {
        let pagination = Pagination::Offset {
            param: "offset".into(),
            page_size: 2,
            page_size_param: None,
        };
        let base = Url::parse("https://api.example/").unwrap();
        let headers = HeaderMap::new();
        let body = json!({});
        let answer = |count, total| Answer {
            url: &base,
            headers: &headers,
            body: &body,
            count,
            total,
        };
        let at = Position::Offset(4);
        assert_eq!(
            next(&pagination, &at, &answer(2, None), &base).unwrap(),
            Some(json!({"offset": 6}))
        );
        assert_eq!(
            next(&pagination, &at, &answer(1, None), &base).unwrap(),
            None
        );
        assert_eq!(
            next(&pagination, &at, &answer(0, None), &base).unwrap(),
            None
        );
        assert_eq!(
            next(&pagination, &at, &answer(2, Some(6)), &base).unwrap(),
            None
        );
    }

    #[test]
    fn positions_must_fit_the_pagination() {
        let base = Url::parse("https://api.example/").unwrap();
        let cursor = Pagination::Cursor {
            cursor: crate::pointer::Pointer::parse("/next").unwrap(),
            param: "cursor".into(),
        };
        assert!(Position::read(&cursor, Some(&json!({"page": 2})), &base).is_err());
        assert_eq!(
            Position::read(&cursor, Some(&json!({"cursor": "c2"})), &base).unwrap(),
            Position::Cursor(json!("c2"))
        );
        let link = Pagination::LinkHeader {};
        assert!(
            Position::read(
                &link,
                Some(&json!({"url": "https://evil.example/x"})),
                &base
            )
            .is_err()
        );
    }
}
