//! What the journeys share: a test vault, an engine that may reach
//! loopback, tenants, and fake vendors and CRM receivers that are real HTTP
//! servers on 127.0.0.1.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onepane_connector::{AddressPolicy, ClientConfig, Credentials};
use onepane_domain::lead::{Lead, LeadStatus};
use onepane_domain::price::PriceItem;
use onepane_domain::workspace::{Connection, ConnectionTarget, NewConnection};
use onepane_domain::{ConnectionId, LeadId, Tier, VendorId, WorkspaceId};
use onepane_store::testing::TestDb;
use onepane_store::testing::tenants::linked;
use onepane_store::{DatabaseUrl, LeadFilter, Page, Store};
use onepane_sync::{Engine, EngineConfig, Vault, secret_context};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

// ---- the vault ------------------------------------------------------------

/// Seals by XOR and binds the context: the sealed value carries the
/// context it was sealed for, and opening it under any other fails, as
/// AEAD associated data would.
#[derive(Debug, Default)]
pub struct TestVault;

const KEY: u8 = 0x5c;

impl Vault for TestVault {
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, String> {
        let ctx = context.as_bytes();
        let len = u32::try_from(ctx.len()).map_err(|e| e.to_string())?;
        let mut out = len.to_be_bytes().to_vec();
        out.extend_from_slice(ctx);
        out.extend(plain.iter().map(|b| b ^ KEY));
        Ok(out)
    }

    fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, String> {
        let (len, rest) = sealed
            .split_first_chunk::<4>()
            .ok_or("too short to be sealed")?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len || &rest[..len] != context.as_bytes() {
            return Err("sealed for another context".into());
        }
        Ok(rest[len..].iter().map(|b| b ^ KEY).collect())
    }
}

pub fn seal(ws: WorkspaceId, conn: ConnectionId, field: &str, plain: &[u8]) -> Vec<u8> {
    TestVault
        .seal(&secret_context(ws, conn, field), plain)
        .unwrap()
}

pub fn open(ws: WorkspaceId, conn: ConnectionId, field: &str, sealed: &[u8]) -> Vec<u8> {
    TestVault
        .open(&secret_context(ws, conn, field), sealed)
        .unwrap()
}

// ---- the engine -----------------------------------------------------------

/// Loopback allowed (the fakes live there); backoffs of milliseconds; no
/// rate limit to speak of.
pub fn config() -> EngineConfig {
    EngineConfig {
        http: ClientConfig {
            timeout: Duration::from_secs(5),
            max_attempts: 3,
            backoff_base: Duration::from_millis(2),
            backoff_cap: Duration::from_millis(50),
            addresses: AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]),
            ..ClientConfig::default()
        },
        requests_per_second: 100_000,
        burst: 100_000,
        push_retry_base: Duration::from_secs(60),
        push_max_attempts: 8,
        run_lease: Duration::from_secs(2),
    }
}

pub fn engine(store: &Store) -> Engine {
    engine_with(store, config(), "test-engine")
}

pub fn engine_with(store: &Store, config: EngineConfig, owner: &str) -> Engine {
    Engine::new(store.clone(), Arc::new(TestVault), config, owner.to_owned()).unwrap()
}

// ---- tenants --------------------------------------------------------------

pub use onepane_store::testing::content::name;

/// A workspace and a vendor linked to it.
pub async fn tenants(store: &Store) -> (WorkspaceId, VendorId) {
    linked(store, "Reseller Oy", "Printers Inc", Tier::Gold).await
}

/// A linked workspace and vendor, a fake vendor serving `data`, and a
/// `rest` source reading the fake without auth in pages of `limit`.
pub async fn fake_source(
    store: &Store,
    data: VendorData,
    limit: usize,
) -> (WorkspaceId, VendorId, FakeVendor, Connection) {
    let (ws, vendor) = tenants(store).await;
    let fake = FakeVendor::start(data).await;
    let conn = rest_source(
        store,
        ws,
        vendor,
        manifest(&fake.base, limit, json!({"type": "none"})),
        None,
    )
    .await;
    (ws, vendor, fake, conn)
}

/// A `rest` source of `vendor` reading `manifest`, with `credentials`
/// sealed when given.
pub async fn rest_source(
    store: &Store,
    ws: WorkspaceId,
    vendor: VendorId,
    manifest: Value,
    credentials: Option<&Credentials>,
) -> Connection {
    rest_source_on(store, ws, vendor, manifest, credentials, None).await
}

