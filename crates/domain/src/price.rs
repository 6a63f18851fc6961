//! Price lists as vendors publish them, and the workspace's own sell rules
//! and exchange rates: the inputs of the margin engine.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::campaign::DateWindow;
use crate::ids::{PriceItemId, PriceListId, SellRuleId, VendorId, WorkspaceId};
use crate::money::Currency;
use crate::program::Tier;
use crate::text::{Category, ExternalId, Name, Sku};

/// A percentage from 0 to 100 inclusive (a discount cannot exceed the price).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Percent(Decimal);

/// A percentage out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not a percentage between 0 and {max}")]
pub struct PercentError {
    value: Decimal,
    max: Decimal,
}

impl Percent {
    /// Zero percent.
    pub const ZERO: Percent = Percent(Decimal::ZERO);

    /// A percentage between 0 and 100.
    pub fn new(value: Decimal) -> Result<Self, PercentError> {
        if value.is_sign_negative() && !value.is_zero() || value > Decimal::ONE_HUNDRED {
            return Err(PercentError {
                value,
                max: Decimal::ONE_HUNDRED,
            });
        }
        Ok(Self(value.normalize()))
    }

    /// The value, e.g. 12.5 for 12.5 %.
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// The fraction, e.g. 0.125 for 12.5 %.
    pub fn fraction(&self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }
}

impl TryFrom<Decimal> for Percent {
    type Error = PercentError;
    fn try_from(v: Decimal) -> Result<Self, Self::Error> {
        Percent::new(v)
    }
}

impl From<Percent> for Decimal {
    fn from(p: Percent) -> Decimal {
        p.0
    }
}

/// A markup on cost, 0 % or more (1000 % at most, to catch typos).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Markup(Decimal);

impl Markup {
    /// A markup between 0 and 1000 %.
    pub fn new(value: Decimal) -> Result<Self, PercentError> {
        let max = Decimal::from(1000);
        if value.is_sign_negative() && !value.is_zero() || value > max {
            return Err(PercentError { value, max });
        }
        Ok(Self(value.normalize()))
    }

    /// The value, e.g. 25 for 25 %.
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// The fraction, e.g. 0.25 for 25 %.
    pub fn fraction(&self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }
}

impl TryFrom<Decimal> for Markup {
    type Error = PercentError;
    fn try_from(v: Decimal) -> Result<Self, Self::Error> {
        Markup::new(v)
    }
}

impl From<Markup> for Decimal {
    fn from(p: Markup) -> Decimal {
        p.0
    }
}

/// A non-negative price with more precision than the minor unit allowed
/// (unit prices such as 0.0125 EUR are common).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Price(Decimal);

/// A negative price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a valid price (it must be zero or more)")]
pub struct PriceError(Decimal);

impl Price {
    /// A price of zero or more.
    pub fn new(value: Decimal) -> Result<Self, PriceError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(PriceError(value));
        }
        Ok(Self(value.normalize()))
    }

    /// The amount.
    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Price {
    type Error = PriceError;
    fn try_from(v: Decimal) -> Result<Self, Self::Error> {
        Price::new(v)
    }
}

impl From<Price> for Decimal {
    fn from(p: Price) -> Decimal {
        p.0
    }
}

/// The discount a vendor gives partners of one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TierDiscount {
    /// The tier.
    pub tier: Tier,
    /// Its discount off list.
    pub discount: Percent,
}

/// A discount for buying at least `min_quantity` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VolumeBreak {
    /// The smallest quantity the break applies to.
    pub min_quantity: u32,
    /// Its discount.
    pub discount: Percent,
}

/// A time-bound discount, for a whole price list or narrowed to a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    /// What the vendor calls it.
    pub name: Name,
    /// When it applies (inclusive days).
    pub window: DateWindow,
    /// Its discount.
    pub discount: Percent,
    /// When set, only items of this category get it.
    #[serde(default)]
    pub category: Option<Category>,
}

/// A price list's terms, as a vendor publishes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PriceListTerms {
    /// The list's name.
    pub name: Name,
    /// The currency of its prices.
    pub currency: Currency,
    /// When the list is valid.
    #[serde(default)]
    pub validity: DateWindow,
    /// Discounts by tier.
    #[serde(default)]
    pub tier_discounts: Vec<TierDiscount>,
    /// List-wide promotions.
    #[serde(default)]
    pub promotions: Vec<Promotion>,
}

