//! Deliveries to vendors across workspaces: the deliverer claims what is
//! due, sends it however the vendor is reached, and records how it went.

use chrono::{DateTime, Duration, Utc};
use onepane_domain::activity::*;
use onepane_domain::deal::DealRegistration;
use onepane_domain::delivery::*;
use onepane_domain::lead::Lead;
use onepane_domain::text::{Email, Name};
use onepane_domain::workspace::Connection;
use onepane_domain::*;

use crate::rows::*;
use crate::tables::audit::insert_audit;
use crate::tables::connections::*;
use crate::tables::deal_registrations::*;
use crate::tables::deliveries::*;
use crate::tables::leads::*;
use crate::tables::notifications::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};
use uuid::Uuid;

use super::SystemStore;

/// What a due delivery delivers, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliverySubject {
    /// A deal registration, and the vendor's id of the lead it came from.
    Deal {
        /// The registration (only this vendor's part).
        deal: Box<DealRegistration>,
        /// The vendor's id of its lead, when the vendor sent the lead.
        lead_external_id: Option<String>,
    },
    /// An answer to a vendor's lead.
    LeadAnswer {
        /// The lead.
        lead: Box<Lead>,
        /// The answer.
        answer: AnswerToSend,
    },
}

/// A delivery claimed for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct DueVendorDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// What it delivers.
    pub subject: DeliverySubject,
    /// The workspace's source connections to the vendor, which may reach
    /// the vendor's own system.
    pub connections: Vec<Connection>,
    /// The vendor's channel contact the partner named, for a vendor with
    /// no system: registrations are mailed there.
    pub contact: Option<Email>,
}

