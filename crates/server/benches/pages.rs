//! Every page of the partner portal with a full workspace, over real HTTP
//! on loopback, on each backend: 100,000 leads (vendor-sent, 2,000 of them
//! from campaign landing pages), 100,000 price items, 500 deal
//! registrations, 12 campaigns, 30 assets and a notification per lead.
//!
//! Then a second workspace in the same database, a program across 20
//! vendors: 100,000 vendor leads answered by times spread over the last
//! year (those older than two days answered), and 5,000 registrations
//! submitted, approved and rejected over the year, with their decision and
//! protection dates; its home page, its clock and (once the route is
//! there) its scorecards are measured.
//!
//! Each page is read once to warm up, then `READS` times; the p50 and p99
//! of the time to the last byte are printed as a Markdown table. The price
//! pages' first read (every item priced by the margin engine) is printed
//! on its own line. Run with `cargo bench -p onepane-server --bench pages`;
//! PostgreSQL is measured when ONEPANE_TEST_DATABASE_URL answers.
//! `ONEPANE_BENCH_LEADS` and `ONEPANE_BENCH_ITEMS` scale the first
//! workspace down, `ONEPANE_BENCH_PROGRAM_LEADS` and
//! `ONEPANE_BENCH_PROGRAM_DEALS` the program.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use onepane_domain::clock::ClockFilter;
use onepane_domain::deal::{DealDecision, DealDetails};
use onepane_domain::lead::{Company, ConsentAnswer, Contact, NewCampaignLead, NewVendorLead};
use onepane_domain::text::{Email, Locale, LongText, Name};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{
    Currency, DealRegistrationId, Money, PartnerType, Tier, UserId, VendorId, VendorKind,
    WorkspaceId,
};
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
const PROGRAM_VENDORS: usize = 20;

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
        Utc::now().date_naive(),
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

    let cookie = session(store, ws.id, owner.id).await;
    eprintln!(
        "seeded {leads} leads and {items} items in {:.1?}",
        started.elapsed()
    );
    World {
        addr,
        workspace: ws.id.to_string(),
        cookie,
        lead: some[0].id.to_string(),
        campaign: campaigns[0].id.to_string(),
        deal: deal.map(|d| d.to_string()).unwrap_or_default(),
        slug: activations[0].slug.to_string(),
    }
}

/// A session for `user`, as the login form would make it: its cookie.
async fn session(store: &Store, ws: WorkspaceId, user: UserId) -> String {
    let token = random_secret("").unwrap();
    store
        .system()
        .create_session(&NewWebSession {
            digest: &token_digest(&token),
            user_id: user,
            workspace_id: ws,
            csrf: "bench",
            expires_at: Utc::now() + chrono::Duration::days(1),
        })
        .await
        .unwrap();
    format!("onepane_session={token}")
}

/// The database the server runs on, opened past its scopes to date what
/// the product dates itself "now": SQLite's file, or PostgreSQL as its
/// superuser (whom row-level security does not hold).
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// Runs `$body` with `$c` the raw connection, on either backend.
macro_rules! on_raw {
    ($raw:expr, $c:ident => $body:expr) => {
        match $raw {
            Raw::Sqlite($c) => $body,
            Raw::Postgres($c) => $body,
        }
    };
}

impl Raw {
    async fn open(config: &Config, db: Option<&TestDb>) -> Raw {
        use sqlx::Connection as _;
        match db.and_then(|db| db.postgres_superuser_url()) {
            Some(url) => Raw::Postgres(sqlx::PgConnection::connect(&url).await.unwrap()),
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(config.data_dir.join("onepane.db"))
                    .busy_timeout(Duration::from_secs(30));
                Raw::Sqlite(
                    sqlx::SqliteConnection::connect_with(&options)
                        .await
                        .unwrap(),
                )
            }
        }
    }

    async fn close(self) {
        use sqlx::Connection as _;
        on_raw!(self, c => c.close().await.unwrap());
    }
}

/// A program's workspace, logged in.
struct Program {
    cookie: String,
    workspace: WorkspaceId,
}

/// A spread of `n` over `0..span` that is the same on every run.
fn spread(n: usize, span: i64) -> i64 {
    ((n as i64).wrapping_mul(7919) % span).abs()
}

