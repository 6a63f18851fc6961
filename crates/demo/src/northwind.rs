//! Northwind Networks: a networking vendor with a partner API of its own,
//! which Onepane pulls through the declarative `rest` connector.
//!
//! The API wants an `X-Northwind-Key` header and pages every list its own
//! way, as real vendor APIs do: campaigns and price items by page number,
//! assets by offset, leads by cursor (and incrementally, by update time).
//! Its shapes and names are Northwind's, not Onepane's; the manifest maps
//! them. It also takes the partner's deal registrations (posted with an
//! `Idempotency-Key`) and answers to its leads, as the manifest's actions
//! send them; its deal desk decides each registration once it has waited,
//! and Onepane reads the decision back through the `deal_status` stream.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onepane_domain::Tier;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{DemoError, VendorFile, bind_loopback, day, file_routes, serve};

/// Its name.
pub const NAME: &str = "Northwind Networks";
/// The demo partner's tier with it (its API says the same).
pub(super) const TIER: Tier = Tier::Gold;
/// When Onepane pulls it again (and reads its deal desk's decisions):
/// every minute.
pub(super) const SCHEDULE: &str = "* * * * *";
/// The header its API key goes in.
pub(super) const API_KEY_HEADER: &str = "X-Northwind-Key";
/// The extra discount its deal desk grants on approved registrations.
pub(super) const DEAL_DISCOUNT: &str = "4";
/// Where its partner API lives on its server.
const API_PATH: &str = "/partner-api/v1";

/// Its partner API's base URL.
pub(super) fn api_base(addr: SocketAddr) -> String {
    format!("http://{addr}{API_PATH}")
}

