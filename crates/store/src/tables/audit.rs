//! The audit log of a workspace: who did what to which record, and when.
//! Append-only on both backends (see migration 0008); only events past the
//! retention floor can be pruned.

use chrono::{DateTime, Utc};
use onepane_domain::activity::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::tx::{Tx, on_tx};
use crate::{StoreError, micros};

pub(crate) const AUDIT_COLUMNS: &str = "workspace_id, id, actor_type, actor_id, client, action, access, subject_kind, subject, detail, at";

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    workspace_id: Uuid,
    id: Uuid,
    actor_type: String,
    actor_id: Option<Uuid>,
    client: Option<String>,
    action: String,
    access: String,
    subject_kind: Option<String>,
    subject: Option<String>,
    detail: Json<serde_json::Value>,
    at: DateTime<Utc>,
}

/// The `actor_type` and `actor_id` columns for an actor.
pub(crate) fn actor_columns(a: &Actor) -> (&'static str, Option<Uuid>) {
    match a {
        Actor::User(u) => ("user", Some(u.as_uuid())),
        Actor::Vendor(v) => ("vendor", Some(v.as_uuid())),
        Actor::System => ("system", None),
        Actor::Operator => ("operator", None),
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let actor = match (r.actor_type.as_str(), r.actor_id) {
            ("user", Some(id)) => Actor::User(UserId::from_uuid(id)),
            ("vendor", Some(id)) => Actor::Vendor(VendorId::from_uuid(id)),
            ("system", None) => Actor::System,
            ("operator", None) => Actor::Operator,
            (t, id) => {
                return Err(StoreError::corrupt(
                    "audit event",
                    format!("actor {t} {id:?}"),
                ));
            }
        };
        Ok(AuditEvent {
            id: AuditEventId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            actor,
            client: r.client,
            action: r.action,
            access: crate::rows::parse("audit event", &r.access)?,
            subject_kind: r.subject_kind,
            subject: r.subject,
            detail: r.detail.0,
            at: r.at,
        })
    }
}

/// Appends events to their workspaces' audit logs in `tx`.
pub(crate) async fn insert_audit(tx: &mut Tx, events: &[AuditEvent]) -> Result<(), StoreError> {
    for event in events {
        let (actor_type, actor_id) = actor_columns(&event.actor);
        on_tx!(*tx, c => {
            sqlx::query(&format!(
                "INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(event.workspace_id.as_uuid())
            .bind(event.id.as_uuid())
            .bind(actor_type)
            .bind(actor_id)
            .bind(event.client.as_deref())
            .bind(&event.action)
            .bind(event.access.as_str())
            .bind(event.subject_kind.as_deref())
            .bind(event.subject.as_deref())
            .bind(Json(&event.detail))
            .bind(micros(event.at))
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(())
}

/// Which events a workspace lists.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this vendor's.
    pub vendor: Option<VendorId>,
    /// Only events about this kind of record.
    pub subject_kind: Option<String>,
    /// Only those older than this id (the cursor of the previous page).
    pub before: Option<AuditEventId>,
    /// At most this many (1 to 1,000).
    pub limit: u32,
}
