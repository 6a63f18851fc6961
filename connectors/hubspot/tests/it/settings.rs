//! Settings, endpoints and scopes.

use onepane_connector::Sink;
use onepane_connector::oauth::{OAuthApp, authorization};
use onepane_connector_hubspot::{AUTH_URL, HubSpotSink, SCOPES, TOKEN_URL};
use serde_json::json;

use crate::openapi::Spec;

#[test]
fn every_setting_is_optional_and_unknown_ones_are_refused() {
    let sink = HubSpotSink::from_settings(&json!({})).unwrap();
    assert_eq!(sink.batch_size(), 100);
    assert!(sink.takes_deals());
    assert!(HubSpotSink::from_settings(&serde_json::Value::Null).is_ok());
    assert!(HubSpotSink::from_settings(&json!({ "workspace_id": "x" })).is_err());
    assert!(HubSpotSink::from_settings(&json!({ "id_property": "Onepane Id" })).is_err());
    assert!(HubSpotSink::from_settings(&json!({ "id_property": "email" })).is_err());
    assert!(HubSpotSink::from_settings(&json!({ "base_url": "ftp://example.com" })).is_err());
    assert!(HubSpotSink::from_settings(&json!({ "deals": "yes" })).is_err());
}

#[test]
fn the_endpoints_are_hubspots_published_ones() {
    let contacts = Spec::load("crm-contacts-v3.json");
    let oauth = Spec::load("oauth-v3.json");
    let flow =
        &contacts.doc()["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], AUTH_URL);
    let token: url::Url = TOKEN_URL.parse().unwrap();
    assert_eq!(oauth.doc()["servers"][0]["url"], "https://api.hubapi.com");
    assert!(oauth.operation("POST", token.path()).is_some());
    let deals = Spec::load("crm-deals-v3.json");
    for (spec, scope) in [
        (&contacts, "crm.objects.contacts.write"),
        (&deals, "crm.objects.deals.write"),
    ] {
        assert!(SCOPES.contains(&scope));
        let scopes = &spec.doc()["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
            ["scopes"];
        assert!(scopes.get(scope).is_some(), "{scope}");
    }
}

#[test]
fn the_authorization_url_asks_for_the_scopes_with_pkce() {
    let app = OAuthApp {
        auth_url: Some(AUTH_URL.parse().unwrap()),
        token_url: TOKEN_URL.parse().unwrap(),
        client_id: "onepane-app".into(),
        client_secret: None,
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
    };
    let redirect = "https://app.onepane.example/connections/callback"
        .parse()
        .unwrap();

    let auth = authorization(&app, &redirect).unwrap();

    assert_eq!(auth.url.host_str(), Some("app.hubspot.com"));
    let query: std::collections::BTreeMap<_, _> = auth.url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "onepane-app");
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(!query["code_challenge"].is_empty());
    assert_eq!(query["scope"], SCOPES.join(" "));
}
