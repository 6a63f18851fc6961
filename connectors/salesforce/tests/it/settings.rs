//! Settings, endpoints and scopes.

use onepane_connector::oauth::{OAuthApp, authorization};
use onepane_connector::testkit::leads;
use onepane_connector::{ConnectorError, Sink};
use onepane_connector_salesforce::{AUTH_URL, SCOPES, SalesforceSink, TOKEN_URL};
use serde_json::json;

use crate::fixtures::bearer_io;

#[test]
fn every_setting_is_optional_and_unknown_ones_are_refused() {
    let sink = SalesforceSink::from_settings(&json!({})).unwrap();
    assert_eq!(sink.batch_size(), 200);
    assert!(SalesforceSink::from_settings(&serde_json::Value::Null).is_ok());
    assert!(SalesforceSink::from_settings(&json!({ "workspace_id": "x" })).is_err());
    assert!(SalesforceSink::from_settings(&json!({ "api_version": "62" })).is_err());
    assert!(SalesforceSink::from_settings(&json!({ "external_id_field": "Lead/../x" })).is_err());
    assert!(SalesforceSink::from_settings(&json!({ "instance_url": "not a url" })).is_err());
    assert!(SalesforceSink::from_settings(&json!({ "country_field": "State" })).is_err());
}

#[tokio::test]
async fn without_an_instance_url_anywhere_the_connection_is_misconfigured() {
    let sink = SalesforceSink::from_settings(&json!({})).unwrap();
    let err = sink.push_leads(&bearer_io(), &leads(1)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Config(_)), "{err:?}");
}

#[test]
fn the_authorization_url_is_the_web_server_flow_with_pkce() {
    let app = OAuthApp {
        auth_url: Some(AUTH_URL.parse().unwrap()),
        token_url: TOKEN_URL.parse().unwrap(),
        client_id: "3MVG9onepane".into(),
        client_secret: Some(onepane_connector::Secret::new("s")),
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
    };
    let redirect = "https://app.onepane.example/connections/callback"
        .parse()
        .unwrap();

    let auth = authorization(&app, &redirect).unwrap();

    assert_eq!(auth.url.path(), "/services/oauth2/authorize");
    let query: std::collections::BTreeMap<_, _> = auth.url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["scope"], "api refresh_token");
    assert_eq!(
        TOKEN_URL,
        "https://login.salesforce.com/services/oauth2/token"
    );
}
