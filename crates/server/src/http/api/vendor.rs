//! The connector API: what a vendor's API client can do, within the vendor
//! its token names and the partner workspaces actively linked to it.
//!
//! Each handler's `#[utoipa::path]` lists the answers the handler itself
//! gives; the ones every operation shares (401 and 429 from
//! authentication, 403 for a missing scope, and the `Idempotency-Key`
//! answers of writes) are added from the layers in `http::openapi`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use onepane_domain::activity::WebhookEvent;
use onepane_domain::campaign::{AssetContent, CampaignContent, CampaignStatus};
use onepane_domain::deal::{DealDecision, DealRegistration, DealStatus};
use onepane_domain::lead::{Lead, NewVendorLead};
use onepane_domain::price::{PriceItemInput, PriceListTerms};
use onepane_domain::program::{PartnerType, Tier};
use onepane_domain::text::{ExternalId, Name, Region, Sku};
use onepane_domain::{DealRegistrationId, WebhookDeliveryId, WorkspaceId};
use onepane_store::{
    DeliveryFilter, DeliveryStatus, Partner, PriceItemChange, PublishedAsset, PublishedCampaign,
    PublishedPriceList, Reach, WebhookDelivery, WebhookSubscription,
};
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
    /// The regions this vendor gives the partner: content whose audience
    /// names regions reaches it through one of them.
    #[schema(value_type = Vec<String>)]
    regions: Vec<Region>,
}

impl From<Partner> for PartnerView {
    fn from(p: Partner) -> Self {
        Self {
            workspace_id: p.workspace_id,
            name: p.name,
            tier: p.link.tier,
            partner_type: p.link.partner_type,
            regions: p.link.regions,
        }
    }
}

/// A page of partners.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartnersQuery {
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<WorkspaceId>,
    /// Partners per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// List the linked partners.
