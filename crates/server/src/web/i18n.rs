//! The portal's text: Fluent messages from `web/locales`, embedded in the
//! binary, in English and Finnish. The language is the user's own setting,
//! else the browser's `Accept-Language`, else English.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use onepane_domain::Money;
use rust_decimal::Decimal;

/// A language the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Finnish.
    Fi,
}

impl Lang {
    /// Every language, the default first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fi];

    /// Its BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fi => "fi",
        }
    }

    /// The language of a tag (`fi`, `fi-FI`, `en-GB`...), when spoken.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    /// The best language for an `Accept-Language` header: the spoken
    /// language with the highest weight, else English.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(header) = accept_language else {
            return Lang::En;
        };
        let mut best: Option<(u32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Weights have at most three decimals (RFC 9110).
            let weight = (weight.clamp(0.0, 1.0) * 1000.0).round() as u32;
            if weight == 0 {
                continue;
            }
            if let Some(lang) = Lang::from_tag(tag)
                && best.is_none_or(|(w, _)| weight > w)
            {
                best = Some((weight, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }
}

/// Reads the Fluent files of every language, by name.
macro_rules! locale_files {
    ($($name:literal),* $(,)?) => {
        [
            ("en", &[$((
                $name,
                include_str!(concat!("../../../../web/locales/en/", $name, ".ftl")),
            )),*]),
            ("fi", &[$((
                $name,
                include_str!(concat!("../../../../web/locales/fi/", $name, ".ftl")),
            )),*]),
        ]
    };
}

type Files = [(&'static str, &'static [(&'static str, &'static str)]); 2];

/// Every Fluent file, per language.
pub(crate) const FILES: Files = locale_files!(
    "core",
    "auth",
    "home",
    "leads",
    "deals",
    "campaigns",
    "landing",
    "assets",
    "prices",
    "connections",
    "settings",
    "sso",
    "trust",
    "decide",
    "clock",
    "scorecard",
    "mail",
);

/// The messages of both languages.
pub struct Catalog {
    bundles: [FluentBundle<FluentResource>; 2],
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").finish_non_exhaustive()
    }
}

/// Why the embedded messages do not load.
#[derive(Debug, thiserror::Error)]
#[error("the {lang} message file {file}.ftl is broken: {detail}")]
pub struct CatalogError {
    lang: &'static str,
    file: &'static str,
    detail: String,
}

impl Catalog {
    /// Parses the embedded files.
    pub fn load() -> Result<Catalog, CatalogError> {
        let en = bundle(Lang::En, FILES[0].1)?;
        let fi = bundle(Lang::Fi, FILES[1].1)?;
        Ok(Catalog { bundles: [en, fi] })
    }

    /// The catalog every request uses, loaded once. The files are embedded
    /// and checked by the tests, so a failure here is a build defect; it
    /// still does not panic: an empty catalog shows message ids.
    pub fn shared() -> Arc<Catalog> {
        static SHARED: OnceLock<Arc<Catalog>> = OnceLock::new();
        SHARED
            .get_or_init(|| match Catalog::load() {
                Ok(c) => Arc::new(c),
                Err(e) => {
                    tracing::error!(error = %e, "the portal's messages do not load");
                    Arc::new(Catalog {
                        bundles: [empty(Lang::En), empty(Lang::Fi)],
                    })
                }
            })
            .clone()
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::En => &self.bundles[0],
            Lang::Fi => &self.bundles[1],
        }
    }

    /// Whether a language has a message.
    pub fn has(&self, lang: Lang, id: &str) -> bool {
        self.bundle(lang).has_message(id)
    }
}

fn empty(lang: Lang) -> FluentBundle<FluentResource> {
    FluentBundle::new_concurrent(vec![lang_id(lang)])
}

fn lang_id(lang: Lang) -> unic_langid::LanguageIdentifier {
    lang.tag()
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default())
}

