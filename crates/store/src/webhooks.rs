//! Vendors' webhooks: the subscription, the outbox a partner's actions
//! write their events to (in the action's own transaction), and the
//! delivery log the dispatcher keeps.

use chrono::{DateTime, Utc};
use onepane_domain::activity::WebhookEvent;
use onepane_domain::{VendorId, WebhookDeliveryId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::access::SystemStore;
use crate::rows::parse;
use crate::tx::{Access, Tx, on_tx};
use crate::vendor::VendorStore;
use crate::{StoreError, now};

/// A vendor's subscription (without its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    /// Where events are posted.
    pub url: String,
    /// Which events.
    pub events: Vec<WebhookEvent>,
    /// When it was first created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; it can be redelivered on request.
    Dead,
}

impl DeliveryStatus {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "dead" => Ok(DeliveryStatus::Dead),
            other => Err(format!(
                "`{other}` is not a delivery status; expected pending, delivered or dead"
            )),
        }
    }
}

/// One event for one vendor, and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    /// Its id (also the event's id in the payload).
    pub id: WebhookDeliveryId,
    /// The vendor.
    pub vendor_id: VendorId,
    /// The event.
    pub event: WebhookEvent,
    /// The JSON body posted.
    pub payload: serde_json::Value,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: DateTime<Utc>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's status code on the last attempt.
    pub last_response_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery due now, with where it goes.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The delivery.
    pub delivery: WebhookDelivery,
    /// The subscription's URL.
    pub url: String,
    /// The subscription's sealed signing secret.
    pub sealed_secret: Vec<u8>,
}

