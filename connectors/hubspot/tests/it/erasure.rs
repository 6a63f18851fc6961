//! A person erased on request is deleted from HubSpot for good, by email,
//! with the GDPR delete endpoint.

use onepane_connector::{ConnectorError, PushOutcome, Sink};
use onepane_connector_hubspot::HubSpotSink;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{self, HubSpot};
use crate::fixtures::bearer_io;

const GDPR_DELETE: &str = "/crm/v3/objects/contacts/gdpr-delete";

fn emails(list: &[&str]) -> Vec<String> {
    list.iter().map(|e| (*e).to_owned()).collect()
}

#[tokio::test]
async fn each_address_is_deleted_for_good_by_email() {
    let hubspot = HubSpot::start().await;
    Mock::given(method("POST"))
        .and(path(GDPR_DELETE))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hubspot.server)
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();
    assert!(sink.erases());

    let outcomes = sink
        .erase_contacts(
            &bearer_io(),
            &emails(&["ann@customer.example", "bo@customer.example"]),
        )
        .await
        .unwrap();

    assert_eq!(outcomes, vec![PushOutcome::Pushed { remote_id: None }; 2]);
    let bodies: Vec<serde_json::Value> = hubspot
        .checked_requests()
        .await
        .iter()
        .filter(|r| r.url.path() == GDPR_DELETE)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"objectId": "ann@customer.example", "idProperty": "email"}),
            json!({"objectId": "bo@customer.example", "idProperty": "email"}),
        ]
    );
}

#[tokio::test]
async fn a_refused_address_fails_alone_and_a_failing_server_is_tried_again_later() {
    let hubspot = HubSpot::start().await;
    Mock::given(method("POST"))
        .and(path(GDPR_DELETE))
        .and(body_partial_json(json!({"objectId": "bad@customer.example"})))
        .respond_with(hubspot.answer(
            GDPR_DELETE,
            400,
            json!({"status": "error", "category": "VALIDATION_ERROR", "message": "Invalid input", "correlationId": "0b6c0bd2-6b35-4a1b-9d2a-5f1b2c3d4e5f"}),
        ))
        .mount(&hubspot.server)
        .await;
    Mock::given(method("POST"))
        .and(path(GDPR_DELETE))
        .and(body_partial_json(
            json!({"objectId": "down@customer.example"}),
        ))
        .respond_with(ResponseTemplate::new(503))
        .mount(&hubspot.server)
        .await;
    Mock::given(method("POST"))
        .and(path(GDPR_DELETE))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hubspot.server)
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let outcomes = sink
        .erase_contacts(
            &bearer_io(),
            &emails(&["bad@customer.example", "ok@customer.example"]),
        )
        .await
        .unwrap();

    assert!(
        matches!(&outcomes[0], PushOutcome::Failed { retryable: false, message } if message.contains("Invalid input")),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1], PushOutcome::Pushed { remote_id: None });
    // A server that keeps failing (after the client's own retries) is a
    // transient error: the whole erasure waits for a later run.
    let err = sink
        .erase_contacts(&bearer_io(), &emails(&["down@customer.example"]))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    hubspot.checked_requests().await;
}

#[tokio::test]
async fn a_rate_limit_that_outlasts_the_retries_asks_to_wait() {
    let hubspot = HubSpot::start().await;
    Mock::given(method("POST"))
        .and(path(GDPR_DELETE))
        .respond_with(fake::burst_limited())
        .mount(&hubspot.server)
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let err = sink
        .erase_contacts(&bearer_io(), &emails(&["ann@customer.example"]))
        .await
        .unwrap_err();

    assert!(matches!(err, ConnectorError::Throttled { .. }), "{err:?}");
    assert!(err.is_transient());
}
