//! Onepane's storage: one API over two backends (SQLite, the embedded
//! default, and PostgreSQL), in which tenant data is reachable only through
//! a scope.
//!
//! - [`Store::partner`] opens one workspace's data ([`PartnerStore`]).
//! - [`Store::vendor`] opens one vendor's rows in the workspaces linked to it
//!   ([`VendorStore`]).
//! - [`Store::operator`] opens the operator's explicit operations (create
//!   workspaces and vendors, link them) ([`OperatorStore`]).
//!
//! The crate is arranged by table below the scopes:
//!
//! - `tables/` holds one module per table (leads, deal registrations,
//!   campaigns, prices, the CRM outbox, notifications, webhooks, accounts,
//!   ...): its column lists, its row types and their conversion into the
//!   domain, and the writes several scopes share (`write_lead`,
//!   `insert_notification`, `mark_changed`, `emit`, ...). A table module
//!   imports only other table modules and the plumbing below.
//! - `scope/` holds the scope types ([`PartnerStore`], [`VendorStore`],
//!   [`SystemStore`], [`OperatorStore`]), each split by subject, composing
//!   the tables; no scope module imports another.
//! - `tx` (scoped transactions and `on_tx!`), `rows` (parsing and the
//!   `select!` helper that runs a query and converts its rows), `codec` and
//!   `error` are the plumbing both use.
//!
//! Every scoped call is one transaction. On PostgreSQL the transaction first
//! sets the scope with `set_config(..., true)` (transaction-local) and
//! row-level security enforces it a second time; on SQLite the scoped queries
//! are the enforcement.

pub mod backup;
mod codec;
mod error;
pub mod postgres;
mod rows;
mod scope;
mod tables;
mod tx;

#[cfg(feature = "testing")]
pub mod testing;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use error::StoreError;
pub use scope::operator::OperatorStore;
pub use scope::partner::mail::MailSettings;
pub use scope::partner::scorecard::Rating;
pub use scope::partner::summaries::{CampaignWeek, Pipeline, VendorCounts};
pub use scope::partner::{LeadFilter, LinkedVendor, Page, PartnerStore, PricingData};
pub use scope::system::SystemStore;
pub use scope::system::announcements::ANNOUNCE_BATCH;
pub use scope::system::deliveries::{
    DeliveryOutcome, DeliverySubject, DueVendorDelivery, LinkRefused,
};
pub use scope::system::erasures::{DueErasure, ErasureResult};
pub use scope::system::mail::{MAIL_ATTEMPTS, MailClaim, MailMember, UrgentLead};
pub use scope::vendor::content::MAX_PAGE as MAX_VENDOR_PAGE;
pub use scope::vendor::{Partner, VendorStore};
pub use tables::accounts::{
    Invitation, LoginSubject, MemberOf, NewWebSession, PendingInvitation, WebSession,
};
pub use tables::audit::AuditFilter;
pub use tables::campaigns::LandingPage;
pub use tables::connections::OAuthState;
pub use tables::credentials::{AccessToken, ApiClient, StoredSigningKey};
pub use tables::idempotency::{
    Claim, IDEMPOTENCY_STALE, IDEMPOTENCY_TTL, IdempotencyKey, KeyOwner, KeyedClaim, KeyedWrite,
    StoredResponse,
};
pub use tables::jobs::{Job, JobStatus};
pub use tables::outbox::{CrmEntity, DueDealPush, DuePush, PushCounts, PushResult};
pub use tables::published::{
    ItemsChanged, PriceItemChange, PublishedAsset, PublishedCampaign, PublishedPriceItem,
    PublishedPriceList, Reach,
};
pub use tables::runs::{RUN_ERRORS_KEPT, SyncRun};
pub use tables::sources::{PageCounts, PageWrite, StreamState};
pub use tables::sso::{NewSsoLogin, SsoConfig, SsoConfigUpdate, SsoLogin};
pub use tables::webhooks::{
    Attempt, DeliveryFilter, DeliveryStatus, DueDelivery, WebhookDelivery, WebhookSubscription,
};
pub use tables::workspaces::{LOGO_MAX_BYTES, LogoType, WorkspaceLogo, WorkspaceProfile};

