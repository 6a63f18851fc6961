//! Deal registrations: one form for every vendor (and several vendors at
//! once), the list with status and protection, one registration with the
//! vendor's decision.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::deal::{DealDetails, DealProduct, DealRegistration, DealStatus, VendorFields};
use onepane_domain::lead::Company;
use onepane_domain::{Currency, DealRegistrationId, LeadId, Money, VendorId};
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::Choice;
use crate::web::view::{DeliveryView, VendorNames};
use onepane_domain::delivery::DeliveryKind;

/// Product lines the form offers.
const PRODUCT_LINES: usize = 5;
/// Extra vendor fields the form offers.
const EXTRA_FIELDS: usize = 3;

/// The deal registration routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/deals", get(list))
        .route("/deals/new", get(new_form).post(register))
        .route("/deals/{id}", get(show))
        .route("/deals/{id}/send-again", post(send_again))
        .route("/deals/{id}/status", get(status_events))
        // Notifications point here (the API's name for the same thing).
        .route("/deal-registrations/{id}", get(alias))
}

/// The message id of a status.
pub fn status_id(s: DealStatus) -> &'static str {
    match s {
        DealStatus::Submitted => "deal-status-submitted",
        DealStatus::Approved => "deal-status-approved",
        DealStatus::Rejected => "deal-status-rejected",
        DealStatus::Expired => "deal-status-expired",
    }
}

/// A registration as a row.
#[derive(Debug, Clone)]
pub struct DealLine {
    /// Its id.
    pub id: String,
    /// The opportunity.
    pub title: String,
    /// The customer.
    pub customer: String,
    /// The vendor.
    pub vendor: String,
    /// The amount.
    pub amount: String,
    /// The status (CSS class).
    pub status: &'static str,
    /// The status's text.
    pub status_text: String,
    /// When protection ends, when approved.
    pub expires: Option<String>,
    /// When it was submitted.
    pub submitted: String,
    /// Why it did not reach its vendor, when it did not.
    pub undelivered: Option<String>,
}

fn line(d: &DealRegistration, names: &VendorNames, t: &Tr) -> DealLine {
    DealLine {
        id: d.id.to_string(),
        title: d.details.title.to_string(),
        customer: d.details.customer.name.to_string(),
        vendor: names.name(&d.vendor_id),
        amount: t.money(&d.details.amount),
        status: status_id(d.status),
        status_text: t.t(status_id(d.status)),
        expires: d.protection_expires_on.map(|e| t.date(&e)),
        submitted: t.datetime(&d.submitted_at),
        undelivered: None,
    }
}

#[derive(askama::Template)]
#[template(path = "deals.html")]
struct DealsPage {
    t: Tr,
    chrome: Chrome,
    deals: Vec<DealLine>,
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let chrome = Chrome::load(&state, &viewer, "deals").await?;
    let (vendors, registrations, deliveries) = tokio::try_join!(
        store.vendors(),
        store.deal_registrations(),
        store.deliveries(DeliveryKind::Deal),
    )?;
    let names = VendorNames::new(&vendors);
    let deals = registrations
        .iter()
        .map(|d| {
            let mut row = line(d, &names, &t);
            // A registration that did not reach its vendor says so here.
            row.undelivered = deliveries
                .get(&d.id.as_uuid())
                .filter(|x| {
                    matches!(
                        x.status,
                        onepane_domain::delivery::SendStatus::Refused
                            | onepane_domain::delivery::SendStatus::Failed
                    )
                })
                .map(|x| {
                    t.t(
                        if x.status == onepane_domain::delivery::SendStatus::Refused {
                            "delivery-status-refused"
                        } else {
                            "delivery-status-failed"
                        },
                    )
                });
            row
        })
        .collect();
    render(&DealsPage { t, chrome, deals })
}

/// What the form shows and was sent, field by field.
#[derive(Debug, Clone, Default)]
pub struct DealForm {
    /// The lead it comes from.
    pub lead: String,
    /// The chosen vendors.
    pub vendors: Vec<String>,
    /// The opportunity's title.
    pub title: String,
    /// The customer's name.
    pub customer: String,
    /// Its web domain.
    pub domain: String,
    /// Its country (ISO code).
    pub country: String,
    /// The expected value.
    pub amount: String,
    /// Its currency.
    pub currency: String,
    /// Product lines: SKU and quantity.
    /// Product lines: SKU, quantity and (in a deal with several vendors)
    /// whose product it is, empty for the vendor whose price list has it.
    pub products: Vec<(String, String, String)>,
    /// Other fields for the vendor: name and value.
    pub fields: Vec<(String, String)>,
    /// The fields the vendors ask for, by name.
    pub asked: BTreeMap<String, String>,
    /// `yes` once the partner read the warning about earlier registrations
    /// of the same customer and registers anyway.
    pub confirm_conflicts: String,
}

