//! Attacks on the API: tokens and cross-tenant access.
//!
//! Every forged token here is signed for real, with the server's own key
//! (opened from the database with the server's secret key) unless the point
//! is a foreign key, so each refusal is for the reason the test names and
//! not because the forgery was clumsy.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::Signer as _;
use hmac::{Hmac, Mac as _};
use onepane_domain::activity::Notification;
use onepane_domain::campaign::CampaignActivation;
use onepane_domain::deal::{DealRegistration, DealStatus};
use onepane_domain::lead::{Lead, LeadStatus};
use onepane_domain::{ApiClientId, Tier, VendorId, WorkspaceId};
use onepane_server::auth::jwt::{KeyRing, SigningKey, TokenError, TokenPolicy};
use onepane_server::auth::keys::{new_stored_key, open_key};
use onepane_server::seal::Sealer;
use onepane_store::{
    DeliveryFilter, Partner, PublishedAsset, PublishedCampaign, PublishedPriceItem,
    PublishedPriceList, WebhookDelivery,
};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::Backend;
use crate::world::{World, api_client, on_both_backends, token};

// ---- requests, problems and forged tokens -------------------------------------

const PROBLEMS: &str = "https://onepane.dev/problems/";

/// A response: status, headers and JSON body (Null when empty).
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A request with a bearer token and, when given, a JSON body.
async fn call(
    world: &World,
    method: Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = world.request(method, path, bearer);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// Asserts an RFC 9457 problem document of this status and type.
fn assert_problem(reply: &Reply, status: u16, slug: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["type"],
        format!("{PROBLEMS}{slug}"),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["status"], status, "{}", reply.body);
    assert!(
        reply.body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        reply.body
    );
    assert!(
        reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        reply.body
    );
}

fn assert_not_found(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 404, "{what}: {}", reply.body);
    assert_problem(reply, 404, "not-found");
}

/// Asserts a 401 for a presented bearer token that was refused because
/// `why` (the `error_description` of the challenge).
fn assert_refused_token(reply: &Reply, why: &str, case: &str) {
    assert_eq!(reply.status, 401, "{case}: {}", reply.body);
    assert_problem(reply, 401, "unauthorized");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            format!(
                "Bearer realm=\"onepane\", error=\"invalid_token\", error_description=\"{why}\""
            )
            .as_str()
        ),
        "{case}"
    );
}

/// The server's secret key, which seals the signing keys at rest.
fn sealer(world: &World) -> Sealer {
    let (key, _) = onepane_server::secret_key::load_or_create(&world.app.data_dir).unwrap();
    Sealer::new(&key)
}

/// The key the server signs access tokens with now.
async fn server_key(world: &World) -> SigningKey {
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let stored = world.app.store.system().signing_keys(since).await.unwrap();
    let active = stored.iter().find(|k| k.retired_at.is_none()).unwrap();
    open_key(&sealer(world), active).unwrap()
}

/// The issuer and audience the server puts in and requires of its tokens.
fn policy(world: &World) -> TokenPolicy {
    let issuer = format!("http://{}", world.app.addr);
    let audience = format!("{issuer}/api");
    TokenPolicy::new(issuer, audience)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims the server would issue to `client` of `vendor` now.
fn claims(world: &World, client: &ApiClientId, vendor: VendorId, scope: &str) -> Value {
    let policy = policy(world);
    let now = now();
    json!({
        "iss": policy.issuer,
        "sub": client.to_string(),
        "aud": policy.audience,
        "exp": now + 900,
        "nbf": now,
        "iat": now,
        "jti": uuid::Uuid::now_v7().to_string(),
        "client_id": client.to_string(),
        "scope": scope,
        "vendor_id": vendor.to_string(),
    })
}

/// Signs any header and claims with an Ed25519 seed, bypassing every check
/// the server's own issuer makes, the way an attacker holding a key would.
fn forge(seed: &[u8; 32], header: &Value, claims: &Value) -> String {
    let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = ed25519_dalek::SigningKey::from_bytes(seed).sign(message.as_bytes());
    format!("{message}.{}", b64(signature.to_bytes()))
}

/// An HS256 token whose HMAC secret is `secret`: the algorithm-confusion attack.
fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(message.as_bytes());
    format!("{message}.{}", b64(mac.finalize().into_bytes()))
}

