//! The connector API: what a vendor's API client can do, within the vendor
//! its token names and the partner workspaces actively linked to it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use onepane_domain::activity::WebhookEvent;
use onepane_domain::campaign::{AssetContent, CampaignContent, CampaignStatus};
use onepane_domain::deal::{DealDecision, DealRegistration, DealStatus};
use onepane_domain::lead::{Lead, NewVendorLead};
use onepane_domain::price::{PriceItem, PriceItemInput, PriceList, PriceListTerms};
use onepane_domain::program::{PartnerType, Tier};
use onepane_domain::text::{ExternalId, Name};
use onepane_domain::{DealRegistrationId, WebhookDeliveryId, WorkspaceId};
use onepane_store::{DeliveryFilter, DeliveryStatus, WebhookDelivery, WebhookSubscription};
use serde::{Deserialize, Serialize};

use super::{Listing, MAX_ITEM_PAGE, MAX_PAGE, page_size, parse_param};
use crate::auth::caller::VendorCaller;
use crate::auth::credentials::random_secret;
use crate::http::json::{ApiJson, ApiQuery, parse_json, read_body};
use crate::http::{ApiError, AppState};

/// The most items one price-list upload may carry.
pub const MAX_PRICE_ITEMS: usize = 50_000;

fn external_id(raw: &str) -> Result<ExternalId, ApiError> {
    parse_param("external_id", raw)
}

// ---- partners ------------------------------------------------------------

/// A linked partner workspace as its vendor sees it.
#[derive(Debug, Serialize)]
pub struct PartnerView {
    workspace_id: WorkspaceId,
    name: Name,
    tier: Tier,
    partner_type: PartnerType,
}

/// `GET /partners`.
pub async fn partners(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<PartnerView>>, ApiError> {
    caller.require("partners:read")?;
    let partners = state.store.vendor(caller.vendor_id).partners().await?;
    Ok(Json(Listing {
        items: partners
            .into_iter()
            .map(|p| PartnerView {
                workspace_id: p.workspace_id,
                name: p.name,
                tier: p.link.tier,
                partner_type: p.link.partner_type,
            })
            .collect(),
        next_cursor: None,
    }))
}

/// The body of `PUT /partners/{workspace_id}/tier`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    tier: Tier,
}

/// `PUT /partners/{workspace_id}/tier`.
pub async fn set_tier(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(ws): Path<String>,
    ApiJson(body): ApiJson<TierBody>,
) -> Result<Json<PartnerView>, ApiError> {
    caller.require("partners:write")?;
    let ws: WorkspaceId = parse_param("workspace_id", &ws)?;
    let vendor = state.store.vendor(caller.vendor_id);
    let link = vendor.set_tier(ws, body.tier).await?;
    let name = vendor
        .partners()
        .await?
        .into_iter()
        .find(|p| p.workspace_id == ws)
        .map(|p| p.name)
        .ok_or_else(|| {
            ApiError::NotFound(format!("workspace {ws} is not linked to this vendor"))
        })?;
    Ok(Json(PartnerView {
        workspace_id: ws,
        name,
        tier: link.tier,
        partner_type: link.partner_type,
    }))
}

// ---- campaigns -----------------------------------------------------------

