//! The margin engine's cost: one quote with every kind of discount, a sell
//! rule and a conversion to the home currency, and a whole price list quoted
//! for a workspace (what the price-list page does on every view).
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::num::NonZeroU32;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onepane_domain::campaign::DateWindow;
use onepane_domain::margin::{PriceQuery, PricingContext, convert, quote};
use onepane_domain::price::{
    ExchangeRate, Markup, Percent, Price, PriceItemInput, PriceListTerms, Promotion, SellMethod,
    SellRule, SellRuleSelector, TierDiscount, VolumeBreak,
};
use onepane_domain::text::{Category, Name, Sku};
use onepane_domain::{Currency, SellRuleId, Tier, VendorId, WorkspaceId};
use rust_decimal::Decimal;

/// Items in the price-list benchmark: a large vendor's full catalogue.
const LIST_SIZE: usize = 10_000;

const CATEGORIES: [&str; 6] = [
    "printers", "scanners", "toner", "paper", "software", "services",
];

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid day")
}

fn pct(value: i64) -> Percent {
    Percent::new(Decimal::from(value)).expect("a percentage")
}

fn category(c: &str) -> Category {
    Category::parse(c).expect("a category")
}

fn currency(code: &str) -> Currency {
    code.parse().expect("an ISO 4217 code")
}

/// The pricing day: inside both promotions, after most rates.
fn pricing_day() -> NaiveDate {
    day(2026, 3, 15)
}

/// A USD list with a discount for every tier and two promotions running on
/// the pricing day: a list-wide one and a bigger one for printers.
fn terms() -> PriceListTerms {
    let spring = DateWindow::new(Some(day(2026, 3, 1)), Some(day(2026, 3, 31))).expect("window");
    let quarter = DateWindow::new(Some(day(2026, 1, 1)), Some(day(2026, 3, 31))).expect("window");
    PriceListTerms {
        name: Name::parse("2026 partner list").expect("a name"),
        currency: Currency::USD,
        validity: DateWindow::always(),
        tier_discounts: [
            (Tier::Registered, 5),
            (Tier::Silver, 10),
            (Tier::Gold, 20),
            (Tier::Platinum, 30),
        ]
        .into_iter()
        .map(|(tier, d)| TierDiscount {
            tier,
            discount: pct(d),
        })
        .collect(),
        promotions: vec![
            Promotion {
                name: Name::parse("Q1 push").expect("a name"),
                window: quarter,
                discount: pct(3),
                category: None,
            },
            Promotion {
                name: Name::parse("Spring printers").expect("a name"),
                window: spring,
                discount: pct(7),
                category: Some(category("printers")),
            },
        ],
    }
}

/// The `n`th item of the catalogue: a spread of prices and categories,
/// each with three volume breaks.
fn item(n: usize) -> PriceItemInput {
    let cents = 999 + (n as i64 * 7_919) % 250_000;
    PriceItemInput {
        sku: Sku::parse(&format!("SKU-{n:05}")).expect("a SKU"),
        name: Name::parse(&format!("Catalogue item {n}")).expect("a name"),
        category: Some(category(CATEGORIES[n % CATEGORIES.len()])),
        list_price: Price::new(Decimal::new(cents, 2)).expect("a price"),
        volume_breaks: vec![
            VolumeBreak {
                min_quantity: 10,
                discount: pct(2),
            },
            VolumeBreak {
                min_quantity: 50,
                discount: pct(5),
            },
            VolumeBreak {
                min_quantity: 100,
                discount: pct(8),
            },
        ],
        promotions: Vec::new(),
    }
}