/// The program: a workspace linked to 20 vendors, their leads and its
/// registrations, dated across the last year.
async fn seed_program(store: &Store, config: &Config, db: Option<&TestDb>) -> Program {
    let started = Instant::now();
    let now = Utc::now();
    let op = store.operator();
    let (ws, owner) = op
        .create_workspace(&NewWorkspace {
            locale: Locale::parse("en").unwrap(),
            ..tenants::new_workspace("Program Oy")
        })
        .await
        .unwrap();
    let mut vendors = Vec::new();
    for n in 0..PROGRAM_VENDORS {
        let v = op
            .create_vendor(
                &Name::parse(&format!("Program Vendor {n:02}")).unwrap(),
                VendorKind::Vendor,
            )
            .await
            .unwrap();
        let tier = [Tier::Gold, Tier::Silver, Tier::Registered][n % 3];
        op.link(ws.id, v.id, tier, PartnerType::Var).await.unwrap();
        vendors.push(v.id);
    }

    // Leads, answer-by times from a year ago to two weeks ahead.
    let leads = scale("ONEPANE_BENCH_PROGRAM_LEADS", 100_000);
    let year = Days::days(365).num_seconds();
    let span = Days::days(365 + 14).num_seconds();
    let mut tasks = JoinSet::new();
    for seeder in 0..SEEDERS {
        let (store, vendors) = (store.clone(), vendors.clone());
        tasks.spawn(async move {
            for n in (seeder..leads).step_by(SEEDERS) {
                let at = i64::try_from(n).unwrap() * span / i64::try_from(leads).unwrap();
                let lead = NewVendorLead {
                    external_id: format!("program-{n}").parse().unwrap(),
                    respond_by: Some(now - Days::seconds(year) + Days::seconds(at)),
                    ..vendor_lead(n)
                };
                store
                    .vendor(vendors[n % vendors.len()])
                    .send_lead(ws.id, &lead)
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    // Registrations: 15 % waiting, 45 % approved, 40 % rejected.
    let deals = scale("ONEPANE_BENCH_PROGRAM_DEALS", 5_000);
    let mut tasks = JoinSet::new();
    for seeder in 0..SEEDERS {
        let (store, vendors) = (store.clone(), vendors.clone());
        tasks.spawn(async move {
            let partner = store.partner(ws.id);
            let mut made = Vec::new();
            for n in (seeder..deals).step_by(SEEDERS) {
                let vendor = vendors[n % vendors.len()];
                let details = DealDetails {
                    title: Name::parse(&format!("Program deal {n}")).unwrap(),
                    customer: company(n),
                    amount: Money::new(
                        rust_decimal::Decimal::from(2000 + spread(n, 90_000)),
                        Currency::EUR,
                    ),
                    products: Vec::new(),
                    fields: Default::default(),
                };
                let reg = partner
                    .register_deal(vendor, &details, None, Some(owner.id))
                    .await
                    .unwrap();
                let decision = match n % 20 {
                    0..3 => None,
                    3..12 => Some(DealDecision::Approved {
                        reason: None,
                        protection_expires_on: now.date_naive() + Days::days(180),
                        extra_discount: None,
                    }),
                    _ => Some(DealDecision::Rejected {
                        reason: LongText::parse("Registered by another partner").unwrap(),
                    }),
                };
                if let Some(decision) = decision {
                    store.vendor(vendor).decide(reg.id, decision).await.unwrap();
                }
                made.push((n, reg.id));
            }
            made
        });
    }
    let mut made: Vec<(usize, DealRegistrationId)> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        made.extend(done.unwrap());
    }

    // Dates across the year, set where the product would have set them.
    let mut raw = Raw::open(config, db).await;
    on_raw!(&mut raw, c => {
        use sqlx::Connection as _;
        let mut tx = c.begin().await.unwrap();
        // Leads answered by more than two days ago were answered: most
        // accepted, the oldest won or lost.
        for (before, status) in [
            (now - Days::days(300), "lost"),
            (now - Days::days(200), "won"),
            (now - Days::days(2), "accepted"),
        ] {
            sqlx::query(
                "UPDATE leads SET status = $3 WHERE workspace_id = $1 AND status = 'new' \
                 AND respond_by < $2",
            )
            .bind(ws.id.as_uuid())
            .bind(before)
            .bind(status)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        for (n, id) in &made {
            let (submitted, decided, ends) = program_dates(*n, now);
            sqlx::query(
                "UPDATE deal_registrations SET submitted_at = $3, decided_at = $4, \
                 updated_at = $5, protection_expires_on = CASE WHEN status = 'approved' \
                 THEN $6 ELSE protection_expires_on END WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws.id.as_uuid())
            .bind(id.as_uuid())
            .bind(submitted)
            .bind(decided)
            .bind(decided.unwrap_or(submitted))
            .bind(ends)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    });
    raw.close().await;
    eprintln!(
        "seeded the program: {leads} leads and {deals} registrations across {PROGRAM_VENDORS} vendors in {:.1?}",
        started.elapsed()
    );
    Program {
        cookie: session(store, ws.id, owner.id).await,
        workspace: ws.id,
    }
}

/// The `n`th registration's dates: submitted, decided (when it was) and
/// the end of its protection (when approved). Waiting ones were submitted
/// in the last two weeks (some of their decisions overdue); decided ones
/// over the year, decided within ten days, protected for half a year.
fn program_dates(
    n: usize,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, Option<DateTime<Utc>>, Option<NaiveDate>) {
    if n % 20 < 3 {
        return (now - Days::minutes(spread(n, 14 * 24 * 60)), None, None);
    }
    let submitted = now - Days::days(20) - Days::minutes(spread(n, 345 * 24 * 60));
    let decided = submitted + Days::days(1 + spread(n, 10));
    (
        submitted,
        Some(decided),
        Some(decided.date_naive() + Days::days(180)),
    )
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
        respond_by: Some(Utc::now() + chrono::Duration::days(3 + (n % 20) as i64)),
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

async fn read(client: &reqwest::Client, addr: SocketAddr, cookie: &str, path: &str) -> Duration {
    let t = Instant::now();
    let r = client
        .get(format!("http://{addr}{path}"))
        .header("cookie", cookie)
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

    let ws: WorkspaceId = w.workspace.parse().unwrap();
    home_reads(&store.partner(ws), backend, "home").await;
    for path in ["/prices", "/prices?sort=margin&discount=5"] {
        let cold = read(&client, w.addr, &w.cookie, path).await;
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
        // Settings, one section a page: the member's own, and the two
        // that read the most (members with invitations; rules and rates).
        "/settings/account".to_owned(),
        "/settings/members".to_owned(),
        "/settings/pricing".to_owned(),
        "/settings/landing-page".to_owned(),
        "/settings/tokens".to_owned(),
    ];
    for path in &pages {
        measure(&client, w.addr, &w.cookie, path, path, backend).await;
    }

    // The program, measured after the pages above so their figures stay
    // those of the first workspace alone.
    let program = seed_program(&store, &config, keep.as_ref()).await;
    if let Some(db) = &keep {
        analyze(db).await;
    }
    let p = store.partner(program.workspace);
    home_reads(&p, backend, "program home").await;
    for _ in 0..2 {
        let t = Instant::now();
        p.clock(&ClockFilter::default()).await.unwrap();
        eprintln!("{backend} program clock: {}", ms(t.elapsed()));
    }
    let mut paths = vec!["/", "/clock"];
    // The scorecards are measured once the route is there.
    let probe = client
        .get(format!("http://{}/scorecards", w.addr))
        .header("cookie", &program.cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .status();
    if probe == 200 {
        paths.push("/scorecards");
    } else {
        eprintln!(
            "{backend}: /scorecards answered {probe}: not measured (no such page in this build)"
        );
    }
    for path in paths {
        let label = format!("program of 20 vendors: {path}");
        measure(&client, w.addr, &program.cookie, path, &label, backend).await;
    }
    served.stop().await;
    drop(keep);
}

/// What the home page reads, one by one (to stderr), twice: where its
/// time goes.
async fn home_reads(p: &onepane_store::PartnerStore, backend: &str, page: &str) {
    let now = Utc::now();
    macro_rules! timed {
        ($name:literal, $e:expr) => {{
            let t = Instant::now();
            let _ = $e.await.unwrap();
            eprintln!("{backend} {page} read {}: {}", $name, ms(t.elapsed()));
        }};
    }
    for _ in 0..2 {
        timed!("vendors", p.vendors());
        timed!("campaigns", p.campaigns());
        timed!("activations", p.activations());
        timed!("clock head", p.clock_head(&ClockFilter::default(), 10));
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
}

/// Reads `path` once, then `READS` times, and prints its p50 and p99.
async fn measure(
    client: &reqwest::Client,
    addr: SocketAddr,
    cookie: &str,
    path: &str,
    label: &str,
    backend: &str,
) {
    read(client, addr, cookie, path).await;
    let mut times: Vec<Duration> = Vec::with_capacity(READS);
    for _ in 0..READS {
        times.push(read(client, addr, cookie, path).await);
    }
    times.sort();
    let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!("| {label} | {backend} | {} | {} |", ms(p(0.5)), ms(p(0.99)));
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
