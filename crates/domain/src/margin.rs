//! The margin engine: what a partner pays for an item (cost), what it sells
//! it for (sell), and what it keeps (margin), in the item's currency and in the
//! workspace's home currency.
//!
//! # Cost: discounts compound
//!
//! The partner's cost for one unit is the vendor's list price with up to four
//! discounts applied one after the other, each to what the previous left:
//!
//! ```text
//! cost = list × (1 − tier) × (1 − volume) × (1 − promotion) × (1 − deal)
//! ```
//!
//! - **tier**: the list's discount for the partner's tier with the vendor
//!   (zero when the list does not name the tier);
//! - **volume**: the volume break with the highest `min_quantity` not above the
//!   quantity (of several breaks at that threshold, the biggest discount);
//! - **promotion**: of the promotions active on the pricing day (list-wide ones
//!   and the item's own, each limited to its category when it names one), the
//!   biggest; promotions do not stack;
//! - **deal**: the extra discount of a registered deal, if any.
//!
//! So 20 % and 10 % give 28 % off, not 30 %, and no combination of discounts
//! (each at most 100 %) takes the cost below zero or above list.
//!
//! # Sell: the most specific rule
//!
//! The workspace's sell rules price the item: the matching rule with the
//! highest [`specificity`](crate::price::SellRuleSelector::specificity) wins (the first one listed when
//! two tie, which a well-formed rule set never has), and sells either at
//! `cost × (1 + markup)` or at `list × (1 − discount)`. With no matching
//! rule the item sells at list price.
//!
//! # Rounding
//!
//! Figures are exact decimals (28 significant digits) until they are shown,
//! and each shown figure is rounded once, half away from zero, to its
//! currency's minor unit ([`Currency::round`]):
//!
//! - unit cost and unit sell are rounded from their exact values (a markup
//!   applies to the exact cost, so `cost × (1 + markup)` is not rounded twice);
//! - totals for a quantity are rounded from the exact unit figure × quantity,
//!   so sub-cent unit prices (0.0125 EUR) add up without drift; a total can
//!   thus differ from the shown unit figure × quantity by a few minor units;
//! - margin is never rounded: it is the shown sell minus the shown cost, so
//!   `margin = sell − cost` holds exactly in every set of shown figures;
//! - home-currency figures convert the *shown* item-currency cost and sell,
//!   round each to the home currency's minor unit, and again take margin as
//!   their difference;
//! - margin % is `margin ÷ sell × 100` of the shown figures, unrounded (it is a
//!   ratio, not money), and absent when sell is zero.
//!
//! # Exchange rates
//!
//! A figure converts with the newest rate dated on or before the pricing day
//! for the pair, read either way: a rate `base = from, quote = to` multiplies,
//! a rate `base = to, quote = from` divides. When both directions have a rate
//! on the same newest day, the direct one wins. A missing rate is an error
//! naming the pair, never a silent 1:1.

use std::num::NonZeroU32;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ids::VendorId;
use crate::money::{Currency, Money};
use crate::price::{
    ExchangeRate, Percent, PriceItem, PriceItemInput, PriceListTerms, Promotion, SellMethod,
    SellRule, VolumeBreak,
};
use crate::program::Tier;
use crate::text::Category;

/// Why a quote or conversion could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarginError {
    /// No rate for the pair, in either direction, on or before the day.
    #[error(
        "no exchange rate between {from} and {to} dated on or before {on} \
         (add a {from}/{to} or {to}/{from} rate)"
    )]
    MissingRate {
        /// The currency converted from.
        from: Currency,
        /// The currency converted to.
        to: Currency,
        /// The pricing day.
        on: NaiveDate,
    },
    /// The rate that applies is zero or negative (built without `ExchangeRate::new`).
    #[error("the {base}/{quote} exchange rate of {as_of} is {rate}, but rates must be positive")]
    InvalidRate {
        /// Its base currency.
        base: Currency,
        /// Its quote currency.
        quote: Currency,
        /// The rate.
        rate: Decimal,
        /// Its day.
        as_of: NaiveDate,
    },
    /// A price item whose currency is not its price list's.
    #[error("the item is priced in {item} but its price list is in {list}")]
    CurrencyMismatch {
        /// The item's currency.
        item: Currency,
        /// The list's currency.
        list: Currency,
    },
    /// An amount too large for exact decimal arithmetic.
    #[error(
        "the amounts are too large to compute exactly (a price, quantity or rate is out of range)"
    )]
    Overflow,
}

/// Who is pricing, and when: one workspace's view of one vendor.
#[derive(Debug, Clone, Copy)]
pub struct PricingContext<'a> {
    /// The workspace's tier with the item's vendor.
    pub tier: Tier,
    /// The workspace's home currency.
    pub home_currency: Currency,
    /// The workspace's sell rules.
    pub sell_rules: &'a [SellRule],
    /// The workspace's exchange-rate table.
    pub rates: &'a [ExchangeRate],
    /// The pricing day (promotions and rates are read as of this day).
    pub on: NaiveDate,
}

/// What is being priced beyond the item: how many, and any deal discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceQuery {
    /// The number of units (at least one by construction).
    pub quantity: NonZeroU32,
    /// The extra discount of a registered deal (see `DealRegistration::active_extra_discount`).
    pub deal_discount: Option<Percent>,
}

impl PriceQuery {
    /// A single unit with no deal discount.
    pub const fn one() -> Self {
        Self {
            quantity: NonZeroU32::MIN,
            deal_discount: None,
        }
    }
}

/// Cost, sell and margin in one currency, rounded to its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// What the partner pays.
    pub cost: Money,
    /// What the partner charges.
    pub sell: Money,
    /// Sell minus cost, exactly (negative when selling below cost).
    pub margin: Money,
    /// Margin as a percentage of sell, unrounded; absent when sell is zero.
    pub margin_percent: Option<Decimal>,
}

impl Figures {
    /// Figures from a shown cost and sell, with margin derived so that it adds up.
    fn from_shown(cost: Decimal, sell: Decimal, currency: Currency) -> Result<Self, MarginError> {
        let margin = sell.checked_sub(cost).ok_or(MarginError::Overflow)?;
        let margin_percent = if sell.is_zero() {
            None
        } else {
            Some(
                margin
                    .checked_div(sell)
                    .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
                    .ok_or(MarginError::Overflow)?,
            )
        };
        Ok(Self {
            cost: Money::new(cost, currency),
            sell: Money::new(sell, currency),
            margin: Money::new(margin, currency),
            margin_percent,
        })
    }
}

