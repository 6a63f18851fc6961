//! Every price item of a workspace priced by the margin engine, kept in a
//! small cache. Pricing 100,000 items means reading and decoding them all;
//! the cache keys each result on everything the figures depend on (the
//! price lists' terms and last change, the tiers, sell rules, exchange
//! rates, home currency, the day, quantity and deal discount), read fresh
//! on every request, so a change anywhere is seen at once. Each list's
//! priced items are also kept on their own: a change to one vendor's list
//! reads and prices that list again, not every item of the workspace.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use onepane_domain::margin::{Figures, PriceQuery, PricingContext, quote_item};
use onepane_domain::price::SellMethod;
use onepane_domain::{Currency, Money, PriceItemId, PriceListId, VendorId, WorkspaceId};
use onepane_store::{PricingData, Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// How many priced workspaces (or quantity/discount variants) are kept.
const ENTRIES: usize = 4;
/// Larger results are not kept (about 40 MB at this size).
const MAX_CACHED_ITEMS: usize = 200_000;

/// One cached result: whose, for which data and which query, what.
type Entry = (WorkspaceId, u64, u64, Arc<Vec<PricedItem>>);
/// One list's priced items: whose, which list, for which of its data and
/// which query, what.
type ListEntry = (WorkspaceId, PriceListId, u64, u64, Arc<Vec<PricedItem>>);
/// Priced items kept list by list, across workspaces (about 80 MB).
const MAX_LIST_ITEMS: usize = 400_000;

/// The cache, shared by every request.
#[derive(Debug, Default)]
pub struct PricingCache {
    /// Most recently used last.
    entries: Mutex<Vec<Entry>>,
    /// Workspaces whose items are being priced in the background.
    refreshing: Mutex<std::collections::HashSet<WorkspaceId>>,
    /// Each price list's priced items, most recently used last: when one
    /// list of a workspace changes, only that list is read and priced again.
    lists: Mutex<Vec<ListEntry>>,
}

impl PricingCache {
    fn get(&self, ws: WorkspaceId, data: u64, query: u64) -> Option<Arc<Vec<PricedItem>>> {
        let mut entries = self.entries.lock().ok()?;
        let at = entries
            .iter()
            .position(|(w, d, q, _)| *w == ws && *d == data && *q == query)?;
        let entry = entries.remove(at);
        let items = Arc::clone(&entry.3);
        entries.push(entry);
        Some(items)
    }

    fn list_get(
        &self,
        ws: WorkspaceId,
        list: PriceListId,
        data: u64,
        query: u64,
    ) -> Option<Arc<Vec<PricedItem>>> {
        let mut lists = self.lists.lock().ok()?;
        let at = lists
            .iter()
            .position(|e| e.0 == ws && e.1 == list && e.2 == data && e.3 == query)?;
        let entry = lists.remove(at);
        let items = Arc::clone(&entry.4);
        lists.push(entry);
        Some(items)
    }

    fn list_put(
        &self,
        ws: WorkspaceId,
        list: PriceListId,
        data: u64,
        query: u64,
        items: Arc<Vec<PricedItem>>,
    ) {
        if items.len() > MAX_LIST_ITEMS {
            return;
        }
        if let Ok(mut lists) = self.lists.lock() {
            // The list's results for older data are stale now.
            lists.retain(|e| e.0 != ws || e.1 != list || e.2 == data);
            lists.push((ws, list, data, query, items));
            let mut total: usize = lists.iter().map(|e| e.4.len()).sum();
            while total > MAX_LIST_ITEMS && lists.len() > 1 {
                total -= lists.remove(0).4.len();
            }
        }
    }

    /// The newest result for a workspace and query, whatever data it was
    /// priced from.
    fn latest(&self, ws: WorkspaceId, query: u64) -> Option<Arc<Vec<PricedItem>>> {
        let entries = self.entries.lock().ok()?;
        entries
            .iter()
            .rev()
            .find(|(w, _, q, _)| *w == ws && *q == query)
            .map(|e| Arc::clone(&e.3))
    }

    /// Marks a background pricing of `ws` as started; false when one runs.
    fn start_refresh(&self, ws: WorkspaceId) -> bool {
        self.refreshing.lock().is_ok_and(|mut r| r.insert(ws))
    }

    fn end_refresh(&self, ws: WorkspaceId) {
        if let Ok(mut r) = self.refreshing.lock() {
            r.remove(&ws);
        }
    }

    fn put(&self, ws: WorkspaceId, data: u64, query: u64, items: Arc<Vec<PricedItem>>) {
        if items.len() > MAX_CACHED_ITEMS {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            // A workspace's results for older data are stale now; its
            // results for other queries on the same data are not (a page
            // showing figures with and without a deal discount needs both).
            entries.retain(|(w, d, _, _)| *w != ws || *d == data);
            if entries.len() >= ENTRIES {
                entries.remove(0);
            }
            entries.push((ws, data, query, items));
        }
    }
}

/// Everything the figures depend on but the query, hashed.
fn data_key(data: &PricingData, on: NaiveDate) -> u64 {
    let mut h = DefaultHasher::new();
    let mut tiers: Vec<(String, &str)> = data
        .tiers
        .iter()
        .map(|(v, t)| (v.to_string(), t.as_str()))
        .collect();
    tiers.sort();
    let parts = serde_json::json!({
        "home": data.workspace.home_currency,
        "tiers": tiers,
        "rules": data.sell_rules,
        "rates": data.rates,
        "lists": data.lists.iter().map(|l| (l.id, l.updated_at, &l.terms)).collect::<Vec<_>>(),
    });
    parts.to_string().hash(&mut h);
    on.hash(&mut h);
    h.finish()
}

/// Everything one list's figures depend on but the query, hashed: the
/// list's terms and last change, the tier with its vendor, the rules,
/// rates, home currency and the day.
fn list_key(data: &PricingData, list: &onepane_domain::price::PriceList, on: NaiveDate) -> u64 {
    let mut h = DefaultHasher::new();
    let parts = serde_json::json!({
        "home": data.workspace.home_currency,
        "tier": data.tiers.get(&list.vendor_id).map(|t| t.as_str()),
        "rules": data.sell_rules,
        "rates": data.rates,
        "list": (list.id, list.updated_at, &list.terms),
    });
    parts.to_string().hash(&mut h);
    on.hash(&mut h);
    h.finish()
}

/// The query's part of the key: quantity and deal discount.
fn query_key(query: &PriceQuery) -> u64 {
    let mut h = DefaultHasher::new();
    query.quantity.hash(&mut h);
    query
        .deal_discount
        .map(|d| d.value().to_string())
        .hash(&mut h);
    h.finish()
}

/// The workspace's items priced for `query` on `on`, sorted by SKU.
pub async fn priced_items(
    store: &Store,
    cache: &PricingCache,
    ws: WorkspaceId,
    on: NaiveDate,
    query: PriceQuery,
) -> Result<Arc<Vec<PricedItem>>, StoreError> {
    let partner = store.partner(ws);
    let terms = partner.pricing_terms().await?;
    let (data_key, query_key) = (data_key(&terms, on), query_key(&query));
    if let Some(hit) = cache.get(ws, data_key, query_key) {
        return Ok(hit);
    }
    // List by list: what is cached for a list's current data is used as
    // it is; only the lists that changed are read and priced again.
    let mut parts = Vec::with_capacity(terms.lists.len());
    let mut missing = Vec::new();
    for list in &terms.lists {
        let key = list_key(&terms, list, on);
        match cache.list_get(ws, list.id, key, query_key) {
            Some(hit) => parts.push(hit),
            None => missing.push((list.id, key)),
        }
    }
    if !missing.is_empty() {
        let ids: Vec<PriceListId> = missing.iter().map(|m| m.0).collect();
        let mut data = terms;
        data.items = partner.pricing_items(&ids).await?;
        // The items were read after the terms: if anything changed between
        // the two reads, the key is already stale and the next request
        // recomputes.
        let mut by_list: HashMap<PriceListId, Vec<PricedItem>> = HashMap::new();
        for item in price_all(&data, on, &query) {
            by_list.entry(item.price_list_id).or_default().push(item);
        }
        for (id, key) in missing {
            let priced = Arc::new(by_list.remove(&id).unwrap_or_default());
            cache.list_put(ws, id, key, query_key, Arc::clone(&priced));
            parts.push(priced);
        }
    }
    let mut all: Vec<PricedItem> = if parts.len() == 1 {
        parts[0].as_ref().clone()
    } else {
        parts.iter().flat_map(|p| p.iter().cloned()).collect()
    };
    if parts.len() > 1 {
        all.sort_by(|a, b| a.sku.cmp(&b.sku).then(a.id.cmp(&b.id)));
    }
    let priced = Arc::new(all);
    cache.put(ws, data_key, query_key, Arc::clone(&priced));
    Ok(priced)
}

/// The workspace's priced items for a summary that may lag a change by one
/// pricing: the fresh result when cached, else the last one while a fresh
/// one is priced in the background (`None` before the first). Keeps pages
/// that only summarize margins fast right after a price list changes.
pub async fn priced_items_soon(
    store: &Store,
    cache: &Arc<PricingCache>,
    ws: WorkspaceId,
    on: NaiveDate,
    query: PriceQuery,
) -> Result<Option<Arc<Vec<PricedItem>>>, StoreError> {
    let terms = store.partner(ws).pricing_terms().await?;
    let (data, q) = (data_key(&terms, on), query_key(&query));
    if let Some(hit) = cache.get(ws, data, q) {
        return Ok(Some(hit));
    }
    let stale = cache.latest(ws, q);
    if cache.start_refresh(ws) {
        let (store, cache) = (store.clone(), Arc::clone(cache));
        tokio::spawn(async move {
            let priced = priced_items(&store, &cache, ws, on, query).await;
            cache.end_refresh(ws);
            if let Err(e) = priced {
                tracing::warn!(workspace = %ws, error = %e, "pricing in the background failed");
            }
        });
    }
    Ok(stale)
}

fn price_all(data: &PricingData, on: NaiveDate, query: &PriceQuery) -> Vec<PricedItem> {
    let lists: HashMap<PriceListId, &onepane_domain::price::PriceList> =
        data.lists.iter().map(|l| (l.id, l)).collect();
    data.items
        .iter()
        .filter_map(|item| {
            let list = lists.get(&item.price_list_id)?;
            let tier = data.tiers.get(&item.vendor_id).copied()?;
            let ctx = PricingContext {
                tier,
                home_currency: data.workspace.home_currency,
                sell_rules: &data.sell_rules,
                rates: &data.rates,
                on,
            };
            let quoted = quote_item(&list.terms, item, &ctx, query);
            let (item_fig, home_fig, error): (Option<FiguresView>, Option<FiguresView>, _) =
                match &quoted {
                    Ok(q) => (Some((&q.unit).into()), Some((&q.home_unit).into()), None),
                    Err(e) => (None, None, Some(e.to_string())),
                };
            let how = quoted.as_ref().ok().map(Explanation::of);
            Some(PricedItem {
                id: item.id,
                vendor_id: item.vendor_id,
                price_list_id: item.price_list_id,
                sku: item.item.sku.to_string(),
                name: item.item.name.to_string(),
                category: item.item.category.as_ref().map(ToString::to_string),
                list_price: Money::new(item.item.list_price.value(), item.currency),
                quantity: query.quantity.get(),
                sort_margin: quoted.as_ref().ok().map(|q| q.home_unit.margin.amount),
                sort_percent: quoted
                    .as_ref()
                    .ok()
                    .and_then(|q| q.home_unit.margin_percent),
                item_currency: item_fig,
                home_currency: home_fig,
                how,
                pricing_error: error,
            })
        })
        .collect()
}

/// Cost, sell, margin and margin % in one currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FiguresView {
    /// The currency of the figures.
    pub(crate) currency: Currency,
    /// What the workspace pays per unit.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(schema_with = onepane_domain::openapi::unit_amount_schema)]
    pub(crate) cost: rust_decimal::Decimal,
    /// What the workspace sells a unit for.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(schema_with = onepane_domain::openapi::unit_amount_schema)]
    pub(crate) sell: rust_decimal::Decimal,
    /// Sell less cost.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(schema_with = onepane_domain::openapi::unit_amount_schema)]
    pub(crate) margin: rust_decimal::Decimal,
    /// Margin as a percentage of sell, to two places; null when sell is zero.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schema(schema_with = onepane_domain::openapi::decimal_or_null_schema)]
    pub(crate) margin_percent: Option<rust_decimal::Decimal>,
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

/// How an item's figures were made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explanation {
    /// The partner's tier discount off list, in percent (zero when the
    /// list names no discount for the tier).
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(schema_with = percent_schema)]
    pub(crate) tier_discount: rust_decimal::Decimal,
    /// The volume break's discount, when one applied.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schema(schema_with = onepane_domain::openapi::decimal_or_null_schema)]
    pub(crate) volume_discount: Option<rust_decimal::Decimal>,
    /// The promotion that applied (its name and discount), when one did.
    pub(crate) promotion: Option<PromotionView>,
    /// The registered deal's extra discount, when one was asked for.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schema(schema_with = onepane_domain::openapi::decimal_or_null_schema)]
    pub(crate) deal_discount: Option<rust_decimal::Decimal>,
    /// The sell rule that made the price; null when none matched and the
    /// item sells at the vendor's list price.
    pub(crate) sell_rule: Option<SellRuleView>,
    /// Whether the sell price is above the vendor's list price.
    pub(crate) above_list: bool,
}

