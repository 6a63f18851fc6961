//! A database of the schema before vendor content was stored once (what
//! each vendor published copied into every linked workspace) migrates
//! without losing anything a partner did with it.

use std::path::{Path, PathBuf};

use chrono::Utc;
use onepane_domain::program::Tier;
use onepane_domain::{Currency, VendorId, WorkspaceId};
use onepane_store::testing::content::*;
use onepane_store::testing::{TEST_OWNER_ROLE, TestDb};
use onepane_store::{DatabaseUrl, Store, StoreOptions};
use sqlx::migrate::Migrator;
use sqlx::types::Json;
use uuid::Uuid;

/// The last migration of the schema that copied content per workspace.
const BEFORE: i64 = 11;

/// A directory holding `backend`'s migrations up to [`BEFORE`].
fn old_migrations(backend: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let all = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend);
    for entry in std::fs::read_dir(all).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= BEFORE {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    dir
}

/// The old world: vendor one published a campaign, an asset and a price
/// list, copied into partners A and B; A activated the campaign, a visitor
/// left a lead, A was notified. B's own connection pulled a campaign of
/// vendor one too (it stays B's).
struct Old {
    a: WorkspaceId,
    b: WorkspaceId,
    v: VendorId,
    a_campaign: Uuid,
    activation: Uuid,
    lead: Uuid,
}

macro_rules! seed {
    ($pool:expr) => {{
        let pool = $pool;
        let now = Utc::now();
        let (a, b, v) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        for (ws, name) in [(a, "A Oy"), (b, "B Oy")] {
            sqlx::query("INSERT INTO workspaces (id, name, home_currency, locale, created_at) VALUES ($1, $2, 'EUR', 'en', $3)")
                .bind(ws).bind(name).bind(now).execute(pool).await.unwrap();
        }
        sqlx::query("INSERT INTO vendors (id, name, kind, created_at) VALUES ($1, 'Canon', 'vendor', $2)")
            .bind(v).bind(now).execute(pool).await.unwrap();
        for ws in [a, b] {
            sqlx::query("INSERT INTO vendor_links (workspace_id, vendor_id, tier, partner_type, status, created_at, updated_at) VALUES ($1, $2, 'gold', 'var', 'active', $3, $3)")
                .bind(ws).bind(v).bind(now).execute(pool).await.unwrap();
        }
        let content = campaign("Spring", &[Tier::Gold]);
        let mut campaign_ids = Vec::new();
        for ws in [a, b] {
            let id = Uuid::now_v7();
            campaign_ids.push(id);
            sqlx::query("INSERT INTO campaigns (workspace_id, id, vendor_id, external_id, status, content, created_at, updated_at) VALUES ($1, $2, $3, 'spring', 'published', $4, $5, $5)")
                .bind(ws).bind(id).bind(v).bind(Json(&content)).bind(now).execute(pool).await.unwrap();
            sqlx::query("INSERT INTO assets (workspace_id, id, vendor_id, external_id, kind, content, created_at, updated_at) VALUES ($1, $2, $3, 'deck', 'pdf', $4, $5, $5)")
                .bind(ws).bind(Uuid::now_v7()).bind(v).bind(Json(asset("Deck"))).bind(now).execute(pool).await.unwrap();
            let list = Uuid::now_v7();
            sqlx::query("INSERT INTO price_lists (workspace_id, id, vendor_id, external_id, currency, terms, created_at, updated_at) VALUES ($1, $2, $3, 'eu', 'EUR', $4, $5, $5)")
                .bind(ws).bind(list).bind(v).bind(Json(terms(Currency::EUR))).bind(now).execute(pool).await.unwrap();
            for (sku, price) in [("A-1", "10"), ("A-2", "20")] {
                sqlx::query("INSERT INTO price_items (workspace_id, id, vendor_id, price_list_id, sku, name, list_price, currency, item) VALUES ($1, $2, $3, $4, $5, $5, $6, 'EUR', $7)")
                    .bind(ws).bind(Uuid::now_v7()).bind(v).bind(list).bind(sku)
                    .bind(onepane_store::testing::content::db_decimal(price))
                    .bind(Json(item(sku, price))).execute(pool).await.unwrap();
            }
        }
        // B pulls its own view of the vendor through a connection.
        let connection = Uuid::now_v7();
        sqlx::query("INSERT INTO connections (workspace_id, id, vendor_id, purpose, connector, name, status, settings, created_at) VALUES ($1, $2, $3, 'vendor-source', 'rest', 'Canon API', 'active', '{}', $4)")
            .bind(b).bind(connection).bind(v).bind(now).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO campaigns (workspace_id, id, vendor_id, external_id, status, content, created_at, updated_at) VALUES ($1, $2, $3, 'pulled', 'published', $4, $5, $5)")
            .bind(b).bind(Uuid::now_v7()).bind(v).bind(Json(campaign("Pulled", &[]))).bind(now).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO source_records (workspace_id, connection_id, vendor_id, stream, key, content_hash) VALUES ($1, $2, $3, 'campaigns', 'pulled', $4)")
            .bind(b).bind(connection).bind(v).bind(vec![1u8; 32]).execute(pool).await.unwrap();
        // What A did with its copy.
        let activation = Uuid::now_v7();
        sqlx::query("INSERT INTO campaign_activations (workspace_id, id, vendor_id, campaign_id, slug, activated_at, lead_count) VALUES ($1, $2, $3, $4, 'spring-a1', $5, 1)")
            .bind(a).bind(activation).bind(v).bind(campaign_ids[0]).bind(now).execute(pool).await.unwrap();
        let lead = Uuid::now_v7();
        sqlx::query("INSERT INTO leads (workspace_id, id, vendor_id, campaign_id, activation_id, source, status, search_text, contact, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'campaign', 'new', 'maija', $6, $7, $7)")
            .bind(a).bind(lead).bind(v).bind(campaign_ids[0]).bind(activation)
            .bind(Json(contact("Maija Meik"))).bind(now).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO notifications (workspace_id, id, kind, vendor_id, title, link, created_at) VALUES ($1, $2, 'new-campaign', $3, 'New campaign: Spring', $4, $5)")
            .bind(a).bind(Uuid::now_v7()).bind(v).bind(format!("/campaigns/{}", campaign_ids[0])).bind(now)
            .execute(pool).await.unwrap();
        Old {
            a: WorkspaceId::from_uuid(a),
            b: WorkspaceId::from_uuid(b),
            v: VendorId::from_uuid(v),
            a_campaign: campaign_ids[0],
            activation,
            lead,
        }
    }};
}