use onepane_domain::{VendorId, WorkspaceId};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
/// PostgreSQL's migrations, also run by the test template builder.
pub(crate) static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database a URL points at. `Debug` redacts the password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl DatabaseUrl {
    /// The embedded default: `onepane.db` in the data directory.
    pub fn in_data_dir(dir: &Path) -> Self {
        DatabaseUrl::Sqlite(dir.join("onepane.db"))
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// The URL with any password replaced by `***` (in the user part and in
    /// `password`/`sslpassword` query parameters), for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => match url::Url::parse(u) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    let pairs: Vec<(String, String)> = parsed
                        .query_pairs()
                        .map(|(k, v)| {
                            let secret = k.eq_ignore_ascii_case("password")
                                || k.eq_ignore_ascii_case("sslpassword");
                            (
                                k.into_owned(),
                                if secret {
                                    "***".to_owned()
                                } else {
                                    v.into_owned()
                                },
                            )
                        })
                        .collect();
                    if !pairs.is_empty() {
                        parsed.query_pairs_mut().clear().extend_pairs(pairs);
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparseable)".to_owned(),
            },
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A database URL that is neither `sqlite:` nor `postgres:`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported database URL {0}: use `sqlite://path/to/file.db` or `postgres://user@host/db`"
)]
pub struct DatabaseUrlError(String);

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            if url::Url::parse(s).is_err() {
                return Err(DatabaseUrlError(
                    "`postgres://...` (not a valid URL)".to_owned(),
                ));
            }
            return Ok(DatabaseUrl::Postgres(s.to_owned()));
        }
        if let Some(rest) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(DatabaseUrlError("`sqlite:` without a file path".to_owned()));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        // Show only a scheme, and only when there is one: the rest (or a
        // value with no scheme at all, like `user:pw@host/db`) may hold a password.
        let shown = match s.split_once("://") {
            Some((scheme, _))
                if scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+') =>
            {
                format!("`{scheme}://...`")
            }
            _ => "(not a URL)".to_owned(),
        };
        Err(DatabaseUrlError(shown))
    }
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long to wait for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The connection pool of the backend in use.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The storage handle. Cheap to clone; all clones share one pool.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// SQLite has one writer at a time; this process's writers take turns.
    pub(crate) sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Connects to the database (creating an SQLite file and its directory
    /// when missing). Does not migrate: see [`Store::migrate`].
    #[tracing::instrument(skip_all, fields(db = %url.redacted()))]
    pub async fn connect(url: &DatabaseUrl, options: &StoreOptions) -> Result<Store, StoreError> {
        let pool = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(|e| StoreError::connect(url, e))?;
                Pool::Sqlite(pool)
            }
            DatabaseUrl::Postgres(u) => {
                let opts = PgConnectOptions::from_str(u)
                    .map_err(|e| StoreError::connect(url, e))?
                    .application_name("onepane")
                    // Plan each statement for its own values. A prepared
                    // statement's generic plan is made from the statistics
                    // of its first uses; where they are not refreshed (no
                    // autovacuum) a plan made on an empty table scans it
                    // whole forever after, and a sync slows as it grows.
                    .options([("plan_cache_mode", "force_custom_plan")]);
                // One direct attempt first: the pool retries until its
                // timeout and then reports only "timed out", losing the
                // cause (refused, unknown role, bad password).
                let probe = tokio::time::timeout(
                    options.acquire_timeout,
                    <sqlx::PgConnection as sqlx::Connection>::connect_with(&opts),
                )
                .await
                .map_err(|_| StoreError::connect(url, sqlx::Error::PoolTimedOut))?
                .map_err(|e| StoreError::connect(url, e))?;
                sqlx::Connection::close(probe).await.ok();
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(|e| StoreError::connect(url, e))?;
                Pool::Postgres(pool)
            }
        };
        Ok(Store {
            pool,
            sqlite_writer: std::sync::Arc::default(),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations. On PostgreSQL, run this as the owner role.
    #[tracing::instrument(skip(self), fields(backend = self.backend()))]
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => migrate_sqlite(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Migrations this binary knows but the database has not applied. Needs
    /// only read access to the migration table, so the server role can ask.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let applied = self.applied_migrations().await?;
        Ok(self
            .migrator()
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// The migrations the database records as applied, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => applied_versions(p).await,
            Pool::Postgres(p) => applied_versions(p).await,
        }
    }

    /// This binary's migrations for the store's backend.
    pub(crate) fn migrator(&self) -> &'static Migrator {
        match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// The operations of one workspace: the partner scope.
    pub fn partner(&self, workspace_id: WorkspaceId) -> PartnerStore {
        PartnerStore::new(self.clone(), workspace_id)
    }

    /// The operations of one vendor, in the workspaces linked to it.
    pub fn vendor(&self, vendor_id: VendorId) -> VendorStore {
        VendorStore::new(self.clone(), vendor_id)
    }

    /// The operator's explicit operations.
    pub fn operator(&self) -> OperatorStore {
        OperatorStore::new(self.clone())
    }
}

async fn applied_versions<DB>(pool: &sqlx::Pool<DB>) -> Result<Vec<i64>, StoreError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    i64: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let table_missing = |e: &sqlx::Error| {
        e.as_database_error().is_some_and(|d| {
            let m = d.message();
            m.contains("no such table") || m.contains("does not exist")
        })
    };
    let mut conn = pool.acquire().await?;
    match sqlx::query_as::<DB, (i64,)>(
        "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(&mut *conn)
    .await
    {
        Ok(rows) => Ok(rows.into_iter().map(|(v,)| v).collect()),
        Err(e) if table_missing(&e) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// The current time at the precision both backends keep (microseconds), so
/// a value reads back exactly as written.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    micros(chrono::Utc::now())
}

/// A time at the precision both backends keep (microseconds), so it reads
/// back as written and compares equal to itself.
pub(crate) fn micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// Applies SQLite's migrations on one connection with foreign keys off
/// while they run: SQLite changes a table's constraints only by rebuilding
/// it, which with foreign keys on would cascade into the tables that refer
/// to it, and the pragma cannot change inside the transaction a migration
/// runs in. Afterwards every foreign key is checked, and a violation is an
/// error.
async fn migrate_sqlite(pool: &SqlitePool) -> Result<(), StoreError> {
    use sqlx::Connection as _;
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut *conn)
        .await?;
    let ran = SQLITE_MIGRATIONS.run_direct(&mut *conn).await;
    let broken: Result<Vec<(String, i64, String, i64)>, sqlx::Error> =
        sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&mut *conn)
            .await;
    let on = sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await;
    if ran.is_err() || on.is_err() {
        // Never hand a connection with foreign keys off back to the pool.
        conn.detach().close().await.ok();
    }
    ran?;
    on?;
    let broken = broken?;
    if let Some((table, row, parent, _)) = broken.first() {
        return Err(StoreError::Corrupt {
            what: "database",
            detail: format!(
                "{} rows break foreign keys after migrating, the first in {table} (row {row}) to {parent}",
                broken.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_redacted_urls_or_errors() {
        let url: DatabaseUrl =
            "postgres://app:hunter2@db:5432/onepane?sslmode=require&password=hunter3"
                .parse()
                .unwrap();
        let shown = url.redacted();
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
        assert_eq!(format!("{url:?}"), shown);
        for bad in ["app:hunter2@db/x", "mysql://app:hunter2@db/x", "sqlite:"] {
            let err = bad.parse::<DatabaseUrl>().unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.starts_with("unsupported database URL"), "{err}");
        }
    }

    #[test]
    fn urls_pick_their_backend() {
        assert_eq!(
            "sqlite://data/onepane.db".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Sqlite("data/onepane.db".into()))
        );
        assert_eq!(
            "postgresql://u@h/d"
                .parse::<DatabaseUrl>()
                .map(|u| u.backend()),
            Ok("postgres")
        );
    }
}
