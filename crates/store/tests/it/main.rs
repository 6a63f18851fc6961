//! The store's integration tests: one conformance suite run against SQLite
//! and PostgreSQL, segregation property tests on both, and PostgreSQL's
//! row-level security attacked with raw SQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod api_access;
mod conformance;
mod jobs;
mod rls;
mod segregation;
mod sso;

/// Runs each listed async test function `fn(TestDb)` once per backend:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(onepane_store::testing::TestDb::sqlite().await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(db) = onepane_store::testing::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}
