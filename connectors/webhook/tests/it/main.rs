//! The webhook sink against a local receiver.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use onepane_connector::{
    AddressPolicy, ClientConfig, ConnectorError, HttpClient, HttpError, Io, LeadPush, NoAuth,
    PushOutcome, Secret, Sink,
};
use onepane_connector_webhook::{
    DELIVERY_HEADER, EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, WebhookSink, delivery_id,
    verify,
};
use onepane_domain::lead::{Company, Contact, Lead, LeadSource, LeadStatus};
use onepane_domain::text::{Email, ExternalId, LongText, Name};
use onepane_domain::{LeadId, VendorId, WorkspaceId};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "whsec_partner_receiver";

fn io(addresses: AddressPolicy) -> Io {
    let http = HttpClient::new(ClientConfig {
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(50),
        addresses,
        ..ClientConfig::default()
    })
    .unwrap();
    Io::new(http, None, Arc::new(NoAuth))
}

fn loopback_io() -> Io {
    io(AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]))
}

fn sink(url: &str) -> WebhookSink {
    WebhookSink::from_settings(&json!({ "url": url }), Secret::new(SECRET)).unwrap()
}

fn lead(n: u32) -> LeadPush {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, n).unwrap();
    LeadPush {
        lead: Lead {
            id: LeadId::new(),
            workspace_id: WorkspaceId::new(),
            vendor_id: Some(VendorId::new()),
            campaign_id: None,
            activation_id: None,
            external_id: Some(ExternalId::parse(&format!("L-{n}")).unwrap()),
            source: LeadSource::Vendor,
            status: LeadStatus::Accepted,
            contact: Contact {
                name: Name::parse(&format!("Maija Meikäläinen {n}")).unwrap(),
                email: Some(Email::parse(&format!("maija{n}@customer.example")).unwrap()),
                phone: None,
                title: Some(Name::parse("CFO").unwrap()),
            },
            company: Some(Company {
                name: Name::parse("Customer Oy").unwrap(),
                domain: Some(Name::parse("customer.example").unwrap()),
                country: Some("FI".parse().unwrap()),
            }),
            message: Some(LongText::parse("Needs 40 printers").unwrap()),
            respond_by: None,
            shared_with_vendor_at: None,
            consent: None,
            created_at: at,
            updated_at: at,
        },
        vendor: Some("Printers Inc".into()),
    }
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request.headers.get(name).unwrap().to_str().unwrap()
}

async fn hooks(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/hooks")
        .collect()
}

#[tokio::test]
async fn each_lead_is_one_signed_post_the_receiver_can_verify_over_the_exact_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "crm-42"})))
        .mount(&server)
        .await;
    let leads = [lead(1), lead(2)];

    let outcomes = sink(&format!("{}/hooks", server.uri()))
        .push_leads(&loopback_io(), &leads)
        .await
        .unwrap();

    let pushed = PushOutcome::Pushed {
        remote_id: Some("crm-42".into()),
    };
    assert_eq!(outcomes, vec![pushed.clone(), pushed]);
    let received = hooks(&server).await;
    assert_eq!(received.len(), 2);
    for (request, push) in received.iter().zip(&leads) {
        let signature = header(request, SIGNATURE_HEADER);
        assert!(verify(
            SECRET.as_bytes(),
            signature,
            &request.body,
            Utc::now(),
            300
        ));
        assert!(!verify(
            b"whsec_other",
            signature,
            &request.body,
            Utc::now(),
            300
        ));
        let mut tampered = request.body.clone();
        tampered.push(b' ');
        assert!(!verify(
            SECRET.as_bytes(),
            signature,
            &tampered,
            Utc::now(),
            300
        ));

        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let id = delivery_id(&push.lead);
        assert_eq!(body["type"], "lead.changed");
        assert_eq!(body["id"], id);
        assert_eq!(header(request, IDEMPOTENCY_HEADER), id);
        assert_eq!(header(request, DELIVERY_HEADER), id);
        assert_eq!(header(request, EVENT_HEADER), "lead.changed");
        assert_eq!(header(request, "content-type"), "application/json");
        assert_eq!(
            body["occurred_at"],
            serde_json::to_value(push.lead.updated_at).unwrap()
        );
        let data = &body["data"];
        assert_eq!(data["id"], push.lead.id.to_string());
        assert_eq!(data["status"], "accepted");
        assert_eq!(data["source"], "vendor");
        assert_eq!(data["vendor"]["name"], "Printers Inc");
        assert_eq!(
            data["vendor"]["id"],
            push.lead.vendor_id.unwrap().to_string()
        );
        assert_eq!(data["campaign_id"], Value::Null);
        assert_eq!(data["contact"]["title"], "CFO");
        assert_eq!(data["company"]["country"], "FI");
        assert_eq!(data["message"], "Needs 40 printers");
        assert_eq!(data["created_at"], data["updated_at"]);
    }
}

#[tokio::test]
async fn a_500_then_200_is_retried_by_the_sdk_with_the_same_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;

    let outcomes = sink(&format!("{}/hooks", server.uri()))
        .push_leads(&loopback_io(), &[lead(1)])
        .await
        .unwrap();

    assert_eq!(outcomes, vec![PushOutcome::Pushed { remote_id: None }]);
    let received = hooks(&server).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    assert_eq!(
        header(&received[0], IDEMPOTENCY_HEADER),
        header(&received[1], IDEMPOTENCY_HEADER)
    );
    for request in &received {
        assert!(verify(
            SECRET.as_bytes(),
            header(request, SIGNATURE_HEADER),
            &request.body,
            Utc::now(),
            300
        ));
    }
}