fn bundle(
    lang: Lang,
    files: &'static [(&'static str, &'static str)],
) -> Result<FluentBundle<FluentResource>, CatalogError> {
    let mut bundle = empty(lang);
    // Placeables are plain text in HTML; isolation marks would show up in
    // copied text and in tests' string matches.
    bundle.set_use_isolating(false);
    for (file, text) in files {
        let broken = |detail: String| CatalogError {
            lang: lang.tag(),
            file,
            detail,
        };
        let resource = FluentResource::try_new((*text).to_owned())
            .map_err(|(_, errors)| broken(format!("{errors:?}")))?;
        bundle
            .add_resource(resource)
            .map_err(|errors| broken(format!("{errors:?}")))?;
    }
    Ok(bundle)
}

/// The messages of one language, for one response.
#[derive(Debug, Clone)]
pub struct Tr {
    catalog: Arc<Catalog>,
    lang: Lang,
    /// The zone moments are told in.
    zone: onepane_domain::mail::TimeZone,
}

impl Tr {
    /// The messages of `lang`, with moments told in UTC.
    pub fn new(lang: Lang) -> Tr {
        Tr {
            catalog: Catalog::shared(),
            lang,
            zone: onepane_domain::mail::TimeZone::UTC,
        }
    }

    /// The same, with moments told in `zone`.
    pub fn in_zone(mut self, zone: onepane_domain::mail::TimeZone) -> Tr {
        self.zone = zone;
        self
    }

