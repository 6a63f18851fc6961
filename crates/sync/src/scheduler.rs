//! Scheduled ticks become jobs; workers run them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use onepane_domain::ConnectionId;
use onepane_domain::workspace::Connection;
use onepane_store::{Job, Store, StoreError};
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
use uuid::Uuid;

use crate::engine::{Engine, RunError};

/// A source's schedule when it names none: every 15 minutes.
pub const DEFAULT_SOURCE_SCHEDULE: &str = "0 */15 * * * *";
/// A CRM sink's schedule when it names none: every minute.
pub const DEFAULT_SINK_SCHEDULE: &str = "0 * * * * *";

/// Attempts per job before it is dead.
pub const JOB_ATTEMPTS: u32 = 5;

/// The six-field (seconds first) cron expression a connection runs on:
/// its own (a five-field expression gets second 0), else the default.
pub fn cron_for(conn: &Connection) -> String {
    match conn.schedule.as_deref().map(str::trim) {
        Some(s) if s.split_whitespace().count() == 5 => format!("0 {s}"),
        Some(s) if !s.is_empty() => s.to_owned(),
        _ if conn.target.vendor_id().is_some() => DEFAULT_SOURCE_SCHEDULE.to_owned(),
        _ => DEFAULT_SINK_SCHEDULE.to_owned(),
    }
}

/// Checks a six-field cron expression as the scheduler will read it.
pub fn check_schedule(expr: &str) -> Result<(), String> {
    CronJob::new_async(expr, |_, _| Box::pin(async {}))
        .map(drop)
        .map_err(|e| format!("not a cron expression the scheduler reads: {e}"))
}

/// The tick a firing belongs to: the whole second it was due. A cron job
/// never fires early, but tokio-cron-scheduler polls every 500 ms, so each
/// replica fires anywhere in the half second (plus dispatch) after the
/// tick. Truncating names the same tick on every replica, and the store
/// keeps one job; rounding to the nearest second put a replica that fired
/// 500 ms late on the next second, and so enqueued the tick twice.
fn tick_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::seconds(1)).unwrap_or(at)
}

/// Keeps one cron job per connection in tokio-cron-scheduler, each
/// enqueueing that connection's job at its ticks; [`Scheduler::reload`]
/// follows connections created, changed, paused or removed.
pub struct Scheduler {
    store: Store,
    cron: JobScheduler,
    jobs: Mutex<HashMap<ConnectionId, (String, Uuid)>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").finish_non_exhaustive()
    }
}

