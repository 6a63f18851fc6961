//! Test databases for Onepane's own tests: a fresh SQLite file, or a fresh
//! PostgreSQL database copied from a migrated template and dropped afterwards.
//!
//! PostgreSQL comes from `ONEPANE_TEST_DATABASE_URL` (a superuser URL,
//! default `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be
//! reached the PostgreSQL tests print why and skip, unless
//! `ONEPANE_TEST_REQUIRE_ALL=1`, which turns the skip into a failure.
//!
//! [`tenants`] builds the workspaces, vendors and links a test needs, and
//! [`content`] the campaigns, assets, price lists, leads and deals they
//! exchange.
#![allow(clippy::expect_used, clippy::print_stdout)]

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::{DatabaseUrl, POSTGRES_MIGRATIONS, Store, StoreOptions, postgres};

mod backends;
pub mod content;
pub mod program;
pub mod tenants;

pub use backends::{Backend, OnBackend, run_on};

/// The owner role tests create (owns the schema, runs migrations).
pub const TEST_OWNER_ROLE: &str = "onepane_test_owner";
/// The server role tests connect as (owns nothing, no BYPASSRLS).
pub const TEST_SERVER_ROLE: &str = "onepane_test_app";

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether every optional suite must run (CI).
pub fn require_all() -> bool {
    std::env::var("ONEPANE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1" || v == "true")
}

