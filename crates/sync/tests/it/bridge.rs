//! Two-way vendor connections: a partner's registrations and answers to
//! leads delivered to a vendor's own partner API (a stateful fake of the
//! Northwind example, on 127.0.0.1) from the delivery outbox, exactly once
//! at the vendor through faults, and the vendor's decisions read back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onepane_connector::{Credentials, KeyPlacement, Secret};
use onepane_domain::activity::NotificationKind;
use onepane_domain::deal::DealStatus;
use onepane_domain::delivery::{DeliveryKind, DeliveryRoute, SendStatus};
use onepane_domain::lead::LeadStatus;
use onepane_domain::text::LongText;
use onepane_domain::workspace::Connection;
use onepane_domain::{Tier, VendorId, WorkspaceId};
use onepane_store::DeliveryOutcome;
use onepane_store::Store;
use onepane_store::testing::TestDb;
use onepane_store::testing::content::{deal, vendor_lead};
use onepane_store::testing::tenants::linked;
use onepane_sync::Deliverer;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::*;

const NORTHWIND: &str =
    include_str!("../../../../connectors/rest/examples/northwind-partner-api.yaml");
const FABRIKAM: &str =
    include_str!("../../../../connectors/rest/examples/fabrikam-channel-hub.yaml");
const KEY: &str = "nw-partner-key";

/// A registration as the fake vendor holds it.
#[derive(Debug, Clone)]
struct Held {
    id: String,
    body: Value,
    state: &'static str,
    note: Option<String>,
    protected_until: Option<String>,
    discount: Option<u32>,
}

#[derive(Debug, Default)]
struct Northwind {
    /// By idempotency key: a repeated key is the same registration.
    registrations: BTreeMap<String, Held>,
    keys_seen: Vec<String>,
    /// Answers to each of the next requests before taking them.
    refuse_next: Vec<(u16, Value)>,
    /// Stores the next registration, then answers 500 as if cut off.
    cut_after_storing: u32,
    /// 429 with this Retry-After on every request.
    busy: Option<u64>,
    /// Stores the next registrations, then answers only after this long.
    slow: Option<(u32, Duration)>,
    answers: Vec<(String, Value, String)>,
    leads: Vec<Value>,
}

type Shared = Arc<Mutex<Northwind>>;

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("x-northwind-key")
        .is_some_and(|v| v.as_bytes() == KEY.as_bytes())
}

async fn post_registration(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let (held, cut, delay) = {
        let mut s = state.lock().unwrap();
        if let Some(wait) = s.busy {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", wait.to_string())],
                "slow down",
            )
                .into_response();
        }
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        s.keys_seen.push(key.clone());
        if !s.refuse_next.is_empty() {
            let (status, answer) = s.refuse_next.remove(0);
            return (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
        }
        let n = s.registrations.len() + 1;
        let held = s
            .registrations
            .entry(key)
            .or_insert_with(|| Held {
                id: format!("DR-{n}"),
                body: body.0.clone(),
                state: "PENDING",
                note: None,
                protected_until: None,
                discount: None,
            })
            .clone();
        let cut = s.cut_after_storing > 0;
        if cut {
            s.cut_after_storing -= 1;
        }
        let delay = match s.slow {
            Some((n, wait)) if n > 0 => {
                s.slow = Some((n - 1, wait));
                Some(wait)
            }
            _ => None,
        };
        (held, cut, delay)
    };
    if cut {
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream reset").into_response();
    }
    if let Some(wait) = delay {
        tokio::time::sleep(wait).await;
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"data": {"id": held.id, "state": held.state}})),
    )
        .into_response()
}

async fn list_registrations(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let s = state.lock().unwrap();
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per: usize = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(100);
    let results: Vec<Value> = s
        .registrations
        .values()
        .skip((page - 1) * per)
        .take(per)
        .map(|h| {
            json!({
                "id": h.id,
                "partner_reference": h.body["partner_reference"],
                "state": h.state,
                "decision_note": h.note,
                "protected_until": h.protected_until,
                "additional_discount": h.discount,
            })
        })
        .collect();
    axum::Json(json!({"results": results, "page": page})).into_response()
}

async fn list_leads(
    State(state): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let s = state.lock().unwrap();
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let results: Vec<Value> = if page == 1 {
        s.leads.clone()
    } else {
        Vec::new()
    };
    axum::Json(json!({"results": results})).into_response()
}

async fn answer_lead(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut s = state.lock().unwrap();
    if !s.answers.iter().any(|(_, _, k)| *k == key) {
        s.answers.push((id, body.0, key));
    }
    StatusCode::NO_CONTENT.into_response()
}