/// A promotion as applied.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromotionView {
    /// What the vendor calls it.
    pub(crate) name: String,
    /// Its discount, in percent.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(schema_with = percent_schema)]
    pub(crate) discount: rust_decimal::Decimal,
}

/// A sell rule as applied.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SellRuleView {
    /// `markup-on-cost` or `discount-off-list`.
    pub(crate) method: String,
    /// The markup or the discount, in percent.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(schema_with = percent_schema)]
    pub(crate) percent: rust_decimal::Decimal,
    /// The vendor it is limited to, if any.
    pub(crate) vendor_id: Option<VendorId>,
    /// The category it is limited to, if any.
    pub(crate) category: Option<String>,
}

fn percent_schema() -> utoipa::openapi::ObjectBuilder {
    onepane_domain::openapi::decimal_schema("A percentage.")
}

impl Explanation {
    fn of(q: &onepane_domain::margin::Quote) -> Self {
        let a = &q.applied;
        Self {
            tier_discount: a.tier.value(),
            volume_discount: a.volume.map(|v| v.discount.value()),
            promotion: a.promotion.as_ref().map(|p| PromotionView {
                name: p.name.to_string(),
                discount: p.discount.value(),
            }),
            deal_discount: a.deal.map(|d| d.value()),
            sell_rule: a.sell_rule.as_ref().map(|r| {
                let (method, percent) = match r.method {
                    SellMethod::MarkupOnCost(m) => ("markup-on-cost", m.value()),
                    SellMethod::DiscountOffList(d) => ("discount-off-list", d.value()),
                };
                SellRuleView {
                    method: method.to_owned(),
                    percent,
                    vendor_id: r.selector.vendor_id,
                    category: r.selector.category.as_ref().map(ToString::to_string),
                }
            }),
            above_list: q.unit.sell.amount > q.list.amount,
        }
    }
}

