//! The partner API: a workspace's single pane, for its own scripts, with a
//! member's personal access token. The workspace comes only from the token.
//!
//! Each handler's `#[utoipa::path]` lists the answers the handler itself
//! gives; the ones every operation shares (401 and 429 from
//! authentication, and the `Idempotency-Key` answers of writes) are added
//! from the layers in `http::openapi`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use onepane_domain::activity::{AuditEvent, Notification};
use onepane_domain::campaign::{Asset, AssetBody, AssetKind, Campaign, CampaignActivation};
use onepane_domain::deal::{DealDetails, DealProduct, DealRegistration, VendorFields};
use onepane_domain::lead::{Company, Lead, LeadStatus};
use onepane_domain::margin::PriceQuery;
use onepane_domain::price::Percent;
use onepane_domain::privacy::{Erasure, PersonalData};
use onepane_domain::program::{LinkStatus, PartnerType, Tier, VendorKind};
use onepane_domain::text::{Email, Locale, LongText, Name};
use onepane_domain::{
    AuditEventId, CampaignId, DealRegistrationId, LeadId, Money, NotificationId, VendorId,
};
use onepane_store::{AuditFilter, LeadFilter, Page, PartnerStore};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Listing, MAX_PAGE, page_size};
use crate::http::caller::PartnerCaller;
use crate::http::error::ApiError;
use crate::http::json::{ApiJson, ApiQuery, OptionalApiJson};
use crate::http::openapi::{
    BadRequest, Conflict, NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType,
};
use crate::http::params::{ApiPath, SortOrder, parsed};
use crate::services::audit::valid_kind;
use crate::services::pricing::{self, PriceSearch, PriceSort, PricedItem};
use crate::state::AppState;

// ---- vendors -------------------------------------------------------------

/// A vendor the workspace works with.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorView {
    /// The vendor.
    id: VendorId,
    /// Its name.
    name: Name,
    /// A vendor or a distributor.
    kind: VendorKind,
    /// This workspace's tier with it.
    tier: Tier,
    /// This workspace's route to market with it.
    partner_type: PartnerType,
    /// Where the relationship stands.
    status: LinkStatus,
}

/// List the workspace's vendors.
///
/// Each vendor the workspace works with, with its tier, route to market and
/// status.
#[utoipa::path(
    get, path = "/api/v1/vendors", operation_id = "partner_list_vendors",
    tag = "Partner: vendors", security(("bearer" = [])),
    responses((status = 200, description = "Every vendor (one page).", body = Listing<VendorView>))
)]
pub async fn vendors(
    State(state): State<AppState>,
    caller: PartnerCaller,
) -> Result<Json<Listing<VendorView>>, ApiError> {
    let vendors = state.store.partner(caller.workspace_id).vendors().await?;
    Ok(Json(Listing {
        items: vendors
            .into_iter()
            .map(|v| VendorView {
                id: v.vendor.id,
                name: v.vendor.name,
                kind: v.vendor.kind,
                tier: v.link.tier,
                partner_type: v.link.partner_type,
                status: v.link.status,
            })
            .collect(),
        next_cursor: None,
    }))
}

/// The body of `PUT /vendors/{vendor_id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkStatusChange {
    /// `paused` stops the vendor reaching the workspace (its content stays,
    /// greyed); `active` resumes a paused link; `ended` ends it for good
    /// (the vendor loses all access and its content leaves the workspace;
    /// the workspace's own leads, registrations and history stay).
    status: LinkStatus,
}

