//! The facts of every vendor's scorecard over its partners: read in the
//! system scope, because a vendor may learn its partners' figures only as
//! aggregates over five partners or more (computed by the domain), never
//! row by row.

use std::collections::HashSet;

use onepane_domain::scorecard::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::StoreError;
use crate::scope::partner::scorecard::{facts_of, read_fact_rows};
use crate::tx::{Access, on_tx};

use super::SystemStore;

impl SystemStore {
    /// The scorecard facts of every vendor over `period`, from the
    /// workspaces linked to it now (active or paused), and how many
    /// partners `vendor` has (active links).
    pub async fn vendor_scorecard_facts(
        &self,
        vendor: VendorId,
        period: &Period,
    ) -> Result<(ScorecardFacts, u64), StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let links: Vec<(Uuid, Uuid, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT workspace_id, vendor_id, status FROM vendor_links WHERE status IN ('active', 'paused')",
            )
            .fetch_all(&mut *c)
            .await?
        });
        let rows = read_fact_rows(&mut tx, None, period).await?;
        tx.commit().await?;
        let partners = links
            .iter()
            .filter(|l| l.1 == vendor.as_uuid() && l.2 == "active")
            .count() as u64;
        let linked: HashSet<(Uuid, Uuid)> = links.into_iter().map(|l| (l.0, l.1)).collect();
        let facts = facts_of(rows, |ws, v| linked.contains(&(ws, v)))?;
        Ok((facts, partners))
    }
}
