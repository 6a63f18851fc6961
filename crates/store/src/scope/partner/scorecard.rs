//! The scorecard's facts from the workspace's own data, and its members'
//! ratings of its vendors.

use chrono::{DateTime, NaiveDate, Utc};
use onepane_domain::scorecard::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

/// One area of a member's rating of a vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// The area.
    pub area: ExperienceArea,
    /// 1 to 5.
    pub score: u8,
    /// What the member says of it.
    pub note: Option<String>,
}

/// A row of registration facts: workspace, vendor, status, submitted,
/// decided, protection end.
pub(crate) type RegistrationRow = (
    Uuid,
    Uuid,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<NaiveDate>,
);

/// A row of lead tallies: workspace, vendor, sent, accepted, won, with an
/// answer-by time, the answer-by hours summed.
pub(crate) type LeadRow = (Uuid, Uuid, i64, i64, i64, i64, Option<f64>);

pub(crate) fn registration_fact(r: RegistrationRow) -> Result<RegistrationFact, StoreError> {
    Ok(RegistrationFact {
        workspace_id: WorkspaceId::from_uuid(r.0),
        vendor_id: VendorId::from_uuid(r.1),
        status: r
            .2
            .parse()
            .map_err(|e| StoreError::corrupt("deal_registrations.status", e))?,
        submitted_at: r.3,
        decided_at: r.4,
        protection_expires_on: r.5,
    })
}

pub(crate) fn lead_tally(r: LeadRow) -> LeadTally {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    LeadTally {
        workspace_id: WorkspaceId::from_uuid(r.0),
        vendor_id: VendorId::from_uuid(r.1),
        sent: count(r.2),
        accepted: count(r.3),
        won: count(r.4),
        answer_by_given: count(r.5),
        answer_by_hours: r.6.unwrap_or(0.0),
    }
}

pub(crate) fn rating_tally(r: (Uuid, Uuid, String, i64, i64)) -> Result<RatingTally, StoreError> {
    Ok(RatingTally {
        workspace_id: WorkspaceId::from_uuid(r.0),
        vendor_id: VendorId::from_uuid(r.1),
        area: r
            .2
            .parse()
            .map_err(|e| StoreError::corrupt("vendor_ratings.area", e))?,
        total: u64::try_from(r.3).unwrap_or(0),
        count: u64::try_from(r.4).unwrap_or(0),
    })
}

/// The rows the scorecard's facts are read from, over `period`: of one
/// workspace (`ws`), or of every workspace (the system scope, for the
/// vendors' aggregates).
#[derive(Default)]
pub(crate) struct FactRows {
    pub(crate) registrations: Vec<RegistrationRow>,
    pub(crate) leads: Vec<LeadRow>,
    /// workspace, vendor, runs, failed runs
    pub(crate) runs: Vec<(Uuid, Uuid, i64, i64)>,
    /// workspace, vendor, connections needing a new login
    pub(crate) relogins: Vec<(Uuid, Uuid, i64)>,
    /// workspace, vendor, area, scores summed, ratings
    pub(crate) ratings: Vec<(Uuid, Uuid, String, i64, i64)>,
}

/// Runs `sql` in `tx` with the given values bound, then the workspace when
/// there is one, and reads its rows.
macro_rules! fact_query {
    ($tx:expr, $sql:expr, $ws:expr, $($bind:expr),*) => {
        on_tx!($tx, c => {
            let q = sqlx::query_as($sql)$(.bind($bind))*;
            match $ws {
                Some(ws) => q.bind(ws),
                None => q,
            }
            .fetch_all(&mut *c)
            .await?
        })
    };
}

/// Reads the scorecard's rows in `tx`, of workspace `ws` or of all.
pub(crate) async fn read_fact_rows(
    tx: &mut Tx,
    ws: Option<Uuid>,
    period: &Period,
) -> Result<FactRows, StoreError> {
    let (start, end) = (period.start(), period.end());
    // The workspace is the last parameter when there is one; the system
    // scope reads every workspace's (the caller keeps the linked ones).
    let only = |column: &str, n: u8| match ws {
        Some(_) => format!("{column} = ${n}"),
        None => "TRUE".to_owned(),
    };
    let registrations = format!(
        "SELECT workspace_id, vendor_id, status, submitted_at, decided_at, protection_expires_on \
         FROM deal_registrations WHERE {} \
         AND ((submitted_at >= $1 AND submitted_at < $2) OR (decided_at >= $1 AND decided_at < $2))",
        only("workspace_id", 3)
    );
    // The leads are read from their tallies per day (migration 0014), kept
    // as the leads change; a period is whole days. (PostgreSQL sums
    // bigints into numerics.)
    let (int, float) = if tx.is_sqlite() {
        ("", "")
    } else {
        ("::bigint", "::float8")
    };
    let leads = format!(
        "SELECT workspace_id, vendor_id, SUM(sent){int}, SUM(accepted){int}, SUM(won){int}, \
           SUM(windows){int}, (SUM(window_seconds) / 3600.0){float} \
         FROM lead_tallies WHERE {} AND day >= $1 AND day <= $2 \
         GROUP BY workspace_id, vendor_id HAVING SUM(sent) > 0",
        only("workspace_id", 3)
    );
    let runs = format!(
        "SELECT r.workspace_id, c.vendor_id, COUNT(r.id), SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END) \
         FROM sync_runs r JOIN connections c ON c.workspace_id = r.workspace_id AND c.id = r.connection_id \
         WHERE {} AND c.vendor_id IS NOT NULL AND r.started_at >= $1 AND r.started_at < $2 \
         GROUP BY r.workspace_id, c.vendor_id",
        only("r.workspace_id", 3)
    );
    // Whether a connection needs a login is how it is now, not in the period.
    let relogins = format!(
        "SELECT workspace_id, vendor_id, COUNT(*) FROM connections \
         WHERE {} AND vendor_id IS NOT NULL AND status = 'needs-reauthorization' \
         GROUP BY workspace_id, vendor_id",
        only("workspace_id", 1)
    );
    let ratings = format!(
        "SELECT workspace_id, vendor_id, area, SUM(score), COUNT(*) FROM vendor_ratings \
         WHERE quarter = $1 AND {} GROUP BY workspace_id, vendor_id, area",
        only("workspace_id", 2)
    );
    let mut rows = FactRows {
        registrations: fact_query!(tx, &registrations, ws, start, end),
        leads: fact_query!(tx, &leads, ws, period.from, period.to),
        runs: fact_query!(tx, &runs, ws, start, end),
        relogins: fact_query!(tx, &relogins, ws,),
        ratings: Vec::new(),
    };
    for quarter in period.quarters() {
        let mut some: Vec<(Uuid, Uuid, String, i64, i64)> =
            fact_query!(tx, &ratings, ws, quarter.to_string());
        rows.ratings.append(&mut some);
    }
    Ok(rows)
}

