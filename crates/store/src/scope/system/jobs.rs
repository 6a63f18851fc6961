//! Durable jobs across workspaces: enqueued on schedule, claimed with a lease, retried.

use chrono::{DateTime, Duration, Utc};
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::select;
use crate::tables::jobs::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

impl SystemStore {
    /// Enqueues the job for a scheduled tick; `None` when another replica
    /// (or an earlier call) already did.
    pub async fn enqueue_job(
        &self,
        ws: WorkspaceId,
        connection: ConnectionId,
        kind: &str,
        scheduled_for: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<Option<Job>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let job = insert_job(&mut tx, ws, connection, kind, scheduled_for, max_attempts).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Claims the job due longest for `owner` for `lease`: a pending job
    /// past its `run_after`, or a running one whose lease ran out. A job
    /// whose lease ran out on its last attempt is dead instead.
    pub async fn claim_job(&self, owner: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE jobs SET status = 'dead', lease_owner = NULL, lease_expires_at = NULL, \
                 last_error = 'the worker stopped renewing its lease on the last attempt', updated_at = $1 \
                 WHERE status = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts",
            )
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        let lock = if tx.is_sqlite() {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        let due: Option<(Uuid, Uuid)> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT workspace_id, id FROM jobs \
                 WHERE (status = 'pending' AND run_after <= $1) \
                    OR (status = 'running' AND lease_expires_at <= $1) \
                 ORDER BY run_after, id LIMIT 1{lock}"
            ))
            .bind(at)
            .fetch_optional(&mut *c)
            .await?
        });
        let Some((ws, id)) = due else {
            tx.commit().await?;
            return Ok(None);
        };
        let row: JobRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $3, \
                 lease_expires_at = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2 \
                 RETURNING {JOB_COLUMNS}"
            ))
            .bind(ws)
            .bind(id)
            .bind(owner)
            .bind(at + lease)
            .bind(at)
            .fetch_one(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.try_into().map(Some)
    }

    /// Extends `owner`'s lease; false when the job is no longer its own
    /// (the lease ran out and another worker took it over).
    pub async fn renew_job(
        &self,
        job: &Job,
        owner: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let at = now();
        self.update_own(
            job,
            owner,
            "lease_expires_at = $4, updated_at = $5, last_error = COALESCE($6, last_error)",
            at + lease,
            at,
            None,
        )
        .await
    }

    /// Marks `owner`'s job done; false when it is no longer its own.
    pub async fn complete_job(&self, job: &Job, owner: &str) -> Result<bool, StoreError> {
        let at = now();
        self.update_own(
            job,
            owner,
            "status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, run_after = $4, \
             updated_at = $5, last_error = COALESCE($6, last_error)",
            at,
            at,
            None,
        )
        .await
    }

    /// Records a failed attempt: due again at `retry_at`, or dead when it
    /// was the last attempt (or `retry_at` is `None`).
    pub async fn fail_job(
        &self,
        job: &Job,
        owner: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let at = now();
        let last = job.attempts >= job.max_attempts;
        let (set, when) = match retry_at {
            Some(when) if !last => (
                "status = 'pending', lease_owner = NULL, lease_expires_at = NULL, run_after = $4, \
                 updated_at = $5, last_error = $6",
                when,
            ),
            _ => (
                "status = 'dead', lease_owner = NULL, lease_expires_at = NULL, run_after = $4, \
                 updated_at = $5, last_error = $6",
                at,
            ),
        };
        self.update_own(job, owner, set, when, at, Some(error))
            .await
    }

    /// Puts a job back to wait until `run_after` without counting the
    /// attempt (its connection was busy with another run).
    pub async fn defer_job(
        &self,
        job: &Job,
        owner: &str,
        run_after: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_own(
            job,
            owner,
            "status = 'pending', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL, \
             run_after = $4, updated_at = $5, last_error = COALESCE($6, last_error)",
            run_after,
            now(),
            None,
        )
        .await
    }

    async fn update_own(
        &self,
        job: &Job,
        owner: &str,
        set: &str,
        when: DateTime<Utc>,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query(&format!(
                "UPDATE jobs SET {set} WHERE workspace_id = $1 AND id = $2 AND lease_owner = $3 \
                 AND status = 'running'"
            ))
            .bind(job.workspace_id.as_uuid())
            .bind(job.id.as_uuid())
            .bind(owner)
            .bind(when)
            .bind(at)
            .bind(error)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Puts a dead job of `connection` back in line now, its attempts
    /// counted afresh.
    pub async fn retry_dead_job(
        &self,
        ws: WorkspaceId,
        connection: ConnectionId,
        id: JobId,
    ) -> Result<Job, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let row: Option<Job> = select!(
            optional,
            JobRow,
            tx,
            &format!(
                "UPDATE jobs SET status = 'pending', attempts = 0, run_after = $3, updated_at = $3 \
                 WHERE workspace_id = $1 AND id = $2 AND connection_id = $4 AND status = 'dead' \
                 RETURNING {JOB_COLUMNS}"
            ),
            ws.as_uuid(),
            id.as_uuid(),
            at,
            connection.as_uuid()
        )?;
        let Some(row) = row else {
            let exists: Option<Uuid> = on_tx!(tx, c => {
                sqlx::query_scalar("SELECT id FROM jobs WHERE workspace_id = $1 AND id = $2 AND connection_id = $3")
                    .bind(ws.as_uuid())
                    .bind(id.as_uuid())
                    .bind(connection.as_uuid())
                    .fetch_optional(&mut *c)
                    .await?
            });
            tx.commit().await?;
            return Err(match exists {
                None => StoreError::not_found("job", id),
                Some(_) => StoreError::Rule(format!(
                    "job {id} is not dead; only a dead job can be retried"
                )),
            });
        };
        tx.commit().await?;
        Ok(row)
    }
}
