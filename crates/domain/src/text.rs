//! Parsed text inputs. Each type can only be built by parsing, so a value in
//! hand is already known to be well formed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a text input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but whitespace.
    #[error("{what} must not be empty")]
    Empty {
        /// The kind of value.
        what: &'static str,
    },
    /// Longer than allowed.
    #[error("{what} must be at most {max} characters (got {len})")]
    TooLong {
        /// The kind of value.
        what: &'static str,
        /// The limit.
        max: usize,
        /// The input's length.
        len: usize,
    },
    /// Contains characters the kind does not allow.
    #[error("{what} {rule}: `{input}`")]
    Malformed {
        /// The kind of value.
        what: &'static str,
        /// What the value must look like.
        rule: &'static str,
        /// The refused input.
        input: String,
    },
}

fn bounded(what: &'static str, s: &str, max: usize) -> Result<String, TextError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(TextError::Empty { what });
    }
    let len = t.chars().count();
    if len > max {
        return Err(TextError::TooLong { what, max, len });
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(TextError::Malformed {
            what,
            rule: "must not contain control characters",
            input: t.escape_debug().to_string(),
        });
    }
    Ok(t.to_owned())
}

macro_rules! text_type {
    ($(#[doc = $doc:literal])* $name:ident, $what:literal, $max:expr, |$s:ident| $refine:expr) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and normalizes the input.
            pub fn parse(input: &str) -> Result<Self, TextError> {
                let $s = bounded($what, input, $max)?;
                let refined: String = $refine?;
                // Case mapping can lengthen text (`ß` uppercases to `SS`):
                // what is stored must parse again.
                let len = refined.chars().count();
                if len > $max {
                    return Err(TextError::TooLong { what: $what, max: $max, len });
                }
                Ok(Self(refined))
            }

            /// The normalized text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = TextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::text_schema(&[$($doc),*], $max, stringify!($name))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

fn single_line(what: &'static str, s: String) -> Result<String, TextError> {
    if s.contains(['\n', '\t']) {
        return Err(TextError::Malformed {
            what,
            rule: "must be a single line",
            input: s,
        });
    }
    Ok(s)
}

text_type!(
    /// The name of an organization, person, campaign or item: one line, 1 to 200 characters.
    Name, "a name", 200, |s| single_line("a name", s)
);

text_type!(
    /// Free text such as a description or a reason: up to 20,000 characters.
    LongText, "the text", 20_000, |s| Ok(s)
);

text_type!(
    /// An identifier chosen by a vendor's system: 1 to 200 visible ASCII characters.
    ExternalId, "an external id", 200, |s| {
        if s.chars().all(|c| c.is_ascii_graphic()) {
            Ok(s)
        } else {
            Err(TextError::Malformed {
                what: "an external id",
                rule: "must be visible ASCII characters without spaces",
                input: s,
            })
        }
    }
);

text_type!(
    /// A stock-keeping unit: 1 to 100 visible characters, no spaces.
    Sku, "a SKU", 100, |s| {
        if s.chars().any(char::is_whitespace) {
            Err(TextError::Malformed { what: "a SKU", rule: "must not contain spaces", input: s })
        } else {
            Ok(s)
        }
    }
);

text_type!(
    /// A product category, compared case-insensitively (stored lowercase).
    Category, "a category", 100, |s| single_line("a category", s.to_lowercase())
);

text_type!(
    /// A tag on an asset, lowercase, 1 to 64 characters.
    Tag, "a tag", 64, |s| single_line("a tag", s.to_lowercase())
);

text_type!(
    /// A sales region such as `EMEA`, `NORDICS` or a country code (uppercase).
    Region, "a region", 64, |s| {
        let up = s.to_uppercase();
        if up.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            Ok(up)
        } else {
            Err(TextError::Malformed {
                what: "a region",
                rule: "must be letters, digits, `-` or `_`",
                input: s,
            })
        }
    }
);

text_type!(
    /// An email address, trimmed and lowercased.
    Email, "an email address", 254, |s| {
        let lower = s.to_lowercase();
        let valid = match lower.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && !lower.contains(char::is_whitespace)
                    && !domain.contains('@')
            }
            None => false,
        };
        if valid {
            Ok(lower)
        } else {
            Err(TextError::Malformed {
                what: "an email address",
                rule: "must look like name@example.com",
                input: s,
            })
        }
    }
);

impl Email {
    /// The part after the `@` (`example.com`).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

text_type!(
    /// The domain of email addresses, such as `example.com`: lowercased,
    /// dot-separated labels of letters, digits and inner `-`, at least two.
    EmailDomain, "an email domain", 253, |s| {
        let lower = s.to_lowercase();
        let lower = lower.strip_prefix('@').unwrap_or(&lower).to_owned();
        let labels: Vec<&str> = lower.split('.').collect();
        let valid = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.chars().count() <= 63
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if valid {
            Ok(lower)
        } else {
            Err(TextError::Malformed {
                what: "an email domain",
                rule: "must look like example.com",
                input: s,
            })
        }
    }
);

text_type!(
    /// A language tag such as `en`, `fi` or `en-GB` (language lowercase, region uppercase).
    Locale, "a locale", 16, |s| {
        let mut parts = s.split(['-', '_']);
        let lang = parts.next().unwrap_or_default();
        let region = parts.next();
        let lang_ok = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_alphabetic());
        let region_ok = region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()));
        if lang_ok && region_ok && parts.next().is_none() {
            Ok(match region {
                Some(r) => format!("{}-{}", lang.to_ascii_lowercase(), r.to_ascii_uppercase()),
                None => lang.to_ascii_lowercase(),
            })
        } else {
            Err(TextError::Malformed {
                what: "a locale",
                rule: "must be a language tag like `en`, `fi` or `en-GB`",
                input: s,
            })
        }
    }
);