/// The JSON header of a compact JWS.
fn jwt_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// Every `kid` the JWK Set publishes.
async fn jwks_kids(world: &World) -> Vec<String> {
    let jwks = send(
        world
            .app
            .client
            .get(world.app.url("/.well-known/jwks.json")),
    )
    .await;
    assert_eq!(jwks.status, 200, "{}", jwks.body);
    jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A token request with a form body and, when given, HTTP Basic credentials.
async fn token_request(world: &World, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Reply {
    let mut request = world
        .app
        .client
        .post(world.app.url("/oauth/token"))
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    send(request).await
}

/// Asserts an RFC 6749 §5.2 error, which is never cached.
fn assert_oauth_error(reply: &Reply, status: u16, error: &str, case: &str) {
    assert_eq!(reply.status, status, "{case}: {}", reply.body);
    assert_eq!(reply.body["error"], error, "{case}: {}", reply.body);
    assert!(
        reply.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{case}: {}",
        reply.body
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{case}");
}

fn campaign_body(name: &str, tiers: &[&str]) -> Value {
    json!({
        "audience": { "tiers": tiers },
        "variants": [{
            "locale": "en",
            "name": name,
            "landing": {
                "headline": "Spring into the cloud",
                "body": "Twenty percent off every cloud plan until May.",
                "call_to_action": "Talk to us"
            }
        }]
    })
}

fn lead_body(external_id: &str) -> Value {
    json!({
        "external_id": external_id,
        "contact": { "name": "Ada Lovelace", "email": "ada@customer.example" },
        "company": { "name": "Customer Oy", "domain": "customer.example", "country": "FI" },
        "message": "Wants a demo in March."
    })
}

fn deal_body(vendor: VendorId) -> Value {
    json!({
        "vendor_ids": [vendor],
        "title": "Customer Oy cloud migration",
        "customer": { "name": "Customer Oy", "domain": null, "country": "FI" },
        "amount": { "value": "1000.00", "currency": "EUR" }
    })
}

// ---- 1. tokens ---------------------------------------------------------------

on_both_backends!(
    forged_and_misdirected_tokens_are_refused_with_a_bearer_challenge,
    a_request_without_a_bearer_token_is_challenged,
);

async fn forged_and_misdirected_tokens_are_refused_with_a_bearer_challenge(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    let (v1, gold) = (&world.v1, &world.gold);
    let partners = "/api/v1/vendor/partners";
    let key = server_key(&world).await;
    let policy = policy(&world);
    let ring = KeyRing::new(key.clone());
    let scopes = vec!["partners:read".to_owned()];
    let issue = |policy: &TokenPolicy, at: i64| {
        ring.issue(policy, &v1.client_id.to_string(), v1.id, &scopes, at)
            .unwrap()
            .0
    };
    let good_header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": key.kid() });
    let good_claims = claims(&world, &v1.client_id, v1.id, "partners:read");

    // The setup can pass: a token from the server's own issuer, and one
    // built by hand the same way every forgery below is.
    for (case, token) in [
        ("issued with the server's key", issue(&policy, now())),
        (
            "hand-built with the server's key",
            forge(key.seed(), &good_header, &good_claims),
        ),
    ] {
        let reply = call(&world, Method::GET, partners, &token, None).await;
        assert_eq!(reply.status, 200, "{case}: {}", reply.body);
        let names: Vec<&str> = reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{case}: {}", reply.body);
    }

    let foreign = SigningKey::from_seed([0x5a; 32]);
    assert_ne!(foreign.kid(), key.kid());
    let wrong = |issuer: &str, audience: &str| TokenPolicy::new(issuer, audience);
    let two_hours = 2 * 3600;
    let mut without_typ = good_header.clone();
    without_typ.as_object_mut().unwrap().remove("typ");
    let unsigned = format!(
        "{}.{}.",
        b64(json!({ "alg": "none", "typ": "at+jwt" }).to_string()),
        b64(good_claims.to_string())
    );
    let hs_header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": key.kid() });
    let jwks = send(
        world
            .app
            .client
            .get(world.app.url("/.well-known/jwks.json")),
    )
    .await;
    let published_x = jwks.body["keys"][0]["x"].as_str().unwrap().to_owned();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(&published_x).unwrap(),
        key.public_key()
    );
    // A token granting only deals:read, its payload rewritten to partners:read.
    let tampered = {
        let narrow = ring
            .issue(
                &policy,
                &v1.client_id.to_string(),
                v1.id,
                &["deals:read".to_owned()],
                now(),
            )
            .unwrap()
            .0;
        let parts: Vec<&str> = narrow.split('.').collect();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["scope"] = json!("partners:read");
        format!("{}.{}.{}", parts[0], b64(payload.to_string()), parts[2])
    };

    let cases: Vec<(&str, String, TokenError)> = vec![
        (
            "alg none, no signature",
            unsigned,
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "another Ed25519 key under the server's kid",
            forge(foreign.seed(), &good_header, &good_claims),
            TokenError::BadSignature,
        ),
        (
            "a kid the server does not know",
            forge(
                foreign.seed(),
                &json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": foreign.kid() }),
                &good_claims,
            ),
            TokenError::UnknownKey,
        ),
        (
            "the wrong audience",
            issue(
                &wrong(&policy.issuer, "https://elsewhere.example/api"),
                now(),
            ),
            TokenError::WrongAudience,
        ),
        (
            "the wrong issuer",
            issue(&wrong("https://elsewhere.example", &policy.audience), now()),
            TokenError::WrongIssuer,
        ),
        (
            "expired (issued two hours ago)",
            issue(&policy, now() - two_hours),
            TokenError::Expired,
        ),
        (
            "not valid for another hour",
            issue(&policy, now() + 3600),
            TokenError::NotYetValid,
        ),
        (
            "a header without typ",
            forge(key.seed(), &without_typ, &good_claims),
            TokenError::WrongType,
        ),
        (
            "typ JWT",
            forge(
                key.seed(),
                &json!({ "alg": "EdDSA", "typ": "JWT", "kid": key.kid() }),
                &good_claims,
            ),
            TokenError::WrongType,
        ),
        (
            "HS256 keyed with the raw public key",
            hs256(&key.public_key(), &hs_header, &good_claims),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "HS256 keyed with the JWK's x",
            hs256(published_x.as_bytes(), &hs_header, &good_claims),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "a payload rewritten after signing",
            tampered,
            TokenError::BadSignature,
        ),
        (
            "a partner's personal access token",
            gold.token.clone(),
            TokenError::Malformed,
        ),
    ];
    for (case, token, why) in &cases {
        let reply = call(&world, Method::GET, partners, token, None).await;
        assert_refused_token(&reply, &why.to_string(), case);
    }

    // The partner API takes only personal access tokens.
    let reply = call(&world, Method::GET, "/api/v1/vendors", &v1.token, None).await;
    assert_refused_token(
        &reply,
        "this is not a personal access token",
        "a vendor JWT on the partner API",
    );
    // Its own token still opens it.
    let reply = call(&world, Method::GET, "/api/v1/vendors", &gold.token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn a_request_without_a_bearer_token_is_challenged(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    for path in ["/api/v1/vendor/partners", "/api/v1/vendors"] {
        let reply = send(world.app.client.get(world.app.url(path))).await;
        assert_problem(&reply, 401, "unauthorized");
        // RFC 6750 §3.1: no credentials, no error code.
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"onepane\""),
            "{path}"
        );

        let basic = STANDARD.encode(format!("{}:{}", world.v1.client_id, world.v1.secret));
        let reply = send(
            world
                .app
                .client
                .get(world.app.url(path))
                .header("authorization", format!("Basic {basic}")),
        )
        .await;
        assert_problem(&reply, 401, "unauthorized");
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"onepane\""),
            "{path}: {challenge}"
        );
        // No bearer token was presented, so none is called invalid.
        assert!(!challenge.contains("invalid_token"), "{path}: {challenge}");
    }
}

