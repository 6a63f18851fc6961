//! Connections, deal registrations, invitations and answers for the tests;
//! the fake Partner Central is this crate's `testkit`, and the doubles every
//! connector shares are onepane-connector's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use onepane_connector::credentials::Secret;
use onepane_connector::{
    Credentials, DealToRegister, Io, LeadAnswer, Page, PageRequest, Source, Stream, testkit,
};
use onepane_connector_aws_partner_central::AwsPartnerCentral;
use onepane_connector_aws_partner_central::testkit::{
    ACCESS_KEY_ID, Aws, Invitation, Opportunity, SECRET_ACCESS_KEY,
};
use onepane_domain::deal::{DealDetails, DealProduct, DealRegistration, DealStatus, VendorFields};
use onepane_domain::ids::{DealRegistrationId, VendorId, WorkspaceId};
use onepane_domain::lead::{Company, LeadSource};
use onepane_domain::money::Money;
use onepane_domain::text::{CountryCode, ExternalId, Name, Sku};
use serde_json::{Value, json};

/// A connection holding the test key (and a session token, when given),
/// through the loopback client.
pub fn aws_io(session_token: Option<&str>) -> Io {
    io_with_secret(SECRET_ACCESS_KEY, session_token)
}

/// A connection holding the test key id with `secret`.
pub fn io_with_secret(secret: &str, session_token: Option<&str>) -> Io {
    let credentials = Credentials::AwsAccessKey {
        access_key_id: ACCESS_KEY_ID.into(),
        secret_access_key: Secret::new(secret),
        session_token: session_token.map(Secret::new),
    };
    let auth = credentials.static_authorizer().unwrap().unwrap();
    Io::new(testkit::loopback_client(), None, auth)
}

/// The source pointed at `aws`.
pub fn source(aws: &Aws) -> AwsPartnerCentral {
    AwsPartnerCentral::from_settings(&aws.settings()).unwrap()
}

/// A registration of 40 laptops for Kesko, with `fields`.
pub fn registration(fields: &[(&str, &str)]) -> DealToRegister {
    let submitted_at: DateTime<Utc> = "2026-03-02T09:30:00Z".parse().unwrap();
    let fields: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let id = DealRegistrationId::new();
    DealToRegister {
        deal: DealRegistration {
            id,
            workspace_id: WorkspaceId::new(),
            vendor_id: VendorId::new(),
            lead_id: None,
            details: DealDetails {
                title: Name::parse("Cloud migration for Kesko").unwrap(),
                customer: Company {
                    name: Name::parse("Kesko Oyj").unwrap(),
                    domain: Some(Name::parse("kesko.fi").unwrap()),
                    country: Some(CountryCode::parse("fi").unwrap()),
                },
                amount: Money::new("12000.50".parse().unwrap(), "EUR".parse().unwrap()),
                products: vec![DealProduct {
                    sku: Sku::parse("AWS-MAP-ASSESS").unwrap(),
                    quantity: 1,
                    vendor_id: None,
                }],
                fields: VendorFields::try_from(fields).unwrap(),
            },
            status: DealStatus::Submitted,
            reason: None,
            protection_expires_on: None,
            extra_discount: None,
            submitted_by: None,
            submitted_at,
            decided_at: None,
            updated_at: submitted_at,
        },
        lead_external_id: None,
        idempotency_key: format!("deal-registration:{id}"),
    }
}

/// Opportunity `id` as AWS holds it after a review.
pub fn reviewed(
    id: &str,
    partner_id: Option<&str>,
    status: &str,
    last_modified: &str,
) -> Opportunity {
    Opportunity {
        id: id.to_owned(),
        client_token: None,
        request: json!({ "Customer": { "Account": { "CompanyName": "Kesko Oyj" } } }),
        partner_id: partner_id.map(str::to_owned),
        review_status: status.to_owned(),
        review_comments: None,
        review_status_reason: None,
        target_close_date: None,
        last_modified: last_modified.parse().unwrap(),
    }
}

