//! Durable jobs: scheduled or requested work on a connection (a sync run, a
//! push to a CRM), claimed by workers with a lease.
//!
//! - A job per (connection, kind, scheduled tick) is unique: every replica
//!   that sees the tick may enqueue it; one row results.
//! - A worker claims a due job for a lease and renews it while it works.
//!   PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so workers never wait
//!   on each other; SQLite has one writer at a time anyway.
//! - A job whose lease ran out (its worker died) is due again and taken over.
//! - A failure is retried at the time the worker names, until the last
//!   attempt; then the job is dead, visible, and can be retried by hand.

use chrono::{DateTime, Duration, Utc};
use onepane_domain::{ConnectionId, JobId, WorkspaceId};
use uuid::Uuid;

use crate::access::SystemStore;
use crate::partner::PartnerStore;
use crate::rows::parse;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting until `run_after`.
    Pending,
    /// Leased to a worker.
    Running,
    /// Done.
    Succeeded,
    /// Every attempt failed; waits for a retry by hand.
    Dead,
}

impl JobStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
        }
    }
}

impl std::str::FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(JobStatus::Pending),
            "running" => Ok(JobStatus::Running),
            "succeeded" => Ok(JobStatus::Succeeded),
            "dead" => Ok(JobStatus::Dead),
            other => Err(format!("`{other}` is not a job status")),
        }
    }
}

/// A job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The connection it works on.
    pub connection_id: ConnectionId,
    /// What it does (`sync`, `push`, ...).
    pub kind: String,
    /// The tick it was scheduled for (or the time it was asked for).
    pub scheduled_for: DateTime<Utc>,
    /// Where it stands.
    pub status: JobStatus,
    /// Attempts started.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When it is due.
    pub run_after: DateTime<Utc>,
    /// The worker holding it.
    pub lease_owner: Option<String>,
    /// When that worker's lease runs out.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

const JOB_COLUMNS: &str = "workspace_id, id, connection_id, kind, scheduled_for, status, attempts, \
    max_attempts, run_after, lease_owner, lease_expires_at, last_error";

#[derive(sqlx::FromRow)]
struct JobRow {
    workspace_id: Uuid,
    id: Uuid,
    connection_id: Uuid,
    kind: String,
    scheduled_for: DateTime<Utc>,
    status: String,
    attempts: i32,
    max_attempts: i32,
    run_after: DateTime<Utc>,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let count = |n: i32| u32::try_from(n).map_err(|e| StoreError::corrupt("job", e));
        Ok(Job {
            id: JobId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            connection_id: ConnectionId::from_uuid(r.connection_id),
            kind: r.kind,
            scheduled_for: r.scheduled_for,
            status: parse("job", &r.status)?,
            attempts: count(r.attempts)?,
            max_attempts: count(r.max_attempts)?,
            run_after: r.run_after,
            lease_owner: r.lease_owner,
            lease_expires_at: r.lease_expires_at,
            last_error: r.last_error,
        })
    }
}

/// Stored times keep microseconds; a tick must compare equal to itself.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

async fn insert_job(
    tx: &mut Tx,
    ws: WorkspaceId,
    connection: ConnectionId,
    kind: &str,
    scheduled_for: DateTime<Utc>,
    max_attempts: u32,
) -> Result<Option<Job>, StoreError> {
    let at = now();
    let max = i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX);
    let row: Option<JobRow> = on_tx!(*tx, c => {
        sqlx::query_as(&format!(
            "INSERT INTO jobs ({JOB_COLUMNS}, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, NULL, NULL, NULL, $7, $7) \
             ON CONFLICT (workspace_id, connection_id, kind, scheduled_for) DO NOTHING \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(ws.as_uuid())
        .bind(JobId::new().as_uuid())
        .bind(connection.as_uuid())
        .bind(kind)
        .bind(micros(scheduled_for))
        .bind(max)
        .bind(at)
        .fetch_optional(&mut *c)
        .await?
    });
    row.map(Job::try_from).transpose()
}

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
        let lock = match &tx {
            Tx::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Tx::Sqlite(..) => "",
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
}

impl PartnerStore {
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
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<JobRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE workspace_id = $1 AND connection_id = $2 \
                 ORDER BY scheduled_for DESC, id DESC LIMIT 200"
            ))
            .bind(self.workspace_id().as_uuid())
            .bind(connection.as_uuid())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter().map(Job::try_from).collect()
    }
}

impl SystemStore {
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
        let row: Option<JobRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE jobs SET status = 'pending', attempts = 0, run_after = $3, updated_at = $3 \
                 WHERE workspace_id = $1 AND id = $2 AND connection_id = $4 AND status = 'dead' \
                 RETURNING {JOB_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(at)
            .bind(connection.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
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
        row.try_into()
    }
}
