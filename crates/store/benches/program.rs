//! A vendor program at scale: one vendor linked to 1, 100, 1,000 and 14,000
//! partner workspaces (created in bulk before anything is timed), on both
//! backends. At each size the vendor publishes a new 50,000-item price
//! list, republishes its main one, publishes a campaign and an asset, and
//! changes 1,000 prices by SKU; the new campaign is then announced to the
//! partners in the background; and one partner reads what pricing reads
//! (every item it sees, its terms, tiers, rules and rates) and its
//! campaigns. Rows written are counted in every table before and after.
//!
//! A plain timing harness: `cargo bench -p onepane-store --bench program`.
//! `ONEPANE_BENCH_ITEMS` (default 50,000) and `ONEPANE_BENCH_PARTNERS`
//! (default 14,000) scale it down for a quick look.
#![allow(clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use onepane_domain::campaign::DateWindow;
use onepane_domain::price::{Percent, Price, PriceItemInput, PriceListTerms, TierDiscount};
use onepane_domain::record::{Record, Stream};
use onepane_domain::text::{Category, ExternalId, Name, Sku};
use onepane_domain::{Currency, Tier, VendorKind};
use onepane_store::testing::TestDb;
use onepane_store::testing::content::{asset, campaign};
use onepane_store::testing::program::{bulk_partners, count_rows, database_bytes};
use onepane_store::{PageWrite, PriceItemChange, Store};
use rust_decimal::Decimal;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn name(s: &str) -> Name {
    Name::parse(s).expect("a name")
}

fn ext(s: &str) -> ExternalId {
    ExternalId::parse(s).expect("an external id")
}

