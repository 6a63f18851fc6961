//! Deliveries to vendors under load, on each backend: 1,000 deal
//! registrations submitted back to back across 20 vendors, each reached
//! through its own partner API (a `rest` connection with a `register_deal`
//! action and a `deal_status` stream) served by one local fake over real
//! HTTP. Measured:
//!
//! 1. submit → at the vendor: from the partner's submit returning to the
//!    fake receiving the registration, p50 and p99, and the outbox's
//!    throughput (registrations at the vendors per second, from the first
//!    submit to the last arrival), with the server's own deliverer settings
//!    (one deliverer, woken by each submit as the server's handlers wake it,
//!    else polling every second, eight sends at once);
//! 2. decision → notification: the fake marks every registration approved,
//!    then each vendor's source syncs once (all 20 at once, as their
//!    schedules would fire); from the vendors' decision to the partner's
//!    registration decided and notified, p50 and p99. The schedule's own
//!    wait (15 minutes by default) comes on top in production.
//!
//! A plain `main` printing a Markdown table: run with
//! `cargo bench -p onepane-sync --bench deliveries`; PostgreSQL is measured
//! when ONEPANE_TEST_DATABASE_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres) answers.
//! `ONEPANE_BENCH_REGISTRATIONS` changes the count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use onepane_connector::{AddressPolicy, ClientConfig};
use onepane_domain::activity::NotificationKind;
use onepane_domain::deal::DealStatus;
use onepane_domain::workspace::{ConnectionTarget, NewConnection};
use onepane_domain::{ConnectionId, Tier, VendorId, WorkspaceId};
use onepane_store::Store;
use onepane_store::testing::TestDb;
use onepane_store::testing::content::{deal, name};
use onepane_store::testing::tenants::{link, vendor, workspace};
use onepane_sync::{Deliverer, Engine, EngineConfig, Vault};
use serde_json::{Value, json};

const VENDORS: usize = 20;