/// The outcome of one attempt.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// 2xx.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Failed; try again at `retry_at`, or never (dead) when `None`.
    Failed {
        /// The status, when the receiver answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

const DELIVERY_COLUMNS: &str = "vendor_id, id, event, payload, status, attempts, next_attempt_at, \
     last_attempt_at, last_response_status, last_error, created_at, delivered_at";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    vendor_id: Uuid,
    id: Uuid,
    event: String,
    payload: Json<serde_json::Value>,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_response_status: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        Ok(WebhookDelivery {
            id: WebhookDeliveryId::from_uuid(r.id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            event: parse("webhook delivery", &r.event)?,
            payload: r.payload.0,
            status: parse("webhook delivery", &r.status)?,
            attempts: u32::try_from(r.attempts)
                .map_err(|e| StoreError::corrupt("webhook delivery", e))?,
            next_attempt_at: r.next_attempt_at,
            last_attempt_at: r.last_attempt_at,
            last_response_status: r.last_response_status.and_then(|s| u16::try_from(s).ok()),
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    url: String,
    events: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SubscriptionRow> for WebhookSubscription {
    type Error = StoreError;
    fn try_from(r: SubscriptionRow) -> Result<Self, StoreError> {
        Ok(WebhookSubscription {
            url: r.url,
            events: r
                .events
                .split_whitespace()
                .map(|e| parse("webhook subscription", e))
                .collect::<Result<_, _>>()?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn event_list(events: &[WebhookEvent]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes an event for a vendor into the outbox, inside the caller's
/// transaction. The dispatcher drops it if the vendor is not subscribed.
pub(crate) async fn emit(
    tx: &mut Tx,
    vendor_id: VendorId,
    event: WebhookEvent,
    data: serde_json::Value,
) -> Result<(), StoreError> {
    let id = WebhookDeliveryId::new();
    let at = now();
    let payload = serde_json::json!({
        "id": id,
        "type": event.as_str(),
        "created_at": at,
        "data": data,
    });
    on_tx!(*tx, c => {
        sqlx::query(&format!(
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, NULL, NULL, NULL, $5, NULL)"
        ))
        .bind(vendor_id.as_uuid())
        .bind(id.as_uuid())
        .bind(event.as_str())
        .bind(Json(&payload))
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Which deliveries a vendor lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryFilter {
    /// Only these.
    pub status: Option<DeliveryStatus>,
    /// Only those older than this id (the cursor of the previous page).
    pub before: Option<WebhookDeliveryId>,
    /// At most this many.
    pub limit: u32,
}

impl VendorStore {
    /// The vendor's webhook subscription, if any.
    pub async fn webhook(&self) -> Result<Option<WebhookSubscription>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<SubscriptionRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT url, events, created_at, updated_at FROM webhook_subscriptions WHERE vendor_id = $1",
            )
            .bind(self.vendor_id().as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.map(WebhookSubscription::try_from).transpose()
    }

    /// Creates or replaces the subscription. A new sealed secret replaces the
    /// old one; without one, the existing secret stays (and there must be one).
    pub async fn put_webhook(
        &self,
        url: &str,
        events: &[WebhookEvent],
        sealed_secret: Option<&[u8]>,
    ) -> Result<WebhookSubscription, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let events_text = event_list(events);
        let row: Option<SubscriptionRow> = on_tx!(tx, c => {
            match sealed_secret {
                Some(secret) => sqlx::query_as(
                    "INSERT INTO webhook_subscriptions (vendor_id, url, events, sealed_secret, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) \
                     ON CONFLICT (vendor_id) DO UPDATE SET url = excluded.url, events = excluded.events, \
                     sealed_secret = excluded.sealed_secret, updated_at = excluded.updated_at \
                     RETURNING url, events, created_at, updated_at",
                )
                .bind(self.vendor_id().as_uuid())
                .bind(url)
                .bind(&events_text)
                .bind(secret)
                .bind(at)
                .fetch_optional(&mut *c)
                .await?,
                None => sqlx::query_as(
                    "UPDATE webhook_subscriptions SET url = $2, events = $3, updated_at = $4 \
                     WHERE vendor_id = $1 RETURNING url, events, created_at, updated_at",
                )
                .bind(self.vendor_id().as_uuid())
                .bind(url)
                .bind(&events_text)
                .bind(at)
                .fetch_optional(&mut *c)
                .await?,
            }
        });
        let row =
            row.ok_or_else(|| StoreError::not_found("webhook subscription", self.vendor_id()))?;
        tx.commit().await?;
        row.try_into()
    }

    /// Removes the subscription; events stop being delivered.
    pub async fn delete_webhook(&self) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query("DELETE FROM webhook_subscriptions WHERE vendor_id = $1")
                .bind(self.vendor_id().as_uuid())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n > 0)
    }

    /// The delivery log, newest first.
    pub async fn webhook_deliveries(
        &self,
        filter: DeliveryFilter,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<DeliveryRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE vendor_id = $1 \
                 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3) \
                 ORDER BY id DESC LIMIT $4"
            ))
            .bind(self.vendor_id().as_uuid())
            .bind(filter.status.map(DeliveryStatus::as_str))
            .bind(filter.before.map(|b| b.as_uuid()))
            .bind(i64::from(filter.limit))
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter().map(WebhookDelivery::try_from).collect()
    }

    /// One delivery.
    pub async fn webhook_delivery(
        &self,
        id: WebhookDeliveryId,
    ) -> Result<WebhookDelivery, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<DeliveryRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE vendor_id = $1 AND id = $2"
            ))
            .bind(self.vendor_id().as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.ok_or_else(|| StoreError::not_found("webhook delivery", id))?
            .try_into()
    }

    /// Puts a dead delivery back in line for an attempt now.
    pub async fn redeliver(&self, id: WebhookDeliveryId) -> Result<WebhookDelivery, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<DeliveryRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3 \
                 WHERE vendor_id = $1 AND id = $2 AND status = 'dead' RETURNING {DELIVERY_COLUMNS}"
            ))
            .bind(self.vendor_id().as_uuid())
            .bind(id.as_uuid())
            .bind(now())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        match row {
            Some(row) => row.try_into(),
            None => {
                let existing = self.webhook_delivery(id).await?;
                Err(StoreError::Rule(format!(
                    "delivery {id} is {}; only a dead delivery can be redelivered",
                    existing.status.as_str()
                )))
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct DueRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    url: Option<String>,
    events: Option<String>,
    sealed_secret: Option<Vec<u8>>,
    subscribed_at: Option<DateTime<Utc>>,
}

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
        let lock = match &tx {
            Tx::Postgres(_) => " FOR UPDATE OF d SKIP LOCKED",
            Tx::Sqlite(..) => "",
        };
        let rows: Vec<DueRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT d.vendor_id, d.id, d.event, d.payload, d.status, d.attempts, d.next_attempt_at, \
                        d.last_attempt_at, d.last_response_status, d.last_error, d.created_at, d.delivered_at, \
                        s.url, s.events, s.sealed_secret, s.created_at AS subscribed_at \
                 FROM webhook_deliveries d LEFT JOIN webhook_subscriptions s ON s.vendor_id = d.vendor_id \
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
            let wanted = match (&row.events, row.subscribed_at) {
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

    /// Records an attempt's outcome.
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
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, next_attempt_at = $4, \
                 last_attempt_at = $5, last_response_status = $6, last_error = $7, delivered_at = $8 \
                 WHERE vendor_id = $1 AND id = $2",
            )
            .bind(vendor_id.as_uuid())
            .bind(id.as_uuid())
            .bind(status.as_str())
            .bind(next)
            .bind(at)
            .bind(code.map(i32::from))
            .bind(error)
            .bind(delivered_at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }
}
