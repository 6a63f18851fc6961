//! Prices: every vendor's items with cost, sell price, margin and margin %
//! in the item's currency and the home currency, sorted by margin if
//! wished, and what a registered deal's extra discount would add.

use std::collections::HashMap;
use std::num::NonZeroU32;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use onepane_domain::margin::PriceQuery;
use onepane_domain::price::Percent;
use onepane_domain::{Money, PriceItemId, VendorId};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::services::pricing::{
    Explanation, FiguresView, PriceSearch, PriceSort, PricedItem, priced_items,
};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::view::Choice;
use crate::web::view::{VendorNames, chosen, urlencode};

/// Items per page.
const PER_PAGE: usize = 50;

/// The prices route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/prices", get(list))
}

/// A priced item as a row.
#[derive(Debug, Clone)]
pub struct PriceLine {
    /// The SKU.
    pub sku: String,
    /// The product.
    pub name: String,
    /// The vendor.
    pub vendor: String,
    /// Whether the partner paused the vendor (shown greyed).
    pub paused: bool,
    /// Its category.
    pub category: String,
    /// List price.
    pub list: String,
    /// Cost, sell, margin and margin % in the item's currency.
    pub item: Option<[String; 4]>,
    /// The same in the home currency, when it differs.
    pub home: Option<[String; 4]>,
    /// Whether the margin is negative.
    pub negative: bool,
    /// What the deal discount adds to the home margin at the same sell
    /// price (what it takes off the cost).
    pub with_deal: Option<String>,
    /// How the cost and the price were made, in words.
    pub how: String,
    /// Whether the sell price is above the vendor's list price.
    pub above_list: bool,
    /// Why it could not be priced.
    pub error: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "prices.html")]