fn registrations() -> usize {
    std::env::var("ONEPANE_BENCH_REGISTRATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

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

// ---- the vendors' partner APIs ------------------------------------------------------

/// Every vendor's registrations, by vendor number and idempotency key:
/// Onepane's id, the vendor's id, when it arrived, and its state.
#[derive(Default)]
struct Fake {
    held: HashMap<usize, HashMap<String, (String, String, Instant)>>,
    approved: bool,
    count: usize,
}

type Shared = Arc<Mutex<Fake>>;

async fn take(
    State(s): State<Shared>,
    Path(v): Path<usize>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|k| k.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut s = s.lock().unwrap();
    s.count += 1;
    let n = s.count;
    let reference = body["partner_reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, id, _) = s
        .held
        .entry(v)
        .or_default()
        .entry(key)
        .or_insert_with(|| (reference, format!("DR-{n}"), Instant::now()))
        .clone();
    (
        StatusCode::CREATED,
        axum::Json(json!({"data": {"id": id, "state": "PENDING"}})),
    )
        .into_response()
}

async fn list(State(s): State<Shared>, Path(v): Path<usize>) -> Response {
    let s = s.lock().unwrap();
    let state = if s.approved { "APPROVED" } else { "PENDING" };
    let results: Vec<Value> = s
        .held
        .get(&v)
        .map(|h| {
            h.values()
                .map(|(reference, id, _)| {
                    json!({"id": id, "partner_reference": reference, "state": state,
                           "decision_note": "Protected", "protected_until": "2099-12-31"})
                })
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({"results": results})).into_response()
}

async fn fake() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/v/{v}/deal-registrations", post(take).get(list))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

/// A vendor's partner API, as its manifest describes it: registrations
/// posted with an idempotency key, their decisions read back in pages of
/// 1,000.
fn manifest(base: &str, v: usize) -> Value {
    json!({
        "version": 1,
        "base_url": format!("{base}/v/{v}"),
        "auth": {"type": "none"},
        "streams": {
            "deal_status": {
                "path": "/deal-registrations",
                "records": "/results",
                "map": {
                    "registration": "/partner_reference",
                    "vendor_ref": "/id",
                    "status": {"$pointer": "/state", "$values": {"PENDING": "submitted", "APPROVED": "approved"}},
                    "reason": "/decision_note",
                    "protection_expires_on": "/protected_until"
                }
            }
        },
        "actions": {
            "register_deal": {
                "path": "/deal-registrations",
                "idempotency_header": "Idempotency-Key",
                "body": {"partner_reference": "/id", "name": "/title", "value": "/amount"},
                "vendor_ref": "/data/id"
            }
        }
    })
}

// ---- measuring ----------------------------------------------------------------------

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Row {
    backend: &'static str,
    phase: &'static str,
    n: usize,
    p50_ms: f64,
    p99_ms: f64,
    per_second: Option<f64>,
}

async fn run(rows: &mut Vec<Row>, backend: &'static str, db: TestDb) {
    let n = registrations();
    let store = db.store.clone();
    let ws: WorkspaceId = workspace(&store, "Reseller Oy").await;
    let (base, state) = fake().await;
    let mut vendors: Vec<(VendorId, ConnectionId)> = Vec::with_capacity(VENDORS);
    for v in 0..VENDORS {
        let vendor_id = vendor(&store, &format!("Vendor {v}")).await;
        link(&store, ws, vendor_id, Tier::Gold).await;
        let conn = store
            .partner(ws)
            .create_connection_with(
                ConnectionId::new(),
                &NewConnection {
                    target: ConnectionTarget::VendorSource { vendor_id },
                    connector: name("rest"),
                    name: name(&format!("Vendor {v} API")),
                    schedule: None,
                    settings: json!({"manifest": manifest(&base, v)}),
                },
                &[],
            )
            .await
            .unwrap();
        vendors.push((vendor_id, conn.id));
    }
    let engine = engine(&store);
    // The server's deliverer, as it runs beside the sync workers.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let wake = Arc::new(tokio::sync::Notify::new());
    let deliverer = tokio::spawn(Deliverer::new(engine.clone(), Duration::from_secs(60)).run(
        Duration::from_secs(1),
        wake.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));

    // 1. Submit every registration back to back; time each to its arrival.
    let partner = store.partner(ws);
    let mut submitted: HashMap<String, Instant> = HashMap::with_capacity(n);
    let first = Instant::now();
    for i in 0..n {
        let (vendor_id, _) = vendors[i % VENDORS];
        let reg = partner
            .register_deal(vendor_id, &deal(&format!("Deal {i}")), None, None)
            .await
            .unwrap();
        submitted.insert(reg.id.to_string(), Instant::now());
        // As the server's handler does after a registration.
        wake.notify_one();
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let arrived: usize = state.lock().unwrap().held.values().map(HashMap::len).sum();
        if arrived >= n {
            break;
        }
        assert!(Instant::now() < deadline, "only {arrived} of {n} arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut latencies, last) = {
        let s = state.lock().unwrap();
        let mut latencies = Vec::with_capacity(n);
        let mut last = first;
        for held in s.held.values() {
            for (reference, _, at) in held.values() {
                let sent = submitted[reference];
                latencies.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
                last = last.max(*at);
            }
        }
        (latencies, last)
    };
    assert_eq!(latencies.len(), n, "each registration arrived once");
    latencies.sort_by(f64::total_cmp);
    rows.push(Row {
        backend,
        phase: "submit → at the vendor",
        n,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        per_second: Some(n as f64 / last.duration_since(first).as_secs_f64()),
    });
    let _ = stop_tx.send(());
    let _ = deliverer.await;

    // 2. Every vendor approves; each source syncs once, all at once.
    state.lock().unwrap().approved = true;
    let decided_from = chrono::Utc::now();
    let started = Instant::now();
    let mut syncs = tokio::task::JoinSet::new();
    for (_, conn_id) in &vendors {
        let engine = engine.clone();
        let conn = store.system().connection(ws, *conn_id).await.unwrap();
        syncs.spawn(async move { engine.run(&conn, None, &()).await.map(drop) });
    }
    while let Some(done) = syncs.join_next().await {
        done.unwrap().unwrap();
    }
    let all_synced = started.elapsed().as_secs_f64();
    let regs = partner.deal_registrations().await.unwrap();
    let mut decided: Vec<f64> = regs
        .iter()
        .filter(|r| r.status == DealStatus::Approved)
        .filter_map(|r| r.decided_at)
        .map(|at| (at - decided_from).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        .collect();
    assert_eq!(decided.len(), n, "every registration was decided");
    let notified = partner
        .notifications(false)
        .await
        .unwrap()
        .iter()
        .filter(|x| x.kind == NotificationKind::DealDecided)
        .count();
    assert!(
        notified >= n.min(200),
        "the partner was notified ({notified})"
    );
    decided.sort_by(f64::total_cmp);
    rows.push(Row {
        backend,
        phase: "decision → notified (20 syncs at once)",
        n,
        p50_ms: percentile(&decided, 50.0),
        p99_ms: percentile(&decided, 99.0),
        per_second: Some(n as f64 / all_synced),
    });
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    runtime.block_on(async {
        println!("{} registrations across {VENDORS} vendors", registrations());
        Box::pin(run(&mut rows, "sqlite", TestDb::sqlite().await)).await;
        match TestDb::postgres().await {
            Some(db) => Box::pin(run(&mut rows, "postgres", db)).await,
            None => println!("postgres: skipped (see above)"),
        }
    });
    println!();
    println!("| backend | phase | registrations | p50 | p99 | per second |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.0} ms | {:.0} ms | {} |",
            r.backend,
            r.phase,
            r.n,
            r.p50_ms,
            r.p99_ms,
            r.per_second.map_or("–".to_owned(), |p| format!("{p:.0}")),
        );
    }
}
