//! The vendor scorecards: a partner's over its vendors, and a vendor's
//! aggregate over its partners beside the median vendor's.

use chrono::{NaiveDate, Utc};
use onepane_domain::VendorId;
use onepane_domain::scorecard::{
    Period, PeriodError, Scorecard, VendorScorecard, partner_scorecards, vendor_scorecard,
};
use onepane_store::{LinkedVendor, PartnerStore, StoreError, SystemStore};

/// How many days a scorecard covers when the caller does not say.
pub const DEFAULT_DAYS: u64 = 90;

/// The period asked for: `from` to `to` (both included; `to` defaults to
/// today, `from` to [`DEFAULT_DAYS`] days up to `to`).
pub fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Period, PeriodError> {
    let to = to.unwrap_or_else(|| Utc::now().date_naive());
    match from {
        Some(from) => Period::new(from, to),
        None => Ok(Period::last_days(to, DEFAULT_DAYS)),
    }
}

/// The workspace's scorecard of each of its vendors over `period`, in the
/// order of its vendors, with the vendors.
pub async fn for_partner(
    store: &PartnerStore,
    period: &Period,
) -> Result<(Vec<LinkedVendor>, Vec<Scorecard>), StoreError> {
    let (vendors, facts) = tokio::try_join!(store.vendors(), store.scorecard_facts(period))?;
    let ids: Vec<VendorId> = vendors.iter().map(|v| v.vendor.id).collect();
    let cards = partner_scorecards(&ids, period, &facts);
    Ok((vendors, cards))
}

/// What `vendor` learns from its partners over `period`.
pub async fn for_vendor(
    system: &SystemStore,
    vendor: VendorId,
    period: &Period,
) -> Result<VendorScorecard, StoreError> {
    let (facts, partners) = system.vendor_scorecard_facts(vendor, period).await?;
    Ok(vendor_scorecard(vendor, partners, period, &facts))
}
