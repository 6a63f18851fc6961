//! A vendor program at scale, for benchmarks and tests: thousands of partner
//! workspaces linked in bulk, and what the database holds.

use chrono::Utc;
use onepane_domain::program::{PartnerType, Tier};
use onepane_domain::{VendorId, WorkspaceId};
use sqlx::Connection as _;

use crate::tx::{Access, Scope, on_tx};
use crate::{DatabaseUrl, Store};

/// Workspaces and links written per statement.
const CHUNK: usize = 1_000;

/// Creates `n` partner workspaces linked to `vendor` (active, `tier`, as a
/// reseller), a thousand per statement, in one transaction: the setup of a
/// program with thousands of partners, without a login or an audit entry
/// for each.
pub async fn bulk_partners(
    store: &Store,
    vendor: VendorId,
    n: usize,
    tier: Tier,
) -> Vec<WorkspaceId> {
    let ids: Vec<WorkspaceId> = (0..n).map(|_| WorkspaceId::new()).collect();
    let at = Utc::now();
    let mut tx = store
        .begin(Scope::Operator, Access::Write)
        .await
        .expect("operator transaction");
    for chunk in ids.chunks(CHUNK) {
        on_tx!(tx, c => {
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO workspaces (id, name, home_currency, locale, created_at) ",
            );
            q.push_values(chunk, |mut row, ws| {
                row.push_bind(ws.as_uuid())
                    .push_bind(format!("Partner {ws}"))
                    .push_bind("EUR")
                    .push_bind("en")
                    .push_bind(at);
            });
            q.build().execute(&mut *c).await.expect("insert workspaces");
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO vendor_links (workspace_id, vendor_id, tier, partner_type, status, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut row, ws| {
                row.push_bind(ws.as_uuid())
                    .push_bind(vendor.as_uuid())
                    .push_bind(tier.as_str())
                    .push_bind(PartnerType::Var.as_str())
                    .push_bind("active")
                    .push_bind(at)
                    .push_bind(at);
            });
            q.build().execute(&mut *c).await.expect("insert links");
        });
    }
    tx.commit().await.expect("commit partners");
    ids
}

/// Rows in every table of the database at `url` (on PostgreSQL, `admin`
/// is a superuser URL, which row-level security does not hide rows from).
pub async fn count_rows(url: &DatabaseUrl, admin: Option<&str>) -> i64 {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let mut c = sqlx::SqliteConnection::connect_with(
                &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
            )
            .await
            .expect("open SQLite");
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(&mut c)
            .await
            .expect("tables");
            let mut n = 0;
            for t in tables {
                let k: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{t}\""))
                    .fetch_one(&mut c)
                    .await
                    .expect("count");
                n += k;
            }
            c.close().await.ok();
            n
        }
        DatabaseUrl::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(admin.expect("a superuser URL"))
                .await
                .expect("connect as superuser");
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
            )
            .fetch_all(&mut c)
            .await
            .expect("tables");
            let mut n = 0;
            for t in tables {
                let k: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{t}\""))
                    .fetch_one(&mut c)
                    .await
                    .expect("count");
                n += k;
            }
            c.close().await.ok();
            n
        }
    }
}

/// The database's size on disk in bytes (SQLite: pages in use after a
/// checkpoint; PostgreSQL: `pg_database_size`).
pub async fn database_bytes(url: &DatabaseUrl, admin: Option<&str>) -> i64 {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let mut c = sqlx::SqliteConnection::connect_with(
                &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
            )
            .await
            .expect("open SQLite");
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut c)
                .await
                .expect("checkpoint");
            let (pages, free, size): (i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT page_count FROM pragma_page_count()), \
                        (SELECT freelist_count FROM pragma_freelist_count()), \
                        (SELECT page_size FROM pragma_page_size())",
            )
            .fetch_one(&mut c)
            .await
            .expect("page counts");
            c.close().await.ok();
            (pages - free) * size
        }
        DatabaseUrl::Postgres(_) => {
            let mut c = sqlx::PgConnection::connect(admin.expect("a superuser URL"))
                .await
                .expect("connect as superuser");
            sqlx::query("CHECKPOINT").execute(&mut c).await.ok();
            let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut c)
                .await
                .expect("database size");
            c.close().await.ok();
            n
        }
    }
}