/// The `rest` manifest that reads Northwind's API at `base_url`.
pub(super) fn manifest(base_url: &str) -> String {
    format!(
        r#"# Northwind Networks' partner API, as Onepane reads it.
version: 1
base_url: {base_url}
auth:
  type: api_key
  name: {API_KEY_HEADER}
  placement: header

streams:
  # The program level Northwind gives this partner.
  tier:
    path: /partner
    records: /partner
    map:
      $pointer: /program_level
      $values: {{Registered: registered, Silver: silver, Gold: gold, Platinum: platinum}}
      $default: registered

  # Campaigns: numbered pages, each translation a variant.
  campaigns:
    path: /campaigns
    records: /data
    total: /meta/total
    pagination:
      type: page_number
      param: page
      page_size: 2
      page_size_param: per_page
    map:
      external_id: /id
      content:
        window:
          starts_on: /starts
          ends_on: /ends
        audience:
          tiers:
            $each: /levels
            $map: {{$pointer: "", $values: {{Registered: registered, Silver: silver, Gold: gold, Platinum: platinum}}}}
        variants:
          $each: /translations
          $map:
            locale: /lang
            name: /title
            description: /summary
            landing:
              headline: /landing_headline
              body: /landing_body
              call_to_action: {{$pointer: /cta, $default: Contact me}}
        asset_external_ids: /asset_ids

  # Assets: offset and limit, with a total.
  assets:
    path: /assets
    records: /assets
    total: /total
    pagination:
      type: offset
      param: offset
      page_size: 3
      page_size_param: limit
    map:
      external_id: /id
      content:
        kind:
          $pointer: /format
          $values: {{pdf: document, png: image, mp4: video, html: email-template, pptx: presentation, url: link}}
        variants:
          - locale: {{$pointer: /lang, $default: en}}
            title: /title
            body:
              url: /url
        tags: /tags

  # Leads: a cursor, read incrementally by update time.
  leads:
    path: /leads
    records: /leads
    pagination:
      type: cursor
      cursor: /next_cursor
      param: cursor
    incremental:
      cursor_field: /updated_at
      since_param: updated_since
    map:
      external_id: /id
      contact:
        name: {{$concat: [/contact/first_name, /contact/last_name], $separator: " "}}
        email: /contact/email
        phone: /contact/phone
        title: /contact/job_title
      company:
        name: /account/name
        domain: /account/domain
        country: /account/country
      message: /notes
      respond_by: /accept_by

  price_lists:
    path: /price-lists
    records: /price_lists
    map:
      external_id: /code
      terms:
        name: /name
        currency: /currency
        tier_discounts:
          $each: /level_discounts
          $map:
            tier: {{$pointer: /level, $values: {{Registered: registered, Silver: silver, Gold: gold, Platinum: platinum}}}}
            discount: {{$text: /percent}}

  # Price items: numbered pages.
  price_items:
    path: /price-items
    records: /items
    total: /total
    pagination:
      type: page_number
      param: page
      page_size: 5
      page_size_param: per_page
    map:
      price_list: /list_code
      item:
        sku: /sku
        name: /description
        category: /family
        list_price: {{$text: /unit_price}}
        volume_breaks:
          $each: /breaks
          $map:
            min_quantity: /from_qty
            discount: {{$text: /percent}}

  # Its deal desk's decisions on the partner's registrations.
  deal_status:
    path: /deal-registrations
    records: /results
    pagination:
      type: page_number
      param: page
      page_size: 100
      page_size_param: per_page
    map:
      registration: /partner_reference
      vendor_ref: /id
      status:
        $pointer: /state
        $values: {{PENDING: submitted, APPROVED: approved, DECLINED: rejected}}
        $default: submitted
      reason: /decision_note
      protection_expires_on: /protected_until
      extra_discount: {{$text: /additional_discount}}

actions:
  register_deal:
    path: /deal-registrations
    idempotency_header: Idempotency-Key
    body:
      partner_reference: /id
      opportunity_name: /title
      end_customer:
        company: /customer/name
        website: /customer/domain
        country: /customer/country
      estimated_value: /amount
      currency: /currency
      lines:
        $each: /products
        $map: {{part_number: /sku, qty: /quantity}}
      source_lead: /lead_external_id
    vendor_ref: /data/id
    status:
      $pointer: /data/state
      $values: {{PENDING: submitted, APPROVED: approved, DECLINED: rejected}}
    refused:
      message: /error/message

  answer_lead:
    path: /leads/{{/external_id}}/response
    idempotency_header: Idempotency-Key
    body:
      action: {{$pointer: /decision, $values: {{accepted: accept, declined: reject}}}}
      reason: /reason
"#
    )
}

/// Starts Northwind's server on loopback: its partner API (which wants
/// `api_key`) and its files.
pub(super) async fn start(
    api_key: String,
    decide_after: Duration,
) -> Result<(SocketAddr, JoinHandle<()>), DemoError> {
    let (listener, addr) = bind_loopback(NAME).await?;
    let api = Api {
        key: Arc::from(api_key),
        catalog: Arc::new(Catalog::new(&format!("http://{addr}"))),
        desk: Arc::new(Mutex::new(Desk {
            decide_after,
            registrations: Vec::new(),
            answers: Vec::new(),
        })),
    };
    let router = Router::new()
        .route(&format!("{API_PATH}/partner"), get(partner))
        .route(&format!("{API_PATH}/campaigns"), get(campaigns))
        .route(&format!("{API_PATH}/assets"), get(assets))
        .route(&format!("{API_PATH}/leads"), get(leads))
        .route(&format!("{API_PATH}/price-lists"), get(price_lists))
        .route(&format!("{API_PATH}/price-items"), get(price_items))
        .route(
            &format!("{API_PATH}/deal-registrations"),
            get(registrations).post(register),
        )
        .route(&format!("{API_PATH}/leads/{{id}}/response"), post(answer))
        .with_state(api)
        .merge(file_routes(
            NAME,
            "Networking for campuses, branches and data centers. Partners: find datasheets and \
             campaign material below, or use the partner API.",
            FILES,
        ));
    Ok((addr, serve(NAME, listener, router)))
}

