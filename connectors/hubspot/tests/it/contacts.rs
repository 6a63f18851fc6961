//! Leads become contacts, upserted by Onepane's id.

use std::time::Duration;

use onepane_connector::testkit::{lead, leads};
use onepane_connector::{ConnectorError, PushOutcome, Sink};
use onepane_connector_hubspot::HubSpotSink;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{self, CONTACTS_UPSERT, HubSpot};
use crate::fixtures::bearer_io;

fn keys(body: &serde_json::Value) -> Vec<(String, String)> {
    body["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["idProperty"].as_str().unwrap().to_owned(),
                i["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_batch_of_250_leads_goes_as_three_upserts_of_at_most_100() {
    let hubspot = HubSpot::start().await;
    hubspot.mount(hubspot.upserts(CONTACTS_UPSERT)).await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();
    assert_eq!(sink.batch_size(), 100);
    let batch = leads(250);

    let outcomes = sink.push_leads(&bearer_io(), &batch).await.unwrap();

    assert_eq!(outcomes.len(), 250);
    for (push, outcome) in batch.iter().zip(&outcomes) {
        assert_eq!(
            outcome,
            &PushOutcome::Pushed {
                remote_id: Some(fake::remote_id(&push.lead.id.to_string()))
            }
        );
    }
    let bodies = hubspot.upsert_bodies(CONTACTS_UPSERT).await;
    let sizes: Vec<usize> = bodies
        .iter()
        .map(|b| b["inputs"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    let sent: Vec<String> = bodies.iter().flat_map(keys).map(|(_, id)| id).collect();
    let expected: Vec<String> = batch.iter().map(|p| p.lead.id.to_string()).collect();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn a_lead_maps_to_hubspots_standard_contact_properties() {
    let hubspot = HubSpot::start().await;
    hubspot.mount(hubspot.upserts(CONTACTS_UPSERT)).await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();
    let push = lead(7);

    sink.push_leads(&bearer_io(), std::slice::from_ref(&push))
        .await
        .unwrap();

    let bodies = hubspot.upsert_bodies(CONTACTS_UPSERT).await;
    let input = &bodies[0]["inputs"][0];
    assert_eq!(input["idProperty"], "onepane_id");
    assert_eq!(input["id"], push.lead.id.to_string());
    assert_eq!(
        input["properties"],
        json!({
            "onepane_id": push.lead.id.to_string(),
            "email": "ada7@example.com",
            "firstname": "Ada7",
            "lastname": "King Lovelace",
            "phone": "+358 40 123 4567",
            "jobtitle": "Head of IT",
            "company": "Analytical Engines Oy",
            "website": "engines.example",
            "country": "FI",
            "message": "Needs 40 laptops by May.",
            "hs_lead_status": "NEW"
        })
    );
}

#[tokio::test]
async fn a_partial_failure_maps_each_record_by_its_id_not_its_position() {
    let hubspot = HubSpot::start().await;
    let batch = leads(5);
    let key = |i: usize| batch[i].lead.id.to_string();
    hubspot
        .mount(
            hubspot
                .upserts(CONTACTS_UPSERT)
                .refusing(&key(1))
                .refusing_in_message(&key(3))
                .reversed(),
        )
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let outcomes = sink.push_leads(&bearer_io(), &batch).await.unwrap();

    for i in [0, 2, 4] {
        assert_eq!(
            outcomes[i],
            PushOutcome::Pushed {
                remote_id: Some(fake::remote_id(&key(i)))
            },
            "lead {i}"
        );
    }
    let PushOutcome::Failed { message, retryable } = &outcomes[1] else {
        panic!("{:?}", outcomes[1]);
    };
    assert!(message.contains("VALIDATION_ERROR"), "{message}");
    assert!(!retryable);
    let PushOutcome::Failed { message, retryable } = &outcomes[3] else {
        panic!("{:?}", outcomes[3]);
    };
    assert!(message.contains("CONFLICT"), "{message}");
    assert!(!retryable);
    hubspot.checked_requests().await;
}

#[tokio::test]
async fn a_refused_batch_fails_only_the_records_hubspot_names() {
    let hubspot = HubSpot::start().await;
    let batch = leads(3);
    let bad = batch[2].lead.id.to_string();
    let refusal = hubspot.answer(
        CONTACTS_UPSERT,
        400,
        json!({
            "status": "error",
            "message": format!("Property values were not valid for {bad}"),
            "correlationId": "3b1f0c52-55b4-4c43-9a5e-6f7a3f1a0b9e",
            "category": "VALIDATION_ERROR",
            "context": { "ids": [bad] }
        }),
    );
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .respond_with(refusal)
        .mount(&hubspot.server)
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let outcomes = sink.push_leads(&bearer_io(), &batch).await.unwrap();

    assert!(
        matches!(&outcomes[2], PushOutcome::Failed { retryable: false, message } if message.contains("VALIDATION_ERROR")),
        "{:?}",
        outcomes[2]
    );
    for outcome in &outcomes[..2] {
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
    hubspot.checked_requests().await;
}

#[tokio::test]
async fn a_refused_batch_naming_no_record_fails_them_all_for_good() {
    let hubspot = HubSpot::start().await;
    let refusal = hubspot.answer(
        CONTACTS_UPSERT,
        400,
        json!({
            "status": "error",
            "message": "Unable to upsert: onepane_id is not a unique property",
            "correlationId": "3b1f0c52-55b4-4c43-9a5e-6f7a3f1a0b9e",
            "category": "VALIDATION_ERROR"
        }),
    );
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .respond_with(refusal)
        .mount(&hubspot.server)
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let outcomes = sink.push_leads(&bearer_io(), &leads(2)).await.unwrap();

    for outcome in outcomes {
        let PushOutcome::Failed { message, retryable } = outcome else {
            panic!("{outcome:?}");
        };
        assert!(message.contains("not a unique property"), "{message}");
        assert!(!retryable);
    }
    hubspot.checked_requests().await;
}

#[tokio::test]
async fn a_429_with_hubspots_body_is_retried_then_succeeds() {
    let hubspot = HubSpot::start().await;
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .respond_with(fake::burst_limited())
        .up_to_n_times(1)
        .mount(&hubspot.server)
        .await;
    hubspot.mount(hubspot.upserts(CONTACTS_UPSERT)).await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let outcomes = sink.push_leads(&bearer_io(), &leads(3)).await.unwrap();

    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, PushOutcome::Pushed { .. }))
    );
    let bodies = hubspot.upsert_bodies(CONTACTS_UPSERT).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the retry sends the same batch");
}

#[tokio::test]
async fn a_429_that_outlasts_the_retries_asks_to_wait() {
    let hubspot = HubSpot::start().await;
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .respond_with(fake::burst_limited())
        .mount(&hubspot.server)
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let err = sink.push_leads(&bearer_io(), &leads(3)).await.unwrap_err();

    let ConnectorError::Throttled { after, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*after, Duration::from_secs(10));
    assert!(err.is_transient());
    assert_eq!(hubspot.checked_requests().await.len(), 3);
}

#[tokio::test]
async fn a_spent_daily_limit_stops_the_remaining_batches() {
    let hubspot = HubSpot::start().await;
    let upserts = hubspot.upserts(CONTACTS_UPSERT);
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .respond_with(move |r: &wiremock::Request| {
            use wiremock::Respond;
            upserts
                .respond(r)
                .insert_header("x-hubspot-ratelimit-daily", "250000")
                .insert_header("x-hubspot-ratelimit-daily-remaining", "0")
        })
        .mount(&hubspot.server)
        .await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let err = sink
        .push_leads(&bearer_io(), &leads(150))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConnectorError::Throttled { after, .. } if after >= Duration::from_secs(3600)),
        "{err:?}"
    );
    assert_eq!(hubspot.checked_requests().await.len(), 1);
}

/// An answer cut off mid-JSON is worth sending again (the batch is an
/// upsert by key, so a second send writes nothing twice): transient. One
/// that is whole but wrong is not.
#[tokio::test]
async fn a_truncated_answer_is_transient_and_a_wrong_one_malformed() {
    for (body, truncated) in [
        (
            r#"{"status":"COMPLETE","results":[{"id":"51","propert"#,
            true,
        ),
        ("<html><body>Bad gateway</body></html>", false),
        (r#"{"status":"COMPLETE"}"#, false),
    ] {
        let hubspot = HubSpot::start().await;
        Mock::given(method("POST"))
            .and(path(CONTACTS_UPSERT))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(body.as_bytes(), "application/json"),
            )
            .mount(&hubspot.server)
            .await;
        let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

        let err = sink.push_leads(&bearer_io(), &leads(2)).await.unwrap_err();

        if truncated {
            assert!(
                matches!(err, ConnectorError::Truncated { .. }),
                "{body}: {err:?}"
            );
            assert!(err.is_transient());
        } else {
            assert!(
                matches!(err, ConnectorError::Malformed { .. }),
                "{body}: {err:?}"
            );
            assert!(!err.is_transient());
        }
        hubspot.checked_requests().await;
    }
}

#[tokio::test]
async fn sending_the_same_batch_twice_sends_the_same_keys() {
    let hubspot = HubSpot::start().await;
    hubspot.mount(hubspot.upserts(CONTACTS_UPSERT)).await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();
    let batch = leads(4);

    let first = sink.push_leads(&bearer_io(), &batch).await.unwrap();
    let second = sink.push_leads(&bearer_io(), &batch).await.unwrap();

    assert_eq!(first, second);
    let bodies = hubspot.upsert_bodies(CONTACTS_UPSERT).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(keys(&bodies[0]), keys(&bodies[1]));
    assert!(keys(&bodies[0]).iter().all(|(p, _)| p == "onepane_id"));
    assert_eq!(bodies[0], bodies[1]);
}

#[tokio::test]
async fn a_lead_twice_in_one_batch_is_sent_once() {
    let hubspot = HubSpot::start().await;
    hubspot.mount(hubspot.upserts(CONTACTS_UPSERT)).await;
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();
    let one = lead(1);
    let mut newer = one.clone();
    newer.lead.contact.title = Some("CTO".parse().unwrap());

    let outcomes = sink
        .push_leads(&bearer_io(), &[one.clone(), lead(2), newer])
        .await
        .unwrap();

    assert_eq!(outcomes[0], outcomes[2]);
    let bodies = hubspot.upsert_bodies(CONTACTS_UPSERT).await;
    let inputs = bodies[0]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["properties"]["jobtitle"], "CTO");
}
