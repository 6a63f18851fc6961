//! The clock told by mail: what mail a member wants, the time zone it
//! reads times in, and the kinds of mail sent.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::program::spelled_enum;

spelled_enum!(
    /// A kind of mail the server sends members on its own.
    MailKind, "mail kind" {
        /// Once a day: what falls due in the next seven days and what was
        /// missed since the last digest.
        Digest => "digest",
        /// At once: a new lead whose answer-by time is under 48 hours away.
        UrgentLead => "urgent-lead",
    }
);

/// How far ahead a digest looks.
pub const DIGEST_DAYS: i64 = 7;

/// A lead is urgent when the vendor gave less than this many hours to
/// answer it.
pub const URGENT_LEAD_HOURS: i64 = 48;

/// What mail a member wants. Nothing by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailPreferences {
    /// The daily digest.
    pub daily_digest: bool,
    /// Mail at once for an urgent lead.
    pub urgent_leads: bool,
}

impl MailPreferences {
    /// Whether the member wants mail of `kind`.
    pub fn wants(&self, kind: MailKind) -> bool {
        match kind {
            MailKind::Digest => self.daily_digest,
            MailKind::UrgentLead => self.urgent_leads,
        }
    }

    /// The same choices with `kind` turned off.
    pub fn without(self, kind: MailKind) -> Self {
        match kind {
            MailKind::Digest => Self {
                daily_digest: false,
                ..self
            },
            MailKind::UrgentLead => Self {
                urgent_leads: false,
                ..self
            },
        }
    }
}

/// A lead is urgent when its vendor gave it less than
/// [`URGENT_LEAD_HOURS`] from arrival to answer.
pub fn is_urgent(created_at: DateTime<Utc>, respond_by: DateTime<Utc>) -> bool {
    respond_by - created_at < chrono::Duration::hours(URGENT_LEAD_HOURS)
}

/// An IANA time zone (`Europe/Helsinki`), as the tz database names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(Tz);

/// Why a time zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a time zone of the IANA database, such as Europe/Helsinki: `{0}`")]
pub struct UnknownTimeZone(String);

impl TimeZone {
    /// Coordinated Universal Time, for members who chose none.
    pub const UTC: TimeZone = TimeZone(Tz::UTC);

    /// Parses an IANA name (exactly as the database spells it).
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(UnknownTimeZone(name.chars().take(64).collect()));
        }
        name.parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| UnknownTimeZone(name.to_owned()))
    }

    /// Every zone's IANA name, for a picker.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
    }

    /// Its IANA name.
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    /// The zone, for converting times.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// A moment in this zone.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<Tz> {
        at.with_timezone(&self.0)
    }
}

impl FromStr for TimeZone {
    type Err = UnknownTimeZone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimeZone::parse(s)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Timelike as _};

    use super::*;

    #[test]
    fn iana_names_parse_and_anything_else_is_refused() {
        let helsinki = TimeZone::parse(" Europe/Helsinki ").unwrap();
        assert_eq!(helsinki.as_str(), "Europe/Helsinki");
        assert_eq!(helsinki.to_string().parse::<TimeZone>(), Ok(helsinki));
        for bad in [
            "",
            "Europe/Espoo",
            "Mars/Olympus",
            "UTC+2",
            &"A".repeat(100),
        ] {
            assert!(TimeZone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_told_in_the_zone_with_its_summer_time() {
        let helsinki = TimeZone::parse("Europe/Helsinki").unwrap();
        let winter = Utc.with_ymd_and_hms(2026, 12, 8, 10, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 8, 10, 0, 0).unwrap();
        assert_eq!(helsinki.local(winter).hour(), 12);
        assert_eq!(helsinki.local(summer).hour(), 13);
    }

    #[test]
    fn a_lead_is_urgent_under_48_hours() {
        let at = Utc.with_ymd_and_hms(2026, 12, 8, 10, 0, 0).unwrap();
        assert!(is_urgent(at, at + chrono::Duration::hours(47)));
        assert!(!is_urgent(at, at + chrono::Duration::hours(48)));
        assert!(!is_urgent(at, at + chrono::Duration::days(5)));
    }

    #[test]
    fn turning_one_kind_off_keeps_the_other() {
        let both = MailPreferences {
            daily_digest: true,
            urgent_leads: true,
        };
        assert!(!both.without(MailKind::Digest).wants(MailKind::Digest));
        assert!(both.without(MailKind::Digest).wants(MailKind::UrgentLead));
        assert!(
            !both
                .without(MailKind::UrgentLead)
                .wants(MailKind::UrgentLead)
        );
    }
}
