//! One async test body run on each backend, as `name::sqlite` and
//! `name::postgres` ([`on_both_backends!`](crate::on_both_backends)).
//!
//! The PostgreSQL half runs when the crate was built with a database to
//! test against (`ONEPANE_TEST_DATABASE_URL`, or `ONEPANE_TEST_REQUIRE_ALL=1`
//! with the default URL): the build script then sets the
//! `onepane_test_postgres` cfg. Without one the runner reports those tests
//! as ignored, naming the variable, rather than passing them unrun.

use std::future::Future;

use super::TestDb;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// What a test body takes, opened on a backend: `None` skips the test
/// (saying why), as [`TestDb::postgres`] does when no server answers.
pub trait OnBackend: Sized {
    /// Opens the fixture on `backend`.
    fn open(backend: Backend) -> impl Future<Output = Option<Self>>;
}

impl OnBackend for Backend {
    /// The backend itself, for harnesses that build their own world on it.
    async fn open(backend: Backend) -> Option<Self> {
        Some(backend)
    }
}

impl OnBackend for TestDb {
    async fn open(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite().await),
            Backend::Postgres => TestDb::postgres().await,
        }
    }
}

/// Runs `test` on what [`OnBackend`] opens on `backend`, if it opens.
pub async fn run_on<T, F>(backend: Backend, test: impl FnOnce(T) -> F)
where
    T: OnBackend,
    F: Future<Output = ()>,
{
    if let Some(fixture) = T::open(backend).await {
        test(fixture).await;
    }
}

/// Runs each listed async test function once per backend, as
/// `name::sqlite` and `name::postgres`. A function takes what
/// [`OnBackend`] opens: a [`TestDb`], or the [`Backend`] itself.
/// `multi_thread:` before the names runs them on two worker threads.
///
/// The crate using it needs the `onepane_test_postgres` cfg from a build
/// script (see `crates/store/build.rs`).
#[macro_export]
macro_rules! on_both_backends {
    (multi_thread: $($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(
            @tests [tokio::test(flavor = "multi_thread", worker_threads = 2)] $($name),+
        );
    };
    ($($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@tests [tokio::test] $($name),+);
    };
    (@tests [$test:meta] $($name:ident),+) => {$(
        mod $name {
            #[$test]
            async fn sqlite() {
                $crate::testing::run_on($crate::testing::Backend::Sqlite, super::$name).await;
            }

            #[$test]
            #[cfg_attr(
                not(onepane_test_postgres),
                ignore = "set ONEPANE_TEST_DATABASE_URL to run the PostgreSQL tests"
            )]
            async fn postgres() {
                $crate::testing::run_on($crate::testing::Backend::Postgres, super::$name).await;
            }
        }
    )+};
}