/// Pause, resume or end the workspace's link with a vendor.
///
/// For owners and admins. A paused or ended vendor gets 404 for the
/// workspace everywhere (API, connector, webhooks stop). The change is
/// recorded in the audit log.
#[utoipa::path(
    put, path = "/api/v1/vendors/{vendor_id}/status", operation_id = "partner_set_vendor_status",
    tag = "Partner: vendors", security(("bearer" = [])),
    params(("vendor_id" = VendorId, Path, description = "The vendor.")),
    request_body = LinkStatusChange,
    responses(
        (status = 200, description = "The vendor with the link's new status.", body = VendorView),
        (status = 400, response = BadRequest),
        (status = 403, description = "The member is not an owner or admin."),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn set_vendor_status(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(vendor_id): ApiPath<VendorId>,
    ApiJson(change): ApiJson<LinkStatusChange>,
) -> Result<Json<VendorView>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    administrator(&store, &caller).await?;
    let link = store
        .set_link_status(vendor_id, change.status, caller.user_id)
        .await?;
    let vendor = store
        .vendors()
        .await?
        .into_iter()
        .find(|v| v.vendor.id == vendor_id)
        .ok_or_else(|| ApiError::NotFound(format!("vendor {vendor_id} is not linked")))?;
    Ok(Json(VendorView {
        id: vendor.vendor.id,
        name: vendor.vendor.name,
        kind: vendor.vendor.kind,
        tier: link.tier,
        partner_type: link.partner_type,
        status: link.status,
    }))
}

/// Fails with 403 unless the caller is an owner or admin of the workspace.
pub(crate) async fn administrator(
    store: &PartnerStore,
    caller: &PartnerCaller,
) -> Result<(), ApiError> {
    let members = store.members().await?;
    if members
        .iter()
        .any(|m| m.user_id == caller.user_id && m.role.can_administer())
    {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the workspace's owners and admins may do this".into(),
        ))
    }
}

// ---- audit log -----------------------------------------------------------

/// Query of `GET /audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only what this vendor read or changed.
    #[param(value_type = Option<VendorId>)]
    #[serde(default, deserialize_with = "parsed")]
    vendor_id: Option<VendorId>,
    /// Only events about this kind of record (`lead`, `deal-registration`,
    /// `campaign`, `asset`, `price-list`, `link`, `member`, `token`,
    /// `sso`, `connection`, `activation`).
    #[param(pattern = "^[a-z][a-z-]{0,39}$")]
    kind: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<AuditEventId>,
    /// Events per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The workspace's audit log, newest first.
///
/// Every read and change a vendor made in the workspace (through its API,
/// its connector or webhooks delivered to it), naming its API client, and
/// the security-relevant actions of the workspace's own admins. For owners
/// and admins. Append-only; kept for the configured retention (400 days by
/// default).
#[utoipa::path(
    get, path = "/api/v1/audit", operation_id = "partner_list_audit_events",
    tag = "Partner: audit", security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events.", body = Listing<AuditEvent>),
        (status = 400, response = BadRequest),
        (status = 403, description = "The member is not an owner or admin."),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Listing<AuditEvent>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let kind = q.kind.filter(|k| !k.is_empty());
    if let Some(k) = &kind
        && !valid_kind(k)
    {
        return Err(ApiError::bad_request(
            "kind",
            "`kind` is a record kind in lower case, such as `lead` or `deal-registration`",
        ));
    }
    let store = state.store.partner(caller.workspace_id);
    administrator(&store, &caller).await?;
    let mut items = store
        .audit_events(&AuditFilter {
            vendor: q.vendor_id,
            subject_kind: kind,
            before: q.cursor,
            limit: limit + 1,
        })
        .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(Json(Listing { items, next_cursor }))
}

// ---- privacy -------------------------------------------------------------

/// The body of `POST /privacy/export` and `POST /privacy/erase`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    /// The person's email address.
    #[schema(value_type = String, format = "email", max_length = 254)]
    email: Email,
}

/// Export everything the workspace holds about one person.
///
/// For owners and admins: the person's leads (from vendors, landing pages,
/// by hand or synced), the deal registrations made from them and where
/// they were pushed to CRMs, found by email. Recorded in the audit log.
#[utoipa::path(
    post, path = "/api/v1/privacy/export", operation_id = "partner_export_personal_data",
    tag = "Partner: privacy", security(("bearer" = [])),
    request_body = PersonRequest,
    responses(
        (status = 200, description = "Every record about the person.", body = PersonalData),
        (status = 400, response = BadRequest),
        (status = 403, description = "The member is not an owner or admin."),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn export_personal_data(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiJson(person): ApiJson<PersonRequest>,
) -> Result<Json<PersonalData>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    administrator(&store, &caller).await?;
    let data = store
        .export_personal_data(&person.email, caller.user_id)
        .await?;
    Ok(Json(data))
}

