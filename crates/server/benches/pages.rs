//! Every page of the partner portal with a full workspace, over real HTTP
//! on loopback, on each backend: 100,000 leads (vendor-sent, 2,000 of them
//! from campaign landing pages), 100,000 price items, 500 deal
//! registrations, 12 campaigns, 30 assets and a notification per lead.
//!
//! Each page is read once to warm up, then `READS` times; the p50 and p99
//! of the time to the last byte are printed as a Markdown table. The price
//! pages' first read (every item priced by the margin engine) is printed
//! on its own line. Run with `cargo bench -p onepane-server --bench pages`;
//! PostgreSQL is measured when ONEPANE_TEST_DATABASE_URL answers.
//! `ONEPANE_BENCH_LEADS` and `ONEPANE_BENCH_ITEMS` scale the run down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use onepane_domain::deal::DealDetails;
use onepane_domain::lead::{Company, ConsentAnswer, Contact, NewCampaignLead, NewVendorLead};
use onepane_domain::text::{Email, Locale, Name};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{Currency, Money, PartnerType, Tier, VendorId, VendorKind};
use onepane_server::Config;
use onepane_server::auth::credentials::{random_secret, token_digest};
use onepane_store::testing::tenants;
use onepane_store::testing::{TEST_OWNER_ROLE, TestDb};
use onepane_store::{NewWebSession, Store};
use serde_json::json;
use support::{Served, scale, vendor_token};
use tokio::task::JoinSet;

const READS: usize = 20;
const SEEDERS: usize = 8;
const UPLOAD: usize = 50_000;
const CAMPAIGN_LEADS: usize = 2_000;
const DEALS: usize = 500;

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

struct World {
    addr: SocketAddr,
    workspace: String,
    cookie: String,
    lead: String,
    campaign: String,
    deal: String,
    slug: String,
}

async fn put(client: &reqwest::Client, url: String, token: &str, body: serde_json::Value) {
    let r = client
        .put(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{url}: {}",
        r.text().await.unwrap()
    );
}

