//! Scoped transactions: the only way the store reaches tenant rows.

use onepane_domain::{VendorId, WorkspaceId};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::{Pool, Store, StoreError};

/// How long an SQLite writer waits for its turn (as long as SQLite's own
/// busy timeout).
const SQLITE_WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Who a unit of work acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Partner(WorkspaceId),
    Vendor(VendorId),
    Operator,
    /// The server's own work around tenants: checking credentials, loading
    /// signing keys, delivering webhooks, expiring idempotency records.
    System,
}

/// Whether the unit of work writes. SQLite takes the write lock up front
/// for writers (`BEGIN IMMEDIATE`), so two writers wait for each other
/// instead of failing on a lock upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// A transaction on either backend, scoped. An SQLite writer holds the
/// process's write turn until it commits or is dropped.
pub(crate) enum Tx {
    Sqlite(
        Transaction<'static, Sqlite>,
        Option<tokio::sync::OwnedMutexGuard<()>>,
    ),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the transaction's connection and `Db`
/// to the backend type. The body is type-checked once per backend, so one
/// query text serves both (`$1` placeholders work on SQLite too).
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut $tx {
            $crate::tx::Tx::Sqlite(t, _) => {
                #[allow(unused)]
                type Db = ::sqlx::Sqlite;
                let $c = &mut **t;
                $body
            }
            $crate::tx::Tx::Postgres(t) => {
                #[allow(unused)]
                type Db = ::sqlx::Postgres;
                let $c = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Tx {
    /// Commits the transaction (and releases SQLite's writer turn).
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            // The write turn passes on once the commit is done.
            Tx::Sqlite(t, _turn) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

impl Store {
    /// Begins a transaction acting for `scope`.
    pub(crate) async fn begin(&self, scope: Scope, access: Access) -> Result<Tx, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => match access {
                Access::Read => Ok(Tx::Sqlite(p.begin().await?, None)),
                Access::Write => {
                    // Writers queue here, in order, rather than in SQLite's
                    // busy handler, which sleeps and retries (up to 100 ms a
                    // nap) and so gives a loaded server long tail latencies.
                    let turn = tokio::time::timeout(
                        SQLITE_WRITE_WAIT,
                        std::sync::Arc::clone(&self.sqlite_writer).lock_owned(),
                    )
                    .await
                    .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
                    let t = p.begin_with("BEGIN IMMEDIATE").await?;
                    Ok(Tx::Sqlite(t, Some(turn)))
                }
            },
            Pool::Postgres(p) => {
                let mut t = p.begin().await?;
                let (ws, vendor, operator, system) = match scope {
                    Scope::Partner(w) => (w.to_string(), String::new(), "", ""),
                    Scope::Vendor(v) => (String::new(), v.to_string(), "", ""),
                    Scope::Operator => (String::new(), String::new(), "on", ""),
                    Scope::System => (String::new(), String::new(), "", "on"),
                };
                // All four, every time, transaction-local: nothing carries
                // over to the next user of this pooled connection.
                sqlx::query(
                    "SELECT set_config('onepane.workspace_id', $1, true), \
                            set_config('onepane.vendor_id', $2, true), \
                            set_config('onepane.operator', $3, true), \
                            set_config('onepane.system', $4, true)",
                )
                .bind(ws)
                .bind(vendor)
                .bind(operator)
                .bind(system)
                .execute(&mut *t)
                .await?;
                Ok(Tx::Postgres(t))
            }
        }
    }
}