/// Erase one person's data.
///
/// For owners and admins. Each of the person's leads loses the contact's
/// name (replaced), email, phone, title and message; the registrations made
/// from them lose any title or vendor field naming the person. Statuses,
/// amounts, products and dates stay. Every actively linked vendor that
/// received one of the leads is sent `lead.erased`; CRMs get the erased
/// record on their next push. Recorded in the audit log (without the
/// address). Erasing someone the workspace holds nothing about changes
/// nothing and answers zeros.
#[utoipa::path(
    post, path = "/api/v1/privacy/erase", operation_id = "partner_erase_personal_data",
    tag = "Partner: privacy", security(("bearer" = [])),
    request_body = PersonRequest,
    responses(
        (status = 200, description = "What was erased.", body = Erasure),
        (status = 400, response = BadRequest),
        (status = 403, description = "The member is not an owner or admin."),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn erase_personal_data(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiJson(person): ApiJson<PersonRequest>,
) -> Result<Json<Erasure>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    administrator(&store, &caller).await?;
    Ok(Json(
        store.erase_person(&person.email, caller.user_id).await?,
    ))
}

// ---- leads ---------------------------------------------------------------

/// Query of `GET /leads`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeadsQuery {
    /// Only leads attributed to this vendor.
    #[param(value_type = Option<VendorId>)]
    #[serde(default, deserialize_with = "parsed")]
    vendor_id: Option<VendorId>,
    /// Only leads with this status.
    #[param(value_type = Option<LeadStatus>)]
    #[serde(default, deserialize_with = "parsed")]
    status: Option<LeadStatus>,
    /// Only leads from this campaign.
    #[param(value_type = Option<CampaignId>)]
    #[serde(default, deserialize_with = "parsed")]
    campaign_id: Option<CampaignId>,
    /// Text to search for in the contact, company and message.
    #[param(pattern = r"^[^\u0000-\u001F\u007F]*$")]
    q: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<LeadId>,
    /// Leads per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// List the workspace's leads, newest first.
#[utoipa::path(
    get, path = "/api/v1/leads", operation_id = "partner_list_leads",
    tag = "Partner: leads", security(("bearer" = [])),
    params(LeadsQuery),
    responses(
        (status = 200, description = "A page of leads.", body = Listing<Lead>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn leads(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<LeadsQuery>,
) -> Result<Json<Listing<Lead>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let filter = LeadFilter {
        vendor_id: q.vendor_id,
        status: q.status,
        campaign_id: q.campaign_id,
        text: q.q.filter(|t| !t.trim().is_empty()),
    };
    let after = q.cursor;
    let mut items = state
        .store
        .partner(caller.workspace_id)
        .leads(
            &filter,
            Page {
                after,
                limit: limit + 1,
            },
        )
        .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|l| l.id.to_string()))
        .flatten();
    Ok(Json(Listing { items, next_cursor }))
}

/// Get one lead.
#[utoipa::path(
    get, path = "/api/v1/leads/{id}", operation_id = "partner_get_lead",
    tag = "Partner: leads", security(("bearer" = [])),
    params(("id" = LeadId, Path, description = "The lead.")),
    responses(
        (status = 200, description = "The lead.", body = Lead),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn lead(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<Lead>, ApiError> {
    Ok(Json(
        state.store.partner(caller.workspace_id).lead(id).await?,
    ))
}

/// Accept a lead a vendor sent.
#[utoipa::path(
    post, path = "/api/v1/leads/{id}/accept", operation_id = "partner_accept_lead",
    tag = "Partner: leads", security(("bearer" = [])),
    params(("id" = LeadId, Path, description = "The lead.")),
    responses(
        (status = 200, description = "The lead, accepted.", body = Lead),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn accept_lead(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<LeadId>,
) -> Result<Json<Lead>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    let lead = store.set_lead_status(id, LeadStatus::Accepted).await?;
    state.deliveries_queued();
    Ok(Json(lead))
}

/// Why a lead is declined, told to the vendor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineLead {
    /// The reason (up to 2,000 characters), sent to the vendor with the
    /// answer where its system takes answers.
    #[serde(default)]
    reason: Option<LongText>,
}

/// Decline a lead a vendor sent.
///
/// With an optional reason; the body may be left out.
#[utoipa::path(
    post, path = "/api/v1/leads/{id}/decline", operation_id = "partner_decline_lead",
    tag = "Partner: leads", security(("bearer" = [])),
    params(("id" = LeadId, Path, description = "The lead.")),
    request_body(content = DeclineLead, description = "Optional: why the lead is declined."),
    responses(
        (status = 200, description = "The lead, declined.", body = Lead),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn decline_lead(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<LeadId>,
    OptionalApiJson(body): OptionalApiJson<DeclineLead>,
) -> Result<Json<Lead>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    let reason = body.and_then(|b| b.reason);
    let lead = store
        .move_lead(id, LeadStatus::Declined, reason.as_ref(), None)
        .await?;
    state.deliveries_queued();
    Ok(Json(lead))
}

// ---- campaigns -----------------------------------------------------------

/// List the campaigns whose audience includes this workspace.
#[utoipa::path(
    get, path = "/api/v1/campaigns", operation_id = "partner_list_campaigns",
    tag = "Partner: campaigns", security(("bearer" = [])),
    responses((status = 200, description = "Every campaign (one page).", body = Listing<Campaign>))
)]
pub async fn campaigns(
    State(state): State<AppState>,
    caller: PartnerCaller,
) -> Result<Json<Listing<Campaign>>, ApiError> {
    let items = state.store.partner(caller.workspace_id).campaigns().await?;
    Ok(Json(Listing {
        items,
        next_cursor: None,
    }))
}