/// A campaign as its vendor published it.
#[derive(Debug, Serialize)]
pub struct CampaignView {
    external_id: ExternalId,
    status: CampaignStatus,
    #[serde(flatten)]
    content: CampaignContent,
    /// How many linked workspaces hold it.
    workspaces: usize,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn campaign_views(campaigns: Vec<onepane_domain::campaign::Campaign>) -> Vec<CampaignView> {
    let mut by_id: BTreeMap<String, CampaignView> = BTreeMap::new();
    for c in campaigns {
        let entry = by_id
            .entry(c.external_id.as_str().to_owned())
            .or_insert_with(|| CampaignView {
                external_id: c.external_id.clone(),
                status: c.status,
                content: c.content.clone(),
                workspaces: 0,
                created_at: c.created_at,
                updated_at: c.updated_at,
            });
        entry.workspaces += 1;
        entry.created_at = entry.created_at.min(c.created_at);
        if c.updated_at > entry.updated_at {
            entry.updated_at = c.updated_at;
            entry.status = c.status;
            entry.content = c.content;
        }
    }
    by_id.into_values().collect()
}

/// `PUT /campaigns/{external_id}`.
pub async fn put_campaign(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
    ApiJson(content): ApiJson<CampaignContent>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require("campaigns:write")?;
    let id = external_id(&raw)?;
    let vendor = state.store.vendor(caller.vendor_id);
    let published = vendor.publish_campaign(&id, &content).await?;
    let view = campaign_views(published)
        .pop()
        .unwrap_or_else(|| CampaignView {
            external_id: id,
            status: CampaignStatus::Published,
            content,
            workspaces: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        });
    Ok(Json(view))
}

/// `GET /campaigns`.
pub async fn campaigns(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<CampaignView>>, ApiError> {
    caller.require("campaigns:read")?;
    let all = state.store.vendor(caller.vendor_id).campaigns().await?;
    Ok(Json(Listing {
        items: campaign_views(all),
        next_cursor: None,
    }))
}

async fn one_campaign(
    state: &AppState,
    caller: &VendorCaller,
    id: &ExternalId,
) -> Result<CampaignView, ApiError> {
    let all = state.store.vendor(caller.vendor_id).campaigns().await?;
    campaign_views(all.into_iter().filter(|c| &c.external_id == id).collect())
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("campaign {id} was not found")))
}

/// `GET /campaigns/{external_id}`.
pub async fn campaign(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require("campaigns:read")?;
    Ok(Json(
        one_campaign(&state, &caller, &external_id(&raw)?).await?,
    ))
}

/// `DELETE /campaigns/{external_id}`: archives it everywhere.
pub async fn archive_campaign(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require("campaigns:write")?;
    let id = external_id(&raw)?;
    state
        .store
        .vendor(caller.vendor_id)
        .archive_campaign(&id)
        .await?;
    Ok(Json(one_campaign(&state, &caller, &id).await?))
}

/// Activation counts: no lead data.
#[derive(Debug, Serialize)]
pub struct CampaignStats {
    external_id: ExternalId,
    workspaces: usize,
    activations: u64,
    leads: u64,
}

/// `GET /campaigns/{external_id}/stats`.
pub async fn campaign_stats(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
) -> Result<Json<CampaignStats>, ApiError> {
    caller.require("campaigns:read")?;
    let id = external_id(&raw)?;
    let view = one_campaign(&state, &caller, &id).await?;
    let vendor = state.store.vendor(caller.vendor_id);
    let activations = vendor
        .activation_counts()
        .await?
        .into_iter()
        .find(|(e, _)| e == &id)
        .map_or(0, |(_, n)| n);
    let leads = vendor.campaign_lead_count(&id).await?;
    Ok(Json(CampaignStats {
        external_id: id,
        workspaces: view.workspaces,
        activations,
        leads,
    }))
}

// ---- assets --------------------------------------------------------------

/// An asset as its vendor published it.
#[derive(Debug, Serialize)]
pub struct AssetView {
    external_id: ExternalId,
    #[serde(flatten)]
    content: AssetContent,
    workspaces: usize,
    updated_at: DateTime<Utc>,
}

fn asset_views(assets: Vec<onepane_domain::campaign::Asset>) -> Vec<AssetView> {
    let mut by_id: BTreeMap<String, AssetView> = BTreeMap::new();
    for a in assets {
        let entry = by_id
            .entry(a.external_id.as_str().to_owned())
            .or_insert_with(|| AssetView {
                external_id: a.external_id.clone(),
                content: a.content.clone(),
                workspaces: 0,
                updated_at: a.updated_at,
            });
        entry.workspaces += 1;
        if a.updated_at > entry.updated_at {
            entry.updated_at = a.updated_at;
            entry.content = a.content;
        }
    }
    by_id.into_values().collect()
}

/// `PUT /assets/{external_id}`.
pub async fn put_asset(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
    ApiJson(content): ApiJson<AssetContent>,
) -> Result<Json<AssetView>, ApiError> {
    caller.require("assets:write")?;
    let id = external_id(&raw)?;
    let published = state
        .store
        .vendor(caller.vendor_id)
        .publish_asset(&id, &content)
        .await?;
    Ok(Json(asset_views(published).pop().unwrap_or(AssetView {
        external_id: id,
        content,
        workspaces: 0,
        updated_at: Utc::now(),
    })))
}

