//! The vendor scorecard: how each vendor treats the partner, measured from
//! the partner's own data over a period (decisions, leads, sync health) and
//! rated by its members on the seven partner-experience areas.
//!
//! The store reads facts (one row per registration, tallies per workspace
//! and vendor); the figures are computed here, the same way for one
//! partner's scorecard and for a vendor's aggregate over all its partners.
//! A vendor's aggregate shows a figure only when at least
//! [`MIN_PARTNERS`] partners contributed to it, never per partner, beside
//! the same figure for the median vendor.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike as _, Days, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::deal::DealStatus;
use crate::ids::{VendorId, WorkspaceId};
use crate::program::spelled_enum;

spelled_enum!(
    /// One of the seven areas of the partner experience a member rates a
    /// vendor on.
    ExperienceArea, "experience area" {
        /// The vendor's brand: does it help the partner sell?
        Brand => "brand",
        /// Training, certification and sales tools.
        Enablement => "enablement",
        /// Quoting, ordering, registering deals, getting paid.
        Transactions => "transactions",
        /// The products themselves and their roadmap.
        Products => "products",
        /// How easy the vendor's programs and systems are to use.
        Use => "use",
        /// Help when something goes wrong.
        Support => "support",
        /// The people: trust, fairness, communication.
        Relationship => "relationship",
    }
);

/// A figure of a vendor's aggregate is shown only when at least this many
/// partners contributed to it.
pub const MIN_PARTNERS: usize = 5;

/// The median vendor's figure is shown only when at least this many
/// vendors' figures can be compared (so it is never one vendor's own).
pub const MIN_VENDORS: usize = 3;

/// The longest period a scorecard covers.
pub const MAX_PERIOD_DAYS: u64 = 3 * 366;

/// Why a period is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// It ends before it starts.
    #[error("the period ends ({to}) before it starts ({from})")]
    Backwards {
        /// The first day.
        from: NaiveDate,
        /// The last day.
        to: NaiveDate,
    },
    /// It is longer than [`MAX_PERIOD_DAYS`].
    #[error("a period is at most {MAX_PERIOD_DAYS} days long")]
    TooLong,
}

/// Whole days, `from` to `to` inclusive, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl Period {
    /// The days `from` to `to`, both included.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, PeriodError> {
        if to < from {
            return Err(PeriodError::Backwards { from, to });
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS as i64 {
            return Err(PeriodError::TooLong);
        }
        Ok(Period { from, to })
    }

    /// The `days` days up to and including `today`.
    pub fn last_days(today: NaiveDate, days: u64) -> Period {
        let from = today
            .checked_sub_days(Days::new(days.saturating_sub(1)))
            .unwrap_or(NaiveDate::MIN);
        Period { from, to: today }
    }

    /// The period's first instant.
    pub fn start(&self) -> DateTime<Utc> {
        self.from.and_time(NaiveTime::MIN).and_utc()
    }

    /// The instant after the period's last day.
    pub fn end(&self) -> DateTime<Utc> {
        self.to
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX)
            .and_time(NaiveTime::MIN)
            .and_utc()
    }

    /// Whether `at` falls in the period.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.start() && at < self.end()
    }

    /// The quarters the period touches, in order.
    pub fn quarters(&self) -> Vec<Quarter> {
        let mut out = Vec::new();
        let mut q = Quarter::of(self.from);
        let last = Quarter::of(self.to);
        while q <= last {
            out.push(q);
            q = q.next();
        }
        out
    }
}

/// A calendar quarter, written `2026-Q4`: the unit of a member's rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    year: i32,
    /// 1 to 4.
    number: u8,
}

impl Quarter {
    /// The quarter `day` falls in.
    pub fn of(day: NaiveDate) -> Quarter {
        Quarter {
            year: day.year(),
            number: (day.month0() / 3 + 1) as u8,
        }
    }

    /// The quarter after this one.
    pub fn next(self) -> Quarter {
        if self.number == 4 {
            Quarter {
                year: self.year + 1,
                number: 1,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number + 1,
            }
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.number)
    }
}

