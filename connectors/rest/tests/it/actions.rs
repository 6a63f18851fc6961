//! The two-way examples: a deal registration and an answer to a lead sent
//! to the vendor's own system as the manifest's actions shape them, the
//! vendor's answer read (its id, a refusal and its message, a failure to
//! retry), and its decisions read back through `deal_status`.

use chrono::{NaiveDate, Utc};
use onepane_connector::{DealToRegister, Delivered, LeadAnswer, Record, Source, Stream};
use onepane_connector_rest::Manifest;
use onepane_domain::deal::*;
use onepane_domain::lead::*;
use onepane_domain::text::*;
use onepane_domain::*;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{io, read_all};

const NORTHWIND: &str = include_str!("../../examples/northwind-partner-api.yaml");
const FABRIKAM: &str = include_str!("../../examples/fabrikam-channel-hub.yaml");

/// An example manifest pointed at the fake, at the same path.
fn example(yaml: &str, from: &str, fake: &MockServer) -> onepane_connector_rest::RestSource {
    let yaml = yaml.replace(from, &fake.uri());
    onepane_connector_rest::RestSource::new(Manifest::parse(&yaml).unwrap())
}

fn northwind(fake: &MockServer) -> onepane_connector_rest::RestSource {
    example(NORTHWIND, "https://partners.northwind.example", fake)
}

fn fabrikam(fake: &MockServer) -> onepane_connector_rest::RestSource {
    example(FABRIKAM, "https://hub.fabrikam.example", fake)
}

fn registration(fields: &[(&str, &str)]) -> DealRegistration {
    let now = Utc::now();
    let fields: std::collections::BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    DealRegistration {
        id: DealRegistrationId::new(),
        workspace_id: WorkspaceId::new(),
        vendor_id: VendorId::new(),
        lead_id: None,
        details: DealDetails {
            title: Name::parse("Printers for Kesko").unwrap(),
            customer: Company {
                name: Name::parse("Kesko Oyj").unwrap(),
                domain: Some(Name::parse("kesko.fi").unwrap()),
                country: Some("FI".parse().unwrap()),
            },
            amount: Money::new("48000.00".parse().unwrap(), "EUR".parse().unwrap()),
            products: vec![DealProduct {
                sku: Sku::parse("NW-LASER-9").unwrap(),
                quantity: 40,
                vendor_id: None,
            }],
            fields: VendorFields::try_from(fields).unwrap(),
        },
        status: DealStatus::Submitted,
        reason: None,
        protection_expires_on: None,
        extra_discount: None,
        submitted_by: None,
        submitted_at: now,
        decided_at: None,
        updated_at: now,
    }
}

fn lead(external_id: &str) -> Lead {
    let now = Utc::now();
    Lead {
        id: LeadId::new(),
        workspace_id: WorkspaceId::new(),
        vendor_id: Some(VendorId::new()),
        campaign_id: None,
        activation_id: None,
        external_id: Some(ExternalId::parse(external_id).unwrap()),
        source: LeadSource::Vendor,
        status: LeadStatus::Declined,
        contact: Contact {
            name: Name::parse("Ada Lovelace").unwrap(),
            email: None,
            phone: None,
            title: None,
        },
        company: None,
        message: None,
        respond_by: None,
        shared_with_vendor_at: None,
        consent: None,
        created_at: now,
        updated_at: now,
    }
}

#[test]
fn the_two_way_examples_read_decisions_and_take_registrations() {
    for (yaml, answers) in [(NORTHWIND, true), (FABRIKAM, false)] {
        let manifest = Manifest::parse(yaml).unwrap();
        let streams: Vec<Stream> = manifest.streams().into_iter().map(|s| s.stream).collect();
        assert!(streams.contains(&Stream::DealStatus));
        let actions: Vec<&str> = manifest.actions().collect();
        assert!(actions.contains(&"register_deal"));
        assert_eq!(actions.contains(&"answer_lead"), answers);
        let source = onepane_connector_rest::RestSource::new(manifest);
        assert!(source.registers_deals());
        assert_eq!(source.answers_leads(), answers);
    }
}

#[tokio::test]
async fn a_registration_is_posted_as_the_manifest_shapes_it_with_its_idempotency_key() {
    let fake = MockServer::start().await;
    let deal = registration(&[("deal_type", "new-business")]);
    Mock::given(method("POST"))
        .and(path("/api/v1/deal-registrations"))
        .and(header("idempotency-key", "key-1.0"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "partner_reference": deal.id.to_string(),
            "opportunity_name": "Printers for Kesko",
            "end_customer": {"company": "Kesko Oyj", "website": "kesko.fi", "country": "FI"},
            "estimated_value": "48000.00",
            "currency": "EUR",
            "lines": [{"part_number": "NW-LASER-9", "qty": 40}],
            "deal_type": "new-business",
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"data": {"id": "DR-1001", "state": "PENDING"}})),
        )
        .expect(1)
        .mount(&fake)
        .await;
    let sent = northwind(&fake)
        .register_deal(
            &io(),
            &DealToRegister {
                deal,
                lead_external_id: None,
                idempotency_key: "key-1.0".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        sent,
        Delivered::Sent {
            vendor_ref: Some("DR-1001".into()),
            status: Some(DealStatus::Submitted),
        }
    );
}