/// The exchange rate a conversion used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateUsed {
    /// The rate as stored.
    pub rate: ExchangeRate,
    /// Whether it was read backwards (stored as `to/from`, so amounts were divided).
    pub inverse: bool,
}

/// Which discounts and which sell rule went into a quote, to explain it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The tier discount (zero when the list does not name the tier).
    pub tier: Percent,
    /// The volume break applied, if any.
    pub volume: Option<VolumeBreak>,
    /// The promotion applied, if any.
    pub promotion: Option<Promotion>,
    /// The deal discount applied, if any.
    pub deal: Option<Percent>,
    /// The sell rule applied; `None` means the item sells at list price.
    pub sell_rule: Option<SellRule>,
    /// The exchange rate to the home currency; `None` when no conversion was needed.
    pub rate: Option<RateUsed>,
}

/// A priced item: list, cost, sell and margin per unit and for the quantity,
/// in the item's currency and the workspace's home currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    /// The list price per unit, exactly as published (not rounded).
    pub list: Money,
    /// The number of units.
    pub quantity: u32,
    /// Per-unit figures in the item's currency.
    pub unit: Figures,
    /// Figures for the whole quantity in the item's currency.
    pub total: Figures,
    /// Per-unit figures in the home currency.
    pub home_unit: Figures,
    /// Figures for the whole quantity in the home currency.
    pub home_total: Figures,
    /// What was applied, to explain the figures.
    pub applied: Applied,
}

/// Prices an item of a list from `vendor_id` for a workspace.
pub fn quote(
    terms: &PriceListTerms,
    item: &PriceItemInput,
    vendor_id: VendorId,
    ctx: &PricingContext<'_>,
    q: &PriceQuery,
) -> Result<Quote, MarginError> {
    let currency = terms.currency;
    let list = item.list_price.value();
    let category = item.category.as_ref();
    let quantity = q.quantity.get();

    let tier = terms.tier_discount(ctx.tier);
    let volume = best_volume_break(&item.volume_breaks, quantity);
    let promotion = best_promotion(
        terms.promotions.iter().chain(&item.promotions),
        category,
        ctx.on,
    );
    let discounts = [
        Some(tier),
        volume.map(|v| v.discount),
        promotion.map(|p| p.discount),
        q.deal_discount,
    ];
    let exact_cost = discounts
        .into_iter()
        .flatten()
        .try_fold(list, apply_discount)?;

    let sell_rule = best_sell_rule(ctx.sell_rules, vendor_id, category);
    let exact_sell = match sell_rule.map(|r| r.method) {
        None => list,
        Some(SellMethod::MarkupOnCost(markup)) => exact_cost
            .checked_mul(Decimal::ONE + markup.fraction())
            .ok_or(MarginError::Overflow)?,
        Some(SellMethod::DiscountOffList(discount)) => apply_discount(list, discount)?,
    };

    let units = Decimal::from(quantity);
    let times = |d: Decimal| d.checked_mul(units).ok_or(MarginError::Overflow);
    let unit = Figures::from_shown(
        currency.round(exact_cost),
        currency.round(exact_sell),
        currency,
    )?;
    let total = Figures::from_shown(
        currency.round(times(exact_cost)?),
        currency.round(times(exact_sell)?),
        currency,
    )?;

    let home = ctx.home_currency;
    let rate = find_rate(currency, home, ctx.rates, ctx.on)?;
    let to_home = |f: &Figures| -> Result<Figures, MarginError> {
        Figures::from_shown(
            home.round(apply_rate(f.cost.amount, rate)?),
            home.round(apply_rate(f.sell.amount, rate)?),
            home,
        )
    };
    let home_unit = to_home(&unit)?;
    let home_total = to_home(&total)?;

    Ok(Quote {
        list: Money::new(list, currency),
        quantity,
        unit,
        total,
        home_unit,
        home_total,
        applied: Applied {
            tier,
            volume,
            promotion: promotion.cloned(),
            deal: q.deal_discount,
            sell_rule: sell_rule.cloned(),
            rate,
        },
    })
}

/// Prices a stored price item, checking it is in its list's currency.
pub fn quote_item(
    terms: &PriceListTerms,
    item: &PriceItem,
    ctx: &PricingContext<'_>,
    q: &PriceQuery,
) -> Result<Quote, MarginError> {
    if item.currency != terms.currency {
        return Err(MarginError::CurrencyMismatch {
            item: item.currency,
            list: terms.currency,
        });
    }
    quote(terms, &item.item, item.vendor_id, ctx, q)
}

/// Converts an amount between currencies on a day, unrounded.
pub fn convert(
    amount: Decimal,
    from: Currency,
    to: Currency,
    rates: &[ExchangeRate],
    on: NaiveDate,
) -> Result<Decimal, MarginError> {
    apply_rate(amount, find_rate(from, to, rates, on)?)
}

/// The rate to convert `from` into `to` on a day: `None` for the same currency.
pub fn find_rate(
    from: Currency,
    to: Currency,
    rates: &[ExchangeRate],
    on: NaiveDate,
) -> Result<Option<RateUsed>, MarginError> {
    if from == to {
        return Ok(None);
    }
    let mut best: Option<RateUsed> = None;
    for rate in rates.iter().filter(|r| r.as_of <= on) {
        let inverse = if rate.base == from && rate.quote == to {
            false
        } else if rate.base == to && rate.quote == from {
            true
        } else {
            continue;
        };
        // Newest day first, then the direct reading (no division); strictly
        // better only, so among exact duplicates the first listed stays.
        let better = best.is_none_or(|b| (rate.as_of, !inverse) > (b.rate.as_of, !b.inverse));
        if better {
            best = Some(RateUsed {
                rate: *rate,
                inverse,
            });
        }
    }
    let used = best.ok_or(MarginError::MissingRate { from, to, on })?;
    // The fields are public, so a rate may not have gone through `ExchangeRate::new`.
    if used.rate.rate <= Decimal::ZERO {
        return Err(MarginError::InvalidRate {
            base: used.rate.base,
            quote: used.rate.quote,
            rate: used.rate.rate,
            as_of: used.rate.as_of,
        });
    }
    Ok(Some(used))
}