/// Why the scheduler could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cron scheduler refused.
    #[error("the scheduler: {0}")]
    Cron(#[from] tokio_cron_scheduler::JobSchedulerError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Scheduler {
    /// Starts the cron scheduler (with no connections yet; call
    /// [`Scheduler::reload`]).
    pub async fn start(store: Store) -> Result<Arc<Self>, ScheduleError> {
        let cron = JobScheduler::new().await?;
        cron.start().await?;
        Ok(Arc::new(Self {
            store,
            cron,
            jobs: Mutex::new(HashMap::new()),
        }))
    }

    /// Brings the cron jobs in line with the connections. A connection
    /// whose schedule does not parse is skipped with a warning.
    pub async fn reload(&self) -> Result<(), ScheduleError> {
        let connections = self.store.system().active_connections().await?;
        let mut jobs = self.jobs.lock().await;
        let mut keep = HashMap::new();
        for conn in connections {
            let expr = cron_for(&conn);
            if let Some((old, id)) = jobs.remove(&conn.id) {
                if old == expr {
                    keep.insert(conn.id, (old, id));
                    continue;
                }
                self.cron.remove(&id).await?;
            }
            let store = self.store.clone();
            let (ws, id, kind) = (
                conn.workspace_id,
                conn.id,
                if conn.target.vendor_id().is_some() {
                    "sync"
                } else {
                    "push"
                },
            );
            let job = CronJob::new_async(expr.as_str(), move |_, _| {
                let store = store.clone();
                Box::pin(async move {
                    let tick = tick_of(Utc::now());
                    match store
                        .system()
                        .enqueue_job(ws, id, kind, tick, JOB_ATTEMPTS)
                        .await
                    {
                        Ok(Some(job)) => {
                            tracing::debug!(job = %job.id, connection = %id, %tick, "enqueued")
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(connection = %id, error = %e, "cannot enqueue a scheduled job")
                        }
                    }
                })
            });
            match job {
                Ok(job) => {
                    let uuid = self.cron.add(job).await?;
                    keep.insert(conn.id, (expr, uuid));
                }
                Err(e) => {
                    tracing::warn!(connection = %conn.id, schedule = %expr, error = %e, "the schedule does not parse");
                }
            }
        }
        // What is left was removed or paused.
        for (_, (_, uuid)) in jobs.drain() {
            self.cron.remove(&uuid).await?;
        }
        *jobs = keep;
        Ok(())
    }

    /// When the audit log is pruned: daily at 03:17 UTC.
    pub const AUDIT_PRUNE: &'static str = "0 17 3 * * *";

    /// Prunes the audit log daily ([`Self::AUDIT_PRUNE`]) to events of the
    /// last `keep_days` days. Several servers doing it is harmless.
    pub async fn prune_audit_daily(&self, keep_days: u32) -> Result<(), ScheduleError> {
        let store = self.store.clone();
        let job = CronJob::new_async(Self::AUDIT_PRUNE, move |_, _| {
            let store = store.clone();
            Box::pin(async move {
                match store.system().prune_audit(keep_days).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, keep_days, "pruned the audit log"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune the audit log"),
                }
            })
        })?;
        self.cron.add(job).await?;
        Ok(())
    }

    /// How many connections are scheduled.
    pub async fn len(&self) -> usize {
        self.jobs.lock().await.len()
    }

    /// Whether no connection is scheduled.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Stops the cron scheduler.
    pub async fn shutdown(&self) -> Result<(), ScheduleError> {
        let mut cron = self.cron.clone();
        cron.shutdown().await?;
        Ok(())
    }
}

/// What one turn of a worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Ran a job (to an end, a failure or a lost lease).
    Ran,
    /// No job was due.
    Idle,
    /// Stopped for shutdown, its job handed back.
    Stopped,
}

/// Claims and runs jobs.
#[derive(Debug, Clone)]
pub struct Worker {
    engine: Engine,
    owner: String,
    lease: Duration,
    retry_base: Duration,
}

impl Worker {
    /// A worker named `owner` (unique per process and worker) with `lease`.
    pub fn new(engine: Engine, owner: String, lease: Duration) -> Self {
        Self {
            engine,
            owner,
            lease,
            retry_base: Duration::from_secs(30),
        }
    }

    /// The first wait before a failed job is retried (doubling per attempt).
    pub fn with_retry_base(mut self, base: Duration) -> Self {
        self.retry_base = base;
        self
    }

    /// Claims one due job and runs it; `false` when none was due.
    pub async fn run_one(&self) -> Result<bool, StoreError> {
        let step = self
            .run_one_until(std::pin::pin!(std::future::pending()))
            .await?;
        Ok(step == Step::Ran)
    }

