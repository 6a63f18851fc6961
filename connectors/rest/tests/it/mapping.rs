//! Mapping records onto Onepane's entities: a record that does not map is
//! rejected on its own, and credentials are checked against the manifest.

use onepane_connector::{Credentials, KeyPlacement, Record, Secret, Stream};
use serde_json::json;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::pagination::leads_manifest;
use crate::support::{io, io_with, read_all, source};

#[tokio::test]
async fn a_record_that_does_not_map_is_rejected_with_its_pointer_and_the_others_pass() {
    let vendor = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": 1, "name": "Ada Lovelace", "email": "ADA@example.com"},
            {"id": 2, "name": "Bad Email", "email": "not-an-email"},
            {"id": 3, "email": "nameless@example.com"},
            {"unrelated": true},
            {"id": 5, "name": "Grace Hopper"}
        ]})))
        .mount(&vendor)
        .await;
    let source = source(&leads_manifest("/data", "{type: none}"), &vendor.uri());

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["1", "5"]);
    let Record::Lead(ada) = &pass.records[0].record else {
        panic!("{:?}", pass.records[0]);
    };
    assert_eq!(ada.contact.name.as_str(), "Ada Lovelace");
    assert_eq!(ada.company, None);

    let at: Vec<_> = pass.rejected.iter().map(|r| r.at.as_str()).collect();
    assert_eq!(at, ["/data/1", "/data/2", "/data/3"]);
    let keys: Vec<_> = pass.rejected.iter().map(|r| r.key.as_deref()).collect();
    assert_eq!(keys, [Some("2"), Some("3"), None]);
    let messages: Vec<_> = pass.rejected.iter().map(|r| r.message.as_str()).collect();
    assert!(messages[0].starts_with("contact.email:"), "{}", messages[0]);
    assert!(
        messages[1].contains("contact") && messages[1].contains("name"),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].contains("none of the map's pointers"),
        "{}",
        messages[2]
    );
}

#[tokio::test]
async fn an_api_key_in_the_query_comes_from_the_connection() {
    let vendor = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .and(query_param("api_key", "k-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&vendor)
        .await;
    let manifest = leads_manifest("/data", "{type: none}").replace(
        "auth: {type: none}",
        "auth: {type: api_key, name: api_key, placement: query}",
    );
    let source = source(&manifest, &vendor.uri());
    let credentials = Credentials::ApiKey {
        name: "api_key".into(),
        value: Secret::new("k-123"),
        placement: KeyPlacement::Query,
    };
    assert_eq!(source.check_credentials(&credentials), Ok(()));

    let pass = read_all(&source, &io_with(&credentials), Stream::Leads, None)
        .await
        .unwrap();

    assert!(pass.records.is_empty());
}

#[test]
fn credentials_of_another_kind_or_name_do_not_fit_the_manifest() {
    let source = source(
        &leads_manifest("/data", "{type: none}").replace(
            "auth: {type: none}",
            "auth: {type: api_key, name: X-Api-Key}",
        ),
        "http://127.0.0.1:9",
    );
    let key = |name: &str, placement| Credentials::ApiKey {
        name: name.into(),
        value: Secret::new("k"),
        placement,
    };
    assert_eq!(
        source.check_credentials(&key("x-api-key", KeyPlacement::Header)),
        Ok(())
    );
    let err = source
        .check_credentials(&key("X-Token", KeyPlacement::Header))
        .unwrap_err();
    assert!(
        err.contains("`X-Api-Key`") && err.contains("`X-Token`"),
        "{err}"
    );
    let err = source
        .check_credentials(&key("X-Api-Key", KeyPlacement::Query))
        .unwrap_err();
    assert!(err.contains("header") && err.contains("query"), "{err}");
    let err = source
        .check_credentials(&Credentials::Bearer {
            token: Secret::new("t"),
        })
        .unwrap_err();
    assert_eq!(
        err,
        "the vendor takes `api_key` credentials, the connection has `bearer`"
    );

    let bearer = crate::support::source(
        &leads_manifest("/data", "{type: none}")
            .replace("auth: {type: none}", "auth: {type: bearer}"),
        "http://127.0.0.1:9",
    );
    assert_eq!(
        bearer.check_credentials(&Credentials::Bearer {
            token: Secret::new("t")
        }),
        Ok(())
    );
    assert!(bearer.check_credentials(&Credentials::None).is_err());
}
