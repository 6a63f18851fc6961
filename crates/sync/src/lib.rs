//! The sync engine: pulls vendor sources into workspaces and pushes
//! workspaces' leads to their CRM sinks, as durable jobs.
//!
//! - [`Scheduler`]: tokio-cron-scheduler runs each connection's cron
//!   schedule and enqueues a job per (connection, tick); the store makes
//!   that job unique, so any number of replicas enqueue it once.
//! - [`Worker`]s claim due jobs with a lease, renew it while they work, and
//!   finish, retry with backoff, or leave the job dead after its last
//!   attempt. A job whose worker died is taken over when its lease ends.
//! - [`Engine::sync_source`] reads each stream page by page and commits
//!   every page with the stream's new position in one transaction, skipping
//!   records whose content hash has not changed; after a complete pass of a
//!   full-refresh stream, what the source no longer has is deleted.
//! - [`Engine::push_sink`] moves the CRM outbox into the sink's pushes and
//!   sends them (leads, then deal registrations where the CRM takes them) in
//!   batches of the sink's size, recording each record's result.
//! - [`Deliverer`] sends what partners submit to vendors (deal
//!   registrations, answers to leads) to each vendor's own system where a
//!   connection reaches it, from the outbox the submission wrote.

mod deliver;
mod engine;
mod outbox;
mod registry;
mod scheduler;
mod tokens;
mod vault;

pub use deliver::{Deliverer, RegistrationMailer};
pub use engine::{Engine, EngineConfig, ImportError, Progress, RunError, this_host};
pub use registry::{Connector, Registry, SinkSecrets};
pub use scheduler::{
    DEFAULT_SINK_SCHEDULE, DEFAULT_SOURCE_SCHEDULE, JOB_ATTEMPTS, ScheduleError, Scheduler, Worker,
    check_schedule, cron_for,
};
pub use vault::{Vault, secret_context};