#[derive(Clone)]
struct Api {
    key: Arc<str>,
    catalog: Arc<Catalog>,
    desk: Arc<Mutex<Desk>>,
}

/// Northwind's deal desk: the registrations partners sent, decided once
/// they have waited `decide_after` (a title with "reject" in it is
/// rejected with a reason; the rest approved for 90 days with an extra
/// discount), and the partners' answers to its leads.
struct Desk {
    decide_after: Duration,
    registrations: Vec<Registration>,
    answers: Vec<(String, Value)>,
}

/// A registration as Northwind keeps it.
struct Registration {
    id: String,
    key: String,
    partner_reference: String,
    title: String,
    received: Instant,
    decided: Option<(&'static str, String, Option<String>)>,
}

impl Desk {
    /// Decides what has waited long enough.
    fn decide_due(&mut self) {
        let wait = self.decide_after;
        for r in self
            .registrations
            .iter_mut()
            .filter(|r| r.decided.is_none())
        {
            if r.received.elapsed() < wait {
                continue;
            }
            r.decided = Some(if r.title.to_lowercase().contains("reject") {
                (
                    "DECLINED",
                    format!(
                        "{NAME} already protects this opportunity for another partner (registered \
                         first). Talk to your channel manager if you think this is wrong."
                    ),
                    None,
                )
            } else {
                let until = (chrono::Utc::now().date_naive() + chrono::Days::new(90)).to_string();
                (
                    "APPROVED",
                    format!(
                        "Approved by the {NAME} channel desk: protected for 90 days, with an extra \
                         {DEAL_DISCOUNT} % discount on the registered products."
                    ),
                    Some(until),
                )
            });
        }
    }
}

/// Everything Northwind's API answers with, in its own shapes.
struct Catalog {
    campaigns: Vec<Value>,
    assets: Vec<Value>,
    leads: Vec<Value>,
    price_items: Vec<Value>,
}

impl Catalog {
    fn new(site: &str) -> Self {
        Self {
            campaigns: campaign_records(),
            assets: ASSETS
                .iter()
                .map(|(id, format, title, slug, tags)| {
                    json!({
                        "id": id,
                        "format": format,
                        "lang": "en",
                        "title": title,
                        "url": format!("{site}/files/{slug}"),
                        "tags": tags,
                    })
                })
                .collect(),
            leads: lead_records(),
            price_items: PRICE_ITEMS
                .iter()
                .map(|(sku, description, family, price, breaks)| {
                    json!({
                        "list_code": PRICE_LIST_CODE,
                        "sku": sku,
                        "description": description,
                        "family": family,
                        "unit_price": price,
                        "breaks": breaks
                            .iter()
                            .map(|(qty, percent)| json!({"from_qty": qty, "percent": percent}))
                            .collect::<Vec<_>>(),
                    })
                })
                .collect(),
        }
    }
}

/// Whether the request carries Northwind's API key.
fn authorized(api: &Api, headers: &HeaderMap) -> bool {
    let given = headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    !given.is_empty() && given == &*api.key
}

/// The answer to a request without the right key, as Northwind gives it.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid_api_key", "message": "send a valid X-Northwind-Key"})),
    )
        .into_response()
}

