//! Syncs as the operator and the partner run them: `onepane sync run`
//! killed part-way (the process, with SIGKILL) and run again ends with
//! exactly the source's records, resuming where it stopped; `sync status`
//! lists both runs; a CSV upload is applied whole or not at all.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use onepane_domain::workspace::{ConnectionTarget, NewConnection};
use onepane_domain::{ConnectionId, VendorId, WorkspaceId};
use onepane_store::{DatabaseUrl, Store, StoreOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, Workdir};
use crate::world::{World, on_both_backends};

const PAGES: usize = 40;
const PER_PAGE: usize = 50;

/// Pages of leads, each a little slow, recording the cursors asked for.
async fn slow_vendor(asked: Arc<Mutex<Vec<usize>>>) -> SocketAddr {
    async fn leads(
        State(asked): State<Arc<Mutex<Vec<usize>>>>,
        Query(q): Query<HashMap<String, String>>,
    ) -> Json<Value> {
        let page: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        asked.lock().unwrap().push(page);
        tokio::time::sleep(Duration::from_millis(60)).await;
        let data: Vec<Value> = (page * PER_PAGE..(page + 1) * PER_PAGE)
            .map(|i| json!({"id": format!("K-{i}"), "name": format!("Person {i}")}))
            .collect();
        let next = (page + 1 < PAGES).then(|| (page + 1).to_string());
        Json(json!({"data": data, "next": next, "total": PAGES * PER_PAGE}))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/leads", get(leads)).with_state(asked);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn leads_manifest(base: &str) -> Value {
    json!({
        "version": 1,
        "base_url": base,
        "auth": {"type": "none"},
        "streams": {"leads": {
            "path": "/leads", "records": "/data", "total": "/total",
            "pagination": {"type": "cursor", "cursor": "/next", "param": "cursor"},
            "map": {"external_id": "/id", "contact": {"name": "/name"}}
        }}
    })
}

async fn all_leads(store: &Store, ws: WorkspaceId) -> Vec<onepane_domain::lead::Lead> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .partner(ws)
            .leads(
                &Default::default(),
                onepane_store::Page { after, limit: 500 },
            )
            .await
            .unwrap();
        let done = page.len() < 500;
        after = page.last().map(|l| l.id);
        all.extend(page);
        if done {
            return all;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_way_resumes_and_ends_with_exactly_the_sources_records() {
    let work = Workdir::new();
    let run = |args: &[&str]| work.run_with(args, &[("ONEPANE_OUTBOUND_ALLOW", "127.0.0.0/8")]);
    let ws: WorkspaceId = run(&[
        "admin",
        "create-workspace",
        "--name",
        "Acme Oy",
        "--owner-email",
        "o@acme.fi",
        "--json",
    ])
    .json()["workspace_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let vendor: VendorId =
        run(&["admin", "create-vendor", "--name", "Canon", "--json"]).json()["vendor_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    run(&[
        "admin",
        "link",
        "--workspace",
        &ws.to_string(),
        "--vendor",
        &vendor.to_string(),
        "--tier",
        "gold",
        "--partner-type",
        "var",
    ])
    .ok();

    let asked = Arc::default();
    let addr = slow_vendor(Arc::clone(&asked)).await;
    let store = Store::connect(
        &DatabaseUrl::in_data_dir(&work.data_dir()),
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    let id = ConnectionId::new();
    store
        .partner(ws)
        .create_connection_with(
            id,
            &NewConnection {
                target: ConnectionTarget::VendorSource { vendor_id: vendor },
                connector: "rest".parse().unwrap(),
                name: "Canon portal".parse().unwrap(),
                schedule: None,
                settings: json!({"manifest": leads_manifest(&format!("http://{addr}"))}),
            },
            &[],
        )
        .await
        .unwrap();

    // The first run is killed once a dozen pages have been served.
    let mut child = work
        .command()
        .args(["sync", "run", "--connection", &id.to_string()])
        .env("ONEPANE_OUTBOUND_ALLOW", "127.0.0.0/8")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while asked.lock().unwrap().len() < 12 {
        assert!(Instant::now() < deadline, "the vendor was never asked");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let served_before = asked.lock().unwrap().len();
    let partial = all_leads(&store, ws).await.len();
    assert!(
        partial > 0 && partial < PAGES * PER_PAGE,
        "{partial} leads after the kill"
    );
    assert_eq!(partial % PER_PAGE, 0, "pages are committed whole");

    let second = tokio::task::spawn_blocking(move || {
        let out = work.run_with(
            &["sync", "run", "--connection", &id.to_string(), "--json"],
            &[("ONEPANE_OUTBOUND_ALLOW", "127.0.0.0/8")],
        );
        let run = out.json();
        let status = work.run(&["sync", "status", "--json"]).json();
        // The data directory goes back to the test: dropped here, it would
        // delete the database the store still reads from.
        (run, status, work)
    })
    .await
    .unwrap();
    let (finished, status, _work) = second;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    // It resumed at the first page not committed: no committed page asked again.
    let asked = asked.lock().unwrap().clone();
    let resumed_at = asked[served_before];
    assert_eq!(resumed_at, partial / PER_PAGE, "asked {asked:?}");
    assert_eq!(
        finished["created"].as_u64().unwrap() as usize,
        PAGES * PER_PAGE - partial
    );

    let all = all_leads(&store, ws).await;
    let ids: HashSet<String> = all
        .iter()
        .map(|l| l.external_id.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), PAGES * PER_PAGE, "nothing doubled");
    assert_eq!(
        ids,
        (0..PAGES * PER_PAGE)
            .map(|i| format!("K-{i}"))
            .collect::<HashSet<_>>(),
        "nothing lost"
    );
    let runs = status.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{status}");
    assert_eq!(runs[0]["status"], "succeeded");
    store.close().await;
}

async fn a_csv_upload_is_applied_whole_or_not_at_all(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let (status, created) = w
        .call(Method::POST, "/api/v1/connections", &w.gold.token, Some(json!({
            "target": {"purpose": "vendor-source", "vendor_id": w.v1.id},
            "connector": "csv", "name": "Price file",
            "settings": {"stream": "price_items", "price_list": {"external_id": "PL-1", "terms": {"name": "2026", "currency": "EUR"}}}
        })))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap().to_owned();
    let upload = |body: &'static str| {
        w.request(
            Method::POST,
            &format!("/api/v1/connections/{id}/upload"),
            &w.gold.token,
        )
        .header("content-type", "text/csv")
        .body(body)
        .send()
    };
    let items = || async {
        let (_, page) = w
            .call(
                Method::GET,
                "/api/v1/price-items?limit=100",
                &w.gold.token,
                None,
            )
            .await;
        let mut skus: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["sku"].as_str().unwrap().to_owned())
            .collect();
        skus.sort();
        skus
    };

    let (status, problem) = crate::world::read(
        upload("sku,name,list_price\nA-1,Printer,100.00\nA-2,,12\nA-3,Toner,twelve\n")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["line 3", "line 4"], "{problem}");
    assert!(items().await.is_empty(), "nothing was applied");

    let (status, run) = crate::world::read(
        upload("sku,name,list_price\nA-1,Printer,100.00\nA-2,Toner,12.50\nA-3,Drum,80\n")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["created"], 4, "the list and its three items: {run}");
    assert_eq!(items().await, ["A-1", "A-2", "A-3"]);

    let response = w
        .request(
            Method::POST,
            &format!("/api/v1/connections/{id}/upload"),
            &w.gold.token,
        )
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    // A new file without A-2: it is removed, A-1's new price applies.
    let (status, run) = crate::world::read(
        upload("sku,name,list_price\nA-1,Printer,90.00\nA-3,Drum,80\n")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        (
            run["updated"].as_u64(),
            run["unchanged"].as_u64(),
            run["deleted"].as_u64()
        ),
        (Some(1), Some(2), Some(1)),
        "{run}"
    );
    assert_eq!(items().await, ["A-1", "A-3"]);
}

on_both_backends!(a_csv_upload_is_applied_whole_or_not_at_all);
