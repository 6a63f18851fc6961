//! Sync runs and CRM pushes across workspaces.

use chrono::{DateTime, Utc};
use onepane_domain::lead::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::select;
use crate::tables::deal_registrations::*;
use crate::tables::leads::*;
use crate::tables::outbox::*;
use crate::tables::prefixed;
use crate::tables::runs::*;
use crate::tx::{Access, Conn, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

impl SystemStore {
    /// Starts a run.
    pub async fn start_run(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        job: Option<JobId>,
        kind: &str,
    ) -> Result<SyncRun, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let row: RunRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO sync_runs (workspace_id, id, connection_id, job_id, kind, status, started_at, \
                   read, created, updated, unchanged, deleted, failed, errors, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'running', $6, 0, 0, 0, 0, 0, 0, $7, $6) RETURNING {RUN_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(Uuid::now_v7())
            .bind(conn.as_uuid())
            .bind(job.map(|j| j.as_uuid()))
            .bind(kind)
            .bind(at)
            .bind(Json(Vec::<String>::new()))
            .fetch_one(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.try_into()
    }

    /// Records a run's progress, or its end when `status` is not `running`.
    pub async fn update_run(&self, run: &SyncRun) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let errors: Vec<&String> = run.errors.iter().take(RUN_ERRORS_KEPT).collect();
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE sync_runs SET status = $3, finished_at = $4, read = $5, created = $6, updated = $7, \
                   unchanged = $8, deleted = $9, failed = $10, total = $11, errors = $12, updated_at = $13 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(run.workspace_id.as_uuid())
            .bind(run.id)
            .bind(run.status.as_str())
            .bind(run.finished_at)
            .bind(db_count(run.read))
            .bind(db_count(run.created))
            .bind(db_count(run.updated))
            .bind(db_count(run.unchanged))
            .bind(db_count(run.deleted))
            .bind(db_count(run.failed))
            .bind(run.total.map(db_count))
            .bind(Json(errors))
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// The latest runs across workspaces, newest first.
    pub async fn recent_runs(&self, limit: u32) -> Result<Vec<SyncRun>, StoreError> {
        select!(
            all,
            RunRow,
            read(self),
            &format!(
                "SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY started_at DESC, id DESC LIMIT $1"
            ),
            i64::from(limit)
        )
    }

    /// Moves a workspace's outbox (leads and deal registrations) into each
    /// CRM sink's pushes; what has no sink to go to is simply taken off. Returns how many
    /// outbox entries were taken.
    pub async fn fan_out_leads(&self, ws: WorkspaceId) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let upsert = "ON CONFLICT (workspace_id, connection_id, entity, entity_id) DO UPDATE SET status = 'pending', \
              changed_at = excluded.changed_at, attempts = 0, due_at = excluded.due_at, updated_at = excluded.updated_at \
            WHERE crm_pushes.changed_at < excluded.changed_at";
        let taken = match tx.conn() {
            // One statement: an entry changed again meanwhile is taken with
            // its newest time or stays for the next round.
            Conn::Postgres(t) => sqlx::query(&format!(
                "WITH taken AS (DELETE FROM crm_outbox WHERE workspace_id = $1 RETURNING entity, entity_id, changed_at), \
                   pushed AS (INSERT INTO crm_pushes (workspace_id, connection_id, entity, entity_id, status, changed_at, attempts, due_at, updated_at) \
                     SELECT $1, c.id, t.entity, t.entity_id, 'pending', t.changed_at, 0, $2, $2 FROM taken t \
                     JOIN connections c ON c.workspace_id = $1 AND c.purpose = 'crm-sink' AND c.status <> 'paused' \
                     {upsert} RETURNING 1) \
                 SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM pushed)"
            ))
            .bind(ws.as_uuid())
            .bind(at)
            .fetch_one(&mut **t)
            .await
            .and_then(|r| sqlx::Row::try_get::<i64, _>(&r, 0))?,
            // SQLite writes one at a time: two statements are as good as one.
            Conn::Sqlite(t, _) => {
                sqlx::query(&format!(
                    "INSERT INTO crm_pushes (workspace_id, connection_id, entity, entity_id, status, changed_at, attempts, due_at, updated_at) \
                     SELECT $1, c.id, o.entity, o.entity_id, 'pending', o.changed_at, 0, $2, $2 FROM crm_outbox o \
                     JOIN connections c ON c.workspace_id = $1 AND c.purpose = 'crm-sink' AND c.status <> 'paused' \
                     WHERE o.workspace_id = $1 {upsert}"
                ))
                .bind(ws.as_uuid())
                .bind(at)
                .execute(&mut **t)
                .await?;
                let n = sqlx::query("DELETE FROM crm_outbox WHERE workspace_id = $1")
                    .bind(ws.as_uuid())
                    .execute(&mut **t)
                    .await?
                    .rows_affected();
                i64::try_from(n).unwrap_or(i64::MAX)
            }
        };
        tx.commit().await?;
        Ok(u64::try_from(taken).unwrap_or_default())
    }

    /// Up to `limit` leads due to be pushed to CRM sink `conn`.
    pub async fn due_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> Result<Vec<DuePush>, StoreError> {
        let rows = self
            .due_rows::<LeadRow>(ws, conn, limit, CrmEntity::Lead)
            .await?;
        rows.into_iter()
            .map(|(lead, changed_at, attempts, vendor)| {
                Ok(DuePush {
                    lead: Lead::try_from(lead)?,
                    vendor,
                    changed_at,
                    attempts,
                })
            })
            .collect()
    }

    /// Records what became of pushes; a push whose lead or registration
    /// changed again meanwhile stays pending.
    pub async fn record_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        entity: CrmEntity,
        results: &[(Uuid, DateTime<Utc>, PushResult)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        for (id, changed_at, result) in results {
            let (status, remote, error, due) = match result {
                PushResult::Pushed { remote_id } => ("pushed", remote_id.clone(), None, at),
                PushResult::Failed { error, retry_at } => match retry_at {
                    Some(when) => ("pending", None, Some(error.clone()), *when),
                    None => ("failed", None, Some(error.clone()), at),
                },
            };
            on_tx!(tx, c => {
                sqlx::query(
                    "UPDATE crm_pushes SET status = $5, attempts = attempts + 1, due_at = $6, \
                       remote_id = COALESCE($7, remote_id), last_error = $8, \
                       pushed_at = CASE WHEN $5 = 'pushed' THEN $9 ELSE pushed_at END, updated_at = $9 \
                     WHERE workspace_id = $1 AND connection_id = $2 AND entity = $10 AND entity_id = $3 AND changed_at = $4",
                )
                .bind(ws.as_uuid())
                .bind(conn.as_uuid())
                .bind(*id)
                .bind(*changed_at)
                .bind(status)
                .bind(due)
                .bind(remote)
                .bind(error)
                .bind(at)
                .bind(entity.as_str())
                .execute(&mut *c)
                .await?;
            });
        }
        tx.commit().await
    }

    /// Deal registrations waiting for a sink that takes no deals are let go.
    pub async fn skip_deal_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE crm_pushes SET status = 'skipped', updated_at = $3 \
                 WHERE workspace_id = $1 AND connection_id = $2 AND entity = 'deal' AND status = 'pending'",
            )
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(n)
    }

    /// Up to `limit` deal registrations due to be pushed to CRM sink `conn`.
    pub async fn due_deal_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> Result<Vec<DueDealPush>, StoreError> {
        let rows = self
            .due_rows::<DealRow>(ws, conn, limit, CrmEntity::Deal)
            .await?;
        rows.into_iter()
            .map(|(deal, changed_at, attempts, vendor)| {
                Ok(DueDealPush {
                    deal: deal::DealRegistration::try_from(deal)?,
                    // The inner join on vendors leaves no deal without one.
                    vendor: vendor.ok_or_else(|| StoreError::corrupt("deal push", "no vendor"))?,
                    changed_at,
                    attempts,
                })
            })
            .collect()
    }

    /// Up to `limit` pending pushes of `entity` due on sink `conn`, oldest
    /// first: each entity's row, the change it pushes, its attempts so far
    /// and its vendor's name. A lead may have no vendor; a deal always has.
    async fn due_rows<R>(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
        entity: CrmEntity,
    ) -> Result<Vec<(R, DateTime<Utc>, u32, Option<String>)>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let (table, columns, vendor_join) = match entity {
            CrmEntity::Lead => ("leads", LEAD_COLUMNS, "LEFT JOIN"),
            CrmEntity::Deal => ("deal_registrations", DEAL_COLUMNS, "JOIN"),
        };
        let mut tx = self.begin(Access::Read).await?;
        let rows = on_tx!(tx, c => {
            let rows = sqlx::query(&format!(
                "SELECT {}, p.changed_at AS push_changed_at, p.attempts AS push_attempts, v.name AS vendor_name \
                 FROM crm_pushes p JOIN {table} x ON x.workspace_id = p.workspace_id AND x.id = p.entity_id \
                 {vendor_join} vendors v ON v.id = x.vendor_id \
                 WHERE p.workspace_id = $1 AND p.connection_id = $2 AND p.entity = '{entity}' \
                   AND p.status = 'pending' AND p.due_at <= $3 \
                 ORDER BY p.due_at, p.entity_id LIMIT $4",
                prefixed("x", columns),
                entity = entity.as_str(),
            ))
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(now())
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                use sqlx::Row;
                let row = R::from_row(r)?;
                let changed_at: DateTime<Utc> = r.try_get("push_changed_at")?;
                let attempts: i32 = r.try_get("push_attempts")?;
                let vendor: Option<String> = r.try_get("vendor_name")?;
                out.push((row, changed_at, u32::try_from(attempts).unwrap_or_default(), vendor));
            }
            out
        });
        tx.commit().await?;
        Ok(rows)
    }
}
