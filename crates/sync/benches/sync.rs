//! The sync engine's throughput on each backend, against a local fake
//! vendor that pages its records over real HTTP, beside a named peer and a
//! ceiling measured in the same run:
//!
//! 1. for pages of 1,000 and of 10,000, each into a fresh database: a first
//!    sync of 200,000 leads of ten fields (every record created), then the
//!    same sync with nothing changed (every record read and found
//!    unchanged: the stream is full refresh, so the worst case);
//! 2. at pages of 1,000, a price list of 200,000 items, first and unchanged;
//! 3. the peer: dlt's `rest_api` source reading the same pages into a fresh
//!    database of the same backend (`dlt_peer.py` beside this file; skipped,
//!    saying why, when `python3 -c "import dlt"` fails);
//! 4. the ceilings: the same rows written without the engine, in one
//!    transaction, into a plain table of ten text columns (SQLite:
//!    `INSERT`s of 500 rows; PostgreSQL: `COPY`), and into the `leads`
//!    table with its indexes (the same way, as the superuser).
//!
//! Each phase prints records per second, the database's CPU time (on
//! PostgreSQL the server processes' own; on SQLite, which runs inside
//! the benchmark, the whole process's), what the database grew by on disk,
//! and the peak resident memory above what the process held before the
//! phase. On PostgreSQL every table of the benchmark's databases has
//! autovacuum switched off, so that a table's growth from empty is seen
//! with the statistics it started with. Each run is long, so this is a
//! plain `main` printing a Markdown table, not criterion's statistics. Run
//! with `cargo bench -p onepane-sync --bench sync`; PostgreSQL is measured
//! when ONEPANE_TEST_DATABASE_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres) answers.
//! `ONEPANE_BENCH_RECORDS` scales the streams down for a quick look.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::http::Uri;
use axum::routing::get;
use onepane_connector::{AddressPolicy, ClientConfig};
use onepane_domain::workspace::NewConnection;
use onepane_domain::{LeadId, Tier, VendorId, WorkspaceId};
use onepane_store::testing::TestDb;
use onepane_store::testing::tenants::{link, linked, vendor_source, workspace};
use onepane_store::{DatabaseUrl, Store, SyncRun};
use onepane_sync::{Engine, EngineConfig, Vault};
use serde_json::{Value, json};

/// The page sizes measured.
const PAGES: [usize; 2] = [1_000, 10_000];

fn records() -> usize {
    std::env::var("ONEPANE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

// ---- memory and CPU ------------------------------------------------------------

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak to the current resident size; returns that size (KiB).
fn reset_peak() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS:")
}

/// User and system CPU seconds of a `/proc/<pid>/stat` line; with
/// `children`, also those of its children that have ended.
fn stat_cpu(stat: &str, children: bool) -> f64 {
    // The fields after the command's closing parenthesis: the line's 14th
    // to 17th are utime, stime, cutime and cstime.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let which: &[usize] = if children {
        &[11, 12, 13, 14]
    } else {
        &[11, 12]
    };
    let ticks: u64 = which
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

/// CPU seconds used so far by the database: every `postgres` process's,
/// with the backends that have ended (counted in the postmaster's
/// children's time), or this process's own for SQLite (which runs inside
/// it).
fn database_cpu(backend: &str) -> f64 {
    if backend == "sqlite" {
        return std::fs::read_to_string("/proc/self/stat").map_or(0.0, |s| stat_cpu(&s, false));
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let postgres: Vec<(String, String)> = dir
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), stat))
        })
        .collect();
    let pids: Vec<&str> = postgres.iter().map(|(pid, _)| pid.as_str()).collect();
    postgres
        .iter()
        .map(|(_, stat)| {
            // The postmaster is the one whose parent is not a postgres process.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .unwrap_or_default();
            stat_cpu(stat, !pids.contains(&parent))
        })
        .sum()
}

// ---- the fake vendor ------------------------------------------------------------

/// When every lead of the fake was last updated.
const LEADS_UPDATED_AT: &str = "2026-11-30T12:00:00Z";

/// A lead of ten fields.
fn lead(i: usize) -> Value {
    json!({"id": format!("L-{i:07}"), "name": format!("Person {i}"),
           "email": format!("person{i}@customer.example"), "phone": format!("+358 40 {i:07}"),
           "title": "Head of IT", "company": format!("Customer {i} Oy"),
           "domain": format!("customer{i}.example"), "country": "FI",
           "message": format!("Interested in {} seats", 10 + i % 90),
           "updated_at": LEADS_UPDATED_AT})
}