async fn partner(State(api): State<Api>, headers: HeaderMap) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    Json(json!({
        "partner": {
            "account": "NW-FI-004217",
            "name": super::WORKSPACE_NAME,
            "program_level": "Gold",
        }
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<usize>,
    per_page: Option<usize>,
}

/// One numbered page (from 1) of `items`.
fn numbered(items: &[Value], q: &PageQuery, default_size: usize) -> Vec<Value> {
    let size = q.per_page.unwrap_or(default_size).clamp(1, 100);
    let page = q.page.unwrap_or(1).max(1);
    items
        .iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .cloned()
        .collect()
}

async fn campaigns(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    let all = &api.catalog.campaigns;
    Json(json!({
        "data": numbered(all, &q, 2),
        "meta": {"page": q.page.unwrap_or(1), "total": all.len()},
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct OffsetQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn assets(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<OffsetQuery>,
) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    let all = &api.catalog.assets;
    let page: Vec<Value> = all
        .iter()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(3).clamp(1, 100))
        .cloned()
        .collect();
    Json(json!({"assets": page, "total": all.len()})).into_response()
}

#[derive(Debug, Deserialize)]
struct LeadsQuery {
    cursor: Option<String>,
    updated_since: Option<String>,
}

/// Leads in update order, three a page; the cursor is where the next page
/// starts. Timestamps are all UTC in one format, so they sort as text.
async fn leads(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<LeadsQuery>,
) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    const PAGE: usize = 3;
    let start = match q.cursor.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_cursor"})),
            )
                .into_response();
        }
    };
    let mut matching: Vec<&Value> = api
        .catalog
        .leads
        .iter()
        .filter(|l| {
            let updated = l.get("updated_at").and_then(Value::as_str).unwrap_or("");
            q.updated_since.as_deref().is_none_or(|s| updated > s)
        })
        .collect();
    matching.sort_by_key(|l| l.get("updated_at").and_then(Value::as_str).unwrap_or(""));
    let page: Vec<&Value> = matching.iter().skip(start).take(PAGE).copied().collect();
    let next = (start + PAGE < matching.len()).then(|| (start + PAGE).to_string());
    Json(json!({"leads": page, "next_cursor": next})).into_response()
}

/// Takes a registration; the same `Idempotency-Key` is the same
/// registration.
async fn register(State(api): State<Api>, headers: HeaderMap, body: Json<Value>) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = |p: &str| {
        body.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if text("/opportunity_name").is_empty() || text("/end_customer/company").is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"code": "invalid", "message": "an opportunity name and an end customer are required"}})),
        )
            .into_response();
    }
    let mut desk = api
        .desk
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let n = desk.registrations.len() + 1;
    let id = match desk
        .registrations
        .iter()
        .find(|r| !key.is_empty() && r.key == key)
    {
        Some(r) => r.id.clone(),
        None => {
            let id = format!("NW-DR-{n:05}");
            desk.registrations.push(Registration {
                id: id.clone(),
                key,
                partner_reference: text("/partner_reference"),
                title: text("/opportunity_name"),
                received: Instant::now(),
                decided: None,
            });
            id
        }
    };
    (
        StatusCode::CREATED,
        Json(json!({"data": {"id": id, "state": "PENDING"}})),
    )
        .into_response()
}

/// The registrations and their state, numbered pages.
async fn registrations(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    let mut desk = api
        .desk
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    desk.decide_due();
    let all: Vec<Value> = desk
        .registrations
        .iter()
        .map(|r| {
            let (state, note, until) = match &r.decided {
                Some((state, note, until)) => (*state, Some(note.clone()), until.clone()),
                None => ("PENDING", None, None),
            };
            json!({
                "id": r.id,
                "partner_reference": r.partner_reference,
                "state": state,
                "decision_note": note,
                "protected_until": until,
                "additional_discount": (state == "APPROVED").then_some(DEAL_DISCOUNT),
            })
        })
        .collect();
    Json(json!({"results": numbered(&all, &q, 100), "page": q.page.unwrap_or(1)})).into_response()
}

/// Takes a partner's answer to one of Northwind's leads.
async fn answer(
    State(api): State<Api>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Json<Value>,
) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    let mut desk = api
        .desk
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    desk.answers.push((id, body.0));
    StatusCode::NO_CONTENT.into_response()
}

async fn price_lists(State(api): State<Api>, headers: HeaderMap) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    Json(json!({
        "price_lists": [{
            "code": PRICE_LIST_CODE,
            "name": "Northwind EMEA Partner Price List 2026",
            "currency": "EUR",
            "level_discounts": [
                {"level": "Silver", "percent": 8},
                {"level": "Gold", "percent": 14},
                {"level": "Platinum", "percent": 20},
            ],
        }]
    }))
    .into_response()
}