/// A price item with its figures from the margin engine.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PricedItem {
    /// The item.
    pub(crate) id: PriceItemId,
    /// Its vendor.
    pub(crate) vendor_id: VendorId,
    /// Its price list.
    pub(crate) price_list_id: PriceListId,
    /// The vendor's SKU.
    pub(crate) sku: String,
    /// The product's name.
    pub(crate) name: String,
    /// The product category.
    pub(crate) category: Option<String>,
    /// The list price per unit.
    pub(crate) list_price: Money,
    /// Units priced.
    pub(crate) quantity: u32,
    /// Per unit, in the item's currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) item_currency: Option<FiguresView>,
    /// Per unit, in the workspace's home currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) home_currency: Option<FiguresView>,
    /// How the figures were made: the discounts that made the cost and the
    /// sell rule that made the price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) how: Option<Explanation>,
    /// Why the item could not be priced (e.g. a missing exchange rate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pricing_error: Option<String>,
    #[serde(skip)]
    pub(crate) sort_margin: Option<rust_decimal::Decimal>,
    #[serde(skip)]
    pub(crate) sort_percent: Option<rust_decimal::Decimal>,
}

/// How a search orders the items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSort {
    /// By SKU.
    Sku,
    /// By the margin per unit in the home currency.
    Margin,
    /// By the margin as a percentage of sell.
    MarginPercent,
}