/// The facts from the rows, keeping only the (workspace, vendor) pairs
/// `keep` allows.
pub(crate) fn facts_of(
    rows: FactRows,
    keep: impl Fn(Uuid, Uuid) -> bool,
) -> Result<ScorecardFacts, StoreError> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut facts = ScorecardFacts {
        registrations: rows
            .registrations
            .into_iter()
            .filter(|r| keep(r.0, r.1))
            .map(registration_fact)
            .collect::<Result<_, _>>()?,
        leads: rows
            .leads
            .into_iter()
            .filter(|r| keep(r.0, r.1))
            .map(lead_tally)
            .collect(),
        runs: rows
            .runs
            .into_iter()
            .filter(|r| keep(r.0, r.1))
            .map(|r| RunTally {
                workspace_id: WorkspaceId::from_uuid(r.0),
                vendor_id: VendorId::from_uuid(r.1),
                runs: count(r.2),
                failed: count(r.3),
                reauthorizations: 0,
            })
            .collect(),
        ratings: rows
            .ratings
            .into_iter()
            .filter(|r| keep(r.0, r.1))
            .map(rating_tally)
            .collect::<Result<_, _>>()?,
    };
    for (ws, v, n) in rows.relogins {
        if !keep(ws, v) {
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
    Ok(facts)
}

impl PartnerStore {
    /// What the workspace's scorecards over `period` are computed from:
    /// registrations submitted or decided in it, vendors' leads that
    /// arrived in it, sync runs started in it (and connections needing a
    /// login now), and the members' ratings in the quarters it touches.
    pub async fn scorecard_facts(&self, period: &Period) -> Result<ScorecardFacts, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows = read_fact_rows(&mut tx, Some(self.ws()), period).await?;
        tx.commit().await?;
        facts_of(rows, |_, _| true)
    }

    /// `user`'s rating of `vendor` for `quarter`, replacing the one it
    /// gave in that quarter (one rating per member, vendor and quarter).
    pub async fn rate_vendor(
        &self,
        user: UserId,
        vendor: VendorId,
        quarter: Quarter,
        ratings: &[Rating],
    ) -> Result<(), StoreError> {
        let quarter = quarter.to_string();
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "DELETE FROM vendor_ratings WHERE workspace_id = $1 AND vendor_id = $2 AND quarter = $3 AND user_id = $4",
            )
            .bind(self.ws())
            .bind(vendor.as_uuid())
            .bind(&quarter)
            .bind(user.as_uuid())
            .execute(&mut *c)
            .await?;
        });
        let at = now();
        for r in ratings {
            on_tx!(tx, c => {
                sqlx::query(
                    "INSERT INTO vendor_ratings (workspace_id, vendor_id, user_id, quarter, area, score, note, rated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(self.ws())
                .bind(vendor.as_uuid())
                .bind(user.as_uuid())
                .bind(&quarter)
                .bind(r.area.as_str())
                .bind(i16::from(r.score))
                .bind(r.note.as_deref())
                .bind(at)
                .execute(&mut *c)
                .await?;
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// What `user` rated `vendor` in `quarter`, area by area.
    pub async fn rating_of(
        &self,
        user: UserId,
        vendor: VendorId,
        quarter: Quarter,
    ) -> Result<Vec<Rating>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(String, i16, Option<String>)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT area, score, note FROM vendor_ratings \
                 WHERE workspace_id = $1 AND vendor_id = $2 AND quarter = $3 AND user_id = $4 ORDER BY area",
            )
            .bind(self.ws())
            .bind(vendor.as_uuid())
            .bind(quarter.to_string())
            .bind(user.as_uuid())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(area, score, note)| {
                Ok(Rating {
                    area: area
                        .parse()
                        .map_err(|e| StoreError::corrupt("vendor_ratings.area", e))?,
                    score: u8::try_from(score)
                        .map_err(|_| StoreError::corrupt("vendor_ratings.score", score))?,
                    note,
                })
            })
            .collect()
    }
}
