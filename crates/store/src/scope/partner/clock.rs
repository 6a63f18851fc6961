//! The clock: every dated obligation of the workspace, from each source
//! in turn, in one list ordered by when it falls due.

use chrono::Duration;
use onepane_domain::clock::*;
use onepane_domain::delivery::{Delivery, DeliveryKind};
use onepane_domain::lead::Lead;
use onepane_domain::workspace::{Connection, ConnectionStatus};
use onepane_domain::*;

use crate::rows::{parse, select};
use crate::tables::connections::{CONNECTION_COLUMNS, ConnectionRow};
use crate::tables::deliveries::{VENDOR_DELIVERY_COLUMNS, VendorDeliveryRow};
use crate::tables::leads::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

/// Vendors' leads awaiting an answer read for the clock at most, soonest first.
const LEADS_READ: i64 = 1000;

/// Registrations due (waiting, or their protection ending) read for the
/// clock at most, newest first.
const DEALS_READ: i64 = 5000;

/// What the clock needs of a registration: no details, only the title.
#[derive(sqlx::FromRow)]
struct DealDueRow {
    id: uuid::Uuid,
    vendor_id: uuid::Uuid,
    title: String,
    status: String,
    protection_expires_on: Option<chrono::NaiveDate>,
    submitted_by: Option<uuid::Uuid>,
    submitted_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl PartnerStore {
    /// What falls due in the workspace, soonest (or most overdue) first:
    /// vendors' leads awaiting an answer by their answer-by time,
    /// registrations awaiting a decision (due [`DECISION_DAYS`] after they
    /// were submitted), protections ending within
    /// [`PROTECTION_NOTICE_DAYS`], connections to log in to again, and
    /// deliveries a vendor refused or that failed.
    pub async fn clock(&self, filter: &ClockFilter) -> Result<Vec<Deadline>, StoreError> {
        Ok(self.deadlines(filter, None).await?.0)
    }

    /// The first `shown` deadlines of [`clock`](Self::clock) with the same
    /// filter, and how many of each kind it holds in all. Reads only the
    /// first `shown` of the leads awaiting an answer (and counts the rest
    /// up to the clock's own cap), so a page listing a few stays cheap.
    pub async fn clock_head(
        &self,
        filter: &ClockFilter,
        shown: usize,
    ) -> Result<ClockHead, StoreError> {
        let (mut all, lead_count) = self.deadlines(filter, Some(shown)).await?;
        let counts = DeadlineKind::ALL
            .iter()
            .filter_map(|kind| {
                let n = match (kind, lead_count) {
                    (DeadlineKind::LeadAnswer, Some(n)) => n,
                    _ => all.iter().filter(|d| d.kind == *kind).count() as u64,
                };
                (n > 0).then_some((*kind, n))
            })
            .collect();
        all.truncate(shown);
        Ok(ClockHead { first: all, counts })
    }

    /// The clock's deadlines in order. With `first`, the leads awaiting an
    /// answer are read only that far when no vendor is chosen (a vendor's
    /// are picked from the clock's first [`LEADS_READ`] as the whole clock
    /// picks them), and how many the whole clock holds is given beside.
    #[tracing::instrument(skip(self))]
    async fn deadlines(
        &self,
        filter: &ClockFilter,
        first: Option<usize>,
    ) -> Result<(Vec<Deadline>, Option<u64>), StoreError> {
        let wants = |k: DeadlineKind| filter.kind.is_none_or(|f| f == k);
        let vendor_ok = |v: Option<VendorId>| filter.vendor_id.is_none_or(|f| v == Some(f));
        let person_ok = |p: Option<UserId>| filter.person.is_none_or(|f| p == Some(f));
        let mut out = Vec::new();
        let mut lead_count = None;
        let mut tx = self.begin(Access::Read).await?;
        if wants(DeadlineKind::LeadAnswer) && filter.person.is_none() {
            let read = match first {
                Some(n) if filter.vendor_id.is_none() => {
                    let (counted,): (i64,) = on_tx!(tx, c => {
                        sqlx::query_as(&format!(
                            "SELECT COUNT(*) FROM (SELECT 1 FROM leads WHERE workspace_id = $1 \
                             AND status = 'new' AND respond_by IS NOT NULL LIMIT {LEADS_READ}) AS waiting"
                        ))
                        .bind(self.ws())
                        .fetch_one(&mut *c)
                        .await?
                    });
                    lead_count = Some(u64::try_from(counted).unwrap_or(0));
                    i64::try_from(n).unwrap_or(LEADS_READ).min(LEADS_READ)
                }
                _ => LEADS_READ,
            };
            let leads: Vec<Lead> = select!(
                all,
                LeadRow,
                tx,
                &format!(
                    // A literal limit (one of two) keeps PostgreSQL's plan
                    // the index walk it is for the clock's 1,000; the id
                    // settles equal times as the clock's order does, so the
                    // first few are the whole clock's first few.
                    "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND status = 'new' \
                     AND respond_by IS NOT NULL ORDER BY respond_by, id LIMIT {read}"
                ),
                self.ws()
            )?;
            out.extend(
                leads
                    .into_iter()
                    .filter(|l| vendor_ok(l.vendor_id))
                    .filter_map(|l| {
                        Some(Deadline {
                            kind: DeadlineKind::LeadAnswer,
                            due: l.respond_by?,
                            vendor_id: l.vendor_id,
                            person: None,
                            title: l.contact.name.to_string(),
                            link: format!("/leads/{}", l.id),
                        })
                    }),
            );
        }
        if wants(DeadlineKind::DecisionAwaited) || wants(DeadlineKind::ProtectionEnds) {
            let today = now().date_naive();
            let horizon = today + Duration::days(PROTECTION_NOTICE_DAYS);
            // Approved ones only when their protection ends within the
            // notice: the cap then counts only registrations that are due.
            let regs: Vec<DealDueRow> = on_tx!(tx, c => {
                sqlx::query_as(
                    "SELECT id, vendor_id, title, status, protection_expires_on, submitted_by, \
                     submitted_at, updated_at FROM deal_registrations WHERE workspace_id = $1 \
                     AND (status = 'submitted' OR (status = 'approved' \
                          AND protection_expires_on >= $2 AND protection_expires_on <= $3)) \
                     ORDER BY id DESC LIMIT $4",
                )
                .bind(self.ws())
                .bind(today)
                .bind(horizon)
                .bind(DEALS_READ)
                .fetch_all(&mut *c)
                .await?
            });
            for r in regs {
                let vendor_id = VendorId::from_uuid(r.vendor_id);
                let person = r.submitted_by.map(UserId::from_uuid);
                if !vendor_ok(Some(vendor_id)) || !person_ok(person) {
                    continue;
                }
                let status: deal::DealStatus = parse("deal registration", &r.status)?;
                let (kind, due) = match (status, r.protection_expires_on) {
                    (deal::DealStatus::Submitted, _) => (
                        DeadlineKind::DecisionAwaited,
                        r.submitted_at + Duration::days(DECISION_DAYS),
                    ),
                    (deal::DealStatus::Approved, Some(end)) if end >= today && end <= horizon => (
                        DeadlineKind::ProtectionEnds,
                        end.and_hms_opt(23, 59, 59)
                            .map_or(r.updated_at, |t| t.and_utc()),
                    ),
                    _ => continue,
                };
                if wants(kind) {
                    out.push(Deadline {
                        kind,
                        due,
                        vendor_id: Some(vendor_id),
                        person,
                        title: r.title,
                        link: format!("/deals/{}", DealRegistrationId::from_uuid(r.id)),
                    });
                }
            }
        }
        if wants(DeadlineKind::Reauthorize) && filter.person.is_none() {
            let conns: Vec<Connection> = select!(
                all,
                ConnectionRow,
                tx,
                &format!(
                    "SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 \
                     AND status = $2 ORDER BY id"
                ),
                self.ws(),
                ConnectionStatus::NeedsReauthorization.as_str()
            )?;
            for c in conns {
                if vendor_ok(c.target.vendor_id())
                    && (filter.vendor_id.is_none() || c.target.vendor_id().is_some())
                {
                    out.push(Deadline {
                        kind: DeadlineKind::Reauthorize,
                        // Due now: nothing syncs until the partner logs in.
                        due: now(),
                        vendor_id: c.target.vendor_id(),
                        person: None,
                        title: c.name.to_string(),
                        link: "/connections".to_owned(),
                    });
                }
            }
        }
        if wants(DeadlineKind::DeliveryRefused) && filter.person.is_none() {
            // One delivery a subject and kind: only the refused and failed
            // ones are read.
            let refused: Vec<Delivery> = select!(
                all,
                VendorDeliveryRow,
                tx,
                &format!(
                    "SELECT {VENDOR_DELIVERY_COLUMNS} FROM vendor_deliveries WHERE workspace_id = $1 \
                     AND status IN ('refused', 'failed')"
                ),
                self.ws()
            )?;
            for d in refused {
                if vendor_ok(Some(d.vendor_id)) {
                    let link = match d.kind {
                        DeliveryKind::Deal => {
                            format!("/deals/{}", DealRegistrationId::from_uuid(d.subject_id))
                        }
                        DeliveryKind::LeadAnswer => {
                            format!("/leads/{}", LeadId::from_uuid(d.subject_id))
                        }
                    };
                    out.push(Deadline {
                        kind: DeadlineKind::DeliveryRefused,
                        due: d.updated_at,
                        vendor_id: Some(d.vendor_id),
                        person: None,
                        title: d.message.unwrap_or_default().chars().take(200).collect(),
                        link,
                    });
                }
            }
        }
        tx.commit().await?;
        out.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.link.cmp(&b.link)));
        Ok((out, lead_count))
    }

    /// Gives `user` a calendar feed found by `digest` (of the secret in its
    /// URL), replacing the one it had: the old URL stops working.
    pub async fn reset_calendar_feed(
        &self,
        user: UserId,
        digest: &[u8; 32],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM calendar_feeds WHERE workspace_id = $1 AND user_id = $2")
                .bind(self.ws())
                .bind(user.as_uuid())
                .execute(&mut *c)
                .await?;
        });
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO calendar_feeds (workspace_id, user_id, digest, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(self.ws())
            .bind(user.as_uuid())
            .bind(&digest[..])
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// When `user`'s calendar feed was made, if it has one.
    pub async fn calendar_feed_made(
        &self,
        user: UserId,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let made: Option<(chrono::DateTime<chrono::Utc>,)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT created_at FROM calendar_feeds WHERE workspace_id = $1 AND user_id = $2")
                .bind(self.ws())
                .bind(user.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(made.map(|m| m.0))
    }
}
