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

use chrono::{DateTime, Utc};
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tx::Tx;
use crate::{StoreError, micros, now};

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

pub(crate) const JOB_COLUMNS: &str = "workspace_id, id, connection_id, kind, scheduled_for, status, attempts, \
    max_attempts, run_after, lease_owner, lease_expires_at, last_error";

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
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

/// Enqueues a job in `tx`; `None` when the same job (connection, kind and
/// tick) is already queued.
pub(crate) async fn insert_job(
    tx: &mut Tx,
    ws: WorkspaceId,
    connection: ConnectionId,
    kind: &str,
    scheduled_for: DateTime<Utc>,
    max_attempts: u32,
) -> Result<Option<Job>, StoreError> {
    let at = now();
    let max = i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX);
    let row: Option<Job> = select!(
        optional,
        JobRow,
        *tx,
        &format!(
            "INSERT INTO jobs ({JOB_COLUMNS}, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, NULL, NULL, NULL, $7, $7) \
             ON CONFLICT (workspace_id, connection_id, kind, scheduled_for) DO NOTHING \
             RETURNING {JOB_COLUMNS}"
        ),
        ws.as_uuid(),
        JobId::new().as_uuid(),
        connection.as_uuid(),
        kind,
        micros(scheduled_for),
        max,
        at
    )?;
    Ok(row)
}