async fn price_items(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if !authorized(&api, &headers) {
        return unauthorized();
    }
    let all = &api.catalog.price_items;
    Json(json!({"items": numbered(all, &q, 5), "total": all.len()})).into_response()
}

// ---- Northwind's data ------------------------------------------------------

const PRICE_LIST_CODE: &str = "NW-EMEA-2026";

/// SKU, description, family, unit price (EUR), volume breaks (from, percent).
type PriceRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(u32, &'static str)],
);

const PRICE_ITEMS: &[PriceRow] = &[
    (
        "NW-S24-POE",
        "Northwind S24 access switch, 24 x 1G PoE+, 4 x 10G SFP+",
        "switches",
        "1190.00",
        &[(10, "3")],
    ),
    (
        "NW-S48-POE",
        "Northwind S48 access switch, 48 x 1G PoE+, 4 x 10G SFP+",
        "switches",
        "2290.00",
        &[(10, "3")],
    ),
    (
        "NW-S48-MG",
        "Northwind S48-MG multigigabit switch, 48 x 2.5G PoE++",
        "switches",
        "4850.00",
        &[],
    ),
    (
        "NW-C9600",
        "Northwind C9600 core switch chassis, dual supervisor",
        "switches",
        "18900.00",
        &[],
    ),
    (
        "NW-SFP-10G-SR",
        "10GBASE-SR SFP+ transceiver, 300 m",
        "switches",
        "145.00",
        &[(20, "5"), (100, "10")],
    ),
    (
        "NW-AP6",
        "Northwind AP6 Wi-Fi 6 indoor access point",
        "wireless",
        "349.00",
        &[(25, "4"), (100, "8")],
    ),
    (
        "NW-AP7-PRO",
        "Northwind AP7 Pro Wi-Fi 7 tri-band access point",
        "wireless",
        "589.00",
        &[(25, "4"), (100, "8")],
    ),
    (
        "NW-AP7-OUT",
        "Northwind AP7 outdoor access point, IP67",
        "wireless",
        "749.00",
        &[],
    ),
    (
        "NW-FW-200",
        "Northwind Guard 200 firewall, 2 Gbps threat protection",
        "security",
        "1450.00",
        &[],
    ),
    (
        "NW-FW-600",
        "Northwind Guard 600 firewall, 8 Gbps threat protection",
        "security",
        "5900.00",
        &[],
    ),
    (
        "NW-SDWAN-E10",
        "Northwind Edge 10 SD-WAN branch appliance",
        "security",
        "890.00",
        &[(10, "5")],
    ),
    (
        "NW-LIC-CLOUD-1Y",
        "Northwind Cloud management, 1 device, 1 year",
        "licenses",
        "79.00",
        &[(50, "5"), (250, "12")],
    ),
    (
        "NW-LIC-THREAT-1Y",
        "Northwind Threat Defense subscription, 1 firewall, 1 year",
        "licenses",
        "240.00",
        &[],
    ),
    (
        "NW-LIC-SDWAN-3Y",
        "Northwind SD-WAN Advanced, 1 edge, 3 years",
        "licenses",
        "1150.00",
        &[],
    ),
    (
        "NW-SVC-NBD-1Y",
        "Next-business-day hardware replacement, 1 year",
        "services",
        "120.00",
        &[],
    ),
    (
        "NW-SVC-DEPLOY",
        "Campus deployment service, up to 20 devices",
        "services",
        "1800.00",
        &[],
    ),
];

