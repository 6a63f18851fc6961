//! The sync engine's journeys against fake vendors and CRM receivers that
//! are real HTTP servers on 127.0.0.1, on SQLite and PostgreSQL: a full
//! sync and its re-runs, convergence through random faults, resuming from
//! the failed page, duplicate and shuffled pages, CRM pushes from the
//! outbox, OAuth tokens, scheduled jobs across replicas, and the address
//! policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod faults;
mod jobs;
mod oauth;
mod push;
mod support;
mod sync;

/// Runs each listed async test function `fn(TestDb)` once per backend:
/// `sqlite::name` and `postgres::name`. PostgreSQL tests skip (saying why)
/// when no server is reachable, unless `ONEPANE_TEST_REQUIRE_ALL=1`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(onepane_store::testing::TestDb::sqlite().await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = onepane_store::testing::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}