fn cents(i: usize) -> usize {
    1_000 + (i * 7_919) % 90_000
}

fn item(i: usize) -> Value {
    let c = cents(i);
    json!({"list": "PL-0", "sku": format!("SKU-{i:07}"), "name": format!("Item {i}"),
           "price": format!("{}.{:02}", c / 100, c % 100)})
}

/// One page of the fake's answer to `path` at `limit` records a page.
fn render(path: &str, n: usize, limit: usize, page: usize, since: Option<&str>) -> Vec<u8> {
    let (total, make): (usize, fn(usize) -> Value) = match path {
        "/leads" => (n, lead),
        "/price-items" => (n, item),
        _ => (
            1,
            |_| json!({"code": "PL-0", "name": "2026 list", "currency": "EUR"}),
        ),
    };
    // Every lead was last updated at LEADS_UPDATED_AT: asked for what
    // changed since then, the vendor has nothing.
    let total = if since.is_some_and(|s| s >= LEADS_UPDATED_AT) {
        0
    } else {
        total
    };
    let start = page * limit;
    let end = (start + limit).min(total);
    let data: Vec<Value> = (start..end).map(make).collect();
    let next = (end < total).then(|| format!("p{}", page + 1));
    serde_json::to_vec(&json!({"data": data, "next_cursor": next, "total": total})).unwrap()
}

