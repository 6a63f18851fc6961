//! Vendors' webhooks: the subscription, the outbox a partner's actions
//! write their events to (in the action's own transaction), and the
//! delivery log the dispatcher keeps.

use chrono::{DateTime, Utc};
use onepane_domain::activity::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::*;
use crate::tx::{Tx, on_tx};
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

pub(crate) const DELIVERY_COLUMNS: &str = "vendor_id, id, event, payload, status, attempts, next_attempt_at, \
     last_attempt_at, last_response_status, last_error, created_at, delivered_at";

table_row! {
    DeliveryRow => WebhookDelivery {
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        id: Uuid => WebhookDeliveryId::from_uuid(id),
        event: String => parse("webhook delivery", &event)?,
        payload: Json<serde_json::Value> => payload.0,
        status: String => parse("webhook delivery", &status)?,
        attempts: i32 => u32::try_from(attempts)
            .map_err(|e| StoreError::corrupt("webhook delivery", e))?,
        next_attempt_at: DateTime<Utc>,
        last_attempt_at: Option<DateTime<Utc>>,
        last_response_status: Option<i32> =>
            last_response_status.and_then(|s| u16::try_from(s).ok()),
        last_error: Option<String>,
        created_at: DateTime<Utc>,
        delivered_at: Option<DateTime<Utc>>,
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SubscriptionRow {
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

/// Events as stored: their names, space-separated.
pub(crate) fn event_list(events: &[WebhookEvent]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes an event for a vendor into the outbox, inside the caller's
/// transaction. The dispatcher drops it if the vendor is not subscribed.
/// The delivery names the workspace and the record it is about
/// (`subject`: kind and id): a delivery is recorded in that workspace's
/// access log, and dropped while the workspace's link is not active.
pub(crate) async fn emit(
    tx: &mut Tx,
    vendor_id: VendorId,
    event: WebhookEvent,
    workspace_id: WorkspaceId,
    subject: (&str, String),
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
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}, about_workspace_id, about_kind, about_id) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, NULL, NULL, NULL, $5, NULL, $6, $7, $8)"
        ))
        .bind(vendor_id.as_uuid())
        .bind(id.as_uuid())
        .bind(event.as_str())
        .bind(Json(&payload))
        .bind(at)
        .bind(workspace_id.as_uuid())
        .bind(subject.0)
        .bind(subject.1)
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

#[derive(sqlx::FromRow)]
pub(crate) struct DueRow {
    #[sqlx(flatten)]
    pub(crate) delivery: DeliveryRow,
    pub(crate) url: Option<String>,
    pub(crate) events: Option<String>,
    pub(crate) sealed_secret: Option<Vec<u8>>,
    pub(crate) subscribed_at: Option<DateTime<Utc>>,
    /// Whether the workspace the delivery is about is actively linked
    /// (or it names none).
    pub(crate) linked: Option<bool>,
}