struct FakeNorthwind {
    base: String,
    state: Shared,
    _server: Serving,
}

impl FakeNorthwind {
    async fn start() -> Self {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route(
                "/api/v1/deal-registrations",
                post(post_registration).get(list_registrations),
            )
            .route("/api/v1/leads", get(list_leads))
            .route("/api/v1/leads/{id}/response", post(answer_lead))
            .with_state(state.clone());
        let (base, server) = serve(app).await;
        Self {
            base,
            state,
            _server: server,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Northwind> {
        self.state.lock().unwrap()
    }
}

/// The Northwind example as a `rest` source of `vendor`, pointed at the fake.
async fn northwind_source(
    store: &Store,
    ws: WorkspaceId,
    vendor: VendorId,
    fake: &FakeNorthwind,
) -> Connection {
    let yaml = NORTHWIND.replace("https://partners.northwind.example", &fake.base);
    let credentials = Credentials::ApiKey {
        name: "X-Northwind-Key".into(),
        value: Secret::new(KEY.to_owned()),
        placement: KeyPlacement::Header,
    };
    rest_source(store, ws, vendor, Value::String(yaml), Some(&credentials)).await
}

/// How something the workspace submitted is being delivered.
async fn delivery(
    partner: &onepane_store::PartnerStore,
    kind: DeliveryKind,
    subject: uuid::Uuid,
) -> onepane_domain::delivery::Delivery {
    partner
        .delivery(kind, subject)
        .await
        .unwrap()
        .expect("a delivery")
}

fn deliverer(store: &Store) -> Deliverer {
    Deliverer::new(engine(store), Duration::from_secs(60))
}

async fn a_registration_reaches_the_vendors_system_once_and_its_decision_comes_back(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = linked(store, "Reseller Oy", "Northwind", Tier::Gold).await;
    let fake = FakeNorthwind::start().await;
    let source = northwind_source(store, ws, vendor, &fake).await;
    let partner = store.partner(ws);
    let reg = partner
        .register_deal(vendor, &deal("Printers for Kesko"), None, None)
        .await
        .unwrap();
    let queued = delivery(&partner, DeliveryKind::Deal, reg.id.as_uuid()).await;
    assert_eq!(queued.status, SendStatus::Pending);

    // The vendor takes the first attempt, then the answer is lost: the
    // client sends again with the same key and the vendor knows it.
    fake.state().cut_after_storing = 1;
    assert_eq!(deliverer(store).run_once().await.unwrap(), 1);
    let sent = delivery(&partner, DeliveryKind::Deal, reg.id.as_uuid()).await;
    assert_eq!(sent.status, SendStatus::Sent, "{sent:?}");
    assert_eq!(sent.route, Some(DeliveryRoute::VendorSystem));
    assert_eq!(sent.connection_id, Some(source.id));
    assert_eq!(sent.vendor_ref.as_deref(), Some("DR-1"));
    {
        let s = fake.state();
        assert_eq!(s.registrations.len(), 1, "one record at the vendor");
        assert!(s.keys_seen.len() >= 2);
        assert!(s.keys_seen.iter().all(|k| *k == sent.idempotency_key()));
        let body = &s.registrations.values().next().unwrap().body;
        assert_eq!(body["partner_reference"], json!(reg.id.to_string()));
        assert_eq!(body["estimated_value"], json!("12500.50"));
    }
    // Nothing more is due: a second pass sends nothing.
    assert_eq!(deliverer(store).run_once().await.unwrap(), 0);

    // The vendor approves in its own system; the next sync reads it back.
    {
        let mut s = fake.state();
        let held = s.registrations.values_mut().next().unwrap();
        held.state = "APPROVED";
        held.note = Some("Protected for the Kesko tender".into());
        held.protected_until = Some("2099-03-31".into());
        held.discount = Some(3);
    }
    engine(store).run(&source, None, &()).await.unwrap();
    let decided = partner.deal_registration(reg.id).await.unwrap();
    assert_eq!(decided.status, DealStatus::Approved);
    assert_eq!(
        decided.reason.as_ref().map(LongText::as_str),
        Some("Protected for the Kesko tender")
    );
    assert_eq!(
        decided.extra_discount.map(|p| p.value().to_string()),
        Some("3".into())
    );
    let notes = partner.notifications(false).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.kind == NotificationKind::DealDecided)
    );
    // Read again, the same decision changes nothing.
    engine(store).run(&source, None, &()).await.unwrap();
    let again = partner.deal_registration(reg.id).await.unwrap();
    assert_eq!(again.decided_at, decided.decided_at);
}

