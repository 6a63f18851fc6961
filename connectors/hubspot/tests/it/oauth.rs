//! OAuth: a refused access token is refreshed once, however many pushes
//! find it refused at the same time.

use onepane_connector::testkit::{MemoryTokens, leads, oauth_io};
use onepane_connector::{ConnectorError, PushOutcome, Sink};
use onepane_connector_hubspot::{AUTH_URL, HubSpotSink, SCOPES};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{CONTACTS_UPSERT, HubSpot, TOKEN};
use crate::fixtures::tokens;

fn expired_token() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({
        "status": "error",
        "message": "The OAuth token used to make this call expired 2 minute(s) ago.",
        "correlationId": "5a0b4b44-1c2d-4c8f-9a8e-0c6f1d3f3b11",
        "category": "EXPIRED_AUTHENTICATION",
        "context": { "expiredAt": ["2026-03-01T09:58:00Z"] }
    }))
}

fn new_tokens() -> serde_json::Value {
    json!({
        "access_token": "new-access",
        "refresh_token": "new-refresh",
        "expires_in": 1800,
        "token_type": "bearer",
        "token_use": "access_token",
        "hub_id": 12345,
        "scopes": SCOPES
    })
}

/// Form fields of a token request.
fn form(body: &[u8]) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

// The SDK's `OAuthAuthorizer::renew` cannot tell which token the provider
// refused: a worker that renews after another worker's refresh compares
// against the already-new cached version and refreshes again (4 token calls
// for 4 pushes). Un-ignore once `crates/connector/src/oauth.rs` is fixed.
#[tokio::test]
async fn concurrent_pushes_refused_with_401_refresh_the_token_once() {
    let hubspot = HubSpot::start().await;
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .and(header("authorization", "Bearer old-access"))
        .respond_with(expired_token())
        .mount(&hubspot.server)
        .await;
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .and(header("authorization", "Bearer new-access"))
        .respond_with(hubspot.upserts(CONTACTS_UPSERT))
        .mount(&hubspot.server)
        .await;
    let token_answer = hubspot.answer(TOKEN, 200, new_tokens());
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(token_answer)
        .mount(&hubspot.server)
        .await;
    let store = MemoryTokens::holding(tokens("old-access", "old-refresh"));
    let io = oauth_io(
        AUTH_URL,
        &format!("{}{TOKEN}", hubspot.uri()),
        SCOPES,
        store.clone(),
    );
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();
    let (a, b, c, d) = (leads(2), leads(2), leads(2), leads(2));

    let outcomes = tokio::join!(
        sink.push_leads(&io, &a),
        sink.push_leads(&io, &b),
        sink.push_leads(&io, &c),
        sink.push_leads(&io, &d),
    );

    for pushed in [outcomes.0, outcomes.1, outcomes.2, outcomes.3] {
        let pushed = pushed.unwrap();
        assert!(
            pushed
                .iter()
                .all(|o| matches!(o, PushOutcome::Pushed { .. })),
            "{pushed:?}"
        );
    }
    let received = hubspot.checked_requests().await;
    let token_calls: Vec<_> = received.iter().filter(|r| r.url.path() == TOKEN).collect();
    assert_eq!(token_calls.len(), 1, "exactly one refresh");
    let fields = form(&token_calls[0].body);
    assert_eq!(fields["grant_type"], "refresh_token");
    assert_eq!(fields["refresh_token"], "old-refresh");
    let saved = store.current().unwrap();
    assert_eq!(saved.tokens.access_token.expose(), "new-access");
    assert_eq!(saved.tokens.refresh_token.unwrap().expose(), "new-refresh");
}

#[tokio::test]
async fn a_refused_refresh_asks_the_partner_to_connect_again() {
    let hubspot = HubSpot::start().await;
    Mock::given(method("POST"))
        .and(path(CONTACTS_UPSERT))
        .respond_with(expired_token())
        .mount(&hubspot.server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "missing or invalid refresh token"
        })))
        .mount(&hubspot.server)
        .await;
    let store = MemoryTokens::holding(tokens("old-access", "revoked"));
    let io = oauth_io(
        AUTH_URL,
        &format!("{}{TOKEN}", hubspot.uri()),
        SCOPES,
        store.clone(),
    );
    let sink = HubSpotSink::from_settings(&hubspot.settings()).unwrap();

    let err = sink.push_leads(&io, &leads(1)).await.unwrap_err();

    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    assert!(store.refused_reason().is_some());
    hubspot.checked_requests().await;
}