/// Why a decision link changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    /// No link has this token (mistyped, forged, or its registration gone).
    #[error("this link is not valid: it may be incomplete or altered")]
    Unknown,
    /// Its deadline passed.
    #[error("this link expired on {0}")]
    Expired(DateTime<Utc>),
    /// It, or the other link of the same registration, was used.
    #[error("this registration was already decided through its link on {0}")]
    Used(DateTime<Utc>),
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The vendor has it.
    Sent {
        /// How.
        route: DeliveryRoute,
        /// Through which connection.
        connection: Option<ConnectionId>,
        /// The vendor's id for it.
        vendor_ref: Option<String>,
    },
    /// The vendor refused it.
    Refused {
        /// Through which connection.
        connection: Option<ConnectionId>,
        /// The vendor's message.
        message: String,
    },
    /// Try again at `at`.
    Retry {
        /// Why it failed this time.
        message: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Failed for good (after its last attempt, or for a reason retrying
    /// will not fix).
    Failed {
        /// Why.
        message: String,
    },
    /// The vendor cannot take it through Onepane.
    Unsupported {
        /// Why.
        message: String,
    },
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    workspace_id: Uuid,
    registration_id: Uuid,
    vendor_id: Uuid,
    decision: String,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl TryFrom<LinkRow> for DecisionLink {
    type Error = StoreError;
    fn try_from(r: LinkRow) -> Result<Self, StoreError> {
        Ok(DecisionLink {
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            registration_id: DealRegistrationId::from_uuid(r.registration_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            decision: parse("decision link", &r.decision)?,
            expires_at: r.expires_at,
            used_at: r.used_at,
        })
    }
}

const LINK_COLUMNS: &str =
    "workspace_id, registration_id, vendor_id, decision, expires_at, used_at";

impl SystemStore {
    /// The workspace and member of the calendar feed whose secret has this
    /// digest.
    pub async fn calendar_feed(
        &self,
        digest: &[u8; 32],
    ) -> Result<Option<(WorkspaceId, UserId)>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let found: Option<(Uuid, Uuid)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT workspace_id, user_id FROM calendar_feeds WHERE digest = $1")
                .bind(&digest[..])
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(found.map(|(w, u)| (WorkspaceId::from_uuid(w), UserId::from_uuid(u))))
    }

    /// The names of a linked workspace and vendor, for a mail sent on the
    /// workspace's behalf to the vendor's people.
    pub async fn link_names(
        &self,
        ws: WorkspaceId,
        vendor: VendorId,
    ) -> Result<(String, String), StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let names: Option<(String, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT w.name, v.name FROM vendor_links l \
                 JOIN workspaces w ON w.id = l.workspace_id JOIN vendors v ON v.id = l.vendor_id \
                 WHERE l.workspace_id = $1 AND l.vendor_id = $2",
            )
            .bind(ws.as_uuid())
            .bind(vendor.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        names.ok_or_else(|| StoreError::not_found("vendor link", vendor))
    }

    /// Keeps the decision links mailed for a registration, by the digests
    /// of their tokens, until `expires_at`.
    pub async fn create_decision_links(
        &self,
        ws: WorkspaceId,
        registration: DealRegistrationId,
        vendor: VendorId,
        links: &[(LinkDecision, [u8; 32])],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        for (decision, digest) in links {
            on_tx!(tx, c => {
                sqlx::query(
                    "INSERT INTO decision_links (workspace_id, digest, registration_id, vendor_id, decision, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(ws.as_uuid())
                .bind(&digest[..])
                .bind(registration.as_uuid())
                .bind(vendor.as_uuid())
                .bind(decision.as_str())
                .bind(expires_at)
                .bind(at)
                .execute(&mut *c)
                .await?;
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// The link with this token digest and the registration it decides,
    /// when it may still be used; otherwise why not. Reading does not use
    /// it (mail scanners open links).
    pub async fn decision_link(
        &self,
        digest: &[u8; 32],
    ) -> Result<Result<(DecisionLink, DealRegistration), LinkRefused>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let link = self.usable_link(&mut tx, digest).await?;
        let out = match link {
            Ok(link) => {
                let deal: Option<DealRegistration> = select!(
                    optional,
                    DealRow,
                    tx,
                    &format!(
                        "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 AND id = $2"
                    ),
                    link.workspace_id.as_uuid(),
                    link.registration_id.as_uuid()
                )?;
                match deal {
                    Some(deal) => Ok((link, deal)),
                    None => Err(LinkRefused::Unknown),
                }
            }
            Err(refused) => Err(refused),
        };
        tx.commit().await?;
        Ok(out)
    }

    /// Uses the link with this token digest, once: it and its sibling are
    /// marked used in one statement, so of two concurrent uses one wins.
    pub async fn use_decision_link(
        &self,
        digest: &[u8; 32],
    ) -> Result<Result<DecisionLink, LinkRefused>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let link = match self.usable_link(&mut tx, digest).await? {
            Ok(link) => link,
            Err(refused) => {
                tx.commit().await?;
                return Ok(Err(refused));
            }
        };
        let at = now();
        let used = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE decision_links SET used_at = $3 \
                 WHERE workspace_id = $1 AND registration_id = $2 AND used_at IS NULL",
            )
            .bind(link.workspace_id.as_uuid())
            .bind(link.registration_id.as_uuid())
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        if used == 0 {
            return Ok(Err(LinkRefused::Used(at)));
        }
        Ok(Ok(DecisionLink {
            used_at: Some(at),
            ..link
        }))
    }

    async fn usable_link(
        &self,
        tx: &mut crate::tx::Tx,
        digest: &[u8; 32],
    ) -> Result<Result<DecisionLink, LinkRefused>, StoreError> {
        let row: Option<LinkRow> = on_tx!(*tx, c => {
            sqlx::query_as(&format!("SELECT {LINK_COLUMNS} FROM decision_links WHERE digest = $1"))
                .bind(&digest[..])
                .fetch_optional(&mut *c)
                .await?
        });
        let Some(link) = row.map(DecisionLink::try_from).transpose()? else {
            return Ok(Err(LinkRefused::Unknown));
        };
        if let Some(at) = link.used_at {
            return Ok(Err(LinkRefused::Used(at)));
        }
        if link.expires_at <= now() {
            return Ok(Err(LinkRefused::Expired(link.expires_at)));
        }
        Ok(Ok(link))
    }

    /// Claims up to `limit` due deliveries for `lease`: each is due again
    /// only after the lease, so a deliverer that dies leaves it to another.
    /// A delivery whose vendor link is no longer active fails at once (the
    /// partner may retry it by hand once the link is active again).
    pub async fn claim_vendor_deliveries(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<DueVendorDelivery>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let lock = if tx.is_sqlite() {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        let rows: Vec<VendorDeliveryRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {VENDOR_DELIVERY_COLUMNS} FROM vendor_deliveries \
                 WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at LIMIT $2{lock}"
            ))
            .bind(at)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?
        });
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let delivery = Delivery::try_from(row)?;
            let ws = delivery.workspace_id;
            let active: Option<(String,)> = on_tx!(tx, c => {
                sqlx::query_as("SELECT status FROM vendor_links WHERE workspace_id = $1 AND vendor_id = $2")
                    .bind(ws.as_uuid())
                    .bind(delivery.vendor_id.as_uuid())
                    .fetch_optional(&mut *c)
                    .await?
            });
            // A delivery that cannot go fails at once, saying why, rather
            // than falling due again on every claim.
            if active.as_ref().map(|a| a.0.as_str()) != Some("active") {
                let why = "the link with this vendor is not active (paused or ended)";
                self.fail_delivery(&mut tx, ws, delivery.id, why, at)
                    .await?;
                continue;
            }
            let subject = match delivery.kind {
                DeliveryKind::Deal => {
                    let deal: Option<DealRegistration> = select!(
                        optional,
                        DealRow,
                        tx,
                        &format!(
                            "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 AND id = $2"
                        ),
                        ws.as_uuid(),
                        delivery.subject_id
                    )?;
                    let Some(deal) = deal else {
                        let why = "the registration is gone";
                        self.fail_delivery(&mut tx, ws, delivery.id, why, at)
                            .await?;
                        continue;
                    };
                    let lead_external_id: Option<(Option<String>,)> = match deal.lead_id {
                        Some(lead) => on_tx!(tx, c => {
                            sqlx::query_as(
                                "SELECT external_id FROM leads WHERE workspace_id = $1 AND id = $2 AND vendor_id = $3",
                            )
                            .bind(ws.as_uuid())
                            .bind(lead.as_uuid())
                            .bind(deal.vendor_id.as_uuid())
                            .fetch_optional(&mut *c)
                            .await?
                        }),
                        None => None,
                    };
                    DeliverySubject::Deal {
                        deal: Box::new(deal),
                        lead_external_id: lead_external_id.and_then(|l| l.0),
                    }
                }
                DeliveryKind::LeadAnswer => {
                    let lead: Option<Lead> = select!(
                        optional,
                        LeadRow,
                        tx,
                        &format!(
                            "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND id = $2"
                        ),
                        ws.as_uuid(),
                        delivery.subject_id
                    )?;
                    let (Some(lead), Some(answer)) = (lead, delivery.answer.clone()) else {
                        let why = "the lead or its answer is gone";
                        self.fail_delivery(&mut tx, ws, delivery.id, why, at)
                            .await?;
                        continue;
                    };
                    DeliverySubject::LeadAnswer {
                        lead: Box::new(lead),
                        answer,
                    }
                }
            };
            let connections = select!(
                all,
                ConnectionRow,
                tx,
                &format!(
                    "SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 AND vendor_id = $2 \
                     AND status <> 'paused' ORDER BY id"
                ),
                ws.as_uuid(),
                delivery.vendor_id.as_uuid()
            )?;
            on_tx!(tx, c => {
                sqlx::query("UPDATE vendor_deliveries SET due_at = $3, leased_until = $3 WHERE workspace_id = $1 AND id = $2")
                    .bind(ws.as_uuid())
                    .bind(delivery.id)
                    .bind(at + lease)
                    .execute(&mut *c)
                    .await?;
            });
            let contact: Option<(String,)> = on_tx!(tx, c => {
                sqlx::query_as("SELECT email FROM vendor_contacts WHERE workspace_id = $1 AND vendor_id = $2")
                    .bind(ws.as_uuid())
                    .bind(delivery.vendor_id.as_uuid())
                    .fetch_optional(&mut *c)
                    .await?
            });
            let contact = contact
                .map(|(e,)| Email::parse(&e).map_err(|e| StoreError::corrupt("vendor contact", e)))
                .transpose()?;
            due.push(DueVendorDelivery {
                delivery,
                subject,
                connections,
                contact,
            });
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Marks a claimed delivery failed for good with its reason, in `tx`.
    async fn fail_delivery(
        &self,
        tx: &mut crate::tx::Tx,
        ws: WorkspaceId,
        id: Uuid,
        message: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(*tx, c => {
            sqlx::query(
                "UPDATE vendor_deliveries SET status = 'failed', message = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws.as_uuid())
            .bind(id)
            .bind(message)
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Records how an attempt went. Only the attempt of the sending that
    /// was claimed counts: if the partner sent it anew meanwhile (a newer
    /// answer), this result is dropped and the new one stays pending. A
    /// refusal or a failure for good notifies the partner.
    pub async fn record_vendor_delivery(
        &self,
        due: &Delivery,
        outcome: &DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let ws = due.workspace_id;
        let (status, route, connection, vendor_ref, message, due_at) = match outcome {
            DeliveryOutcome::Sent {
                route,
                connection,
                vendor_ref,
            } => (
                SendStatus::Sent,
                Some(*route),
                *connection,
                vendor_ref.clone(),
                None,
                at,
            ),
            DeliveryOutcome::Refused {
                connection,
                message,
            } => (
                SendStatus::Refused,
                Some(DeliveryRoute::VendorSystem),
                *connection,
                None,
                Some(message.clone()),
                at,
            ),
            DeliveryOutcome::Retry { message, at: when } => (
                SendStatus::Pending,
                None,
                None,
                None,
                Some(message.clone()),
                *when,
            ),
            DeliveryOutcome::Failed { message } => (
                SendStatus::Failed,
                None,
                None,
                None,
                Some(message.clone()),
                at,
            ),
            DeliveryOutcome::Unsupported { message } => (
                SendStatus::Unsupported,
                None,
                None,
                None,
                Some(message.clone()),
                at,
            ),
        };
        let updated = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE vendor_deliveries SET status = $4, route = COALESCE($5, route), \
                   connection_id = COALESCE($6, connection_id), vendor_ref = $7, message = $8, \
                   attempts = attempts + 1, due_at = $9, leased_until = NULL, updated_at = $10 \
                 WHERE workspace_id = $1 AND id = $2 AND generation = $3 AND status = 'pending'",
            )
            .bind(ws.as_uuid())
            .bind(due.id)
            .bind(i64::from(due.generation))
            .bind(status.as_str())
            .bind(route.map(|r| r.as_str()))
            .bind(connection.map(|c| c.as_uuid()))
            .bind(vendor_ref.as_deref())
            .bind(message.as_deref())
            .bind(due_at)
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            tx.commit().await?;
            return Ok(());
        }
        let (subject_kind, kind) = match due.kind {
            DeliveryKind::Deal => ("deal-registration", "deal-registration.delivered"),
            DeliveryKind::LeadAnswer => ("lead", "lead.answer-delivered"),
        };
        if status != SendStatus::Pending {
            insert_audit(
                &mut tx,
                &[AuditEvent::new(ws, Actor::System, kind, AuditAccess::Write)
                    .about(subject_kind, due.subject_id)
                    .with_detail(serde_json::json!({
                        "vendor_id": due.vendor_id,
                        "status": status.as_str(),
                        "route": route.map(|r| r.as_str()),
                        "vendor_ref": vendor_ref,
                        "message": message,
                    }))],
            )
            .await?;
        }
        if matches!(status, SendStatus::Refused | SendStatus::Failed) {
            let link = match due.kind {
                DeliveryKind::Deal => format!(
                    "/deal-registrations/{}",
                    DealRegistrationId::from_uuid(due.subject_id)
                ),
                DeliveryKind::LeadAnswer => format!("/leads/{}", LeadId::from_uuid(due.subject_id)),
            };
            let what = match due.kind {
                DeliveryKind::Deal => "deal registration",
                DeliveryKind::LeadAnswer => "answer to a lead",
            };
            let title = Name::parse(&format!("The vendor did not take your {what}"))
                .map_err(|e| StoreError::corrupt("notification", e))?;
            insert_notification(
                &mut tx,
                ws,
                &NewNotification {
                    kind: NotificationKind::DeliveryRefused,
                    vendor_id: Some(due.vendor_id),
                    title,
                    body: message
                        .as_deref()
                        .and_then(|m| text::LongText::parse(&m.chars().take(2000).collect::<String>()).ok()),
                    link: Some(link),
                    args: serde_json::json!({ "kind": due.kind.as_str(), "status": status.as_str() }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
