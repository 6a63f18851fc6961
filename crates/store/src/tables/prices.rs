//! Price lists and their items (vendors'), and a workspace's own sell rules
//! and exchange rates.

use chrono::{DateTime, NaiveDate, Utc};
use onepane_domain::price::*;
use onepane_domain::text::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::codec::DbDecimal;
use crate::rows::*;

pub(crate) const PRICE_LIST_COLUMNS: &str =
    "workspace_id, id, vendor_id, external_id, terms, created_at, updated_at";

pub(crate) const PRICE_ITEM_COLUMNS: &str =
    "workspace_id, id, vendor_id, price_list_id, currency, item";

table_row! {
    PriceListRow => PriceList {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => PriceListId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        external_id: String => parse("price list", &external_id)?,
        terms: Json<PriceListTerms> => terms.0,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

table_row! {
    PriceItemRow => PriceItem {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => PriceItemId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        price_list_id: Uuid => PriceListId::from_uuid(price_list_id),
        currency: String => parse("price item", &currency)?,
        item: Json<PriceItemInput> => item.0,
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SellRuleRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Option<Uuid>,
    category: Option<String>,
    method: String,
    percent: DbDecimal,
}

/// The `method` and `percent` columns for a sell method.
pub(crate) fn sell_method_columns(m: &SellMethod) -> (&'static str, DbDecimal) {
    match m {
        SellMethod::MarkupOnCost(p) => ("markup-on-cost", DbDecimal(p.value())),
        SellMethod::DiscountOffList(p) => ("discount-off-list", DbDecimal(p.value())),
    }
}

impl TryFrom<SellRuleRow> for SellRule {
    type Error = StoreError;
    fn try_from(r: SellRuleRow) -> Result<Self, StoreError> {
        let bad = |e: PercentError| StoreError::corrupt("sell rule", e);
        let method = match r.method.as_str() {
            "markup-on-cost" => SellMethod::MarkupOnCost(Markup::new(r.percent.0).map_err(bad)?),
            "discount-off-list" => {
                SellMethod::DiscountOffList(Percent::new(r.percent.0).map_err(bad)?)
            }
            other => return Err(StoreError::corrupt("sell rule", format!("method {other}"))),
        };
        Ok(SellRule {
            id: SellRuleId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            selector: SellRuleSelector {
                vendor_id: r.vendor_id.map(VendorId::from_uuid),
                category: parse_opt::<Category>("sell rule", r.category.as_deref())?,
            },
            method,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RateRow {
    base: String,
    quote: String,
    as_of: NaiveDate,
    rate: DbDecimal,
}

impl TryFrom<RateRow> for ExchangeRate {
    type Error = StoreError;
    fn try_from(r: RateRow) -> Result<Self, StoreError> {
        ExchangeRate::new(
            parse("exchange rate", &r.base)?,
            parse("exchange rate", &r.quote)?,
            r.rate.0,
            r.as_of,
        )
        .map_err(|e| StoreError::corrupt("exchange rate", e))
    }
}

/// Price items per insert statement: 10 parameters each stays well under
/// SQLite's 32,766 and PostgreSQL's 65,535 bind parameters.
pub(crate) const PRICE_ITEM_CHUNK: usize = 1_000;

/// Names the SKU that a unique violation in `chunk` collided on.
pub(crate) fn duplicate_sku(chunk: &[PriceItemInput], all: &[PriceItemInput]) -> String {
    let mut seen = std::collections::HashSet::new();
    let dup = all
        .iter()
        .find(|i| !seen.insert(i.sku.as_str()))
        .or_else(|| chunk.first())
        .map_or_else(String::new, |i| i.sku.to_string());
    format!("SKU {dup} appears twice in the price list")
}