/// What the migrated store holds, read through its scopes.
async fn check(store: &Store, old: &Old) {
    let vendor = store.vendor(old.v);
    let campaigns = vendor.campaigns().await.unwrap();
    assert_eq!(campaigns.len(), 1, "the copies fold into one campaign");
    let folded = campaigns[0].id;
    assert_eq!(vendor.assets().await.unwrap().len(), 1);
    let lists = vendor.price_lists().await.unwrap();
    assert_eq!(lists.len(), 1);
    let items = vendor
        .price_list_items(&lists[0].external_id, None, 10)
        .await
        .unwrap();
    assert_eq!(items.len(), 2, "the items come once, not twice");
    assert_eq!(
        vendor.campaign_counts(&ext("spring")).await.unwrap(),
        (1, 1)
    );

    let a = store.partner(old.a);
    let seen: Vec<_> = a
        .campaigns()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(seen, [folded]);
    let activations = a.activations().await.unwrap();
    assert_eq!(activations.len(), 1);
    assert_eq!(activations[0].id.as_uuid(), old.activation);
    assert_eq!(
        activations[0].campaign_id, folded,
        "the activation names the folded campaign"
    );
    let lead = a
        .lead(onepane_domain::LeadId::from_uuid(old.lead))
        .await
        .unwrap();
    assert_eq!(lead.campaign_id, Some(folded));
    let notes = a.notifications(true).await.unwrap();
    assert_eq!(notes[0].link, Some(format!("/campaigns/{folded}")));
    if folded.as_uuid() != old.a_campaign {
        assert!(
            !notes
                .iter()
                .any(|n| n.link == Some(format!("/campaigns/{}", old.a_campaign))),
            "no link points at a copy that is gone"
        );
    }
    assert_eq!(a.pricing().await.unwrap().items.len(), 2);
    assert_eq!(a.assets().await.unwrap().len(), 1);

    let b = store.partner(old.b);
    let names: Vec<String> = b
        .campaigns()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.external_id.to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"spring".to_owned()) && names.contains(&"pulled".to_owned()));
    assert_eq!(b.pricing().await.unwrap().items.len(), 2);
}

#[tokio::test]
async fn a_sqlite_database_of_per_workspace_copies_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::in_data_dir(dir.path());
    let DatabaseUrl::Sqlite(path) = &url else {
        unreachable!("a data directory holds an SQLite file")
    };
    let old_dir = old_migrations("sqlite");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .unwrap();
    Migrator::new(old_dir.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let old = seed!(&pool);
    pool.close().await;
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    check(&store, &old).await;
}

#[tokio::test]
async fn a_postgres_database_of_per_workspace_copies_migrates() {
    let Some(db) = TestDb::postgres_empty().await else {
        return;
    };
    let old_dir = old_migrations("postgres");
    let owner = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.postgres_url_as(TEST_OWNER_ROLE).unwrap())
        .await
        .unwrap();
    Migrator::new(old_dir.path())
        .await
        .unwrap()
        .run(&owner)
        .await
        .unwrap();
    owner.close().await;
    // Written as the superuser, past row-level security, as the old
    // server would have over time.
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.postgres_superuser_url().unwrap())
        .await
        .unwrap();
    let old = seed!(&admin);
    admin.close().await;
    // The owner migrates, under forced row-level security as in production.
    let owner = Store::connect(
        &DatabaseUrl::Postgres(db.postgres_url_as(TEST_OWNER_ROLE).unwrap()),
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    owner.migrate().await.unwrap();
    owner.close().await;
    check(&db.store, &old).await;
}