async fn seed(store: &Store, addr: SocketAddr, client: &reqwest::Client) -> World {
    let started = Instant::now();
    let op = store.operator();
    let (ws, owner) = op
        .create_workspace(&NewWorkspace {
            locale: Locale::parse("en").unwrap(),
            ..tenants::new_workspace("Bench Oy")
        })
        .await
        .unwrap();
    // Campaigns are activated below: their landing pages need a privacy notice.
    store
        .partner(ws.id)
        .put_profile(&onepane_store::WorkspaceProfile {
            privacy_notice_url: Some(tenants::privacy_notice_url("Bench Oy")),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut vendors = Vec::new();
    for (name, kind, tier) in [
        ("Northwind Networks", VendorKind::Vendor, Tier::Gold),
        ("Contoso Security", VendorKind::Vendor, Tier::Silver),
        (
            "Fabrikam Distribution",
            VendorKind::Distributor,
            Tier::Registered,
        ),
    ] {
        let v = op
            .create_vendor(&Name::parse(name).unwrap(), kind)
            .await
            .unwrap();
        op.link(ws.id, v.id, tier, PartnerType::Var).await.unwrap();
        let token = vendor_token(store, client, addr, v.id).await;
        vendors.push((v.id, token));
    }
    let base = format!("http://{addr}/api/v1/vendor");

    // Campaigns and assets from each vendor.
    for (n, (_, token)) in vendors.iter().enumerate() {
        for c in 0..4 {
            put(client, format!("{base}/campaigns/c{n}-{c}"), token, json!({
                "variants": [
                    {"locale": "en", "name": format!("Campaign {n}-{c}"), "description": "Bench campaign",
                     "landing": {"headline": "Headline", "body": "Body text.", "call_to_action": "Ask"}},
                    {"locale": "fi", "name": format!("Kampanja {n}-{c}"),
                     "landing": {"headline": "Otsikko", "body": "Teksti.", "call_to_action": "Kysy"}}]
            })).await;
        }
        for a in 0..10 {
            put(client, format!("{base}/assets/a{n}-{a}"), token, json!({
                "kind": "email-template", "tags": ["bench", format!("t{}", a % 3)],
                "variants": [{"locale": "en", "title": format!("Asset {n}-{a}"), "body": {"text": "Dear customer, ..."}}]
            })).await;
        }
    }

    // Price items: 100,000 over the three vendors' lists.
    let items = scale("ONEPANE_BENCH_ITEMS", 100_000);
    let mut remaining = items;
    let mut list = 0;
    while remaining > 0 {
        let (_, token) = &vendors[list % vendors.len()];
        let currency = if list % 3 == 1 { "USD" } else { "EUR" };
        let url = format!("{base}/price-lists/list-{list}");
        put(client, url.clone(), token, json!({"name": format!("List {list}"), "currency": currency,
            "tier_discounts": [{"tier": "gold", "discount": "18.5"}, {"tier": "silver", "discount": "12"}, {"tier": "registered", "discount": "6"}]})).await;
        let n = UPLOAD.min(remaining);
        let mut body = String::with_capacity(n * 110);
        for i in 0..n {
            let category = ["printers", "toner", "paper", "service"][i % 4];
            let price = format!("{}.{:02}", 5 + (i * 7919) % 5000, i % 100);
            body.push_str(
                &json!({"sku": format!("L{list}-{i:06}"), "name": format!("Product {i}"),
                "category": category, "list_price": price})
                .to_string(),
            );
            body.push('\n');
        }
        let r = client
            .put(format!("{url}/items"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        remaining -= n;
        list += 1;
    }
    let rate = onepane_domain::price::ExchangeRate::new(
        Currency::USD,
        Currency::EUR,
        "0.92".parse().unwrap(),
        chrono::Utc::now().date_naive(),
    )
    .unwrap();
    store.partner(ws.id).put_exchange_rate(&rate).await.unwrap();

    // Leads: vendor-sent, spread over the vendors.
    let leads = scale("ONEPANE_BENCH_LEADS", 100_000);
    let mut tasks = JoinSet::new();
    for seeder in 0..SEEDERS {
        let store = store.clone();
        let vendor_ids: Vec<VendorId> = vendors.iter().map(|(v, _)| *v).collect();
        let ws = ws.id;
        tasks.spawn(async move {
            for n in (seeder..leads.saturating_sub(CAMPAIGN_LEADS)).step_by(SEEDERS) {
                let vendor = vendor_ids[n % vendor_ids.len()];
                store
                    .vendor(vendor)
                    .send_lead(ws, &vendor_lead(n))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    // Three activated campaigns bring the rest through their landing pages.
    let partner = store.partner(ws.id);
    let campaigns = partner.campaigns().await.unwrap();
    let mut activations = Vec::new();
    for c in campaigns.iter().take(3) {
        activations.push(
            partner
                .activate_campaign(c.id, Some(owner.id))
                .await
                .unwrap(),
        );
    }
    for n in 0..CAMPAIGN_LEADS.min(leads) {
        let a = &activations[n % activations.len()];
        partner
            .capture_campaign_lead(&NewCampaignLead {
                activation_id: a.id,
                contact: contact(n),
                company: Some(company(n)),
                message: None,
                consent: ConsentAnswer::NotAsked,
            })
            .await
            .unwrap();
    }

    // Deal registrations from leads.
    let some = partner
        .leads(
            &Default::default(),
            onepane_store::Page {
                after: None,
                limit: 500,
            },
        )
        .await
        .unwrap();
    let mut deal = None;
    for (n, lead) in some.iter().take(DEALS).enumerate() {
        let Some(vendor) = lead.vendor_id else {
            continue;
        };
        let details = DealDetails {
            title: Name::parse(&format!("Deal {n}")).unwrap(),
            customer: company(n),
            amount: Money::new(
                rust_decimal::Decimal::from(1000 + n as i64 * 37),
                Currency::EUR,
            ),
            products: Vec::new(),
            fields: Default::default(),
        };
        let reg = partner
            .register_deal(vendor, &details, Some(lead.id), Some(owner.id))
            .await
            .unwrap();
        deal.get_or_insert(reg.id);
    }

    // A session for the owner, as the login form would make it.
    let token = random_secret("").unwrap();
    store
        .system()
        .create_session(&NewWebSession {
            digest: &token_digest(&token),
            user_id: owner.id,
            workspace_id: ws.id,
            csrf: "bench",
            expires_at: chrono::Utc::now() + chrono::Duration::days(1),
        })
        .await
        .unwrap();
    eprintln!(
        "seeded {leads} leads and {items} items in {:.1?}",
        started.elapsed()
    );
    World {
        addr,
        workspace: ws.id.to_string(),
        cookie: format!("onepane_session={token}"),
        lead: some[0].id.to_string(),
        campaign: campaigns[0].id.to_string(),
        deal: deal.map(|d| d.to_string()).unwrap_or_default(),
        slug: activations[0].slug.to_string(),
    }
}

fn contact(n: usize) -> Contact {
    Contact {
        name: Name::parse(&format!("Contact {n}")).unwrap(),
        email: Some(Email::parse(&format!("c{n}@customer.example")).unwrap()),
        phone: None,
        title: None,
    }
}

fn company(n: usize) -> Company {
    Company {
        name: Name::parse(&format!("Customer {} Oy", n % 977)).unwrap(),
        domain: None,
        country: Some("FI".parse().unwrap()),
    }
}

fn vendor_lead(n: usize) -> NewVendorLead {
    NewVendorLead {
        external_id: format!("crm-{n}").parse().unwrap(),
        contact: contact(n),
        company: Some(company(n)),
        message: None,
        respond_by: Some(chrono::Utc::now() + chrono::Duration::days(3 + (n % 20) as i64)),
    }
}

/// Fresh planner statistics on PostgreSQL, as autovacuum would give them.
async fn analyze(db: &TestDb) {
    use sqlx::Connection as _;
    let Some(url) = db.postgres_url_as(TEST_OWNER_ROLE) else {
        return;
    };
    let mut owner = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("VACUUM ANALYZE")
        .execute(&mut owner)
        .await
        .unwrap();
    owner.close().await.unwrap();
}

async fn read(client: &reqwest::Client, w: &World, path: &str) -> Duration {
    let t = Instant::now();
    let r = client
        .get(format!("http://{}{path}", w.addr))
        .header("cookie", &w.cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.bytes().await.unwrap();
    let took = t.elapsed();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    took
}

async fn run(backend: &'static str, config: Config, keep: Option<TestDb>) {
    let served = Served::start(&config).await;
    let (addr, store) = (served.addr, served.store.clone());
    let client = reqwest::Client::new();
    let w = seed(&store, addr, &client).await;
    if let Some(db) = &keep {
        analyze(db).await;
    }

    // What the home page reads, one by one (to stderr): where its time goes.
    let ws: onepane_domain::WorkspaceId = w.workspace.parse().unwrap();
    let p = store.partner(ws);
    let now = chrono::Utc::now();
    macro_rules! timed {
        ($name:literal, $e:expr) => {{
            let t = Instant::now();
            let _ = $e.await.unwrap();
            eprintln!("{backend} home read {}: {}", $name, ms(t.elapsed()));
        }};
    }
    for _ in 0..2 {
        timed!("vendors", p.vendors());
        timed!("campaigns", p.campaigns());
        timed!("activations", p.activations());
        timed!("leads awaiting", p.leads_awaiting_response(10));
        timed!(
            "deals needing attention",
            p.deals_needing_attention(now, now.date_naive(), 10)
        );
        timed!("connections", p.connections());
        timed!("vendor counts", p.vendor_counts(1000));
        timed!("pipeline", p.pipeline());
        timed!(
            "campaign weeks",
            p.campaign_weeks(now - chrono::Duration::weeks(8))
        );
        timed!("unread", p.unread_notifications(100));
        timed!("pricing terms", p.pricing_terms());
    }
    for path in ["/prices", "/prices?sort=margin&discount=5"] {
        let cold = read(&client, &w, path).await;
        println!(
            "| {path}, first read (prices every item) | {backend} | {} | — |",
            ms(cold)
        );
    }
    let pages = [
        "/".to_owned(),
        "/leads".to_owned(),
        "/leads?status=new".to_owned(),
        "/leads?q=customer+42".to_owned(),
        format!("/leads/{}", w.lead),
        format!("/deals/new?lead={}", w.lead),
        "/deals".to_owned(),
        format!("/deals/{}", w.deal),
        "/campaigns".to_owned(),
        format!("/campaigns/{}", w.campaign),
        format!("/l/{}", w.slug),
        "/assets".to_owned(),
        "/prices".to_owned(),
        "/prices?sort=margin&discount=5".to_owned(),
        "/connections".to_owned(),
        "/notifications".to_owned(),
        "/settings".to_owned(),
    ];
    for path in &pages {
        read(&client, &w, path).await;
        let mut times: Vec<Duration> = Vec::with_capacity(READS);
        for _ in 0..READS {
            times.push(read(&client, &w, path).await);
        }
        times.sort();
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!("| {path} | {backend} | {} | {} |", ms(p(0.5)), ms(p(0.99)));
    }
    served.stop().await;
    drop(keep);
}

fn main() {
    support::on_each_backend(
        &["| page | backend | p50 | p99 |", "|---|---|---|---|"],
        Config {
            sync_workers: 0,
            ..Config::default()
        },
        run,
    );
}