// ---- 2. scopes ---------------------------------------------------------------

on_both_backends!(
    a_token_opens_only_what_its_scopes_allow,
    a_missing_scope_is_refused_before_the_body_is_read,
);

async fn a_token_opens_only_what_its_scopes_allow(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    let (client, secret) = api_client(&world.app, world.v1.id, &["deals:read"]).await;
    let id = client.to_string();

    let granted = token_request(
        &world,
        Some((&id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["scope"], "deals:read");
    let narrow = granted.body["access_token"].as_str().unwrap();

    let reply = call(
        &world,
        Method::GET,
        "/api/v1/vendor/deal-registrations",
        narrow,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["items"], json!([]));

    let reply = call(
        &world,
        Method::PUT,
        "/api/v1/vendor/campaigns/x",
        narrow,
        Some(campaign_body("Sneaky", &[])),
    )
    .await;
    assert_problem(&reply, 403, "insufficient-scope");
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"campaigns:write\""),
        "{challenge}"
    );
    assert!(
        world
            .app
            .store
            .vendor(world.v1.id)
            .campaigns()
            .await
            .unwrap()
            .is_empty()
    );

    // A client cannot ask for more than it holds.
    let reply = token_request(
        &world,
        Some((&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "deals:read campaigns:write"),
        ],
    )
    .await;
    assert_oauth_error(&reply, 400, "invalid_scope", "a scope the client lacks");
    assert!(reply.body.get("access_token").is_none());
}

/// A caller without the scope learns nothing about the body's rules, and
/// the server does not read (up to 64 MiB of) a body it will refuse.
async fn a_missing_scope_is_refused_before_the_body_is_read(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    let (client, secret) = api_client(&world.app, world.v1.id, &["deals:read"]).await;
    let narrow = token(&world.app, &client, &secret, None).await;

    let no_body = send(world.request(Method::PUT, "/api/v1/vendor/campaigns/x", &narrow)).await;
    assert_problem(&no_body, 403, "insufficient-scope");

    let invalid = call(
        &world,
        Method::PUT,
        "/api/v1/vendor/campaigns/x",
        &narrow,
        Some(json!({})),
    )
    .await;
    assert_problem(&invalid, 403, "insufficient-scope");
}

// ---- 3. the token endpoint -------------------------------------------------------

on_both_backends!(the_token_endpoint_answers_rfc_6749_errors_and_uncacheable_tokens);