async fn a_refusal_shows_the_vendors_message_and_is_sent_anew_by_hand(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = linked(store, "Reseller Oy", "Northwind", Tier::Gold).await;
    let fake = FakeNorthwind::start().await;
    northwind_source(store, ws, vendor, &fake).await;
    let partner = store.partner(ws);
    let reg = partner
        .register_deal(vendor, &deal("Switches for Posti"), None, None)
        .await
        .unwrap();
    fake.state().refuse_next.push((
        422,
        json!({"error": {"message": "deal_type is required for this program"}}),
    ));
    deliverer(store).run_once().await.unwrap();
    let refused = delivery(&partner, DeliveryKind::Deal, reg.id.as_uuid()).await;
    assert_eq!(refused.status, SendStatus::Refused);
    assert_eq!(
        refused.message.as_deref(),
        Some("deal_type is required for this program")
    );
    let notes = partner.notifications(false).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.kind == NotificationKind::DeliveryRefused
                && n.link.as_deref() == Some(&format!("/deal-registrations/{}", reg.id)))
    );
    // A sent delivery cannot be sent again by hand; a refused one can.
    let retried = partner
        .retry_delivery(DeliveryKind::Deal, reg.id.as_uuid(), None)
        .await
        .unwrap();
    assert_eq!(retried.status, SendStatus::Pending);
    assert_eq!(retried.generation, refused.generation + 1);
    deliverer(store).run_once().await.unwrap();
    let sent = delivery(&partner, DeliveryKind::Deal, reg.id.as_uuid()).await;
    assert_eq!(sent.status, SendStatus::Sent);
    assert!(
        partner
            .retry_delivery(DeliveryKind::Deal, reg.id.as_uuid(), None)
            .await
            .is_err()
    );
    let s = fake.state();
    // The refused sending and the new one carried different keys.
    assert_eq!(
        s.keys_seen,
        vec![refused.idempotency_key(), sent.idempotency_key()]
    );
    assert_ne!(refused.idempotency_key(), sent.idempotency_key());
    assert_eq!(s.registrations.len(), 1);
}

async fn a_busy_vendor_is_tried_again_after_the_wait_it_asks_for(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = linked(store, "Reseller Oy", "Northwind", Tier::Gold).await;
    let fake = FakeNorthwind::start().await;
    northwind_source(store, ws, vendor, &fake).await;
    let partner = store.partner(ws);
    let reg = partner
        .register_deal(vendor, &deal("Laptops for Valio"), None, None)
        .await
        .unwrap();
    fake.state().busy = Some(600);
    let before = chrono::Utc::now();
    deliverer(store).run_once().await.unwrap();
    let waiting = delivery(&partner, DeliveryKind::Deal, reg.id.as_uuid()).await;
    assert_eq!(waiting.status, SendStatus::Pending);
    assert_eq!(waiting.attempts, 1);
    assert!(waiting.message.is_some());
    assert!(
        waiting.due_at >= before + chrono::Duration::seconds(590),
        "due {} not after the vendor's wait",
        waiting.due_at
    );
    // Not due again before then.
    assert_eq!(deliverer(store).run_once().await.unwrap(), 0);
    assert!(fake.state().registrations.is_empty());
}