    /// The zone moments are told in (`UTC`, `Europe/Helsinki`).
    pub fn zone_name(&self) -> &'static str {
        self.zone.as_str()
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Its tag, for `<html lang>`.
    pub fn tag(&self) -> &'static str {
        self.lang.tag()
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = self.catalog.bundle(self.lang);
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(id, lang = self.lang.tag(), "missing message");
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                id,
                lang = self.lang.tag(),
                ?errors,
                "message does not format"
            );
        }
        text.into_owned()
    }

    /// A message without arguments.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with one text argument.
    pub fn ts(&self, id: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(value.to_owned()));
        self.format(id, Some(&args))
    }

    /// A message with one number argument (for plurals).
    pub fn tn(&self, id: &str, name: &str, value: i64) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(value));
        self.format(id, Some(&args))
    }

    /// A message with the named values of a JSON object: numbers stay
    /// numbers (for plurals), everything else is text.
    pub fn tjson(&self, id: &str, values: &serde_json::Value) -> String {
        let mut args = FluentArgs::new();
        if let Some(map) = values.as_object() {
            for (name, value) in map {
                match value {
                    serde_json::Value::Number(n) => args.set(
                        name.as_str(),
                        FluentValue::from(n.as_f64().unwrap_or_default()),
                    ),
                    serde_json::Value::String(text) => {
                        args.set(name.as_str(), FluentValue::from(text.clone()))
                    }
                    other => args.set(name.as_str(), FluentValue::from(other.to_string())),
                }
            }
        }
        self.format(id, Some(&args))
    }

    /// A message with any arguments, as text.
    pub fn targs(&self, id: &str, pairs: &[(&str, String)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in pairs {
            args.set(*name, FluentValue::from(value.clone()));
        }
        self.format(id, Some(&args))
    }

    /// A date as the language writes it.
    pub fn date(&self, d: &NaiveDate) -> String {
        match self.lang {
            Lang::En => format!(
                "{} {} {}",
                d.day(),
                MONTHS_EN[d.month0() as usize],
                d.year()
            ),
            Lang::Fi => format!("{}.{}.{}", d.day(), d.month(), d.year()),
        }
    }

    /// A day and month without the year, as a chart's axis writes it
    /// (`1 Nov`; `1.11.` in Finnish).
    pub fn day_month(&self, d: &NaiveDate) -> String {
        match self.lang {
            Lang::En => format!("{} {}", d.day(), &MONTHS_EN[d.month0() as usize][..3]),
            Lang::Fi => format!("{}.{}.", d.day(), d.month()),
        }
    }

    /// A moment, to the minute, in the viewer's zone (UTC unless the
    /// member chose one).
    pub fn datetime(&self, t: &DateTime<Utc>) -> String {
        let local = self.zone.local(*t);
        format!(
            "{} {}",
            self.date(&local.date_naive()),
            local.format("%H:%M")
        )
    }

    /// A moment, to the minute, in the viewer's zone, with the zone said
    /// (`6 Dec 2026 09:30 EET`), for deadlines.
    pub fn datetime_zoned(&self, t: &DateTime<Utc>) -> String {
        let local = self.zone.local(*t);
        format!("{} {}", self.datetime(t), local.format("%Z"))
    }

    /// A number with two decimals and the language's separators.
    pub fn decimal(&self, value: &Decimal) -> String {
        let rounded = value.round_dp(2);
        let text = format!("{:.2}", rounded);
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", text.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, "00"));
        let (group, point) = match self.lang {
            Lang::En => (',', '.'),
            // A no-break space groups thousands in Finnish.
            Lang::Fi => ('\u{a0}', ','),
        };
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(c);
        }
        format!("{sign}{grouped}{point}{frac}")
    }

    /// A number with every decimal it has (an exchange rate), with this
    /// language's decimal point.
    pub fn number(&self, value: &Decimal) -> String {
        let text = value.normalize().to_string();
        match self.lang {
            Lang::En => text,
            Lang::Fi => text.replace('.', ","),
        }
    }

    /// A percentage as this language writes it, with only the decimals it
    /// has (`20 %`, `12.5 %`; `12,5 %` in Finnish).
    pub fn percent(&self, value: &Decimal) -> String {
        let shown = self.decimal(value);
        let point = match self.lang {
            Lang::En => '.',
            Lang::Fi => ',',
        };
        let trimmed = match shown.split_once(point) {
            Some((whole, frac)) => {
                let frac = frac.trim_end_matches('0');
                if frac.is_empty() {
                    whole.to_owned()
                } else {
                    format!("{whole}{point}{frac}")
                }
            }
            None => shown,
        };
        format!("{trimmed} %")
    }

    /// A number as a person of this language types it, or `None`.
    ///
    /// Spaces may group thousands in either language. In Finnish a comma
    /// or a point is the decimal point. In English the point is, and a
    /// comma only groups thousands: "12,500" is twelve thousand five
    /// hundred, and "12,5", which could be meant either way, is refused
    /// rather than misread.
    pub fn parse_decimal(&self, typed: &str) -> Option<Decimal> {
        let compact: String = typed
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
            .collect();
        let plain = match self.lang {
            Lang::Fi => compact.replace(',', "."),
            Lang::En => {
                let (whole, fraction) = compact.split_once('.').unwrap_or((&compact, ""));
                let mut groups = whole.split(',');
                let lead = groups.next().unwrap_or_default();
                let lead = lead.trim_start_matches(['-', '+']);
                let misgrouped = lead.is_empty() || lead.len() > 3 || groups.any(|g| g.len() != 3);
                if fraction.contains(',') || (whole.contains(',') && misgrouped) {
                    return None;
                }
                compact.replace(',', "")
            }
        };
        plain.parse().ok()
    }

    /// An amount with its currency code.
    pub fn money(&self, m: &Money) -> String {
        format!("{}\u{a0}{}", self.decimal(&m.amount), m.currency.code())
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The language for an anonymous visitor: the browser's.
pub fn browser_lang(headers: &axum::http::HeaderMap) -> Lang {
    Lang::negotiate(
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_file_loads_and_both_languages_have_the_same_messages() {
        let catalog = Catalog::load().unwrap();
        for ((_, en), (_, fi)) in FILES[0].1.iter().zip(FILES[1].1.iter()) {
            let (en, fi) = (ids(en), ids(fi));
            assert_eq!(
                en.symmetric_difference(&fi).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "English and Finnish differ"
            );
            for id in &en {
                assert!(
                    catalog.has(Lang::En, id) && catalog.has(Lang::Fi, id),
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn every_message_a_template_or_handler_names_exists() {
        let catalog = Catalog::load().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut missing = Vec::new();
        let mut named = 0;
        let mut scan = |path: &std::path::Path| {
            let text = std::fs::read_to_string(path).unwrap();
            for call in [".t(\"", ".ts(\"", ".tn(\"", ".targs(\""] {
                for (i, _) in text.match_indices(call) {
                    let rest = &text[i + call.len()..];
                    let id = &rest[..rest.find('"').unwrap()];
                    named += 1;
                    for lang in Lang::ALL {
                        if !catalog.has(lang, id) {
                            missing.push(format!("{} in {}: {id}", lang.tag(), path.display()));
                        }
                    }
                }
            }
        };
        // Every file below the templates and the portal's code, pages too.
        let mut dirs = vec![
            root.join("web/templates"),
            root.join("crates/server/src/web"),
        ];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    scan(&path);
                }
            }
        }
        assert!(named > 100, "only {named} messages named");
        assert!(
            missing.is_empty(),
            "missing messages:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn the_browser_language_is_negotiated() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("fi-FI,fi;q=0.9,en;q=0.8")), Lang::Fi);
        assert_eq!(Lang::negotiate(Some("sv-SE, en;q=0.5, fi;q=0.7")), Lang::Fi);
        assert_eq!(Lang::negotiate(Some("de, fi;q=0")), Lang::En);
        assert_eq!(Lang::negotiate(Some("EN-gb")), Lang::En);
        assert_eq!(Lang::negotiate(Some(";;;,q=,fi;q=abc")), Lang::Fi);
    }

    #[test]
    fn numbers_and_dates_read_as_each_language_writes_them() {
        let en = Tr::new(Lang::En);
        let fi = Tr::new(Lang::Fi);
        let d = Decimal::new(-123456789, 3);
        assert_eq!(en.decimal(&d), "-123,456.79");
        assert_eq!(fi.decimal(&d), "-123\u{a0}456,79");
        assert_eq!(en.decimal(&Decimal::new(5, 1)), "0.50");
        assert_eq!(en.percent(&Decimal::new(2000, 2)), "20 %");
        assert_eq!(en.number(&Decimal::new(92150, 5)), "0.9215");
        assert_eq!(fi.number(&Decimal::new(92150, 5)), "0,9215");
        assert_eq!(en.percent(&Decimal::new(125, 1)), "12.5 %");
        assert_eq!(fi.percent(&Decimal::new(125, 1)), "12,5 %");
        assert_eq!(fi.percent(&Decimal::new(12_500, 1)), "1\u{a0}250 %");
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(en.date(&day), "24 Nov 2026");
        assert_eq!(fi.date(&day), "24.11.2026");
        let typed = |tr: &Tr, text: &str| tr.parse_decimal(text).map(|d| d.to_string());
        assert_eq!(typed(&en, "12,500").as_deref(), Some("12500"));
        assert_eq!(typed(&en, "1,234,567.89").as_deref(), Some("1234567.89"));
        assert_eq!(typed(&en, " 12 500.5 ").as_deref(), Some("12500.5"));
        assert_eq!(typed(&en, "12500").as_deref(), Some("12500"));
        for misread in ["12,5", "1,2345", ",500", "1234,567", "1.5,0", "twelve"] {
            assert_eq!(typed(&en, misread), None, "{misread}");
        }
        assert_eq!(typed(&fi, "12 500,50").as_deref(), Some("12500.50"));
        assert_eq!(typed(&fi, "12\u{a0}500.5").as_deref(), Some("12500.5"));
        assert_eq!(typed(&fi, "12,5").as_deref(), Some("12.5"));
        assert_eq!(typed(&fi, "1,2,3"), None);
        assert_eq!(fi.tn("leads-count", "count", 1), "1 liidi");
        assert_eq!(en.tn("leads-count", "count", 2), "2 leads");
    }
}
