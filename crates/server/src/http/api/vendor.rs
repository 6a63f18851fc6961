//! The connector API: what a vendor's API client can do, within the vendor
//! its token names and the partner workspaces actively linked to it.
//!
//! Each handler's `#[utoipa::path]` lists the answers the handler itself
//! gives; the ones every operation shares (401 and 429 from
//! authentication, 403 for a missing scope, and the `Idempotency-Key`
//! answers of writes) are added from the layers in `http::openapi`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
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
use utoipa::ToSchema;

use super::{Listing, MAX_ITEM_PAGE, MAX_PAGE, page_size};
use crate::http::caller::VendorCaller;
use crate::http::error::ApiError;
use crate::http::json::{ApiJson, ApiQuery, parse_json, read_body};
use crate::http::openapi::{
    BadRequest, Conflict, NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType,
};
use crate::http::params::{ApiPath, parsed};
use crate::state::AppState;

/// The most items one price-list upload may carry.
pub const MAX_PRICE_ITEMS: usize = 50_000;

/// Publishing with no partner linked: the content would reach no one.
fn no_partner() -> ApiError {
    ApiError::Conflict(
        "no partner workspace is linked to this vendor yet, so there is nowhere to publish; \
         publish again once the operator links a partner"
            .into(),
    )
}

// ---- partners ------------------------------------------------------------

/// A linked partner workspace as its vendor sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerView {
    /// The partner's workspace.
    workspace_id: WorkspaceId,
    /// The partner's name.
    name: Name,
    /// The partner's tier with this vendor.
    tier: Tier,
    /// The partner's route to market with this vendor.
    partner_type: PartnerType,
}