#[tokio::test]
async fn a_refusal_carries_the_vendors_message() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/channel/registrations"))
        .and(header("x-request-id", "key-2.0"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "errors": [{"code": "DUPLICATE", "detail": "Kesko Oyj is already registered by another partner"}]
        })))
        .expect(1)
        .mount(&fake)
        .await;
    let sent = fabrikam(&fake)
        .register_deal(
            &io(),
            &DealToRegister {
                deal: registration(&[]),
                lead_external_id: None,
                idempotency_key: "key-2.0".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        sent,
        Delivered::Refused {
            message: "Kesko Oyj is already registered by another partner".into()
        }
    );
}

#[tokio::test]
async fn a_server_error_may_pass_later_and_an_unexpected_client_error_will_not() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/channel/registrations"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
        .mount(&fake)
        .await;
    let deal = DealToRegister {
        deal: registration(&[]),
        lead_external_id: None,
        idempotency_key: "key-3.0".into(),
    };
    let e = fabrikam(&fake)
        .register_deal(&io(), &deal)
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    // Every attempt carried the same key.
    let received = fake.received_requests().await.unwrap();
    assert!(received.len() > 1);
    assert!(received.iter().all(|r| {
        r.headers
            .get("x-request-id")
            .is_some_and(|v| v == "key-3.0")
    }));

    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/channel/registrations"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no such program"))
        .mount(&fake)
        .await;
    let e = fabrikam(&fake)
        .register_deal(&io(), &deal)
        .await
        .unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().contains("404"), "{e}");
}

#[tokio::test]
async fn a_lead_answer_goes_to_the_vendors_id_for_the_lead() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/leads/L-77/response"))
        .and(header("idempotency-key", "key-4.1"))
        .and(body_json(
            json!({"action": "reject", "reason": "Outside our region"}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&fake)
        .await;
    let sent = northwind(&fake)
        .answer_lead(
            &io(),
            &LeadAnswer {
                lead: lead("L-77"),
                accepted: false,
                reason: Some("Outside our region".into()),
                idempotency_key: "key-4.1".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        sent,
        Delivered::Sent {
            vendor_ref: None,
            status: None
        }
    );
}

#[tokio::test]
async fn decisions_are_read_back_in_the_vendors_own_words() {
    let fake = MockServer::start().await;
    let approved = DealRegistrationId::new();
    let rejected = DealRegistrationId::new();
    Mock::given(method("GET"))
        .and(path("/channel/registrations"))
        .and(query_param("limit", "50"))
        .and(wiremock::matchers::query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [
                {"registrationId": "FB-1", "externalRef": approved.to_string(), "status": "won_protection",
                 "reviewerComment": "Protected for the Kesko tender", "protectionEndsOn": "2027-03-31", "bonusDiscountPct": 4},
                {"registrationId": "FB-2", "externalRef": rejected.to_string(), "status": "not_eligible",
                 "reviewerComment": "Customer is a named account"}
            ],
            "links": {"next": format!("{}/channel/registrations?limit=50&cursor=c2", fake.uri())}
        })))
        .mount(&fake)
        .await;
    Mock::given(method("GET"))
        .and(path("/channel/registrations"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"registrationId": "FB-3", "status": "under_review"}],
            "links": {}
        })))
        .mount(&fake)
        .await;
    let pass = read_all(&fabrikam(&fake), &io(), Stream::DealStatus, None)
        .await
        .unwrap();
    assert!(pass.rejected.is_empty(), "{:?}", pass.rejected);
    let statuses: Vec<VendorDealStatus> = pass
        .records
        .into_iter()
        .map(|r| match r.record {
            Record::DealStatus(s) => s,
            other => panic!("not a status: {other:?}"),
        })
        .collect();
    assert_eq!(statuses.len(), 3);
    assert_eq!(statuses[0].registration, Some(approved));
    assert_eq!(statuses[0].status, DealStatus::Approved);
    assert_eq!(
        statuses[0].protection_expires_on,
        NaiveDate::from_ymd_opt(2027, 3, 31)
    );
    assert_eq!(
        statuses[0].extra_discount.map(|p| p.value().to_string()),
        Some("4".to_owned())
    );
    assert!(matches!(
        statuses[0].decision(),
        Ok(Some(DealDecision::Approved { .. }))
    ));
    assert_eq!(statuses[1].status, DealStatus::Rejected);
    assert_eq!(
        statuses[1].reason.as_ref().map(LongText::as_str),
        Some("Customer is a named account")
    );
    // Still under review: no decision, and no Onepane id.
    assert_eq!(statuses[2].status, DealStatus::Submitted);
    assert_eq!(statuses[2].key(), "FB-3");
    assert_eq!(statuses[2].decision(), Ok(None));
}

#[test]
fn bad_actions_are_refused_with_where_they_are() {
    let base = "version: 1\nbase_url: https://v.example/api\nauth: {type: none}\nstreams:\n  tier: {path: /p, records: /p, map: {$const: gold}}\n";
    for (actions, at) in [
        ("  cancel_deal: {path: /x}\n", "actions.cancel_deal"),
        (
            "  register_deal: {method: GET, path: /x}\n",
            "actions.register_deal.method",
        ),
        ("  register_deal: {path: x}\n", "actions.register_deal.path"),
        (
            "  answer_lead: {path: \"/leads/{external_id}\"}\n",
            "actions.answer_lead.path",
        ),
        (
            "  register_deal: {path: /x, refused: {statuses: [500]}}\n",
            "actions.register_deal.refused.statuses",
        ),
        (
            "  register_deal: {path: /x, idempotency_header: \"bad header\"}\n",
            "actions.register_deal.idempotency_header",
        ),
    ] {
        let yaml = format!("{base}actions:\n{actions}");
        let e = Manifest::parse(&yaml).unwrap_err();
        assert_eq!(e.path(), Some(at), "{yaml}: {e}");
    }
}