async fn the_token_endpoint_answers_rfc_6749_errors_and_uncacheable_tokens(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    let v1 = &world.v1;
    let id = v1.client_id.to_string();
    let grant = [("grant_type", "client_credentials")];

    // Success, by HTTP Basic.
    let ok = token_request(
        &world,
        Some((&id, &v1.secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "partners:read deals:read"),
        ],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900);
    assert_eq!(ok.body["scope"], "partners:read deals:read");
    let access = ok.body["access_token"].as_str().unwrap();
    let header = jwt_header(access);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let kid = header["kid"].as_str().unwrap();
    assert!(
        jwks_kids(&world).await.iter().any(|k| k == kid),
        "{kid} is not in the JWKS"
    );
    let reply = call(&world, Method::GET, "/api/v1/vendor/partners", access, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // Success, by form fields.
    let form = token_request(
        &world,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &v1.secret),
        ],
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.header("cache-control"), Some("no-store"));
    assert_eq!(form.body["token_type"], "Bearer");

    // A wrong secret over Basic is challenged in the scheme the client used.
    let reply = token_request(&world, Some((&id, "opcs_not-the-secret")), &grant).await;
    assert_oauth_error(&reply, 401, "invalid_client", "a wrong secret");
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");

    let random = uuid::Uuid::now_v7().to_string();
    for (case, unknown) in [
        ("an unknown client id", random.as_str()),
        ("a client id that is no UUID", "vendor-one"),
    ] {
        let reply = token_request(&world, Some((unknown, &v1.secret)), &grant).await;
        assert_oauth_error(&reply, 401, "invalid_client", case);
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .starts_with("Basic "),
            "{case}"
        );
    }

    let both = token_request(
        &world,
        Some((&id, &v1.secret)),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &v1.secret),
        ],
    )
    .await;
    assert_oauth_error(&both, 400, "invalid_request", "Basic and a form secret");

    let password = token_request(
        &world,
        Some((&id, &v1.secret)),
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    )
    .await;
    assert_oauth_error(
        &password,
        400,
        "unsupported_grant_type",
        "the password grant",
    );

    let no_grant = token_request(&world, Some((&id, &v1.secret)), &[("scope", "deals:read")]).await;
    assert_oauth_error(&no_grant, 400, "invalid_request", "no grant_type");

    let as_json = send(
        world
            .app
            .client
            .post(world.app.url("/oauth/token"))
            .basic_auth(&id, Some(&v1.secret))
            .json(&json!({ "grant_type": "client_credentials" })),
    )
    .await;
    assert_oauth_error(&as_json, 400, "invalid_request", "a JSON body");

    // A revoked client gets no more tokens.
    let (revoked, secret) = api_client(&world.app, v1.id, &["deals:read"]).await;
    let revoked_id = revoked.to_string();
    let before = token_request(&world, Some((&revoked_id, &secret)), &grant).await;
    assert_eq!(before.status, 200, "{}", before.body);
    world
        .app
        .store
        .operator()
        .revoke_api_client(revoked)
        .await
        .unwrap();
    let after = token_request(&world, Some((&revoked_id, &secret)), &grant).await;
    assert_oauth_error(&after, 401, "invalid_client", "a revoked client");
    let by_form = token_request(
        &world,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &revoked_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth_error(&by_form, 401, "invalid_client", "a revoked client, by form");
}

// ---- 4. key rotation ---------------------------------------------------------------

on_both_backends!(tokens_survive_a_signing_key_rotation_and_the_new_key_is_learned);

