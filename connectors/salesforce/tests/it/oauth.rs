//! OAuth: the org's host comes from the token, and an expired session is
//! refreshed once and the call repeated.

use onepane_connector::testkit::{MemoryTokens, leads, oauth_io};
use onepane_connector::{ConnectorError, PushOutcome, Sink};
use onepane_connector_salesforce::{AUTH_URL, SCOPES, SalesforceSink};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{Org, TOKEN, UPSERT, Upserts, error, form, token_answer};
use crate::fixtures::{expired_tokens, tokens};

#[tokio::test]
async fn the_instance_url_of_the_token_is_the_api_host() {
    let login = Org::start().await;
    let instance = Org::start().await;
    instance.mount(Upserts::default()).await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer(
            "fresh",
            None,
            &instance.uri(),
        )))
        .expect(1)
        .mount(&login.server)
        .await;
    let store = MemoryTokens::holding(expired_tokens("stale", "r1"));
    let io = oauth_io(
        AUTH_URL,
        &format!("{}{TOKEN}", login.uri()),
        SCOPES,
        store.clone(),
    );
    let sink = SalesforceSink::from_settings(&json!({})).unwrap();

    let outcomes = sink.push_leads(&io, &leads(2)).await.unwrap();

    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, PushOutcome::Pushed { .. }))
    );
    assert_eq!(instance.upsert_bodies().await.len(), 1);
    let saved = store.current().unwrap();
    assert_eq!(saved.tokens.extra["instance_url"], instance.uri());
    assert_eq!(
        saved.tokens.refresh_token.unwrap().expose(),
        "r1",
        "kept: Salesforce sends none back"
    );
}

#[tokio::test]
async fn an_expired_session_is_refreshed_and_the_call_repeated() {
    let org = Org::start().await;
    Mock::given(method("PATCH"))
        .and(path(UPSERT))
        .and(header("authorization", "Bearer old"))
        .respond_with(error(
            401,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ))
        .mount(&org.server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(UPSERT))
        .and(header("authorization", "Bearer new"))
        .respond_with(Upserts::default())
        .mount(&org.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer(
            "new",
            None,
            &org.uri(),
        )))
        .expect(1)
        .mount(&org.server)
        .await;
    let store = MemoryTokens::holding(tokens("old", "r1", Some(&org.uri())));
    let io = oauth_io(AUTH_URL, &format!("{}{TOKEN}", org.uri()), SCOPES, store);
    let sink = SalesforceSink::from_settings(&json!({})).unwrap();

    let outcomes = sink.push_leads(&io, &leads(2)).await.unwrap();

    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, PushOutcome::Pushed { .. })),
        "{outcomes:?}"
    );
    let received = org.server.received_requests().await.unwrap();
    let token_calls: Vec<_> = received.iter().filter(|r| r.url.path() == TOKEN).collect();
    assert_eq!(token_calls.len(), 1);
    let fields = form(&token_calls[0].body);
    assert_eq!(fields["grant_type"], "refresh_token");
    assert_eq!(fields["refresh_token"], "r1");
    let bodies = org.upsert_bodies().await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the same call, repeated");
}

#[tokio::test]
async fn a_session_refused_after_refresh_needs_the_partner() {
    let org = Org::start().await;
    Mock::given(method("PATCH"))
        .and(path(UPSERT))
        .respond_with(error(
            401,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ))
        .mount(&org.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer(
            "new",
            None,
            &org.uri(),
        )))
        .mount(&org.server)
        .await;
    let store = MemoryTokens::holding(tokens("old", "r1", Some(&org.uri())));
    let io = oauth_io(AUTH_URL, &format!("{}{TOKEN}", org.uri()), SCOPES, store);
    let sink = SalesforceSink::from_settings(&json!({})).unwrap();

    let err = sink.push_leads(&io, &leads(1)).await.unwrap_err();

    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
}

#[tokio::test]
async fn a_revoked_refresh_token_asks_the_partner_to_connect_again() {
    let org = Org::start().await;
    Mock::given(method("PATCH"))
        .and(path(UPSERT))
        .respond_with(error(
            401,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ))
        .mount(&org.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "expired access/refresh token"
        })))
        .mount(&org.server)
        .await;
    let store = MemoryTokens::holding(tokens("old", "revoked", Some(&org.uri())));
    let io = oauth_io(
        AUTH_URL,
        &format!("{}{TOKEN}", org.uri()),
        SCOPES,
        store.clone(),
    );
    let sink = SalesforceSink::from_settings(&json!({})).unwrap();

    let err = sink.push_leads(&io, &leads(1)).await.unwrap_err();

    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    assert!(store.refused_reason().unwrap().contains("invalid_grant"));
}
