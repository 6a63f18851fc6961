//! The store's hot paths on both backends: a vendor sending a lead, a
//! partner opening its lead inbox among other tenants' leads, and a vendor
//! publishing a price list.
//!
//! Each backend gets one database, set up before anything is timed. The
//! PostgreSQL benchmarks need the server `TestDb` uses
//! (`ONEPANE_TEST_DATABASE_URL`); without it they are skipped, saying why.
#![allow(clippy::expect_used)]

use std::cell::Cell;
use std::time::{Duration, Instant};

use criterion::{
    BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use onepane_domain::campaign::DateWindow;
use onepane_domain::lead::{Company, Contact, NewManualLead, NewVendorLead};
use onepane_domain::price::{Percent, Price, PriceItemInput, PriceListTerms, TierDiscount};
use onepane_domain::text::{Category, CountryCode, Email, ExternalId, Locale, LongText, Name, Sku};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{Currency, PartnerType, Tier, VendorId, VendorKind, WorkspaceId};
use onepane_store::testing::{TEST_OWNER_ROLE, TestDb};
use onepane_store::{LeadFilter, Page, Store};
use rust_decimal::Decimal;
use sqlx::Connection;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Leads in the workspace whose inbox is listed.
const INBOX_LEADS: u64 = 10_000;
/// Other workspaces holding leads in the same tables.
const OTHER_TENANTS: u64 = 3;
/// Leads in each of them.
const LEADS_PER_OTHER_TENANT: u64 = 5_000;
/// Items in the published price list.
const PRICE_LIST_ITEMS: u64 = 1_000;
/// Seeding tasks running at once (PostgreSQL commits overlap; SQLite
/// writers queue on its write lock).
const SEEDERS: u64 = 8;

/// One backend's database and the tenants in it.
struct Fixture {
    backend: &'static str,
    db: TestDb,
    /// The workspace whose inbox is listed; holds `INBOX_LEADS` leads.
    inbox: WorkspaceId,
    /// Another tenant, linked to `sender`, that receives the leads sent while timing.
    recipient: WorkspaceId,
    /// A vendor linked to every workspace.
    sender: VendorId,
    /// A distributor linked to `inbox` only: its price list goes to one workspace.
    distributor: VendorId,
}

fn name(s: &str) -> Name {
    Name::parse(s).expect("a name")
}

async fn workspace(store: &Store, n: &str) -> WorkspaceId {
    let slug = n.to_lowercase().replace(' ', "-");
    let (ws, _) = store
        .operator()
        .create_workspace(&NewWorkspace {
            name: name(n),
            home_currency: Currency::EUR,
            locale: Locale::parse("fi").expect("a locale"),
            owner_email: Email::parse(&format!("owner@{slug}.example")).expect("an email"),
        })
        .await
        .expect("create workspace");
    ws.id
}

async fn vendor(store: &Store, n: &str, kind: VendorKind) -> VendorId {
    store
        .operator()
        .create_vendor(&name(n), kind)
        .await
        .expect("create vendor")
        .id
}

async fn link(store: &Store, ws: WorkspaceId, v: VendorId) {
    store
        .operator()
        .link(ws, v, Tier::Gold, PartnerType::SolutionProvider)
        .await
        .expect("link");
}

fn contact(n: u64) -> Contact {
    Contact {
        name: name(&format!("Customer {n}")),
        email: Some(
            Email::parse(&format!("buyer.{n}@customer{}.example", n % 700)).expect("email"),
        ),
        phone: None,
        title: Some(name("Procurement manager")),
    }
}

fn company(n: u64) -> Company {
    Company {
        name: name(&format!("Customer {} Oy", n % 700)),
        domain: Some(name(&format!("customer{}.example", n % 700))),
        country: Some(CountryCode::parse("FI").expect("a country")),
    }
}

fn vendor_lead(tag: &str, n: u64) -> NewVendorLead {
    NewVendorLead {
        external_id: ExternalId::parse(&format!("{tag}-{n}")).expect("an external id"),
        contact: contact(n),
        company: Some(company(n)),
        message: Some(
            LongText::parse("Looking for 20 colour printers and a service contract.")
                .expect("text"),
        ),
        respond_by: None,
    }
}

fn manual_lead(vendor_id: Option<VendorId>, n: u64) -> NewManualLead {
    NewManualLead {
        vendor_id,
        contact: contact(n),
        company: Some(company(n)),
        message: None,
    }
}

/// Fills a workspace with `count` leads through the store's own API: four in
/// five sent by `vendor_id`, the rest entered by hand.
async fn seed_leads(store: Store, ws: WorkspaceId, vendor_id: VendorId, count: u64) {
    let mut tasks = JoinSet::new();
    for seeder in 0..SEEDERS {
        let store = store.clone();
        tasks.spawn(async move {
            let tag = format!("SEED-{ws}");
            for n in (seeder..count).step_by(SEEDERS as usize) {
                if n % 5 == 4 {
                    store
                        .partner(ws)
                        .create_manual_lead(&manual_lead(Some(vendor_id), n))
                        .await
                        .expect("enter a lead");
                } else {
                    store
                        .vendor(vendor_id)
                        .send_lead(ws, &vendor_lead(&tag, n))
                        .await
                        .expect("send a lead");
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("seeding task");
    }
}

async fn fixture(backend: &'static str, db: TestDb) -> Fixture {
    let started = Instant::now();
    let store = &db.store;
    let sender = vendor(store, "Printer Vendor", VendorKind::Vendor).await;
    let distributor = vendor(store, "Office Distributor", VendorKind::Distributor).await;
    let inbox = workspace(store, "Inbox Reseller").await;
    link(store, inbox, sender).await;
    link(store, inbox, distributor).await;
    let mut others = Vec::new();
    for n in 0..OTHER_TENANTS {
        let ws = workspace(store, &format!("Other Reseller {n}")).await;
        link(store, ws, sender).await;
        others.push(ws);
    }
    // The inbox's leads interleave with the other tenants' in time, as they
    // would in a shared database.
    let mut tasks = JoinSet::new();
    tasks.spawn(seed_leads(store.clone(), inbox, sender, INBOX_LEADS));
    for ws in &others {
        tasks.spawn(seed_leads(
            store.clone(),
            *ws,
            sender,
            LEADS_PER_OTHER_TENANT,
        ));
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("seeding");
    }
    analyze(&db).await;
    eprintln!(
        "{backend}: seeded {} leads ({INBOX_LEADS} in the listed workspace) in {:.1?}",
        INBOX_LEADS + OTHER_TENANTS * LEADS_PER_OTHER_TENANT,
        started.elapsed()
    );
    Fixture {
        backend,
        inbox,
        recipient: others[0],
        sender,
        distributor,
        db,
    }
}

/// Gathers PostgreSQL's planner statistics, as autovacuum would have done by
/// now in production (the test server may run without it). Without them the
/// planner takes the freshly seeded tables for empty and pages the inbox by
/// sorting all 10,000 of its leads, about 100 times slower. SQLite keeps no
/// statistics unless asked, and the store never asks, so it is left as is.
async fn analyze(db: &TestDb) {
    let Some(url) = db.postgres_url_as(TEST_OWNER_ROLE) else {
        return;
    };
    let mut owner = sqlx::PgConnection::connect(&url)
        .await
        .expect("connect as the owner role");
    sqlx::query("ANALYZE")
        .execute(&mut owner)
        .await
        .expect("analyze");
    owner.close().await.expect("close");
}

fn price_list_terms() -> PriceListTerms {
    PriceListTerms {
        name: name("2026 partner list"),
        currency: Currency::EUR,
        validity: DateWindow::always(),
        tier_discounts: vec![TierDiscount {
            tier: Tier::Gold,
            discount: Percent::new(Decimal::from(20)).expect("a percentage"),
        }],
        promotions: Vec::new(),
    }
}

fn price_items() -> Vec<PriceItemInput> {
    let categories = ["printers", "scanners", "toner", "paper"];
    (0..PRICE_LIST_ITEMS)
        .map(|n| PriceItemInput {
            sku: Sku::parse(&format!("SKU-{n:05}")).expect("a SKU"),
            name: name(&format!("Catalogue item {n}")),
            category: Some(
                Category::parse(categories[n as usize % categories.len()]).expect("a category"),
            ),
            list_price: Price::new(Decimal::new(999 + (n as i64 * 7_919) % 250_000, 2))
                .expect("a price"),
            volume_breaks: Vec::new(),
            promotions: Vec::new(),
        })
        .collect()
}

fn fixtures(rt: &Runtime) -> Vec<Fixture> {
    rt.block_on(async {
        let mut out = vec![fixture("sqlite", TestDb::sqlite().await).await];
        match TestDb::postgres().await {
            Some(db) => out.push(fixture("postgres", db).await),
            None => eprintln!(
                "postgres: benchmarks skipped: PostgreSQL is unavailable (the `skipped:` line says why)"
            ),
        }
        out
    })
}

fn store(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let fixtures = fixtures(&rt);

    let mut group = c.benchmark_group("store");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    // One write transaction: link check, duplicate check, insert, notification.
    group.throughput(Throughput::Elements(1));
    for f in &fixtures {
        let vendor = f.db.store.vendor(f.sender);
        let sent = Cell::new(0u64);
        group.bench_function(BenchmarkId::new("send_lead", f.backend), |b| {
            b.to_async(&rt).iter_batched(
                || {
                    sent.set(sent.get() + 1);
                    vendor_lead("BENCH", sent.get())
                },
                |lead| {
                    let (vendor, ws) = (&vendor, f.recipient);
                    async move { vendor.send_lead(ws, &lead).await.expect("send a lead") }
                },
                BatchSize::SmallInput,
            )
        });
    }

    // The newest page of a 10,000-lead inbox.
    for f in &fixtures {
        let partner = f.db.store.partner(f.inbox);
        let filter = LeadFilter::default();
        let page = Page {
            after: None,
            limit: 50,
        };
        let first = rt
            .block_on(partner.leads(&filter, page))
            .expect("list leads");
        assert_eq!(first.len(), 50, "a full first page");
        group.bench_function(BenchmarkId::new("leads_page_of_50", f.backend), |b| {
            b.to_async(&rt)
                .iter(|| async { partner.leads(&filter, page).await.expect("list leads") })
        });
    }
    group.finish();

    // Replacing a 1,000-item list in one linked workspace, one transaction.
    let mut group = c.benchmark_group("store");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(PRICE_LIST_ITEMS));
    let terms = price_list_terms();
    let items = price_items();
    let list_id = ExternalId::parse("PL-2026").expect("an external id");
    for f in &fixtures {
        let vendor = f.db.store.vendor(f.distributor);
        let published = rt
            .block_on(vendor.publish_price_list(&list_id, &terms, &items))
            .expect("publish");
        assert_eq!(published.external_id, list_id);
        // What pricing every item reads: the 1,000 items with their terms,
        // tiers, rules and rates, in one read transaction.
        let partner = f.db.store.partner(f.inbox);
        group.bench_function(BenchmarkId::new("pricing_snapshot_1000", f.backend), |b| {
            b.to_async(&rt).iter(|| async {
                let data = partner.pricing().await.expect("pricing data");
                assert_eq!(data.items.len(), PRICE_LIST_ITEMS as usize);
                data
            })
        });
        group.bench_function(
            BenchmarkId::new("publish_price_list_1000", f.backend),
            |b| {
                b.to_async(&rt).iter(|| async {
                    vendor
                        .publish_price_list(&list_id, &terms, &items)
                        .await
                        .expect("publish")
                })
            },
        );
    }
    group.finish();

    // Drop the databases (PostgreSQL ones are dropped on a helper thread)
    // outside the runtime.
    drop(fixtures);
}

criterion_group!(benches, store);
criterion_main!(benches);