/// A field one or more of the vendors ask for.
#[derive(Debug, Clone)]
pub struct AskedField {
    /// Its name (the input is `vf.<name>`).
    pub name: String,
    /// What the vendor calls it.
    pub label: String,
    /// Whether any vendor requires it.
    pub required: bool,
    /// Which vendors ask for it.
    pub vendors: String,
    /// What the form holds.
    pub value: String,
}

#[derive(askama::Template)]
#[template(path = "deal_form.html")]
struct DealFormPage {
    t: Tr,
    chrome: Chrome,
    form: DealForm,
    /// The vendors to choose, each with how a registration reaches it.
    vendors: Vec<(Choice, String)>,
    asked: Vec<AskedField>,
    errors: BTreeMap<String, String>,
    /// Earlier registrations of the same customer: id, vendor, title,
    /// status, and whether with a vendor chosen here.
    conflicts: Vec<(String, String, String, String, bool)>,
}

impl DealFormPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    fn vf_error(&self, name: &str) -> Option<&String> {
        self.errors.get(&format!("vf.{name}"))
    }
}

#[derive(Debug, Deserialize)]
struct NewQuery {
    lead: Option<String>,
}

async fn form_page(
    state: &AppState,
    viewer: &Viewer,
    form: DealForm,
    errors: BTreeMap<String, String>,
) -> Result<DealFormPage, WebError> {
    let store = viewer.store(state);
    let (chrome, linked, specs, connections, contacts) = tokio::try_join!(
        Chrome::load(state, viewer, "deals"),
        async { Ok::<_, WebError>(store.vendors().await?) },
        async { Ok::<_, WebError>(store.deal_fields().await?) },
        async { Ok::<_, WebError>(store.connections().await?) },
        async { Ok::<_, WebError>(store.vendor_contacts().await?) },
    )?;
    let active: Vec<_> = linked
        .into_iter()
        .filter(|v| v.link.status == onepane_domain::program::LinkStatus::Active)
        .collect();
    // One input per field name, whichever vendors ask for it.
    let mut asked: Vec<AskedField> = Vec::new();
    for v in &active {
        for spec in specs.get(&v.vendor.id).map_or(&[][..], Vec::as_slice) {
            match asked.iter_mut().find(|a| a.name == spec.name) {
                Some(a) => {
                    a.required |= spec.required;
                    a.vendors = format!("{}, {}", a.vendors, v.vendor.name);
                }
                None => asked.push(AskedField {
                    name: spec.name.clone(),
                    label: spec.label.to_string(),
                    required: spec.required,
                    vendors: v.vendor.name.to_string(),
                    value: form.asked.get(&spec.name).cloned().unwrap_or_default(),
                }),
            }
        }
    }
    let t = &viewer.tr;
    let vendors = active
        .into_iter()
        .map(|v| {
            let route =
                match crate::services::connections::deal_route(state, &connections, v.vendor.id) {
                    Some(c) => t.ts("deal-route-vendor-system", "connection", c.name.as_str()),
                    None => match contacts.get(&v.vendor.id) {
                        Some(e) => t.ts("deal-route-email", "email", e.as_str()),
                        None => t.t("deal-route-onepane-api"),
                    },
                };
            let choice = Choice {
                value: v.vendor.id.to_string(),
                selected: form.vendors.contains(&v.vendor.id.to_string()),
                label: v.vendor.name.to_string(),
            };
            (choice, route)
        })
        .collect();
    Ok(DealFormPage {
        t: viewer.tr.clone(),
        chrome,
        form,
        vendors,
        asked,
        errors,
        conflicts: Vec::new(),
    })
}

