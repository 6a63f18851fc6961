//! The sync engine's throughput on each backend, against a local fake
//! vendor that pages its records 1,000 at a time over real HTTP:
//!
//! 1. a first sync of 200,000 leads (one connection) and of one price list
//!    of 200,000 items (another connection): every record created;
//! 2. the same syncs again with nothing changed: every record read, hashed
//!    and found unchanged (both streams are full refresh here, so the
//!    re-sync reads everything: the worst case of "nothing changed");
//! 3. the ceiling: the same rows written without the engine into a fresh
//!    database: leads as multi-row `INSERT`s of 1,000 (one transaction
//!    each), items through the vendor API's `put_price_list_items`.
//!
//! Each phase prints records per second and the peak resident memory above
//! what the process held when it started (VmHWM is reset before each phase
//! through `/proc/self/clear_refs`). Each run is long, so this is a plain
//! `main` printing a Markdown table, not criterion's statistics. Run with
//! `cargo bench -p onepane-sync --bench sync`; PostgreSQL is measured when
//! ONEPANE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! answers. `ONEPANE_BENCH_RECORDS` scales both streams down for a quick look.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::http::Uri;
use axum::routing::get;
use onepane_connector::{AddressPolicy, ClientConfig};
use onepane_domain::price::{Price, PriceItemInput, PriceListTerms};
use onepane_domain::text::{ExternalId, Sku};
use onepane_domain::workspace::NewConnection;
use onepane_domain::{Currency, LeadId, Tier, VendorId, WorkspaceId};
use onepane_store::testing::TestDb;
use onepane_store::testing::content::name;
use onepane_store::testing::tenants::{linked, vendor_source};
use onepane_store::{DatabaseUrl, Store, SyncRun};
use onepane_sync::{Engine, EngineConfig, Vault};
use serde_json::{Value, json};

const PAGE: usize = 1_000;