impl std::str::FromStr for PriceSort {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sku" => Ok(PriceSort::Sku),
            "margin" => Ok(PriceSort::Margin),
            "margin_percent" => Ok(PriceSort::MarginPercent),
            _ => Err("must be sku, margin or margin_percent"),
        }
    }
}

/// Which priced items a listing shows, and in what order.
#[derive(Debug, Clone, Default)]
pub struct PriceSearch {
    /// One vendor's items only.
    pub vendor: Option<VendorId>,
    /// One category only.
    pub category: Option<String>,
    /// Text the SKU or the name contains, in any case.
    pub text: Option<String>,
    /// The order, and whether it is descending.
    pub sort: Option<(PriceSort, bool)>,
}

/// The items a search matched.
#[derive(Debug)]
pub struct Found<'a> {
    /// How many matched.
    pub matched: usize,
    /// The matches, the first `wanted` of them in order.
    pub items: Vec<&'a PricedItem>,
}

impl PriceSearch {
    /// The items of `all` that match, the first `wanted` in order.
    pub fn run<'a>(&self, all: &'a [PricedItem], wanted: usize) -> Found<'a> {
        let text = self.text.as_deref().map(str::to_lowercase);
        let mut items: Vec<&PricedItem> = all
            .iter()
            .filter(|i| self.vendor.is_none_or(|v| i.vendor_id == v))
            .filter(|i| {
                self.category
                    .as_deref()
                    .is_none_or(|c| i.category.as_deref() == Some(c))
            })
            .filter(|i| {
                text.as_deref().is_none_or(|t| {
                    i.sku.to_lowercase().contains(t) || i.name.to_lowercase().contains(t)
                })
            })
            .collect();
        let matched = items.len();
        match self.sort {
            Some((PriceSort::Margin, descending)) => {
                top_by_figure(&mut items, wanted, |i| i.sort_margin, descending);
            }
            Some((PriceSort::MarginPercent, descending)) => {
                top_by_figure(&mut items, wanted, |i| i.sort_percent, descending);
            }
            // The items come sorted by SKU.
            Some((PriceSort::Sku, true)) => items.reverse(),
            Some((PriceSort::Sku, false)) | None => {}
        }
        Found { matched, items }
    }
}

