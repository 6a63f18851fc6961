//! A workspace's connections: their settings and secrets, authorizations, runs, jobs and CRM pushes.

use chrono::{DateTime, Utc};
use onepane_domain::activity::{Actor, AuditAccess, AuditEvent};
use onepane_domain::workspace::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::select;
use crate::tables::audit::insert_audit;
use crate::tables::connections::*;
use crate::tables::jobs::*;
use crate::tables::outbox::*;
use crate::tables::runs::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

impl PartnerStore {
    /// Adds a connection (its secrets are stored apart, sealed).
    pub async fn create_connection(&self, new: &NewConnection) -> Result<Connection, StoreError> {
        self.create_connection_with(ConnectionId::new(), new, &[])
            .await
    }

    /// Adds a connection under `id` with its sealed secrets (by field), in
    /// one transaction. A CRM sink starts with every lead of the workspace
    /// to push.
    pub async fn create_connection_with(
        &self,
        id: ConnectionId,
        new: &NewConnection,
        secrets: &[(&str, Vec<u8>)],
    ) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        if let Some(v) = new.target.vendor_id() {
            self.active_link(&mut tx, v).await?;
        }
        let row: ConnectionRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO connections ({CONNECTION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {CONNECTION_COLUMNS}"
            ))
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(new.target.vendor_id().map(|v| v.as_uuid()))
            .bind(new.target.purpose())
            .bind(new.connector.as_str())
            .bind(new.name.as_str())
            .bind(new.schedule.as_deref())
            .bind(ConnectionStatus::Active.as_str())
            .bind(Json(&new.settings))
            .bind(now())
            .fetch_one(&mut *c)
            .await?
        });
        for (field, sealed) in secrets {
            on_tx!(tx, c => {
                sqlx::query(
                    "INSERT INTO connection_secrets (workspace_id, connection_id, field, sealed, version, updated_at) \
                     VALUES ($1, $2, $3, $4, 1, $5)",
                )
                .bind(self.ws())
                .bind(id.as_uuid())
                .bind(*field)
                .bind(sealed.as_slice())
                .bind(now())
                .execute(&mut *c)
                .await?;
            });
        }
        if new.target.vendor_id().is_none() {
            seed_pushes(&mut tx, self.workspace_id, id).await?;
        }
        tx.commit().await?;
        row.try_into()
    }

    /// The workspace's connections.
    pub async fn connections(&self) -> Result<Vec<Connection>, StoreError> {
        select!(
            all,
            ConnectionRow,
            read(self),
            &format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 ORDER BY id"
            ),
            self.ws()
        )
    }

    /// One of the workspace's connections.
    pub async fn connection(&self, id: ConnectionId) -> Result<Connection, StoreError> {
        select!(
            optional,
            ConnectionRow,
            read(self),
            &format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 AND id = $2"
            ),
            self.workspace_id().as_uuid(),
            id.as_uuid()
        )?
        .ok_or_else(|| StoreError::not_found("connection", id))
    }

    /// Pauses a connection (nothing runs on its schedule or on demand
    /// until it is resumed) or resumes it as active; its secrets, runs and
    /// stream positions stay.
    pub async fn set_connection_paused(
        &self,
        id: ConnectionId,
        paused: bool,
    ) -> Result<Connection, StoreError> {
        let status = if paused {
            ConnectionStatus::Paused
        } else {
            ConnectionStatus::Active
        };
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<Connection> = select!(
            optional,
            ConnectionRow,
            tx,
            &format!(
                "UPDATE connections SET status = $3 WHERE workspace_id = $1 AND id = $2 \
                 RETURNING {CONNECTION_COLUMNS}"
            ),
            self.workspace_id().as_uuid(),
            id.as_uuid(),
            status.as_str()
        )?;
        let row = row.ok_or_else(|| StoreError::not_found("connection", id))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a connection as `by`, saying `through` what (`portal`,
    /// `api`) in the audit log, in the same transaction. Its plumbing goes
    /// with it: secrets, stream positions, record hashes, jobs, runs, CRM
    /// pushes and erasures, authorizations. What it synced stays: those
    /// records are the workspace's and name the vendor, not the
    /// connection. Refused (a conflict) while a run holds the connection.
    pub async fn delete_connection(
        &self,
        id: ConnectionId,
        by: UserId,
        through: &str,
    ) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let held: Option<(Option<String>, Option<DateTime<Utc>>)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT run_owner, run_until FROM connections WHERE workspace_id = $1 AND id = $2")
                .bind(self.ws())
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        let Some((owner, until)) = held else {
            return Err(StoreError::not_found("connection", id));
        };
        if owner.is_some() && until.is_some_and(|u| u > now()) {
            return Err(StoreError::Conflict(format!(
                "connection {id} is running a sync; pause it and delete it when the run has ended"
            )));
        }
        let row: Option<Connection> = select!(
            optional,
            ConnectionRow,
            tx,
            &format!(
                "DELETE FROM connections WHERE workspace_id = $1 AND id = $2 \
                 RETURNING {CONNECTION_COLUMNS}"
            ),
            self.ws(),
            id.as_uuid()
        )?;
        let connection = row.ok_or_else(|| StoreError::not_found("connection", id))?;
        insert_audit(
            &mut tx,
            &[AuditEvent::new(
                self.workspace_id,
                Actor::User(by),
                "connection.deleted",
                AuditAccess::Write,
            )
            .about("connection", id)
            .with_detail(serde_json::json!({
                "name": connection.name.as_str(),
                "connector": connection.connector.as_str(),
                "through": through,
            }))],
        )
        .await?;
        tx.commit().await?;
        Ok(connection)
    }

    /// Replaces a connection's settings (checked by the caller, as when it
    /// was made); its secrets, runs and stream positions stay.
    pub async fn set_connection_settings(
        &self,
        id: ConnectionId,
        settings: &serde_json::Value,
    ) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<Connection> = select!(
            optional,
            ConnectionRow,
            tx,
            &format!(
                "UPDATE connections SET settings = $3 WHERE workspace_id = $1 AND id = $2 \
                 RETURNING {CONNECTION_COLUMNS}"
            ),
            self.workspace_id().as_uuid(),
            id.as_uuid(),
            Json(settings)
        )?;
        let row = row.ok_or_else(|| StoreError::not_found("connection", id))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Stores (or replaces) a sealed secret of a connection.
    pub async fn put_connection_secret(
        &self,
        id: ConnectionId,
        field: &str,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO connection_secrets (workspace_id, connection_id, field, sealed, version, updated_at) \
                 VALUES ($1, $2, $3, $4, 1, $5) \
                 ON CONFLICT (workspace_id, connection_id, field) DO UPDATE SET sealed = excluded.sealed, \
                   version = connection_secrets.version + 1, claimed_by = NULL, claimed_until = NULL, \
                   updated_at = excluded.updated_at",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(id.as_uuid())
            .bind(field)
            .bind(sealed)
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Starts an authorization of a connection: its state's digest and
    /// sealed PKCE verifier, until `expires_at`.
    pub async fn start_oauth(
        &self,
        id: ConnectionId,
        digest: &[u8],
        sealed_verifier: &[u8],
        redirect_uri: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO oauth_states (digest, workspace_id, connection_id, sealed_verifier, redirect_uri, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(digest)
            .bind(self.workspace_id().as_uuid())
            .bind(id.as_uuid())
            .bind(sealed_verifier)
            .bind(redirect_uri)
            .bind(expires_at)
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// A connection's runs, newest first.
    pub async fn sync_runs(
        &self,
        id: ConnectionId,
        limit: u32,
    ) -> Result<Vec<SyncRun>, StoreError> {
        select!(
            all,
            RunRow,
            read(self),
            &format!(
                "SELECT {RUN_COLUMNS} FROM sync_runs WHERE workspace_id = $1 AND connection_id = $2 \
                 ORDER BY started_at DESC, id DESC LIMIT $3"
            ),
            self.workspace_id().as_uuid(),
            id.as_uuid(),
            i64::from(limit)
        )
    }

    /// How a CRM sink's pushes stand.
    pub async fn push_counts(&self, id: ConnectionId) -> Result<PushCounts, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(String, i64)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT status, count(*) FROM crm_pushes WHERE workspace_id = $1 AND connection_id = $2 AND entity = 'lead' GROUP BY status")
                .bind(self.workspace_id().as_uuid())
                .bind(id.as_uuid())
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        let mut counts = PushCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or_default();
            match status.as_str() {
                "pending" => counts.pending = n,
                "pushed" => counts.pushed = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// Asks for a run of `kind` on a connection now (the "run now" button).
    pub async fn request_job(
        &self,
        connection: ConnectionId,
        kind: &str,
        max_attempts: u32,
    ) -> Result<Job, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let exists: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT id FROM connections WHERE workspace_id = $1 AND id = $2")
                .bind(self.workspace_id().as_uuid())
                .bind(connection.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        if exists.is_none() {
            return Err(StoreError::not_found("connection", connection));
        }
        let job = insert_job(
            &mut tx,
            self.workspace_id(),
            connection,
            kind,
            now(),
            max_attempts,
        )
        .await?
        .ok_or_else(|| StoreError::Conflict("that run was just requested".into()))?;
        tx.commit().await?;
        Ok(job)
    }

    /// The workspace's jobs on a connection, newest first (the last 200).
    pub async fn jobs(&self, connection: ConnectionId) -> Result<Vec<Job>, StoreError> {
        select!(
            all,
            JobRow,
            read(self),
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE workspace_id = $1 AND connection_id = $2 \
                 ORDER BY scheduled_for DESC, id DESC LIMIT 200"
            ),
            self.workspace_id().as_uuid(),
            connection.as_uuid()
        )
    }
}
