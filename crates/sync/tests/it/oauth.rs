//! OAuth connections: tokens fetched once and stored sealed, renewed once
//! on a 401 or expiry however many runs need them, and a refused refresh
//! asking the partner to connect again.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use onepane_connector::oauth::TokenSet;
use onepane_connector::{Credentials, Secret};
use onepane_domain::activity::NotificationKind;
use onepane_domain::workspace::{Connection, ConnectionStatus};
use onepane_domain::{VendorId, WorkspaceId};
use onepane_store::Store;
use onepane_store::testing::TestDb;
use onepane_sync::{RunError, Vault, secret_context};
use serde_json::json;

use crate::on_both_backends;
use crate::support::*;

fn client_credentials(fake: &FakeVendor) -> Credentials {
    Credentials::Oauth2ClientCredentials {
        token_url: format!("{}/token", fake.base).parse().unwrap(),
        client_id: "onepane".into(),
        client_secret: Secret::new("client-secret"),
        scopes: vec!["partners.read".into()],
    }
}

async fn oauth_source(
    store: &Store,
    ws: WorkspaceId,
    vendor: VendorId,
    fake: &FakeVendor,
    kind: &str,
    credentials: &Credentials,
) -> Connection {
    rest_source(
        store,
        ws,
        vendor,
        manifest(&fake.base, 5, json!({ "type": kind })),
        Some(credentials),
    )
    .await
}

/// A fake vendor with `leads` leads that wants a bearer token not issued
/// yet, and a source reading it with client credentials.
async fn client_credentials_source(
    store: &Store,
    leads: usize,
) -> (WorkspaceId, FakeVendor, Connection) {
    let (ws, vendor) = tenants(store).await;
    let fake = FakeVendor::start(VendorData::generate(leads, 0, 0, 0)).await;
    fake.state().bearer = Some("no-token-yet".into());
    let conn = oauth_source(
        store,
        ws,
        vendor,
        &fake,
        "oauth2_client_credentials",
        &client_credentials(&fake),
    )
    .await;
    (ws, fake, conn)
}

/// The connection's stored tokens, opened, and their version.
async fn stored_tokens(store: &Store, conn: &Connection) -> (TokenSet, i64) {
    let (sealed, version) = store
        .system()
        .connection_secret(conn.workspace_id, conn.id, "tokens")
        .await
        .unwrap()
        .expect("tokens are stored");
    assert!(
        !String::from_utf8_lossy(&sealed).contains("tok-"),
        "the tokens are stored sealed"
    );
    assert!(
        TestVault
            .open(
                &secret_context(conn.workspace_id, conn.id, "credentials"),
                &sealed
            )
            .is_err(),
        "sealed for the tokens field only"
    );
    let plain = open(conn.workspace_id, conn.id, "tokens", &sealed);
    (serde_json::from_slice(&plain).unwrap(), version)
}

async fn put_tokens(store: &Store, conn: &Connection, tokens: &TokenSet) {
    let sealed = seal(
        conn.workspace_id,
        conn.id,
        "tokens",
        &serde_json::to_vec(tokens).unwrap(),
    );
    store
        .partner(conn.workspace_id)
        .put_connection_secret(conn.id, "tokens", &sealed)
        .await
        .unwrap();
}

fn expired(access: &str, refresh: Option<&str>) -> TokenSet {
    TokenSet {
        access_token: Secret::new(access),
        refresh_token: refresh.map(Secret::new),
        expires_at: Some(Utc::now() - chrono::Duration::minutes(10)),
        extra: BTreeMap::new(),
    }
}

async fn a_token_is_fetched_once_stored_sealed_and_renewed_on_a_401(db: TestDb) {
    let store = &db.store;
    let (ws, fake, conn) = client_credentials_source(store, 6).await;
    let engine = engine(store);

    engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(fake.state().token_grants, ["client_credentials"]);
    assert_eq!(leads(store, ws).await.len(), 6);
    let (tokens, version) = stored_tokens(store, &conn).await;
    assert_eq!(tokens.access_token.expose(), "tok-1");
    assert!(tokens.expires_at.is_some_and(|at| at > Utc::now()));

    // Another run (a fresh authorizer) uses the stored token.
    engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(fake.state().token_grants.len(), 1);
    assert!(fake.state().seen.iter().all(|s| s.answer == "ok"));

    // The vendor revokes it: one 401, one renewal, and the run succeeds.
    fake.state().bearer = Some("revoked".into());
    fake.clear_seen();
    let run = engine.run(&conn, None, &()).await.unwrap();
    assert_eq!(run.status, "succeeded");
    assert_eq!(fake.state().token_grants.len(), 2);
    let answers: Vec<&str> = fake.state().seen.iter().map(|s| s.answer).collect();
    assert_eq!(
        answers.iter().filter(|a| **a == "401").count(),
        1,
        "{answers:?}"
    );
    let (tokens, renewed) = stored_tokens(store, &conn).await;
    assert_eq!(tokens.access_token.expose(), "tok-2");
    assert_eq!(renewed, version + 1);
}

