//! The clock: every dated obligation of the workspace, from each source
//! in turn, in one list ordered by when it falls due.

use chrono::Duration;
use onepane_domain::clock::*;
use onepane_domain::deal::DealRegistration;
use onepane_domain::delivery::{DeliveryKind, SendStatus};
use onepane_domain::lead::Lead;
use onepane_domain::workspace::ConnectionStatus;
use onepane_domain::*;

use crate::rows::select;
use crate::tables::deal_registrations::*;
use crate::tables::leads::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

impl PartnerStore {
    /// What falls due in the workspace, soonest (or most overdue) first:
    /// vendors' leads awaiting an answer by their answer-by time,
    /// registrations awaiting a decision (due [`DECISION_DAYS`] after they
    /// were submitted), protections ending within
    /// [`PROTECTION_NOTICE_DAYS`], connections to log in to again, and
    /// deliveries a vendor refused or that failed.
    pub async fn clock(&self, filter: &ClockFilter) -> Result<Vec<Deadline>, StoreError> {
        let wants = |k: DeadlineKind| filter.kind.is_none_or(|f| f == k);
        let vendor_ok = |v: Option<VendorId>| filter.vendor_id.is_none_or(|f| v == Some(f));
        let person_ok = |p: Option<UserId>| filter.person.is_none_or(|f| p == Some(f));
        let mut out = Vec::new();
        let mut tx = self.begin(Access::Read).await?;
        if wants(DeadlineKind::LeadAnswer) && filter.person.is_none() {
            let leads: Vec<Lead> = select!(
                all,
                LeadRow,
                tx,
                &format!(
                    "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND status = 'new' \
                     AND respond_by IS NOT NULL ORDER BY respond_by LIMIT 1000"
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
            let regs: Vec<DealRegistration> = select!(
                all,
                DealRow,
                tx,
                &format!(
                    "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 \
                     AND status IN ('submitted', 'approved') ORDER BY id DESC LIMIT 5000"
                ),
                self.ws()
            )?;
            let today = now().date_naive();
            let horizon = today + Duration::days(PROTECTION_NOTICE_DAYS);
            for r in regs {
                if !vendor_ok(Some(r.vendor_id)) || !person_ok(r.submitted_by) {
                    continue;
                }
                let (kind, due) = match (r.status, r.protection_expires_on) {
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
                        vendor_id: Some(r.vendor_id),
                        person: r.submitted_by,
                        title: r.details.title.to_string(),
                        link: format!("/deals/{}", r.id),
                    });
                }
            }
        }
        tx.commit().await?;
        if wants(DeadlineKind::Reauthorize) && filter.person.is_none() {
            for c in self.connections().await? {
                if c.status == ConnectionStatus::NeedsReauthorization
                    && vendor_ok(c.target.vendor_id())
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
            for kind in [DeliveryKind::Deal, DeliveryKind::LeadAnswer] {
                for d in self.deliveries(kind).await?.into_values() {
                    if matches!(d.status, SendStatus::Refused | SendStatus::Failed)
                        && vendor_ok(Some(d.vendor_id))
                    {
                        let link = match kind {
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
                            title: d
                                .message
                                .clone()
                                .unwrap_or_default()
                                .chars()
                                .take(200)
                                .collect(),
                            link,
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.link.cmp(&b.link)));
        Ok(out)
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
