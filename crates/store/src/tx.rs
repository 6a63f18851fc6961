//! Scoped transactions: the only way the store reaches tenant rows.
//!
//! A unit of work is normally a transaction of its own. Inside a
//! [`KeyedWrite`](crate::KeyedWrite) (a write sent with an
//! `Idempotency-Key`) every unit of work the request does is instead a
//! savepoint of one transaction, the one that also keeps the key's
//! response: the request's writes and its idempotency record commit
//! together or not at all.

use std::sync::Arc;

use onepane_domain::{VendorId, WorkspaceId};
use sqlx::{Postgres, Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{Pool, Store, StoreError};

/// How long an SQLite writer waits for its turn (as long as SQLite's own
/// busy timeout), and a unit of work for the request's one transaction.
const SQLITE_WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The savepoint a unit of work inside a request's transaction runs in
/// (one at a time, so one name serves).
const UNIT: &str = "onepane_unit";

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

impl Scope {
    /// The scope's kind, as traces name it.
    fn kind(self) -> &'static str {
        match self {
            Scope::Partner(_) => "partner",
            Scope::Vendor(_) => "vendor",
            Scope::Operator => "operator",
            Scope::System => "system",
        }
    }
}

/// The span of one unit of work, from `begin` to its end, as a child of
/// what runs it (a request, a webhook delivery). Work outside any span at
/// INFO or above (the server's own polling) gets none: a root span a second
/// would bury the traces of requests. At INFO, so a log or trace filter
/// drops it as it would a line.
fn unit_span(scope: Scope, access: Access) -> tracing::Span {
    let current = tracing::Span::current();
    let under_info = current
        .metadata()
        .is_some_and(|parent| *parent.level() <= tracing::Level::INFO);
    if !under_info {
        return tracing::Span::none();
    }
    match access {
        Access::Read => tracing::info_span!("store.read", scope = scope.kind()),
        Access::Write => tracing::info_span!("store.write", scope = scope.kind()),
    }
}