/// An activation and where its landing page is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationView {
    #[serde(flatten)]
    activation: CampaignActivation,
    /// The public landing page.
    #[schema(format = "uri")]
    landing_url: String,
}

/// Activate a campaign.
///
/// One click, one co-branded landing page. Activating it again returns the
/// same activation.
#[utoipa::path(
    post, path = "/api/v1/campaigns/{id}/activate", operation_id = "partner_activate_campaign",
    tag = "Partner: campaigns", security(("bearer" = [])),
    params(("id" = CampaignId, Path, description = "The campaign.")),
    responses(
        (status = 200, description = "The activation and its landing page.", body = ActivationView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn activate_campaign(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<ActivationView>, ApiError> {
    let activation = state
        .store
        .partner(caller.workspace_id)
        .activate_campaign(id, Some(caller.user_id))
        .await?;
    let landing_url = format!("{}/l/{}", state.public_base, activation.slug);
    Ok(Json(ActivationView {
        activation,
        landing_url,
    }))
}

// ---- assets --------------------------------------------------------------

/// Query of `GET /assets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssetsQuery {
    /// Only this vendor's assets.
    #[param(value_type = Option<VendorId>)]
    #[serde(default, deserialize_with = "parsed")]
    vendor_id: Option<VendorId>,
    /// Only assets of this kind.
    #[param(value_type = Option<AssetKind>)]
    #[serde(default, deserialize_with = "parsed")]
    kind: Option<AssetKind>,
    /// Only assets with a variant in this locale or its language.
    #[param(value_type = Option<Locale>)]
    #[serde(default, deserialize_with = "parsed")]
    locale: Option<Locale>,
    /// Text to search for in tags and titles (and inline text).
    q: Option<String>,
}

/// Search the asset library across vendors.
#[utoipa::path(
    get, path = "/api/v1/assets", operation_id = "partner_list_assets",
    tag = "Partner: assets", security(("bearer" = [])),
    params(AssetsQuery),
    responses(
        (status = 200, description = "The matching assets (one page).", body = Listing<Asset>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn assets(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<AssetsQuery>,
) -> Result<Json<Listing<Asset>>, ApiError> {
    let (vendor, kind, locale) = (q.vendor_id, q.kind, q.locale);
    let text =
        q.q.map(|t| t.to_lowercase())
            .filter(|t| !t.trim().is_empty());
    let all = state.store.partner(caller.workspace_id).assets().await?;
    let items = all
        .into_iter()
        .filter(|a| vendor.is_none_or(|v| a.vendor_id == v))
        .filter(|a| kind.is_none_or(|k| a.content.kind == k))
        .filter(|a| {
            locale.as_ref().is_none_or(|l| {
                a.content
                    .variants
                    .as_slice()
                    .iter()
                    .any(|v| &v.locale == l || v.locale.language() == l.language())
            })
        })
        .filter(|a| {
            text.as_deref().is_none_or(|t| {
                a.content.tags.iter().any(|tag| tag.as_str().to_lowercase().contains(t))
                    || a.content.variants.as_slice().iter().any(|v| {
                        v.title.as_str().to_lowercase().contains(t)
                            || matches!(&v.body, AssetBody::Text(body) if body.as_str().to_lowercase().contains(t))
                    })
            })
        })
        .collect();
    Ok(Json(Listing {
        items,
        next_cursor: None,
    }))
}

// ---- prices --------------------------------------------------------------

/// Query of `GET /price-items`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PriceItemsQuery {
    /// Only this vendor's items.
    #[param(value_type = Option<VendorId>)]
    #[serde(default, deserialize_with = "parsed")]
    vendor_id: Option<VendorId>,
    /// Only items of this category.
    category: Option<String>,
    /// Text to search for in SKUs and names.
    q: Option<String>,
    /// `sku` (default), `margin` or `margin_percent`.
    #[param(schema_with = crate::http::openapi::price_sort)]
    #[serde(default, deserialize_with = "parsed")]
    sort: Option<PriceSort>,
    /// `asc` or `desc` (default `desc` for margins, `asc` for SKU).
    #[param(schema_with = crate::http::openapi::sort_order)]
    #[serde(default, deserialize_with = "parsed")]
    order: Option<SortOrder>,
    /// Units priced (default 1).
    #[param(minimum = 1)]
    quantity: Option<u32>,
    /// Price as if a registered deal added this extra discount (percent).
    #[param(value_type = Option<Percent>)]
    #[serde(default, deserialize_with = "parsed")]
    deal_discount: Option<rust_decimal::Decimal>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<usize>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// List priced items.
///
/// Every item of every linked vendor with cost, sell, margin and margin %,
/// sortable by margin. Figures come from the margin engine: the vendor's list price less the
/// tier, volume, promotion and deal discounts is the cost; the workspace's
/// sell rules give the sell price; both are shown per unit in the item's
/// currency and in the workspace's home currency.
#[utoipa::path(
    get, path = "/api/v1/price-items", operation_id = "partner_list_price_items",
    tag = "Partner: prices", security(("bearer" = [])),
    params(PriceItemsQuery),
    responses(
        (status = 200, description = "A page of priced items.", body = Listing<PricedItem>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn price_items(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<PriceItemsQuery>,
) -> Result<Json<Listing<PricedItem>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let vendor = q.vendor_id;
    let category = q.category.filter(|c| !c.trim().is_empty());
    let text = q.q.filter(|t| !t.trim().is_empty());
    let sort = q.sort.unwrap_or(PriceSort::Sku);
    let descending = match q.order {
        None => sort != PriceSort::Sku,
        Some(order) => order == SortOrder::Desc,
    };
    let quantity = std::num::NonZeroU32::new(q.quantity.unwrap_or(1))
        .ok_or_else(|| ApiError::bad_request("quantity", "`quantity` must be at least 1"))?;
    let deal_discount: Option<Percent> = q
        .deal_discount
        .map(|value| {
            Percent::new(value).map_err(|e| {
                ApiError::bad_request("deal_discount", format!("`deal_discount`: {e}"))
            })
        })
        .transpose()?;
    let offset = q.cursor.unwrap_or(0);

    let today = Utc::now().date_naive();
    let query = PriceQuery {
        quantity,
        deal_discount,
    };
    let all = pricing::priced_items(
        &state.store,
        &state.pricing,
        caller.workspace_id,
        today,
        query,
    )
    .await?;
    let search = PriceSearch {
        vendor,
        category,
        text,
        sort: Some((sort, descending)),
    };
    let wanted = offset.saturating_add(limit as usize);
    let found = search.run(&all, wanted);
    let more = found.matched > wanted;
    let items: Vec<PricedItem> = found
        .items
        .into_iter()
        .skip(offset)
        .take(limit as usize)
        .cloned()
        .collect();
    let next_cursor = more.then(|| wanted.to_string());
    Ok(Json(Listing { items, next_cursor }))
}

// ---- deal registrations --------------------------------------------------

/// List the workspace's deal registrations, newest first.
#[utoipa::path(
    get, path = "/api/v1/deal-registrations", operation_id = "partner_list_deal_registrations",
    tag = "Partner: deal registrations", security(("bearer" = [])),
    responses((status = 200, description = "Every registration (one page).", body = Listing<DealRegistration>))
)]
pub async fn deal_registrations(
    State(state): State<AppState>,
    caller: PartnerCaller,
) -> Result<Json<Listing<DealRegistration>>, ApiError> {
    let items = state
        .store
        .partner(caller.workspace_id)
        .deal_registrations()
        .await?;
    Ok(Json(Listing {
        items,
        next_cursor: None,
    }))
}

/// Get one deal registration.
#[utoipa::path(
    get, path = "/api/v1/deal-registrations/{id}", operation_id = "partner_get_deal_registration",
    tag = "Partner: deal registrations", security(("bearer" = [])),
    params(("id" = DealRegistrationId, Path, description = "The registration.")),
    responses(
        (status = 200, description = "The registration.", body = DealRegistration),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn deal_registration(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<DealRegistrationId>,
) -> Result<Json<DealRegistration>, ApiError> {
    Ok(Json(
        state
            .store
            .partner(caller.workspace_id)
            .deal_registration(id)
            .await?,
    ))
}

/// How a deal registration is being delivered to its vendor.
#[utoipa::path(
    get, path = "/api/v1/deal-registrations/{id}/delivery", operation_id = "partner_get_deal_delivery",
    tag = "Partner: deal registrations", security(("bearer" = [])),
    params(("id" = DealRegistrationId, Path, description = "The registration.")),
    responses(
        (status = 200, description = "How it reaches the vendor: the route (the vendor's own system through one of the workspace's connections, or Onepane's connector API), pending, sent, refused (with the vendor's message) or failed, and the vendor's id for it.", body = onepane_domain::delivery::Delivery),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn deal_delivery(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<DealRegistrationId>,
) -> Result<Json<onepane_domain::delivery::Delivery>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    // The registration first: a missing one is named as such.
    store.deal_registration(id).await?;
    store
        .delivery(onepane_domain::delivery::DeliveryKind::Deal, id.as_uuid())
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "deal registration {id} has no delivery to its vendor"
            ))
        })
}

