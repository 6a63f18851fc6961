//! The CRM outbox: every lead and deal registration written is marked in
//! the writer's transaction, then fanned out to each CRM sink's pushes.

use chrono::{DateTime, Utc};
use onepane_domain::lead::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::tables::LOOKUP_CHUNK;
use crate::tx::{Conn, Tx, on_tx};
use crate::{StoreError, now};

/// What a CRM sink receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrmEntity {
    /// A lead.
    Lead,
    /// A deal registration.
    Deal,
}

impl CrmEntity {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CrmEntity::Lead => "lead",
            CrmEntity::Deal => "deal",
        }
    }
}

/// Marks a lead created or changed, in the transaction that changed it.
pub(crate) async fn mark_lead_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    lead: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    mark_changed(tx, ws, CrmEntity::Lead, lead, at).await
}

/// Marks records created or changed: on PostgreSQL in one statement (the
/// rows bound as arrays), on SQLite one per 500.
pub(crate) async fn mark_all_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    entity: CrmEntity,
    changed: &[(Uuid, DateTime<Utc>)],
) -> Result<(), StoreError> {
    const UPSERT: &str = " ON CONFLICT (workspace_id, entity, entity_id) DO UPDATE SET changed_at = excluded.changed_at";
    if changed.is_empty() {
        return Ok(());
    }
    match tx.conn() {
        Conn::Postgres(t) => {
            let ids: Vec<Uuid> = changed.iter().map(|c| c.0).collect();
            let at: Vec<DateTime<Utc>> = changed.iter().map(|c| c.1).collect();
            sqlx::query(&format!(
                "INSERT INTO crm_outbox (workspace_id, entity, entity_id, changed_at) \
                 SELECT $1, $2, u.id, u.at FROM unnest($3::uuid[], $4::timestamptz[]) AS u(id, at){UPSERT}"
            ))
            .bind(ws.as_uuid())
            .bind(entity.as_str())
            .bind(&ids)
            .bind(&at)
            .execute(&mut **t)
            .await?;
        }
        Conn::Sqlite(t, _) => {
            for chunk in changed.chunks(LOOKUP_CHUNK) {
                let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "INSERT INTO crm_outbox (workspace_id, entity, entity_id, changed_at) ",
                );
                insert.push_values(chunk, |mut row, (id, at)| {
                    row.push_bind(ws.as_uuid())
                        .push_bind(entity.as_str())
                        .push_bind(*id)
                        .push_bind(*at);
                });
                insert.push(UPSERT);
                insert.build().execute(&mut **t).await?;
            }
        }
    }
    Ok(())
}

/// Marks a lead or deal registration created or changed, in the
/// transaction that changed it.
pub(crate) async fn mark_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    entity: CrmEntity,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO crm_outbox (workspace_id, entity, entity_id, changed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, entity, entity_id) DO UPDATE SET changed_at = excluded.changed_at",
        )
        .bind(ws.as_uuid())
        .bind(entity.as_str())
        .bind(id)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// The advisory lock that orders a new CRM sink against source pages of
/// the same workspace (PostgreSQL; SQLite has one writer at a time): a
/// page holds it `shared` while it decides whether to mark its leads, a new
/// sink exclusively while it says the workspace has one and seeds its
/// pushes. Held to the end of the transaction.
pub(crate) async fn lock_crm_sinks(
    tx: &mut Tx,
    ws: WorkspaceId,
    shared: bool,
) -> Result<(), StoreError> {
    if let Conn::Postgres(t) = tx.conn() {
        // The first key names what is locked (the CRM sinks, "cs"); the
        // second the workspace.
        let sql = if shared {
            "SELECT pg_advisory_xact_lock_shared(25459, hashtext($1::text))"
        } else {
            "SELECT pg_advisory_xact_lock(25459, hashtext($1::text))"
        };
        sqlx::query(sql)
            .bind(ws.as_uuid())
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Whether workspace `ws` has a CRM sink, so that what is written there
/// must be marked in the outbox; a source's page asks, under
/// [`lock_crm_sinks`] held shared.
pub(crate) async fn has_crm_sink(tx: &mut Tx, ws: WorkspaceId) -> Result<bool, StoreError> {
    let found: Option<bool> = on_tx!(*tx, c => {
        sqlx::query_scalar("SELECT has_crm_sink FROM workspaces WHERE id = $1")
            .bind(ws.as_uuid())
            .fetch_optional(&mut *c)
            .await?
    });
    // A workspace the scope cannot read is marked, as before.
    Ok(found.unwrap_or(true))
}

/// Seeds a new CRM sink with every lead and deal registration of its
/// workspace.
pub(crate) async fn seed_pushes(
    tx: &mut Tx,
    ws: WorkspaceId,
    conn: ConnectionId,
) -> Result<(), StoreError> {
    lock_crm_sinks(tx, ws, false).await?;
    on_tx!(*tx, c => {
        sqlx::query("UPDATE workspaces SET has_crm_sink = true WHERE id = $1 AND NOT has_crm_sink")
            .bind(ws.as_uuid())
            .execute(&mut *c)
            .await?;
    });
    let at = now();
    for (entity, table) in [("lead", "leads"), ("deal", "deal_registrations")] {
        on_tx!(*tx, c => {
            sqlx::query(&format!(
                "INSERT INTO crm_pushes (workspace_id, connection_id, entity, entity_id, status, changed_at, attempts, due_at, updated_at) \
                 SELECT workspace_id, $2, $4, id, 'pending', updated_at, 0, $3, $3 FROM {table} WHERE workspace_id = $1"
            ))
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(at)
            .bind(entity)
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(())
}

/// A lead due to be pushed to a CRM sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePush {
    /// The lead as it stands.
    pub lead: Lead,
    /// Its vendor's name.
    pub vendor: Option<String>,
    /// The change being pushed (a newer change keeps the push pending).
    pub changed_at: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
}

/// A deal registration due to be pushed to a CRM sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDealPush {
    /// The registration as it stands.
    pub deal: deal::DealRegistration,
    /// Its vendor's name.
    pub vendor: String,
    /// The change being pushed.
    pub changed_at: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
}

/// What became of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushResult {
    /// The CRM has it.
    Pushed {
        /// The CRM's id.
        remote_id: Option<String>,
    },
    /// Retry at `retry_at`, or never (`None`: failed for good).
    Failed {
        /// Why.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// How a connection's lead pushes stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PushCounts {
    /// Waiting to be pushed (or retried).
    pub pending: u64,
    /// In the CRM.
    pub pushed: u64,
    /// Failed for good.
    pub failed: u64,
}
