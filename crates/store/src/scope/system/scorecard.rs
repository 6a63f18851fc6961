//! The facts of every vendor's scorecard over its partners: read in the
//! system scope, because a vendor may learn its partners' figures only as
//! aggregates over five partners or more (computed by the domain), never
//! row by row.

use std::collections::HashSet;

use onepane_domain::scorecard::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::StoreError;
use crate::scope::partner::scorecard::{
    ACCEPTED_STATUSES, LeadRow, RegistrationRow, answer_by_hours, lead_tally, rating_tally,
    registration_fact,
};
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
        let (start, end) = (period.start(), period.end());
        let mut tx = self.begin(Access::Read).await?;
        let links: Vec<(Uuid, Uuid, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT workspace_id, vendor_id, status FROM vendor_links WHERE status IN ('active', 'paused')",
            )
            .fetch_all(&mut *c)
            .await?
        });
        let partners = links
            .iter()
            .filter(|l| l.1 == vendor.as_uuid() && l.2 == "active")
            .count() as u64;
        let linked: HashSet<(Uuid, Uuid)> = links.into_iter().map(|l| (l.0, l.1)).collect();
        let registrations: Vec<RegistrationRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT workspace_id, vendor_id, status, submitted_at, decided_at, protection_expires_on \
                 FROM deal_registrations \
                 WHERE (submitted_at >= $1 AND submitted_at < $2) OR (decided_at >= $1 AND decided_at < $2)",
            )
            .bind(start)
            .bind(end)
            .fetch_all(&mut *c)
            .await?
        });
        let hours = answer_by_hours(&mut tx);
        let leads: Vec<LeadRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT workspace_id, vendor_id, COUNT(*), \
                   SUM(CASE WHEN status IN ({ACCEPTED_STATUSES}) THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END), \
                   COUNT(respond_by), SUM({hours}) \
                 FROM leads WHERE source = 'vendor' AND vendor_id IS NOT NULL \
                 AND created_at >= $1 AND created_at < $2 GROUP BY workspace_id, vendor_id"
            ))
            .bind(start)
            .bind(end)
            .fetch_all(&mut *c)
            .await?
        });
        let runs: Vec<(Uuid, Uuid, i64, i64)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT r.workspace_id, c.vendor_id, COUNT(r.id), SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END) \
                 FROM sync_runs r JOIN connections c ON c.workspace_id = r.workspace_id AND c.id = r.connection_id \
                 WHERE c.vendor_id IS NOT NULL AND r.started_at >= $1 AND r.started_at < $2 \
                 GROUP BY r.workspace_id, c.vendor_id",
            )
            .bind(start)
            .bind(end)
            .fetch_all(&mut *c)
            .await?
        });
        let relogins: Vec<(Uuid, Uuid, i64)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT workspace_id, vendor_id, COUNT(*) FROM connections \
                 WHERE vendor_id IS NOT NULL AND status = 'needs-reauthorization' GROUP BY workspace_id, vendor_id",
            )
            .fetch_all(&mut *c)
            .await?
        });
        let mut ratings = Vec::new();
        for quarter in period.quarters() {
            let rows: Vec<(Uuid, Uuid, String, i64, i64)> = on_tx!(tx, c => {
                sqlx::query_as(
                    "SELECT workspace_id, vendor_id, area, SUM(score), COUNT(*) FROM vendor_ratings \
                     WHERE quarter = $1 GROUP BY workspace_id, vendor_id, area",
                )
                .bind(quarter.to_string())
                .fetch_all(&mut *c)
                .await?
            });
            for r in rows {
                if linked.contains(&(r.0, r.1)) {
                    ratings.push(rating_tally(r)?);
                }
            }
        }
        tx.commit().await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut facts = ScorecardFacts {
            registrations: registrations
                .into_iter()
                .filter(|r| linked.contains(&(r.0, r.1)))
                .map(registration_fact)
                .collect::<Result<_, _>>()?,
            leads: leads
                .into_iter()
                .filter(|r| linked.contains(&(r.0, r.1)))
                .map(lead_tally)
                .collect(),
            runs: runs
                .into_iter()
                .filter(|r| linked.contains(&(r.0, r.1)))
                .map(|r| RunTally {
                    workspace_id: WorkspaceId::from_uuid(r.0),
                    vendor_id: VendorId::from_uuid(r.1),
                    runs: count(r.2),
                    failed: count(r.3),
                    reauthorizations: 0,
                })
                .collect(),
            ratings,
        };
        for (ws, v, n) in relogins {
            if !linked.contains(&(ws, v)) {
                continue;
            }
            let (ws, v) = (WorkspaceId::from_uuid(ws), VendorId::from_uuid(v));
            match facts
                .runs
                .iter_mut()
                .find(|r| r.workspace_id == ws && r.vendor_id == v)
            {
                Some(r) => r.reauthorizations = count(n),
                None => facts.runs.push(RunTally {
                    workspace_id: ws,
                    vendor_id: v,
                    runs: 0,
                    failed: 0,
                    reauthorizations: count(n),
                }),
            }
        }
        Ok((facts, partners))
    }
}