/// A quarter that is not written `YYYY-Qn`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a quarter such as 2026-Q4: {0:?}")]
pub struct BadQuarter(pub String);

impl FromStr for Quarter {
    type Err = BadQuarter;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadQuarter(s.to_owned());
        let (year, number) = s.trim().split_once("-Q").ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let number: u8 = number.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&number) || !(1900..=9999).contains(&year) {
            return Err(bad());
        }
        Ok(Quarter { year, number })
    }
}

/// One registration, as the scorecard reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationFact {
    /// The partner's workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor registered with.
    pub vendor_id: VendorId,
    /// Where it stands.
    pub status: DealStatus,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When the vendor decided, if it did.
    pub decided_at: Option<DateTime<Utc>>,
    /// The last day of the protection granted, if any.
    pub protection_expires_on: Option<NaiveDate>,
}

/// A workspace's leads from one vendor, created in the period, counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadTally {
    /// The partner's workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor that sent them.
    pub vendor_id: VendorId,
    /// Leads the vendor sent.
    pub sent: u64,
    /// Of those, leads the partner accepted (and may have worked on since).
    pub accepted: u64,
    /// Of those, leads won.
    pub won: u64,
    /// Leads that came with an answer-by time.
    pub answer_by_given: u64,
    /// The answer-by windows (answer-by time less arrival), summed, in
    /// hours.
    pub answer_by_hours: f64,
}

/// A workspace's sync runs from one vendor's source in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunTally {
    /// The partner's workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor pulled from.
    pub vendor_id: VendorId,
    /// Runs started.
    pub runs: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Connections to the vendor waiting for the partner to log in again.
    pub reauthorizations: u64,
}

/// A workspace's members' ratings of one vendor on one area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingTally {
    /// The partner's workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor rated.
    pub vendor_id: VendorId,
    /// The area.
    pub area: ExperienceArea,
    /// The scores, summed.
    pub total: u64,
    /// How many ratings.
    pub count: u64,
}

/// What the store reads for scorecards over a period.
#[derive(Debug, Clone, Default)]
pub struct ScorecardFacts {
    /// Registrations submitted or decided in the period.
    pub registrations: Vec<RegistrationFact>,
    /// Leads created in the period, per workspace and vendor.
    pub leads: Vec<LeadTally>,
    /// Sync runs in the period, per workspace and vendor.
    pub runs: Vec<RunTally>,
    /// Ratings in the period's quarters, per workspace, vendor and area.
    pub ratings: Vec<RatingTally>,
}

/// The average rating of one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaRating {
    /// The area.
    pub area: ExperienceArea,
    /// The average score, 1 to 5 (two decimals).
    pub average: f64,
    /// How many ratings it averages.
    pub ratings: u64,
}

/// One vendor's figures over a period. A figure is absent when there is
/// nothing to compute it from (or, in a vendor's aggregate, when fewer
/// than five partners contributed to it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scorecard {
    /// The vendor (absent for the median vendor).
    pub vendor_id: Option<VendorId>,
    /// Registrations submitted in the period.
    pub registrations_submitted: Option<u64>,
    /// Registrations the vendor decided in the period.
    pub registrations_decided: Option<u64>,
    /// Median hours from submission to decision, of those decided.
    pub decision_hours_median: Option<f64>,
    /// 90th percentile (nearest rank) of the same.
    pub decision_hours_p90: Option<f64>,
    /// Share of the decided registrations approved, 0 to 1.
    pub approval_rate: Option<f64>,
    /// Approved registrations given a protection period.
    pub protections_granted: Option<u64>,
    /// Median days of protection granted.
    pub protection_days_median: Option<f64>,
    /// Leads the vendor sent in the period.
    pub leads_sent: Option<u64>,
    /// Of those, accepted by the partner.
    pub leads_accepted: Option<u64>,
    /// Of those, won.
    pub leads_won: Option<u64>,
    /// Leads sent with an answer-by time.
    pub answer_by_given: Option<u64>,
    /// Their average answer-by window, in hours.
    pub answer_by_hours_average: Option<f64>,
    /// Sync runs from the vendor's systems in the period.
    pub sync_runs: Option<u64>,
    /// Of those, failed.
    pub sync_runs_failed: Option<u64>,
    /// Connections to the vendor needing a new login now.
    pub reauthorizations_needed: Option<u64>,
    /// The members' ratings per area, over the quarters the period
    /// touches.
    pub ratings: Vec<AreaRating>,
}

