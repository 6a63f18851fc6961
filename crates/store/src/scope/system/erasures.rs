//! Erasures a CRM sink still has to carry out: a person erased in a
//! workspace is deleted from each of its CRMs whose API allows it. The
//! address is kept only until the CRM confirms (or refuses for good).

use chrono::{DateTime, Utc};
use onepane_domain::*;
use uuid::Uuid;

use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

/// One person to delete from one CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueErasure {
    /// The erasure's id.
    pub id: Uuid,
    /// The person's address.
    pub email: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// What became of an erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureResult {
    /// The CRM deleted the person (or never held them): the address goes.
    Done,
    /// Try again at this time.
    Retry {
        /// Why it failed.
        error: String,
        /// When to try again.
        at: DateTime<Utc>,
    },
    /// The CRM refused for good: the address goes too; the run reports it.
    Refused,
}

impl SystemStore {
    /// Up to `limit` erasures due for CRM sink `conn`, oldest first.
    pub async fn due_erasures(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> Result<Vec<DueErasure>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(Uuid, String, i32)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT id, email, attempts FROM crm_erasures \
                 WHERE workspace_id = $1 AND connection_id = $2 AND due_at <= $3 ORDER BY id LIMIT $4",
            )
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(now())
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(id, email, attempts)| DueErasure {
                id,
                email,
                attempts: u32::try_from(attempts).unwrap_or(0),
            })
            .collect())
    }

    /// Records what became of erasures: done or refused ones are deleted
    /// with their address; the others wait for their retry.
    pub async fn record_erasures(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        results: &[(Uuid, ErasureResult)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        for (id, result) in results {
            match result {
                ErasureResult::Done | ErasureResult::Refused => on_tx!(tx, c => {
                    sqlx::query(
                        "DELETE FROM crm_erasures WHERE workspace_id = $1 AND connection_id = $2 AND id = $3",
                    )
                    .bind(ws.as_uuid())
                    .bind(conn.as_uuid())
                    .bind(*id)
                    .execute(&mut *c)
                    .await?;
                }),
                ErasureResult::Retry { error, at } => on_tx!(tx, c => {
                    sqlx::query(
                        "UPDATE crm_erasures SET attempts = attempts + 1, due_at = $4, last_error = $5 \
                         WHERE workspace_id = $1 AND connection_id = $2 AND id = $3",
                    )
                    .bind(ws.as_uuid())
                    .bind(conn.as_uuid())
                    .bind(*id)
                    .bind(*at)
                    .bind(error)
                    .execute(&mut *c)
                    .await?;
                }),
            }
        }
        tx.commit().await
    }

    /// Lets go of the erasures of a CRM whose API cannot delete a person
    /// (it got the erased lead on its push); returns how many.
    pub async fn drop_erasures(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query("DELETE FROM crm_erasures WHERE workspace_id = $1 AND connection_id = $2")
                .bind(ws.as_uuid())
                .bind(conn.as_uuid())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n)
    }
}