/// Sends a refused or failed registration to its vendor again.
#[utoipa::path(
    post, path = "/api/v1/deal-registrations/{id}/delivery/retry", operation_id = "partner_retry_deal_delivery",
    tag = "Partner: deal registrations", security(("bearer" = [])),
    params(("id" = DealRegistrationId, Path, description = "The registration.")),
    responses(
        (status = 200, description = "Pending again: a refused registration goes as a new sending (a new idempotency key), a failed one as the same.", body = onepane_domain::delivery::Delivery),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn retry_deal_delivery(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<DealRegistrationId>,
) -> Result<Json<onepane_domain::delivery::Delivery>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    store.deal_registration(id).await?;
    let delivery = store
        .retry_delivery(
            onepane_domain::delivery::DeliveryKind::Deal,
            id.as_uuid(),
            None,
        )
        .await?;
    state.deliveries_queued();
    Ok(Json(delivery))
}

/// The body of `POST /deal-registrations`: one uniform form for any vendor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterDeal {
    /// One vendor, or several for a multi-vendor deal (one registration each).
    #[schema(min_items = 1, max_items = 20)]
    vendor_ids: Vec<VendorId>,
    /// The opportunity's title.
    title: Name,
    /// The end customer.
    customer: Company,
    /// The expected deal value.
    amount: Money,
    /// The products.
    #[serde(default)]
    products: Vec<DealProduct>,
    /// The vendor's own required fields.
    #[serde(default)]
    fields: VendorFields,
    /// The lead the deal came from.
    lead_id: Option<LeadId>,
}