/// How many partners contributed to each group of figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Contributors {
    submitted: BTreeSet<WorkspaceId>,
    decided: BTreeSet<WorkspaceId>,
    protections: BTreeSet<WorkspaceId>,
    leads: BTreeSet<WorkspaceId>,
    answer_by: BTreeSet<WorkspaceId>,
    sync: BTreeSet<WorkspaceId>,
    ratings: BTreeMap<ExperienceArea, BTreeSet<WorkspaceId>>,
}

/// Rounds to two decimals.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The nearest-rank percentile `p` (0 to 100) of `values`.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// Whether a decided registration was approved (an expired one was, if it
/// had a protection to run out).
fn approved(r: &RegistrationFact) -> bool {
    r.status == DealStatus::Approved
        || (r.status == DealStatus::Expired && r.protection_expires_on.is_some())
}

/// One vendor's figures from the facts about it, and who contributed.
fn figures(vendor: VendorId, period: &Period, facts: &ScorecardFacts) -> (Scorecard, Contributors) {
    let mut who = Contributors::default();
    let mut submitted = 0u64;
    let mut decided = 0u64;
    let mut approvals = 0u64;
    let mut decision_hours = Vec::new();
    let mut protection_days = Vec::new();
    for r in facts.registrations.iter().filter(|r| r.vendor_id == vendor) {
        if period.contains(r.submitted_at) {
            submitted += 1;
            who.submitted.insert(r.workspace_id);
        }
        let Some(at) = r.decided_at.filter(|at| period.contains(*at)) else {
            continue;
        };
        if r.status == DealStatus::Submitted {
            continue;
        }
        decided += 1;
        who.decided.insert(r.workspace_id);
        decision_hours.push((at - r.submitted_at).num_seconds().max(0) as f64 / 3600.0);
        if approved(r) {
            approvals += 1;
            if let Some(end) = r.protection_expires_on {
                who.protections.insert(r.workspace_id);
                protection_days.push((end - at.date_naive()).num_days().max(0) as f64);
            }
        }
    }
    let mut leads = LeadTally::default();
    for l in facts.leads.iter().filter(|l| l.vendor_id == vendor) {
        if l.sent > 0 {
            who.leads.insert(l.workspace_id);
        }
        if l.answer_by_given > 0 {
            who.answer_by.insert(l.workspace_id);
        }
        leads.sent += l.sent;
        leads.accepted += l.accepted;
        leads.won += l.won;
        leads.answer_by_given += l.answer_by_given;
        leads.answer_by_hours += l.answer_by_hours;
    }
    let mut runs = RunTally::default();
    for r in facts.runs.iter().filter(|r| r.vendor_id == vendor) {
        if r.runs > 0 || r.reauthorizations > 0 {
            who.sync.insert(r.workspace_id);
        }
        runs.runs += r.runs;
        runs.failed += r.failed;
        runs.reauthorizations += r.reauthorizations;
    }
    let mut areas: BTreeMap<ExperienceArea, (u64, u64)> = BTreeMap::new();
    for r in facts.ratings.iter().filter(|r| r.vendor_id == vendor) {
        let a = areas.entry(r.area).or_default();
        a.0 += r.total;
        a.1 += r.count;
        who.ratings
            .entry(r.area)
            .or_default()
            .insert(r.workspace_id);
    }
    let card = Scorecard {
        vendor_id: Some(vendor),
        registrations_submitted: Some(submitted),
        registrations_decided: Some(decided),
        decision_hours_median: median(&mut decision_hours).map(round2),
        decision_hours_p90: percentile(&mut decision_hours, 90.0).map(round2),
        approval_rate: (decided > 0).then(|| round2(approvals as f64 / decided as f64)),
        protections_granted: Some(protection_days.len() as u64),
        protection_days_median: median(&mut protection_days).map(round2),
        leads_sent: Some(leads.sent),
        leads_accepted: Some(leads.accepted),
        leads_won: Some(leads.won),
        answer_by_given: Some(leads.answer_by_given),
        answer_by_hours_average: (leads.answer_by_given > 0)
            .then(|| round2(leads.answer_by_hours / leads.answer_by_given as f64)),
        sync_runs: Some(runs.runs),
        sync_runs_failed: Some(runs.failed),
        reauthorizations_needed: Some(runs.reauthorizations),
        ratings: areas
            .into_iter()
            .map(|(area, (total, count))| AreaRating {
                area,
                average: round2(total as f64 / count as f64),
                ratings: count,
            })
            .collect(),
    };
    (card, who)
}

