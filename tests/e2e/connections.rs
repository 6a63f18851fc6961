//! Connections over HTTP, with the server's own sync workers: a `rest`
//! source pulled on demand from a fake vendor, the checks made before a
//! connection is stored, another workspace attacking a connection, the
//! OAuth connect flow of a CRM (PKCE, state once) ending in a push to a
//! fake HubSpot, and a webhook sink receiving every lead signed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::Backend;
use crate::portal::{GOLD_OWNER, PASSWORD, Visitor, set_password};
use crate::world::{World, on_both_backends};

on_both_backends!(a_new_workspace_connects_a_vendor_a_crm_and_a_webhook_in_the_browser);

async fn listen(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A vendor's partner API: 120 leads, 50 a page, behind an API key.
async fn fake_vendor(requests: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    async fn leads(
        State(requests): State<Arc<Mutex<Vec<String>>>>,
        headers: HeaderMap,
        Query(q): Query<HashMap<String, String>>,
    ) -> Result<Json<Value>, StatusCode> {
        if headers.get("x-vendor-key").and_then(|v| v.to_str().ok()) != Some("k-123") {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let from: usize = q
            .get("cursor")
            .map_or(Ok(0), |c| c.parse())
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        requests.lock().unwrap().push(format!("cursor={from}"));
        let to = (from + 50).min(120);
        let data: Vec<Value> = (from..to)
            .map(|i| json!({"id": format!("L-{i}"), "name": format!("Person {i}"), "email": format!("p{i}@example.com")}))
            .collect();
        let next = (to < 120).then(|| to.to_string());
        Ok(Json(json!({"data": data, "next": next, "total": 120})))
    }
    listen(
        Router::new()
            .route("/leads", get(leads))
            .with_state(requests),
    )
    .await
}

fn manifest(base: &str) -> Value {
    json!({
        "version": 1,
        "base_url": base,
        "auth": {"type": "api_key", "name": "X-Vendor-Key", "placement": "header"},
        "streams": {
            "leads": {
                "path": "/leads",
                "records": "/data",
                "total": "/total",
                "pagination": {"type": "cursor", "cursor": "/next", "param": "cursor"},
                "map": {
                    "external_id": "/id",
                    "contact": {"name": "/name", "email": "/email"}
                }
            }
        }
    })
}

/// Polls the connection's runs until the newest has ended.
async fn finished_run(w: &World, token: &str, id: &str) -> Value {
    for _ in 0..200 {
        let (status, runs) = w
            .call(
                Method::GET,
                &format!("/api/v1/connections/{id}/runs"),
                token,
                None,
            )
            .await;
        assert_eq!(status, 200, "{runs}");
        if let Some(run) = runs.as_array().and_then(|r| r.first())
            && run["status"] != "running"
        {
            return run.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the run did not finish");
}

async fn a_rest_source_syncs_on_demand_and_never_shows_its_credentials(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let requests = Arc::default();
    let vendor = fake_vendor(Arc::clone(&requests)).await;
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({
                "target": {"purpose": "vendor-source", "vendor_id": w.v1.id},
                "connector": "rest",
                "name": "Vendor One portal",
                "settings": {"manifest": manifest(&format!("http://{vendor}"))},
                "credentials": {"type": "api_key", "name": "X-Vendor-Key", "value": "k-123"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["connection"]["schedule"], "0 */15 * * * *");
    assert_eq!(created["connection"]["status"], "active");
    assert!(created.get("signing_secret").is_none());
    let (status, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    for shown in [&created, &listed] {
        assert!(
            !shown.to_string().contains("k-123"),
            "a credential was shown: {shown}"
        );
    }

    let (status, job) = w
        .call(
            Method::POST,
            &format!("/api/v1/connections/{id}/sync"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["kind"], "sync");
    let run = finished_run(&w, &w.gold.token, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        (
            run["read"].as_u64(),
            run["created"].as_u64(),
            run["total"].as_u64()
        ),
        (Some(120), Some(120), Some(120))
    );
    assert_eq!(
        *requests.lock().unwrap(),
        vec!["cursor=0", "cursor=50", "cursor=100"]
    );
    let (_, leads) = w
        .call(Method::GET, "/api/v1/leads?limit=500", &w.gold.token, None)
        .await;
    let leads = leads["items"].as_array().unwrap();
    assert_eq!(leads.len(), 120);
    assert!(
        leads
            .iter()
            .all(|l| l["vendor_id"] == json!(w.v1.id) && l["source"] == "vendor")
    );

    // Again: nothing changed at the vendor, so nothing is written.
    w.call(
        Method::POST,
        &format!("/api/v1/connections/{id}/sync"),
        &w.gold.token,
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = finished_run(&w, &w.gold.token, &id).await;
    for _ in 0..50 {
        if second["job_id"] != run["job_id"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        second = finished_run(&w, &w.gold.token, &id).await;
    }
    assert_ne!(second["job_id"], run["job_id"]);
    assert_eq!(
        (
            second["unchanged"].as_u64(),
            second["created"].as_u64(),
            second["updated"].as_u64()
        ),
        (Some(120), Some(0), Some(0)),
        "{second}"
    );
}

async fn connections_are_checked_before_anything_is_stored(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let source = |connector: &str, settings: Value, credentials: Value| {
        json!({
            "target": {"purpose": "vendor-source", "vendor_id": w.v1.id},
            "connector": connector, "name": "x", "settings": settings, "credentials": credentials
        })
    };
    let key = json!({"type": "api_key", "name": "X-Vendor-Key", "value": "k"});
    let cases = [
        (source("ftp", json!({}), key.clone()), "#/connector"),
        (
            source("rest", json!({"manifest": {"version": 2}}), key.clone()),
            "#/settings",
        ),
        (
            source(
                "rest",
                json!({"manifest": manifest("http://127.0.0.1:9")}),
                json!({"type": "bearer", "token": "t"}),
            ),
            "#/credentials",
        ),
        (
            json!({"target": {"purpose": "crm-sink"}, "connector": "rest", "name": "x", "settings": {"manifest": manifest("http://127.0.0.1:9")}}),
            "#/settings",
        ),
        (
            json!({"target": {"purpose": "crm-sink"}, "connector": "hubspot", "name": "x", "credentials": {"type": "basic", "username": "u", "password": "p"}}),
            "#/credentials",
        ),
        (
            json!({"target": {"purpose": "crm-sink"}, "connector": "salesforce", "name": "x", "credentials": {"type": "bearer", "token": "t"}}),
            "#/credentials",
        ),
        (
            json!({"target": {"purpose": "crm-sink"}, "connector": "webhook", "name": "x", "settings": {"url": "https://crm.example/hook"}, "schedule": "every minute"}),
            "#/schedule",
        ),
        // A file on the server is the operator's to name, not a partner's.
        (
            source(
                "csv",
                json!({"stream": "leads", "path": "/etc/passwd"}),
                json!(null),
            ),
            "#/settings/path",
        ),
    ];
    for (body, pointer) in cases {
        let (status, problem) = w
            .call(
                Method::POST,
                "/api/v1/connections",
                &w.gold.token,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert_eq!(
            problem["errors"][0]["pointer"], pointer,
            "{body} -> {problem}"
        );
    }
    // A source for a vendor the workspace is not linked with is not found.
    let (status, _) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({
                "target": {"purpose": "vendor-source", "vendor_id": w.v2.id},
                "connector": "rest", "name": "x",
                "settings": {"manifest": manifest("http://127.0.0.1:9")}, "credentials": key
            })),
        )
        .await;
    assert_eq!(status, 404);
    let (_, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(listed, json!([]), "nothing was stored");
}

async fn another_workspace_cannot_reach_a_connection(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({
                "target": {"purpose": "crm-sink"}, "connector": "webhook", "name": "CRM hook",
                "settings": {"url": "http://127.0.0.1:9/hook"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/api/v1/connections/{id}/runs")),
        (Method::POST, format!("/api/v1/connections/{id}/sync")),
        (Method::GET, format!("/api/v1/connections/{id}/authorize")),
        (Method::POST, format!("/api/v1/connections/{id}/upload")),
    ] {
        let response = w
            .request(method.clone(), &path, &w.registered.token)
            .header("content-type", "text/csv")
            .body("sku,name,list_price\n")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
    }
    let (_, theirs) = w
        .call(
            Method::GET,
            "/api/v1/connections",
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(theirs, json!([]));
    // Nothing was queued for the owner's connection by the attempts.
    let (_, runs) = w
        .call(
            Method::GET,
            &format!("/api/v1/connections/{id}/runs"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(runs, json!([]));
}

#[derive(Default)]
struct Provider {
    /// The challenge the authorization URL carried, by code issued.
    challenges: HashMap<String, String>,
    token_calls: usize,
    pushed: Vec<Value>,
    deals: Vec<Value>,
    /// GDPR deletes received.
    erased: Vec<Value>,
}

/// An OAuth provider's token endpoint and HubSpot's batch upsert, checking
/// PKCE and the bearer token they issued.
async fn fake_crm(state: Arc<Mutex<Provider>>) -> SocketAddr {
    async fn token(
        State(state): State<Arc<Mutex<Provider>>>,
        body: axum::body::Bytes,
    ) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        let mut state = state.lock().unwrap();
        state.token_calls += 1;
        let refuse = |e: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": e})));
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return Err(refuse("unsupported_grant_type"));
        }
        let code = form.get("code").ok_or_else(|| refuse("invalid_request"))?;
        let challenge = state
            .challenges
            .get(code)
            .ok_or_else(|| refuse("invalid_grant"))?;
        let verifier = form
            .get("code_verifier")
            .ok_or_else(|| refuse("invalid_grant"))?;
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        if &computed != challenge {
            return Err(refuse("invalid_grant"));
        }
        Ok(Json(
            json!({"access_token": "at-1", "refresh_token": "rt-1", "token_type": "bearer", "expires_in": 1800}),
        ))
    }
    async fn upsert(
        State(state): State<Arc<Mutex<Provider>>>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Result<Json<Value>, StatusCode> {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let mut state = state.lock().unwrap();
        let results: Vec<Value> = body["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, input)| json!({"id": format!("{}", 1000 + state.pushed.len() + i), "properties": {"onepane_id": input["id"]}, "createdAt": "2026-11-24T00:00:00Z", "updatedAt": "2026-11-24T00:00:00Z", "archived": false}))
            .collect();
        state
            .pushed
            .extend(body["inputs"].as_array().unwrap().iter().cloned());
        Ok(Json(
            json!({"status": "COMPLETE", "results": results, "startedAt": "2026-11-24T00:00:00Z", "completedAt": "2026-11-24T00:00:00Z"}),
        ))
    }
    async fn upsert_deals(
        State(state): State<Arc<Mutex<Provider>>>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Result<Json<Value>, StatusCode> {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let mut state = state.lock().unwrap();
        let results: Vec<Value> = body["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, input)| json!({"id": format!("{}", 5000 + i), "properties": {"onepane_deal_id": input["id"]}, "createdAt": "2026-11-24T00:00:00Z", "updatedAt": "2026-11-24T00:00:00Z", "archived": false}))
            .collect();
        state
            .deals
            .extend(body["inputs"].as_array().unwrap().iter().cloned());
        Ok(Json(
            json!({"status": "COMPLETE", "results": results, "startedAt": "2026-11-24T00:00:00Z", "completedAt": "2026-11-24T00:00:00Z"}),
        ))
    }
    async fn gdpr_delete(
        State(state): State<Arc<Mutex<Provider>>>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> StatusCode {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-1") {
            return StatusCode::UNAUTHORIZED;
        }
        state.lock().unwrap().erased.push(body);
        StatusCode::NO_CONTENT
    }
    listen(
        Router::new()
            .route("/oauth/token", post(token))
            .route("/crm/v3/objects/contacts/gdpr-delete", post(gdpr_delete))
            .route("/crm/v3/objects/0-3/batch/upsert", post(upsert_deals))
            .route("/crm/v3/objects/contacts/batch/upsert", post(upsert))
            .with_state(state),
    )
    .await
}

async fn a_crm_is_connected_with_pkce_and_its_state_works_once(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let provider = Arc::new(Mutex::new(Provider::default()));
    let crm = fake_crm(Arc::clone(&provider)).await;
    // A lead to push.
    let (status, _) = w
        .call(Method::POST, &format!("/api/v1/vendor/partners/{}/leads", w.gold.id), &w.v1.token,
            Some(json!({"external_id": "V-1", "contact": {"name": "Aino Virtanen", "email": "aino@example.com"}})))
        .await;
    assert_eq!(status, 201);
    let (status, created) = w
        .call(Method::POST, "/api/v1/connections", &w.gold.token, Some(json!({
            "target": {"purpose": "crm-sink"}, "connector": "hubspot", "name": "HubSpot",
            "settings": {"base_url": format!("http://{crm}")},
            "credentials": {"type": "oauth2_authorization_code",
                "auth_url": format!("http://{crm}/oauth/authorize"),
                "token_url": format!("http://{crm}/oauth/token"),
                "client_id": "app-1", "client_secret": "app-secret", "scopes": ["crm.objects.contacts.write"]}
        })))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap().to_owned();

    // Not authorized yet: a push needs re-authorization.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects
        .get(w.app.url(&format!("/api/v1/connections/{id}/authorize")))
        .bearer_auth(&w.gold.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/oauth/authorize");
    let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "app-1");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], w.app.url("/oauth/connections/callback"));
    let state = q["state"].clone();
    provider
        .lock()
        .unwrap()
        .challenges
        .insert("code-1".into(), q["code_challenge"].clone());

    // A state nobody issued, or a provider's refusal, connects nothing.
    let callback = |query: String| {
        w.app
            .client
            .get(w.app.url(&format!("/oauth/connections/callback?{query}")))
            .send()
    };
    assert_eq!(
        callback("code=code-1&state=forged".into())
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(provider.lock().unwrap().token_calls, 0);

    let response = callback(format!("code=code-1&state={state}"))
        .await
        .unwrap();
    let (status, body) = crate::world::read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["connection_id"], json!(id));
    assert_eq!(provider.lock().unwrap().token_calls, 1);
    // Once only.
    assert_eq!(
        callback(format!("code=code-1&state={state}"))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(provider.lock().unwrap().token_calls, 1);

    // A deal registered with the vendor goes to the CRM too.
    let (status, registered) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.gold.token,
            Some(json!({
                "vendor_ids": [w.v1.id],
                "title": "Printers for Customer Oy",
                "customer": {"name": "Customer Oy", "domain": "customer.example", "country": "FI"},
                "amount": {"value": "12500.50", "currency": "EUR"},
                "products": []
            })),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    let deal_id = registered["registrations"][0]["id"].clone();

    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/connections/{id}/sync"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 202);
    let run = finished_run(&w, &w.gold.token, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 2, "a lead and a deal: {run}");
    let pushed = provider.lock().unwrap().pushed.clone();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0]["idProperty"], "onepane_id");
    assert_eq!(pushed[0]["properties"]["email"], "aino@example.com");
    let deals = provider.lock().unwrap().deals.clone();
    assert_eq!(deals.len(), 1);
    assert_eq!(deals[0]["idProperty"], "onepane_deal_id");
    assert_eq!(deals[0]["id"], deal_id);
    assert_eq!(
        deals[0]["properties"]["dealname"],
        "Printers for Customer Oy"
    );

    // The vendor approves: the registration changed, so it goes again; the
    // lead did not, so it does not.
    let (status, decided) = w
        .call(
            Method::POST,
            &format!(
                "/api/v1/vendor/deal-registrations/{}/decision",
                deal_id.as_str().unwrap()
            ),
            &w.v1.token,
            Some(json!({"decision": "approved", "protection_expires_on": "2027-03-31"})),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    w.call(
        Method::POST,
        &format!("/api/v1/connections/{id}/sync"),
        &w.gold.token,
        None,
    )
    .await;
    let mut again = finished_run(&w, &w.gold.token, &id).await;
    for _ in 0..50 {
        if again["id"] != run["id"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        again = finished_run(&w, &w.gold.token, &id).await;
    }
    assert_eq!(
        (again["status"].as_str(), again["created"].as_u64()),
        (Some("succeeded"), Some(1)),
        "{again}"
    );
    assert_eq!(provider.lock().unwrap().deals.len(), 2);
    assert_eq!(provider.lock().unwrap().pushed.len(), 1);

    // The person asks to be erased: HubSpot deletes the contact for good,
    // by email, and gets the erased lead and registration.
    let (status, erased) = w
        .call(
            Method::POST,
            "/api/v1/privacy/erase",
            &w.gold.token,
            Some(json!({"email": "aino@example.com"})),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["leads"], 1);
    w.call(
        Method::POST,
        &format!("/api/v1/connections/{id}/sync"),
        &w.gold.token,
        None,
    )
    .await;
    let mut third = finished_run(&w, &w.gold.token, &id).await;
    for _ in 0..50 {
        if third["id"] != again["id"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        third = finished_run(&w, &w.gold.token, &id).await;
    }
    assert_eq!(third["status"], "succeeded", "{third}");
    assert_eq!(third["deleted"], 1, "{third}");
    let provider = provider.lock().unwrap();
    assert_eq!(
        provider.erased,
        [json!({"objectId": "aino@example.com", "idProperty": "email"})]
    );
    assert_eq!(provider.pushed.len(), 2);
    let last = &provider.pushed[1]["properties"];
    assert!(
        last.get("email").is_none_or(Value::is_null) && !last.to_string().contains("Aino"),
        "{last}"
    );
}

async fn a_webhook_sink_gets_every_lead_signed(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    async fn hook(
        State(seen): State<Seen>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let signature = headers
            .get("onepane-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        seen.lock().unwrap().push((signature, body.to_vec()));
        StatusCode::NO_CONTENT
    }
    let seen: Seen = Arc::default();
    let receiver = listen(
        Router::new()
            .route("/hook", post(hook))
            .with_state(Arc::clone(&seen)),
    )
    .await;
    for i in 0..3 {
        let (status, _) = w
            .call(Method::POST, &format!("/api/v1/vendor/partners/{}/leads", w.gold.id), &w.v1.token,
                Some(json!({"external_id": format!("W-{i}"), "contact": {"name": format!("Person {i}")}})))
            .await;
        assert_eq!(status, 201);
    }
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({
                "target": {"purpose": "crm-sink"}, "connector": "webhook", "name": "CRM hook",
                "settings": {"url": format!("http://{receiver}/hook")}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap().to_owned();
    let secret = created["signing_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );

    w.call(
        Method::POST,
        &format!("/api/v1/connections/{id}/sync"),
        &w.gold.token,
        None,
    )
    .await;
    let run = finished_run(&w, &w.gold.token, &id).await;
    assert_eq!(
        (run["status"].as_str(), run["created"].as_u64()),
        (Some("succeeded"), Some(3)),
        "{run}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        3,
        "each lead once, the ones before the sink included"
    );
    let now = chrono::Utc::now();
    for (signature, body) in &seen {
        assert!(onepane_connector::signature::verify(
            secret.as_bytes(),
            signature,
            body,
            now,
            300
        ));
        assert!(!onepane_connector::signature::verify(
            b"whsec_other",
            signature,
            body,
            now,
            300
        ));
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["type"], "lead.changed");
    }
}

async fn a_dead_job_is_visible_and_retried_by_hand(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    // The vendor refuses until it is fixed.
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    async fn leads(
        State(broken): State<Arc<std::sync::atomic::AtomicBool>>,
    ) -> Result<Json<Value>, (StatusCode, &'static str)> {
        if broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err((StatusCode::BAD_REQUEST, "unknown parameter"));
        }
        Ok(Json(
            json!({"data": [{"id": "L-1", "name": "Ada"}], "next": null}),
        ))
    }
    let vendor = listen(
        Router::new()
            .route("/leads", get(leads))
            .with_state(Arc::clone(&broken)),
    )
    .await;
    let mut manifest = manifest(&format!("http://{vendor}"));
    manifest["auth"] = json!({"type": "none"});
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({
                "target": {"purpose": "vendor-source", "vendor_id": w.v1.id},
                "connector": "rest", "name": "Portal", "settings": {"manifest": manifest}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap().to_owned();
    let (_, job) = w
        .call(
            Method::POST,
            &format!("/api/v1/connections/{id}/sync"),
            &w.gold.token,
            None,
        )
        .await;
    let run = finished_run(&w, &w.gold.token, &id).await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["errors"][0]
            .as_str()
            .unwrap()
            .contains("unknown parameter"),
        "{run}"
    );
    // A 400 will not pass by retrying: the job is dead at once, and visible.
    let mut jobs = Value::Null;
    for _ in 0..50 {
        jobs = w
            .call(
                Method::GET,
                &format!("/api/v1/connections/{id}/jobs"),
                &w.gold.token,
                None,
            )
            .await
            .1;
        if jobs[0]["status"] == "dead" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(jobs[0]["id"], job["id"]);
    assert_eq!(jobs[0]["status"], "dead", "{jobs}");
    assert!(
        jobs[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("unknown parameter")
    );
    let (_, connections) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(connections[0]["status"], "failing");
    let (_, notes) = w
        .call(Method::GET, "/api/v1/notifications", &w.gold.token, None)
        .await;
    assert!(
        notes.to_string().contains("connection-attention"),
        "{notes}"
    );

    let retry = format!(
        "/api/v1/connections/{id}/jobs/{}/retry",
        job["id"].as_str().unwrap()
    );
    let (status, _) = w
        .call(Method::POST, &retry, &w.registered.token, None)
        .await;
    assert_eq!(status, 404, "another workspace cannot retry it");
    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let (status, retried) = w.call(Method::POST, &retry, &w.gold.token, None).await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(
        (retried["status"].as_str(), retried["attempts"].as_u64()),
        (Some("pending"), Some(0))
    );
    let (status, _) = w.call(Method::POST, &retry, &w.gold.token, None).await;
    assert_eq!(status, 422, "only a dead job is retried");
    let mut run = run;
    for _ in 0..100 {
        run = finished_run(&w, &w.gold.token, &id).await;
        if run["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, connections) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(connections[0]["status"], "active");
}

on_both_backends!(
    the_portal_syncs_now_with_live_progress,
    a_dead_job_is_visible_and_retried_by_hand,
    a_rest_source_syncs_on_demand_and_never_shows_its_credentials,
    connections_are_checked_before_anything_is_stored,
    another_workspace_cannot_reach_a_connection,
    a_crm_is_connected_with_pkce_and_its_state_works_once,
    a_webhook_sink_gets_every_lead_signed,
    a_connection_is_deleted_by_an_admin_and_what_it_brought_in_stays,
);

/// "Sync now" in the portal: the button queues the job and the page follows
/// the run through server-sent events until it is done.
async fn the_portal_syncs_now_with_live_progress(backend: Backend) {
    use crate::portal::{GOLD_OWNER, PASSWORD, Visitor, set_password};
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let vendor = fake_vendor(Arc::default()).await;
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({
                "target": {"purpose": "vendor-source", "vendor_id": w.v1.id},
                "connector": "rest", "name": "Vendor One portal",
                "settings": {"manifest": manifest(&format!("http://{vendor}"))},
                "credentials": {"type": "api_key", "name": "X-Vendor-Key", "value": "k-123"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap().to_owned();

    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let page = v.get("/connections").await;
    assert!(page.body.contains("Vendor One portal") && page.body.contains("Sync now"));
    let queued = v
        .submit("/connections", &format!("/connections/{id}/sync"), &[])
        .await;
    assert_eq!(queued.status, 303);
    let following = queued.location.unwrap();
    assert!(following.starts_with(&format!("/connections?syncing={id}&since=")));
    let page = v.get(&following).await;
    let at = page
        .body
        .find("data-progress-url=\"")
        .expect("the page follows the run")
        + 19;
    let progress = page.body[at..at + page.body[at..].find('"').unwrap()].replace("&amp;", "&");

    // The stream reports until the run is done, then ends.
    let stream = v.get(&progress).await;
    assert_eq!(stream.status, 200);
    let events: Vec<Value> = stream
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let last = events.last().expect("at least one event");
    assert_eq!(last["done"], true, "{events:?}");
    assert_eq!(last["read"], 120);
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .starts_with("Done: 120 read, 120 new"),
        "{last}"
    );
    // The history shows the run; another workspace's progress is not found.
    assert!(
        v.get("/connections")
            .await
            .body
            .contains("120 read, 120 new")
    );
    let mut other = Visitor::new(&w.app);
    set_password(&w.app, crate::portal::REGISTERED_OWNER, PASSWORD).await;
    assert_eq!(
        other
            .login(crate::portal::REGISTERED_OWNER, PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(other.get(&progress).await.status, 404);
}

/// The portal's form makes the same connections as the API: a `rest`
/// source from a pasted manifest (checked first: a broken one is named
/// beside its field and nothing is saved), which then syncs; a webhook
/// sink whose signing secret is shown once; and a CRM that goes straight
/// on to its provider's login. No secret typed comes back into a page.
async fn a_new_workspace_connects_a_vendor_a_crm_and_a_webhook_in_the_browser(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let requests = Arc::default();
    let vendor = fake_vendor(Arc::clone(&requests)).await;
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let empty = owner.get("/connections").await;
    assert!(empty.body.contains("No connections yet."), "{}", empty.body);
    assert!(
        empty.body.contains("href=\"/connections/new\""),
        "a way forward"
    );
    let kinds = owner.get("/connections/new").await;
    for kind in [
        "rest",
        "aws-partner-central",
        "hubspot",
        "salesforce",
        "webhook",
    ] {
        assert!(
            kinds
                .body
                .contains(&format!("href=\"/connections/new/{kind}\"")),
            "{kind}"
        );
    }
    let v1 = w.v1.id.to_string();
    let form = "/connections/new/rest";

    // A manifest that is not JSON, and one the checker refuses.
    let broken = owner
        .submit(
            form,
            form,
            &[
                ("name", "Vendor One portal"),
                ("vendor", &v1),
                ("manifest", "{\"version\": 1,"),
                ("auth", "api_key"),
                ("key_name", "X-Vendor-Key"),
                ("key_value", "k-123"),
                ("schedule", "hourly"),
            ],
        )
        .await;
    assert_eq!(broken.status, 422, "{}", broken.body);
    assert!(broken.body.contains("id=\"e-manifest\""), "{}", broken.body);
    assert!(
        broken.body.contains("Vendor One portal"),
        "what was typed is kept"
    );
    assert!(!broken.body.contains("k-123"), "a secret came back");
    let refused = owner
        .submit(
            form,
            form,
            &[
                ("name", "Vendor One portal"),
                ("vendor", &v1),
                ("manifest", "{\"version\": 1}"),
                ("schedule", "hourly"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"e-manifest\""),
        "{}",
        refused.body
    );
    let (_, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(listed, json!([]), "nothing is saved before it is right");

    // The real one.
    let manifest = manifest(&format!("http://{vendor}")).to_string();
    let made = owner
        .submit(
            form,
            form,
            &[
                ("name", "Vendor One portal"),
                ("vendor", &v1),
                ("manifest", &manifest),
                ("auth", "api_key"),
                ("key_name", "X-Vendor-Key"),
                ("key_value", "k-123"),
                ("schedule", "daily"),
                ("daily_at", "06:30"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location.as_deref(), Some("/connections?done=created"));
    let (_, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    let source = &listed[0];
    assert_eq!(source["schedule"], "0 30 6 * * *", "{listed}");
    assert_eq!(source["vendor_id"], json!(v1), "{listed}");
    let page = owner.get("/connections?done=created").await;
    assert!(page.body.contains("daily at 06:30"), "{}", page.body);
    assert!(!page.body.contains("k-123"));
    let id = source["id"].as_str().unwrap().to_owned();
    let synced = owner
        .submit("/connections", &format!("/connections/{id}/sync"), &[])
        .await;
    assert_eq!(synced.status, 303, "{}", synced.body);
    let run = finished_run(&w, &w.gold.token, &id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 120, "{run}");
    // Paused, nothing runs on demand; resumed, it is active again.
    let paused = owner
        .submit("/connections", &format!("/connections/{id}/pause"), &[])
        .await;
    assert_eq!(paused.status, 303, "{}", paused.body);
    let (_, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(listed[0]["status"], "paused", "{listed}");
    let page = owner.get("/connections?done=paused").await;
    assert!(
        page.body.contains("The connection is paused"),
        "{}",
        page.body
    );
    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/connections/{id}/sync"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 409, "a paused connection does not sync");
    let resumed = owner
        .submit("/connections", &format!("/connections/{id}/resume"), &[])
        .await;
    assert_eq!(resumed.status, 303, "{}", resumed.body);
    let (_, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(listed[0]["status"], "active", "{listed}");

    // A webhook: its signing secret once.
    let hook = "/connections/new/webhook";
    let made = owner
        .submit(
            hook,
            hook,
            &[
                ("name", "CRM hook"),
                ("url", "https://crm.example/hook"),
                ("schedule", "default"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.body.contains("id=\"signing-secret\""), "{}", made.body);
    assert!(made.body.contains("whsec_"), "{}", made.body);
    let later = owner.get("/connections").await;
    assert!(!later.body.contains("whsec_"), "shown once only");

    // HubSpot: saved, then straight to the provider's login.
    let provider = Arc::new(Mutex::new(Provider::default()));
    let crm = fake_crm(Arc::clone(&provider)).await;
    let hubspot = "/connections/new/hubspot";
    let made = owner
        .submit(
            hubspot,
            hubspot,
            &[
                ("name", "HubSpot"),
                ("client_id", "app-1"),
                ("client_secret", "app-secret"),
                ("base_url", &format!("http://{crm}")),
                ("auth_url", &format!("http://{crm}/oauth/authorize")),
                ("token_url", &format!("http://{crm}/oauth/token")),
                ("scopes", "crm.objects.contacts.write"),
                ("schedule", "default"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let location = url::Url::parse(made.location.as_deref().unwrap()).unwrap();
    assert_eq!(location.path(), "/oauth/authorize");
    let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "app-1");
    assert_eq!(q["code_challenge_method"], "S256");
    let (_, listed) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
}

/// A sink for the deletion test: a webhook no one listens to (the test's
/// server runs no sync workers, so nothing is sent).
async fn webhook_sink(w: &World, name: &str) -> String {
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({
                "target": {"purpose": "crm-sink"}, "connector": "webhook", "name": name,
                "settings": {"url": "http://127.0.0.1:9/hook"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["connection"]["id"].as_str().unwrap().to_owned()
}

/// A personal access token of a new sales rep of Gold, and the rep's email.
async fn sales_rep(w: &World) -> (String, &'static str) {
    use onepane_domain::text::{Email, Name};
    use onepane_server::auth::credentials::{ACCESS_TOKEN_PREFIX, random_secret, token_digest};
    const REP: &str = "rep@gold-oy.example";
    let op = w.app.store.operator();
    op.add_member(
        w.gold.id,
        &Email::parse(REP).unwrap(),
        onepane_domain::Role::SalesRep,
    )
    .await
    .unwrap();
    let token = random_secret(ACCESS_TOKEN_PREFIX).unwrap();
    op.create_access_token(
        w.gold.id,
        &Email::parse(REP).unwrap(),
        &Name::parse("rep").unwrap(),
        &token_digest(&token),
    )
    .await
    .unwrap();
    (token, REP)
}

async fn a_connection_is_deleted_by_an_admin_and_what_it_brought_in_stays(backend: Backend) {
    let Some(w) = World::with_config(backend, |c| onepane_server::Config {
        sync_workers: 0,
        ..c
    })
    .await
    else {
        return;
    };
    let id = webhook_sink(&w, "CRM hook").await;
    let lead = crate::portal::send_lead(&w, w.gold.id, "kept-1", "Kaija Kept").await;
    // A job waits for it: deleting takes the job along.
    let (status, job) = w
        .call(
            Method::POST,
            &format!("/api/v1/connections/{id}/sync"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 202, "{job}");
    let path = format!("/api/v1/connections/{id}");

    // Another workspace does not find it; a sales rep may not delete it.
    let response = w
        .request(Method::DELETE, &path, &w.registered.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (rep, _) = sales_rep(&w).await;
    let (status, problem) = w.call(Method::DELETE, &path, &rep, None).await;
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("owners and admins"),
        "{problem}"
    );

    // While a run holds it: 409, saying what to do.
    let system = w.app.store.system();
    let connection_id: onepane_domain::ConnectionId = id.parse().unwrap();
    system
        .claim_connection_run(
            w.gold.id,
            connection_id,
            "worker-1",
            chrono::Duration::minutes(5),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    let (status, problem) = w.call(Method::DELETE, &path, &w.gold.token, None).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["type"].as_str().unwrap().ends_with("/conflict"),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("pause it"),
        "{problem}"
    );
    system
        .release_connection_run(w.gold.id, connection_id, "worker-1")
        .await
        .unwrap();

    // The owner deletes it: gone with its jobs and runs, the lead stays.
    let response = w
        .request(Method::DELETE, &path, &w.gold.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (_, all) = w
        .call(Method::GET, "/api/v1/connections", &w.gold.token, None)
        .await;
    assert_eq!(all, json!([]));
    for gone in [format!("{path}/runs"), format!("{path}/jobs")] {
        let (status, _) = w.call(Method::GET, &gone, &w.gold.token, None).await;
        assert_eq!(status, 404, "{gone}");
    }
    let (status, _) = w.call(Method::DELETE, &path, &w.gold.token, None).await;
    assert_eq!(status, 404, "deleted once");
    let (status, kept) = w
        .call(
            Method::GET,
            &format!("/api/v1/leads/{lead}"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{kept}");
    let (_, log) = w
        .call(Method::GET, "/api/v1/audit", &w.gold.token, None)
        .await;
    let deleted = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "connection.deleted")
        .unwrap_or_else(|| panic!("no deletion in {log}"));
    assert_eq!(deleted["subject"], id.as_str());
    assert_eq!(deleted["detail"]["through"], "api");

    // In the portal: confirmed, or not at all.
    let id = webhook_sink(&w, "Second hook").await;
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let page = owner.get("/connections").await;
    assert!(
        page.body
            .contains(&format!(r#"action="/connections/{id}/delete""#)),
        "{}",
        page.body
    );
    let action = format!("/connections/{id}/delete");
    let unconfirmed = owner.submit("/connections", &action, &[]).await;
    assert_eq!(unconfirmed.status, 303);
    let shown = owner.get(unconfirmed.location.as_deref().unwrap()).await;
    assert!(
        shown.body.contains("Tick the box to confirm the deletion."),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("Second hook"), "still there");
    let confirmed = owner
        .submit("/connections", &action, &[("confirm", "yes")])
        .await;
    assert_eq!(confirmed.status, 303);
    let shown = owner.get(confirmed.location.as_deref().unwrap()).await;
    assert!(
        shown
            .body
            .contains("The connection is deleted. What it brought in stays."),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains("Second hook"), "{}", shown.body);
    let (_, log) = w
        .call(Method::GET, "/api/v1/audit", &w.gold.token, None)
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "connection.deleted" && e["detail"]["through"] == "portal"),
        "{log}"
    );
}