/// As [`rest_source`], run on the cron `schedule`.
pub async fn rest_source_on(
    store: &Store,
    ws: WorkspaceId,
    vendor: VendorId,
    manifest: Value,
    credentials: Option<&Credentials>,
    schedule: Option<&str>,
) -> Connection {
    let id = ConnectionId::new();
    let secrets: Vec<(&str, Vec<u8>)> = credentials
        .map(|c| {
            let plain = serde_json::to_vec(c).unwrap();
            vec![("credentials", seal(ws, id, "credentials", &plain))]
        })
        .unwrap_or_default();
    store
        .partner(ws)
        .create_connection_with(
            id,
            &NewConnection {
                target: ConnectionTarget::VendorSource { vendor_id: vendor },
                connector: name("rest"),
                name: name("Printers Inc API"),
                schedule: schedule.map(str::to_owned),
                settings: json!({ "manifest": manifest }),
            },
            &secrets,
        )
        .await
        .unwrap()
}

// ---- reading what landed --------------------------------------------------

/// Every lead of the workspace, by external id (each at most once, or the
/// test fails).
pub async fn leads(store: &Store, ws: WorkspaceId) -> BTreeMap<String, Lead> {
    let mut out = BTreeMap::new();
    let mut after: Option<LeadId> = None;
    loop {
        let page = store
            .partner(ws)
            .leads(&LeadFilter::default(), Page { after, limit: 500 })
            .await
            .unwrap();
        let Some(last) = page.last() else {
            return out;
        };
        after = Some(last.id);
        for lead in page {
            let key = lead.external_id.as_ref().unwrap().as_str().to_owned();
            assert!(
                out.insert(key.clone(), lead).is_none(),
                "lead {key} is stored twice"
            );
        }
    }
}

/// The partner accepts `lead`.
pub async fn accept(store: &Store, lead: &Lead) {
    store
        .partner(lead.workspace_id)
        .set_lead_status(lead.id, LeadStatus::Accepted)
        .await
        .unwrap();
}

/// Every price item of the workspace, keyed as the source keys them
/// (`<list> <sku>`), with its price as text.
pub async fn price_items(store: &Store, ws: WorkspaceId) -> BTreeMap<String, PriceItem> {
    let partner = store.partner(ws);
    let mut out = BTreeMap::new();
    for list in partner.price_lists().await.unwrap() {
        for item in partner.price_items(list.id).await.unwrap() {
            let key = format!("{} {}", list.external_id.as_str(), item.item.sku.as_str());
            assert!(
                out.insert(key.clone(), item).is_none(),
                "price item {key} is stored twice"
            );
        }
    }
    out
}

/// Asserts the workspace holds exactly the fake's leads and price items
/// (and, when it has any, its price lists and campaigns), field by field.
pub async fn assert_exactly_the_source(store: &Store, ws: WorkspaceId, fake: &FakeVendor) {
    let source = fake.state().clone_data();
    let stored = leads(store, ws).await;
    assert_same_keys(&stored, &source.leads, "the leads' keys");
    for (key, raw) in &source.leads {
        let lead = &stored[key];
        assert_eq!(lead.contact.name.as_str(), raw["name"], "lead {key}'s name");
        assert_eq!(
            lead.contact.email.as_ref().map(|e| e.as_str()),
            raw["email"].as_str(),
            "lead {key}'s email"
        );
        assert_eq!(
            lead.company.as_ref().map(|c| c.name.as_str()),
            raw["company"].as_str(),
            "lead {key}'s company"
        );
    }
    let items = price_items(store, ws).await;
    assert_same_keys(&items, &source.price_items, "the price items' keys");
    for (key, raw) in &source.price_items {
        let item = &items[key];
        let price: rust_decimal::Decimal = raw["price"].as_str().unwrap().parse().unwrap();
        assert_eq!(item.item.list_price.value(), price, "{key}'s price");
        assert_eq!(item.item.name.as_str(), raw["name"], "{key}'s name");
    }
    let lists = names(store.partner(ws).price_lists().await.unwrap(), |l| {
        (l.external_id.as_str(), l.terms.name.as_str())
    });
    assert_eq!(
        lists,
        source_names(&source.price_lists, "name"),
        "the price lists"
    );
    let campaigns = names(store.partner(ws).campaigns().await.unwrap(), |c| {
        (
            c.external_id.as_str(),
            c.content.variants.first().name.as_str(),
        )
    });
    assert_eq!(
        campaigns,
        source_names(&source.campaigns, "title"),
        "the published campaigns"
    );
}