/// Eight rules at every level of specificity, for this vendor and others.
fn sell_rules(vendor: VendorId) -> Vec<SellRule> {
    let other = VendorId::new();
    let workspace = WorkspaceId::new();
    let markup = |v: i64| SellMethod::MarkupOnCost(Markup::new(Decimal::from(v)).expect("markup"));
    let off = |v: i64| SellMethod::DiscountOffList(pct(v));
    [
        (None, None, markup(25)),
        (None, Some("toner"), markup(40)),
        (None, Some("services"), off(0)),
        (Some(other), None, markup(15)),
        (Some(other), Some("printers"), off(10)),
        (Some(vendor), None, markup(20)),
        (Some(vendor), Some("printers"), off(5)),
        (Some(vendor), Some("paper"), markup(35)),
    ]
    .into_iter()
    .map(|(vendor_id, cat, method)| SellRule {
        id: SellRuleId::new(),
        workspace_id: workspace,
        selector: SellRuleSelector {
            vendor_id,
            category: cat.map(category),
        },
        method,
    })
    .collect()
}

/// Ten rates over several pairs and days. USD/EUR is stored as EUR/USD on
/// three days (the newest one after the pricing day), so the conversion reads
/// it backwards and has to pick the right day.
fn rates() -> Vec<ExchangeRate> {
    [
        ("EUR", "USD", "1.0712", day(2026, 3, 1)),
        ("EUR", "USD", "1.0845", day(2026, 3, 14)),
        ("EUR", "USD", "1.0901", day(2026, 3, 20)),
        ("EUR", "GBP", "0.8453", day(2026, 3, 14)),
        ("EUR", "SEK", "11.2410", day(2026, 3, 14)),
        ("EUR", "NOK", "11.6025", day(2026, 3, 14)),
        ("EUR", "DKK", "7.4602", day(2026, 3, 14)),
        ("EUR", "CHF", "0.9412", day(2026, 3, 14)),
        ("USD", "JPY", "149.35", day(2026, 3, 14)),
        ("GBP", "USD", "1.2830", day(2026, 3, 14)),
    ]
    .into_iter()
    .map(|(base, quote, rate, as_of)| {
        ExchangeRate::new(
            currency(base),
            currency(quote),
            rate.parse().expect("a decimal"),
            as_of,
        )
        .expect("a rate")
    })
    .collect()
}

fn margin(c: &mut Criterion) {
    let vendor = VendorId::new();
    let terms = terms();
    let rules = sell_rules(vendor);
    let rates = rates();
    let ctx = PricingContext {
        tier: Tier::Gold,
        home_currency: Currency::EUR,
        sell_rules: &rules,
        rates: &rates,
        on: pricing_day(),
    };
    // A registered deal for 60 printers: tier, volume, promotion and deal
    // discounts all apply, and the vendor-and-category rule prices it.
    let deal = PriceQuery {
        quantity: NonZeroU32::new(60).expect("non-zero"),
        deal_discount: Some(pct(4)),
    };
    let printer = item(0);
    quote(&terms, &printer, vendor, &ctx, &deal).expect("the printer prices");

    let mut group = c.benchmark_group("margin");
    group.throughput(Throughput::Elements(1));
    group.bench_function("quote", |b| {
        b.iter(|| quote(black_box(&terms), black_box(&printer), vendor, &ctx, &deal))
    });
    group.bench_function("convert", |b| {
        let amount = Decimal::new(1_234_567, 2);
        b.iter(|| {
            convert(
                black_box(amount),
                Currency::USD,
                Currency::EUR,
                black_box(&rates),
                pricing_day(),
            )
        })
    });

    let catalogue: Vec<PriceItemInput> = (0..LIST_SIZE).map(item).collect();
    let one = PriceQuery::one();
    group.throughput(Throughput::Elements(LIST_SIZE as u64));
    group.bench_function("price_list_10k", |b| {
        b.iter(|| {
            catalogue
                .iter()
                .map(|i| quote(&terms, black_box(i), vendor, &ctx, &one))
                .collect::<Result<Vec<_>, _>>()
                .expect("every item prices")
        })
    });
    group.finish();
}

criterion_group!(benches, margin);
criterion_main!(benches);
