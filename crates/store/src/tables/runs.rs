//! Sync runs (and push runs) of a connection.

use chrono::{DateTime, Utc};
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;

/// A sync run (or a push run) of a connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncRun {
    /// Its id.
    pub id: Uuid,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The connection.
    pub connection_id: ConnectionId,
    /// The job it runs for, if any.
    pub job_id: Option<JobId>,
    /// `sync` or `push`.
    pub kind: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records read.
    pub read: u64,
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Records unchanged.
    pub unchanged: u64,
    /// Records deleted.
    pub deleted: u64,
    /// Records that failed.
    pub failed: u64,
    /// Records in all, when the source says.
    pub total: Option<u64>,
    /// What went wrong (the first 50 messages).
    pub errors: Vec<String>,
}

/// The most error messages a run keeps.
pub const RUN_ERRORS_KEPT: usize = 50;

pub(crate) const RUN_COLUMNS: &str = "workspace_id, id, connection_id, job_id, kind, status, started_at, finished_at, \
    read, created, updated, unchanged, deleted, failed, total, errors";

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    workspace_id: Uuid,
    id: Uuid,
    connection_id: Uuid,
    job_id: Option<Uuid>,
    kind: String,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    read: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    deleted: i64,
    failed: i64,
    total: Option<i64>,
    errors: Json<Vec<String>>,
}

impl TryFrom<RunRow> for SyncRun {
    type Error = StoreError;
    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        let n = |v: i64| u64::try_from(v).unwrap_or_default();
        Ok(SyncRun {
            id: r.id,
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            connection_id: ConnectionId::from_uuid(r.connection_id),
            job_id: r.job_id.map(JobId::from_uuid),
            kind: r.kind,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            read: n(r.read),
            created: n(r.created),
            updated: n(r.updated),
            unchanged: n(r.unchanged),
            deleted: n(r.deleted),
            failed: n(r.failed),
            total: r.total.map(n),
            errors: r.errors.0,
        })
    }
}

/// A count as the databases' signed 64-bit integer, saturating.
pub(crate) fn db_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
