//! Leads become Lead records, upserted by the external id field.

use std::time::Duration;

use onepane_connector::testkit::{lead, leads};
use onepane_connector::{ConnectorError, PushOutcome, Sink};
use onepane_connector_salesforce::SalesforceSink;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{self, Org, UPSERT, Upserts, error};
use crate::fixtures::bearer_io;

#[tokio::test]
async fn a_batch_of_450_leads_goes_as_calls_of_200_200_and_50() {
    let org = Org::start().await;
    org.mount(Upserts::default()).await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();
    assert_eq!(sink.batch_size(), 200);
    assert!(!sink.takes_deals());
    let batch = leads(450);

    let outcomes = sink.push_leads(&bearer_io(), &batch).await.unwrap();

    for (push, outcome) in batch.iter().zip(&outcomes) {
        assert_eq!(
            outcome,
            &PushOutcome::Pushed {
                remote_id: Some(fake::lead_id(&push.lead.id.to_string()))
            }
        );
    }
    let bodies = org.upsert_bodies().await;
    let sizes: Vec<usize> = bodies
        .iter()
        .map(|b| b["records"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [200, 200, 50]);
}

#[tokio::test]
async fn a_lead_maps_to_standard_lead_fields() {
    let org = Org::start().await;
    org.mount(Upserts::default()).await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();
    let push = lead(3);
    let mut bare = lead(4);
    bare.lead.company = None;
    bare.lead.contact.name = "Cher".parse().unwrap();

    sink.push_leads(&bearer_io(), &[push.clone(), bare.clone()])
        .await
        .unwrap();

    let bodies = org.upsert_bodies().await;
    assert_eq!(
        bodies[0]["records"][0],
        json!({
            "attributes": { "type": "Lead" },
            "Onepane_Id__c": push.lead.id.to_string(),
            "FirstName": "Ada3",
            "LastName": "King Lovelace",
            "Company": "Analytical Engines Oy",
            "Email": "ada3@example.com",
            "Phone": "+358 40 123 4567",
            "Title": "Head of IT",
            "Website": "engines.example",
            "Country": "FI",
            "Description": "Needs 40 laptops by May.",
            "LeadSource": "Web"
        })
    );
    let second = &bodies[0]["records"][1];
    assert_eq!(second["LastName"], "Cher");
    assert!(second.get("FirstName").is_none());
    assert_eq!(second["Company"], "[not provided]");
}

#[tokio::test]
async fn picklist_orgs_get_the_country_code() {
    let org = Org::start().await;
    org.mount(Upserts::default()).await;
    let sink = SalesforceSink::from_settings(&json!({
        "instance_url": org.uri(),
        "country_field": "CountryCode"
    }))
    .unwrap();

    sink.push_leads(&bearer_io(), &[lead(1)]).await.unwrap();

    let record = &org.upsert_bodies().await[0]["records"][0];
    assert_eq!(record["CountryCode"], "FI");
    assert!(record.get("Country").is_none());
}

#[tokio::test]
async fn per_record_errors_fail_only_their_records() {
    let org = Org::start().await;
    let batch = leads(4);
    let key = |i: usize| batch[i].lead.id.to_string();
    org.mount(
        Upserts::default()
            .refusing(&key(0), "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", &["LastName"])
            .refusing(&key(2), "DUPLICATE_VALUE", "duplicate value found: Onepane_Id__c duplicates value on record with id: 00Q000000000001", &["Onepane_Id__c"])
            .refusing(&key(3), "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", &[]),
    )
    .await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();

    let outcomes = sink.push_leads(&bearer_io(), &batch).await.unwrap();

    assert_eq!(
        outcomes[0],
        PushOutcome::Failed {
            message:
                "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (fields: LastName)"
                    .into(),
            retryable: false
        }
    );
    assert_eq!(
        outcomes[1],
        PushOutcome::Pushed {
            remote_id: Some(fake::lead_id(&key(1)))
        }
    );
    assert!(
        matches!(&outcomes[2], PushOutcome::Failed { message, retryable: false } if message.starts_with("DUPLICATE_VALUE: duplicate value found")),
        "{:?}",
        outcomes[2]
    );
    assert!(
        matches!(
            &outcomes[3],
            PushOutcome::Failed {
                retryable: true,
                ..
            }
        ),
        "{:?}",
        outcomes[3]
    );
    org.upsert_bodies().await;
}

#[tokio::test]
async fn request_limit_exceeded_asks_to_wait_an_hour() {
    let org = Org::start().await;
    Mock::given(method("PATCH"))
        .and(path(UPSERT))
        .respond_with(error(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ))
        .mount(&org.server)
        .await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();

    let err = sink.push_leads(&bearer_io(), &leads(2)).await.unwrap_err();

    let ConnectorError::Throttled { after, message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*after, Duration::from_secs(3600));
    assert!(message.contains("REQUEST_LIMIT_EXCEEDED"), "{message}");
    assert_eq!(org.upsert_bodies().await.len(), 1);
}

#[tokio::test]
async fn a_refused_call_is_read_from_the_error_array() {
    let org = Org::start().await;
    Mock::given(method("PATCH"))
        .and(path(UPSERT))
        .respond_with(error(
            400,
            "INVALID_FIELD",
            "No such column 'Onepane_Id__c' on sobject of type Lead",
        ))
        .mount(&org.server)
        .await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();

    let outcomes = sink.push_leads(&bearer_io(), &leads(2)).await.unwrap();

    for outcome in outcomes {
        assert_eq!(
            outcome,
            PushOutcome::Failed {
                message: "Salesforce refused the call: INVALID_FIELD: No such column 'Onepane_Id__c' on sobject of type Lead".into(),
                retryable: false
            }
        );
    }
}

#[tokio::test]
async fn other_refusals_are_remote_errors_with_salesforces_message() {
    let org = Org::start().await;
    Mock::given(method("PATCH"))
        .and(path(UPSERT))
        .respond_with(error(
            403,
            "API_DISABLED_FOR_ORG",
            "The REST API is not enabled for this Organization.",
        ))
        .mount(&org.server)
        .await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();

    let err = sink.push_leads(&bearer_io(), &leads(1)).await.unwrap_err();

    let ConnectorError::Remote {
        status, message, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*status, 403);
    assert_eq!(
        message,
        "API_DISABLED_FOR_ORG: The REST API is not enabled for this Organization."
    );
    assert!(!err.is_transient());
}

/// An answer cut off mid-JSON is worth sending again (an upsert by
/// external id writes nothing twice): transient. One that is whole but
/// wrong (not a list, a result short) is malformed.
#[tokio::test]
async fn a_truncated_answer_is_transient_and_a_wrong_one_malformed() {
    let org = Org::start().await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();
    for (body, truncated) in [
        (
            r#"[{"id":"00Q000000000001","success":true,"errors":[]},{"id":"00Q0"#,
            true,
        ),
        (r#"{"id":"00Q000000000001","success":true}"#, false),
        (
            r#"[{"id":"00Q000000000001","success":true,"errors":[]}]"#,
            false,
        ),
    ] {
        org.server.reset().await;
        Mock::given(method("PATCH"))
            .and(path(UPSERT))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(body.as_bytes(), "application/json"),
            )
            .mount(&org.server)
            .await;

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
    }
}

#[tokio::test]
async fn sending_the_same_batch_twice_sends_the_same_external_ids() {
    let org = Org::start().await;
    org.mount(Upserts::default()).await;
    let sink = SalesforceSink::from_settings(&org.settings()).unwrap();
    let batch = leads(3);

    let first = sink.push_leads(&bearer_io(), &batch).await.unwrap();
    let second = sink.push_leads(&bearer_io(), &batch).await.unwrap();

    assert_eq!(first, second);
    let bodies = org.upsert_bodies().await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
}
