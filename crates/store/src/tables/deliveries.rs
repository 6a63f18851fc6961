//! Deliveries to vendors: what a partner submits to a vendor (a deal
//! registration, an answer to the vendor's lead), queued in the
//! transaction that made it and sent by the deliverer.

use chrono::{DateTime, Utc};
use onepane_domain::delivery::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::rows::*;
use crate::tx::{Tx, on_tx};

pub(crate) const VENDOR_DELIVERY_COLUMNS: &str = "workspace_id, id, vendor_id, kind, subject_id, route, \
    connection_id, status, attempts, generation, due_at, vendor_ref, message, answer, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct VendorDeliveryRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    kind: String,
    subject_id: Uuid,
    route: Option<String>,
    connection_id: Option<Uuid>,
    status: String,
    attempts: i32,
    generation: i32,
    due_at: DateTime<Utc>,
    vendor_ref: Option<String>,
    message: Option<String>,
    answer: Option<Json<AnswerToSend>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<VendorDeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: VendorDeliveryRow) -> Result<Self, StoreError> {
        let count = |n: i32| u32::try_from(n).map_err(|e| StoreError::corrupt("delivery", e));
        Ok(Delivery {
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            id: r.id,
            vendor_id: VendorId::from_uuid(r.vendor_id),
            kind: parse("delivery", &r.kind)?,
            subject_id: r.subject_id,
            route: parse_opt("delivery", r.route.as_deref())?,
            connection_id: r.connection_id.map(ConnectionId::from_uuid),
            status: parse("delivery", &r.status)?,
            attempts: count(r.attempts)?,
            generation: count(r.generation)?,
            due_at: r.due_at,
            vendor_ref: r.vendor_ref,
            message: r.message,
            answer: r.answer.map(|a| a.0),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Queues a delivery in the transaction that made what it delivers. A
/// newer answer to the same lead replaces one not yet sent, and is sent
/// anew (with a new idempotency key) when the older one was.
pub(crate) async fn queue_delivery(
    tx: &mut Tx,
    ws: WorkspaceId,
    vendor: VendorId,
    kind: DeliveryKind,
    subject: Uuid,
    answer: Option<&AnswerToSend>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO vendor_deliveries (workspace_id, id, vendor_id, kind, subject_id, status, attempts, \
               generation, due_at, answer, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, 0, $6, $7, $6, $6) \
             ON CONFLICT (workspace_id, kind, subject_id) DO UPDATE SET status = 'pending', attempts = 0, \
               generation = vendor_deliveries.generation + CASE WHEN vendor_deliveries.status = 'pending' THEN 0 ELSE 1 END, \
               due_at = excluded.due_at, answer = excluded.answer, route = NULL, connection_id = NULL, \
               vendor_ref = NULL, message = NULL, leased_until = NULL, updated_at = excluded.updated_at",
        )
        .bind(ws.as_uuid())
        .bind(Uuid::now_v7())
        .bind(vendor.as_uuid())
        .bind(kind.as_str())
        .bind(subject)
        .bind(at)
        .bind(answer.map(Json))
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}