///
/// Each partner workspace actively linked to this vendor, with its tier,
/// route to market and regions, by workspace id.
#[utoipa::path(
    get, path = "/api/v1/vendor/partners", operation_id = "vendor_list_partners",
    tag = "Vendor: partners", security(("oauth2" = ["partners:read"])),
    params(PartnersQuery),
    responses(
        (status = 200, description = "A page of linked partners.", body = Listing<PartnerView>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn partners(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<PartnersQuery>,
) -> Result<Json<Listing<PartnerView>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let rows = caller
        .store(&state)
        .partners_page(q.cursor, limit + 1)
        .await?;
    let page = next_page(rows, limit, |p| p.workspace_id.to_string());
    Ok(Json(Listing {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
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
    vendor.set_tier(ws, body.tier).await?;
    Ok(Json(vendor.partner(ws).await?.into()))
}

/// The body of `PUT /partners/{workspace_id}/regions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionsBody {
    /// The regions (letters, digits, `-`, `_`; kept uppercase); empty for none.
    #[schema(value_type = Vec<String>)]
    regions: Vec<Region>,
}

/// Set the regions a linked partner covers.
///
/// Content whose audience names regions reaches the partner when one of
/// its regions is named; at once, for everything already published.
#[utoipa::path(
    put, path = "/api/v1/vendor/partners/{workspace_id}/regions", operation_id = "vendor_set_regions",
    tag = "Vendor: partners", security(("oauth2" = ["partners:write"])),
    params(("workspace_id" = WorkspaceId, Path, description = "The partner's workspace.")),
    request_body = RegionsBody,
    responses(
        (status = 200, description = "The partner with its new regions.", body = PartnerView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn set_regions(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(ws): ApiPath<WorkspaceId>,
    ApiJson(body): ApiJson<RegionsBody>,
) -> Result<Json<PartnerView>, ApiError> {
    if body.regions.len() > 100 {
        return Err(ApiError::invalid(
            "#/regions",
            "a partner covers at most 100 regions",
        ));
    }
    let vendor = caller.store(&state);
    vendor.set_regions(ws, &body.regions).await?;
    Ok(Json(vendor.partner(ws).await?.into()))
}

// ---- campaigns -----------------------------------------------------------

/// A page query of a vendor's own content, by external id.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[^\s\u0000-\u001F\u007F]+$")]
    cursor: Option<String>,
    /// Rows per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A campaign as its vendor published it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    /// This vendor's id for it.
    external_id: ExternalId,
    /// Published or archived.
    status: CampaignStatus,
    #[serde(flatten)]
    content: CampaignContent,
    /// How many actively linked partners are in its audience.
    workspaces: u64,
    /// When it was first published.
    created_at: DateTime<Utc>,
    /// When it last changed.
    updated_at: DateTime<Utc>,
}

fn campaign_view(c: PublishedCampaign, reach: &Reach) -> CampaignView {
    CampaignView {
        workspaces: reach.of(&c.content.audience),
        external_id: c.external_id,
        status: c.status,
        content: c.content,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Publish or change a campaign.
///
/// It is stored once and reaches every linked partner in its audience
/// (tiers, partner types, regions) at once; a new campaign is announced to
/// them in the background.
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
    state.content_published();
    Ok(Json(campaign_view(published, &vendor.reach().await?)))
}

/// List this vendor's campaigns, by external id.
#[utoipa::path(
    get, path = "/api/v1/vendor/campaigns", operation_id = "vendor_list_campaigns",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:read"])),
    params(ContentQuery),
    responses(
        (status = 200, description = "A page of campaigns.", body = Listing<CampaignView>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn campaigns(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<ContentQuery>,
) -> Result<Json<Listing<CampaignView>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let vendor = caller.store(&state);
    let rows = vendor
        .campaigns_page(q.cursor.as_deref(), limit + 1)
        .await?;
    let reach = vendor.reach().await?;
    let page = next_page(rows, limit, |c| c.external_id.to_string());
    Ok(Json(Listing {
        items: page
            .items
            .into_iter()
            .map(|c| campaign_view(c, &reach))
            .collect(),
        next_cursor: page.next_cursor,
    }))
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
    ApiPath(id): ApiPath<ExternalId>,
) -> Result<Json<CampaignView>, ApiError> {
    let vendor = caller.store(&state);
    let c = vendor.campaign(&id).await?;
    Ok(Json(campaign_view(c, &vendor.reach().await?)))
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
    let vendor = caller.store(&state);
    let c = vendor.archive_campaign(&id).await?;
    Ok(Json(campaign_view(c, &vendor.reach().await?)))
}

/// Activation counts: no lead data.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignStats {
    /// This vendor's id for the campaign.
    external_id: ExternalId,
    /// How many actively linked partners are in its audience.
    workspaces: u64,
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
    let vendor = caller.store(&state);
    let c = vendor.campaign(&id).await?;
    let (activations, leads) = vendor.campaign_counts(&id).await?;
    Ok(Json(CampaignStats {
        workspaces: vendor.reach().await?.of(&c.content.audience),
        external_id: id,
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
    /// How many actively linked partners are in its audience.
    workspaces: u64,
    /// When it last changed.
    updated_at: DateTime<Utc>,
}

fn asset_view(a: PublishedAsset, reach: &Reach) -> AssetView {
    AssetView {
        workspaces: reach.of(&a.content.audience),
        external_id: a.external_id,
        content: a.content,
        updated_at: a.updated_at,
    }
}

/// Publish or change an asset.
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
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_asset(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    ApiJson(content): ApiJson<AssetContent>,
) -> Result<Json<AssetView>, ApiError> {
    let vendor = caller.store(&state);
    let published = vendor.publish_asset(&id, &content).await?;
    Ok(Json(asset_view(published, &vendor.reach().await?)))
}

/// List this vendor's assets, by external id.
#[utoipa::path(
    get, path = "/api/v1/vendor/assets", operation_id = "vendor_list_assets",
    tag = "Vendor: assets", security(("oauth2" = ["assets:read"])),
    params(ContentQuery),
    responses(
        (status = 200, description = "A page of assets.", body = Listing<AssetView>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn assets(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<ContentQuery>,
) -> Result<Json<Listing<AssetView>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let vendor = caller.store(&state);
    let rows = vendor.assets_page(q.cursor.as_deref(), limit + 1).await?;
    let reach = vendor.reach().await?;
    let page = next_page(rows, limit, |a| a.external_id.to_string());
    Ok(Json(Listing {
        items: page
            .items
            .into_iter()
            .map(|a| asset_view(a, &reach))
            .collect(),
        next_cursor: page.next_cursor,
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
    let vendor = caller.store(&state);
    let a = vendor.asset(&id).await?;
    Ok(Json(asset_view(a, &vendor.reach().await?)))
}

/// Withdraw an asset from every partner.
#[utoipa::path(
    delete, path = "/api/v1/vendor/assets/{external_id}", operation_id = "vendor_delete_asset",
    tag = "Vendor: assets", security(("oauth2" = ["assets:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the asset.")),
    responses(
        (status = 204, description = "Withdrawn."),
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

/// A price list's terms as its vendor published them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceListView {
    /// This vendor's id for it.
    external_id: ExternalId,
    #[serde(flatten)]
    terms: PriceListTerms,
    /// When its terms or items last changed.
    updated_at: DateTime<Utc>,
}

impl From<PublishedPriceList> for PriceListView {
    fn from(l: PublishedPriceList) -> Self {
        Self {
            external_id: l.external_id,
            terms: l.terms,
            updated_at: l.updated_at,
        }
    }
}

/// Publish a price list's terms, or change them (its items stay).
#[utoipa::path(
    put, path = "/api/v1/vendor/price-lists/{external_id}", operation_id = "vendor_put_price_list",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the price list.")),
    request_body = PriceListTerms,
    responses(
        (status = 200, description = "The price list's terms.", body = PriceListView),
        (status = 400, response = BadRequest),
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
    let list = caller
        .store(&state)
        .put_price_list_terms(&id, &terms)
        .await?;
    Ok(Json(list.into()))
}

/// List this vendor's price lists, by external id.
#[utoipa::path(
    get, path = "/api/v1/vendor/price-lists", operation_id = "vendor_list_price_lists",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:read"])),
    params(ContentQuery),
    responses(
        (status = 200, description = "A page of price lists.", body = Listing<PriceListView>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn price_lists(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<ContentQuery>,
) -> Result<Json<Listing<PriceListView>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let rows = caller
        .store(&state)
        .price_lists_page(q.cursor.as_deref(), limit + 1)
        .await?;
    let page = next_page(rows, limit, |l| l.external_id.to_string());
    Ok(Json(Listing {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
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
    Ok(Json(caller.store(&state).price_list(&id).await?.into()))
}

/// What replacing a price list's items did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsReplaced {
    /// This vendor's id for the price list.
    external_id: ExternalId,
    /// The items the list holds now.
    items: usize,
}

/// The request's body as a list of `T`: a JSON array, or NDJSON (one per line).
async fn read_list<T: serde::de::DeserializeOwned>(
    req: axum::extract::Request,
) -> Result<Vec<T>, ApiError> {
    let ndjson = body_kind(&req)?;
    let body = read_body(req).await?;
    if ndjson {
        parse_ndjson(&body)
    } else {
        parse_json(&body)
    }
}

/// The body's media type: JSON (an array) or NDJSON (one per line).
fn body_kind(req: &axum::extract::Request) -> Result<bool, ApiError> {
    let content_type = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match content_type.as_str() {
        "application/json" => Ok(false),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => Ok(true),
        _ => Err(ApiError::UnsupportedMediaType(
            "send the items as application/json (an array) or application/x-ndjson (one per line)"
                .into(),
        )),
    }
}

/// Refuses more than one request takes, and a SKU given twice.
fn check_batch<'a>(skus: impl ExactSizeIterator<Item = &'a str>) -> Result<(), ApiError> {
    if skus.len() > MAX_PRICE_ITEMS {
        return Err(ApiError::invalid(
            "#",
            format!(
                "{} items is more than the {MAX_PRICE_ITEMS} one request takes; send the rest \
                 in further PATCH requests",
                skus.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, sku) in skus.enumerate() {
        if !seen.insert(sku) {
            return Err(ApiError::invalid(
                format!("#/{i}/sku"),
                format!("SKU {sku} appears twice in the request"),
            ));
        }
    }
    Ok(())
}

/// Replace every item of a price list.
///
/// The list holds exactly these items afterwards. Up to 50,000 items per
/// request; a longer list is filled with further `PATCH` requests.
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
        (status = 200, description = "The list's items were replaced.", body = ItemsReplaced),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
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
    let items: Vec<PriceItemInput> = read_list(req).await?;
    check_batch(items.iter().map(|i| i.sku.as_str()))?;
    caller
        .store(&state)
        .put_price_list_items(&id, &items)
        .await?;
    Ok(Json(ItemsReplaced {
        external_id: id,
        items: items.len(),
    }))
}

/// One change to a price list's items: an item to add or replace (by its
/// SKU), or `{"sku": ..., "delete": true}` to remove one.
#[derive(Debug)]
pub enum ItemChange {
    /// Removes the item with this SKU.
    Delete(ItemDeletion),
    /// Adds the item, or replaces the one with its SKU.
    Upsert(PriceItemInput),
}

impl utoipa::PartialSchema for ItemChange {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name(ItemDeletion::name()))
            .item(utoipa::openapi::Ref::from_schema_name(
                PriceItemInput::name(),
            ))
            .description(Some(
                "An item to add or replace, or `{\"sku\", \"delete\": true}` to remove one.",
            ))
            .into()
    }
}

impl ToSchema for ItemChange {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema as _;
        schemas.push((ItemDeletion::name().into_owned(), ItemDeletion::schema()));
        ItemDeletion::schemas(schemas);
        schemas.push((
            PriceItemInput::name().into_owned(),
            PriceItemInput::schema(),
        ));
        PriceItemInput::schemas(schemas);
    }
}

impl<'de> Deserialize<'de> for ItemChange {
    /// A change with `delete` is a deletion, any other an item, each read
    /// strictly, so a bad item is refused for what is wrong with it.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let value = serde_json::Value::Object(map);
        if value.get("delete").is_some() {
            serde_json::from_value(value)
                .map(ItemChange::Delete)
                .map_err(serde::de::Error::custom)
        } else {
            serde_json::from_value(value)
                .map(ItemChange::Upsert)
                .map_err(serde::de::Error::custom)
        }
    }
}

/// An item to remove.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemDeletion {
    /// The SKU to remove.
    sku: Sku,
    /// Must be `true`.
    delete: bool,
}

/// What a change to a price list's items did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsPatched {
    /// This vendor's id for the price list.
    external_id: ExternalId,
    /// Items added or replaced.
    upserted: u64,
    /// Items removed (a SKU the list did not hold counts nothing).
    deleted: u64,
    /// Items the list holds now.
    items: u64,
}

/// Change items of a price list by SKU.
///
/// Adds or replaces each item given, and removes each `{"sku", "delete":
/// true}`, all or nothing; up to 50,000 changes per request. Partners'
/// prices change for this list only.
#[utoipa::path(
    patch, path = "/api/v1/vendor/price-lists/{external_id}/items", operation_id = "vendor_patch_price_items",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:write"])),
    params(("external_id" = ExternalId, Path, description = "This vendor's id for the price list.")),
    request_body(
        description = "The changes; each SKU at most once.",
        content(
            (Vec<ItemChange> = "application/json"),
            (ItemChange = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 200, description = "The changes were made.", body = ItemsPatched),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn patch_price_items(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    req: axum::extract::Request,
) -> Result<Json<ItemsPatched>, ApiError> {
    let given: Vec<ItemChange> = read_list(req).await?;
    let mut changes = Vec::with_capacity(given.len());
    for (i, c) in given.into_iter().enumerate() {
        changes.push(match c {
            ItemChange::Upsert(item) => PriceItemChange::Upsert(item),
            ItemChange::Delete(d) if d.delete => PriceItemChange::Delete(d.sku),
            ItemChange::Delete(_) => {
                return Err(ApiError::invalid(
                    format!("#/{i}/delete"),
                    "`delete` must be true (leave it out to add or replace the item)",
                ));
            }
        });
    }
    check_batch(changes.iter().map(|c| c.sku().as_str()))?;
    let done = caller
        .store(&state)
        .patch_price_list_items(&id, &changes)
        .await?;
    Ok(Json(ItemsPatched {
        external_id: id,
        upserted: done.upserted,
        deleted: done.deleted,
        items: done.total,
    }))
}

fn parse_ndjson<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, ApiError> {
    let mut items = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item = parse_json::<T>(line).map_err(|e| match e {
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

/// A published price item as its vendor reads it back.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceItemView {
    /// The item's id.
    #[schema(value_type = String)]
    id: onepane_domain::PriceItemId,
    /// The list's currency.
    #[schema(value_type = String)]
    currency: onepane_domain::Currency,
    /// The item as published.
    item: PriceItemInput,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[^\s\u0000-\u001F\u007F]+$")]
    cursor: Option<String>,
    /// Items per page, 1 to 5,000 (default 50).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<u32>,
}

/// List a price list's items, by SKU.
#[utoipa::path(
    get, path = "/api/v1/vendor/price-lists/{external_id}/items", operation_id = "vendor_list_price_items",
    tag = "Vendor: price lists", security(("oauth2" = ["prices:read"])),
    params(
        ("external_id" = ExternalId, Path, description = "This vendor's id for the price list."),
        ItemsQuery,
    ),
    responses(
        (status = 200, description = "A page of items.", body = Listing<PriceItemView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn price_items(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiPath(id): ApiPath<ExternalId>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> Result<Json<Listing<PriceItemView>>, ApiError> {
    let limit = page_size(q.limit, MAX_ITEM_PAGE)?;
    let items = caller
        .store(&state)
        .price_list_items(&id, q.cursor.as_deref(), limit + 1)
        .await?;
    let page = next_page(items, limit, |i| i.item.sku.to_string());
    Ok(Json(Listing {
        items: page
            .items
            .into_iter()
            .map(|i| PriceItemView {
                id: i.id,
                currency: i.currency,
                item: i.item,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
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
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SameCustomer {
    /// How many.
    count: u32,
    /// The days they were submitted, oldest first.
    submitted_on: Vec<chrono::NaiveDate>,
}

/// For each registration, how many registrations of the same customer web
/// domain other partners submitted to this vendor in the last 90 days, and
/// the days: one indexed query for the whole page.
async fn same_customers(
    vendor: &onepane_store::VendorStore,
    regs: &[DealRegistration],
) -> Result<Vec<SameCustomer>, ApiError> {
    let since = Utc::now() - chrono::Duration::days(90);
    let mut domains: Vec<String> = regs
        .iter()
        .filter_map(|r| r.details.customer.domain_key())
        .collect();
    domains.sort();
    domains.dedup();
    let found = vendor.registrations_by_domain(&domains, since).await?;
    Ok(regs
        .iter()
        .map(|reg| {
            let mut submitted_on: Vec<chrono::NaiveDate> = match reg.details.customer.domain_key() {
                None => Vec::new(),
                Some(domain) => found
                    .iter()
                    .filter(|(d, ws, _)| *d == domain && *ws != reg.workspace_id)
                    .map(|(_, _, at)| at.date_naive())
                    .collect(),
            };
            submitted_on.sort_unstable();
            SameCustomer {
                count: u32::try_from(submitted_on.len()).unwrap_or(u32::MAX),
                submitted_on,
            }
        })
        .collect())
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
    let limit = page_size(q.limit, MAX_PAGE)?;
    let vendor = caller.store(&state);
    let items = vendor
        .deal_registrations_page(q.status, q.updated_since, q.cursor, limit + 1)
        .await?;
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
    let same = same_customers(&vendor, &page.items).await?;
    Ok(Json(Listing {
        items: page
            .items
            .into_iter()
            .zip(same)
            .map(
                |(registration, same_customer_elsewhere)| VendorRegistration {
                    same_customer_elsewhere,
                    registration,
                },
            )
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
    let same_customer_elsewhere = same_customers(&vendor, std::slice::from_ref(&registration))
        .await?
        .pop()
        .unwrap_or_default();
    Ok(Json(VendorRegistration {
        same_customer_elsewhere,
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

/// The vendor's logo, which partners show beside its campaigns and on
/// their landing pages.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorLogo {
    /// An https address of the logo (an image partners' pages load from
    /// there; a square of at least 48 pixels draws best), or null for none.
    #[schema(value_type = Option<String>, example = "https://vendor.example/logo.svg")]
    logo_url: Option<String>,
}

/// The longest logo address taken.
const LOGO_URL_MAX: usize = 500;

/// Set the vendor's logo.
///
/// Partners' campaign cards and landing pages show it beside the vendor's
/// name. Only an https address is taken; null removes it.
#[utoipa::path(
    put, path = "/api/v1/vendor/logo", operation_id = "vendor_put_logo",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:write"])),
    request_body = VendorLogo,
    responses(
        (status = 200, description = "The logo now shown.", body = VendorLogo),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn put_logo(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiJson(body): ApiJson<VendorLogo>,
) -> Result<Json<VendorLogo>, ApiError> {
    let logo_url = match body.logo_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) if u.chars().count() > LOGO_URL_MAX => {
            return Err(ApiError::invalid(
                "#/logo_url",
                format!("the logo address is longer than {LOGO_URL_MAX} characters"),
            ));
        }
        Some(u) => match u.parse::<onepane_domain::campaign::WebUrl>() {
            Ok(url) if url.as_url().scheme() == "https" => Some(String::from(url)),
            _ => {
                return Err(ApiError::invalid(
                    "#/logo_url",
                    "the logo must be an https address",
                ));
            }
        },
    };
    caller
        .store(&state)
        .set_logo_url(logo_url.as_deref())
        .await?;
    Ok(Json(VendorLogo { logo_url }))
}

/// The vendor's logo.
#[utoipa::path(
    get, path = "/api/v1/vendor/logo", operation_id = "vendor_get_logo",
    tag = "Vendor: campaigns", security(("oauth2" = ["campaigns:read"])),
    responses((status = 200, description = "The logo shown (null until set).", body = VendorLogo))
)]
pub async fn logo(
    State(state): State<AppState>,
    caller: VendorCaller,
) -> Result<Json<VendorLogo>, ApiError> {
    let logo_url = caller.store(&state).logo_url().await?;
    Ok(Json(VendorLogo { logo_url }))
}