fn assert_same_keys<A, B>(stored: &BTreeMap<String, A>, source: &BTreeMap<String, B>, what: &str) {
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        source.keys().collect::<Vec<_>>(),
        "{what}"
    );
}

/// Each stored row's name by its external id.
fn names<T>(rows: Vec<T>, name_of: impl Fn(&T) -> (&str, &str)) -> BTreeMap<String, String> {
    rows.iter()
        .map(|r| {
            let (id, name) = name_of(r);
            (id.to_owned(), name.to_owned())
        })
        .collect()
}

/// Each source record's `field`, by its key.
fn source_names(records: &BTreeMap<String, Value>, field: &str) -> BTreeMap<String, String> {
    records
        .iter()
        .map(|(k, v)| (k.clone(), v[field].as_str().unwrap().to_owned()))
        .collect()
}

/// Runs one SQL query returning one optional text, as a superuser
/// (PostgreSQL) or on the file (SQLite): for what the store has no reader for.
pub async fn sql_text(db: &TestDb, sql: &str, binds: &[uuid::Uuid]) -> Option<String> {
    // The same query on either backend's own pool type.
    macro_rules! on_pool {
        ($pool:expr) => {{
            let pool = $pool;
            let mut q = sqlx::query_scalar::<_, Option<String>>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            let out = q.fetch_optional(&pool).await.unwrap().flatten();
            pool.close().await;
            out
        }};
    }
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            on_pool!(sqlx::SqlitePool::connect_with(opts).await.unwrap())
        }
        DatabaseUrl::Postgres(_) => {
            let url = db.postgres_superuser_url().unwrap();
            on_pool!(sqlx::PgPool::connect(&url).await.unwrap())
        }
    }
}

// ---- a small seeded PRNG --------------------------------------------------

/// xorshift64*: reproducible faults without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---- the fake vendor ------------------------------------------------------

/// The vendor's records, as its API returns them.
#[derive(Debug, Clone, Default)]
pub struct VendorData {
    /// By id.
    pub leads: BTreeMap<String, Value>,
    /// By id.
    pub campaigns: BTreeMap<String, Value>,
    /// By code.
    pub price_lists: BTreeMap<String, Value>,
    /// By `<list> <sku>`.
    pub price_items: BTreeMap<String, Value>,
}

impl VendorData {
    pub fn put_lead(&mut self, i: usize, updated_at: u64) {
        let id = format!("L-{i:05}");
        self.leads.insert(
            id.clone(),
            json!({
                "id": id,
                "name": format!("Person {i}"),
                "email": format!("person{i}@customer.example"),
                "company": format!("Customer {i} Oy"),
                "updated_at": updated_at,
            }),
        );
    }

    pub fn put_campaign(&mut self, i: usize) {
        let id = format!("C-{i:03}");
        self.campaigns.insert(
            id.clone(),
            json!({"id": id, "title": format!("Campaign {i}"), "headline": "Print smarter",
                   "body": "Everything about printing.", "cta": "Talk to us"}),
        );
    }

    pub fn put_price_list(&mut self, i: usize) {
        let code = format!("PL-{i}");
        self.price_lists.insert(
            code.clone(),
            json!({"code": code, "name": format!("List {i}"), "currency": "EUR"}),
        );
    }

    pub fn put_price_item(&mut self, list: usize, sku: usize, cents: u64) {
        let code = format!("PL-{list}");
        let sku = format!("SKU-{sku:05}");
        self.price_items.insert(
            format!("{code} {sku}"),
            json!({"list": code, "sku": sku, "name": format!("Item {sku}"),
                   "price": format!("{}.{:02}", cents / 100, cents % 100)}),
        );
    }

    /// `leads` leads, `lists` price lists of `items_per_list` items each,
    /// and `campaigns` campaigns.
    pub fn generate(leads: usize, campaigns: usize, lists: usize, items_per_list: usize) -> Self {
        let mut data = VendorData::default();
        for i in 0..leads {
            data.put_lead(i, 1_000 + i as u64);
        }
        for i in 0..campaigns {
            data.put_campaign(i);
        }
        for l in 0..lists {
            data.put_price_list(l);
            for s in 0..items_per_list {
                data.put_price_item(l, s, 1_000 + (l * 7 + s * 13) as u64 % 90_000);
            }
        }
        data
    }