async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NewQuery>,
) -> Result<Response, WebError> {
    let mut form = DealForm {
        currency: viewer.session.workspace.home_currency.code().to_owned(),
        products: vec![(String::new(), String::new(), String::new()); PRODUCT_LINES],
        fields: vec![(String::new(), String::new()); EXTRA_FIELDS],
        ..DealForm::default()
    };
    if let Some(lead) = q.lead.as_deref().filter(|l| !l.is_empty()) {
        let id: LeadId = lead.parse().map_err(|_| WebError::NotFound)?;
        let lead = viewer.store(&state).lead(id).await?;
        form.lead = lead.id.to_string();
        if let Some(v) = lead.vendor_id {
            form.vendors.push(v.to_string());
        }
        if let Some(c) = &lead.company {
            form.customer = c.name.to_string();
            form.domain = c
                .domain
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            form.country = c
                .country
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            form.title = viewer
                .tr
                .ts("deal-default-title", "company", c.name.as_str());
        } else {
            form.title = viewer
                .tr
                .ts("deal-default-title", "company", lead.contact.name.as_str());
        }
    }
    render(&form_page(&state, &viewer, form, BTreeMap::new()).await?)
}

fn read_form(pairs: &[(String, String)]) -> DealForm {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    DealForm {
        lead: get("lead"),
        vendors: pairs
            .iter()
            .filter(|(k, _)| k == "vendor")
            .map(|(_, v)| v.clone())
            .collect(),
        title: get("title"),
        customer: get("customer"),
        domain: get("domain"),
        country: get("country").to_uppercase(),
        amount: get("amount"),
        currency: get("currency").to_uppercase(),
        products: (1..=PRODUCT_LINES)
            .map(|i| {
                (
                    get(&format!("sku_{i}")),
                    get(&format!("qty_{i}")),
                    get(&format!("vendor_{i}")),
                )
            })
            .collect(),
        fields: (1..=EXTRA_FIELDS)
            .map(|i| {
                (
                    get(&format!("field_name_{i}")),
                    get(&format!("field_value_{i}")),
                )
            })
            .collect(),
        asked: pairs
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("vf.")?.to_owned(), v.trim().to_owned())))
            .collect(),
        confirm_conflicts: get("confirm_conflicts"),
    }
}

/// The form checked: the vendors, the lead and the details, or a message
/// per field in error.
type Checked = (Vec<VendorId>, Option<LeadId>, DealDetails);