/// The registrations made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    /// One per vendor named.
    registrations: Vec<DealRegistration>,
    /// Earlier registrations of the same customer (by web domain, else by
    /// name) still waiting or protected: with one of these vendors (a
    /// likely duplicate), or with another vendor. A warning: the
    /// registrations were made.
    conflicts: Vec<onepane_domain::deal::RegistrationConflict>,
}

/// Register a deal.
///
/// With one vendor or several, on one form: one registration per vendor.
#[utoipa::path(
    post, path = "/api/v1/deal-registrations", operation_id = "partner_register_deal",
    tag = "Partner: deal registrations", security(("bearer" = [])),
    request_body = RegisterDeal,
    responses(
        (status = 201, description = "The registrations made, one per vendor, with any earlier registrations of the same customer they may clash with.", body = Registered),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn register_deal(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiJson(body): ApiJson<RegisterDeal>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    if body.vendor_ids.is_empty() {
        return Err(ApiError::invalid(
            "#/vendor_ids",
            "name at least one vendor",
        ));
    }
    if body.vendor_ids.len() > 20 {
        return Err(ApiError::invalid(
            "#/vendor_ids",
            "a deal can be registered with at most 20 vendors at once",
        ));
    }
    let details = DealDetails {
        title: body.title,
        customer: body.customer,
        amount: body.amount,
        products: body.products,
        fields: body.fields,
    };
    let store = state.store.partner(caller.workspace_id);
    let conflicts = store
        .registration_conflicts(&body.vendor_ids, &details.customer, body.lead_id)
        .await?;
    let registrations = store
        .register_deals(
            &body.vendor_ids,
            &details,
            body.lead_id,
            Some(caller.user_id),
        )
        .await?;
    state.deliveries_queued();
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            registrations,
            conflicts,
        }),
    ))
}