    fn stream(&self, path: &str) -> Option<&BTreeMap<String, Value>> {
        match path {
            "/leads" => Some(&self.leads),
            "/campaigns" => Some(&self.campaigns),
            "/price-lists" => Some(&self.price_lists),
            "/price-items" => Some(&self.price_items),
            _ => None,
        }
    }
}

/// The manifest of the fake: every stream cursor-paginated with `limit`;
/// leads incremental on `updated_at`.
pub fn manifest(base: &str, limit: usize, auth: Value) -> Value {
    let stream = |path: &str, map: Value| {
        json!({
            "path": path,
            "params": {"limit": limit},
            "records": "/data",
            "total": "/total",
            "pagination": {"type": "cursor", "cursor": "/next_cursor", "param": "cursor"},
            "map": map,
        })
    };
    let mut leads = stream(
        "/leads",
        json!({
            "external_id": "/id",
            "contact": {"name": "/name", "email": "/email"},
            "company": {"name": "/company"},
        }),
    );
    leads["incremental"] = json!({"cursor_field": "/updated_at", "since_param": "updated_since"});
    json!({
        "version": 1,
        "base_url": base,
        "auth": auth,
        "streams": {
            "leads": leads,
            "campaigns": stream("/campaigns", json!({
                "external_id": "/id",
                "content": {"variants": [{
                    "locale": {"$const": "en"},
                    "name": "/title",
                    "landing": {"headline": "/headline", "body": "/body", "call_to_action": "/cta"},
                }]},
            })),
            "price_lists": stream("/price-lists", json!({
                "external_id": "/code",
                "terms": {"name": "/name", "currency": "/currency"},
            })),
            "price_items": stream("/price-items", json!({
                "price_list": "/list",
                "item": {"sku": "/sku", "name": "/name", "list_price": {"$text": "/price"}},
            })),
        },
    })
}

/// One request the fake saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    /// The page asked for (0 without a cursor).
    pub page: usize,
    /// `updated_since`, when sent.
    pub since: Option<String>,
    /// What the fake did: `ok`, `500`, `429`, `slow`, `truncated`, `fail`, `401`.
    pub answer: &'static str,
    /// When it came.
    pub at: std::time::Instant,
}

/// Random failures, per mille of requests, drawn from a seeded PRNG; the
/// first requests listed in `forced` fail that way whatever the draw.
#[derive(Debug, Clone)]
pub struct Faults {
    pub rng: Rng,
    pub server_error: u64,
    pub too_many: u64,
    pub slow: u64,
    pub truncated: u64,
    /// How long a slow answer takes (longer than the client's timeout).
    pub slow_for: Duration,
    pub forced: Vec<&'static str>,
}

/// How the fake's token endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAnswer {
    /// A new token, valid for an hour.
    Issue,
    /// `400 invalid_grant`.
    Refuse,
}

/// What the fake is and does; tests change it between runs.
#[derive(Debug)]
pub struct FakeState {
    pub data: VendorData,
    /// Explicit pages per path, instead of `data` cut by `limit`.
    pub layouts: HashMap<String, Vec<Vec<Value>>>,
    /// `(path, page, status)`: that page answers `status`.
    pub fail_page: Option<(String, usize, u16)>,
    pub faults: Option<Faults>,
    /// How long every page takes.
    pub page_delay: Duration,
    pub seen: Vec<Seen>,
    /// When set, pages require `Authorization: Bearer <this>`.
    pub bearer: Option<String>,
    pub token_answer: TokenAnswer,
    pub token_delay: Duration,
    /// Grant types of the token requests, in order.
    pub token_grants: Vec<String>,
}

impl FakeState {
    pub fn clone_data(&self) -> VendorData {
        self.data.clone()
    }