/// Whether the unit of work writes. SQLite takes the write lock up front
/// for writers (`BEGIN IMMEDIATE`), so two writers wait for each other
/// instead of failing on a lock upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// A transaction on either backend. An SQLite writer holds the process's
/// write turn until it commits or is dropped.
pub(crate) enum Conn {
    Sqlite(Transaction<'static, Sqlite>, Option<OwnedMutexGuard<()>>),
    Postgres(Transaction<'static, Postgres>),
}

/// A scoped unit of work: a transaction of its own, or a savepoint of the
/// request's one transaction. It carries its trace span, which closes with
/// it (at commit, or when it is dropped).
pub(crate) struct Tx {
    unit: Option<Unit>,
    _span: tracing::Span,
}

enum Unit {
    Own(Conn),
    Shared(OwnedMutexGuard<Shared>),
}

/// The one transaction of a keyed write, which its units of work share.
pub(crate) struct Shared {
    pub(crate) conn: Conn,
    /// A unit was dropped without committing: its savepoint is rolled
    /// back before the transaction is used again.
    undo: bool,
}

/// The shared transaction, as the request's task holds it.
#[derive(Clone)]
pub(crate) struct Ambient {
    /// Whose pool the transaction is on (the store's writer-turn lock
    /// names it): another store's units never join it.
    store: Arc<Mutex<()>>,
    pub(crate) shared: Arc<Mutex<Shared>>,
}

tokio::task_local! {
    /// The keyed write the current task runs inside, if any.
    pub(crate) static AMBIENT: Ambient;
}

/// Runs `$body` with `$c` bound to the transaction's connection and `Db`
/// to the backend type. The body is type-checked once per backend, so one
/// query text serves both (`$1` placeholders work on SQLite too).
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx.conn() {
            $crate::tx::Conn::Sqlite(t, _) => {
                #[allow(unused)]
                type Db = ::sqlx::Sqlite;
                let $c = &mut **t;
                $body
            }
            $crate::tx::Conn::Postgres(t) => {
                #[allow(unused)]
                type Db = ::sqlx::Postgres;
                let $c = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Conn {
    async fn execute(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(t, _) => sqlx::query(sql).execute(&mut **t).await.map(drop)?,
            Conn::Postgres(t) => sqlx::query(sql).execute(&mut **t).await.map(drop)?,
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            // The write turn passes on once the commit is done.
            Conn::Sqlite(t, _turn) => t.commit().await?,
            Conn::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

impl Shared {
    pub(crate) fn new(conn: Conn) -> Self {
        Shared { conn, undo: false }
    }

    /// Rolls back a unit that was dropped without committing.
    pub(crate) async fn settle(&mut self) -> Result<(), StoreError> {
        if self.undo {
            self.conn
                .execute(&format!("ROLLBACK TO SAVEPOINT {UNIT}"))
                .await?;
            self.conn
                .execute(&format!("RELEASE SAVEPOINT {UNIT}"))
                .await?;
            self.undo = false;
        }
        Ok(())
    }
}

impl Tx {
    /// The transaction's connection.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        match self.unit.as_mut() {
            Some(Unit::Own(c)) => c,
            Some(Unit::Shared(s)) => &mut s.conn,
            // Only `commit` takes the unit out, and it consumes the `Tx`.
            None => unreachable!("a unit of work used after its commit"),
        }
    }

    /// Whether this is SQLite.
    pub(crate) fn is_sqlite(&mut self) -> bool {
        matches!(self.conn(), Conn::Sqlite(..))
    }

    /// Commits the unit of work (and releases SQLite's writer turn). Inside
    /// a keyed write it releases its savepoint; the request's transaction
    /// commits when the response is kept.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        match self.unit.take() {
            Some(Unit::Own(c)) => c.commit().await,
            Some(Unit::Shared(mut s)) => {
                let released = s.conn.execute(&format!("RELEASE SAVEPOINT {UNIT}")).await;
                if released.is_err() {
                    s.undo = true;
                }
                released
            }
            None => Ok(()),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        // An own transaction rolls back by itself; a savepoint is rolled
        // back by the next unit (or before the request's commit).
        if let Some(Unit::Shared(s)) = self.unit.as_mut() {
            s.undo = true;
        }
    }
}

impl Store {
    /// Begins a transaction acting for `scope` (a savepoint, inside a keyed
    /// write on this store).
    pub(crate) async fn begin(&self, scope: Scope, access: Access) -> Result<Tx, StoreError> {
        let span = unit_span(scope, access);
        let ambient = AMBIENT
            .try_with(Ambient::clone)
            .ok()
            .filter(|a| Arc::ptr_eq(&a.store, &self.sqlite_writer));
        if let Some(ambient) = ambient {
            return self.begin_unit(ambient, scope, span).await;
        }
        let mut conn = self.begin_conn(access).await?;
        if let Conn::Postgres(t) = &mut conn {
            set_scope(t, scope).await?;
        }
        Ok(Tx {
            unit: Some(Unit::Own(conn)),
            _span: span,
        })
    }

    /// A transaction of its own, not yet scoped.
    pub(crate) async fn begin_conn(&self, access: Access) -> Result<Conn, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => match access {
                Access::Read => Ok(Conn::Sqlite(p.begin().await?, None)),
                Access::Write => {
                    // Writers queue here, in order, rather than in SQLite's
                    // busy handler, which sleeps and retries (up to 100 ms a
                    // nap) and so gives a loaded server long tail latencies.
                    let turn = tokio::time::timeout(
                        SQLITE_WRITE_WAIT,
                        Arc::clone(&self.sqlite_writer).lock_owned(),
                    )
                    .await
                    .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
                    let t = p.begin_with("BEGIN IMMEDIATE").await?;
                    Ok(Conn::Sqlite(t, Some(turn)))
                }
            },
            Pool::Postgres(p) => Ok(Conn::Postgres(p.begin().await?)),
        }
    }

    /// A savepoint of the keyed write's transaction. Units of one request
    /// take turns; one that waits longer than a writer would is refused
    /// (a unit begun while another of the same request is open would wait
    /// for ever).
    async fn begin_unit(
        &self,
        ambient: Ambient,
        scope: Scope,
        span: tracing::Span,
    ) -> Result<Tx, StoreError> {
        let mut shared = tokio::time::timeout(SQLITE_WRITE_WAIT, ambient.shared.lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        shared.settle().await?;
        shared.conn.execute(&format!("SAVEPOINT {UNIT}")).await?;
        // From here a failure rolls the savepoint back.
        let mut tx = Tx {
            unit: Some(Unit::Shared(shared)),
            _span: span,
        };
        if let Conn::Postgres(t) = tx.conn() {
            set_scope(t, scope).await?;
            // What an earlier unit named stays with it.
            sqlx::query("SELECT set_config('onepane.vendor_workspace', '', true)")
                .execute(&mut **t)
                .await?;
        }
        Ok(tx)
    }

    /// Joins `shared` to this store for the units of `work`.
    pub(crate) fn ambient(&self, shared: Arc<Mutex<Shared>>) -> Ambient {
        Ambient {
            store: Arc::clone(&self.sqlite_writer),
            shared,
        }
    }
}

/// Names the scope in a PostgreSQL transaction: all four settings, every
/// time, transaction-local, so nothing carries over to the next user of a
/// pooled connection.
async fn set_scope(t: &mut Transaction<'static, Postgres>, scope: Scope) -> Result<(), StoreError> {
    let (ws, vendor, operator, system) = match scope {
        Scope::Partner(w) => (w.to_string(), String::new(), "", ""),
        Scope::Vendor(v) => (String::new(), v.to_string(), "", ""),
        Scope::Operator => (String::new(), String::new(), "on", ""),
        Scope::System => (String::new(), String::new(), "", "on"),
    };
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
    .execute(&mut **t)
    .await?;
    Ok(())
}