#[tokio::test]
async fn a_400_for_one_lead_fails_only_that_lead() {
    let server = MockServer::start().await;
    let leads = [lead(1), lead(2), lead(3)];
    let refused = leads[1].lead.id.to_string();
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .and(body_partial_json(json!({ "data": { "id": refused } })))
        .respond_with(ResponseTemplate::new(400).set_body_string("contact.email: not allowed here"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;

    let outcomes = sink(&format!("{}/hooks", server.uri()))
        .push_leads(&loopback_io(), &leads)
        .await
        .unwrap();

    assert_eq!(
        outcomes,
        vec![
            PushOutcome::Pushed { remote_id: None },
            PushOutcome::Failed {
                message: "the receiver answered 400: contact.email: not allowed here".into(),
                retryable: false,
            },
            PushOutcome::Pushed { remote_id: None },
        ]
    );
    assert_eq!(hooks(&server).await.len(), 3, "a 400 is not retried");
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_leaves_the_lead_retryable_and_tries_the_next() {
    let server = MockServer::start().await;
    let leads = [lead(1), lead(2)];
    let failing = leads[0].lead.id.to_string();
    Mock::given(method("POST"))
        .and(body_partial_json(json!({ "data": { "id": failing } })))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;

    let outcomes = sink(&format!("{}/hooks", server.uri()))
        .push_leads(&loopback_io(), &leads)
        .await
        .unwrap();

    let PushOutcome::Failed { message, retryable } = &outcomes[0] else {
        panic!("{outcomes:?}");
    };
    assert!(retryable, "{message}");
    assert!(message.contains("503"), "{message}");
    assert_eq!(outcomes[1], PushOutcome::Pushed { remote_id: None });
    assert_eq!(hooks(&server).await.len(), 3 + 1);
}

#[tokio::test]
async fn an_unreachable_receiver_fails_the_batch_retryably_after_one_lead() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    drop(listener);

    let outcomes = sink(&url)
        .push_leads(&loopback_io(), &[lead(1), lead(2), lead(3)])
        .await
        .unwrap();

    assert_eq!(outcomes.len(), 3);
    for outcome in &outcomes {
        assert!(
            matches!(
                outcome,
                PushOutcome::Failed {
                    retryable: true,
                    ..
                }
            ),
            "{outcome:?}"
        );
    }
    let PushOutcome::Failed { message, .. } = &outcomes[2] else {
        unreachable!()
    };
    assert!(message.starts_with("not sent"), "{message}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_fails_for_good() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/elsewhere", server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;

    let outcomes = sink(&format!("{}/hooks", server.uri()))
        .push_leads(&loopback_io(), &[lead(1)])
        .await
        .unwrap();

    assert_eq!(
        outcomes,
        vec![PushOutcome::Failed {
            message: "the receiver answered 302; redirects are not followed".into(),
            retryable: false,
        }]
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn private_and_metadata_addresses_are_refused_by_the_default_policy() {
    for url in [
        "http://10.0.0.1/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/hooks",
    ] {
        let err = sink(url)
            .push_leads(&io(AddressPolicy::default()), &[lead(1), lead(2)])
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Http(HttpError::Refused { .. })),
            "{url}: {err:?}"
        );
    }

    // Loopback too, unless the policy allows it.
    let server = MockServer::start().await;
    let err = sink(&format!("{}/hooks", server.uri()))
        .push_leads(&io(AddressPolicy::default()), &[lead(1)])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ConnectorError::Http(HttpError::Refused { .. })
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_401_stops_the_push_because_the_receiver_refuses_onepane() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;

    let err = sink(&format!("{}/hooks", server.uri()))
        .push_leads(&loopback_io(), &[lead(1), lead(2)])
        .await
        .unwrap_err();

    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    assert_eq!(hooks(&server).await.len(), 1);
}

#[test]
fn settings_are_checked_when_the_connection_is_made() {
    let secret = || Secret::new(SECRET);
    for bad in [
        json!({}),
        json!({ "url": "not a url" }),
        json!({ "url": "ftp://crm.example/hooks" }),
        json!({ "url": "https://user:pw@crm.example/hooks" }),
        json!({ "url": "https://crm.example/hooks", "workspace_id": "x" }),
    ] {
        let err = WebhookSink::from_settings(&bad, secret()).unwrap_err();
        assert!(matches!(err, ConnectorError::Config(_)), "{bad}: {err:?}");
    }
    assert!(
        WebhookSink::from_settings(
            &json!({ "url": "https://crm.example/hooks" }),
            Secret::new(" ")
        )
        .is_err()
    );
    let ok = WebhookSink::from_settings(&json!({ "url": "https://crm.example/hooks" }), secret())
        .unwrap();
    assert_eq!(ok.batch_size(), 50);
    assert_eq!(ok.url().as_str(), "https://crm.example/hooks");
    assert!(!format!("{ok:?}").contains(SECRET));
}