/// Applies a rate found by [`find_rate`] (none: the same currency).
fn apply_rate(amount: Decimal, rate: Option<RateUsed>) -> Result<Decimal, MarginError> {
    match rate {
        None => Some(amount),
        // Dividing by the stored rate rather than multiplying by a rounded
        // inverse keeps the result exact to 28 digits.
        Some(RateUsed {
            rate,
            inverse: true,
        }) => amount.checked_div(rate.rate),
        Some(RateUsed {
            rate,
            inverse: false,
        }) => amount.checked_mul(rate.rate),
    }
    .ok_or(MarginError::Overflow)
}

/// `amount × (1 − discount)`.
fn apply_discount(amount: Decimal, discount: Percent) -> Result<Decimal, MarginError> {
    amount
        .checked_mul(Decimal::ONE - discount.fraction())
        .ok_or(MarginError::Overflow)
}

/// The break with the highest threshold reached; of equal thresholds, the biggest discount.
fn best_volume_break(breaks: &[VolumeBreak], quantity: u32) -> Option<VolumeBreak> {
    breaks
        .iter()
        .filter(|b| b.min_quantity <= quantity)
        .max_by_key(|b| (b.min_quantity, b.discount))
        .copied()
}

/// The biggest promotion active on `on` that covers `category`.
fn best_promotion<'p>(
    promotions: impl Iterator<Item = &'p Promotion>,
    category: Option<&Category>,
    on: NaiveDate,
) -> Option<&'p Promotion> {
    // Keeps the first of equal discounts, so the promotion reported is stable.
    promotions
        .filter(|p| p.window.contains(on))
        .filter(|p| p.category.is_none() || p.category.as_ref() == category)
        .fold(None, |best: Option<&Promotion>, p| {
            if best.is_none_or(|b| p.discount > b.discount) {
                Some(p)
            } else {
                best
            }
        })
}

