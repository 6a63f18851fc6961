//! Delivering vendors' webhooks.

use onepane_domain::activity::{Actor, AuditAccess, AuditEvent};
use onepane_domain::*;

use crate::tables::audit::insert_audit;
use crate::tables::webhooks::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

/// What a delivery is about: its workspace, the record's kind and id, and
/// the event.
type About = (Option<uuid::Uuid>, Option<String>, Option<String>, String);

impl SystemStore {
    /// Claims up to `limit` due deliveries: each is pushed back by `lease`,
    /// so another dispatcher does not send it while this one is. Events for
    /// a vendor that is not subscribed to them (or subscribed after they
    /// happened) are dropped.
    pub async fn claim_due_deliveries(
        &self,
        limit: u32,
        lease: chrono::Duration,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let lock = if tx.is_sqlite() {
            ""
        } else {
            " FOR UPDATE OF d SKIP LOCKED"
        };
        let rows: Vec<DueRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT d.vendor_id, d.id, d.event, d.payload, d.status, d.attempts, d.next_attempt_at, \
                        d.last_attempt_at, d.last_response_status, d.last_error, d.created_at, d.delivered_at, \
                        s.url, s.events, s.sealed_secret, s.created_at AS subscribed_at, \
                        d.about_workspace_id IS NULL OR l.status = 'active' AS linked \
                 FROM webhook_deliveries d LEFT JOIN webhook_subscriptions s ON s.vendor_id = d.vendor_id \
                 LEFT JOIN vendor_links l ON l.workspace_id = d.about_workspace_id AND l.vendor_id = d.vendor_id \
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
                 ORDER BY d.next_attempt_at LIMIT $2{lock}"
            ))
            .bind(at)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?
        });
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let delivery = WebhookDelivery::try_from(row.delivery)?;
            // A delivery about a workspace whose link is paused or ended
            // is dropped: the vendor learns nothing more about it.
            let wanted = row.linked.unwrap_or(false)
                && match (&row.events, row.subscribed_at) {
                    (Some(events), Some(since)) => {
                        since <= delivery.created_at
                            && events
                                .split_whitespace()
                                .any(|e| e == delivery.event.as_str())
                    }
                    _ => false,
                };
            let target = row.url.zip(row.sealed_secret).filter(|_| wanted);
            on_tx!(tx, c => {
                match &target {
                    Some(_) => sqlx::query(
                        "UPDATE webhook_deliveries SET next_attempt_at = $3 WHERE vendor_id = $1 AND id = $2",
                    )
                    .bind(delivery.vendor_id.as_uuid())
                    .bind(delivery.id.as_uuid())
                    .bind(at + lease)
                    .execute(&mut *c)
                    .await?,
                    None => sqlx::query("DELETE FROM webhook_deliveries WHERE vendor_id = $1 AND id = $2")
                        .bind(delivery.vendor_id.as_uuid())
                        .bind(delivery.id.as_uuid())
                        .execute(&mut *c)
                        .await?,
                };
            });
            if let Some((url, sealed_secret)) = target {
                due.push(DueDelivery {
                    delivery,
                    url,
                    sealed_secret,
                });
            }
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Records an attempt's outcome; a delivery is also recorded in the
    /// access log of the workspace it is about.
    pub async fn record_attempt(
        &self,
        vendor_id: VendorId,
        id: WebhookDeliveryId,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let (status, code, error, next, delivered_at) = match attempt {
            Attempt::Delivered { status } => {
                (DeliveryStatus::Delivered, Some(*status), None, at, Some(at))
            }
            Attempt::Failed {
                status,
                error,
                retry_at,
            } => match retry_at {
                Some(when) => (
                    DeliveryStatus::Pending,
                    *status,
                    Some(error.as_str()),
                    *when,
                    None,
                ),
                None => (
                    DeliveryStatus::Dead,
                    *status,
                    Some(error.as_str()),
                    at,
                    None,
                ),
            },
        };
        let about: Option<About> = on_tx!(tx, c => {
            sqlx::query_as(
                "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4, \
                 last_attempt_at = $5, last_response_status = $6, last_error = $7, delivered_at = $8 \
                 WHERE vendor_id = $1 AND id = $2 RETURNING about_workspace_id, about_kind, about_id, event",
            )
            .bind(vendor_id.as_uuid())
            .bind(id.as_uuid())
            .bind(status.as_str())
            .bind(next)
            .bind(at)
            .bind(code.map(i32::from))
            .bind(error)
            .bind(delivered_at)
            .fetch_optional(&mut *c)
            .await?
        });
        if let (Some((Some(ws), kind, subject, event)), DeliveryStatus::Delivered) = (about, status)
        {
            let mut entry = AuditEvent::new(
                WorkspaceId::from_uuid(ws),
                Actor::Vendor(vendor_id),
                "webhook.delivered",
                AuditAccess::Read,
            )
            .with_detail(serde_json::json!({ "delivery_id": id, "event": event }));
            entry.subject_kind = kind;
            entry.subject = subject;
            insert_audit(&mut tx, &[entry]).await?;
        }
        tx.commit().await
    }
}