fn terms() -> PriceListTerms {
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

fn items(n: usize, cents: i64) -> Vec<PriceItemInput> {
    let categories = ["switches", "firewalls", "licences", "services"];
    (0..n)
        .map(|i| PriceItemInput {
            sku: Sku::parse(&format!("SKU-{i:06}")).expect("a SKU"),
            name: name(&format!("Catalogue item {i}")),
            category: Some(Category::parse(categories[i % categories.len()]).expect("a category")),
            list_price: Price::new(Decimal::new(999 + (i as i64 * 7_919 + cents) % 250_000, 2))
                .expect("a price"),
            volume_breaks: Vec::new(),
            promotions: Vec::new(),
        })
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

async fn rows(db: &TestDb) -> i64 {
    count_rows(&db.url, db.postgres_superuser_url().as_deref()).await
}

async fn run(backend: &str, db: TestDb) {
    let item_count = env_usize("ONEPANE_BENCH_ITEMS", 50_000);
    let most = env_usize("ONEPANE_BENCH_PARTNERS", 14_000);
    let store: &Store = &db.store;
    let vendor = store
        .operator()
        .create_vendor(&name("Fabrikam Networks"), VendorKind::Vendor)
        .await
        .expect("vendor")
        .id;
    let vs = store.vendor(vendor);
    // The peer: a partner holding the same number of items in its own
    // workspace, as every partner held each vendor's list before content
    // was stored once (today, what a partner's own connection pulls).
    let puller = store
        .operator()
        .create_vendor(&name("Northwind Traders"), VendorKind::Vendor)
        .await
        .expect("vendor")
        .id;
    let own = bulk_partners(store, puller, 1, Tier::Gold).await[0];
    let conn = onepane_domain::ConnectionId::new();
    store
        .partner(own)
        .create_connection_with(
            conn,
            &onepane_store::testing::tenants::vendor_source(puller, "Northwind API"),
            &[],
        )
        .await
        .expect("a source");
    let pulled_list = Record::PriceList {
        external_id: ext("PL"),
        terms: terms(),
    };
    let pulled_items: Vec<Record> = items(item_count, 0)
        .into_iter()
        .map(|item| Record::PriceItem {
            price_list: ext("PL"),
            item,
        })
        .collect();
    let pass = uuid::Uuid::now_v7();
    for (stream, records) in [
        (Stream::PriceLists, vec![&pulled_list]),
        (Stream::PriceItems, pulled_items.iter().collect()),
    ] {
        for page in records.chunks(5_000) {
            let keyed: Vec<(String, Vec<u8>, &Record)> = page
                .iter()
                .map(|r| {
                    let key = match r {
                        Record::PriceItem { item, .. } => format!("PL {}", item.sku),
                        _ => "PL".to_owned(),
                    };
                    (key, uuid::Uuid::now_v7().as_bytes().to_vec(), *r)
                })
                .collect();
            store
                .vendor(puller)
                .apply_page(
                    own,
                    conn,
                    &PageWrite {
                        stream,
                        pass_id: pass,
                        records: keyed,
                        next: None,
                        pass_max: None,
                        seen_page: None,
                    },
                )
                .await
                .expect("a pulled page");
        }
    }
    let mut partners = Vec::new();
    println!("\n### {backend}\n");
    println!(
        "| partners | new 50k list | rows written | republish 50k | campaign | rows | asset | rows | 1,000-item PATCH | announce (partners told) | pricing read p50 / p99 (items) | the same items in the workspace, p50 / p99 | campaigns read p50 / p99 | bytes per partner added |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for size in [1, 100, 1_000, 14_000].into_iter().filter(|n| *n <= most) {
        // What adding partners costs on disk: their workspaces and links
        // only, since the content they see is the vendor's, stored once.
        let bytes_before = database_bytes(&db.url, db.postgres_superuser_url().as_deref()).await;
        let added = size - partners.len();
        let new = bulk_partners(store, vendor, added, Tier::Gold).await;
        partners.extend(new);
        let bytes = database_bytes(&db.url, db.postgres_superuser_url().as_deref()).await;
        let per_partner = if added > 1 {
            format!("{}", (bytes - bytes_before) / added as i64)
        } else {
            "—".into()
        };
        let reader = store.partner(partners[0]);

        let before = rows(&db).await;
        let list = ext(&format!("PL-{size}"));
        let (_, new_list) =
            timed(vs.publish_price_list(&list, &terms(), &items(item_count, 0))).await;
        let list_rows = rows(&db).await - before;
        let (_, republish) =
            timed(vs.publish_price_list(&ext("PL"), &terms(), &items(item_count, size as i64)))
                .await;
        // The new list goes again, so the partner's prices stay one list.
        vs.put_price_list_items(&list, &[])
            .await
            .expect("empty the list");

        let before = rows(&db).await;
        let (_, campaign_time) = timed(vs.publish_campaign(
            &ext(&format!("C-{size}")),
            &campaign("Spring", &[Tier::Gold]),
        ))
        .await;
        let campaign_rows = rows(&db).await - before;
        let before = rows(&db).await;
        let (_, asset_time) =
            timed(vs.publish_asset(&ext(&format!("A-{size}")), &asset("Deck"))).await;
        let asset_rows = rows(&db).await - before;
        let (told, announce) = timed(store.system().announce_all()).await;
        let told = told.expect("announce");

        let changes: Vec<PriceItemChange> = items(1_000, size as i64 + 1)
            .into_iter()
            .map(PriceItemChange::Upsert)
            .collect();
        let (_, patch) = timed(vs.patch_price_list_items(&ext("PL"), &changes)).await;

        let mut pricing = Vec::new();
        let mut seen = 0;
        for _ in 0..11 {
            let (data, t) = timed(reader.pricing()).await;
            seen = data.expect("pricing").items.len();
            pricing.push(t);
        }
        pricing.remove(0);
        let mut peer = Vec::new();
        for _ in 0..11 {
            let (data, t) = timed(store.partner(own).pricing()).await;
            assert_eq!(data.expect("pricing").items.len(), item_count);
            peer.push(t);
        }
        peer.remove(0);
        let mut campaigns = Vec::new();
        for _ in 0..21 {
            let (c, t) = timed(reader.campaigns()).await;
            c.expect("campaigns");
            campaigns.push(t);
        }
        campaigns.remove(0);
        println!(
            "| {size} | {} | {list_rows} | {} | {} | {campaign_rows} | {} | {asset_rows} | {} | {} ({told}) | {} / {} ({seen}) | {} / {} | {} / {} | {per_partner} |",
            ms(new_list),
            ms(republish),
            ms(campaign_time),
            ms(asset_time),
            ms(patch),
            ms(announce),
            ms(percentile(pricing.clone(), 0.5)),
            ms(percentile(pricing, 0.99)),
            ms(percentile(peer.clone(), 0.5)),
            ms(percentile(peer, 0.99)),
            ms(percentile(campaigns.clone(), 0.5)),
            ms(percentile(campaigns, 0.99)),
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        run("SQLite", TestDb::sqlite().await).await;
        match TestDb::postgres().await {
            Some(db) => run("PostgreSQL", db).await,
            None => println!("PostgreSQL skipped: no server"),
        }
    });
}