    /// The requests of `path`.
    pub fn seen_on(&self, path: &str) -> Vec<Seen> {
        self.seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

/// A vendor API on 127.0.0.1, paginated like a real one:
/// `GET /leads?limit=..&cursor=p3&updated_since=..` answers
/// `{"data": [...], "next_cursor": "p4" | null, "total": n}`; `POST /token`
/// is its OAuth token endpoint.
#[derive(Debug)]
pub struct FakeVendor {
    pub base: String,
    state: Arc<Mutex<FakeState>>,
    // Held only so that dropping the fake stops its server.
    _server: Serving,
}

impl FakeVendor {
    pub async fn start(data: VendorData) -> FakeVendor {
        let state = Arc::new(Mutex::new(FakeState {
            data,
            layouts: HashMap::new(),
            fail_page: None,
            faults: None,
            page_delay: Duration::ZERO,
            seen: Vec::new(),
            bearer: None,
            token_answer: TokenAnswer::Issue,
            token_delay: Duration::ZERO,
            token_grants: Vec::new(),
        }));
        let app = Router::new()
            .route("/leads", get(page))
            .route("/campaigns", get(page))
            .route("/price-lists", get(page))
            .route("/price-items", get(page))
            .route("/token", post(token))
            .with_state(state.clone());
        let (base, server) = serve(app).await;
        FakeVendor {
            base,
            state,
            _server: server,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    /// Forgets the requests seen so far.
    pub fn clear_seen(&self) {
        self.state().seen.clear();
    }
}

/// A fake's server task; it stops when the fake is dropped, so a test's
/// fakes do not outlive it.
#[derive(Debug)]
pub struct Serving(JoinHandle<()>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub async fn serve(app: Router) -> (String, Serving) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, Serving(server))
}

fn page_of(cursor: Option<&String>) -> usize {
    cursor
        .and_then(|c| c.strip_prefix('p'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

enum Plan {
    Answer(StatusCode, Vec<(&'static str, String)>, String),
    Slow(Duration, String),
}

async fn page(
    State(state): State<Arc<Mutex<FakeState>>>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path().to_owned();
    let n = page_of(query.get("cursor"));
    let since = query.get("updated_since").cloned();
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100);
    let (plan, delay) = {
        let mut s = state.lock().unwrap();
        let delay = s.page_delay;
        let mut seen = Seen {
            path: path.clone(),
            page: n,
            since: since.clone(),
            answer: "ok",
            at: std::time::Instant::now(),
        };
        let authorized = match &s.bearer {
            None => true,
            Some(token) => headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == format!("Bearer {token}")),
        };
        let plan = if !authorized {
            seen.answer = "401";
            Plan::Answer(
                StatusCode::UNAUTHORIZED,
                vec![],
                r#"{"error":"invalid_token"}"#.into(),
            )
        } else if let Some((_, _, status)) = s
            .fail_page
            .as_ref()
            .filter(|(p, page, _)| *p == path && *page == n)
        {
            seen.answer = "fail";
            Plan::Answer(
                StatusCode::from_u16(*status).unwrap(),
                vec![],
                r#"{"error":"bad request"}"#.into(),
            )
        } else {
            let body = body_of(&s, &path, n, limit, since.as_deref());
            match s.faults.as_mut().map(draw) {
                Some("500") => {
                    seen.answer = "500";
                    Plan::Answer(StatusCode::INTERNAL_SERVER_ERROR, vec![], "oops".into())
                }
                Some("429") => {
                    seen.answer = "429";
                    Plan::Answer(
                        StatusCode::TOO_MANY_REQUESTS,
                        vec![("retry-after", "0".into())],
                        "slow down".into(),
                    )
                }
                Some("slow") => {
                    seen.answer = "slow";
                    let slow_for = s.faults.as_ref().unwrap().slow_for;
                    Plan::Slow(slow_for, body)
                }
                Some("truncated") => {
                    seen.answer = "truncated";
                    let cut = body[..body.len() / 2].to_owned();
                    Plan::Answer(StatusCode::OK, vec![], cut)
                }
                _ => Plan::Answer(StatusCode::OK, vec![], body),
            }
        };
        s.seen.push(seen);
        (plan, delay)
    };
    tokio::time::sleep(delay).await;
    let json = ("content-type", "application/json".to_owned());
    match plan {
        Plan::Answer(status, mut headers, body) => {
            headers.push(json);
            let mut response = (status, body).into_response();
            for (k, v) in headers {
                response.headers_mut().insert(k, v.parse().unwrap());
            }
            response
        }
        Plan::Slow(wait, body) => {
            tokio::time::sleep(wait).await;
            (StatusCode::OK, [json], body).into_response()
        }
    }
}

fn draw(f: &mut Faults) -> &'static str {
    if !f.forced.is_empty() {
        return f.forced.remove(0);
    }
    let roll = f.rng.below(1000);
    let mut bar = f.server_error;
    if roll < bar {
        return "500";
    }
    bar += f.too_many;
    if roll < bar {
        return "429";
    }
    bar += f.slow;
    if roll < bar {
        return "slow";
    }
    bar += f.truncated;
    if roll < bar {
        return "truncated";
    }
    "ok"
}

/// Page `n` of `path`: the explicit layout, or the records (since
/// `since`, for leads) cut into pages of `limit`.
fn body_of(s: &FakeState, path: &str, n: usize, limit: usize, since: Option<&str>) -> String {
    let pages: Vec<Vec<Value>> = match s.layouts.get(path) {
        Some(pages) => pages.clone(),
        None => {
            let since: Option<u64> = since.and_then(|s| s.parse().ok());
            let records: Vec<Value> = s
                .data
                .stream(path)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            let records: Vec<Value> = records
                .into_iter()
                // Like many APIs, `since` is inclusive.
                .filter(|r| since.is_none_or(|s| r["updated_at"].as_u64().unwrap_or(0) >= s))
                .collect();
            if records.is_empty() {
                vec![vec![]]
            } else {
                records
                    .chunks(limit.max(1))
                    .map(<[Value]>::to_vec)
                    .collect()
            }
        }
    };
    let total: usize = pages.iter().map(Vec::len).sum();
    let data = pages.get(n).cloned().unwrap_or_default();
    let next = (n + 1 < pages.len()).then(|| format!("p{}", n + 1));
    json!({"data": data, "next_cursor": next, "total": total}).to_string()
}

async fn token(State(state): State<Arc<Mutex<FakeState>>>, body: String) -> Response {
    let (answer, delay, n) = {
        let mut s = state.lock().unwrap();
        let grant = body
            .split('&')
            .find_map(|kv| kv.strip_prefix("grant_type="))
            .unwrap_or("")
            .to_owned();
        s.token_grants.push(grant);
        (s.token_answer, s.token_delay, s.token_grants.len())
    };
    tokio::time::sleep(delay).await;
    match answer {
        TokenAnswer::Issue => {
            let token = format!("tok-{n}");
            // The API accepts the newest token only.
            state.lock().unwrap().bearer = Some(token.clone());
            axum::Json(json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": format!("refresh-{n}"),
            }))
            .into_response()
        }
        TokenAnswer::Refuse => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": "the refresh token was revoked"})),
        )
            .into_response(),
    }
}

// ---- the fake CRM receiver ------------------------------------------------

/// One delivery the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub lead: String,
    pub status: String,
    pub signed: bool,
}

#[derive(Debug, Default)]
pub struct ReceiverState {
    pub deliveries: Vec<Delivery>,
    /// Leads answered 500.
    pub refuse: HashSet<String>,
}

/// A webhook receiver on 127.0.0.1 (`POST /hook`) that checks signatures
/// with `secret`.
#[derive(Debug)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
    // Held only so that dropping the fake stops its server.
    _server: Serving,
}