/// `GET /assets`.
pub async fn assets(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<AssetView>>, ApiError> {
    caller.require("assets:read")?;
    let all = state.store.vendor(caller.vendor_id).assets().await?;
    Ok(Json(Listing {
        items: asset_views(all),
        next_cursor: None,
    }))
}

/// `GET /assets/{external_id}`.
pub async fn asset(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
) -> Result<Json<AssetView>, ApiError> {
    caller.require("assets:read")?;
    let id = external_id(&raw)?;
    let all = state.store.vendor(caller.vendor_id).assets().await?;
    asset_views(all.into_iter().filter(|a| a.external_id == id).collect())
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("asset {id} was not found")))
}

/// `DELETE /assets/{external_id}`.
pub async fn delete_asset(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require("assets:write")?;
    let id = external_id(&raw)?;
    state
        .store
        .vendor(caller.vendor_id)
        .delete_asset(&id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- price lists ---------------------------------------------------------

/// A price list's terms as published.
#[derive(Debug, Serialize)]
pub struct PriceListView {
    external_id: ExternalId,
    #[serde(flatten)]
    terms: PriceListTerms,
    updated_at: DateTime<Utc>,
}

impl From<PriceList> for PriceListView {
    fn from(l: PriceList) -> Self {
        Self {
            external_id: l.external_id,
            terms: l.terms,
            updated_at: l.updated_at,
        }
    }
}

/// `PUT /price-lists/{external_id}`: the terms (items are kept).
pub async fn put_price_list(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
    ApiJson(terms): ApiJson<PriceListTerms>,
) -> Result<Json<PriceListView>, ApiError> {
    caller.require("prices:write")?;
    let id = external_id(&raw)?;
    let lists = state
        .store
        .vendor(caller.vendor_id)
        .put_price_list_terms(&id, &terms)
        .await?;
    lists
        .into_iter()
        .next()
        .map(|l| Json(l.into()))
        .ok_or_else(|| {
            ApiError::Conflict(
                "no partner is linked to this vendor, so the price list has nowhere to go".into(),
            )
        })
}

/// `GET /price-lists`.
pub async fn price_lists(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<PriceListView>>, ApiError> {
    caller.require("prices:read")?;
    let lists = state.store.vendor(caller.vendor_id).price_lists().await?;
    Ok(Json(Listing {
        items: lists.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// `GET /price-lists/{external_id}`.
pub async fn price_list(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
) -> Result<Json<PriceListView>, ApiError> {
    caller.require("prices:read")?;
    let id = external_id(&raw)?;
    state
        .store
        .vendor(caller.vendor_id)
        .price_lists()
        .await?
        .into_iter()
        .find(|l| l.external_id == id)
        .map(|l| Json(l.into()))
        .ok_or_else(|| ApiError::NotFound(format!("price list {id} was not found")))
}

/// The result of an items upload.
#[derive(Debug, Serialize)]
pub struct ItemsReplaced {
    external_id: ExternalId,
    items: usize,
    workspaces: u64,
}

/// `PUT /price-lists/{external_id}/items`: the complete set of items, as a
/// JSON array or NDJSON (one item per line), applied atomically.
pub async fn put_price_items(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
    req: axum::extract::Request,
) -> Result<Json<ItemsReplaced>, ApiError> {
    caller.require("prices:write")?;
    let id = external_id(&raw)?;
    let content_type = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let body = read_body(req).await?;
    let items: Vec<PriceItemInput> = match content_type.as_str() {
        "application/json" => parse_json(&body)?,
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => {
            parse_ndjson(&body)?
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send the items as application/json (an array) or application/x-ndjson (one per line)".into(),
            ));
        }
    };
    if items.len() > MAX_PRICE_ITEMS {
        return Err(ApiError::invalid(
            "#",
            format!(
                "{} items is more than the {MAX_PRICE_ITEMS} one upload takes",
                items.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((i, dup)) = items
        .iter()
        .enumerate()
        .find(|(_, it)| !seen.insert(it.sku.as_str()))
    {
        return Err(ApiError::invalid(
            format!("#/{i}/sku"),
            format!("SKU {} appears twice in the upload", dup.sku),
        ));
    }
    let workspaces = state
        .store
        .vendor(caller.vendor_id)
        .put_price_list_items(&id, &items)
        .await?;
    Ok(Json(ItemsReplaced {
        external_id: id,
        items: items.len(),
        workspaces,
    }))
}

fn parse_ndjson(body: &[u8]) -> Result<Vec<PriceItemInput>, ApiError> {
    let mut items = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item = parse_json::<PriceItemInput>(line).map_err(|e| match e {
            ApiError::Invalid { detail, errors } | ApiError::BadRequest { detail, errors } => {
                ApiError::Invalid {
                    detail: format!("line {}: {detail}", n + 1),
                    errors: errors
                        .into_iter()
                        .map(|mut f| {
                            f.pointer =
                                format!("line {}{}", n + 1, f.pointer.trim_start_matches('#'));
                            f
                        })
                        .collect(),
                }
            }
            other => other,
        })?;
        items.push(item);
    }
    Ok(items)
}

/// Query of `GET /price-lists/{external_id}/items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /price-lists/{external_id}/items`: by SKU, cursor-paginated.
pub async fn price_items(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(raw): Path<String>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> Result<Json<Listing<PriceItem>>, ApiError> {
    caller.require("prices:read")?;
    let id = external_id(&raw)?;
    let limit = page_size(q.limit, MAX_ITEM_PAGE)?;
    let items = state
        .store
        .vendor(caller.vendor_id)
        .price_list_items(&id, q.cursor.as_deref(), limit + 1)
        .await?;
    Ok(Json(next_page(items, limit, |i| i.item.sku.to_string())))
}

fn next_page<T>(mut items: Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> Listing<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more.then(|| items.last().map(&cursor)).flatten();
    Listing { items, next_cursor }
}

// ---- leads ---------------------------------------------------------------

/// `POST /partners/{workspace_id}/leads`.
pub async fn send_lead(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(ws): Path<String>,
    ApiJson(lead): ApiJson<NewVendorLead>,
) -> Result<(StatusCode, Json<Lead>), ApiError> {
    caller.require("leads:write")?;
    let ws: WorkspaceId = parse_param("workspace_id", &ws)?;
    let lead = state
        .store
        .vendor(caller.vendor_id)
        .send_lead(ws, &lead)
        .await?;
    Ok((StatusCode::CREATED, Json(lead)))
}

// ---- deal registrations --------------------------------------------------

/// Query of `GET /deal-registrations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealsQuery {
    status: Option<String>,
    updated_since: Option<DateTime<Utc>>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /deal-registrations`: newest first.
pub async fn deal_registrations(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<DealsQuery>,
) -> Result<Json<Listing<DealRegistration>>, ApiError> {
    caller.require("deals:read")?;
    let status: Option<DealStatus> = q
        .status
        .as_deref()
        .map(|s| parse_param("status", s))
        .transpose()?;
    let before: Option<DealRegistrationId> = q
        .cursor
        .as_deref()
        .map(|c| parse_param("cursor", c))
        .transpose()?;
    let limit = page_size(q.limit, MAX_PAGE)?;
    let all = state
        .store
        .vendor(caller.vendor_id)
        .deal_registrations(status)
        .await?;
    let items: Vec<DealRegistration> = all
        .into_iter()
        .filter(|d| q.updated_since.is_none_or(|t| d.updated_at >= t))
        .filter(|d| before.is_none_or(|b| d.id < b))
        .take(limit as usize + 1)
        .collect();
    Ok(Json(next_page(items, limit, |d| d.id.to_string())))
}

/// `GET /deal-registrations/{id}`.
pub async fn deal_registration(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(id): Path<String>,
) -> Result<Json<DealRegistration>, ApiError> {
    caller.require("deals:read")?;
    let id: DealRegistrationId = parse_param("id", &id)?;
    Ok(Json(
        state
            .store
            .vendor(caller.vendor_id)
            .deal_registration(id)
            .await?,
    ))
}

/// `POST /deal-registrations/{id}/decision`.
pub async fn decide(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(id): Path<String>,
    ApiJson(decision): ApiJson<DealDecision>,
) -> Result<Json<DealRegistration>, ApiError> {
    caller.require("deals:write")?;
    let id: DealRegistrationId = parse_param("id", &id)?;
    Ok(Json(
        state
            .store
            .vendor(caller.vendor_id)
            .decide(id, decision)
            .await?,
    ))
}

// ---- webhooks ------------------------------------------------------------

/// The body of `PUT /webhooks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    url: url::Url,
    events: Vec<WebhookEvent>,
    /// Make a new signing secret (returned once); the old one stops working.
    #[serde(default)]
    rotate_secret: bool,
}

/// The subscription; `secret` only when it was just made.
#[derive(Debug, Serialize)]
pub struct WebhookView {
    url: String,
    events: Vec<WebhookEvent>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookView {
    fn new(s: WebhookSubscription, secret: Option<String>) -> Self {
        Self {
            url: s.url,
            events: s.events,
            created_at: s.created_at,
            updated_at: s.updated_at,
            secret,
        }
    }
}

/// `PUT /webhooks`.
pub async fn put_webhook(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<Json<WebhookView>, ApiError> {
    caller.require("webhooks:write")?;
    if !matches!(body.url.scheme(), "http" | "https") || body.url.as_str().len() > 2048 {
        return Err(ApiError::invalid(
            "#/url",
            "the URL must be http or https and at most 2048 characters",
        ));
    }
    if body.url.username() != "" || body.url.password().is_some() {
        return Err(ApiError::invalid(
            "#/url",
            "the URL must not carry credentials; verify the signature instead",
        ));
    }
    if body.events.is_empty() {
        return Err(ApiError::invalid(
            "#/events",
            "subscribe to at least one event",
        ));
    }
    let mut events = body.events.clone();
    events.sort();
    events.dedup();
    let vendor = state.store.vendor(caller.vendor_id);
    let new_secret = if body.rotate_secret || vendor.webhook().await?.is_none() {
        Some(random_secret("whsec_").map_err(|e| ApiError::Internal(Box::new(e)))?)
    } else {
        None
    };
    let sealed = match &new_secret {
        Some(secret) => Some(
            state
                .sealer
                .seal(
                    &crate::webhooks::secret_context(caller.vendor_id),
                    secret.as_bytes(),
                )
                .map_err(|e| ApiError::Internal(Box::new(e)))?,
        ),
        None => None,
    };
    let sub = vendor
        .put_webhook(body.url.as_str(), &events, sealed.as_deref())
        .await?;
    Ok(Json(WebhookView::new(sub, new_secret)))
}

/// `GET /webhooks`.
pub async fn webhook(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<WebhookView>, ApiError> {
    caller.require("webhooks:read")?;
    let sub = state.store.vendor(caller.vendor_id).webhook().await?;
    sub.map(|s| Json(WebhookView::new(s, None)))
        .ok_or_else(|| ApiError::NotFound("this vendor has no webhook subscription".into()))
}

/// `DELETE /webhooks`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<StatusCode, ApiError> {
    caller.require("webhooks:write")?;
    if state
        .store
        .vendor(caller.vendor_id)
        .delete_webhook()
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(
            "this vendor has no webhook subscription".into(),
        ))
    }
}

/// A delivery in the log.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    id: WebhookDeliveryId,
    event: WebhookEvent,
    status: &'static str,
    attempts: u32,
    next_attempt_at: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_response_status: Option<u16>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    payload: serde_json::Value,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id,
            event: d.event,
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            last_attempt_at: d.last_attempt_at,
            last_response_status: d.last_response_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            payload: d.payload,
        }
    }
}

/// Query of `GET /webhooks/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /webhooks/deliveries`: newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Listing<DeliveryView>>, ApiError> {
    caller.require("webhooks:read")?;
    let limit = page_size(q.limit, MAX_PAGE)?;
    let filter = DeliveryFilter {
        status: q
            .status
            .as_deref()
            .map(|s| parse_param("status", s))
            .transpose()?,
        before: q
            .cursor
            .as_deref()
            .map(|c| parse_param("cursor", c))
            .transpose()?,
        limit: limit + 1,
    };
    let rows = state
        .store
        .vendor(caller.vendor_id)
        .webhook_deliveries(filter)
        .await?;
    let page = next_page(rows, limit, |d| d.id.to_string());
    Ok(Json(Listing {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `POST /webhooks/deliveries/{id}/redeliver`: a dead delivery, again.
pub async fn redeliver(
    State(state): State<AppState>,
    caller: VendorCaller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryView>, ApiError> {
    caller.require("webhooks:write")?;
    let id: WebhookDeliveryId = parse_param("id", &id)?;
    Ok(Json(
        state
            .store
            .vendor(caller.vendor_id)
            .redeliver(id)
            .await?
            .into(),
    ))
}