/// A partner's scorecards of `vendors` over `period`, from its own facts.
pub fn partner_scorecards(
    vendors: &[VendorId],
    period: &Period,
    facts: &ScorecardFacts,
) -> Vec<Scorecard> {
    vendors
        .iter()
        .map(|v| figures(*v, period, facts).0)
        .collect()
}

/// Blanks every figure fewer than `min` partners contributed to.
fn suppress(card: &mut Scorecard, who: &Contributors, min: usize) {
    if who.submitted.len() < min {
        card.registrations_submitted = None;
    }
    if who.decided.len() < min {
        card.registrations_decided = None;
        card.decision_hours_median = None;
        card.decision_hours_p90 = None;
        card.approval_rate = None;
    }
    if who.protections.len() < min {
        card.protections_granted = None;
        card.protection_days_median = None;
    }
    if who.leads.len() < min {
        card.leads_sent = None;
        card.leads_accepted = None;
        card.leads_won = None;
    }
    if who.answer_by.len() < min {
        card.answer_by_given = None;
        card.answer_by_hours_average = None;
    }
    if who.sync.len() < min {
        card.sync_runs = None;
        card.sync_runs_failed = None;
        card.reauthorizations_needed = None;
    }
    card.ratings
        .retain(|r| who.ratings.get(&r.area).map_or(0, BTreeSet::len) >= min);
}

/// What a vendor learns from its partners' scorecards.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorScorecard {
    /// The period.
    pub period: Period,
    /// The vendor's partners (active links) now.
    pub partners: u64,
    /// The vendor's figures over all its partners: each shown only when at
    /// least five partners contributed to it.
    pub own: Scorecard,
    /// The median vendor's figures: each the median over the vendors
    /// whose own figure is shown, when at least three are.
    pub median_vendor: Scorecard,
    /// How many vendors could be compared.
    pub vendors_compared: u64,
}

/// A median of counts, as a count (halves rounded up).
fn median_count(values: Vec<u64>) -> Option<u64> {
    let mut v: Vec<f64> = values.into_iter().map(|x| x as f64).collect();
    median(&mut v).map(|m| m.round() as u64)
}

