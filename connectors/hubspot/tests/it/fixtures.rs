//! Deal registrations, connections and tokens for the tests; the doubles
//! every connector shares (leads, the token store, OAuth connections) are
//! onepane-connector's `testkit`.

use chrono::Utc;
use onepane_connector::credentials::Secret;
use onepane_connector::oauth::TokenSet;
use onepane_connector::{DealPush, Io, testkit};
use onepane_domain::deal::{DealDetails, DealProduct, DealRegistration, DealStatus, VendorFields};
use onepane_domain::ids::{DealRegistrationId, VendorId, WorkspaceId};
use onepane_domain::lead::Company;
use onepane_domain::money::Money;
use onepane_domain::text::{Name, Sku};

/// A connection with a fixed bearer token (a HubSpot private app).
pub fn bearer_io() -> Io {
    testkit::bearer_io("pat-na1-test")
}

/// A deal registration.
pub fn deal() -> DealPush {
    let now = Utc::now();
    DealPush {
        deal: DealRegistration {
            id: DealRegistrationId::new(),
            workspace_id: WorkspaceId::new(),
            vendor_id: VendorId::new(),
            lead_id: None,
            details: DealDetails {
                title: Name::parse("Laptops for Kesko").unwrap(),
                customer: Company {
                    name: Name::parse("Kesko").unwrap(),
                    domain: None,
                    country: None,
                },
                amount: Money::new("12000.50".parse().unwrap(), "EUR".parse().unwrap()),
                products: vec![DealProduct {
                    sku: Sku::parse("TP-X1-G12").unwrap(),
                    quantity: 40,
                    vendor_id: None,
                }],
                fields: VendorFields::default(),
            },
            status: DealStatus::Submitted,
            reason: None,
            protection_expires_on: None,
            extra_discount: None,
            submitted_by: None,
            submitted_at: now,
            decided_at: None,
            updated_at: now,
        },
        vendor: "Lenovo".into(),
    }
}

/// Tokens as the code exchange left them: `access` valid for an hour.
pub fn tokens(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        expires_at: Some(Utc::now() + chrono::Duration::hours(1)),
        extra: Default::default(),
    }
}