struct PricesPage {
    t: Tr,
    chrome: Chrome,
    items: Vec<PriceLine>,
    vendors: Vec<Choice>,
    categories: Vec<Choice>,
    sorts: Vec<Choice>,
    /// The current order: `sku`, `margin` or `margin_percent`.
    sort: &'static str,
    /// The first page in each order, for the column headers.
    by_sku: String,
    by_margin: String,
    by_margin_percent: String,
    q: String,
    discount: String,
    discount_error: bool,
    home_currency: String,
    total: usize,
    next: Option<String>,
    previous: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Filters {
    vendor: Option<String>,
    category: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    discount: Option<String>,
    page: Option<usize>,
}

impl PricesPage {
    fn total_i64(&self) -> i64 {
        i64::try_from(self.total).unwrap_or(i64::MAX)
    }
}

fn figures(f: &FiguresView, t: &Tr) -> [String; 4] {
    [
        t.money(&Money::new(f.cost, f.currency).rounded()),
        t.money(&Money::new(f.sell, f.currency).rounded()),
        t.money(&Money::new(f.margin, f.currency).rounded()),
        f.margin_percent
            .map(|p| format!("{} %", t.decimal(&p)))
            .unwrap_or_default(),
    ]
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Response, WebError> {
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let ws = viewer.session.workspace.id;
    let chrome = Chrome::load(&state, &viewer, "prices").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let vendor: Option<VendorId> = chosen(&f.vendor)
        .map(str::parse)
        .transpose()
        .map_err(|_| WebError::BadRequest)?;
    let category = chosen(&f.category);
    let (sort, by) = match chosen(&f.sort) {
        None | Some("sku") => ("sku", PriceSort::Sku),
        Some("margin") => ("margin", PriceSort::Margin),
        Some("margin_percent") => ("margin_percent", PriceSort::MarginPercent),
        Some(_) => return Err(WebError::BadRequest),
    };
    let discount_text = chosen(&f.discount).unwrap_or_default().to_owned();
    let discount = deal_discount(&discount_text);
    let today = Utc::now().date_naive();
    let all = priced_items(&state.store, &state.pricing, ws, today, PriceQuery::one()).await?;
    let with_discount = match discount {
        Ok(Some(d)) => {
            let query = PriceQuery {
                quantity: NonZeroU32::MIN,
                deal_discount: Some(d),
            };
            Some(priced_items(&state.store, &state.pricing, ws, today, query).await?)
        }
        _ => None,
    };
    let mut categories: Vec<String> = all.iter().filter_map(|i| i.category.clone()).collect();
    categories.sort();
    categories.dedup();
    let page = f.page.unwrap_or(0);
    let wanted = page.saturating_add(1).saturating_mul(PER_PAGE);
    let search = PriceSearch {
        vendor,
        category: category.map(str::to_owned),
        text: chosen(&f.q).map(str::to_owned),
        // Margins from the highest; SKUs from A.
        sort: Some((by, by != PriceSort::Sku)),
    };
    let found = search.run(&all, wanted);
    let (total, items) = (found.matched, found.items);
    let shown: Vec<&PricedItem> = items
        .iter()
        .skip(page.saturating_mul(PER_PAGE))
        .take(PER_PAGE)
        .copied()
        .collect();
    let with_deal = with_discount.map(|priced| deal_costs(&priced, &shown));
    let lines: Vec<PriceLine> = shown
        .iter()
        .map(|i| price_line(i, &names, with_deal.as_ref(), &t))
        .collect();
    let link = |p: usize| page_link(&f, sort, p);
    let next = (total > wanted).then(|| link(page + 1));
    let previous = (page > 0).then(|| link(page - 1));
    let choice = |value: &str, label: String, current: Option<&str>| Choice {
        value: value.to_owned(),
        label,
        selected: current == Some(value),
    };
    let page = PricesPage {
        vendors: names
            .all()
            .iter()
            .map(|(id, n)| choice(&id.to_string(), n.clone(), chosen(&f.vendor)))
            .collect(),
        categories: categories
            .iter()
            .map(|c| choice(c, c.clone(), category))
            .collect(),
        sorts: [
            ("sku", "prices-sort-sku"),
            ("margin", "prices-sort-margin"),
            ("margin_percent", "prices-sort-margin-percent"),
        ]
        .into_iter()
        .map(|(value, label)| choice(value, t.t(label), Some(sort)))
        .collect(),
        sort,
        by_sku: page_link(&f, "sku", 0),
        by_margin: page_link(&f, "margin", 0),
        by_margin_percent: page_link(&f, "margin_percent", 0),
        q: f.q.clone().unwrap_or_default(),
        discount: discount_text,
        discount_error: discount.is_err(),
        home_currency: viewer.session.workspace.home_currency.code().to_owned(),
        total,
        next,
        previous,
        items: lines,
        t,
        chrome,
    };
    render(&page)
}

/// The deal discount typed in the form (`4`, `4,5 %`): none when empty,
/// an error when it is not a percentage.
fn deal_discount(text: &str) -> Result<Option<Percent>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    text.replace(',', ".")
        .trim_end_matches('%')
        .trim()
        .parse::<Decimal>()
        .ok()
        .and_then(|d| Percent::new(d).ok())
        .map(Some)
        .ok_or(())
}

/// An item as a row, with what the deal discount would add to its margin
/// when one was asked for.
fn price_line(
    i: &PricedItem,
    names: &VendorNames,
    with_deal: Option<&HashMap<PriceItemId, Decimal>>,
    t: &Tr,
) -> PriceLine {
    let item = i.item_currency.as_ref().map(|f| figures(f, t));
    let home = i
        .home_currency
        .as_ref()
        .filter(|h| Some(h.currency) != i.item_currency.as_ref().map(|f| f.currency))
        .map(|f| figures(f, t));
    // The deal's discount lowers the cost; the price the reseller quoted
    // stays, so the margin grows by what the cost fell.
    let added = with_deal.and_then(|m| {
        let after = m.get(&i.id)?;
        let before = i.home_currency.as_ref()?;
        let gained = (before.cost - after).max(Decimal::ZERO);
        Some(t.money(&Money::new(gained, before.currency).rounded()))
    });
    PriceLine {
        sku: i.sku.clone(),
        name: i.name.clone(),
        vendor: names.name(&i.vendor_id),
        paused: names.paused(&i.vendor_id),
        category: i.category.clone().unwrap_or_default(),
        list: t.money(&i.list_price),
        negative: i.sort_margin.is_some_and(|m| m < Decimal::ZERO),
        item,
        home,
        with_deal: added,
        how: i
            .how
            .as_ref()
            .map(|h| explain(h, names, t))
            .unwrap_or_default(),
        above_list: i.how.as_ref().is_some_and(|h| h.above_list),
        error: i.pricing_error.as_ref().map(|_| t.t("prices-error")),
    }
}

/// The home-currency costs with the deal discount of the items shown, by
/// item.
fn deal_costs(priced: &[PricedItem], shown: &[&PricedItem]) -> HashMap<PriceItemId, Decimal> {
    let wanted: std::collections::HashSet<PriceItemId> = shown.iter().map(|i| i.id).collect();
    priced
        .iter()
        .filter(|i| wanted.contains(&i.id))
        .filter_map(|i| i.home_currency.as_ref().map(|h| (i.id, h.cost)))
        .collect()
}

/// How an item's cost and price were made, in words: each discount off
/// list, then the sell rule (or the list price).
fn explain(h: &Explanation, names: &VendorNames, t: &Tr) -> String {
    let pct = |d: &Decimal| t.percent(d);
    let mut parts = Vec::new();
    if !h.tier_discount.is_zero() {
        parts.push(t.ts("prices-how-tier", "percent", &pct(&h.tier_discount)));
    }
    if let Some(v) = &h.volume_discount {
        parts.push(t.ts("prices-how-volume", "percent", &pct(v)));
    }
    if let Some(p) = &h.promotion {
        parts.push(format!(
            "{} ({})",
            t.ts("prices-how-promotion", "percent", &pct(&p.discount)),
            p.name
        ));
    }
    if let Some(d) = &h.deal_discount {
        parts.push(t.ts("prices-how-deal", "percent", &pct(d)));
    }
    if parts.is_empty() {
        parts.push(t.t("prices-how-no-discount"));
    }
    let sell = match &h.sell_rule {
        None => t.t("prices-how-sell-list"),
        Some(r) => {
            let scope = match (&r.vendor_id, &r.category) {
                (Some(v), Some(c)) => format!("{}, {c}", names.name(v)),
                (Some(v), None) => names.name(v),
                (None, Some(c)) => c.clone(),
                (None, None) => t.t("prices-how-every-item"),
            };
            let id = if r.method == "markup-on-cost" {
                "prices-how-sell-markup"
            } else {
                "prices-how-sell-discount"
            };
            format!("{} ({scope})", t.ts(id, "percent", &pct(&r.percent)))
        }
    };
    format!("{} · {sell}", parts.join(" · "))
}

/// The address of page `page` with the same filters.
fn page_link(f: &Filters, sort: &str, page: usize) -> String {
    let mut params = vec![format!("page={page}")];
    for (k, v) in [
        ("vendor", chosen(&f.vendor)),
        ("category", chosen(&f.category)),
        ("q", chosen(&f.q)),
        ("sort", Some(sort)),
        ("discount", chosen(&f.discount)),
    ] {
        if let Some(v) = v {
            params.push(format!("{k}={}", urlencode(v)));
        }
    }
    format!("/prices?{}", params.join("&"))
}