/// The superuser URL of the test PostgreSQL server.
pub fn admin_url() -> String {
    std::env::var("ONEPANE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A database for one test. Dropped (PostgreSQL) or deleted (SQLite) with it.
#[derive(Debug)]
pub struct TestDb {
    /// The store, connected as the server role.
    pub store: Store,
    /// The database URL the store uses.
    pub url: DatabaseUrl,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh, migrated SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        Self::sqlite_with(StoreOptions::default()).await
    }

    /// A fresh, migrated SQLite database with pool options.
    pub async fn sqlite_with(options: StoreOptions) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = DatabaseUrl::in_data_dir(dir.path());
        let store = Store::connect(&url, &options).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb {
            store,
            url,
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database connected as the server role, or `None`
    /// (after printing why) when PostgreSQL is unavailable and not required.
    pub async fn postgres() -> Option<TestDb> {
        Self::postgres_with(StoreOptions::default()).await
    }

    /// As [`TestDb::postgres`], with pool options.
    pub async fn postgres_with(options: StoreOptions) -> Option<TestDb> {
        let admin = admin_url();
        let mut conn = match connect_admin(&admin).await {
            Ok(c) => c,
            Err(e) => {
                let why = format!("PostgreSQL at {} is not available: {e}", redact(&admin));
                if require_all() {
                    panic!("{why} (ONEPANE_TEST_REQUIRE_ALL=1 forbids skipping)");
                }
                println!(
                    "skipped: {why}; set ONEPANE_TEST_DATABASE_URL to run the PostgreSQL suite"
                );
                return None;
            }
        };
        let template = ensure_template(&mut conn, &admin).await;
        let name = format!("onepane_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!(
            "CREATE DATABASE {name} TEMPLATE {template} OWNER {TEST_OWNER_ROLE}"
        ))
        .execute(&mut conn)
        .await
        .expect("create test database from template");
        // Database-level privileges are not copied from the template.
        sqlx::query(&format!("REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC"))
            .execute(&mut conn)
            .await
            .expect("revoke temporary tables");
        let _ = conn.close().await;
        let url = DatabaseUrl::Postgres(role_url(&admin, TEST_SERVER_ROLE, &name));
        let store = Store::connect(&url, &options)
            .await
            .expect("connect as the server role");
        Some(TestDb {
            store,
            url,
            pg_name: Some(name),
            _dir: None,
        })
    }

    /// A fresh, empty PostgreSQL database (no migrations, grants given),
    /// connected as the server role: for tests that build an older schema.
    pub async fn postgres_empty() -> Option<TestDb> {
        let admin = admin_url();
        let mut conn = match connect_admin(&admin).await {
            Ok(c) => c,
            Err(e) => {
                let why = format!("PostgreSQL at {} is not available: {e}", redact(&admin));
                if require_all() {
                    panic!("{why} (ONEPANE_TEST_REQUIRE_ALL=1 forbids skipping)");
                }
                println!("skipped: {why}");
                return None;
            }
        };
        // The roles exist once a template does.
        ensure_template(&mut conn, &admin).await;
        let name = format!("onepane_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name} OWNER {TEST_OWNER_ROLE}"))
            .execute(&mut conn)
            .await
            .expect("create empty test database");
        sqlx::query(&format!("REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC"))
            .execute(&mut conn)
            .await
            .expect("revoke temporary tables");
        let _ = conn.close().await;
        let mut in_db = connect_admin(&role_url_keep_user(&admin, &name))
            .await
            .expect("connect to the new database as admin");
        sqlx::raw_sql(&postgres::database_grants_sql(
            TEST_OWNER_ROLE,
            TEST_SERVER_ROLE,
        ))
        .execute(&mut in_db)
        .await
        .expect("grant on the new database");
        let _ = in_db.close().await;
        let url = DatabaseUrl::Postgres(role_url(&admin, TEST_SERVER_ROLE, &name));
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .expect("connect as the server role");
        Some(TestDb {
            store,
            url,
            pg_name: Some(name),
            _dir: None,
        })
    }

    /// On PostgreSQL, the URL of this database for the test server's superuser.
    pub fn postgres_superuser_url(&self) -> Option<String> {
        self.pg_name
            .as_ref()
            .map(|name| role_url_keep_user(&admin_url(), name))
    }

    /// Sets a timestamp column of one row to `at`, behind the store's back
    /// (as the superuser on PostgreSQL, with the guard triggers off), so a
    /// test can put what happened at chosen times. `table` and `column`
    /// are the test's own literals.
    pub async fn set_time(
        &self,
        table: &str,
        column: &str,
        workspace: onepane_domain::WorkspaceId,
        id: uuid::Uuid,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let sql = format!("UPDATE {table} SET {column} = $1 WHERE workspace_id = $2 AND id = $3");
        let changed = match (&self.url, self.postgres_superuser_url()) {
            (_, Some(url)) => {
                let mut c = PgConnection::connect(&url)
                    .await
                    .expect("superuser connects");
                sqlx::query("SET session_replication_role = replica")
                    .execute(&mut c)
                    .await
                    .expect("triggers off");
                sqlx::query(&sql)
                    .bind(at)
                    .bind(workspace.as_uuid())
                    .bind(id)
                    .execute(&mut c)
                    .await
                    .expect("update")
                    .rows_affected()
            }
            (DatabaseUrl::Sqlite(path), None) => {
                let mut c = sqlx::SqliteConnection::connect_with(
                    &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
                )
                .await
                .expect("sqlite opens");
                sqlx::query(&sql)
                    .bind(at)
                    .bind(workspace.as_uuid())
                    .bind(id)
                    .execute(&mut c)
                    .await
                    .expect("update")
                    .rows_affected()
            }
            (url, None) => panic!("no way to reach {url:?}"),
        };
        assert_eq!(changed, 1, "{table} {id} not found");
    }

    /// The leads' tallies as kept (migration 0014), and the same figures
    /// counted from the leads now, read behind the store's back; each
    /// (workspace, vendor, day, sent, accepted, won, answer-by windows,
    /// their seconds), in key order, without days that count no lead.
    pub async fn lead_tallies(&self) -> (Vec<TallyRow>, Vec<TallyRow>) {
        // DAY and SECONDS are each backend's words for a lead's arrival day
        // (UTC) and its answer-by window in whole seconds.
        const KEPT: &str = "SELECT workspace_id, vendor_id, DAY, sent, accepted, won, windows, \
             window_seconds FROM lead_tallies WHERE sent <> 0 ORDER BY 1, 2, 3";
        const COUNTED: &str = "SELECT workspace_id, vendor_id, DAY, COUNT(*), \
             CAST(SUM(CASE WHEN status IN ('accepted', 'working', 'qualified', 'won', 'lost') \
               THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS BIGINT), COUNT(respond_by), \
             CAST(COALESCE(SUM(SECONDS), 0) AS BIGINT) \
             FROM leads WHERE source = 'vendor' AND vendor_id IS NOT NULL \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
        match (&self.url, self.postgres_superuser_url()) {
            (_, Some(url)) => {
                let mut c = PgConnection::connect(&url)
                    .await
                    .expect("superuser connects");
                let day = "(created_at AT TIME ZONE 'UTC')::date::text";
                let seconds =
                    "floor(extract(epoch FROM respond_by)) - floor(extract(epoch FROM created_at))";
                let kept = KEPT.replace("DAY", "day::text");
                let counted = COUNTED.replace("DAY", day).replace("SECONDS", seconds);
                (
                    sqlx::query_as(&kept)
                        .fetch_all(&mut c)
                        .await
                        .expect("tallies"),
                    sqlx::query_as(&counted)
                        .fetch_all(&mut c)
                        .await
                        .expect("leads"),
                )
            }
            (DatabaseUrl::Sqlite(path), None) => {
                let mut c = sqlx::SqliteConnection::connect_with(
                    &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
                )
                .await
                .expect("sqlite opens");
                let kept = KEPT.replace("DAY", "day");
                let counted = COUNTED
                    .replace("DAY", "date(created_at)")
                    .replace("SECONDS", "unixepoch(respond_by) - unixepoch(created_at)");
                (
                    sqlx::query_as(&kept)
                        .fetch_all(&mut c)
                        .await
                        .expect("tallies"),
                    sqlx::query_as(&counted)
                        .fetch_all(&mut c)
                        .await
                        .expect("leads"),
                )
            }
            (url, None) => panic!("no way to reach {url:?}"),
        }
    }

    /// On PostgreSQL, the URL of this database for `role`.
    pub fn postgres_url_as(&self, role: &str) -> Option<String> {
        self.pg_name
            .as_ref()
            .map(|name| role_url(&admin_url(), role, name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async; a helper thread gets its own runtime. The
        // pool is not closed first: closing waits for connections that only
        // the (now blocked) test runtime can return. FORCE ends them instead.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = connect_admin(&admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

async fn connect_admin(url: &str) -> Result<PgConnection, sqlx::Error> {
    let opts: PgConnectOptions = url.parse()?;
    tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&opts))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
}

fn role_url(admin: &str, role: &str, database: &str) -> String {
    let mut u = url::Url::parse(admin).expect("ONEPANE_TEST_DATABASE_URL is a URL");
    let _ = u.set_username(role);
    let _ = u.set_password(None);
    u.set_path(&format!("/{database}"));
    u.to_string()
}

fn redact(url: &str) -> String {
    DatabaseUrl::Postgres(url.to_owned()).redacted()
}

/// Creates the test roles and a migrated template database named after the
/// migrations' checksums, once per schema, under an advisory lock so that
/// parallel test processes build it once.
async fn ensure_template(conn: &mut PgConnection, admin: &str) -> String {
    // FNV-1a over the migrations' versions and checksums: stable across
    // toolchains, so one schema means one template.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in POSTGRES_MIGRATIONS.iter() {
        for b in m.version.to_le_bytes().iter().chain(m.checksum.iter()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let template = format!("onepane_tmpl_{h:016x}");
    sqlx::query("SELECT pg_advisory_lock(7250165)")
        .execute(&mut *conn)
        .await
        .expect("lock");
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut *conn)
        .await
        .expect("look up template");
    if exists.is_none() {
        for role in [TEST_OWNER_ROLE, TEST_SERVER_ROLE] {
            sqlx::raw_sql(&format!(
                "DO $$ BEGIN
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                     CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
                   END IF;
                 END $$;"
            ))
            .execute(&mut *conn)
            .await
            .expect("create test role");
        }
        let building = format!("{template}_building");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut *conn)
            .await
            .expect("drop stale template");
        sqlx::query(&format!(
            "CREATE DATABASE {building} OWNER {TEST_OWNER_ROLE}"
        ))
        .execute(&mut *conn)
        .await
        .expect("create template");
        let mut in_db = connect_admin(&role_url_keep_user(admin, &building))
            .await
            .expect("connect to template as admin");
        sqlx::raw_sql(&postgres::database_grants_sql(
            TEST_OWNER_ROLE,
            TEST_SERVER_ROLE,
        ))
        .execute(&mut in_db)
        .await
        .expect("grant on template");
        let _ = in_db.close().await;
        let owner_url = DatabaseUrl::Postgres(role_url(admin, TEST_OWNER_ROLE, &building));
        let owner = Store::connect(
            &owner_url,
            &StoreOptions {
                max_connections: 1,
                ..StoreOptions::default()
            },
        )
        .await
        .expect("connect to template as owner");
        owner.migrate().await.expect("migrate template");
        owner.close().await;
        // The owner's session may outlive its closed pool by a moment on the
        // server: the rename waits for it to end.
        let mut tries = 0;
        loop {
            match sqlx::query(&format!("ALTER DATABASE {building} RENAME TO {template}"))
                .execute(&mut *conn)
                .await
            {
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("55006") && tries < 100 =>
                {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                done => {
                    done.expect("publish template");
                    break;
                }
            }
        }
        // Templates of other schemas are from older checkouts: a day later
        // nothing copies them any more.
        sqlx::query(&format!(
            "COMMENT ON DATABASE {template} IS 'onepane test template, built {}'",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        ))
        .execute(&mut *conn)
        .await
        .expect("date the template");
    }
    drop_abandoned(conn).await;
    drop_stale_templates(conn, &template).await;
    sqlx::query("SELECT pg_advisory_unlock(7250165)")
        .execute(&mut *conn)
        .await
        .expect("unlock");
    template
}

/// Drops templates of other schemas built more than a day ago.
async fn drop_stale_templates(conn: &mut PgConnection, current: &str) {
    let templates: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT d.datname::text, shobj_description(d.oid, 'pg_database') FROM pg_database d \
         WHERE starts_with(d.datname, 'onepane_tmpl_')",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (name, comment) in templates {
        let built = comment
            .as_deref()
            .and_then(|c| c.rsplit(' ').next())
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        if name != current && !name.ends_with("_building") && now.saturating_sub(built) > 86_400 {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// Drops test databases a killed test run left behind. Their names carry a
/// UUIDv7, whose timestamp says when they were made; two hours is far longer
/// than any test.
async fn drop_abandoned(conn: &mut PgConnection) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE starts_with(datname, 'onepane_test_')",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    let cutoff = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    for name in names {
        let made = name
            .strip_prefix("onepane_test_")
            .and_then(|hex| uuid::Uuid::parse_str(hex).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                std::time::UNIX_EPOCH + Duration::new(secs, nanos)
            });
        if made.is_some_and(|t| t < cutoff) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

fn role_url_keep_user(admin: &str, database: &str) -> String {
    let mut u = url::Url::parse(admin).expect("ONEPANE_TEST_DATABASE_URL is a URL");
    u.set_path(&format!("/{database}"));
    u.to_string()
}

/// What a pooled connection carries between units of work: the three scope
/// settings as seen outside any transaction, and how many leads a query with
/// no scope can see. All must be empty for a scope to be transaction-local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeProbe {
    /// `onepane.workspace_id` (empty or unset when nothing leaks).
    pub workspace_id: String,
    /// `onepane.vendor_id`.
    pub vendor_id: String,
    /// `onepane.operator`.
    pub operator: String,
    /// Leads visible with no scope.
    pub visible_leads: i64,
}

/// Probes the store's pool outside any transaction (PostgreSQL only).
pub async fn probe_unscoped(store: &Store) -> Option<ScopeProbe> {
    let crate::Pool::Postgres(pool) = &store.pool else {
        return None;
    };
    let mut conn = pool.acquire().await.expect("a pooled connection");
    let (workspace_id, vendor_id, operator): (String, String, String) = sqlx::query_as(
        "SELECT COALESCE(current_setting('onepane.workspace_id', true), ''), \
                COALESCE(current_setting('onepane.vendor_id', true), ''), \
                COALESCE(current_setting('onepane.operator', true), '')",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("read settings");
    let (visible_leads,): (i64,) = sqlx::query_as("SELECT count(*) FROM leads")
        .fetch_one(&mut *conn)
        .await
        .expect("count leads");
    Some(ScopeProbe {
        workspace_id,
        vendor_id,
        operator,
        visible_leads,
    })
}

/// A row of [`TestDb::lead_tallies`].
pub type TallyRow = (uuid::Uuid, uuid::Uuid, String, i64, i64, i64, i64, i64);