impl Locale {
    /// The language part (`en` of `en-GB`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

text_type!(
    /// An ISO 3166-1 alpha-2 country code, uppercase.
    CountryCode, "a country code", 2, |s| {
        if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(s.to_ascii_uppercase())
        } else {
            Err(TextError::Malformed {
                what: "a country code",
                rule: "must be two letters (ISO 3166-1 alpha-2)",
                input: s,
            })
        }
    }
);

text_type!(
    /// A URL path segment for a public landing page: lowercase letters, digits and `-`.
    Slug, "a slug", 80, |s| {
        let ok = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(s)
        } else {
            Err(TextError::Malformed {
                what: "a slug",
                rule: "must be lowercase letters, digits and inner `-`",
                input: s,
            })
        }
    }
);

impl Slug {
    /// Derives a slug from a name and a disambiguating suffix.
    pub fn derive(name: &str, suffix: &str) -> Slug {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            if out.len() >= 60 {
                break;
            }
        }
        let base = out.trim_end_matches('-');
        let suffix: String = suffix
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .flat_map(|c| c.to_lowercase())
            .take(12)
            .collect();
        let joined = match (base.is_empty(), suffix.is_empty()) {
            (true, true) => "page".to_owned(),
            (true, false) => suffix,
            (false, true) => base.to_owned(),
            (false, false) => format!("{base}-{suffix}"),
        };
        Slug(joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_single_line() {
        assert_eq!(Name::parse("  Acme Oy ").unwrap().as_str(), "Acme Oy");
        assert!(matches!(Name::parse("   "), Err(TextError::Empty { .. })));
        assert!(Name::parse("a\nb").is_err());
        assert!(matches!(
            Name::parse(&"x".repeat(201)),
            Err(TextError::TooLong {
                max: 200,
                len: 201,
                ..
            })
        ));
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Maija@Example.FI ").unwrap().as_str(),
            "maija@example.fi"
        );
        for bad in [
            "maija",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@example.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn email_domains_are_lowercased_and_checked() {
        assert_eq!(
            EmailDomain::parse(" @Example.FI ").unwrap().as_str(),
            "example.fi"
        );
        assert_eq!(
            Email::parse("Maija@Sub.Example.FI").unwrap().domain(),
            "sub.example.fi"
        );
        for bad in [
            "example",
            ".example.com",
            "example..com",
            "-a.com",
            "a b.com",
            "a@b.com",
            "a_b.com",
        ] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn locales_are_normalized() {
        assert_eq!(Locale::parse("en_gb").unwrap().as_str(), "en-GB");
        assert_eq!(Locale::parse("FI").unwrap().as_str(), "fi");
        assert_eq!(Locale::parse("en-GB").unwrap().language(), "en");
        assert!(Locale::parse("english").is_err());
        assert!(Locale::parse("en-GB-x").is_err());
    }

    #[test]
    fn slugs_derive_from_names() {
        assert_eq!(
            Slug::derive("Spring Promo: Printers!", "AB12").as_str(),
            "spring-promo-printers-ab12"
        );
        assert_eq!(Slug::derive("!!!", "").as_str(), "page");
        assert!(Slug::parse("Bad Slug").is_err());
    }

    #[test]
    fn serde_refuses_what_parse_refuses() {
        let r: Result<Email, _> = serde_json::from_str("\"nope\"");
        assert!(r.is_err());
        let ok: CountryCode = serde_json::from_str("\"fi\"").unwrap();
        assert_eq!(ok.as_str(), "FI");
    }

    proptest! {
        #[test]
        fn derived_slugs_always_parse(name in ".{0,100}", suffix in "[a-zA-Z0-9]{0,16}") {
            let slug = Slug::derive(&name, &suffix);
            prop_assert_eq!(Slug::parse(slug.as_str()), Ok(slug.clone()));
        }

        #[test]
        fn every_parsed_text_reparses_to_itself(s in "\\PC{1,70}", long in "[ßİa-z]{60,70}") {
            fn check<T: FromStr<Err = TextError> + AsRef<str> + PartialEq + fmt::Debug>(s: &str) -> Result<(), TestCaseError> {
                if let Ok(v) = s.parse::<T>() {
                    let again = v.as_ref().parse::<T>();
                    prop_assert_eq!(again.as_ref().ok(), Some(&v), "{:?} did not reparse", s);
                }
                Ok(())
            }
            for input in [s.as_str(), long.as_str()] {
                check::<Name>(input)?;
                check::<LongText>(input)?;
                check::<ExternalId>(input)?;
                check::<Sku>(input)?;
                check::<Category>(input)?;
                check::<Tag>(input)?;
                check::<Region>(input)?;
                check::<Email>(input)?;
                check::<EmailDomain>(input)?;
                check::<Locale>(input)?;
                check::<CountryCode>(input)?;
                check::<Slug>(input)?;
            }
        }
    }
}