fn records() -> usize {
    std::env::var("ONEPANE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

// ---- memory -----------------------------------------------------------------

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

// ---- the fake vendor ----------------------------------------------------------

fn lead(i: usize) -> Value {
    json!({"id": format!("L-{i:07}"), "name": format!("Person {i}"),
           "email": format!("person{i}@customer.example"), "company": format!("Customer {i} Oy")})
}

fn cents(i: usize) -> usize {
    1_000 + (i * 7_919) % 90_000
}

fn item(i: usize) -> Value {
    let c = cents(i);
    json!({"list": "PL-0", "sku": format!("SKU-{i:07}"), "name": format!("Item {i}"),
           "price": format!("{}.{:02}", c / 100, c % 100)})
}

/// Pages made on demand, so that the fake holds nothing: `GET /leads`,
/// `/price-lists` and `/price-items` with `cursor=p<n>`.
async fn fake_vendor(n: usize) -> String {
    let app = Router::new().fallback(get(
        move |uri: Uri, Query(q): Query<HashMap<String, String>>| async move {
            let page: usize = q
                .get("cursor")
                .and_then(|c| c.strip_prefix('p'))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let (total, make): (usize, fn(usize) -> Value) = match uri.path() {
                "/leads" => (n, lead),
                "/price-items" => (n, item),
                _ => (
                    1,
                    |_| json!({"code": "PL-0", "name": "2026 list", "currency": "EUR"}),
                ),
            };
            let start = page * PAGE;
            let end = (start + PAGE).min(total);
            let data: Vec<Value> = (start..end).map(make).collect();
            let next = (end < total).then(|| format!("p{}", page + 1));
            axum::Json(json!({"data": data, "next_cursor": next, "total": total}))
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn manifest(base: &str, streams: &[&str]) -> Value {
    let stream = |path: &str, map: Value| {
        json!({"path": path, "params": {"limit": PAGE}, "records": "/data", "total": "/total",
               "pagination": {"type": "cursor", "cursor": "/next_cursor", "param": "cursor"},
               "map": map})
    };
    let all = json!({
        "leads": stream("/leads", json!({"external_id": "/id",
            "contact": {"name": "/name", "email": "/email"}, "company": {"name": "/company"}})),
        "price_lists": stream("/price-lists", json!({"external_id": "/code",
            "terms": {"name": "/name", "currency": "/currency"}})),
        "price_items": stream("/price-items", json!({"price_list": "/list",
            "item": {"sku": "/sku", "name": "/name", "list_price": {"$text": "/price"}}})),
    });
    let chosen: serde_json::Map<String, Value> = streams
        .iter()
        .map(|s| ((*s).to_owned(), all[*s].clone()))
        .collect();
    json!({"version": 1, "base_url": base, "auth": {"type": "none"}, "streams": chosen})
}

// ---- tenants and the engine -----------------------------------------------------

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

fn engine(store: &Store) -> Engine {
    let config = EngineConfig {
        http: ClientConfig {
            timeout: Duration::from_secs(60),
            addresses: AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]),
            ..ClientConfig::default()
        },
        requests_per_second: 1_000_000,
        burst: 1_000_000,
        ..EngineConfig::default()
    };
    Engine::new(store.clone(), Arc::new(Plain), config, "bench".into()).unwrap()
}

// ---- phases -----------------------------------------------------------------------

struct Row {
    backend: &'static str,
    phase: String,
    records: u64,
    seconds: f64,
    peak_mib: f64,
}

async fn measure<F: Future<Output = u64>>(
    rows: &mut Vec<Row>,
    backend: &'static str,
    phase: &str,
    work: F,
) {
    let base = reset_peak();
    let started = Instant::now();
    let records = work.await;
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:").saturating_sub(base);
    let row = Row {
        backend,
        phase: phase.to_owned(),
        records,
        seconds,
        peak_mib: peak as f64 / 1024.0,
    };
    println!(
        "  {backend} {phase}: {records} records in {seconds:.1} s ({:.0}/s), peak +{:.1} MiB",
        records as f64 / seconds,
        row.peak_mib
    );
    rows.push(row);
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

async fn backend(rows: &mut Vec<Row>, backend: &'static str, db: TestDb, fresh: TestDb, n: usize) {
    let store = &db.store;
    let (ws, vendor) = tenants(store).await;
    let base = fake_vendor(n).await;
    let engine = engine(store);
    let mut conns = Vec::new();
    for (label, streams) in [
        ("leads", &["leads"][..]),
        ("price items", &["price_lists", "price_items"][..]),
    ] {
        let conn = store
            .partner(ws)
            .create_connection(&NewConnection {
                settings: json!({"manifest": manifest(&base, streams)}),
                ..vendor_source(vendor, label)
            })
            .await
            .unwrap();
        conns.push((label, conn));
    }
    let lists = |label: &str| u64::from(label == "price items");
    for (label, conn) in &conns {
        let created = n as u64 + lists(label);
        measure(rows, backend, &format!("sync {label}, first"), async {
            check(&engine.run(conn, None, &()).await.unwrap(), created, 0)
        })
        .await;
    }
    for (label, conn) in &conns {
        let unchanged = n as u64 + lists(label);
        measure(rows, backend, &format!("sync {label}, unchanged"), async {
            check(&engine.run(conn, None, &()).await.unwrap(), 0, unchanged)
        })
        .await;
    }

    // The ceiling, on a fresh database of the same schema.
    let (ws, vendor) = tenants(&fresh.store).await;
    measure(rows, backend, "bulk INSERT leads (ceiling)", async {
        bulk_leads(&fresh, ws, vendor, n).await
    })
    .await;
    let items: Vec<PriceItemInput> = (0..n)
        .map(|i| {
            let c = cents(i);
            PriceItemInput {
                sku: Sku::parse(&format!("SKU-{i:07}")).unwrap(),
                name: name(&format!("Item {i}")),
                category: None,
                list_price: Price::new(format!("{}.{:02}", c / 100, c % 100).parse().unwrap())
                    .unwrap(),
                volume_breaks: vec![],
                promotions: vec![],
            }
        })
        .collect();
    let list = ExternalId::parse("PL-0").unwrap();
    let terms = PriceListTerms {
        name: name("2026 list"),
        currency: Currency::EUR,
        validity: Default::default(),
        tier_discounts: vec![],
        promotions: vec![],
    };
    let vendor_store = fresh.store.vendor(vendor);
    measure(rows, backend, "put_price_list_items (ceiling)", async {
        vendor_store
            .put_price_list_terms(&list, &terms)
            .await
            .unwrap();
        vendor_store
            .put_price_list_items(&list, &items)
            .await
            .unwrap();
        n as u64
    })
    .await;
}

/// The leads as the engine would write them, 1,000 rows per `INSERT` and
/// transaction, straight into the table (as the superuser on PostgreSQL).
async fn bulk_leads(db: &TestDb, ws: WorkspaceId, vendor: VendorId, n: usize) -> u64 {
    let at = chrono::Utc::now();
    macro_rules! insert {
        ($db:ty, $pool:expr) => {{
            for chunk in (0..n).collect::<Vec<_>>().chunks(PAGE) {
                let mut tx = $pool.begin().await.unwrap();
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO leads (workspace_id, id, vendor_id, external_id, source, status, \
                     contact_name, contact_email, company_name, contact, company, created_at, updated_at, search_text) ",
                );
                q.push_values(chunk, |mut b, &i| {
                    let person = format!("Person {i}");
                    let email = format!("person{i}@customer.example");
                    let company = format!("Customer {i} Oy");
                    b.push_bind(ws.as_uuid())
                        .push_bind(LeadId::new().as_uuid())
                        .push_bind(vendor.as_uuid())
                        .push_bind(format!("L-{i:07}"))
                        .push_bind("vendor")
                        .push_bind("new")
                        .push_bind(person.clone())
                        .push_bind(email.clone())
                        .push_bind(company.clone())
                        .push_bind(sqlx::types::Json(json!({"name": person, "email": email, "phone": null, "title": null})))
                        .push_bind(sqlx::types::Json(json!({"name": company, "domain": null, "country": null})))
                        .push_bind(at)
                        .push_bind(at)
                        .push_bind(format!("{} {} {}", person.to_lowercase(), email, company.to_lowercase()));
                });
                q.build().execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        }};
    }
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            insert!(sqlx::Sqlite, pool);
            pool.close().await;
        }
        DatabaseUrl::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&db.postgres_superuser_url().unwrap())
                .await
                .unwrap();
            insert!(sqlx::Postgres, pool);
            pool.close().await;
        }
    }
    n as u64
}

fn main() {
    let n = records();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    runtime.block_on(async {
        println!("syncing {n} leads and {n} price items, pages of {PAGE}");
        backend(
            &mut rows,
            "sqlite",
            TestDb::sqlite().await,
            TestDb::sqlite().await,
            n,
        )
        .await;
        match (TestDb::postgres().await, TestDb::postgres().await) {
            (Some(db), Some(fresh)) => backend(&mut rows, "postgres", db, fresh, n).await,
            _ => println!("postgres: skipped (see above)"),
        }
    });
    println!();
    println!("| backend | phase | records | seconds | records/s | peak RSS above start |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.1} MiB |",
            r.backend,
            r.phase,
            r.records,
            r.seconds,
            r.records as f64 / r.seconds,
            r.peak_mib
        );
    }
}
