//! The partner API: a workspace's single pane, for its own scripts, with a
//! member's personal access token. The workspace comes only from the token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use onepane_domain::campaign::{Asset, AssetBody, AssetKind, Campaign, CampaignActivation};
use onepane_domain::deal::{DealDetails, DealProduct, DealRegistration, VendorFields};
use onepane_domain::lead::{Company, Lead, LeadStatus};
use onepane_domain::margin::{Figures, PriceQuery, PricingContext, quote_item};
use onepane_domain::price::Percent;
use onepane_domain::program::{LinkStatus, PartnerType, Tier, VendorKind};
use onepane_domain::text::{Locale, Name};
use onepane_domain::{
    CampaignId, Currency, DealRegistrationId, LeadId, Money, NotificationId, PriceItemId,
    PriceListId, VendorId,
};
use onepane_store::{LeadFilter, Page, PriceItemFilter};
use serde::{Deserialize, Serialize};

use super::{Listing, MAX_PAGE, page_size, parse_param};
use crate::auth::caller::PartnerCaller;
use crate::http::json::{ApiJson, ApiQuery};
use crate::http::{ApiError, AppState};

// ---- vendors -------------------------------------------------------------

/// A vendor the workspace works with.
#[derive(Debug, Serialize)]
pub struct VendorView {
    id: VendorId,
    name: Name,
    kind: VendorKind,
    tier: Tier,
    partner_type: PartnerType,
    status: LinkStatus,
}

/// `GET /vendors`.
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

// ---- leads ---------------------------------------------------------------