async fn answers_to_leads_go_back_where_the_vendor_takes_them(db: TestDb) {
    let store = &db.store;
    let (ws, northwind) = linked(store, "Reseller Oy", "Northwind", Tier::Gold).await;
    let fake = FakeNorthwind::start().await;
    fake.state().leads.push(json!({
        "id": "L-77",
        "contact": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@kesko.example"},
        "company": {"name": "Kesko Oyj", "website": "kesko.fi", "country": "FI"}
    }));
    let source = northwind_source(store, ws, northwind, &fake).await;
    engine(store).run(&source, None, &()).await.unwrap();
    let partner = store.partner(ws);
    let pulled = leads(store, ws).await;
    let lead = pulled.get("L-77").expect("the vendor's lead was pulled");
    let reason = LongText::parse("Outside our region").unwrap();
    partner
        .move_lead(lead.id, LeadStatus::Declined, Some(&reason), None)
        .await
        .unwrap();
    deliverer(store).run_once().await.unwrap();
    let answered = delivery(&partner, DeliveryKind::LeadAnswer, lead.id.as_uuid()).await;
    assert_eq!(answered.status, SendStatus::Sent);
    {
        let s = fake.state();
        assert_eq!(s.answers.len(), 1);
        assert_eq!(s.answers[0].0, "L-77");
        assert_eq!(
            s.answers[0].1,
            json!({"action": "reject", "reason": "Outside our region"})
        );
    }

    // Fabrikam's system takes registrations but no answers: its lead says so.
    let fabrikam = onepane_store::testing::tenants::vendor(store, "Fabrikam").await;
    onepane_store::testing::tenants::link(store, ws, fabrikam, Tier::Silver).await;
    rest_source(
        store,
        ws,
        fabrikam,
        Value::String(FABRIKAM.replace("https://hub.fabrikam.example", &fake.base)),
        None,
    )
    .await;
    let sent = store
        .vendor(fabrikam)
        .send_lead(ws, &vendor_lead("FB-L-1", "Grace Hopper"))
        .await
        .unwrap();
    partner
        .move_lead(sent.id, LeadStatus::Accepted, None, None)
        .await
        .unwrap();
    // A vendor on Onepane's API alone reads the answer there.
    let contoso = onepane_store::testing::tenants::vendor(store, "Contoso").await;
    onepane_store::testing::tenants::link(store, ws, contoso, Tier::Silver).await;
    let api_lead = store
        .vendor(contoso)
        .send_lead(ws, &vendor_lead("C-1", "Alan Turing"))
        .await
        .unwrap();
    partner
        .move_lead(api_lead.id, LeadStatus::Accepted, None, None)
        .await
        .unwrap();
    deliverer(store).run_once().await.unwrap();
    let unsupported = delivery(&partner, DeliveryKind::LeadAnswer, sent.id.as_uuid()).await;
    assert_eq!(unsupported.status, SendStatus::Unsupported);
    assert_eq!(
        unsupported.message.as_deref(),
        Some("this vendor does not take answers through Onepane")
    );
    let via_api = delivery(&partner, DeliveryKind::LeadAnswer, api_lead.id.as_uuid()).await;
    assert_eq!(via_api.status, SendStatus::Sent);
    assert_eq!(via_api.route, Some(DeliveryRoute::OnepaneApi));
    assert_eq!(fake.state().answers.len(), 1);
}

/// A vendor that answers too slowly is asked again with the same key; a
/// deliverer killed after the vendor took the registration leaves it to
/// another once its lease ends, which sends it with the same key. Either
/// way the vendor holds it once, and Onepane says it was sent.
async fn a_timeout_or_a_deliverer_killed_mid_send_leaves_one_record_at_the_vendor(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = linked(store, "Reseller Oy", "Northwind", Tier::Gold).await;
    let fake = FakeNorthwind::start().await;
    northwind_source(store, ws, vendor, &fake).await;
    let partner = store.partner(ws);

    // The first answer takes longer than the client waits.
    let reg = partner
        .register_deal(vendor, &deal("Routers for Fazer"), None, None)
        .await
        .unwrap();
    fake.state().slow = Some((1, Duration::from_millis(1500)));
    let mut config = config();
    config.http.timeout = Duration::from_millis(400);
    let impatient = Deliverer::new(
        engine_with(store, config, "impatient"),
        Duration::from_secs(60),
    );
    impatient.run_once().await.unwrap();
    let sent = delivery(&partner, DeliveryKind::Deal, reg.id.as_uuid()).await;
    assert_eq!(sent.status, SendStatus::Sent, "{sent:?}");
    assert_eq!(fake.state().registrations.len(), 1);

    // A deliverer claims the next one, sends it, and dies before recording.
    let reg = partner
        .register_deal(vendor, &deal("Switches for Fazer"), None, None)
        .await
        .unwrap();
    let lease = chrono::Duration::milliseconds(300);
    let claimed = store
        .system()
        .claim_vendor_deliveries(10, lease)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let dead = engine(store);
    let DeliveryOutcome::Sent { vendor_ref, .. } = dead.deliver(&claimed[0], None).await else {
        panic!("the dead deliverer's send reached the vendor")
    };
    // Nothing is due again until its lease ends.
    assert_eq!(deliverer(store).run_once().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(deliverer(store).run_once().await.unwrap(), 1);
    let sent = delivery(&partner, DeliveryKind::Deal, reg.id.as_uuid()).await;
    assert_eq!(sent.status, SendStatus::Sent);
    assert_eq!(sent.vendor_ref, vendor_ref, "the vendor knew the key");
    let s = fake.state();
    assert_eq!(s.registrations.len(), 2, "one record per registration");
    assert_eq!(
        s.keys_seen
            .iter()
            .filter(|k| **k == sent.idempotency_key())
            .count(),
        2
    );
}

on_both_backends!(
    a_timeout_or_a_deliverer_killed_mid_send_leaves_one_record_at_the_vendor,
    a_registration_reaches_the_vendors_system_once_and_its_decision_comes_back,
    a_refusal_shows_the_vendors_message_and_is_sent_anew_by_hand,
    a_busy_vendor_is_tried_again_after_the_wait_it_asks_for,
    answers_to_leads_go_back_where_the_vendor_takes_them,
);