/// The fake vendor: `GET /leads`, `/price-lists` and `/price-items` with
/// `limit` and `cursor=p<n>`. The pages the benchmark asks for are made
/// before it starts, so that serving one costs the fake almost nothing
/// (a real vendor's work is on another machine); others are made on demand.
async fn fake_vendor(n: usize) -> String {
    let mut made: HashMap<(&'static str, usize), Vec<axum::body::Bytes>> = HashMap::new();
    for (path, limit) in [
        ("/leads", PAGES[0]),
        ("/leads", PAGES[1]),
        ("/price-items", PAGES[0]),
    ] {
        let pages = n.div_ceil(limit).max(1);
        let rendered = (0..pages)
            .map(|page| axum::body::Bytes::from(render(path, n, limit, page, None)))
            .collect();
        made.insert((path, limit), rendered);
    }
    let made = Arc::new(made);
    let app = Router::new().fallback(get(
        move |uri: Uri, Query(q): Query<HashMap<String, String>>| {
            let made = made.clone();
            async move {
                let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(1_000);
                let page: usize = q
                    .get("cursor")
                    .and_then(|c| c.strip_prefix('p'))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let since = q.get("updated_since").map(String::as_str);
                let path = uri.path();
                let body = match made.iter().find(|((p, l), _)| *p == path && *l == limit) {
                    Some((_, pages)) if since.is_none() && page < pages.len() => {
                        pages[page].clone()
                    }
                    _ => axum::body::Bytes::from(render(path, n, limit, page, since)),
                };
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// The manifest of the fake, which states a rate it can serve (a real
/// vendor states its own; without one the engine's polite default holds).
fn manifest(base: &str, page: usize, streams: &[&str], incremental: bool) -> Value {
    let stream = |path: &str, map: Value| {
        let mut s = json!({"path": path, "params": {"limit": page}, "records": "/data", "total": "/total",
               "pagination": {"type": "cursor", "cursor": "/next_cursor", "param": "cursor"},
               "map": map});
        if incremental && path == "/leads" {
            s["incremental"] =
                json!({"cursor_field": "/updated_at", "since_param": "updated_since"});
        }
        s
    };
    let all = json!({
        "leads": stream("/leads", json!({"external_id": "/id",
            "contact": {"name": "/name", "email": "/email", "phone": "/phone", "title": "/title"},
            "company": {"name": "/company", "domain": "/domain", "country": "/country"},
            "message": "/message"})),
        "price_lists": stream("/price-lists", json!({"external_id": "/code",
            "terms": {"name": "/name", "currency": "/currency"}})),
        "price_items": stream("/price-items", json!({"price_list": "/list",
            "item": {"sku": "/sku", "name": "/name", "list_price": {"$text": "/price"}}})),
    });
    let chosen: serde_json::Map<String, Value> = streams
        .iter()
        .map(|s| ((*s).to_owned(), all[*s].clone()))
        .collect();
    json!({"version": 1, "base_url": base, "auth": {"type": "none"},
           "rate_limit": {"requests_per_second": 10_000}, "streams": chosen})
}

// ---- tenants and the engine -------------------------------------------------------

#[derive(Debug)]
struct Plain;

impl Vault for Plain {
    fn seal(&self, _: &str, plain: &[u8]) -> Result<Vec<u8>, String> {
        Ok(plain.to_vec())
    }
    fn open(&self, _: &str, sealed: &[u8]) -> Result<Vec<u8>, String> {
        Ok(sealed.to_vec())
    }
}

/// The benchmark's partner and the vendor it syncs from.
async fn tenants(store: &Store) -> (WorkspaceId, VendorId) {
    linked(store, "Reseller Oy", "Printers Inc", Tier::Gold).await
}

/// The engine with its defaults, but for the address policy (loopback).
fn engine(store: &Store) -> Engine {
    let config = EngineConfig {
        http: ClientConfig {
            timeout: Duration::from_secs(60),
            addresses: AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]),
            ..ClientConfig::default()
        },
        ..EngineConfig::default()
    };
    Engine::new(store.clone(), Arc::new(Plain), config, "bench".into()).unwrap()
}

// ---- databases ----------------------------------------------------------------------

/// A fresh database of `backend`; on PostgreSQL with autovacuum off on every
/// table.
async fn fresh(backend: &str) -> TestDb {
    if backend == "sqlite" {
        return TestDb::sqlite().await;
    }
    let db = TestDb::postgres().await.expect("PostgreSQL");
    let pool = sqlx::PgPool::connect(&db.postgres_superuser_url().unwrap())
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&pool)
            .await
            .unwrap();
    for t in tables {
        sqlx::query(&format!("ALTER TABLE {t} SET (autovacuum_enabled = off)"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    db
}

/// The database's size on disk in bytes (SQLite: the file and its log,
/// after a checkpoint).
async fn size(db: &TestDb) -> u64 {
    match &db.url {
        DatabaseUrl::Sqlite(path) => sqlite_size(path).await,
        DatabaseUrl::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&db.postgres_superuser_url().unwrap())
                .await
                .unwrap();
            sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            u64::try_from(n).unwrap()
        }
    }
}

async fn sqlite_size(path: &Path) -> u64 {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(10));
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let file = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(Path::new(&name)).map_or(0, |m| m.len())
    };
    file("") + file("-wal")
}

// ---- phases ---------------------------------------------------------------------------

struct Row {
    backend: &'static str,
    phase: String,
    records: u64,
    seconds: f64,
    cpu: f64,
    grew_mib: Option<f64>,
    peak_mib: f64,
}

/// Times `work`, which returns the records it handled, with the database's
/// CPU and (given `db`) its growth on disk.
async fn measure<F: Future<Output = u64>>(
    rows: &mut Vec<Row>,
    backend: &'static str,
    phase: &str,
    db: Option<&TestDb>,
    work: F,
) {
    let before = match db {
        Some(db) => Some(size(db).await),
        None => None,
    };
    let base = reset_peak();
    let cpu = database_cpu(backend);
    let started = Instant::now();
    let records = work.await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = database_cpu(backend) - cpu;
    let peak = status_kib("VmHWM:").saturating_sub(base);
    let grew_mib = match (db, before) {
        (Some(db), Some(before)) => {
            Some(size(db).await.saturating_sub(before) as f64 / 1024.0 / 1024.0)
        }
        _ => None,
    };
    push(
        rows,
        backend,
        phase,
        records,
        seconds,
        cpu,
        grew_mib,
        peak as f64 / 1024.0,
    );
}

#[allow(clippy::too_many_arguments)]
fn push(
    rows: &mut Vec<Row>,
    backend: &'static str,
    phase: &str,
    records: u64,
    seconds: f64,
    cpu: f64,
    grew_mib: Option<f64>,
    peak_mib: f64,
) {
    println!(
        "  {backend} {phase}: {records} records in {seconds:.2} s ({:.0}/s), database CPU {cpu:.1} s{}",
        records as f64 / seconds,
        grew_mib.map_or(String::new(), |g| format!(", +{g:.1} MiB on disk"))
    );
    rows.push(Row {
        backend,
        phase: phase.to_owned(),
        records,
        seconds,
        cpu,
        grew_mib,
        peak_mib,
    });
}

fn check(run: &SyncRun, created: u64, unchanged: u64) -> u64 {
    assert_eq!(run.status, "succeeded", "{run:?}");
    assert_eq!(
        (run.created, run.unchanged, run.updated, run.failed),
        (created, unchanged, 0, 0),
        "{run:?}"
    );
    run.read
}

/// A connection of the benchmark's workspace to the fake's `streams`.
async fn connect(
    store: &Store,
    ws: WorkspaceId,
    vendor: VendorId,
    base: &str,
    page: usize,
    streams: &[&str],
    incremental: bool,
) -> onepane_domain::workspace::Connection {
    store
        .partner(ws)
        .create_connection(&NewConnection {
            settings: json!({"manifest": manifest(base, page, streams, incremental)}),
            ..vendor_source(vendor, &streams.join(" "))
        })
        .await
        .unwrap()
}

/// The engine's phases at one page size, into a fresh database.
async fn engine_phases(
    rows: &mut Vec<Row>,
    backend: &'static str,
    base: &str,
    page: usize,
    n: usize,
) {
    let db = fresh(backend).await;
    let store = &db.store;
    let (ws, vendor) = tenants(store).await;
    let engine = engine(store);
    let leads = connect(store, ws, vendor, base, page, &["leads"], false).await;
    let first = format!("Onepane, leads, first sync, pages of {page}");
    measure(rows, backend, &first, Some(&db), async {
        check(&engine.run(&leads, None, &()).await.unwrap(), n as u64, 0)
    })
    .await;
    if page == PAGES[0] {
        print_relations(&db).await;
    }
    let again = format!("Onepane, leads, nothing changed, pages of {page}");
    measure(rows, backend, &again, Some(&db), async {
        check(&engine.run(&leads, None, &()).await.unwrap(), 0, n as u64)
    })
    .await;
    // The same leads as an incremental stream, into a workspace of their
    // own: after the first pass the vendor is asked only for what changed.
    let other = workspace(store, "Reseller Two Oy").await;
    link(store, other, vendor, Tier::Gold).await;
    let incremental = connect(store, other, vendor, base, page, &["leads"], true).await;
    let phase = format!("Onepane, leads, incremental, first sync, pages of {page}");
    measure(rows, backend, &phase, None, async {
        check(
            &engine.run(&incremental, None, &()).await.unwrap(),
            n as u64,
            0,
        )
    })
    .await;
    let phase = format!("Onepane, leads, incremental, nothing changed, pages of {page}");
    measure(rows, backend, &phase, None, async {
        let run = engine.run(&incremental, None, &()).await.unwrap();
        check(&run, 0, 0);
        n as u64
    })
    .await;
    if page != PAGES[0] {
        return;
    }
    let items = connect(
        store,
        ws,
        vendor,
        base,
        page,
        &["price_lists", "price_items"],
        false,
    )
    .await;
    let phase = format!("Onepane, price items, first sync, pages of {page}");
    measure(rows, backend, &phase, Some(&db), async {
        check(
            &engine.run(&items, None, &()).await.unwrap(),
            n as u64 + 1,
            0,
        )
    })
    .await;
    let phase = format!("Onepane, price items, nothing changed, pages of {page}");
    measure(rows, backend, &phase, Some(&db), async {
        check(
            &engine.run(&items, None, &()).await.unwrap(),
            0,
            n as u64 + 1,
        )
    })
    .await;
}

/// Where the disk went (PostgreSQL): the largest tables and indexes.
async fn print_relations(db: &TestDb) {
    let Some(url) = db.postgres_superuser_url() else {
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT relname::text, pg_relation_size(oid) FROM pg_class \
         WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i') \
         ORDER BY 2 DESC LIMIT 12",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let shown: Vec<String> = rows
        .iter()
        .map(|(name, bytes)| format!("{name} {:.1}", *bytes as f64 / 1024.0 / 1024.0))
        .collect();
    println!("    largest relations (MiB): {}", shown.join(", "));
}

/// Whether dlt can be run, or why not.
fn dlt_available() -> Result<String, String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import dlt; print(dlt.__version__)"])
        .output()
        .map_err(|e| format!("python3 cannot be run: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err("dlt is not installed (pip install \"dlt[postgres,sqlalchemy]\")".to_owned())
    }
}

/// dlt's `rest_api` source reading the fake's leads into a fresh database.
async fn dlt_phase(rows: &mut Vec<Row>, backend: &'static str, base: &str, page: usize, n: usize) {
    let db = fresh(backend).await;
    let work = tempfile::tempdir().unwrap();
    let destination = match &db.url {
        DatabaseUrl::Sqlite(_) => format!("sqlite:///{}", work.path().join("dlt.db").display()),
        DatabaseUrl::Postgres(_) => {
            // dlt insists on a password; trust authentication ignores it.
            let mut url = url::Url::parse(&db.postgres_superuser_url().unwrap()).unwrap();
            if url.password().is_none() {
                url.set_password(Some("unused")).unwrap();
            }
            url.to_string()
        }
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/dlt_peer.py");
    let cpu = database_cpu(backend);
    let before = size(&db).await;
    let out = tokio::process::Command::new("python3")
        .args([script, &format!("{base}/"), &page.to_string(), &destination])
        .arg(work.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "dlt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cpu = if backend == "sqlite" {
        // dlt's SQLite runs in its own process, not this one.
        f64::NAN
    } else {
        database_cpu(backend) - cpu
    };
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let loaded = report["rows"].as_u64().unwrap();
    assert_eq!(loaded, n as u64, "dlt loaded {loaded} of {n} leads");
    let grew = match &db.url {
        // dlt keeps each dataset of an SQLite destination in a file of its
        // own beside the one named (`dlt__dlt_peer.db`, its staging too).
        DatabaseUrl::Sqlite(_) => std::fs::read_dir(work.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".db"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum(),
        DatabaseUrl::Postgres(_) => size(&db).await.saturating_sub(before),
    };
    push(
        rows,
        backend,
        &format!(
            "dlt {} `rest_api`, leads, first load, pages of {page}",
            report["version"].as_str().unwrap_or("?")
        ),
        loaded,
        report["seconds"].as_f64().unwrap(),
        cpu,
        Some(grew as f64 / 1024.0 / 1024.0),
        0.0,
    );
}

/// The ten text columns of lead `i`, as the fake serves them.
fn plain_columns(i: usize) -> [String; 10] {
    let l = lead(i);
    [
        "id",
        "name",
        "email",
        "phone",
        "title",
        "company",
        "domain",
        "country",
        "message",
        "updated_at",
    ]
    .map(|k| l[k].as_str().unwrap_or_default().to_owned())
}

const PLAIN_TABLE: &str = "CREATE TABLE plain_leads (id text PRIMARY KEY, name text, email text, \
    phone text, title text, company text, domain text, country text, message text, updated_at text)";

/// The ceilings, each into a fresh database: the rows into a plain table,
/// and into `leads` with its indexes.
async fn ceilings(rows: &mut Vec<Row>, backend: &'static str, n: usize) {
    let db = fresh(backend).await;
    measure(
        rows,
        backend,
        "bulk insert into a plain table (ceiling)",
        Some(&db),
        async { bulk(&db, n, Target::Plain).await },
    )
    .await;
    let db = fresh(backend).await;
    let (ws, vendor) = tenants(&db.store).await;
    measure(
        rows,
        backend,
        "bulk insert into `leads` with its indexes (ceiling)",
        Some(&db),
        async { bulk(&db, n, Target::Leads(ws, vendor)).await },
    )
    .await;
}

#[derive(Clone, Copy)]
enum Target {
    Plain,
    Leads(WorkspaceId, VendorId),
}

/// The columns of lead `i` as the engine writes them into `leads`.
fn lead_row(i: usize, ws: WorkspaceId, vendor: VendorId, at: &str) -> Vec<String> {
    let c = plain_columns(i);
    let contact = json!({"name": c[1], "email": c[2], "phone": c[3], "title": c[4]});
    let company = json!({"name": c[5], "domain": c[6], "country": c[7]});
    vec![
        ws.as_uuid().to_string(),
        LeadId::new().as_uuid().to_string(),
        vendor.as_uuid().to_string(),
        c[0].clone(),
        "vendor".into(),
        "new".into(),
        contact.to_string(),
        company.to_string(),
        c[8].clone(),
        at.into(),
        at.into(),
        format!("{}\n{}\n{}", c[1].to_lowercase(), c[2], c[5].to_lowercase()),
    ]
}

const LEAD_COLUMNS: &str = "workspace_id, id, vendor_id, external_id, source, status, contact, \
    company, message, created_at, updated_at, search_text";

/// One transaction: SQLite, `INSERT`s of 500 rows; PostgreSQL, `COPY` as
/// the superuser.
async fn bulk(db: &TestDb, n: usize, target: Target) -> u64 {
    let at = chrono::Utc::now();
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            match target {
                Target::Plain => {
                    sqlx::query(PLAIN_TABLE).execute(&mut *tx).await.unwrap();
                    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
                        let mut q =
                            sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO plain_leads ");
                        q.push_values(chunk, |mut b, &i| {
                            for c in plain_columns(i) {
                                b.push_bind(c);
                            }
                        });
                        q.build().execute(&mut *tx).await.unwrap();
                    }
                }
                Target::Leads(ws, vendor) => {
                    let uuid = |s: &str| s.parse::<uuid::Uuid>().unwrap();
                    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
                        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
                            "INSERT INTO leads ({LEAD_COLUMNS}) "
                        ));
                        q.push_values(chunk, |mut b, &i| {
                            let c = lead_row(i, ws, vendor, "");
                            b.push_bind(uuid(&c[0]))
                                .push_bind(uuid(&c[1]))
                                .push_bind(uuid(&c[2]));
                            for f in &c[3..9] {
                                b.push_bind(f.clone());
                            }
                            b.push_bind(at).push_bind(at).push_bind(c[11].clone());
                        });
                        q.build().execute(&mut *tx).await.unwrap();
                    }
                }
            }
            tx.commit().await.unwrap();
            pool.close().await;
        }
        DatabaseUrl::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&db.postgres_superuser_url().unwrap())
                .await
                .unwrap();
            let mut conn = pool.acquire().await.unwrap();
            let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
            let (statement, lines): (String, Vec<Vec<String>>) = match target {
                Target::Plain => {
                    sqlx::query(PLAIN_TABLE).execute(&mut *tx).await.unwrap();
                    (
                        "COPY plain_leads FROM STDIN".into(),
                        (0..n).map(|i| plain_columns(i).to_vec()).collect(),
                    )
                }
                Target::Leads(ws, vendor) => {
                    let at = at.to_rfc3339();
                    (
                        format!("COPY leads ({LEAD_COLUMNS}) FROM STDIN"),
                        (0..n).map(|i| lead_row(i, ws, vendor, &at)).collect(),
                    )
                }
            };
            let mut copy = tx.copy_in_raw(&statement).await.unwrap();
            let mut buf = String::new();
            for line in lines {
                let escaped: Vec<String> = line
                    .iter()
                    .map(|f| {
                        f.replace('\\', "\\\\")
                            .replace('\n', "\\n")
                            .replace('\t', "\\t")
                    })
                    .collect();
                buf.push_str(&escaped.join("\t"));
                buf.push('\n');
                if buf.len() > 1 << 20 {
                    copy.send(buf.as_bytes()).await.unwrap();
                    buf.clear();
                }
            }
            copy.send(buf.as_bytes()).await.unwrap();
            copy.finish().await.unwrap();
            tx.commit().await.unwrap();
            drop(conn);
            pool.close().await;
        }
    }
    n as u64
}