/// Id, format, title, file slug, tags.
type AssetRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const ASSETS: &[AssetRow] = &[
    (
        "NW-AST-AP7-DS",
        "pdf",
        "AP7 Pro Wi-Fi 7 access point datasheet",
        "ap7-pro-datasheet",
        &["wifi 7", "datasheet"],
    ),
    (
        "NW-AST-WIFI7-BANNER",
        "png",
        "Wi-Fi 7 campus refresh web banner",
        "wifi7-banner",
        &["wifi 7", "banner"],
    ),
    (
        "NW-AST-SDWAN-VIDEO",
        "mp4",
        "SD-WAN in a box: five-minute demo video",
        "sdwan-video",
        &["sd-wan", "video"],
    ),
    (
        "NW-AST-SWITCH-EMAIL",
        "html",
        "Core switch trade-in: customer email",
        "trade-in-email",
        &["switching", "email"],
    ),
];

const FILES: &[VendorFile] = &[
    VendorFile {
        slug: "ap7-pro-datasheet",
        title: "AP7 Pro Wi-Fi 7 access point datasheet",
        text: "Tri-band Wi-Fi 7 (2.4, 5 and 6 GHz), 4x4 MU-MIMO on every band, 10G uplink, PoE++ \
               powered, cloud or on-premise management. Up to 500 clients per access point.",
    },
    VendorFile {
        slug: "wifi7-banner",
        title: "Wi-Fi 7 campus refresh web banner",
        text: "\"Faster Wi-Fi for every classroom and meeting room. Ask us about Wi-Fi 7.\" \
               Sizes: 728 x 90, 300 x 250, 160 x 600.",
    },
    VendorFile {
        slug: "sdwan-video",
        title: "SD-WAN in a box: five-minute demo video",
        text: "A branch online in five minutes: unbox the Edge 10, scan its code, and the cloud \
               pushes the configuration. Chapters: unboxing, zero-touch setup, failover.",
    },
    VendorFile {
        slug: "trade-in-email",
        title: "Core switch trade-in: customer email",
        text: "Subject: Trade in your old core switch, get up to 30 % off a Northwind C9600. \
               Dear customer, until the end of the quarter ...",
    },
];

fn campaign_records() -> Vec<Value> {
    vec![
        json!({
            "id": "NW-CMP-WIFI7",
            "starts": day(-20),
            "ends": day(70),
            "levels": ["Silver", "Gold", "Platinum"],
            "asset_ids": ["NW-AST-AP7-DS", "NW-AST-WIFI7-BANNER"],
            "translations": [
                {
                    "lang": "en",
                    "title": "Wi-Fi 7 Campus Refresh",
                    "summary": "Replace Wi-Fi 5 access points in schools and offices with AP7 Pro; \
                                free site survey for the first 20 customers.",
                    "landing_headline": "Wi-Fi that keeps up with everyone",
                    "landing_body": "Wi-Fi 7 gives every meeting room and classroom fast, \
                                     reliable connections. Book a free site survey and see what \
                                     your building needs.",
                    "cta": "Book a site survey",
                },
                {
                    "lang": "fi",
                    "title": "Wi-Fi 7 -kampuspäivitys",
                    "summary": "Vaihda koulujen ja toimistojen Wi-Fi 5 -tukiasemat AP7 Pro \
                                -malleihin; maksuton kartoitus 20 ensimmäiselle asiakkaalle.",
                    "landing_headline": "Langaton verkko, joka pysyy mukana",
                    "landing_body": "Wi-Fi 7 tuo jokaiseen neuvotteluhuoneeseen ja luokkaan \
                                     nopeat ja luotettavat yhteydet. Varaa maksuton kartoitus.",
                    "cta": "Varaa kartoitus",
                },
            ],
        }),
        json!({
            "id": "NW-CMP-SDWAN",
            "starts": day(-5),
            "ends": day(85),
            "levels": ["Gold", "Platinum"],
            "asset_ids": ["NW-AST-SDWAN-VIDEO"],
            "translations": [
                {
                    "lang": "en",
                    "title": "Branch SD-WAN in a Box",
                    "summary": "Edge 10 appliances with three years of SD-WAN Advanced for \
                                retail and branch networks.",
                    "landing_headline": "Every branch online in five minutes",
                    "landing_body": "Plug in the Edge 10, scan the code, done. Failover to 4G \
                                     and central security policies included.",
                    "cta": "Get a branch assessment",
                },
                {
                    "lang": "fi",
                    "title": "Sivukonttorin SD-WAN valmispakettina",
                    "summary": "Edge 10 -laitteet ja kolmen vuoden SD-WAN Advanced -lisenssi \
                                myymälä- ja sivukonttoriverkkoihin.",
                    "landing_headline": "Jokainen toimipiste verkossa viidessä minuutissa",
                    "landing_body": "Kytke Edge 10, skannaa koodi ja valmista. Mukana 4G-varayhteys \
                                     ja keskitetyt tietoturvasäännöt.",
                    "cta": "Pyydä arvio",
                },
            ],
        }),
        json!({
            "id": "NW-CMP-TRADEIN",
            "starts": day(-30),
            "ends": day(30),
            "levels": [],
            "asset_ids": ["NW-AST-SWITCH-EMAIL"],
            "translations": [{
                "lang": "en",
                "title": "Core Switch Trade-in",
                "summary": "Up to 30 % off a C9600 core switch when the customer trades in any \
                            core switch over five years old.",
                "landing_headline": "Trade in your old core switch",
                "landing_body": "Get up to 30 % off a Northwind C9600 when you retire a core \
                                 switch that is five years or older. We handle the migration.",
            }],
        }),
        json!({
            "id": "NW-CMP-FABRIC",
            "starts": day(-10),
            "ends": day(120),
            "levels": ["Platinum"],
            "asset_ids": [],
            "translations": [{
                "lang": "en",
                "title": "Data Center Fabric Early Access",
                "summary": "For Platinum partners: early access to the C9600 fabric release, \
                            with demo equipment on loan.",
                "landing_headline": "A data center fabric that runs itself",
                "landing_body": "Automated leaf-spine fabrics with one policy from campus to \
                                 data center. Join the early access program.",
                "cta": "Join early access",
            }],
        }),
    ]
}