/// The median vendor: per figure, the median of the shown ones.
fn median_vendor(cards: &[Scorecard]) -> Scorecard {
    fn counts(cards: &[Scorecard], f: impl Fn(&Scorecard) -> Option<u64>) -> Option<u64> {
        let v: Vec<u64> = cards.iter().filter_map(f).collect();
        if v.len() < MIN_VENDORS {
            return None;
        }
        median_count(v)
    }
    fn reals(cards: &[Scorecard], f: impl Fn(&Scorecard) -> Option<f64>) -> Option<f64> {
        let mut v: Vec<f64> = cards.iter().filter_map(f).collect();
        if v.len() < MIN_VENDORS {
            return None;
        }
        median(&mut v).map(round2)
    }
    let ratings = ExperienceArea::ALL
        .iter()
        .filter_map(|area| {
            let scores: Vec<(f64, u64)> = cards
                .iter()
                .filter_map(|c| c.ratings.iter().find(|r| r.area == *area))
                .map(|r| (r.average, r.ratings))
                .collect();
            if scores.len() < MIN_VENDORS {
                return None;
            }
            let mut averages: Vec<f64> = scores.iter().map(|s| s.0).collect();
            Some(AreaRating {
                area: *area,
                average: median(&mut averages).map(round2)?,
                ratings: median_count(scores.iter().map(|s| s.1).collect())?,
            })
        })
        .collect();
    Scorecard {
        vendor_id: None,
        registrations_submitted: counts(cards, |c| c.registrations_submitted),
        registrations_decided: counts(cards, |c| c.registrations_decided),
        decision_hours_median: reals(cards, |c| c.decision_hours_median),
        decision_hours_p90: reals(cards, |c| c.decision_hours_p90),
        approval_rate: reals(cards, |c| c.approval_rate),
        protections_granted: counts(cards, |c| c.protections_granted),
        protection_days_median: reals(cards, |c| c.protection_days_median),
        leads_sent: counts(cards, |c| c.leads_sent),
        leads_accepted: counts(cards, |c| c.leads_accepted),
        leads_won: counts(cards, |c| c.leads_won),
        answer_by_given: counts(cards, |c| c.answer_by_given),
        answer_by_hours_average: reals(cards, |c| c.answer_by_hours_average),
        sync_runs: counts(cards, |c| c.sync_runs),
        sync_runs_failed: counts(cards, |c| c.sync_runs_failed),
        reauthorizations_needed: counts(cards, |c| c.reauthorizations_needed),
        ratings,
    }
}

