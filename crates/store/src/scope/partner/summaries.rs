//! What the portal's home page summarizes across a workspace's vendors:
//! counts, what waits for action, and the series its charts draw. Each is
//! one indexed query, so the page stays fast however many leads there are.

use chrono::{DateTime, NaiveDate, Utc};
use onepane_domain::deal::*;
use onepane_domain::lead::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::StoreError;
use crate::rows::*;
use crate::tables::deal_registrations::*;
use crate::tables::leads::*;
use crate::tx::{Access, on_tx};

use super::PartnerStore;

/// Per vendor, what the home page counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorCounts {
    /// New leads (not yet accepted, declined or worked).
    pub new_leads: u64,
    /// Deal registrations waiting for the vendor's decision.
    pub pending_deals: u64,
    /// Deal registrations approved and still protected.
    pub approved_deals: u64,
}

/// The registered pipeline with one vendor, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// The vendor.
    pub vendor_id: VendorId,
    /// The currency of the amounts.
    pub currency: Currency,
    /// Submitted or approved registrations' amounts, summed.
    pub amount: rust_decimal::Decimal,
}

/// Leads from one campaign in one week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignWeek {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The Monday the week starts on.
    pub week: NaiveDate,
    /// Leads created that week.
    pub leads: u64,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl PartnerStore {
    /// How many notifications are unread, counted up to `cap` (a badge
    /// shows "99+" rather than making every page count them all).
    pub async fn unread_notifications(&self, cap: u32) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let n: i64 = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM notifications \
                 WHERE workspace_id = $1 AND read_at IS NULL LIMIT $2) AS unread",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(i64::from(cap))
            .fetch_one(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(count(n))
    }

    /// Per linked vendor: new leads (counted up to `cap`, so a workspace
    /// with a hundred thousand waiting does not count them on every visit),
    /// and registrations pending and approved.
    pub async fn vendor_counts(
        &self,
        cap: u32,
    ) -> Result<std::collections::HashMap<VendorId, VendorCounts>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let ws = self.workspace_id().as_uuid();
        let vendors: Vec<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT vendor_id FROM vendor_links WHERE workspace_id = $1")
                .bind(ws)
                .fetch_all(&mut *c)
                .await?
        });
        let mut leads: Vec<(Uuid, i64)> = Vec::with_capacity(vendors.len());
        for vendor in vendors {
            let n: i64 = on_tx!(tx, c => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM leads \
                     WHERE workspace_id = $1 AND vendor_id = $2 AND status = 'new' LIMIT $3) AS waiting",
                )
                .bind(ws)
                .bind(vendor)
                .bind(i64::from(cap))
                .fetch_one(&mut *c)
                .await?
            });
            leads.push((vendor, n));
        }
        let deals: Vec<(Uuid, String, i64)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT vendor_id, status, COUNT(*) FROM deal_registrations \
                 WHERE workspace_id = $1 AND status IN ('submitted', 'approved') GROUP BY vendor_id, status",
            )
            .bind(ws)
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        let mut out: std::collections::HashMap<VendorId, VendorCounts> = Default::default();
        for (vendor, n) in leads {
            out.entry(VendorId::from_uuid(vendor))
                .or_default()
                .new_leads = count(n);
        }
        for (vendor, status, n) in deals {
            let entry = out.entry(VendorId::from_uuid(vendor)).or_default();
            match parse::<DealStatus>("deal registration", &status)? {
                DealStatus::Submitted => entry.pending_deals = count(n),
                DealStatus::Approved => entry.approved_deals = count(n),
                _ => {}
            }
        }
        Ok(out)
    }

    /// Vendor-sent leads waiting for accept or decline: the nearest
    /// deadline first, then the newest without one. Each half is read in
    /// index order, so the page does not sort every waiting lead.
    pub async fn leads_awaiting_response(&self, limit: u32) -> Result<Vec<Lead>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let ws = self.workspace_id().as_uuid();
        let mut rows: Vec<Lead> = select!(
            all,
            LeadRow,
            tx,
            &format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND status = $2 \
                 AND respond_by IS NOT NULL AND source = 'vendor' ORDER BY respond_by, id LIMIT $3"
            ),
            ws,
            LeadStatus::New.as_str(),
            i64::from(limit)
        )?;
        let rest = i64::from(limit) - i64::try_from(rows.len()).unwrap_or(0);
        if rest > 0 {
            let more: Vec<Lead> = select!(
                all,
                LeadRow,
                tx,
                &format!(
                    "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND status = $2 \
                     AND respond_by IS NULL AND source = 'vendor' ORDER BY id DESC LIMIT $3"
                ),
                ws,
                LeadStatus::New.as_str(),
                rest
            )?;
            rows.extend(more);
        }
        tx.commit().await?;
        Ok(rows)
    }

    /// The pipeline registered with each vendor: submitted and approved
    /// registrations' amounts, summed exactly per currency.
    pub async fn pipeline(&self) -> Result<Vec<Pipeline>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<DealRegistration> = select!(
            all,
            DealRow,
            tx,
            &format!(
                "SELECT {} FROM deal_registrations \
                 WHERE workspace_id = $1 AND status IN ('submitted', 'approved')",
                DEAL_COLUMNS
            ),
            self.workspace_id().as_uuid()
        )?;
        tx.commit().await?;
        let deals: Vec<DealRegistration> = rows;
        let mut sums: std::collections::BTreeMap<(VendorId, String), Pipeline> = Default::default();
        for d in deals {
            let money = d.details.amount;
            let entry = sums
                .entry((d.vendor_id, money.currency.code().to_owned()))
                .or_insert(Pipeline {
                    vendor_id: d.vendor_id,
                    currency: money.currency,
                    amount: rust_decimal::Decimal::ZERO,
                });
            entry.amount = entry
                .amount
                .checked_add(money.amount)
                .ok_or_else(|| StoreError::Rule("the pipeline sum overflows".to_owned()))?;
        }
        Ok(sums.into_values().collect())
    }

    /// Leads per campaign per week since `since`.
    pub async fn campaign_weeks(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<CampaignWeek>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let sqlite = tx.is_sqlite();
        // The Monday of each lead's week, as text on both backends.
        let week = if sqlite {
            "date(created_at, '-6 days', 'weekday 1')"
        } else {
            "to_char(date_trunc('week', created_at), 'YYYY-MM-DD')"
        };
        let rows: Vec<(Uuid, String, i64)> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT campaign_id, {week} AS week, COUNT(*) FROM leads \
                 WHERE workspace_id = $1 AND campaign_id IS NOT NULL AND created_at > $2 \
                 GROUP BY campaign_id, week ORDER BY week"
            ))
            .bind(self.workspace_id().as_uuid())
            .bind(since)
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(campaign, week, n)| {
                Ok(CampaignWeek {
                    campaign_id: CampaignId::from_uuid(campaign),
                    week: parse("lead week", &week)?,
                    leads: count(n),
                })
            })
            .collect()
    }
}