impl Receiver {
    pub async fn start(secret: &'static str) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let shared = state.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let state = shared.clone();
                async move {
                    let event: Value = serde_json::from_slice(&body).unwrap();
                    let lead = event["data"]["id"].as_str().unwrap().to_owned();
                    let signed = headers
                        .get(onepane_connector::signature::SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| {
                            onepane_connector::signature::verify(
                                secret.as_bytes(),
                                v,
                                &body,
                                chrono::Utc::now(),
                                300,
                            )
                        });
                    let mut s = state.lock().unwrap();
                    if s.refuse.contains(&lead) {
                        return (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "down for this one".to_owned(),
                        )
                            .into_response();
                    }
                    s.deliveries.push(Delivery {
                        lead: lead.clone(),
                        status: event["data"]["status"].as_str().unwrap().to_owned(),
                        signed,
                    });
                    axum::Json(json!({"id": format!("crm-{lead}")})).into_response()
                }
            }),
        );
        let (base, server) = serve(app).await;
        Receiver {
            url: format!("{base}/hook"),
            state,
            _server: server,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, ReceiverState> {
        self.state.lock().unwrap()
    }

    /// How many times each lead was delivered.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for d in &self.state().deliveries {
            *out.entry(d.lead.clone()).or_default() += 1;
        }
        out
    }
}
