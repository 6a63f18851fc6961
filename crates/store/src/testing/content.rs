//! What vendors publish and send, and what partners register, for tests:
//! small valid values of the domain's input types. Every builder panics on
//! an invalid argument: tests pass literals.

use std::collections::BTreeMap;

use onepane_domain::campaign::{
    AssetBody, AssetContent, AssetKind, AssetVariant, Audience, CampaignContent, CampaignVariant,
    DateWindow, LandingContent, NonEmpty,
};
use onepane_domain::deal::DealDetails;
use onepane_domain::lead::{Company, Contact, NewVendorLead};
use onepane_domain::price::{Percent, Price, PriceItemInput, PriceListTerms, TierDiscount};
use onepane_domain::text::{
    Category, CountryCode, Email, ExternalId, Locale, LongText, Name, Sku, Tag,
};
use onepane_domain::{Currency, Money, Tier};
use rust_decimal::Decimal;

/// A name from a literal.
pub fn name(s: &str) -> Name {
    Name::parse(s).expect("a valid name")
}

/// An external id from a literal.
pub fn ext(s: &str) -> ExternalId {
    ExternalId::parse(s).expect("a valid external id")
}

fn locale(s: &str) -> Locale {
    Locale::parse(s).expect("a valid locale")
}

/// A campaign titled `title` in English and Finnish, always running, for
/// partners of `tiers` (every tier when empty).
pub fn campaign(title: &str, tiers: &[Tier]) -> CampaignContent {
    let variant = |loc: &str| CampaignVariant {
        locale: locale(loc),
        name: name(title),
        description: None,
        landing: LandingContent {
            headline: name("Print smarter"),
            body: LongText::parse("Body").expect("a valid body"),
            call_to_action: name("Contact me"),
        },
    };
    CampaignContent {
        window: DateWindow::always(),
        audience: Audience {
            tiers: tiers.to_vec(),
            ..Audience::default()
        },
        variants: NonEmpty::try_from(vec![variant("en"), variant("fi")]).expect("two variants"),
        asset_external_ids: vec![],
    }
}

/// An English document asset titled `title`, for every partner.
pub fn asset(title: &str) -> AssetContent {
    AssetContent {
        kind: AssetKind::Document,
        variants: NonEmpty::one(AssetVariant {
            locale: locale("en"),
            title: name(title),
            body: AssetBody::Url("https://cdn.example.com/a.pdf".parse().expect("a URL")),
        }),
        tags: vec![Tag::parse("printers").expect("a valid tag")],
        audience: Audience::default(),
    }
}

/// Price-list terms in `currency`, always valid, with 20% off for Gold.
pub fn terms(currency: Currency) -> PriceListTerms {
    PriceListTerms {
        name: name("2026 list"),
        currency,
        validity: DateWindow::always(),
        tier_discounts: vec![TierDiscount {
            tier: Tier::Gold,
            discount: Percent::new(Decimal::from(20)).expect("a valid percent"),
        }],
        promotions: vec![],
    }
}

/// A printer `sku` listed at `price` (a decimal literal).
pub fn item(sku: &str, price: &str) -> PriceItemInput {
    PriceItemInput {
        sku: Sku::parse(sku).expect("a valid SKU"),
        name: name(sku),
        category: Some(Category::parse("printers").expect("a valid category")),
        list_price: Price::new(price.parse().expect("a decimal price")).expect("a valid price"),
        volume_breaks: vec![],
        promotions: vec![],
    }
}

/// A customer contact named `person`, at `<first.last>@customer.example`.
pub fn contact(person: &str) -> Contact {
    let local = person.to_lowercase().replace(' ', ".");
    Contact {
        name: name(person),
        email: Some(Email::parse(&format!("{local}@customer.example")).expect("a valid email")),
        phone: None,
        title: None,
    }
}

/// A lead a vendor sends, with its `external` id, for `person` at a Finnish
/// customer.
pub fn vendor_lead(external: &str, person: &str) -> NewVendorLead {
    NewVendorLead {
        external_id: ext(external),
        contact: contact(person),
        company: Some(Company {
            name: name("Customer Oy"),
            domain: None,
            country: Some(CountryCode::parse("FI").expect("a country")),
        }),
        message: None,
        respond_by: None,
    }
}

/// A deal titled `title`: 12,500.50 EUR with one deal field
/// (`reseller_account`).
pub fn deal(title: &str) -> DealDetails {
    DealDetails {
        title: name(title),
        customer: Company {
            name: name("Customer Oy"),
            domain: Some(name("customer.example")),
            country: None,
        },
        amount: Money::new("12500.50".parse().expect("a decimal"), Currency::EUR),
        products: vec![],
        fields: BTreeMap::from([("reseller_account".to_owned(), "R-1".to_owned())])
            .try_into()
            .expect("valid deal fields"),
    }
}

/// A decimal as the store writes it (text on SQLite, numeric on
/// PostgreSQL), for tests that write rows by hand.
pub fn db_decimal(s: &str) -> crate::codec::DbDecimal {
    crate::codec::DbDecimal(s.parse().expect("a decimal"))
}