/// A pending opportunity referral from AWS.
pub fn opportunity_invitation(id: &str, expires: &str) -> Invitation {
    Invitation {
        id: id.to_owned(),
        status: "PENDING".into(),
        details: json!({
            "Arn": format!("arn:aws:partnercentral::123456789012:Sandbox/engagement-invitation/{id}"),
            "PayloadType": "OpportunityInvitation",
            "EngagementId": "eng-0123456789abcd",
            "EngagementTitle": "Data platform for Kesko",
            "InvitationDate": "2026-03-01T08:00:00Z",
            "ExpirationDate": expires,
            "SenderAwsAccountId": "123456789012",
            "SenderCompanyName": "Amazon Web Services",
            "Receiver": { "Account": { "AwsAccountId": "210987654321" } },
            "InvitationMessage": "Kesko asked for a partner to run their migration.",
            "Payload": { "OpportunityInvitation": {
                "SenderContacts": [{
                    "Email": "jane.seller@amazon.example",
                    "FirstName": "Jane",
                    "LastName": "Seller",
                    "BusinessTitle": "Account Manager",
                    "Phone": "+14255550100"
                }],
                "ReceiverResponsibilities": ["Reseller", "Services Partner"],
                "Customer": {
                    "Industry": "Retail",
                    "CompanyName": "Kesko Oyj",
                    "WebsiteUrl": "https://www.kesko.fi",
                    "CountryCode": "FI"
                },
                "Project": {
                    "BusinessProblem": "Move the analytics estate off ageing on-premises hardware.",
                    "Title": "Analytics migration",
                    "TargetCompletionDate": "2026-09-30",
                    "ExpectedCustomerSpend": [{
                        "Amount": "25000",
                        "CurrencyCode": "EUR",
                        "Frequency": "Monthly",
                        "TargetCompany": "AWS"
                    }]
                }
            }}
        }),
        rejection_reason: None,
    }
}

/// A pending lead referral from AWS (no person is named).
pub fn lead_invitation(id: &str, expires: &str) -> Invitation {
    Invitation {
        id: id.to_owned(),
        status: "PENDING".into(),
        details: json!({
            "PayloadType": "LeadInvitation",
            "EngagementTitle": "Lead: Tokmanni",
            "InvitationDate": "2026-03-01T09:00:00Z",
            "ExpirationDate": expires,
            "SenderCompanyName": "Amazon Web Services",
            "Payload": { "LeadInvitation": {
                "Customer": {
                    "CompanyName": "Tokmanni Group",
                    "WebsiteUrl": "tokmanni.fi",
                    "CountryCode": "FI",
                    "Industry": "Retail"
                },
                "Interaction": {
                    "SourceName": "AWS Summit Stockholm",
                    "Usecase": "Contact center",
                    "ContactBusinessTitle": "CIO"
                }
            }}
        }),
        rejection_reason: None,
    }
}

/// The partner's answer to the lead of invitation `id`.
pub fn answer(id: &str, accepted: bool, reason: Option<&str>) -> LeadAnswer {
    let mut lead = testkit::lead(0).lead;
    lead.source = LeadSource::Vendor;
    lead.external_id = Some(ExternalId::parse(id).unwrap());
    LeadAnswer {
        lead,
        accepted,
        reason: reason.map(str::to_owned),
        idempotency_key: format!("lead-answer:{id}"),
    }
}

/// Reads `stream` from its first page to its last, as the engine does.
pub async fn read_all(
    source: &AwsPartnerCentral,
    io: &Io,
    stream: Stream,
    since: Option<&Value>,
) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut next: Option<Value> = None;
    for _ in 0..20 {
        let page = source
            .read(
                io,
                stream,
                PageRequest {
                    next: next.as_ref(),
                    since,
                },
            )
            .await
            .unwrap();
        next = page.next.clone();
        pages.push(page);
        if next.is_none() {
            return pages;
        }
    }
    panic!("more than 20 pages");
}