impl PriceListTerms {
    /// The discount for a tier (zero when the list does not name it).
    pub fn tier_discount(&self, tier: Tier) -> Percent {
        self.tier_discounts
            .iter()
            .find(|d| d.tier == tier)
            .map_or(Percent::ZERO, |d| d.discount)
    }
}

/// A vendor's price list in one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceList {
    /// Its id.
    pub id: PriceListId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor or distributor.
    pub vendor_id: VendorId,
    /// The vendor's id for it.
    pub external_id: ExternalId,
    /// Its terms.
    pub terms: PriceListTerms,
    /// When it arrived.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One item as a vendor publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PriceItemInput {
    /// The SKU, unique within the list.
    pub sku: Sku,
    /// The product's name.
    pub name: Name,
    /// The product category.
    #[serde(default)]
    pub category: Option<Category>,
    /// The list price per unit, in the list's currency.
    pub list_price: Price,
    /// Volume breaks.
    #[serde(default)]
    pub volume_breaks: Vec<VolumeBreak>,
    /// Promotions on this item only.
    #[serde(default)]
    pub promotions: Vec<Promotion>,
}

/// One item of a price list in one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceItem {
    /// Its id.
    pub id: PriceItemId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor.
    pub vendor_id: VendorId,
    /// The list it belongs to.
    pub price_list_id: PriceListId,
    /// The list's currency, repeated for queries across lists.
    pub currency: Currency,
    /// What the vendor published.
    pub item: PriceItemInput,
}

/// How the partner prices what it sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "method",
    content = "percent",
    rename_all = "kebab-case",
    deny_unknown_fields
)]
pub enum SellMethod {
    /// Sell at cost plus a markup on cost.
    MarkupOnCost(Markup),
    /// Sell at list price minus a discount.
    DiscountOffList(Percent),
}

/// A sell rule; the most specific matching rule wins: vendor and category,
/// then vendor, then category, then the workspace default (neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellRule {
    /// Its id.
    pub id: SellRuleId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The scope of the rule.
    pub selector: SellRuleSelector,
    /// The pricing method.
    pub method: SellMethod,
}

/// Which items a sell rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellRuleSelector {
    /// Only this vendor's items.
    #[serde(default)]
    pub vendor_id: Option<VendorId>,
    /// Only items of this category.
    #[serde(default)]
    pub category: Option<Category>,
}

impl SellRuleSelector {
    /// How specific the selector is: 3 vendor and category, 2 vendor, 1 category, 0 default.
    pub fn specificity(&self) -> u8 {
        match (&self.vendor_id, &self.category) {
            (Some(_), Some(_)) => 3,
            (Some(_), None) => 2,
            (None, Some(_)) => 1,
            (None, None) => 0,
        }
    }

    /// Whether the selector covers an item of `vendor_id` in `category`.
    pub fn matches(&self, vendor_id: VendorId, category: Option<&Category>) -> bool {
        self.vendor_id.is_none_or(|v| v == vendor_id)
            && self.category.as_ref().is_none_or(|c| Some(c) == category)
    }
}

/// The price of one unit of `base` in `quote` (1 base = rate quote) on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExchangeRate {
    // Built only through `new`, so a stored rate is always usable.
    pub(crate) base: Currency,
    pub(crate) quote: Currency,
    pub(crate) rate: Decimal,
    pub(crate) as_of: NaiveDate,
}

/// A non-positive exchange rate, or a rate from a currency to itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeRateError {
    /// The rate is zero or negative.
    #[error("an exchange rate must be positive (got {0})")]
    NotPositive(Decimal),
    /// Both sides are the same currency.
    #[error("an exchange rate needs two different currencies (got {0} twice)")]
    SameCurrency(Currency),
}

impl ExchangeRate {
    /// A rate, checked.
    pub fn new(
        base: Currency,
        quote: Currency,
        rate: Decimal,
        as_of: NaiveDate,
    ) -> Result<Self, ExchangeRateError> {
        if rate <= Decimal::ZERO {
            return Err(ExchangeRateError::NotPositive(rate));
        }
        if base == quote {
            return Err(ExchangeRateError::SameCurrency(base));
        }
        Ok(Self {
            base,
            quote,
            rate: rate.normalize(),
            as_of,
        })
    }

    /// The currency converted from.
    pub fn base(&self) -> Currency {
        self.base
    }

    /// The currency converted to.
    pub fn quote(&self) -> Currency {
        self.quote
    }

    /// How many `quote` one `base` buys; positive.
    pub fn rate(&self) -> Decimal {
        self.rate
    }

    /// The day the rate is for.
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }
}
