//! Small builders for test data.

use std::collections::BTreeMap;

use onepane_domain::campaign::{
    AssetBody, AssetContent, AssetKind, AssetVariant, Audience, CampaignContent, CampaignVariant,
    DateWindow, LandingContent, NonEmpty,
};
use onepane_domain::deal::DealDetails;
use onepane_domain::lead::{Company, Contact, NewVendorLead};
use onepane_domain::price::{Percent, Price, PriceItemInput, PriceListTerms, TierDiscount};
use onepane_domain::text::*;
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{Currency, Money, PartnerType, Tier, VendorId, VendorKind, WorkspaceId};
use onepane_store::Store;
use rust_decimal::Decimal;

pub fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

pub fn ext(s: &str) -> ExternalId {
    ExternalId::parse(s).unwrap()
}

pub async fn workspace(store: &Store, n: &str) -> WorkspaceId {
    let (ws, _) = store
        .operator()
        .create_workspace(&NewWorkspace {
            name: name(n),
            home_currency: Currency::EUR,
            locale: Locale::parse("fi").unwrap(),
            owner_email: Email::parse(&format!(
                "owner@{}.example",
                n.to_lowercase().replace(' ', "-")
            ))
            .unwrap(),
        })
        .await
        .unwrap();
    ws.id
}

pub async fn vendor(store: &Store, n: &str) -> VendorId {
    store
        .operator()
        .create_vendor(&name(n), VendorKind::Vendor)
        .await
        .unwrap()
        .id
}

pub async fn link(store: &Store, ws: WorkspaceId, v: VendorId, tier: Tier) {
    store
        .operator()
        .link(ws, v, tier, PartnerType::SolutionProvider)
        .await
        .unwrap();
}

pub fn campaign(title: &str, tiers: &[Tier]) -> CampaignContent {
    let variant = |loc: &str, n: &str| CampaignVariant {
        locale: Locale::parse(loc).unwrap(),
        name: name(n),
        description: None,
        landing: LandingContent {
            headline: name("Print smarter"),
            body: LongText::parse("Body").unwrap(),
            call_to_action: name("Contact me"),
        },
    };
    CampaignContent {
        window: DateWindow::always(),
        audience: Audience {
            tiers: tiers.to_vec(),
            ..Audience::default()
        },
        variants: NonEmpty::try_from(vec![variant("en", title), variant("fi", title)]).unwrap(),
        asset_external_ids: vec![],
    }
}

pub fn asset(title: &str) -> AssetContent {
    AssetContent {
        kind: AssetKind::Document,
        variants: NonEmpty::one(AssetVariant {
            locale: Locale::parse("en").unwrap(),
            title: name(title),
            body: AssetBody::Url("https://cdn.example.com/a.pdf".parse().unwrap()),
        }),
        tags: vec![Tag::parse("printers").unwrap()],
        audience: Audience::default(),
    }
}

pub fn terms(currency: Currency) -> PriceListTerms {
    PriceListTerms {
        name: name("2026 list"),
        currency,
        validity: DateWindow::always(),
        tier_discounts: vec![TierDiscount {
            tier: Tier::Gold,
            discount: Percent::new(Decimal::from(20)).unwrap(),
        }],
        promotions: vec![],
    }
}

pub fn item(sku: &str, price: &str) -> PriceItemInput {
    PriceItemInput {
        sku: Sku::parse(sku).unwrap(),
        name: name(sku),
        category: Some(Category::parse("printers").unwrap()),
        list_price: Price::new(price.parse().unwrap()).unwrap(),
        volume_breaks: vec![],
        promotions: vec![],
    }
}

pub fn contact(n: &str) -> Contact {
    Contact {
        name: name(n),
        email: Some(
            Email::parse(&format!(
                "{}@customer.example",
                n.to_lowercase().replace(' ', ".")
            ))
            .unwrap(),
        ),
        phone: None,
        title: None,
    }
}

pub fn vendor_lead(external: &str, person: &str) -> NewVendorLead {
    NewVendorLead {
        external_id: ext(external),
        contact: contact(person),
        company: Some(Company {
            name: name("Customer Oy"),
            domain: None,
            country: Some(CountryCode::parse("FI").unwrap()),
        }),
        message: None,
        respond_by: None,
    }
}

pub fn deal(title: &str) -> DealDetails {
    DealDetails {
        title: name(title),
        customer: Company {
            name: name("Customer Oy"),
            domain: Some(name("customer.example")),
            country: None,
        },
        amount: Money::new("12500.50".parse().unwrap(), Currency::EUR),
        products: vec![],
        fields: BTreeMap::from([("reseller_account".to_owned(), "R-1".to_owned())])
            .try_into()
            .unwrap(),
    }
}
