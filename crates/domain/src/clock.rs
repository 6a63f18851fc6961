//! The clock: every dated obligation of a workspace across its vendors, in
//! one ordered list. Each kind of deadline is one more source.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{UserId, VendorId};
use crate::program::spelled_enum;

spelled_enum!(
    /// What falls due.
    DeadlineKind, "deadline kind" {
        /// A vendor's lead waits for an answer by its answer-by time.
        LeadAnswer => "lead-answer",
        /// A registration waits for its vendor's decision (due a week after
        /// it was submitted).
        DecisionAwaited => "decision-awaited",
        /// A registration's protection ends within 30 days.
        ProtectionEnds => "protection-ends",
        /// A connection needs the partner to log in to it again.
        Reauthorize => "reauthorize",
        /// Something sent to a vendor was refused or could not be sent.
        DeliveryRefused => "delivery-refused",
    }
);

/// How long a vendor is expected to take to decide a registration.
pub const DECISION_DAYS: i64 = 7;

/// How far ahead a protection's end is shown.
pub const PROTECTION_NOTICE_DAYS: i64 = 30;

/// One dated obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deadline {
    /// What falls due.
    pub kind: DeadlineKind,
    /// When (already past when overdue).
    pub due: DateTime<Utc>,
    /// The vendor it concerns, if any.
    pub vendor_id: Option<VendorId>,
    /// The member it concerns (who submitted the registration), if any.
    pub person: Option<UserId>,
    /// What it is about: the lead's contact, the registration's title, the
    /// connection's name.
    pub title: String,
    /// The in-app path of the record.
    pub link: String,
}

/// What the clock shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClockFilter {
    /// Only this vendor's.
    pub vendor_id: Option<VendorId>,
    /// Only this kind.
    pub kind: Option<DeadlineKind>,
    /// Only this member's.
    pub person: Option<UserId>,
}

/// The start of a clock: its first deadlines, and how many of each kind it
/// holds in all, for a page that lists a few and links to the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClockHead {
    /// The first deadlines, in the clock's order.
    pub first: Vec<Deadline>,
    /// How many deadlines of each kind the whole clock holds, in
    /// [`DeadlineKind::ALL`]'s order; kinds it holds none of are left out.
    pub counts: Vec<(DeadlineKind, u64)>,
}

impl ClockHead {
    /// How many deadlines the whole clock holds.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// How many of each kind are not among the first, in the order of
    /// `counts`; kinds with none left are left out.
    pub fn rest(&self) -> Vec<(DeadlineKind, u64)> {
        self.counts
            .iter()
            .filter_map(|(kind, n)| {
                let shown = self.first.iter().filter(|d| d.kind == *kind).count() as u64;
                let left = n.saturating_sub(shown);
                (left > 0).then_some((*kind, left))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(kind: DeadlineKind) -> Deadline {
        Deadline {
            kind,
            due: DateTime::<Utc>::UNIX_EPOCH,
            vendor_id: None,
            person: None,
            title: String::new(),
            link: String::new(),
        }
    }

    #[test]
    fn the_rest_is_each_kinds_count_less_those_shown() {
        let head = ClockHead {
            first: vec![
                due(DeadlineKind::LeadAnswer),
                due(DeadlineKind::LeadAnswer),
                due(DeadlineKind::Reauthorize),
            ],
            counts: vec![
                (DeadlineKind::LeadAnswer, 12),
                (DeadlineKind::DecisionAwaited, 3),
                (DeadlineKind::Reauthorize, 1),
            ],
        };
        assert_eq!(head.total(), 16);
        assert_eq!(
            head.rest(),
            [
                (DeadlineKind::LeadAnswer, 10),
                (DeadlineKind::DecisionAwaited, 3)
            ]
        );
    }
}