/// `vendor`'s aggregate over its partners, beside the median vendor's,
/// from the facts of every vendor's linked partners. `partners` is how
/// many partners `vendor` has.
pub fn vendor_scorecard(
    vendor: VendorId,
    partners: u64,
    period: &Period,
    facts: &ScorecardFacts,
) -> VendorScorecard {
    let mut vendors: BTreeSet<VendorId> = BTreeSet::new();
    vendors.extend(facts.registrations.iter().map(|r| r.vendor_id));
    vendors.extend(facts.leads.iter().map(|r| r.vendor_id));
    vendors.extend(facts.runs.iter().map(|r| r.vendor_id));
    vendors.extend(facts.ratings.iter().map(|r| r.vendor_id));
    vendors.insert(vendor);
    let mut own = Scorecard {
        vendor_id: Some(vendor),
        ..Scorecard::default()
    };
    let mut all = Vec::with_capacity(vendors.len());
    for v in vendors {
        let (mut card, who) = figures(v, period, facts);
        suppress(&mut card, &who, MIN_PARTNERS);
        if v == vendor {
            own = card.clone();
        }
        all.push(card);
    }
    let compared = all
        .iter()
        .filter(|c| c.registrations_submitted.is_some() || c.leads_sent.is_some())
        .count();
    VendorScorecard {
        period: *period,
        partners,
        median_vendor: median_vendor(&all),
        own,
        vendors_compared: compared as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn reg(
        ws: WorkspaceId,
        vendor: VendorId,
        status: DealStatus,
        submitted: &str,
        decided: Option<&str>,
        protection: Option<&str>,
    ) -> RegistrationFact {
        RegistrationFact {
            workspace_id: ws,
            vendor_id: vendor,
            status,
            submitted_at: at(submitted),
            decided_at: decided.map(at),
            protection_expires_on: protection.map(day),
        }
    }

    #[test]
    fn quarters_are_written_and_read_back() {
        let q: Quarter = "2026-Q4".parse().unwrap();
        assert_eq!(q, Quarter::of(day("2026-11-30")));
        assert_eq!(q.to_string(), "2026-Q4");
        assert_eq!(q.next().to_string(), "2027-Q1");
        for bad in ["2026-Q5", "2026Q4", "Q4-2026", "2026-Q", "26-Q1"] {
            assert!(bad.parse::<Quarter>().is_err(), "{bad}");
        }
        let p = Period::new(day("2026-02-15"), day("2026-07-01")).unwrap();
        let qs: Vec<String> = p.quarters().iter().map(Quarter::to_string).collect();
        assert_eq!(qs, ["2026-Q1", "2026-Q2", "2026-Q3"]);
        assert!(Period::new(day("2026-02-15"), day("2026-02-14")).is_err());
        assert!(Period::new(day("2020-01-01"), day("2026-01-01")).is_err());
        let last = Period::last_days(day("2026-12-06"), 90);
        assert_eq!(last.from, day("2026-09-08"));
        assert!(last.contains(at("2026-12-06T23:59:59Z")));
        assert!(!last.contains(at("2026-12-07T00:00:00Z")));
        assert!(!last.contains(at("2026-09-07T23:59:59Z")));
    }

    #[test]
    fn percentiles_by_hand() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        let mut ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&mut ten, 90.0), Some(9.0));
        let mut eleven: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(percentile(&mut eleven, 90.0), Some(10.0));
        assert_eq!(percentile(&mut [7.0], 90.0), Some(7.0));
    }

    /// A workspace's scorecard of one vendor, worked out by hand.
    #[test]
    fn a_partners_scorecard_by_hand() {
        let ws = WorkspaceId::new();
        let v = VendorId::new();
        let other = VendorId::new();
        let period = Period::new(day("2026-10-01"), day("2026-12-31")).unwrap();
        let facts = ScorecardFacts {
            registrations: vec![
                // Decided in 24 h, approved with 90 days of protection.
                reg(
                    ws,
                    v,
                    DealStatus::Approved,
                    "2026-10-01T09:00:00Z",
                    Some("2026-10-02T09:00:00Z"),
                    Some("2026-12-31"),
                ),
                // Decided in 72 h, rejected.
                reg(
                    ws,
                    v,
                    DealStatus::Rejected,
                    "2026-11-01T00:00:00Z",
                    Some("2026-11-04T00:00:00Z"),
                    None,
                ),
                // Submitted before the period, decided in it after 240 h;
                // approved, then the protection ran out.
                reg(
                    ws,
                    v,
                    DealStatus::Expired,
                    "2026-09-21T12:00:00Z",
                    Some("2026-10-01T12:00:00Z"),
                    Some("2026-10-31"),
                ),
                // Waiting.
                reg(
                    ws,
                    v,
                    DealStatus::Submitted,
                    "2026-12-01T00:00:00Z",
                    None,
                    None,
                ),
                // Another vendor's.
                reg(
                    ws,
                    other,
                    DealStatus::Approved,
                    "2026-11-01T00:00:00Z",
                    Some("2026-11-01T01:00:00Z"),
                    None,
                ),
            ],
            leads: vec![LeadTally {
                workspace_id: ws,
                vendor_id: v,
                sent: 10,
                accepted: 6,
                won: 2,
                answer_by_given: 4,
                answer_by_hours: 4.0 * 24.0 + 48.0,
            }],
            runs: vec![RunTally {
                workspace_id: ws,
                vendor_id: v,
                runs: 20,
                failed: 3,
                reauthorizations: 1,
            }],
            ratings: vec![RatingTally {
                workspace_id: ws,
                vendor_id: v,
                area: ExperienceArea::Support,
                total: 4 + 5,
                count: 2,
            }],
        };
        let cards = partner_scorecards(&[v, other], &period, &facts);
        let c = &cards[0];
        assert_eq!(c.vendor_id, Some(v));
        assert_eq!(c.registrations_submitted, Some(3));
        assert_eq!(c.registrations_decided, Some(3));
        // 24, 72, 240 hours.
        assert_eq!(c.decision_hours_median, Some(72.0));
        assert_eq!(c.decision_hours_p90, Some(240.0));
        // Two of three approved.
        assert_eq!(c.approval_rate, Some(0.67));
        assert_eq!(c.protections_granted, Some(2));
        // 2026-10-02 to 12-31 is 90 days; 10-01 to 10-31 is 30.
        assert_eq!(c.protection_days_median, Some(60.0));
        assert_eq!(c.leads_sent, Some(10));
        assert_eq!(c.leads_accepted, Some(6));
        assert_eq!(c.leads_won, Some(2));
        assert_eq!(c.answer_by_given, Some(4));
        // (24 + 24 + 24 + 72) / 4 = 36 hours.
        assert_eq!(c.answer_by_hours_average, Some(36.0));
        assert_eq!(c.sync_runs, Some(20));
        assert_eq!(c.sync_runs_failed, Some(3));
        assert_eq!(c.reauthorizations_needed, Some(1));
        assert_eq!(
            c.ratings,
            vec![AreaRating {
                area: ExperienceArea::Support,
                average: 4.5,
                ratings: 2
            }]
        );
        let o = &cards[1];
        assert_eq!(o.registrations_decided, Some(1));
        assert_eq!(o.decision_hours_median, Some(1.0));
        assert_eq!(o.approval_rate, Some(1.0));
        assert_eq!(o.protections_granted, Some(0));
        assert_eq!(o.protection_days_median, None);
        assert_eq!(o.leads_sent, Some(0));
        assert_eq!(o.answer_by_hours_average, None);
        assert!(o.ratings.is_empty());
    }

    /// A vendor sees a figure only when five partners contributed, and the
    /// median vendor only when three vendors' figures are shown.
    #[test]
    fn a_vendor_sees_figures_of_five_partners_or_more() {
        let period = Period::new(day("2026-10-01"), day("2026-12-31")).unwrap();
        let vendors: Vec<VendorId> = (0..4).map(|_| VendorId::new()).collect();
        let partners: Vec<WorkspaceId> = (0..6).map(|_| WorkspaceId::new()).collect();
        let mut facts = ScorecardFacts::default();
        for (i, v) in vendors.iter().enumerate() {
            // Vendor i has leads from 3 + i partners (3, 4, 5, 6), each
            // partner 10 leads of which i + 1 were accepted.
            for ws in partners.iter().take(3 + i) {
                facts.leads.push(LeadTally {
                    workspace_id: *ws,
                    vendor_id: *v,
                    sent: 10,
                    accepted: i as u64 + 1,
                    won: 0,
                    answer_by_given: 0,
                    answer_by_hours: 0.0,
                });
            }
            // Every vendor decides one registration of each of five
            // partners in 10 × (i + 1) hours.
            for ws in partners.iter().take(5) {
                facts.registrations.push(reg(
                    *ws,
                    *v,
                    DealStatus::Approved,
                    "2026-11-01T00:00:00Z",
                    Some(&format!("2026-11-01T{:02}:00:00Z", 10 * (i + 1).min(2))),
                    None,
                ));
            }
        }
        // Ratings of support by four partners only.
        for ws in partners.iter().take(4) {
            facts.ratings.push(RatingTally {
                workspace_id: *ws,
                vendor_id: vendors[3],
                area: ExperienceArea::Support,
                total: 5,
                count: 1,
            });
        }
        let small = vendor_scorecard(vendors[0], 3, &period, &facts);
        assert_eq!(small.own.leads_sent, None, "three partners are too few");
        assert_eq!(small.own.leads_accepted, None);
        assert_eq!(small.own.registrations_decided, Some(5));
        assert_eq!(small.own.decision_hours_median, Some(10.0));
        let big = vendor_scorecard(vendors[3], 6, &period, &facts);
        assert_eq!(big.partners, 6);
        assert_eq!(big.own.leads_sent, Some(60));
        assert_eq!(big.own.leads_accepted, Some(24));
        assert!(big.own.ratings.is_empty(), "four raters are too few");
        // Leads: only vendors 2 (5 partners) and 3 (6 partners) are shown:
        // two vendors are too few for a median.
        assert_eq!(big.median_vendor.leads_sent, None);
        // Decisions: all four vendors shown; hours 10, 20, 20, 20.
        assert_eq!(big.median_vendor.decision_hours_median, Some(20.0));
        assert_eq!(big.median_vendor.registrations_decided, Some(5));
        assert_eq!(big.median_vendor.vendor_id, None);
        assert_eq!(big.vendors_compared, 4);
    }
}