async fn concurrent_runs_renew_an_expired_token_once(db: TestDb) {
    let store = &db.store;
    let (_, fake, conn) = client_credentials_source(store, 4).await;
    engine(store).run(&conn, None, &()).await.unwrap();
    assert_eq!(fake.state().token_grants.len(), 1);

    // The stored token has expired (the API no longer takes it), and the
    // provider is slow to issue a new one.
    put_tokens(store, &conn, &expired("tok-1", None)).await;
    {
        let mut s = fake.state();
        s.bearer = Some("only-a-new-token".into());
        s.token_delay = Duration::from_millis(400);
    }
    fake.clear_seen();
    // Three replicas' engines start the connection at once: one holds it
    // and renews the token; the others find it busy and leave it be.
    let engines: Vec<_> = ["replica-a", "replica-b", "replica-c"]
        .into_iter()
        .map(|owner| engine_with(store, config(), owner))
        .collect();
    let (a, b, c) = tokio::join!(
        engines[0].run(&conn, None, &()),
        engines[1].run(&conn, None, &()),
        engines[2].run(&conn, None, &()),
    );
    let (mut succeeded, mut busy) = (0, 0);
    for run in [a, b, c] {
        match run {
            Ok(run) => {
                assert_eq!(run.status, "succeeded");
                succeeded += 1;
            }
            Err(RunError::Busy { holder, .. }) => {
                assert!(holder.starts_with("replica-"), "{holder}");
                busy += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((succeeded, busy), (1, 2));
    assert_eq!(
        fake.state().token_grants,
        ["client_credentials", "client_credentials"],
        "exactly one more token call"
    );
    let (tokens, _) = stored_tokens(store, &conn).await;
    assert_eq!(tokens.access_token.expose(), "tok-2");
    assert!(tokens.expires_at.is_some_and(|at| at > Utc::now()));
    // Every page went out with the new token: none was refused.
    assert!(fake.state().seen.iter().all(|s| s.answer == "ok"));
    assert!(!fake.state().seen.is_empty());
}

async fn a_refused_refresh_asks_the_partner_to_reconnect(db: TestDb) {
    let store = &db.store;
    let (ws, vendor) = tenants(store).await;
    let fake = FakeVendor::start(VendorData::generate(2, 0, 0, 0)).await;
    let credentials = Credentials::Oauth2AuthorizationCode {
        auth_url: format!("{}/authorize", fake.base).parse().unwrap(),
        token_url: format!("{}/token", fake.base).parse().unwrap(),
        client_id: "onepane".into(),
        client_secret: None,
        scopes: vec![],
    };
    let conn = oauth_source(
        store,
        ws,
        vendor,
        &fake,
        "oauth2_authorization_code",
        &credentials,
    )
    .await;
    put_tokens(store, &conn, &expired("stale", Some("refresh-revoked"))).await;
    {
        let mut s = fake.state();
        s.bearer = Some("stale".into());
        s.token_answer = TokenAnswer::Refuse;
    }

    let err = engine(store).run(&conn, None, &()).await.unwrap_err();
    assert!(
        matches!(&err, RunError::Reauthorize(m) if m.contains("invalid_grant")),
        "{err:?}"
    );
    assert_eq!(fake.state().token_grants, ["refresh_token"], "one refresh");
    assert!(
        fake.state().seen.is_empty(),
        "nothing was asked with the expired token"
    );
    let partner = store.partner(ws);
    assert_eq!(
        partner.connection(conn.id).await.unwrap().status,
        ConnectionStatus::NeedsReauthorization
    );
    let attention: Vec<_> = partner
        .notifications(false)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == NotificationKind::ConnectionAttention)
        .collect();
    assert_eq!(attention.len(), 1, "{attention:?}");
    assert_eq!(
        attention[0].link.as_deref(),
        Some(format!("/connections/{}", conn.id).as_str())
    );
    let run = &partner.sync_runs(conn.id, 1).await.unwrap()[0];
    assert_eq!(run.status, "failed");
    assert!(leads(store, ws).await.is_empty());
}

on_both_backends!(
    a_token_is_fetched_once_stored_sealed_and_renewed_on_a_401,
    concurrent_runs_renew_an_expired_token_once,
    a_refused_refresh_asks_the_partner_to_reconnect,
);