fn check(
    form: &DealForm,
    t: &Tr,
    specs: &std::collections::HashMap<VendorId, Vec<onepane_domain::deal::DealFieldSpec>>,
    names: &VendorNames,
) -> Result<Checked, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let vendors: Vec<VendorId> = form.vendors.iter().filter_map(|v| v.parse().ok()).collect();
    if vendors.is_empty() || vendors.len() != form.vendors.len() {
        errors.insert("vendor".into(), t.t("deal-error-vendor"));
    }
    let lead: Option<LeadId> = if form.lead.is_empty() {
        None
    } else {
        match form.lead.parse() {
            Ok(l) => Some(l),
            Err(_) => {
                errors.insert("lead".into(), t.t("error-bad-request"));
                None
            }
        }
    };
    let title = form.title.parse();
    if title.is_err() {
        errors.insert("title".into(), t.t("deal-error-title"));
    }
    let customer = form.customer.parse();
    if customer.is_err() {
        errors.insert("customer".into(), t.t("deal-error-customer"));
    }
    let domain = if form.domain.is_empty() {
        Ok(None)
    } else {
        form.domain.parse().map(Some)
    };
    if domain.is_err() {
        errors.insert("domain".into(), t.t("deal-error-domain"));
    }
    let country = if form.country.is_empty() {
        Ok(None)
    } else {
        form.country.parse().map(Some)
    };
    if country.is_err() {
        errors.insert("country".into(), t.t("deal-error-country"));
    }
    let currency: Result<Currency, _> = form.currency.parse();
    if currency.is_err() {
        errors.insert("currency".into(), t.t("deal-error-currency"));
    }
    // As the viewer's language writes numbers: an English "12,500" is
    // twelve thousand five hundred, not twelve and a half.
    let amount = match t.parse_decimal(&form.amount) {
        Some(a) if a > rust_decimal::Decimal::ZERO => Some(a),
        _ => {
            errors.insert("amount".into(), t.t("deal-error-amount"));
            None
        }
    };
    let mut products = Vec::new();
    for (i, (sku, qty, vendor)) in form.products.iter().enumerate() {
        if sku.is_empty() && qty.is_empty() {
            continue;
        }
        let key = PRODUCT_KEYS[i.min(PRODUCT_KEYS.len() - 1)];
        let vendor_id = match vendor.as_str() {
            "" => Ok(None),
            v => v.parse::<VendorId>().map(Some).map_err(drop),
        };
        match (sku.parse(), qty.parse::<u32>(), vendor_id) {
            (Ok(sku), Ok(quantity), Ok(vendor_id)) if quantity > 0 => products.push(DealProduct {
                sku,
                quantity,
                vendor_id,
            }),
            _ => {
                errors.insert(key.to_owned(), t.t("deal-error-product"));
            }
        }
    }
    let mut fields = BTreeMap::new();
    for (name, value) in &form.fields {
        if !name.is_empty() {
            fields.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in &form.asked {
        if !value.is_empty() {
            fields.insert(name.clone(), value.clone());
        }
    }
    let fields = VendorFields::try_from(fields);
    // What each chosen vendor requires.
    if let Ok(filled) = &fields {
        for vendor in &vendors {
            let asked = specs.get(vendor).map_or(&[][..], Vec::as_slice);
            for missing in onepane_domain::deal::missing_fields(asked, filled) {
                errors
                    .entry(format!("vf.{}", missing.name))
                    .or_insert_with(|| t.ts("deal-error-required", "vendor", &names.name(vendor)));
            }
        }
    }
    if fields.is_err() {
        errors.insert("fields".into(), t.t("deal-error-fields"));
    }
    match (title, customer, domain, country, currency, amount, fields) {
        (Ok(title), Ok(name), Ok(domain), Ok(country), Ok(currency), Some(amount), Ok(fields))
            if errors.is_empty() =>
        {
            Ok((
                vendors,
                lead,
                DealDetails {
                    title,
                    customer: Company {
                        name,
                        domain,
                        country,
                    },
                    amount: Money::new(amount, currency),
                    products,
                    fields,
                },
            ))
        }
        _ => Err(errors),
    }
}

const PRODUCT_KEYS: [&str; PRODUCT_LINES] = [
    "product_1",
    "product_2",
    "product_3",
    "product_4",
    "product_5",
];

async fn register(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = read_form(&form);
    let store = viewer.store(&state);
    let (linked, specs) = tokio::try_join!(store.vendors(), store.deal_fields())?;
    let names = VendorNames::new(&linked);
    let (vendors, lead, details) = match check(&form, &viewer.tr, &specs, &names) {
        Ok(checked) => checked,
        Err(errors) => {
            let page = form_page(&state, &viewer, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
    };
    // Earlier registrations of the same customer still waiting or
    // protected: the partner reads them and registers anyway, or not.
    if form.confirm_conflicts != "yes" {
        let conflicts = store
            .registration_conflicts(&vendors, &details.customer, lead)
            .await?;
        if !conflicts.is_empty() {
            let t = &viewer.tr;
            let shown = conflicts
                .iter()
                .map(|c| {
                    (
                        c.registration_id.to_string(),
                        names.name(&c.vendor_id),
                        c.title.to_string(),
                        t.t(status_id(c.status)),
                        c.same_vendor,
                    )
                })
                .collect();
            let mut page = form_page(&state, &viewer, form, BTreeMap::new()).await?;
            page.conflicts = shown;
            return Ok((StatusCode::CONFLICT, render(&page)?).into_response());
        }
    }
    let registered = viewer
        .store(&state)
        .register_deals(&vendors, &details, lead, Some(viewer.session.user.id))
        .await;
    let regs = match registered {
        Ok(regs) => regs,
        // The lead is already registered with one of these vendors: the
        // form comes back saying so, with what was typed.
        Err(onepane_store::StoreError::Conflict(_)) if lead.is_some() => {
            let mut errors = BTreeMap::new();
            errors.insert("vendor".into(), viewer.tr.t("deal-error-registered"));
            let page = form_page(&state, &viewer, form, errors).await?;
            return Ok((StatusCode::CONFLICT, render(&page)?).into_response());
        }
        // A product line whose vendor the form left to be found, and that
        // no chosen vendor's price list has (or several have).
        Err(onepane_store::StoreError::Rule(_)) if vendors.len() > 1 => {
            let mut errors = BTreeMap::new();
            errors.insert("products".into(), viewer.tr.t("deal-error-product-vendor"));
            let page = form_page(&state, &viewer, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    state.deliveries_queued();
    let target = match regs.as_slice() {
        [one] => format!("/deals/{}?registered", one.id),
        _ => "/deals".to_owned(),
    };
    Ok(Redirect::to(&target).into_response())
}

async fn alias(Path(id): Path<String>) -> Result<Response, WebError> {
    let id: DealRegistrationId = id.parse().map_err(|_| WebError::NotFound)?;
    Ok(Redirect::to(&format!("/deals/{id}")).into_response())
}

#[derive(askama::Template)]
#[template(path = "deal.html")]
struct DealPage {
    t: Tr,
    chrome: Chrome,
    deal: DealLine,
    domain: String,
    country: String,
    lead: Option<String>,
    reason: Option<String>,
    discount: Option<String>,
    decided: Option<String>,
    products: Vec<(String, u32)>,
    fields: Vec<(String, String)>,
    /// How it reaches the vendor.
    delivery: Option<DeliveryView>,
    /// Where "send again" posts.
    retry_action: String,
    /// What was just done.
    notice: Option<String>,
}

/// The query after a registration was sent, or sent again.
#[derive(Debug, Default, Deserialize)]
pub struct Registered {
    registered: Option<String>,
    resent: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(registered): Query<Registered>,
) -> Result<Response, WebError> {
    let id: DealRegistrationId = id.parse().map_err(|_| WebError::NotFound)?;
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let (deal, delivery, connections) = tokio::try_join!(
        store.deal_registration(id),
        store.delivery(DeliveryKind::Deal, id.as_uuid()),
        store.connections(),
    )?;
    let chrome = Chrome::load(&state, &viewer, "deals").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let notice = if registered.resent.is_some() {
        Some(t.t("delivery-sent-again"))
    } else {
        registered
            .registered
            .is_some()
            .then(|| t.ts("deal-registered", "vendor", &names.name(&deal.vendor_id)))
    };
    let page = DealPage {
        delivery: delivery.map(|d| DeliveryView::new(&d, &connections, &t)),
        retry_action: format!("/deals/{id}/send-again"),
        deal: line(&deal, &names, &t),
        domain: deal
            .details
            .customer
            .domain
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        country: deal
            .details
            .customer
            .country
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        lead: deal.lead_id.map(|l| l.to_string()),
        reason: deal.reason.as_ref().map(ToString::to_string),
        discount: deal
            .extra_discount
            .map(|d| format!("{} %", t.decimal(&d.value()))),
        decided: deal.decided_at.map(|d| t.datetime(&d)),
        products: deal
            .details
            .products
            .iter()
            .map(|p| (p.sku.to_string(), p.quantity))
            .collect(),
        fields: deal
            .details
            .fields
            .as_map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        notice,
        t,
        chrome,
    };
    render(&page)
}

/// Sends a refused or failed registration to its vendor again.
async fn send_again(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let id: DealRegistrationId = id.parse().map_err(|_| WebError::NotFound)?;
    viewer
        .store(&state)
        .retry_delivery(
            DeliveryKind::Deal,
            id.as_uuid(),
            Some(viewer.session.user.id),
        )
        .await?;
    state.deliveries_queued();
    Ok(Redirect::to(&format!("/deals/{id}?resent")).into_response())
}

/// How often a waiting registration's page looks for the vendor's
/// decision, and for how long at most.
const DECISION_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
const DECISION_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// The status the page shows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    was: Option<String>,
}

/// Server-sent events for a registration's page: one `status` event
/// (`{"status", "text"}`) when the registration's status is no longer the
/// one the page shows, then the stream ends (or after ten minutes).
async fn status_events(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, WebError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let id: DealRegistrationId = id.parse().map_err(|_| WebError::NotFound)?;
    let store = viewer.store(&state);
    // The registration must be this workspace's.
    let first = store.deal_registration(id).await?;
    let was = q.was.unwrap_or_else(|| first.status.as_str().to_owned());
    let t = viewer.tr.clone();
    let deadline = tokio::time::Instant::now() + DECISION_FOR;
    let events = futures_util::stream::unfold(false, move |sent| {
        let store = store.clone();
        let t = t.clone();
        let was = was.clone();
        async move {
            loop {
                if sent || tokio::time::Instant::now() > deadline {
                    return None;
                }
                // A read that fails is tried again on the next tick.
                if let Ok(deal) = store.deal_registration(id).await
                    && deal.status.as_str() != was
                {
                    let data = serde_json::json!({
                        "status": deal.status.as_str(),
                        "text": t.t(status_id(deal.status)),
                    });
                    let event = Event::default().event("status").data(data.to_string());
                    return Some((Ok::<_, std::convert::Infallible>(event), true));
                }
                tokio::time::sleep(DECISION_EVERY).await;
            }
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