async fn tokens_survive_a_signing_key_rotation_and_the_new_key_is_learned(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    // The server loaded its keys before `World::new` returned, so from
    // here on at least this much time has passed since its last reload.
    let loaded_by = Instant::now();
    let partners = "/api/v1/vendor/partners";
    let old_kid = server_key(&world).await.kid().to_owned();
    let old_token = world.v1.token.clone();
    assert_eq!(jwt_header(&old_token)["kid"], old_kid.as_str());

    let sealer = sealer(&world);
    let stored = new_stored_key(&sealer).unwrap();
    world
        .app
        .store
        .operator()
        .rotate_signing_key(&stored)
        .await
        .unwrap();
    let new_key = open_key(&sealer, &stored).unwrap();
    assert_ne!(new_key.kid(), old_kid);

    let reply = call(&world, Method::GET, partners, &old_token, None).await;
    assert_eq!(
        reply.status, 200,
        "a token issued before the rotation: {}",
        reply.body
    );

    // Another server that already reloaded would issue this one.
    let (new_token, _) = KeyRing::new(new_key.clone())
        .issue(
            &policy(&world),
            &world.v1.client_id.to_string(),
            world.v1.id,
            &["partners:read".to_owned()],
            now(),
        )
        .unwrap();
    // An unknown kid reloads the keys at most every 5 s: wait out that
    // throttle (counted from server start, so usually only part of it)
    // rather than the 60 s periodic reload.
    tokio::time::sleep_until(
        (loaded_by + Duration::from_secs(5) + Duration::from_millis(100)).into(),
    )
    .await;
    let reply = call(&world, Method::GET, partners, &new_token, None).await;
    assert_eq!(
        reply.status, 200,
        "a token signed by the new key: {}",
        reply.body
    );

    // The old key verifies until its last token expires; the new one signs.
    let reply = call(&world, Method::GET, partners, &old_token, None).await;
    assert_eq!(
        reply.status, 200,
        "the old token after the reload: {}",
        reply.body
    );
    let mut kids = jwks_kids(&world).await;
    kids.sort();
    let mut expected = vec![old_kid.clone(), new_key.kid().to_owned()];
    expected.sort();
    assert_eq!(kids, expected);
    let fresh = token(
        &world.app,
        &world.v1.client_id,
        &world.v1.secret,
        Some(&["partners:read"]),
    )
    .await;
    assert_eq!(jwt_header(&fresh)["kid"], new_key.kid());
    let reply = call(&world, Method::GET, partners, &fresh, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

// ---- 5. cross-tenant attacks -----------------------------------------------------------

/// What the attacks must leave as it was.
#[derive(Debug, PartialEq)]
struct Holdings {
    gold_lead: Lead,
    gold_deal: DealRegistration,
    gold_deals: Vec<DealRegistration>,
    gold_notifications: Vec<Notification>,
    gold_activations: Vec<CampaignActivation>,
    registered_activations: Vec<CampaignActivation>,
    registered_deals: Vec<DealRegistration>,
    v1_partners: Vec<Partner>,
    v1_campaigns: Vec<PublishedCampaign>,
    v1_assets: Vec<PublishedAsset>,
    v1_price_lists: Vec<PublishedPriceList>,
    v1_price_items: Vec<PublishedPriceItem>,
    v1_deliveries: Vec<WebhookDelivery>,
    v2_deliveries: Vec<WebhookDelivery>,
    v2_leads: Vec<Lead>,
}

async fn deliveries(world: &World, vendor: VendorId) -> Vec<WebhookDelivery> {
    let filter = DeliveryFilter {
        status: None,
        before: None,
        limit: 100,
    };
    world
        .app
        .store
        .vendor(vendor)
        .webhook_deliveries(filter)
        .await
        .unwrap()
}

async fn holdings(
    world: &World,
    lead: onepane_domain::LeadId,
    deal: onepane_domain::DealRegistrationId,
) -> Holdings {
    let store = &world.app.store;
    let gold = store.partner(world.gold.id);
    let registered = store.partner(world.registered.id);
    let v1 = store.vendor(world.v1.id);
    Holdings {
        gold_lead: gold.lead(lead).await.unwrap(),
        gold_deal: gold.deal_registration(deal).await.unwrap(),
        gold_deals: gold.deal_registrations().await.unwrap(),
        gold_notifications: gold.notifications(false).await.unwrap(),
        gold_activations: gold.activations().await.unwrap(),
        registered_activations: registered.activations().await.unwrap(),
        registered_deals: registered.deal_registrations().await.unwrap(),
        v1_partners: v1.partners().await.unwrap(),
        v1_campaigns: v1.campaigns().await.unwrap(),
        v1_assets: v1.assets().await.unwrap(),
        v1_price_lists: v1.price_lists().await.unwrap(),
        v1_price_items: v1.price_items().await.unwrap(),
        v1_deliveries: deliveries(world, world.v1.id).await,
        v2_deliveries: deliveries(world, world.v2.id).await,
        v2_leads: store.vendor(world.v2.id).leads().await.unwrap(),
    }
}

fn tier_of(partners: &[Partner], ws: WorkspaceId) -> Tier {
    partners
        .iter()
        .find(|p| p.workspace_id == ws)
        .unwrap()
        .link
        .tier
}

on_both_backends!(
    no_vendor_or_partner_reaches_another_tenants_data,
    a_body_cannot_name_the_callers_own_scope,
);

async fn no_vendor_or_partner_reaches_another_tenants_data(backend: Backend) {
    // A failed webhook attempt is retried only after an hour, so nothing
    // but an attack could move v1's delivery while the attacks run.
    let Some(world) = World::with_config(backend, |c| onepane_server::Config {
        webhook_retry_base: Duration::from_secs(3600),
        ..c
    })
    .await
    else {
        return;
    };
    let (v1, v2, gold, registered) = (&world.v1, &world.v2, &world.gold, &world.registered);
    let v = "/api/v1/vendor";
    // A port nothing listens on: the delivery fails at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/onepane", closed.local_addr().unwrap());
    drop(closed);

    // ---- v1's and gold's business, through their own API calls.
    let reply = call(
        &world,
        Method::PUT,
        &format!("{v}/webhooks"),
        &v1.token,
        Some(json!({
            "url": hook,
            "events": ["deal-registration.submitted"]
        })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = call(
        &world,
        Method::PUT,
        &format!("{v}/campaigns/spring"),
        &v1.token,
        Some(campaign_body("Spring cloud", &["gold"])),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = call(
        &world,
        Method::PUT,
        &format!("{v}/assets/datasheet"),
        &v1.token,
        Some(json!({
            "kind": "document",
            "variants": [{
                "locale": "en",
                "title": "Cloud datasheet",
                "body": { "url": "https://cdn.vendor-one.example/datasheet.pdf" }
            }]
        })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = call(
        &world,
        Method::PUT,
        &format!("{v}/price-lists/eu"),
        &v1.token,
        Some(json!({
            "name": "EU list",
            "currency": "EUR",
            "tier_discounts": [{ "tier": "gold", "discount": "20" }]
        })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = call(
        &world,
        Method::PUT,
        &format!("{v}/price-lists/eu/items"),
        &v1.token,
        Some(json!([
            { "sku": "CLOUD-S", "name": "Cloud small", "list_price": "100.00" },
            { "sku": "CLOUD-L", "name": "Cloud large", "list_price": "900.00", "category": "cloud" }
        ])),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["items"], 2);
    let reply = call(
        &world,
        Method::POST,
        &format!("{v}/partners/{}/leads", gold.id),
        &v1.token,
        Some(lead_body("crm-1")),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let lead_id: onepane_domain::LeadId = reply.body["id"].as_str().unwrap().parse().unwrap();
    let reply = call(
        &world,
        Method::POST,
        "/api/v1/deal-registrations",
        &gold.token,
        Some(deal_body(v1.id)),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let deal_id: onepane_domain::DealRegistrationId = reply.body["registrations"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let store = &world.app.store;
    // The campaign is stored once: gold is in its audience, registered
    // (linked to the same vendor) is not.
    let gold_campaign = store.vendor(v1.id).campaigns().await.unwrap()[0].id;
    let registered_campaign = gold_campaign;
    let notification = store.partner(gold.id).notifications(true).await.unwrap();
    assert!(!notification.is_empty());
    let notification = notification[0].id;

    // Wait for the dispatcher's first (failed) attempt, so the delivery
    // stands still for the rest of the test.
    let deadline = Instant::now() + Duration::from_secs(15);
    let delivery = loop {
        let all = deliveries(&world, v1.id).await;
        assert_eq!(all.len(), 1, "{all:?}");
        if all[0].attempts == 1 {
            break all[0].id;
        }
        assert!(
            Instant::now() < deadline,
            "the first delivery attempt never happened: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The owner's own control: the delivery is not dead, so a redelivery is refused as a rule.
    let reply = call(
        &world,
        Method::POST,
        &format!("{v}/webhooks/deliveries/{delivery}/redeliver"),
        &v1.token,
        None,
    )
    .await;
    assert_problem(&reply, 422, "unprocessable");

    let before = holdings(&world, lead_id, deal_id).await;

    // ---- vendor two, not linked to gold.
    let decisions = [
        json!({ "decision": "approved", "reason": null, "protection_expires_on": "2099-01-01", "extra_discount": "50" }),
        json!({ "decision": "rejected", "reason": "We have it already." }),
    ];
    let mut vendor_attacks: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "read gold's deal",
            Method::GET,
            format!("{v}/deal-registrations/{deal_id}"),
            None,
        ),
        (
            "send gold a lead",
            Method::POST,
            format!("{v}/partners/{}/leads", gold.id),
            Some(lead_body("crm-2")),
        ),
        (
            "set gold's tier",
            Method::PUT,
            format!("{v}/partners/{}/tier", gold.id),
            Some(json!({ "tier": "platinum" })),
        ),
        (
            "read v1's campaign",
            Method::GET,
            format!("{v}/campaigns/spring"),
            None,
        ),
        (
            "read v1's campaign stats",
            Method::GET,
            format!("{v}/campaigns/spring/stats"),
            None,
        ),
        (
            "archive v1's campaign",
            Method::DELETE,
            format!("{v}/campaigns/spring"),
            None,
        ),
        (
            "read v1's asset",
            Method::GET,
            format!("{v}/assets/datasheet"),
            None,
        ),
        (
            "delete v1's asset",
            Method::DELETE,
            format!("{v}/assets/datasheet"),
            None,
        ),
        (
            "read v1's price list",
            Method::GET,
            format!("{v}/price-lists/eu"),
            None,
        ),
        (
            "read v1's price items",
            Method::GET,
            format!("{v}/price-lists/eu/items"),
            None,
        ),
        (
            "replace v1's price items",
            Method::PUT,
            format!("{v}/price-lists/eu/items"),
            Some(json!([{ "sku": "CLOUD-S", "name": "Cloud small", "list_price": "1.00" }])),
        ),
        (
            "redeliver v1's webhook delivery",
            Method::POST,
            format!("{v}/webhooks/deliveries/{delivery}/redeliver"),
            None,
        ),
    ];
    for decision in decisions {
        vendor_attacks.push((
            "decide on gold's deal",
            Method::POST,
            format!("{v}/deal-registrations/{deal_id}/decision"),
            Some(decision),
        ));
    }
    for (what, method, path, body) in vendor_attacks {
        let reply = call(&world, method, &path, &v2.token, body).await;
        assert_not_found(&reply, what);
    }
    // Nor do v2's listings show v1's or gold's things.
    for path in [
        "deal-registrations",
        "campaigns",
        "assets",
        "price-lists",
        "webhooks/deliveries",
    ] {
        let reply = call(&world, Method::GET, &format!("{v}/{path}"), &v2.token, None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.body["items"], json!([]), "{path}");
    }
    let reply = call(
        &world,
        Method::GET,
        &format!("{v}/partners"),
        &v2.token,
        None,
    )
    .await;
    let seen: Vec<&str> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["workspace_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [registered.id.to_string()]);

    // ---- partner `registered`, linked to v1 but not gold's.
    let partner_attacks: Vec<(&str, Method, String)> = vec![
        (
            "read gold's lead",
            Method::GET,
            format!("/api/v1/leads/{lead_id}"),
        ),
        (
            "accept gold's lead",
            Method::POST,
            format!("/api/v1/leads/{lead_id}/accept"),
        ),
        (
            "decline gold's lead",
            Method::POST,
            format!("/api/v1/leads/{lead_id}/decline"),
        ),
        (
            "read gold's deal",
            Method::GET,
            format!("/api/v1/deal-registrations/{deal_id}"),
        ),
        (
            "activate gold's campaign",
            Method::POST,
            format!("/api/v1/campaigns/{gold_campaign}/activate"),
        ),
        (
            "activate a campaign outside its audience",
            Method::POST,
            format!("/api/v1/campaigns/{registered_campaign}/activate"),
        ),
        (
            "read gold's notification",
            Method::POST,
            format!("/api/v1/notifications/{notification}/read"),
        ),
    ];
    for (what, method, path) in partner_attacks {
        let reply = call(&world, method, &path, &registered.token, None).await;
        assert_not_found(&reply, what);
    }
    for path in ["leads", "deal-registrations"] {
        let reply = call(
            &world,
            Method::GET,
            &format!("/api/v1/{path}"),
            &registered.token,
            None,
        )
        .await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.body["items"], json!([]), "{path}");
    }
    let reply = call(
        &world,
        Method::GET,
        "/api/v1/campaigns",
        &registered.token,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["items"],
        json!([]),
        "a campaign outside its audience is listed"
    );

    // Gold cannot register a deal with a vendor it is not linked to.
    let reply = call(
        &world,
        Method::POST,
        "/api/v1/deal-registrations",
        &gold.token,
        Some(deal_body(v2.id)),
    )
    .await;
    assert_not_found(&reply, "register a deal with an unlinked vendor");
    // Nor smuggle it in beside a vendor it is linked to.
    let mut both = deal_body(v1.id);
    both["vendor_ids"] = json!([v1.id, v2.id]);
    let reply = call(
        &world,
        Method::POST,
        "/api/v1/deal-registrations",
        &gold.token,
        Some(both),
    )
    .await;
    assert_not_found(
        &reply,
        "register a deal with a linked and an unlinked vendor",
    );

    // ---- nothing moved.
    let after = holdings(&world, lead_id, deal_id).await;
    assert_eq!(after.gold_deal.status, DealStatus::Submitted);
    assert_eq!(after.gold_lead.status, LeadStatus::New);
    assert_eq!(tier_of(&after.v1_partners, gold.id), Tier::Gold);
    assert!(
        after
            .gold_notifications
            .iter()
            .find(|n| n.id == notification)
            .unwrap()
            .read_at
            .is_none()
    );
    assert_eq!(after.v1_deliveries.len(), 1);
    assert_eq!(after.v1_deliveries[0].attempts, 1);
    assert!(after.gold_activations.is_empty() && after.registered_activations.is_empty());
    assert_eq!(after.gold_deals.len(), 1);
    assert!(after.v2_leads.is_empty() && after.v2_deliveries.is_empty());
    assert_eq!(before, after);

    // The owners still can: the attacks were refused, not the routes broken.
    let reply = call(
        &world,
        Method::GET,
        &format!("/api/v1/leads/{lead_id}"),
        &gold.token,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "new");
    let reply = call(
        &world,
        Method::GET,
        &format!("{v}/deal-registrations/{deal_id}"),
        &v1.token,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "submitted");
    let reply = call(
        &world,
        Method::POST,
        &format!("/api/v1/campaigns/{gold_campaign}/activate"),
        &gold.token,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn a_body_cannot_name_the_callers_own_scope(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    let (v1, v2, gold, registered) = (&world.v1, &world.v2, &world.gold, &world.registered);

    let mut lead = lead_body("crm-1");
    lead["vendor_id"] = json!(v2.id);
    let reply = call(
        &world,
        Method::POST,
        &format!("/api/v1/vendor/partners/{}/leads", gold.id),
        &v1.token,
        Some(lead),
    )
    .await;
    assert_problem(&reply, 422, "invalid");
    assert_eq!(
        reply.body["errors"][0]["pointer"], "#/vendor_id",
        "{}",
        reply.body
    );

    let mut deal = deal_body(v1.id);
    deal["workspace_id"] = json!(registered.id);
    let reply = call(
        &world,
        Method::POST,
        "/api/v1/deal-registrations",
        &gold.token,
        Some(deal),
    )
    .await;
    assert_problem(&reply, 422, "invalid");
    assert_eq!(
        reply.body["errors"][0]["pointer"], "#/workspace_id",
        "{}",
        reply.body
    );

    let store = &world.app.store;
    assert!(store.vendor(v1.id).leads().await.unwrap().is_empty());
    assert!(store.vendor(v2.id).leads().await.unwrap().is_empty());
    assert!(
        store
            .partner(gold.id)
            .deal_registrations()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .partner(registered.id)
            .deal_registrations()
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- 6. floods and limits -------------------------------------------------------------

on_both_backends!(
    a_flooding_token_is_slowed_down_alone,
    wrong_secrets_for_a_client_do_not_spend_its_api_budget,
    oversized_malformed_and_mistyped_requests_are_refused,
);

fn slow(c: onepane_server::Config) -> onepane_server::Config {
    onepane_server::Config {
        rate_limit_per_minute: 60,
        rate_limit_burst: 2,
        ..c
    }
}

async fn a_flooding_token_is_slowed_down_alone(backend: Backend) {
    let Some(world) = World::with_config(backend, slow).await else {
        return;
    };
    // One request at the rate plus a burst of two.
    for n in 1..=3 {
        let reply = call(
            &world,
            Method::GET,
            "/api/v1/vendors",
            &world.gold.token,
            None,
        )
        .await;
        assert_eq!(reply.status, 200, "request {n}: {}", reply.body);
    }
    let reply = call(
        &world,
        Method::GET,
        "/api/v1/vendors",
        &world.gold.token,
        None,
    )
    .await;
    assert_problem(&reply, 429, "too-many-requests");
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1, "Retry-After: {retry_after}");

    let reply = call(
        &world,
        Method::GET,
        "/api/v1/vendors",
        &world.registered.token,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "another partner's token: {}", reply.body);
    let reply = call(
        &world,
        Method::GET,
        "/api/v1/vendor/partners",
        &world.v1.token,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "a vendor's token: {}", reply.body);
}

/// Anyone can send a token request naming a client id; failing ones must
/// not lock that client out of the API it holds a valid token for.
async fn wrong_secrets_for_a_client_do_not_spend_its_api_budget(backend: Backend) {
    let Some(world) = World::with_config(backend, slow).await else {
        return;
    };
    // Sent at once, as a flood would be: each is counted before its
    // (deliberately slow) secret check.
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..6 {
        flood.spawn(
            world
                .app
                .client
                .post(world.app.url("/oauth/token"))
                .basic_auth(world.v1.client_id.to_string(), Some("opcs_guessed"))
                .form(&[("grant_type", "client_credentials")])
                .send(),
        );
    }
    // The first refusal comes back at once, while the bucket is still full
    // (the accepted ones are still hashing): ask the API right then.
    loop {
        let sent = flood
            .join_next()
            .await
            .expect("six requests, not all accepted");
        let status = sent.unwrap().unwrap().status().as_u16();
        assert!(matches!(status, 401 | 429), "{status}");
        if status == 429 {
            break;
        }
    }
    let reply = call(
        &world,
        Method::GET,
        "/api/v1/vendor/partners",
        &world.v1.token,
        None,
    )
    .await;
    assert_eq!(
        reply.status, 200,
        "the client's own token after someone else's failed token requests: {}",
        reply.body
    );
}

async fn oversized_malformed_and_mistyped_requests_are_refused(backend: Backend) {
    let Some(world) = World::new(backend).await else {
        return;
    };
    let gold = &world.gold;

    let reply = call(
        &world,
        Method::GET,
        "/api/v1/leads?limit=500",
        &gold.token,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = call(
        &world,
        Method::GET,
        "/api/v1/leads?limit=501",
        &gold.token,
        None,
    )
    .await;
    assert_problem(&reply, 400, "bad-request");
    assert_eq!(
        reply.body["errors"][0]["pointer"], "limit",
        "{}",
        reply.body
    );
    assert!(
        reply.body["detail"].as_str().unwrap().contains("limit"),
        "{}",
        reply.body
    );

    let deals = "/api/v1/deal-registrations";
    let malformed = send(
        world
            .request(Method::POST, deals, &gold.token)
            .header("content-type", "application/json")
            .body(r#"{"vendor_ids": ["#),
    )
    .await;
    assert_problem(&malformed, 400, "bad-request");

    let mut huge = deal_body(world.v1.id);
    huge["fields"] = json!({ "notes": "x".repeat(1 << 20) });
    let huge = serde_json::to_vec(&huge).unwrap();
    assert!(huge.len() > 1 << 20);
    let reply = send(
        world
            .request(Method::POST, deals, &gold.token)
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    assert_problem(&reply, 413, "payload-too-large");

    let body = serde_json::to_vec(&deal_body(world.v1.id)).unwrap();
    let reply = send(
        world
            .request(Method::POST, deals, &gold.token)
            .header("content-type", "text/plain")
            .body(body),
    )
    .await;
    assert_problem(&reply, 415, "unsupported-media-type");

    assert!(
        world
            .app
            .store
            .partner(gold.id)
            .deal_registrations()
            .await
            .unwrap()
            .is_empty()
    );
}
