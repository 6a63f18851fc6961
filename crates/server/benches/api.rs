//! The API under load, over real HTTP on loopback, on each backend:
//!
//! 1. a vendor pushes a 100,000-item price list (two uploads of 50,000,
//!    the most one request takes);
//! 2. the vendor sends 100,000 leads, one request each, 8 in flight;
//! 3. the partner reads its price items sorted by margin: once cold (every
//!    item read and priced by the margin engine), then 50 times warm (the
//!    priced items cached until anything they depend on changes).
//!
//! Throughput and p50/p99 latency are printed as a Markdown table. Run
//! with `cargo bench -p onepane-server --bench api`; PostgreSQL is measured when
//! ONEPANE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
//! answers, and skipped with the reason otherwise. `ONEPANE_BENCH_LEADS`
//! and `ONEPANE_BENCH_ITEMS` scale the run down for a quick look.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onepane_domain::text::{Locale, Name};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{PartnerType, Tier, VendorKind};
use onepane_server::Config;
use onepane_server::auth::credentials::{ACCESS_TOKEN_PREFIX, random_secret, token_digest};
use onepane_store::Store;
use onepane_store::testing::TestDb;
use onepane_store::testing::tenants;
use serde_json::json;
use support::{Served, scale, vendor_token};

const IN_FLIGHT: usize = 8;
const READS: usize = 50;
const UPLOAD: usize = 50_000;

struct Row {
    what: String,
    backend: &'static str,
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    unit: &'static str,
}

impl Row {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| -> String {
            if self.latencies.is_empty() {
                return "—".into();
            }
            let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            format_duration(self.latencies[i])
        };
        println!(
            "| {} | {} | {} {} in {:.2} s | {:.0} {}/s | {} | {} |",
            self.what,
            self.backend,
            self.count,
            self.unit,
            self.elapsed.as_secs_f64(),
            self.count as f64 / self.elapsed.as_secs_f64(),
            self.unit,
            pct(0.50),
            pct(0.99),
        );
    }
}

fn format_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

struct Setup {
    addr: SocketAddr,
    vendor_token: String,
    partner_token: String,
    workspace: String,
}

async fn setup(store: &Store, addr: SocketAddr, client: &reqwest::Client) -> Setup {
    let op = store.operator();
    let (ws, _) = op
        .create_workspace(&NewWorkspace {
            locale: Locale::parse("en").unwrap(),
            ..tenants::new_workspace("Bench Oy")
        })
        .await
        .unwrap();
    let vendor = op
        .create_vendor(&Name::parse("Bench Vendor").unwrap(), VendorKind::Vendor)
        .await
        .unwrap();
    op.link(ws.id, vendor.id, Tier::Gold, PartnerType::Var)
        .await
        .unwrap();
    let pat = random_secret(ACCESS_TOKEN_PREFIX).unwrap();
    op.create_access_token(
        ws.id,
        &tenants::owner_email("Bench Oy"),
        &Name::parse("bench").unwrap(),
        &token_digest(&pat),
    )
    .await
    .unwrap();
    Setup {
        addr,
        vendor_token: vendor_token(store, client, addr, vendor.id).await,
        partner_token: pat,
        workspace: ws.id.to_string(),
    }
}

async fn run(backend: &'static str, config: Config, store_for_setup: Option<TestDb>) {
    let served = Served::start(&config).await;
    let (addr, store) = (served.addr, served.store.clone());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let s = setup(&store, addr, &client).await;
    let items = scale("ONEPANE_BENCH_ITEMS", 100_000);
    let leads = scale("ONEPANE_BENCH_LEADS", 100_000);

    // 1. The price list, in uploads of at most 50,000 items.
    let mut latencies = Vec::new();
    let started = Instant::now();
    let lists = items.div_ceil(UPLOAD);
    for list in 0..lists {
        let url = format!("http://{}/api/v1/vendor/price-lists/list-{list}", s.addr);
        let terms = json!({"name": format!("List {list}"), "currency": "EUR",
            "tier_discounts": [{"tier": "gold", "discount": "18.5"}]});
        let r = client
            .put(&url)
            .bearer_auth(&s.vendor_token)
            .json(&terms)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let n = UPLOAD.min(items - list * UPLOAD);
        let mut body = String::with_capacity(n * 110);
        for i in 0..n {
            let category = ["printers", "toner", "paper", "service"][i % 4];
            let price = format!("{}.{:02}", 5 + (i * 7919) % 5000, i % 100);
            body.push_str(
                &json!({"sku": format!("L{list}-{i:06}"), "name": format!("Product {i}"),
                    "category": category, "list_price": price,
                    "volume_breaks": [{"min_quantity": 10, "discount": "3"}]})
                .to_string(),
            );
            body.push('\n');
        }
        let t = Instant::now();
        let r = client
            .put(format!("{url}/items"))
            .bearer_auth(&s.vendor_token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        latencies.push(t.elapsed());
    }
    Row {
        what: format!("vendor pushes a {items}-item price list (uploads of 50,000)"),
        backend,
        count: items,
        elapsed: started.elapsed(),
        latencies,
        unit: "items",
    }
    .print();

    // 2. Leads, one request each, IN_FLIGHT at a time.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (client, next) = (client.clone(), Arc::clone(&next));
        let url = format!(
            "http://{}/api/v1/vendor/partners/{}/leads",
            s.addr, s.workspace
        );
        let token = s.vendor_token.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= leads {
                    return latencies;
                }
                let lead = json!({"external_id": format!("crm-{i}"),
                    "contact": {"name": format!("Contact {i}"), "email": format!("c{i}@customer.example")},
                    "company": {"name": format!("Customer {} Oy", i % 977), "country": "FI"}});
                let t = Instant::now();
                let r = client.post(&url).bearer_auth(&token).json(&lead).send().await.unwrap();
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Row {
        what: format!("vendor sends {leads} leads, one request each, {IN_FLIGHT} in flight"),
        backend,
        count: leads,
        elapsed: started.elapsed(),
        latencies,
        unit: "leads",
    }
    .print();

    // 3. The partner's price items sorted by margin: the first read prices
    // every item; later ones find the priced items in the cache.
    let url = format!("http://{}/api/v1/price-items?sort=margin&limit=50", s.addr);
    let read = |client: reqwest::Client, url: String, token: String| async move {
        let t = Instant::now();
        let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let page: serde_json::Value = r.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 50);
        t.elapsed()
    };
    let cold = read(client.clone(), url.clone(), s.partner_token.clone()).await;
    Row {
        what: format!(
            "partner reads the top 50 of {items} items by margin, first read (prices every item)"
        ),
        backend,
        count: 1,
        elapsed: cold,
        latencies: vec![cold],
        unit: "pages",
    }
    .print();
    let mut latencies = Vec::new();
    let started = Instant::now();
    for _ in 0..READS {
        latencies.push(read(client.clone(), url.clone(), s.partner_token.clone()).await);
    }
    Row {
        what: format!(
            "partner reads the top 50 of {items} items by margin, again (priced items cached)"
        ),
        backend,
        count: READS,
        elapsed: started.elapsed(),
        latencies,
        unit: "pages",
    }
    .print();

    served.stop().await;
    drop(store_for_setup);
}

fn main() {
    support::on_each_backend(
        &[
            "| benchmark | backend | volume | throughput | p50 | p99 |",
            "|---|---|---|---|---|---|",
        ],
        Config::default(),
        run,
    );
}
