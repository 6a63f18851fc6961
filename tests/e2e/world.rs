//! A world for the API tests: a server on either backend, two partner
//! workspaces and two vendors with API clients, spoken to over HTTP.
//!
//! - `gold`: a partner linked to vendor one as Gold.
//! - `registered`: a partner linked to vendor one as Registered and to
//!   vendor two as Silver.
//! - Vendor two is not linked to `gold` at all.

use onepane_domain::text::{Email, Locale, Name};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{ApiClientId, Currency, PartnerType, Tier, VendorId, VendorKind, WorkspaceId};
use onepane_server::auth::credentials::{
    ACCESS_TOKEN_PREFIX, CLIENT_SECRET_PREFIX, hash_secret, random_secret, token_digest,
};
use onepane_server::http::oauth::SCOPES;
use reqwest::Method;
use serde_json::Value;

use crate::harness::{Backend, TestApp};

pub(crate) use onepane_store::on_both_backends;

pub struct Partner {
    pub id: WorkspaceId,
    pub token: String,
}

pub struct Vendor {
    pub id: VendorId,
    pub client_id: ApiClientId,
    pub secret: String,
    /// An access token with every scope.
    pub token: String,
}

pub struct World {
    pub app: TestApp,
    pub gold: Partner,
    pub registered: Partner,
    pub v1: Vendor,
    pub v2: Vendor,
}

impl World {
    /// `None` when the backend is not available (PostgreSQL, when not required).
    pub async fn new(backend: Backend) -> Option<World> {
        Self::with_config(backend, |c| c).await
    }

    pub async fn with_config(
        backend: Backend,
        adjust: impl FnOnce(onepane_server::Config) -> onepane_server::Config,
    ) -> Option<World> {
        // Webhook receivers in the tests listen on loopback.
        let app = TestApp::on(backend, |c| {
            adjust(onepane_server::Config {
                outbound_allow: vec!["127.0.0.0/8".parse().unwrap()],
                ..c
            })
        })
        .await?;
        let gold = partner(&app, "Gold Oy").await;
        let registered = partner(&app, "Registered Oy").await;
        let mut v1 = vendor(&app, "Vendor One").await;
        let mut v2 = vendor(&app, "Vendor Two").await;
        let op = app.store.operator();
        op.link(gold.id, v1.id, Tier::Gold, PartnerType::Var)
            .await
            .unwrap();
        op.link(registered.id, v1.id, Tier::Registered, PartnerType::Msp)
            .await
            .unwrap();
        op.link(registered.id, v2.id, Tier::Silver, PartnerType::Var)
            .await
            .unwrap();
        let all: Vec<&str> = SCOPES.to_vec();
        v1.token = token(&app, &v1.client_id, &v1.secret, Some(&all)).await;
        v2.token = token(&app, &v2.client_id, &v2.secret, Some(&all)).await;
        Some(World {
            app,
            gold,
            registered,
            v1,
            v2,
        })
    }

    /// A request with a bearer token.
    pub fn request(&self, method: Method, path: &str, bearer: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(bearer)
    }

    /// Sends a JSON request and returns the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.request(method, path, bearer);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.unwrap();
        read(response).await
    }
}

/// The status and JSON body of a response (Null when empty).
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

async fn partner(app: &TestApp, name: &str) -> Partner {
    let email = format!("owner@{}.example", name.to_lowercase().replace(' ', "-"));
    let (ws, _) = app
        .store
        .operator()
        .create_workspace(&NewWorkspace {
            name: Name::parse(name).unwrap(),
            home_currency: Currency::EUR,
            locale: Locale::parse("en").unwrap(),
            owner_email: Email::parse(&email).unwrap(),
        })
        .await
        .unwrap();
    // Campaigns are activated in these workspaces: landing pages link to a
    // privacy notice, and activation needs one.
    app.store
        .partner(ws.id)
        .put_profile(&onepane_store::WorkspaceProfile {
            privacy_notice_url: Some(onepane_store::testing::tenants::privacy_notice_url(name)),
            ..Default::default()
        })
        .await
        .unwrap();
    let token = random_secret(ACCESS_TOKEN_PREFIX).unwrap();
    app.store
        .operator()
        .create_access_token(
            ws.id,
            &Email::parse(&email).unwrap(),
            &Name::parse("tests").unwrap(),
            &token_digest(&token),
        )
        .await
        .unwrap();
    Partner { id: ws.id, token }
}

pub(crate) async fn vendor(app: &TestApp, name: &str) -> Vendor {
    let v = app
        .store
        .operator()
        .create_vendor(&Name::parse(name).unwrap(), VendorKind::Vendor)
        .await
        .unwrap();
    let (client_id, secret) = api_client(app, v.id, SCOPES).await;
    Vendor {
        id: v.id,
        client_id,
        secret,
        token: String::new(),
    }
}

/// A new API client for `vendor` with `scopes`; returns its id and secret.
pub async fn api_client(app: &TestApp, vendor: VendorId, scopes: &[&str]) -> (ApiClientId, String) {
    let secret = random_secret(CLIENT_SECRET_PREFIX).unwrap();
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let client = app
        .store
        .operator()
        .create_api_client(
            vendor,
            &Name::parse("tests").unwrap(),
            &hash_secret(&secret).unwrap(),
            &scopes,
        )
        .await
        .unwrap();
    (client.id, secret)
}

/// An access token from the token endpoint (HTTP Basic), for `scopes` or
/// every scope the client holds.
pub async fn token(
    app: &TestApp,
    client: &ApiClientId,
    secret: &str,
    scopes: Option<&[&str]>,
) -> String {
    let mut form = vec![("grant_type", "client_credentials".to_owned())];
    if let Some(scopes) = scopes {
        form.push(("scope", scopes.join(" ")));
    }
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(client.to_string(), Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}