async fn backend(
    rows: &mut Vec<Row>,
    backend: &'static str,
    n: usize,
    dlt: &Result<String, String>,
) {
    let base = fake_vendor(n).await;
    for page in PAGES {
        Box::pin(engine_phases(rows, backend, &base, page, n)).await;
        match dlt {
            Ok(_) => dlt_phase(rows, backend, &base, page, n).await,
            Err(why) => println!("  {backend} dlt: skipped: {why}"),
        }
    }
    ceilings(rows, backend, n).await;
}

fn main() {
    let n = records();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dlt = dlt_available();
    let mut rows = Vec::new();
    runtime.block_on(async {
        println!("syncing {n} leads and {n} price items");
        Box::pin(backend(&mut rows, "sqlite", n, &dlt)).await;
        match TestDb::postgres().await {
            Some(_) => Box::pin(backend(&mut rows, "postgres", n, &dlt)).await,
            None => println!("postgres: skipped (see above)"),
        }
    });
    println!();
    println!(
        "| backend | phase | records | seconds | records/s | database CPU | disk growth | peak RSS above start |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.2} | {:.0} | {} | {} | {:.1} MiB |",
            r.backend,
            r.phase,
            r.records,
            r.seconds,
            r.records as f64 / r.seconds,
            if r.cpu.is_nan() {
                "–".to_owned()
            } else {
                format!("{:.1} s", r.cpu)
            },
            r.grew_mib.map_or("–".to_owned(), |g| format!("{g:.1} MiB")),
            r.peak_mib
        );
    }
}