/// Northwind's leads, updated over the past days; each is due for an
/// answer within a few days.
fn lead_records() -> Vec<Value> {
    // Id, first, last, job title, email user, phone, company, domain,
    // country, notes, days since update, days to answer.
    type LeadRow<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        i64,
        i64,
    );
    const LEADS: &[LeadRow<'static>] = &[
        (
            "NWL-10481",
            "Jussi",
            "Korhonen",
            "IT Manager",
            "jussi.korhonen",
            "+358 40 712 3401",
            "Kaleva Logistics Oy",
            "kaleva-logistics.example",
            "FI",
            "Three warehouses need Wi-Fi coverage for handheld scanners; asked for AP7 outdoor pricing.",
            6,
            4,
        ),
        (
            "NWL-10482",
            "Maria",
            "Lindqvist",
            "Head of Infrastructure",
            "maria.lindqvist",
            "+46 70 555 1290",
            "Nordvik Retail AB",
            "nordvik-retail.example",
            "SE",
            "Rolling out SD-WAN to 42 stores during spring; wants a pilot in two stores.",
            5,
            5,
        ),
        (
            "NWL-10483",
            "Tanel",
            "Kask",
            "CTO",
            "tanel.kask",
            "+372 5551 2087",
            "Baltic Freight Systems OU",
            "balticfreight.example",
            "EE",
            "Core switch end of life in Q1; interested in the trade-in campaign.",
            5,
            3,
        ),
        (
            "NWL-10484",
            "Henna",
            "Mäkelä",
            "Facilities Director",
            "henna.makela",
            "+358 50 441 9082",
            "Espoon Kampus Oy",
            "espoon-kampus.example",
            "FI",
            "New campus building, 120 access points, opens in August.",
            4,
            6,
        ),
        (
            "NWL-10485",
            "Ola",
            "Nordmann",
            "IT Lead",
            "ola.nordmann",
            "+47 912 34 567",
            "Fjordline Hotels AS",
            "fjordline-hotels.example",
            "NO",
            "Guest Wi-Fi refresh across four hotels; requested a site survey.",
            3,
            5,
        ),
        (
            "NWL-10486",
            "Petri",
            "Laine",
            "Network Architect",
            "petri.laine",
            "+358 44 300 2211",
            "Tampere Health Tech Oy",
            "tampere-healthtech.example",
            "FI",
            "Segmentation of medical devices; evaluating Guard 600 firewalls.",
            2,
            4,
        ),
        (
            "NWL-10487",
            "Sofia",
            "Berg",
            "Procurement Manager",
            "sofia.berg",
            "+46 73 200 4411",
            "Malmö Manufacturing AB",
            "malmo-manufacturing.example",
            "SE",
            "Tender for 60 access switches, deadline in three weeks.",
            2,
            2,
        ),
        (
            "NWL-10488",
            "Kaisa",
            "Heikkinen",
            "IT Specialist",
            "kaisa.heikkinen",
            "+358 45 210 7788",
            "Oulun Energia Oy",
            "oulun-energia.example",
            "FI",
            "Asked for cloud management licensing for 300 devices.",
            1,
            7,
        ),
    ];
    let today = chrono::Utc::now().date_naive();
    LEADS
        .iter()
        .enumerate()
        .map(
            |(
                i,
                (id, first, last, title, user, phone, company, domain, country, notes, ago, due),
            )| {
                // A stable time within each day, so a restart the same day
                // gives the same records.
                let minutes = 8 * 60 + 37 * u32::try_from(i).unwrap_or(0);
                let updated = today - chrono::Duration::days(*ago);
                let accept_by = today + chrono::Duration::days(*due);
                json!({
                    "id": id,
                    "contact": {
                        "first_name": first,
                        "last_name": last,
                        "job_title": title,
                        "email": format!("{user}@{domain}"),
                        "phone": phone,
                    },
                    "account": {"name": company, "domain": domain, "country": country},
                    "notes": notes,
                    "updated_at": format!("{updated}T{:02}:{:02}:00Z", minutes / 60, minutes % 60),
                    "accept_by": format!("{accept_by}T15:00:00Z"),
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use onepane_connector::{Credentials, KeyPlacement, Secret};

    use super::*;

    #[test]
    fn the_manifest_reads_and_takes_the_api_key() {
        let settings = json!({"manifest": manifest("http://127.0.0.1:9/partner-api/v1")});
        let source = check_connection(&settings);
        assert!(source.is_ok(), "{source:?}");
    }

    fn check_connection(settings: &Value) -> Result<(), String> {
        let conn = onepane_domain::workspace::Connection {
            id: onepane_domain::ConnectionId::new(),
            workspace_id: onepane_domain::WorkspaceId::new(),
            target: onepane_domain::workspace::ConnectionTarget::VendorSource {
                vendor_id: onepane_domain::VendorId::new(),
            },
            connector: onepane_domain::text::Name::parse("rest").map_err(|e| e.to_string())?,
            name: onepane_domain::text::Name::parse("Northwind").map_err(|e| e.to_string())?,
            schedule: Some(SCHEDULE.into()),
            status: onepane_domain::workspace::ConnectionStatus::Active,
            settings: settings.clone(),
            created_at: chrono::Utc::now(),
        };
        let registry = onepane_sync::Registry;
        registry.check(&conn).map_err(|e| e.to_string())?;
        registry.check_credentials(
            &conn,
            &Credentials::ApiKey {
                name: API_KEY_HEADER.into(),
                value: Secret::new("k"),
                placement: KeyPlacement::Header,
            },
        )
    }

    #[test]
    fn every_lead_has_a_distinct_update_time() {
        let leads = lead_records();
        let mut times: Vec<&str> = leads
            .iter()
            .map(|l| l["updated_at"].as_str().unwrap())
            .collect();
        times.sort_unstable();
        times.dedup();
        assert_eq!(times.len(), leads.len());
    }
}
