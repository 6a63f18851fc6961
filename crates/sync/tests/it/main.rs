//! The sync engine's journeys against fake vendors and CRM receivers that
//! are real HTTP servers on 127.0.0.1, on SQLite and PostgreSQL: a full
//! sync and its re-runs, convergence through random faults, resuming from
//! the failed page, duplicate and shuffled pages, CRM pushes from the
//! outbox, OAuth tokens, scheduled jobs across replicas, and the address
//! policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod bridge;
mod faults;
mod jobs;
mod oauth;
mod push;
mod support;
mod sync;

/// Runs each listed async test function `fn(TestDb)` once per backend, on
/// two worker threads (the engine runs work beside the test):
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        onepane_store::on_both_backends!(multi_thread: $($name),+);
    };
}