/// Query of `GET /leads`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadsQuery {
    vendor_id: Option<String>,
    status: Option<String>,
    campaign_id: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /leads`: newest first.
pub async fn leads(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<LeadsQuery>,
) -> Result<Json<Listing<Lead>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let filter = LeadFilter {
        vendor_id: q
            .vendor_id
            .as_deref()
            .map(|v| parse_param("vendor_id", v))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| parse_param::<LeadStatus>("status", s))
            .transpose()?,
        campaign_id: q
            .campaign_id
            .as_deref()
            .map(|c| parse_param("campaign_id", c))
            .transpose()?,
        text: q.q.filter(|t| !t.trim().is_empty()),
    };
    let after: Option<LeadId> = q
        .cursor
        .as_deref()
        .map(|c| parse_param("cursor", c))
        .transpose()?;
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

/// `GET /leads/{id}`.
pub async fn lead(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Path(id): Path<String>,
) -> Result<Json<Lead>, ApiError> {
    let id: LeadId = parse_param("id", &id)?;
    Ok(Json(
        state.store.partner(caller.workspace_id).lead(id).await?,
    ))
}

/// `POST /leads/{id}/accept`.
pub async fn accept_lead(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Path(id): Path<String>,
) -> Result<Json<Lead>, ApiError> {
    let id: LeadId = parse_param("id", &id)?;
    let store = state.store.partner(caller.workspace_id);
    Ok(Json(store.set_lead_status(id, LeadStatus::Accepted).await?))
}

/// `POST /leads/{id}/decline`.
pub async fn decline_lead(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Path(id): Path<String>,
) -> Result<Json<Lead>, ApiError> {
    let id: LeadId = parse_param("id", &id)?;
    let store = state.store.partner(caller.workspace_id);
    Ok(Json(store.set_lead_status(id, LeadStatus::Declined).await?))
}

// ---- campaigns -----------------------------------------------------------

/// `GET /campaigns`: the campaigns whose audience includes this workspace.
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
#[derive(Debug, Serialize)]
pub struct ActivationView {
    #[serde(flatten)]
    activation: CampaignActivation,
    landing_url: String,
}

/// `POST /campaigns/{id}/activate`: one click, one landing page.
pub async fn activate_campaign(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Path(id): Path<String>,
) -> Result<Json<ActivationView>, ApiError> {
    let id: CampaignId = parse_param("id", &id)?;
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetsQuery {
    vendor_id: Option<String>,
    kind: Option<String>,
    locale: Option<String>,
    q: Option<String>,
}

/// `GET /assets`: the library across vendors.
pub async fn assets(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<AssetsQuery>,
) -> Result<Json<Listing<Asset>>, ApiError> {
    let vendor: Option<VendorId> = q
        .vendor_id
        .as_deref()
        .map(|v| parse_param("vendor_id", v))
        .transpose()?;
    let kind: Option<AssetKind> = q
        .kind
        .as_deref()
        .map(|k| parse_param("kind", k))
        .transpose()?;
    let locale: Option<Locale> = q
        .locale
        .as_deref()
        .map(|l| parse_param("locale", l))
        .transpose()?;
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceItemsQuery {
    vendor_id: Option<String>,
    category: Option<String>,
    q: Option<String>,
    /// `sku` (default), `margin` or `margin_percent`.
    sort: Option<String>,
    /// `asc` or `desc` (default `desc` for margins, `asc` for SKU).
    order: Option<String>,
    /// Units priced (default 1).
    quantity: Option<u32>,
    /// Price as if a registered deal added this extra discount (percent).
    deal_discount: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Cost, sell, margin and margin % in one currency.
#[derive(Debug, Serialize)]
pub struct FiguresView {
    currency: Currency,
    #[serde(with = "rust_decimal::serde::str")]
    cost: rust_decimal::Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    sell: rust_decimal::Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    margin: rust_decimal::Decimal,
    /// Margin as a percentage of sell, to two places; absent when sell is zero.
    #[serde(with = "rust_decimal::serde::str_option")]
    margin_percent: Option<rust_decimal::Decimal>,
}

impl From<&Figures> for FiguresView {
    fn from(f: &Figures) -> Self {
        Self {
            currency: f.cost.currency,
            cost: f.cost.amount,
            sell: f.sell.amount,
            margin: f.margin.amount,
            margin_percent: f.margin_percent.map(|p| p.round_dp(2)),
        }
    }
}

/// A price item with its figures from the margin engine.
#[derive(Debug, Serialize)]
pub struct PricedItem {
    id: PriceItemId,
    vendor_id: VendorId,
    price_list_id: PriceListId,
    sku: String,
    name: String,
    category: Option<String>,
    list_price: Money,
    quantity: u32,
    /// Per unit, in the item's currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    item_currency: Option<FiguresView>,
    /// Per unit, in the workspace's home currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    home_currency: Option<FiguresView>,
    /// Why the item could not be priced (e.g. a missing exchange rate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing_error: Option<String>,
    #[serde(skip)]
    sort_margin: Option<rust_decimal::Decimal>,
    #[serde(skip)]
    sort_percent: Option<rust_decimal::Decimal>,
}

/// `GET /price-items`: every item of every linked vendor with cost, sell,
/// margin and margin %, sortable by margin.
pub async fn price_items(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<PriceItemsQuery>,
) -> Result<Json<Listing<PricedItem>>, ApiError> {
    let limit = page_size(q.limit, MAX_PAGE)?;
    let filter = PriceItemFilter {
        vendor_id: q
            .vendor_id
            .as_deref()
            .map(|v| parse_param("vendor_id", v))
            .transpose()?,
        category: q.category.filter(|c| !c.trim().is_empty()),
        text: q.q.filter(|t| !t.trim().is_empty()),
    };
    let sort = q.sort.as_deref().unwrap_or("sku");
    if !matches!(sort, "sku" | "margin" | "margin_percent") {
        return Err(ApiError::bad_request(
            "sort",
            "`sort` must be sku, margin or margin_percent",
        ));
    }
    let descending = match q.order.as_deref() {
        None => sort != "sku",
        Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "order",
                "`order` must be asc or desc",
            ));
        }
    };
    let quantity = std::num::NonZeroU32::new(q.quantity.unwrap_or(1))
        .ok_or_else(|| ApiError::bad_request("quantity", "`quantity` must be at least 1"))?;
    let deal_discount: Option<Percent> = q
        .deal_discount
        .as_deref()
        .map(|d| {
            let value: rust_decimal::Decimal = parse_param("deal_discount", d)?;
            Percent::new(value).map_err(|e| {
                ApiError::bad_request("deal_discount", format!("`deal_discount`: {e}"))
            })
        })
        .transpose()?;
    let offset: usize = q
        .cursor
        .as_deref()
        .map(|c| parse_param("cursor", c))
        .transpose()?
        .unwrap_or(0);

    let data = state
        .store
        .partner(caller.workspace_id)
        .pricing(&filter)
        .await?;
    let lists: std::collections::HashMap<PriceListId, &onepane_domain::price::PriceList> =
        data.lists.iter().map(|l| (l.id, l)).collect();
    let today = Utc::now().date_naive();
    let query = PriceQuery {
        quantity,
        deal_discount,
    };
    let mut items: Vec<PricedItem> = data
        .items
        .iter()
        .filter_map(|item| {
            let list = lists.get(&item.price_list_id)?;
            let tier = data.tiers.get(&item.vendor_id).copied()?;
            let ctx = PricingContext {
                tier,
                home_currency: data.workspace.home_currency,
                sell_rules: &data.sell_rules,
                rates: &data.rates,
                on: today,
            };
            let quoted = quote_item(&list.terms, item, &ctx, &query);
            let (item_fig, home_fig, error) = match &quoted {
                Ok(quote) => (
                    Some((&quote.unit).into()),
                    Some((&quote.home_unit).into()),
                    None,
                ),
                Err(e) => (None, None, Some(e.to_string())),
            };
            Some(PricedItem {
                id: item.id,
                vendor_id: item.vendor_id,
                price_list_id: item.price_list_id,
                sku: item.item.sku.to_string(),
                name: item.item.name.to_string(),
                category: item.item.category.as_ref().map(ToString::to_string),
                list_price: Money::new(item.item.list_price.value(), item.currency),
                quantity: quantity.get(),
                sort_margin: quoted.as_ref().ok().map(|q| q.home_unit.margin.amount),
                sort_percent: quoted
                    .as_ref()
                    .ok()
                    .and_then(|q| q.home_unit.margin_percent),
                item_currency: item_fig,
                home_currency: home_fig,
                pricing_error: error,
            })
        })
        .collect();
    match sort {
        "margin" => sort_by_figure(&mut items, |i| i.sort_margin, descending),
        "margin_percent" => sort_by_figure(&mut items, |i| i.sort_percent, descending),
        _ if descending => items.reverse(),
        _ => {}
    }
    let more = items.len() > offset.saturating_add(limit as usize);
    let items: Vec<PricedItem> = items
        .into_iter()
        .skip(offset)
        .take(limit as usize)
        .collect();
    let next_cursor = more.then(|| (offset + limit as usize).to_string());
    Ok(Json(Listing { items, next_cursor }))
}

/// Sorts by a figure, items without one last, ties by SKU.
fn sort_by_figure(
    items: &mut [PricedItem],
    key: impl Fn(&PricedItem) -> Option<rust_decimal::Decimal>,
    descending: bool,
) {
    items.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => {
            let ord = if descending { y.cmp(&x) } else { x.cmp(&y) };
            ord.then_with(|| a.sku.cmp(&b.sku))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.sku.cmp(&b.sku),
    });
}

// ---- deal registrations --------------------------------------------------

/// `GET /deal-registrations`: newest first.
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

/// `GET /deal-registrations/{id}`.
pub async fn deal_registration(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Path(id): Path<String>,
) -> Result<Json<DealRegistration>, ApiError> {
    let id: DealRegistrationId = parse_param("id", &id)?;
    Ok(Json(
        state
            .store
            .partner(caller.workspace_id)
            .deal_registration(id)
            .await?,
    ))
}

/// The body of `POST /deal-registrations`: one uniform form for any vendor.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDeal {
    /// One vendor, or several for a multi-vendor deal (one registration each).
    vendor_ids: Vec<VendorId>,
    title: Name,
    customer: Company,
    amount: Money,
    #[serde(default)]
    products: Vec<DealProduct>,
    /// The vendor's own required fields.
    #[serde(default)]
    fields: VendorFields,
    lead_id: Option<LeadId>,
}

/// The registrations made.
#[derive(Debug, Serialize)]
pub struct Registered {
    registrations: Vec<DealRegistration>,
}

/// `POST /deal-registrations`.
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
    let registrations = state
        .store
        .partner(caller.workspace_id)
        .register_deals(
            &body.vendor_ids,
            &details,
            body.lead_id,
            Some(caller.user_id),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Registered { registrations })))
}

// ---- notifications -------------------------------------------------------

/// Query of `GET /notifications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsQuery {
    #[serde(default)]
    unread: bool,
}

/// `GET /notifications`: newest first.
pub async fn notifications(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<NotificationsQuery>,
) -> Result<Json<Listing<onepane_domain::activity::Notification>>, ApiError> {
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

/// `POST /notifications/{id}/read`.
pub async fn read_notification(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: NotificationId = parse_param("id", &id)?;
    state
        .store
        .partner(caller.workspace_id)
        .mark_notification_read(id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