// ---- notifications -------------------------------------------------------

/// Query of `GET /clock`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClockQuery {
    /// Only this vendor's deadlines.
    #[serde(default)]
    vendor_id: Option<VendorId>,
    /// Only this kind: `lead-answer`, `decision-awaited`,
    /// `protection-ends`, `reauthorize`, `delivery-refused`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    kind: Option<onepane_domain::clock::DeadlineKind>,
    /// Only this member's (the registrations they submitted).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    person: Option<onepane_domain::UserId>,
}

/// The clock: what falls due across vendors, soonest first.
///
/// Vendors' leads awaiting an answer (by their answer-by time),
/// registrations awaiting a decision (due seven days after submission),
/// protections ending within 30 days, connections to log in to again, and
/// deliveries a vendor refused or that failed.
#[utoipa::path(
    get, path = "/api/v1/clock", operation_id = "partner_clock",
    tag = "Partner: notifications", security(("bearer" = [])),
    params(ClockQuery),
    responses(
        (status = 200, description = "Every deadline (one page), soonest or most overdue first.", body = Listing<onepane_domain::clock::Deadline>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn clock(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<ClockQuery>,
) -> Result<Json<Listing<onepane_domain::clock::Deadline>>, ApiError> {
    let filter = onepane_domain::clock::ClockFilter {
        vendor_id: q.vendor_id,
        kind: q.kind,
        person: q.person,
    };
    let items = state
        .store
        .partner(caller.workspace_id)
        .clock(&filter)
        .await?;
    Ok(Json(Listing {
        items,
        next_cursor: None,
    }))
}

/// Query of `GET /notifications`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationsQuery {
    /// Only unread notifications.
    #[serde(default)]
    unread: bool,
}

/// List the workspace's notifications, newest first.
#[utoipa::path(
    get, path = "/api/v1/notifications", operation_id = "partner_list_notifications",
    tag = "Partner: notifications", security(("bearer" = [])),
    params(NotificationsQuery),
    responses(
        (status = 200, description = "The notifications (one page).", body = Listing<Notification>),
        (status = 400, response = BadRequest),
    )
)]
pub async fn notifications(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<NotificationsQuery>,
) -> Result<Json<Listing<Notification>>, ApiError> {
    let items = state
        .store
        .partner(caller.workspace_id)
        .notifications(q.unread)
        .await?;
    Ok(Json(Listing {
        items,
        next_cursor: None,
    }))
}

/// Mark a notification read.
#[utoipa::path(
    post, path = "/api/v1/notifications/{id}/read", operation_id = "partner_read_notification",
    tag = "Partner: notifications", security(("bearer" = [])),
    params(("id" = NotificationId, Path, description = "The notification.")),
    responses(
        (status = 204, description = "Marked read."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn read_notification(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<NotificationId>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .partner(caller.workspace_id)
        .mark_notification_read(id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