/// Puts the first `wanted` items by a figure in order (items without one
/// last, ties by SKU, then id, so pages never overlap). Selecting them
/// first keeps a page of 50 out of 100,000 items linear, not a full sort.
fn top_by_figure(
    items: &mut Vec<&PricedItem>,
    wanted: usize,
    key: impl Fn(&PricedItem) -> Option<rust_decimal::Decimal>,
    descending: bool,
) {
    let order = |a: &&PricedItem, b: &&PricedItem| {
        let by_figure = match (key(a), key(b)) {
            (Some(x), Some(y)) if descending => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_figure
            .then_with(|| a.sku.cmp(&b.sku))
            .then_with(|| a.id.cmp(&b.id))
    };
    if wanted == 0 {
        items.clear();
        return;
    }
    if wanted < items.len() {
        items.select_nth_unstable_by(wanted - 1, order);
        items.truncate(wanted);
    }
    items.sort_by(order);
}

#[cfg(test)]
mod tests {
    use onepane_domain::Tier;
    use onepane_store::testing::TestDb;
    use onepane_store::testing::content::{ext, item, terms};
    use onepane_store::testing::tenants::{link, vendor, workspace};

    use super::*;

    /// Changing one vendor's list prices that list again, and reuses what
    /// was priced for the other; the result is the same as pricing all.
    #[tokio::test]
    async fn a_changed_list_is_priced_again_alone() {
        let db = TestDb::sqlite().await;
        let ws = workspace(&db.store, "Acme Oy").await;
        let (v1, v2) = (
            vendor(&db.store, "Canon").await,
            vendor(&db.store, "Dell").await,
        );
        link(&db.store, ws, v1, Tier::Gold).await;
        link(&db.store, ws, v2, Tier::Gold).await;
        let eur = terms(Currency::EUR);
        db.store
            .vendor(v1)
            .publish_price_list(&ext("a"), &eur, &[item("A-1", "10"), item("C-1", "30")])
            .await
            .unwrap();
        db.store
            .vendor(v2)
            .publish_price_list(&ext("b"), &eur, &[item("B-1", "20")])
            .await
            .unwrap();
        let cache = PricingCache::default();
        let on = chrono::Utc::now().date_naive();
        let first = priced_items(&db.store, &cache, ws, on, PriceQuery::one())
            .await
            .unwrap();
        let skus: Vec<&str> = first.iter().map(|i| i.sku.as_str()).collect();
        assert_eq!(skus, ["A-1", "B-1", "C-1"], "merged in SKU order");
        let of = |vendor| {
            let lists = cache.lists.lock().unwrap();
            let e = lists
                .iter()
                .find(|e| e.4.first().is_some_and(|i| i.vendor_id == vendor))
                .unwrap();
            Arc::clone(&e.4)
        };
        let (b_before, a_before) = (of(v2), of(v1));

        db.store
            .vendor(v1)
            .put_price_list_items(&ext("a"), &[item("A-1", "11")])
            .await
            .unwrap();
        let second = priced_items(&db.store, &cache, ws, on, PriceQuery::one())
            .await
            .unwrap();
        let skus: Vec<&str> = second.iter().map(|i| i.sku.as_str()).collect();
        assert_eq!(skus, ["A-1", "B-1"]);
        assert!(
            Arc::ptr_eq(&b_before, &of(v2)),
            "the unchanged list was reused"
        );
        assert!(
            !Arc::ptr_eq(&a_before, &of(v1)),
            "the changed list was priced again"
        );
        assert_eq!(
            second[0].list_price,
            Money::new("11".parse().unwrap(), Currency::EUR)
        );
    }
}