/// The most specific matching sell rule; the first listed among equals.
fn best_sell_rule<'r>(
    rules: &'r [SellRule],
    vendor_id: VendorId,
    category: Option<&Category>,
) -> Option<&'r SellRule> {
    let mut best: Option<&SellRule> = None;
    for rule in rules
        .iter()
        .filter(|r| r.selector.matches(vendor_id, category))
    {
        if best.is_none_or(|b| rule.selector.specificity() > b.selector.specificity()) {
            best = Some(rule);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::DateWindow;
    use crate::ids::{SellRuleId, WorkspaceId};
    use crate::price::{Markup, Price, SellRuleSelector, TierDiscount};
    use crate::text::{Name, Sku};
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cur(code: &str) -> Currency {
        code.parse().unwrap()
    }

    fn pct(value: Decimal) -> Percent {
        Percent::new(value).unwrap()
    }

    fn money(amount: Decimal, code: &str) -> Money {
        Money::new(amount, cur(code))
    }

    fn terms(code: &str, tiers: &[(Tier, Decimal)], promotions: Vec<Promotion>) -> PriceListTerms {
        PriceListTerms {
            name: Name::parse("Spring list").unwrap(),
            currency: cur(code),
            validity: DateWindow::always(),
            tier_discounts: tiers
                .iter()
                .map(|&(tier, d)| TierDiscount {
                    tier,
                    discount: pct(d),
                })
                .collect(),
            promotions,
        }
    }

    fn item(list: Decimal, category: Option<&str>) -> PriceItemInput {
        PriceItemInput {
            sku: Sku::parse("MX-4051").unwrap(),
            name: Name::parse("Colour printer").unwrap(),
            category: category.map(|c| Category::parse(c).unwrap()),
            list_price: Price::new(list).unwrap(),
            volume_breaks: Vec::new(),
            promotions: Vec::new(),
        }
    }

    fn volume(min_quantity: u32, discount: Decimal) -> VolumeBreak {
        VolumeBreak {
            min_quantity,
            discount: pct(discount),
        }
    }

    fn promo(
        name: &str,
        discount: Decimal,
        window: DateWindow,
        category: Option<&str>,
    ) -> Promotion {
        Promotion {
            name: Name::parse(name).unwrap(),
            window,
            discount: pct(discount),
            category: category.map(|c| Category::parse(c).unwrap()),
        }
    }

    fn window(from: NaiveDate, to: NaiveDate) -> DateWindow {
        DateWindow::new(Some(from), Some(to)).unwrap()
    }

    fn rule(vendor_id: Option<VendorId>, category: Option<&str>, method: SellMethod) -> SellRule {
        SellRule {
            id: SellRuleId::new(),
            workspace_id: WorkspaceId::new(),
            selector: SellRuleSelector {
                vendor_id,
                category: category.map(|c| Category::parse(c).unwrap()),
            },
            method,
        }
    }

    fn markup(value: Decimal) -> SellMethod {
        SellMethod::MarkupOnCost(Markup::new(value).unwrap())
    }

    fn off_list(value: Decimal) -> SellMethod {
        SellMethod::DiscountOffList(pct(value))
    }

    fn rate(base: &str, quote: &str, value: Decimal, as_of: NaiveDate) -> ExchangeRate {
        ExchangeRate::new(cur(base), cur(quote), value, as_of).unwrap()
    }

    fn ctx<'a>(
        tier: Tier,
        home: &str,
        sell_rules: &'a [SellRule],
        rates: &'a [ExchangeRate],
        on: NaiveDate,
    ) -> PricingContext<'a> {
        PricingContext {
            tier,
            home_currency: cur(home),
            sell_rules,
            rates,
            on,
        }
    }

    fn units(n: u32) -> PriceQuery {
        PriceQuery {
            quantity: NonZeroU32::new(n).unwrap(),
            deal_discount: None,
        }
    }

    /// The percentage to 6 places, enough to check it without depending on the 28th digit.
    fn percent6(f: &Figures) -> Option<Decimal> {
        f.margin_percent.map(|p| p.round_dp(6))
    }

    #[test]
    fn worked_example_compounds_all_four_discounts() {
        // List 1000.00 EUR; Gold 20 %; volume 5 % at 10+ (10 units); promotion
        // 10 % active on 15 March; deal 3 %:
        //   cost = 1000 × 0.80 × 0.95 × 0.90 × 0.97
        //        = 800 × 0.95 = 760; × 0.90 = 684; × 0.97 = 663.48
        // Markup 25 %: sell = 663.48 × 1.25 = 829.35
        // Margin = 829.35 − 663.48 = 165.87; margin % = 165.87 ÷ 829.35 = 20 %.
        // For 10 units: cost 6634.80, sell 8293.50, margin 1658.70.
        let on = day(2025, 3, 15);
        let spring = promo(
            "Spring",
            dec!(10),
            window(day(2025, 3, 1), day(2025, 3, 31)),
            None,
        );
        let winter = promo(
            "Winter",
            dec!(15),
            window(day(2025, 1, 1), day(2025, 1, 31)),
            None,
        );
        let terms = terms(
            "EUR",
            &[(Tier::Silver, dec!(10)), (Tier::Gold, dec!(20))],
            vec![winter, spring.clone()],
        );
        let mut printer = item(dec!(1000.00), Some("printers"));
        printer.volume_breaks = vec![volume(5, dec!(3)), volume(10, dec!(5)), volume(20, dec!(8))];
        let rules = [rule(None, None, markup(dec!(25)))];
        let ctx = ctx(Tier::Gold, "EUR", &rules, &[], on);
        let q = PriceQuery {
            quantity: NonZeroU32::new(10).unwrap(),
            deal_discount: Some(pct(dec!(3))),
        };

        let quote = quote(&terms, &printer, VendorId::new(), &ctx, &q).unwrap();

        assert_eq!(quote.list, money(dec!(1000), "EUR"));
        assert_eq!(quote.quantity, 10);
        assert_eq!(quote.unit.cost, money(dec!(663.48), "EUR"));
        assert_eq!(quote.unit.sell, money(dec!(829.35), "EUR"));
        assert_eq!(quote.unit.margin, money(dec!(165.87), "EUR"));
        assert_eq!(percent6(&quote.unit), Some(dec!(20)));
        assert_eq!(quote.total.cost, money(dec!(6634.80), "EUR"));
        assert_eq!(quote.total.sell, money(dec!(8293.50), "EUR"));
        assert_eq!(quote.total.margin, money(dec!(1658.70), "EUR"));
        // Same currency: the home figures are the same and no rate is used.
        assert_eq!(quote.home_unit, quote.unit);
        assert_eq!(quote.home_total, quote.total);
        assert_eq!(quote.applied.tier, pct(dec!(20)));
        assert_eq!(quote.applied.volume, Some(volume(10, dec!(5))));
        assert_eq!(quote.applied.promotion, Some(spring));
        assert_eq!(quote.applied.deal, Some(pct(dec!(3))));
        assert_eq!(quote.applied.sell_rule.as_ref(), Some(&rules[0]));
        assert_eq!(quote.applied.rate, None);
    }

    #[test]
    fn each_figure_is_rounded_once_from_its_exact_value() {
        // List 99.99 EUR; Silver 12.5 %; the item's own promotion 7 %:
        //   exact cost = 99.99 × 0.875 × 0.93 = 87.49125 × 0.93 = 81.3668625 → 81.37
        // Markup 30 % on the exact cost:
        //   exact sell = 81.3668625 × 1.3 = 105.77692125 → 105.78
        // Margin = 105.78 − 81.37 = 24.41; margin % = 24.41 ÷ 105.78 = 23.076196 %.
        // 3 units: cost 3 × 81.3668625 = 244.1005875 → 244.10 (not 3 × 81.37 = 244.11),
        //          sell 3 × 105.77692125 = 317.33076375 → 317.33; margin 73.23.
        let terms = terms("EUR", &[(Tier::Silver, dec!(12.5))], Vec::new());
        let mut toner = item(dec!(99.99), Some("toner"));
        toner.promotions = vec![promo("Toner week", dec!(7), DateWindow::always(), None)];
        let rules = [rule(None, None, markup(dec!(30)))];
        let ctx = ctx(Tier::Silver, "EUR", &rules, &[], day(2025, 6, 1));

        let quote = quote(&terms, &toner, VendorId::new(), &ctx, &units(3)).unwrap();

        assert_eq!(quote.unit.cost, money(dec!(81.37), "EUR"));
        assert_eq!(quote.unit.sell, money(dec!(105.78), "EUR"));
        assert_eq!(quote.unit.margin, money(dec!(24.41), "EUR"));
        assert_eq!(percent6(&quote.unit), Some(dec!(23.076196)));
        assert_eq!(quote.total.cost, money(dec!(244.10), "EUR"));
        assert_eq!(quote.total.sell, money(dec!(317.33), "EUR"));
        assert_eq!(quote.total.margin, money(dec!(73.23), "EUR"));
    }

    #[test]
    fn yen_rounds_to_whole_units() {
        // List ¥12,345; Platinum 33 %; volume 2 % at 5+ (5 units):
        //   exact cost = 12345 × 0.67 × 0.98 = 8271.15 × 0.98 = 8105.727 → ¥8,106
        // Sell at 10 % off list: 12345 × 0.9 = 11110.5 → ¥11,111 (half away from zero)
        // Margin = 11111 − 8106 = ¥3,005; margin % = 3005 ÷ 11111 = 27.045270 %.
        // 5 units: cost 40528.635 → ¥40,529; sell 55552.5 → ¥55,553; margin ¥15,024.
        let terms = terms("JPY", &[(Tier::Platinum, dec!(33))], Vec::new());
        let mut printer = item(dec!(12345), None);
        printer.volume_breaks = vec![volume(5, dec!(2))];
        let rules = [rule(None, None, off_list(dec!(10)))];
        let ctx = ctx(Tier::Platinum, "JPY", &rules, &[], day(2025, 6, 1));

        let quote = quote(&terms, &printer, VendorId::new(), &ctx, &units(5)).unwrap();

        assert_eq!(quote.unit.cost, money(dec!(8106), "JPY"));
        assert_eq!(quote.unit.sell, money(dec!(11111), "JPY"));
        assert_eq!(quote.unit.margin, money(dec!(3005), "JPY"));
        assert_eq!(percent6(&quote.unit), Some(dec!(27.045270)));
        assert_eq!(quote.total.cost, money(dec!(40529), "JPY"));
        assert_eq!(quote.total.sell, money(dec!(55553), "JPY"));
        assert_eq!(quote.total.margin, money(dec!(15024), "JPY"));
    }

    #[test]
    fn kuwaiti_dinar_rounds_to_three_places() {
        // List 49.995 KWD; Gold 15 %:
        //   exact cost = 49.995 × 0.85 = 42.49575 → 42.496
        // Markup 12.5 %: exact sell = 42.49575 × 1.125 = 47.80771875 → 47.808
        // Margin = 47.808 − 42.496 = 5.312; margin % = 5.312 ÷ 47.808 = 1/9 = 11.111111 %.
        let terms = terms("KWD", &[(Tier::Gold, dec!(15))], Vec::new());
        let rules = [rule(None, None, markup(dec!(12.5)))];
        let ctx = ctx(Tier::Gold, "KWD", &rules, &[], day(2025, 6, 1));

        let quote = quote(
            &terms,
            &item(dec!(49.995), None),
            VendorId::new(),
            &ctx,
            &PriceQuery::one(),
        )
        .unwrap();

        assert_eq!(quote.unit.cost, money(dec!(42.496), "KWD"));
        assert_eq!(quote.unit.sell, money(dec!(47.808), "KWD"));
        assert_eq!(quote.unit.margin, money(dec!(5.312), "KWD"));
        assert_eq!(percent6(&quote.unit), Some(dec!(11.111111)));
    }

    #[test]
    fn euro_items_convert_to_yen_at_the_newest_rate_not_after_the_day() {
        // Cost 1000.00 EUR (no discounts), markup 25 % → sell 1250.00 EUR.
        // Rates EUR/JPY: 160.10 on 1 Feb, 162.35 on 1 Mar, 170 on 1 Apr; priced
        // on 15 March → 162.35:
        //   cost 1000.00 × 162.35 = 162350 JPY
        //   sell 1250.00 × 162.35 = 202937.5 → 202938 JPY
        //   margin 202938 − 162350 = 40588 JPY (not 250 × 162.35 = 40587.5)
        // 2 units: 2000.00 → 324700, 2500.00 → 405875, margin 81175.
        let rates = [
            rate("EUR", "JPY", dec!(160.10), day(2025, 2, 1)),
            rate("EUR", "JPY", dec!(170), day(2025, 4, 1)),
            rate("EUR", "JPY", dec!(162.35), day(2025, 3, 1)),
            rate("USD", "JPY", dec!(150), day(2025, 3, 10)),
        ];
        let rules = [rule(None, None, markup(dec!(25)))];
        let ctx = ctx(Tier::Gold, "JPY", &rules, &rates, day(2025, 3, 15));
        let terms = terms("EUR", &[], Vec::new());

        let quote = quote(
            &terms,
            &item(dec!(1000.00), None),
            VendorId::new(),
            &ctx,
            &units(2),
        )
        .unwrap();

        assert_eq!(quote.unit.cost, money(dec!(1000.00), "EUR"));
        assert_eq!(quote.unit.sell, money(dec!(1250.00), "EUR"));
        assert_eq!(quote.home_unit.cost, money(dec!(162350), "JPY"));
        assert_eq!(quote.home_unit.sell, money(dec!(202938), "JPY"));
        assert_eq!(quote.home_unit.margin, money(dec!(40588), "JPY"));
        assert_eq!(quote.home_total.cost, money(dec!(324700), "JPY"));
        assert_eq!(quote.home_total.sell, money(dec!(405875), "JPY"));
        assert_eq!(quote.home_total.margin, money(dec!(81175), "JPY"));
        assert_eq!(
            quote.applied.rate,
            Some(RateUsed {
                rate: rates[2],
                inverse: false
            })
        );
    }

    #[test]
    fn dollar_items_convert_to_euros_through_the_inverse_pair() {
        // List 125.00 USD, Registered 20 % → cost 100.00 USD; no sell rule → sell 125.00 USD.
        // Only EUR/USD 1.08 is known, so USD → EUR divides by 1.08:
        //   cost 100.00 ÷ 1.08 = 92.5925… → 92.59 EUR
        //   sell 125.00 ÷ 1.08 = 115.7407… → 115.74 EUR
        //   margin 115.74 − 92.59 = 23.15 EUR
        let rates = [rate("EUR", "USD", dec!(1.08), day(2025, 3, 1))];
        let ctx = ctx(Tier::Registered, "EUR", &[], &rates, day(2025, 3, 15));
        let terms = terms("USD", &[(Tier::Registered, dec!(20))], Vec::new());

        let quote = quote(
            &terms,
            &item(dec!(125.00), None),
            VendorId::new(),
            &ctx,
            &PriceQuery::one(),
        )
        .unwrap();

        assert_eq!(quote.unit.cost, money(dec!(100.00), "USD"));
        assert_eq!(quote.unit.sell, money(dec!(125.00), "USD"));
        assert_eq!(quote.home_unit.cost, money(dec!(92.59), "EUR"));
        assert_eq!(quote.home_unit.sell, money(dec!(115.74), "EUR"));
        assert_eq!(quote.home_unit.margin, money(dec!(23.15), "EUR"));
        assert_eq!(quote.applied.rate.map(|r| r.inverse), Some(true));
        // 108 USD is exactly 100 EUR at 1.08.
        assert_eq!(
            convert(
                dec!(108),
                Currency::USD,
                Currency::EUR,
                &rates,
                day(2025, 3, 15)
            ),
            Ok(dec!(100))
        );
    }

    #[test]
    fn the_newest_rate_wins_in_either_direction_and_direct_wins_a_tie() {
        let on = day(2025, 3, 15);
        let old_direct = rate("EUR", "USD", dec!(1.25), day(2025, 1, 1));
        let newer_reverse = rate("USD", "EUR", dec!(0.8), day(2025, 2, 1));
        // 100 EUR at USD/EUR 0.8 (newer than the direct 1.25): 100 ÷ 0.8 = 125 USD.
        let rates = [old_direct, newer_reverse];
        assert_eq!(
            convert(dec!(100), Currency::EUR, Currency::USD, &rates, on),
            Ok(dec!(125))
        );
        // Same day both ways: the direct rate 1.10 is used, 100 × 1.10 = 110.
        let same_day = [
            rate("USD", "EUR", dec!(0.8), day(2025, 3, 1)),
            rate("EUR", "USD", dec!(1.10), day(2025, 3, 1)),
        ];
        assert_eq!(
            convert(dec!(100), Currency::EUR, Currency::USD, &same_day, on),
            Ok(dec!(110))
        );
        // A rate dated on the pricing day counts; one dated after it does not.
        let later = [
            rate("EUR", "USD", dec!(1.10), on),
            rate("EUR", "USD", dec!(2), on.succ_opt().unwrap()),
        ];
        assert_eq!(
            convert(dec!(100), Currency::EUR, Currency::USD, &later, on),
            Ok(dec!(110))
        );
        // The same currency needs no rate at all.
        assert_eq!(
            convert(dec!(7.5), Currency::EUR, Currency::EUR, &[], on),
            Ok(dec!(7.5))
        );
    }

    #[test]
    fn a_missing_rate_is_an_error_naming_the_pair() {
        let on = day(2025, 3, 15);
        let rates = [
            rate("EUR", "USD", dec!(1.08), day(2025, 3, 1)),
            // Known only after the pricing day.
            rate("GBP", "EUR", dec!(1.19), day(2025, 3, 16)),
        ];
        let ctx = ctx(Tier::Gold, "EUR", &[], &rates, on);
        let terms = terms("GBP", &[], Vec::new());

        let err = quote(
            &terms,
            &item(dec!(10), None),
            VendorId::new(),
            &ctx,
            &PriceQuery::one(),
        )
        .unwrap_err();

        assert_eq!(
            err,
            MarginError::MissingRate {
                from: cur("GBP"),
                to: Currency::EUR,
                on
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("GBP") && message.contains("EUR"),
            "{message}"
        );
    }

    #[test]
    fn a_rate_built_without_checks_must_still_be_positive() {
        let on = day(2025, 3, 15);
        let zero = ExchangeRate {
            base: Currency::EUR,
            quote: Currency::USD,
            rate: Decimal::ZERO,
            as_of: on,
        };
        assert!(matches!(
            convert(dec!(1), Currency::USD, Currency::EUR, &[zero], on),
            Err(MarginError::InvalidRate { .. })
        ));
    }

    #[test]
    fn a_promotion_outside_its_window_does_not_apply() {
        // 10 % from 1 to 31 March on a 200.00 list: 180.00 inside, 200.00 outside.
        let march = promo(
            "March",
            dec!(10),
            window(day(2025, 3, 1), day(2025, 3, 31)),
            None,
        );
        let terms = terms("EUR", &[], vec![march]);
        let cost_on = |on: NaiveDate| {
            let ctx = ctx(Tier::Gold, "EUR", &[], &[], on);
            quote(
                &terms,
                &item(dec!(200), None),
                VendorId::new(),
                &ctx,
                &PriceQuery::one(),
            )
            .unwrap()
        };
        assert_eq!(cost_on(day(2025, 2, 28)).unit.cost.amount, dec!(200));
        assert_eq!(cost_on(day(2025, 2, 28)).applied.promotion, None);
        assert_eq!(cost_on(day(2025, 3, 1)).unit.cost.amount, dec!(180));
        assert_eq!(cost_on(day(2025, 3, 31)).unit.cost.amount, dec!(180));
        assert_eq!(cost_on(day(2025, 4, 1)).unit.cost.amount, dec!(200));
    }

    #[test]
    fn a_category_promotion_applies_only_to_its_category() {
        // 10 % on printers only: a 200.00 printer costs 180.00, toner and
        // uncategorised items stay at 200.00.
        let printers = promo("Printers", dec!(10), DateWindow::always(), Some("Printers"));
        let terms = terms("EUR", &[], vec![printers]);
        let ctx = ctx(Tier::Gold, "EUR", &[], &[], day(2025, 3, 15));
        let cost_of = |category: Option<&str>| {
            quote(
                &terms,
                &item(dec!(200), category),
                VendorId::new(),
                &ctx,
                &PriceQuery::one(),
            )
            .unwrap()
            .unit
            .cost
            .amount
        };
        assert_eq!(cost_of(Some("printers")), dec!(180));
        assert_eq!(cost_of(Some("toner")), dec!(200));
        assert_eq!(cost_of(None), dec!(200));
    }

    #[test]
    fn promotions_do_not_stack_the_biggest_wins() {
        // List-wide 10 % and the item's own 15 %: 15 % applies, 200.00 → 170.00
        // (stacking would give 200 × 0.9 × 0.85 = 153.00).
        let list_wide = promo("List", dec!(10), DateWindow::always(), None);
        let own = promo("Item", dec!(15), DateWindow::always(), None);
        let terms = terms("EUR", &[], vec![list_wide]);
        let mut printer = item(dec!(200), None);
        printer.promotions = vec![own.clone()];
        let ctx = ctx(Tier::Gold, "EUR", &[], &[], day(2025, 3, 15));

        let quote = quote(&terms, &printer, VendorId::new(), &ctx, &PriceQuery::one()).unwrap();

        assert_eq!(quote.unit.cost.amount, dec!(170));
        assert_eq!(quote.applied.promotion, Some(own));
    }

    #[test]
    fn the_highest_volume_threshold_reached_applies() {
        let breaks = [
            volume(1, dec!(1)),
            volume(10, dec!(5)),
            volume(10, dec!(6)),
            volume(20, dec!(4)),
        ];
        assert_eq!(best_volume_break(&breaks, 9), Some(volume(1, dec!(1))));
        // Two breaks at 10: the bigger discount.
        assert_eq!(best_volume_break(&breaks, 10), Some(volume(10, dec!(6))));
        // The highest threshold wins even with a smaller discount.
        assert_eq!(best_volume_break(&breaks, 25), Some(volume(20, dec!(4))));
        assert_eq!(best_volume_break(&breaks[1..], 9), None);
    }

    #[test]
    fn the_most_specific_sell_rule_wins() {
        // List 100.00, no discounts, so cost is 100.00:
        //   vendor and category: 5 % off list → 95.00
        //   vendor: markup 30 % → 130.00
        //   category: markup 20 % → 120.00
        //   default: markup 10 % → 110.00
        let acme = VendorId::new();
        let other = VendorId::new();
        let rules = [
            rule(None, Some("printers"), markup(dec!(20))),
            rule(Some(acme), None, markup(dec!(30))),
            rule(None, None, markup(dec!(10))),
            rule(Some(acme), Some("printers"), off_list(dec!(5))),
            // Same selector as the first rule: never chosen, the first listed wins.
            rule(None, Some("printers"), markup(dec!(99))),
        ];
        let terms = terms("EUR", &[], Vec::new());
        let ctx = ctx(Tier::Gold, "EUR", &rules, &[], day(2025, 3, 15));
        let priced = |vendor: VendorId, category: Option<&str>| {
            quote(
                &terms,
                &item(dec!(100), category),
                vendor,
                &ctx,
                &PriceQuery::one(),
            )
            .unwrap()
        };

        let q = priced(acme, Some("printers"));
        assert_eq!(q.unit.sell.amount, dec!(95));
        assert_eq!(q.applied.sell_rule.as_ref(), Some(&rules[3]));
        // 5 % off list is below the cost of 100.00: the margin is negative.
        assert_eq!(q.unit.margin.amount, dec!(-5));
        assert_eq!(priced(acme, Some("toner")).unit.sell.amount, dec!(130));
        let q = priced(other, Some("printers"));
        assert_eq!(q.unit.sell.amount, dec!(120));
        assert_eq!(q.applied.sell_rule.as_ref(), Some(&rules[0]));
        assert_eq!(priced(other, None).unit.sell.amount, dec!(110));
    }

    #[test]
    fn with_no_matching_rule_the_item_sells_at_list() {
        // List 250.00, Gold 20 % → cost 200.00; the only rule is for another
        // vendor, so sell = list = 250.00 and margin = 50.00 (20 %).
        let rules = [rule(Some(VendorId::new()), None, markup(dec!(50)))];
        let terms = terms("EUR", &[(Tier::Gold, dec!(20))], Vec::new());
        let ctx = ctx(Tier::Gold, "EUR", &rules, &[], day(2025, 3, 15));

        let quote = quote(
            &terms,
            &item(dec!(250), None),
            VendorId::new(),
            &ctx,
            &PriceQuery::one(),
        )
        .unwrap();

        assert_eq!(quote.unit.cost.amount, dec!(200));
        assert_eq!(quote.unit.sell.amount, dec!(250));
        assert_eq!(quote.unit.margin.amount, dec!(50));
        assert_eq!(percent6(&quote.unit), Some(dec!(20)));
        assert_eq!(quote.applied.sell_rule, None);
    }

    #[test]
    fn a_free_item_has_no_margin_percentage() {
        let terms = terms("EUR", &[], Vec::new());
        let ctx = ctx(Tier::Gold, "EUR", &[], &[], day(2025, 3, 15));
        let quote = quote(
            &terms,
            &item(dec!(0), None),
            VendorId::new(),
            &ctx,
            &PriceQuery::one(),
        )
        .unwrap();
        assert_eq!(quote.unit.margin.amount, dec!(0));
        assert_eq!(quote.unit.margin_percent, None);
        assert_eq!(quote.home_total.margin_percent, None);
    }

    #[test]
    fn a_stored_item_must_be_in_its_lists_currency() {
        let terms = terms("EUR", &[], Vec::new());
        let ctx = ctx(Tier::Gold, "EUR", &[], &[], day(2025, 3, 15));
        let mut stored = PriceItem {
            id: crate::ids::PriceItemId::new(),
            workspace_id: WorkspaceId::new(),
            vendor_id: VendorId::new(),
            price_list_id: crate::ids::PriceListId::new(),
            currency: Currency::USD,
            item: item(dec!(10), None),
        };
        assert_eq!(
            quote_item(&terms, &stored, &ctx, &PriceQuery::one()),
            Err(MarginError::CurrencyMismatch {
                item: Currency::USD,
                list: Currency::EUR
            })
        );
        stored.currency = Currency::EUR;
        let quote = quote_item(&terms, &stored, &ctx, &PriceQuery::one()).unwrap();
        assert_eq!(quote.unit.sell, money(dec!(10), "EUR"));
    }

    #[test]
    fn huge_amounts_are_an_error_not_a_panic() {
        // 7.9e28 is near Decimal's limit: 2 units cannot be represented.
        let terms = terms("EUR", &[], Vec::new());
        let ctx = ctx(Tier::Gold, "EUR", &[], &[], day(2025, 3, 15));
        let result = quote(
            &terms,
            &item(Decimal::MAX, None),
            VendorId::new(),
            &ctx,
            &units(2),
        );
        assert_eq!(result, Err(MarginError::Overflow));
    }

    // ---- Properties ----

    const CODES: &[&str] = &["EUR", "USD", "JPY", "KWD", "CLF", "GBP"];

    fn any_currency() -> impl Strategy<Value = Currency> {
        proptest::sample::select(CODES).prop_map(cur)
    }

    /// 0.00 % to 100.00 %.
    fn any_percent() -> impl Strategy<Value = Percent> {
        (0i64..=10_000).prop_map(|n| pct(Decimal::new(n, 2)))
    }

    /// Prices up to 100 million with up to 6 decimals.
    fn any_price() -> impl Strategy<Value = Decimal> {
        (0u32..=6).prop_flat_map(|scale| {
            (0..=100_000_000 * 10i64.pow(scale)).prop_map(move |m| Decimal::new(m, scale))
        })
    }

    /// Positive rates from 0.00000001 to 1 million.
    fn any_rate() -> impl Strategy<Value = Decimal> {
        (0u32..=8).prop_flat_map(|scale| {
            (1..=1_000_000 * 10i64.pow(scale)).prop_map(move |m| Decimal::new(m, scale))
        })
    }

    fn any_method() -> impl Strategy<Value = Option<SellMethod>> {
        prop_oneof![
            Just(None),
            (0i64..=100_000).prop_map(|n| Some(markup(Decimal::new(n, 2)))),
            any_percent().prop_map(|p| Some(SellMethod::DiscountOffList(p))),
        ]
    }

    /// Everything a quote depends on, generated.
    #[derive(Debug, Clone)]
    struct Scenario {
        list: Decimal,
        item_currency: Currency,
        home_currency: Currency,
        /// Tier, volume, promotion and deal discounts, in that order.
        discounts: [Percent; 4],
        method: Option<SellMethod>,
        rate: Decimal,
        rate_is_inverse: bool,
        quantity: u32,
    }

    fn any_scenario() -> impl Strategy<Value = Scenario> {
        (
            any_price(),
            any_currency(),
            any_currency(),
            [any_percent(), any_percent(), any_percent(), any_percent()],
            any_method(),
            any_rate(),
            any::<bool>(),
            1u32..=10_000,
        )
            .prop_map(
                |(list, item_currency, home_currency, discounts, method, rate, inv, quantity)| {
                    Scenario {
                        list,
                        item_currency,
                        home_currency,
                        discounts,
                        method,
                        rate,
                        rate_is_inverse: inv,
                        quantity,
                    }
                },
            )
    }

    fn run(s: &Scenario) -> Quote {
        let on = day(2025, 3, 15);
        let [tier, vol, promotion, deal] = s.discounts;
        let terms = PriceListTerms {
            tier_discounts: vec![TierDiscount {
                tier: Tier::Gold,
                discount: tier,
            }],
            promotions: vec![Promotion {
                discount: promotion,
                ..promo("P", dec!(0), DateWindow::always(), None)
            }],
            ..terms(s.item_currency.code(), &[], Vec::new())
        };
        let mut it = item(s.list, None);
        it.volume_breaks = vec![VolumeBreak {
            min_quantity: 1,
            discount: vol,
        }];
        let rules: Vec<SellRule> = s.method.map(|m| rule(None, None, m)).into_iter().collect();
        let (base, quote_ccy) = if s.rate_is_inverse {
            (s.home_currency, s.item_currency)
        } else {
            (s.item_currency, s.home_currency)
        };
        let rates: Vec<ExchangeRate> = ExchangeRate::new(base, quote_ccy, s.rate, on)
            .into_iter()
            .collect();
        let ctx = PricingContext {
            tier: Tier::Gold,
            home_currency: s.home_currency,
            sell_rules: &rules,
            rates: &rates,
            on,
        };
        let q = PriceQuery {
            quantity: NonZeroU32::new(s.quantity).unwrap(),
            deal_discount: Some(deal),
        };
        quote(&terms, &it, VendorId::new(), &ctx, &q).unwrap()
    }

    fn assert_adds_up(f: &Figures, currency: Currency) -> Result<(), TestCaseError> {
        prop_assert_eq!(f.margin.amount, f.sell.amount - f.cost.amount);
        for m in [f.cost, f.sell, f.margin] {
            prop_assert_eq!(m.currency, currency);
            prop_assert_eq!(currency.round(m.amount), m.amount, "{} is not rounded", m);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn margin_is_sell_minus_cost_exactly(s in any_scenario()) {
            let q = run(&s);
            assert_adds_up(&q.unit, s.item_currency)?;
            assert_adds_up(&q.total, s.item_currency)?;
            assert_adds_up(&q.home_unit, s.home_currency)?;
            assert_adds_up(&q.home_total, s.home_currency)?;
        }

        #[test]
        fn rounding_a_conversion_moves_it_by_half_a_minor_unit_at_most(
            amount in any_price(),
            from in any_currency(),
            to in any_currency(),
            r in any_rate(),
            inverse in any::<bool>(),
        ) {
            let on = day(2025, 3, 15);
            let rates: Vec<ExchangeRate> = if inverse {
                ExchangeRate::new(to, from, r, on)
            } else {
                ExchangeRate::new(from, to, r, on)
            }
            .into_iter()
            .collect();
            let exact = convert(amount, from, to, &rates, on).unwrap();
            let half = Decimal::new(5, to.exponent() + 1);
            prop_assert!((to.round(exact) - exact).abs() <= half);
        }

        #[test]
        fn home_figures_are_within_half_a_minor_unit_of_the_converted_ones(s in any_scenario()) {
            let q = run(&s);
            let on = day(2025, 3, 15);
            let rate = q.applied.rate.map(|r| r.rate);
            let half = Decimal::new(5, s.home_currency.exponent() + 1);
            for (item, home) in [
                (q.unit.cost, q.home_unit.cost),
                (q.unit.sell, q.home_unit.sell),
                (q.total.cost, q.home_total.cost),
                (q.total.sell, q.home_total.sell),
            ] {
                let rates: Vec<ExchangeRate> = rate.into_iter().collect();
                let exact = convert(item.amount, item.currency, home.currency, &rates, on).unwrap();
                prop_assert!((home.amount - exact).abs() <= half, "{} → {} vs {}", item, home, exact);
            }
        }

        #[test]
        fn a_bigger_discount_never_raises_cost(
            s in any_scenario(),
            slot in 0usize..4,
            extra in any_percent(),
        ) {
            let smaller = run(&s);
            let mut bigger = s.clone();
            bigger.discounts[slot] = bigger.discounts[slot].max(extra);
            let bigger = run(&bigger);
            prop_assert!(bigger.unit.cost.amount <= smaller.unit.cost.amount);
            prop_assert!(bigger.total.cost.amount <= smaller.total.cost.amount);
            prop_assert!(bigger.home_unit.cost.amount <= smaller.home_unit.cost.amount);
        }

        #[test]
        fn cost_is_between_zero_and_list(s in any_scenario()) {
            let q = run(&s);
            let c = s.item_currency;
            // Against the list rounded like the cost: a list of 0.015 EUR with
            // no discount shows a cost of 0.02.
            prop_assert!(q.unit.cost.amount >= Decimal::ZERO);
            prop_assert!(q.unit.cost.amount <= c.round(s.list));
            prop_assert!(q.total.cost.amount >= Decimal::ZERO);
            prop_assert!(q.total.cost.amount <= c.round(s.list * Decimal::from(s.quantity)));
        }

        #[test]
        fn selling_at_a_markup_never_sells_below_cost(
            s in any_scenario(),
            m in 0i64..=100_000,
        ) {
            let s = Scenario { method: Some(markup(Decimal::new(m, 2))), ..s };
            let q = run(&s);
            prop_assert!(q.unit.sell.amount >= q.unit.cost.amount);
            prop_assert!(q.total.sell.amount >= q.total.cost.amount);
            prop_assert!(q.home_unit.margin.amount >= Decimal::ZERO);
            prop_assert!(q.home_total.margin.amount >= Decimal::ZERO);
        }
    }
}
