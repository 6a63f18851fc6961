//! Connections across workspaces: runs held by one worker at a time, status, sealed secrets, authorizations.

use chrono::{DateTime, Duration, Utc};
use onepane_domain::activity::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tables::connections::*;
use crate::tables::notifications::*;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

impl SystemStore {
    /// A connection in any workspace.
    pub async fn connection(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
    ) -> Result<Connection, StoreError> {
        select!(
            optional,
            ConnectionRow,
            read(self),
            &format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 AND id = $2"
            ),
            ws.as_uuid(),
            id.as_uuid()
        )?
        .ok_or_else(|| StoreError::not_found("connection", id))
    }

    /// A connection by its id alone (for operators).
    pub async fn find_connection(&self, id: ConnectionId) -> Result<Connection, StoreError> {
        select!(
            optional,
            ConnectionRow,
            read(self),
            &format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1"),
            id.as_uuid()
        )?
        .ok_or_else(|| StoreError::not_found("connection", id))
    }

    /// Every connection that runs on its schedule, across workspaces: not
    /// paused, not waiting for the partner to authorize it again, and (for
    /// a vendor's source) while the partner's link with that vendor is
    /// active: a paused or ended vendor's source is not scheduled.
    pub async fn active_connections(&self) -> Result<Vec<Connection>, StoreError> {
        select!(
            all,
            ConnectionRow,
            read(self),
            &format!(
                "SELECT {} FROM connections c WHERE c.status IN ('active', 'failing') \
                 AND (c.vendor_id IS NULL OR EXISTS (SELECT 1 FROM vendor_links l \
                      WHERE l.workspace_id = c.workspace_id AND l.vendor_id = c.vendor_id AND l.status = 'active')) \
                 ORDER BY c.workspace_id, c.id",
                crate::tables::prefixed("c", CONNECTION_COLUMNS)
            )
        )
    }

    /// Takes connection `id` for one run until `ttl` from now, as `owner`:
    /// when nobody holds it, the holder's lease ran out, or the holder is
    /// `steal_from` (a process known to be gone). Runs left `running` by an
    /// earlier holder are marked interrupted. Otherwise returns the holder
    /// and until when it holds the connection.
    pub async fn claim_connection_run(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        owner: &str,
        ttl: Duration,
        steal_from: Option<&str>,
    ) -> Result<Result<(), (String, DateTime<Utc>)>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let taken = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE connections SET run_owner = $3, run_until = $4 \
                 WHERE workspace_id = $1 AND id = $2 \
                   AND (run_owner IS NULL OR run_until <= $5 OR run_owner = $6)",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(owner)
            .bind(at + ttl)
            .bind(at)
            .bind(steal_from)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if taken == 0 {
            let holder: Option<(Option<String>, Option<DateTime<Utc>>)> = on_tx!(tx, c => {
                sqlx::query_as("SELECT run_owner, run_until FROM connections WHERE workspace_id = $1 AND id = $2")
                    .bind(ws.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(&mut *c)
                    .await?
            });
            tx.commit().await?;
            return match holder {
                None => Err(StoreError::not_found("connection", id)),
                Some((owner, until)) => Ok(Err((owner.unwrap_or_default(), until.unwrap_or(at)))),
            };
        }
        interrupt_runs(&mut tx, ws, id).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Marks the runs of connection `id` still running as interrupted (their
    /// run stopped part-way).
    pub async fn interrupt_connection_runs(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        interrupt_runs(&mut tx, ws, id).await?;
        tx.commit().await
    }

    /// Extends `owner`'s hold on connection `id`; false when it lost it.
    pub async fn renew_connection_run(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query("UPDATE connections SET run_until = $4 WHERE workspace_id = $1 AND id = $2 AND run_owner = $3")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(owner)
                .bind(now() + ttl)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Ends `owner`'s hold on connection `id`.
    pub async fn release_connection_run(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        owner: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("UPDATE connections SET run_owner = NULL, run_until = NULL WHERE workspace_id = $1 AND id = $2 AND run_owner = $3")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(owner)
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// Tells a workspace something (a sync brought new leads).
    pub async fn notify(&self, ws: WorkspaceId, new: &NewNotification) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        insert_notification(&mut tx, ws, new).await?;
        tx.commit().await
    }

    /// Sets a connection's status; a change to needs-reauthorization or
    /// failing notifies the partner.
    pub async fn set_connection_status(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        status: ConnectionStatus,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let changed = on_tx!(tx, c => {
            sqlx::query("UPDATE connections SET status = $3 WHERE workspace_id = $1 AND id = $2 AND status <> $3 AND status <> 'paused'")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(status.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if changed > 0 && status != ConnectionStatus::Active {
            let title = match status {
                ConnectionStatus::NeedsReauthorization => {
                    "A connection needs to be authorized again"
                }
                _ => "A connection is failing",
            };
            insert_notification(
                &mut tx,
                ws,
                &NewNotification {
                    kind: NotificationKind::ConnectionAttention,
                    vendor_id: None,
                    title: parse("title", title)?,
                    body: text::LongText::parse(reason).ok(),
                    link: Some(format!("/connections/{id}")),
                    args: serde_json::json!({ "status": status.as_str() }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A sealed secret of a connection and its version.
    pub async fn connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
    ) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<(Vec<u8>, i64)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT sealed, version FROM connection_secrets WHERE workspace_id = $1 AND connection_id = $2 AND field = $3")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(field)
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(row)
    }

    /// Claims the right to replace version `version` of a secret (0: none
    /// stored yet) for `ttl`; false when it moved on or another holds it.
    pub async fn claim_connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
        version: i64,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let claimed = on_tx!(tx, c => {
            if version == 0 {
                // Nothing stored yet: the first to insert the placeholder claims it.
                sqlx::query(
                    "INSERT INTO connection_secrets (workspace_id, connection_id, field, sealed, version, claimed_by, claimed_until, updated_at) \
                     VALUES ($1, $2, $3, $4, 0, $5, $6, $7) \
                     ON CONFLICT (workspace_id, connection_id, field) DO UPDATE SET claimed_by = excluded.claimed_by, \
                       claimed_until = excluded.claimed_until \
                     WHERE connection_secrets.version = 0 AND (connection_secrets.claimed_until IS NULL OR connection_secrets.claimed_until <= excluded.updated_at)",
                )
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(field)
                .bind(Vec::<u8>::new())
                .bind(owner)
                .bind(at + ttl)
                .bind(at)
                .execute(&mut *c)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "UPDATE connection_secrets SET claimed_by = $5, claimed_until = $6 \
                     WHERE workspace_id = $1 AND connection_id = $2 AND field = $3 AND version = $4 \
                       AND (claimed_until IS NULL OR claimed_until <= $7)",
                )
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(field)
                .bind(version)
                .bind(owner)
                .bind(at + ttl)
                .bind(at)
                .execute(&mut *c)
                .await?
                .rows_affected()
            }
        });
        tx.commit().await?;
        Ok(claimed == 1)
    }

    /// Stores a new sealed secret as the version after `version` and ends
    /// the claim. Returns the new version.
    pub async fn save_connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
        version: i64,
        sealed: &[u8],
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE connection_secrets SET sealed = $5, version = version + 1, claimed_by = NULL, \
                   claimed_until = NULL, updated_at = $6 \
                 WHERE workspace_id = $1 AND connection_id = $2 AND field = $3 AND version = $4",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(field)
            .bind(version)
            .bind(sealed)
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "the connection's {field} changed while it was being renewed"
            )));
        }
        tx.commit().await?;
        Ok(version + 1)
    }

    /// Ends a claim without a new secret.
    pub async fn release_connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE connection_secrets SET claimed_by = NULL, claimed_until = NULL \
                 WHERE workspace_id = $1 AND connection_id = $2 AND field = $3 AND version = $4",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(field)
            .bind(version)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Takes a pending authorization by its state's digest, once; `None`
    /// when unknown, used or expired.
    pub async fn take_oauth_state(&self, digest: &[u8]) -> Result<Option<OAuthState>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        type Row = (Uuid, Uuid, Vec<u8>, String, DateTime<Utc>);
        let row: Option<Row> = on_tx!(tx, c => {
            sqlx::query_as(
                "DELETE FROM oauth_states WHERE digest = $1 \
                 RETURNING workspace_id, connection_id, sealed_verifier, redirect_uri, expires_at",
            )
            .bind(digest)
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(row.filter(|r| r.4 > now()).map(
            |(ws, conn, sealed_verifier, redirect_uri, expires_at)| OAuthState {
                workspace_id: WorkspaceId::from_uuid(ws),
                connection_id: ConnectionId::from_uuid(conn),
                sealed_verifier,
                redirect_uri,
                expires_at,
            },
        ))
    }
}

async fn interrupt_runs(tx: &mut Tx, ws: WorkspaceId, id: ConnectionId) -> Result<(), StoreError> {
    on_tx!(tx, c => {
        sqlx::query(
            "UPDATE sync_runs SET status = 'interrupted', finished_at = $3, updated_at = $3 \
             WHERE workspace_id = $1 AND connection_id = $2 AND status = 'running'",
        )
        .bind(ws.as_uuid())
        .bind(id.as_uuid())
        .bind(now())
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}