    /// Claims one due job and runs it until `stop` completes. A job
    /// stopped part-way is handed back at once, its attempt not counted,
    /// and its connection freed: another worker goes on with it without
    /// waiting for the lease to run out.
    async fn run_one_until(
        &self,
        stop: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Step, StoreError> {
        let system = self.engine.store().system();
        let lease = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60));
        let Some(job) = system.claim_job(&self.owner, lease).await? else {
            return Ok(Step::Idle);
        };
        tracing::info!(job = %job.id, connection = %job.connection_id, kind = %job.kind, attempt = job.attempts, "running");
        let outcome = {
            use tracing::Instrument as _;
            // One trace per job: its store work and its requests to the
            // vendor or CRM nest under this span.
            let span = tracing::info_span!(
                "sync.job",
                job = %job.id,
                connection = %job.connection_id,
                kind = %job.kind,
                attempt = job.attempts
            );
            let work = self.engine.run_job_until(&job, &(), stop).instrument(span);
            let renew = self.renew(&job, lease);
            tokio::select! {
                outcome = work => Some(outcome),
                () = renew => None,
            }
        };
        match outcome {
            // The lease was lost: another worker owns the job now.
            None => tracing::warn!(job = %job.id, "lost the job's lease; stopped"),
            Some(Err(RunError::Interrupted)) => {
                tracing::info!(job = %job.id, "stopped for shutdown; handed back");
                system.defer_job(&job, &self.owner, Utc::now()).await?;
                return Ok(Step::Stopped);
            }
            Some(Ok(run)) => {
                tracing::info!(job = %job.id, read = run.read, created = run.created, updated = run.updated,
                    unchanged = run.unchanged, deleted = run.deleted, failed = run.failed, "done");
                system.complete_job(&job, &self.owner).await?;
            }
            Some(Err(RunError::Busy { holder, until })) => {
                // The run under way covers this one's work; this one waits
                // for it to end, without spending an attempt.
                let after = until.max(Utc::now()) + chrono::Duration::seconds(1);
                tracing::info!(job = %job.id, %holder, "the connection is busy; waiting");
                system.defer_job(&job, &self.owner, after).await?;
            }
            Some(Err(e)) => {
                let retry_at = match &e {
                    RunError::Retry { after, .. } => Some(Utc::now() + self.backoff(&job, *after)),
                    RunError::Reauthorize(_)
                    | RunError::Fatal(_)
                    | RunError::Busy { .. }
                    | RunError::Interrupted => None,
                };
                tracing::warn!(job = %job.id, error = %e, retry = retry_at.is_some(), "failed");
                system
                    .fail_job(&job, &self.owner, &e.to_string(), retry_at)
                    .await?;
            }
        }
        Ok(Step::Ran)
    }

    fn backoff(&self, job: &Job, asked: Option<Duration>) -> chrono::Duration {
        let base = self.retry_base.as_millis();
        let wait = base
            .saturating_mul(1u128 << job.attempts.min(16))
            .min(3_600_000);
        let wait = Duration::from_millis(u64::try_from(wait).unwrap_or(3_600_000));
        chrono::Duration::from_std(asked.map_or(wait, |a| a.max(wait))).unwrap_or_default()
    }

    /// Renews the lease every third of it; returns when it is lost.
    async fn renew(&self, job: &Job, lease: chrono::Duration) {
        let system = self.engine.store().system();
        loop {
            tokio::time::sleep(self.lease / 3).await;
            match system.renew_job(job, &self.owner, lease).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(job = %job.id, error = %e, "cannot renew the lease"),
            }
        }
    }

    /// Runs jobs until `shutdown` resolves, polling every `idle` when none
    /// is due. A job running when it resolves is handed back at once.
    pub async fn run(self, idle: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.run_one_until(shutdown.as_mut()).await {
                Ok(Step::Ran) => continue,
                Ok(Step::Stopped) => return,
                Ok(Step::Idle) => {}
                Err(e) => tracing::warn!(error = %e, "cannot claim a job"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_firing_up_to_a_poll_late_name_the_same_tick() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let due = at("2026-01-01T12:15:00Z");
        // One replica's 500 ms poll lands just after the tick, another's
        // just before its next poll, plus a little dispatch delay.
        for fired in [
            "2026-01-01T12:15:00.004Z",
            "2026-01-01T12:15:00.499Z",
            "2026-01-01T12:15:00.530Z",
            "2026-01-01T12:15:00.900Z",
        ] {
            assert_eq!(tick_of(at(fired)), due, "fired at {fired}");
        }
    }
}