/// List the linked partners.
///
/// Each partner workspace linked to this vendor, with its tier and route to
/// market.
#[utoipa::path(
    get, path = "/api/v1/vendor/partners", operation_id = "vendor_list_partners",
    tag = "Vendor: partners", security(("oauth2" = ["partners:read"])),
    responses((status = 200, description = "Every linked partner (one page).", body = Listing<PartnerView>))
)]
pub async fn partners(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<PartnerView>>, ApiError> {
    let partners = caller.store(&state).partners().await?;
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierBody {
    /// The new tier.
    tier: Tier,
}

/// Set a linked partner's tier.
#[utoipa::path(
    put, path = "/api/v1/vendor/partners/{workspace_id}/tier", operation_id = "vendor_set_tier",
    tag = "Vendor: partners", security(("oauth2" = ["partners:write"])),
    params(("workspace_id" = WorkspaceId, Path, description = "The partner's workspace.")),
    request_body = TierBody,
    responses(
        (status = 200, description = "The partner with its new tier.", body = PartnerView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn set_tier(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(ws): ApiPath<WorkspaceId>,
    ApiJson(body): ApiJson<TierBody>,
) -> Result<Json<PartnerView>, ApiError> {
    let vendor = caller.store(&state);
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
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    /// This vendor's id for it.
    external_id: ExternalId,
    /// Published or archived.
    status: CampaignStatus,
    #[serde(flatten)]
    content: CampaignContent,
    /// How many linked workspaces hold it.
    workspaces: usize,
    /// When it was first published.
    created_at: DateTime<Utc>,
    /// When it last changed.
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

/// Publish or change a campaign.
///
/// It lands in every linked workspace whose partner is in its audience.
#[utoipa::path(
    put, path = "/api/v1/vendor/campaigns/{external_id}", operation_id = "vendor_put_campaign",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the campaign.")),
    request_body = CampaignContent,
    responses(
        (status = 200, description = "The campaign as published.", body = CampaignView),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_campaign(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    ApiJson(content): ApiJson<CampaignContent>,
) -> Result<Json<CampaignView>, ApiError> {
    let vendor = caller.store(&state);
    let published = vendor.publish_campaign(&id, &content).await?;
    // Content lives in the workspaces it reaches; with none linked there is
    // nowhere to keep it, and saying "published" would be a lie.
    let view = campaign_views(published).pop().ok_or_else(no_partner)?;
    Ok(Json(view))
}

/// List this vendor's campaigns.
#[utoipa::path(
    get, path = "/api/v1/vendor/campaigns", operation_id = "vendor_list_campaigns",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:read"])),
    responses((status = 200, description = "Every campaign (one page).", body = Listing<CampaignView>))
)]
pub async fn campaigns(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<CampaignView>>, ApiError> {
    let all = caller.store(&state).campaigns().await?;
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
    let all = caller.store(state).campaigns().await?;
    campaign_views(all.into_iter().filter(|c| &c.external_id == id).collect())
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("campaign {id} was not found")))
}

/// Get one campaign.
#[utoipa::path(
    get, path = "/api/v1/vendor/campaigns/{external_id}", operation_id = "vendor_get_campaign",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:read"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the campaign.")),
    responses(
        (status = 200, description = "The campaign.", body = CampaignView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn campaign(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(raw): ApiPath<ExternalId>,
) -> Result<Json<CampaignView>, ApiError> {
    Ok(Json(one_campaign(&state, &caller, &raw).await?))
}

/// Archive a campaign everywhere: its activations stop taking leads.
#[utoipa::path(
    delete, path = "/api/v1/vendor/campaigns/{external_id}", operation_id = "vendor_archive_campaign",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the campaign.")),
    responses(
        (status = 200, description = "The campaign, now archived.", body = CampaignView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn archive_campaign(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.store(&state).archive_campaign(&id).await?;
    Ok(Json(one_campaign(&state, &caller, &id).await?))
}

/// Activation counts: no lead data.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignStats {
    /// This vendor's id for the campaign.
    external_id: ExternalId,
    /// How many linked workspaces hold it.
    workspaces: usize,
    /// How many workspaces activated it.
    activations: u64,
    /// How many leads its landing pages captured.
    leads: u64,
}

/// Count a campaign's activations and leads (counts only: no lead data).
#[utoipa::path(
    get, path = "/api/v1/vendor/campaigns/{external_id}/stats", operation_id = "vendor_campaign_stats",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:read"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the campaign.")),
    responses(
        (status = 200, description = "The campaign's counts.", body = CampaignStats),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn campaign_stats(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
) -> Result<Json<CampaignStats>, ApiError> {
    let view = one_campaign(&state, &caller, &id).await?;
    let vendor = caller.store(&state);
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
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetView {
    /// This vendor's id for it.
    external_id: ExternalId,
    #[serde(flatten)]
    content: AssetContent,
    /// How many linked workspaces hold it.
    workspaces: usize,
    /// When it last changed.
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

/// Publish or change a marketing asset.
///
/// It lands in every linked workspace whose partner is in its audience.
#[utoipa::path(
    put, path = "/api/v1/vendor/assets/{external_id}", operation_id = "vendor_put_asset",
    tag = "Vendor: assets", security(("oauth2" = ["assets:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the asset.")),
    request_body = AssetContent,
    responses(
        (status = 200, description = "The asset as published.", body = AssetView),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_asset(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    ApiJson(content): ApiJson<AssetContent>,
) -> Result<Json<AssetView>, ApiError> {
    let published = caller.store(&state).publish_asset(&id, &content).await?;
    Ok(Json(asset_views(published).pop().ok_or_else(no_partner)?))
}

/// List this vendor's assets.
#[utoipa::path(
    get, path = "/api/v1/vendor/assets", operation_id = "vendor_list_assets",
    tag = "Vendor: assets", security(("oauth2" = ["assets:read"])),
    responses((status = 200, description = "Every asset (one page).", body = Listing<AssetView>))
)]
pub async fn assets(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<AssetView>>, ApiError> {
    let all = caller.store(&state).assets().await?;
    Ok(Json(Listing {
        items: asset_views(all),
        next_cursor: None,
    }))
}

/// Get one asset.
#[utoipa::path(
    get, path = "/api/v1/vendor/assets/{external_id}", operation_id = "vendor_get_asset",
    tag = "Vendor: assets", security(("oauth2" = ["assets:read"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the asset.")),
    responses(
        (status = 200, description = "The asset.", body = AssetView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn asset(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
) -> Result<Json<AssetView>, ApiError> {
    let all = caller.store(&state).assets().await?;
    asset_views(all.into_iter().filter(|a| a.external_id == id).collect())
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("asset {id} was not found")))
}

/// Delete an asset from every workspace.
#[utoipa::path(
    delete, path = "/api/v1/vendor/assets/{external_id}", operation_id = "vendor_delete_asset",
    tag = "Vendor: assets", security(("oauth2" = ["assets:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the asset.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete_asset(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
) -> Result<StatusCode, ApiError> {
    caller.store(&state).delete_asset(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- price lists ---------------------------------------------------------

/// A price list's terms as published.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceListView {
    /// This vendor's id for it.
    external_id: ExternalId,
    #[serde(flatten)]
    terms: PriceListTerms,
    /// When its terms last changed.
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

/// Publish a price list's terms, or change them; its items are kept.
#[utoipa::path(
    put, path = "/api/v1/vendor/price-lists/{external_id}", operation_id = "vendor_put_price_list",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the price list.")),
    request_body = PriceListTerms,
    responses(
        (status = 200, description = "The price list's terms as published.", body = PriceListView),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_price_list(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    ApiJson(terms): ApiJson<PriceListTerms>,
) -> Result<Json<PriceListView>, ApiError> {
    let lists = caller
        .store(&state)
        .put_price_list_terms(&id, &terms)
        .await?;
    lists
        .into_iter()
        .next()
        .map(|l| Json(l.into()))
        .ok_or_else(no_partner)
}

/// List this vendor's price lists (their terms).
#[utoipa::path(
    get, path = "/api/v1/vendor/price-lists", operation_id = "vendor_list_price_lists",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:read"])),
    responses((status = 200, description = "Every price list (one page).", body = Listing<PriceListView>))
)]
pub async fn price_lists(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<Listing<PriceListView>>, ApiError> {
    let lists = caller.store(&state).price_lists().await?;
    Ok(Json(Listing {
        items: lists.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Get one price list's terms.
#[utoipa::path(
    get, path = "/api/v1/vendor/price-lists/{external_id}", operation_id = "vendor_get_price_list",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:read"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the price list.")),
    responses(
        (status = 200, description = "The price list's terms.", body = PriceListView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn price_list(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
) -> Result<Json<PriceListView>, ApiError> {
    caller
        .store(&state)
        .price_lists()
        .await?
        .into_iter()
        .find(|l| l.external_id == id)
        .map(|l| Json(l.into()))
        .ok_or_else(|| ApiError::NotFound(format!("price list {id} was not found")))
}

/// The result of an items upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsReplaced {
    /// This vendor's id for the price list.
    external_id: ExternalId,
    /// How many items the list now has.
    items: usize,
    /// How many workspaces received them.
    workspaces: u64,
}

/// Replace a price list's items.
///
/// The complete set, at most 50,000 items, is applied atomically. Send a JSON array (`application/json`) or NDJSON, one item per line
/// (`application/x-ndjson`; `application/jsonl` and `application/jsonlines`
/// are read too). An NDJSON error's pointer starts with its line number.
/// The body may be up to 64 MiB.
#[utoipa::path(
    put, path = "/api/v1/vendor/price-lists/{external_id}/items", operation_id = "vendor_put_price_items",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the price list.")),
    request_body(
        description = "Every item of the list; SKUs must be unique.",
        content(
            (Vec<PriceItemInput> = "application/json"),
            (PriceItemInput = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 200, description = "How many items were stored, in how many workspaces.", body = ItemsReplaced),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_price_items(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    req: axum::extract::Request,
) -> Result<Json<ItemsReplaced>, ApiError> {
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
    let workspaces = caller
        .store(&state)
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[^\s\u0000-\u001F\u007F]+$")]
    cursor: Option<String>,
    /// Items per page, 1 to 5000 (default 50).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<u32>,
}

/// List a price list's items by SKU, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/vendor/price-lists/{external_id}/items", operation_id = "vendor_list_price_items",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:read"])),
    params(
        ("external_id" = ExternalId, Path, description = "This vendor's id for the price list."),
        ItemsQuery,
    ),
    responses(
        (status = 200, description = "A page of items, in SKU order.", body = Listing<PriceItem>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn price_items(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> Result<Json<Listing<PriceItem>>, ApiError> {
    let limit = page_size(q.limit, MAX_ITEM_PAGE)?;
    let items = caller
        .store(&state)
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

/// Send a lead to a linked partner.
///
/// The partner accepts or declines it. Sending the same `external_id` again
/// updates the lead while the partner has not acted on it.
#[utoipa::path(
    post, path = "/api/v1/vendor/partners/{workspace_id}/leads", operation_id = "vendor_send_lead",
    tag = "Vendor: leads", security(("oauth2" = ["leads:write"])),
    params(("workspace_id" = WorkspaceId, Path, description = "The partner's workspace.")),
    request_body = NewVendorLead,
    responses(
        (status = 201, description = "The lead as the partner sees it.", body = Lead),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn send_lead(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(ws): ApiPath<WorkspaceId>,
    ApiJson(lead): ApiJson<NewVendorLead>,
) -> Result<(StatusCode, Json<Lead>), ApiError> {
    let lead = caller.store(&state).send_lead(ws, &lead).await?;
    Ok((StatusCode::CREATED, Json(lead)))
}

// ---- deal registrations --------------------------------------------------

/// Query of `GET /deal-registrations`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DealsQuery {
    /// Only registrations with this status.
    #[param(value_type = Option<DealStatus>)]
    #[serde(default, deserialize_with = "parsed")]
    status: Option<DealStatus>,
    /// Only registrations changed at or after this time.
    updated_since: Option<DateTime<Utc>>,
    /// Registrations per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<DealRegistrationId>,
}

/// The fields a vendor asks for on deal registrations.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealFields {
    /// Each field: its name in a registration's `fields`, what the
    /// partner's form calls it, and whether it must be filled in (at most
    /// 20).
    fields: Vec<onepane_domain::deal::DealFieldSpec>,
}

/// Set the fields partners fill in for this vendor.
///
/// Beyond the form every vendor shares (title, customer, amount,
/// products), a vendor may ask for its own fields. Partners' deal forms
/// show them; a registration missing a required one is refused with 422.
/// Replaces the whole list.
#[utoipa::path(
    put, path = "/api/v1/vendor/deal-fields", operation_id = "vendor_put_deal_fields",
    tag = "Vendor: deal registrations", security(("oauth2" = ["deals:write"])),
    request_body = DealFields,
    responses(
        (status = 200, description = "The fields now asked for.", body = DealFields),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_deal_fields(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiJson(body): ApiJson<DealFields>,
) -> Result<Json<DealFields>, ApiError> {
    onepane_domain::deal::check_deal_fields(&body.fields)
        .map_err(|e| ApiError::invalid("#/fields", e))?;
    caller.store(&state).put_deal_fields(&body.fields).await?;
    Ok(Json(body))
}

/// The fields partners fill in for this vendor.
#[utoipa::path(
    get, path = "/api/v1/vendor/deal-fields", operation_id = "vendor_get_deal_fields",
    tag = "Vendor: deal registrations", security(("oauth2" = ["deals:read"])),
    responses((status = 200, description = "The fields asked for (none until set).", body = DealFields))
)]
pub async fn deal_fields(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<DealFields>, ApiError> {
    let fields = caller.store(&state).deal_fields().await?;
    Ok(Json(DealFields { fields }))
}

/// A registration as its vendor reads it: the partner's form and where it
/// stands, and how often other partners registered the same customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorRegistration {
    /// The registration.
    #[serde(flatten)]
    registration: DealRegistration,
    /// Other partners' registrations of the same customer web domain with
    /// this vendor in the last 90 days: how many, and the days they were
    /// submitted, never which partners. Zero when the registration names no
    /// domain.
    same_customer_elsewhere: SameCustomer,
}

/// Other partners' registrations of one customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SameCustomer {
    /// How many.
    count: u32,
    /// The days they were submitted, oldest first.
    submitted_on: Vec<chrono::NaiveDate>,
}

/// How many other partners' registrations in `all` (this vendor's) name
/// `reg`'s customer domain, submitted in the last 90 days.
fn same_customer(all: &[DealRegistration], reg: &DealRegistration) -> SameCustomer {
    let since = Utc::now() - chrono::Duration::days(90);
    let mut submitted_on: Vec<chrono::NaiveDate> = match reg.details.customer.domain_key() {
        None => Vec::new(),
        Some(domain) => all
            .iter()
            .filter(|o| o.workspace_id != reg.workspace_id && o.submitted_at >= since)
            .filter(|o| o.details.customer.domain_key().as_deref() == Some(domain.as_str()))
            .map(|o| o.submitted_at.date_naive())
            .collect(),
    };
    submitted_on.sort_unstable();
    SameCustomer {
        count: u32::try_from(submitted_on.len()).unwrap_or(u32::MAX),
        submitted_on,
    }
}

/// List deal registrations, newest first.
///
/// The registrations partners submitted to this vendor, each saying how
/// often other partners registered the same customer with it lately.
#[utoipa::path(
    get, path = "/api/v1/vendor/deal-registrations", operation_id = "vendor_list_deal_registrations",
    tag = "Vendor: deal registrations", security(("oauth2" = ["deals:read"])),
    params(DealsQuery),
    responses(
        (status = 200, description = "A page of registrations.", body = Listing<VendorRegistration>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn deal_registrations(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<DealsQuery>,
) -> Result<Json<Listing<VendorRegistration>>, ApiError> {
    let (status, before) = (q.status, q.cursor);
    let limit = page_size(q.limit, MAX_PAGE)?;
    let vendor = caller.store(&state);
    let every = vendor.deal_registrations(None).await?;
    let items: Vec<DealRegistration> = every
        .iter()
        .filter(|d| status.is_none_or(|s| d.status == s))
        .filter(|d| q.updated_since.is_none_or(|t| d.updated_at >= t))
        .filter(|d| before.is_none_or(|b| d.id < b))
        .take(limit as usize + 1)
        .cloned()
        .collect();
    let page = next_page(items, limit, |d| d.id.to_string());
    vendor
        .record_reads(
            "deal-registration.read",
            "deal-registration",
            page.items
                .iter()
                .map(|d| (d.workspace_id, d.id.to_string())),
        )
        .await?;
    Ok(Json(Listing {
        items: page
            .items
            .into_iter()
            .map(|registration| VendorRegistration {
                same_customer_elsewhere: same_customer(&every, &registration),
                registration,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Get one deal registration.
#[utoipa::path(
    get, path = "/api/v1/vendor/deal-registrations/{id}", operation_id = "vendor_get_deal_registration",
    tag = "Vendor: deal registrations", security(("oauth2" = ["deals:read"])),
    params(("id" = DealRegistrationId, Path, description = "The registration.")),
    responses(
        (status = 200, description = "The registration.", body = VendorRegistration),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn deal_registration(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<DealRegistrationId>,
) -> Result<Json<VendorRegistration>, ApiError> {
    let vendor = caller.store(&state);
    let registration = vendor.deal_registration(id).await?;
    let every = vendor.deal_registrations(None).await?;
    Ok(Json(VendorRegistration {
        same_customer_elsewhere: same_customer(&every, &registration),
        registration,
    }))
}

/// Approve or reject a submitted deal registration.
#[utoipa::path(
    post, path = "/api/v1/vendor/deal-registrations/{id}/decision", operation_id = "vendor_decide_deal_registration",
    tag = "Vendor: deal registrations", security(("oauth2" = ["deals:write"])),
    params(("id" = DealRegistrationId, Path, description = "The registration.")),
    request_body = DealDecision,
    responses(
        (status = 200, description = "The registration with the decision.", body = DealRegistration),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<DealRegistrationId>,
    ApiJson(decision): ApiJson<DealDecision>,
) -> Result<Json<DealRegistration>, ApiError> {
    Ok(Json(caller.store(&state).decide(id, decision).await?))
}

// ---- webhooks ------------------------------------------------------------

/// The body of `PUT /webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where to send events.
    #[schema(schema_with = crate::http::openapi::webhook_url)]
    url: url::Url,
    /// The events to send; at least one.
    #[schema(min_items = 1)]
    events: Vec<WebhookEvent>,
    /// Make a new signing secret (returned once); the old one stops working.
    #[serde(default)]
    rotate_secret: bool,
}

/// The subscription; `secret` only when it was just made.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Where events are sent.
    #[schema(schema_with = crate::http::openapi::webhook_url)]
    url: String,
    /// The events sent.
    events: Vec<WebhookEvent>,
    /// When the subscription was made.
    created_at: DateTime<Utc>,
    /// When it last changed.
    updated_at: DateTime<Utc>,
    /// The `whsec_` signing secret, shown once: when it was just made.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
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

/// Subscribe to webhook events, or change the subscription.
///
/// The first subscription, and any with `rotate_secret`, returns a new
/// `whsec_` signing secret, once; the old one stops working.
#[utoipa::path(
    put, path = "/api/v1/vendor/webhooks", operation_id = "vendor_put_webhook",
    tag = "Vendor: webhooks", security(("oauth2" = ["webhooks:write"])),
    request_body = WebhookBody,
    responses(
        (status = 200, description = "The subscription, with `secret` when one was made.", body = WebhookView),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_webhook(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<Json<WebhookView>, ApiError> {
    if !matches!(body.url.scheme(), "http" | "https") || body.url.as_str().len() > 2048 {
        return Err(ApiError::invalid(
            "#/url",
            "the URL must be http or https and at most 2048 characters",
        ));
    }
    if let Err(e) = state.outbound.check_url(&body.url) {
        return Err(ApiError::invalid("#/url", e.to_string()));
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
    let vendor = caller.store(&state);
    let new_secret = if body.rotate_secret || vendor.webhook().await?.is_none() {
        Some(crate::webhooks::generate_secret().map_err(|e| ApiError::Internal(Box::new(e)))?)
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

/// Get the webhook subscription (without its secret).
#[utoipa::path(
    get, path = "/api/v1/vendor/webhooks", operation_id = "vendor_get_webhook",
    tag = "Vendor: webhooks", security(("oauth2" = ["webhooks:read"])),
    responses(
        (status = 200, description = "The subscription.", body = WebhookView),
        (status = 404, response = NotFound),
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<WebhookView>, ApiError> {
    let sub = caller.store(&state).webhook().await?;
    sub.map(|s| Json(WebhookView::new(s, None)))
        .ok_or_else(|| ApiError::NotFound("this vendor has no webhook subscription".into()))
}

/// Delete the webhook subscription.
#[utoipa::path(
    delete, path = "/api/v1/vendor/webhooks", operation_id = "vendor_delete_webhook",
    tag = "Vendor: webhooks", security(("oauth2" = ["webhooks:write"])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<StatusCode, ApiError> {
    if caller.store(&state).delete_webhook().await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(
            "this vendor has no webhook subscription".into(),
        ))
    }
}

/// A delivery in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The delivery (the `Onepane-Delivery` header and the event's `id`).
    id: WebhookDeliveryId,
    /// The event's type.
    event: WebhookEvent,
    /// Where the delivery stands.
    #[schema(schema_with = crate::http::openapi::delivery_status)]
    status: &'static str,
    /// Attempts made so far.
    attempts: u32,
    /// When the next attempt is due, while pending.
    next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status on the last attempt.
    last_response_status: Option<u16>,
    /// Why the last attempt failed.
    last_error: Option<String>,
    /// When the event happened.
    created_at: DateTime<Utc>,
    /// When the receiver answered 2xx.
    delivered_at: Option<DateTime<Utc>>,
    /// The event as sent: `{"id", "type", "created_at", "data"}`.
    #[schema(value_type = Object)]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// Only deliveries with this status.
    #[param(schema_with = crate::http::openapi::delivery_status)]
    #[serde(default, deserialize_with = "parsed")]
    status: Option<DeliveryStatus>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<WebhookDeliveryId>,
    /// Deliveries per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// List webhook deliveries, newest first.
#[utoipa::path(
    get, path = "/api/v1/vendor/webhooks/deliveries", operation_id = "vendor_list_webhook_deliveries",
    tag = "Vendor: webhooks", security(("oauth2" = ["webhooks:read"])),
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = Listing<DeliveryView>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Listing<DeliveryView>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let filter = DeliveryFilter {
        status: q.status,
        before: q.cursor,
        limit: limit + 1,
    };
    let rows = caller.store(&state).webhook_deliveries(filter).await?;
    let page = next_page(rows, limit, |d| d.id.to_string());
    Ok(Json(Listing {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Send a dead delivery again: it gets one more attempt.
#[utoipa::path(
    post, path = "/api/v1/vendor/webhooks/deliveries/{id}/redeliver", operation_id = "vendor_redeliver_webhook",
    tag = "Vendor: webhooks", security(("oauth2" = ["webhooks:write"])),
    params(("id" = WebhookDeliveryId, Path, description = "The delivery.")),
    responses(
        (status = 200, description = "The delivery, pending again.", body = DeliveryView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<WebhookDeliveryId>,
) -> Result<Json<DeliveryView>, ApiError> {
    Ok(Json(caller.store(&state).redeliver(id).await?.into()))
}
