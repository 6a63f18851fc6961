//! OAuth 2.0 for connections, with the `oauth2` crate: the authorization
//! URL with PKCE, the code exchange, refresh and client credentials, and
//! an [`Authorizer`] that keeps a connection's token fresh.
//!
//! Several workers may find the same token expired at once. The
//! [`TokenStore`] lets exactly one of them refresh: in the process a mutex
//! serialises them, and across processes the store hands out a short claim
//! on the stored token's version. The others wait for the new version.
//! When the provider refuses a refresh, the store is told
//! ([`TokenStore::refused`]) so the connection can ask the partner to
//! connect again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use reqwest::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::credentials::{Credentials, Secret, sensitive};
use crate::io::{Applied, Authorizer, BoxFuture, ConnectorError};
use crate::net::AddressPolicy;

/// Fields a provider returns beside the standard ones (Salesforce's
/// `instance_url`), kept as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraFields(#[serde(default)] BTreeMap<String, serde_json::Value>);

impl ExtraTokenFields for ExtraFields {}

type TokenAnswer = StandardTokenResponse<ExtraFields, BasicTokenType>;
type Client<HasAuth> = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuth,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A connection's tokens; sealed at rest.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, when the provider gave one.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// When the access token expires, when the provider said.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Other fields of the token response (`instance_url`, ...).
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_at", &self.expires_at)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TokenSet {
    fn from_answer(
        answer: &TokenAnswer,
        keep_refresh: Option<&Secret>,
        now: DateTime<Utc>,
    ) -> Self {
        let expires_at = answer
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| now + d);
        let extra = answer
            .extra_fields()
            .0
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect();
        Self {
            access_token: Secret::new(answer.access_token().secret().clone()),
            // A provider that does not rotate refresh tokens sends none back.
            refresh_token: answer
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone()))
                .or_else(|| keep_refresh.cloned()),
            expires_at,
            extra,
        }
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        let margin = chrono::Duration::from_std(margin).unwrap_or_default();
        self.expires_at.is_some_and(|at| at - margin <= now)
    }
}

/// Where to send the partner and the codes.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    /// The authorization endpoint (authorization code only).
    pub auth_url: Option<url::Url>,
    /// The token endpoint.
    pub token_url: url::Url,
    /// The client id.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<Secret>,
    /// Scopes to ask for.
    pub scopes: Vec<String>,
}

impl OAuthApp {
    /// The app of OAuth credentials; `None` for other kinds.
    pub fn from_credentials(credentials: &Credentials) -> Option<Self> {
        match credentials {
            Credentials::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
            } => Some(Self {
                auth_url: None,
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: Some(client_secret.clone()),
                scopes: scopes.clone(),
            }),
            Credentials::Oauth2AuthorizationCode {
                auth_url,
                token_url,
                client_id,
                client_secret,
                scopes,
            } => Some(Self {
                auth_url: Some(auth_url.clone()),
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                scopes: scopes.clone(),
            }),
            _ => None,
        }
    }

    fn client(&self) -> Result<Client<EndpointNotSet>, ConnectorError> {
        let token_url = TokenUrl::from_url(self.token_url.clone());
        let mut client =
            oauth2::Client::new(ClientId::new(self.client_id.clone())).set_token_uri(token_url);
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
        }
        Ok(client)
    }
}

/// Where the partner goes to connect, and what to keep until it returns.
#[derive(Debug)]
pub struct Authorization {
    /// The provider's authorization URL, with state and PKCE challenge.
    pub url: url::Url,
    /// The state sent (compare on return).
    pub state: Secret,
    /// The PKCE verifier (send with the code).
    pub verifier: Secret,
}

/// Builds the authorization URL for `app` with a fresh state (256 random
/// bits) and an S256 PKCE challenge.
pub fn authorization(app: &OAuthApp, redirect: &url::Url) -> Result<Authorization, ConnectorError> {
    let auth_url = app.auth_url.clone().ok_or_else(|| {
        ConnectorError::Config("these credentials have no authorization endpoint".into())
    })?;
    let client = app
        .client()?
        .set_auth_uri(AuthUrl::from_url(auth_url))
        .set_redirect_uri(RedirectUrl::from_url(redirect.clone()));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(|| CsrfToken::new_random_len(32))
        .set_pkce_challenge(challenge);
    for scope in &app.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state) = request.url();
    Ok(Authorization {
        url,
        state: Secret::new(state.secret().clone()),
        verifier: Secret::new(verifier.secret().clone()),
    })
}

/// Sends token requests through a client that follows no redirects and
/// refuses private addresses (checked here for literal IPs, by the
/// resolver for names).
#[derive(Debug, Clone)]
pub struct TokenClient {
    http: reqwest::Client,
    addresses: AddressPolicy,
}

impl TokenClient {
    /// A client for token endpoints under `addresses`.
    pub fn new(addresses: AddressPolicy, timeout: Duration) -> Result<Self, ConnectorError> {
        let http = addresses
            .client_builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ConnectorError::Config(format!("cannot build the OAuth client: {e}")))?;
        Ok(Self { http, addresses })
    }

    fn check(&self, url: &url::Url) -> Result<(), ConnectorError> {
        self.addresses
            .check_url(url)
            .map_err(|e| ConnectorError::Config(format!("the token endpoint is refused: {e}")))
    }

    /// Exchanges an authorization code (with its PKCE verifier).
    pub async fn exchange_code(
        &self,
        app: &OAuthApp,
        redirect: &url::Url,
        code: &str,
        verifier: &Secret,
    ) -> Result<TokenSet, ConnectorError> {
        self.check(&app.token_url)?;
        let answer = app
            .client()?
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(&app.token_url, e))?;
        Ok(TokenSet::from_answer(&answer, None, Utc::now()))
    }

    /// Renews `tokens` with their refresh token.
    pub async fn refresh(
        &self,
        app: &OAuthApp,
        tokens: &TokenSet,
    ) -> Result<TokenSet, ConnectorError> {
        self.check(&app.token_url)?;
        let refresh = tokens.refresh_token.as_ref().ok_or_else(|| {
            ConnectorError::Unauthorized("the provider gave no refresh token; connect again".into())
        })?;
        let answer = app
            .client()?
            .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(&app.token_url, e))?;
        let mut fresh = TokenSet::from_answer(&answer, Some(refresh), Utc::now());
        // Fields such as `instance_url` are not always repeated on refresh.
        for (k, v) in &tokens.extra {
            fresh.extra.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Ok(fresh)
    }

    /// Fetches a token with the client-credentials grant.
    pub async fn client_credentials(&self, app: &OAuthApp) -> Result<TokenSet, ConnectorError> {
        self.check(&app.token_url)?;
        let client = app.client()?;
        let mut request = client.exchange_client_credentials();
        for scope in &app.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let answer = request
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(&app.token_url, e))?;
        Ok(TokenSet::from_answer(&answer, None, Utc::now()))
    }
}

fn token_error<RE: std::error::Error + 'static>(
    url: &url::Url,
    e: RequestTokenError<RE, BasicErrorResponse>,
) -> ConnectorError {
    let at = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    );
    match e {
        // RFC 6749 §5.2: the grant or the client is refused; only the
        // partner can fix that.
        RequestTokenError::ServerResponse(answer) => match answer.error() {
            BasicErrorResponseType::InvalidGrant
            | BasicErrorResponseType::InvalidClient
            | BasicErrorResponseType::UnauthorizedClient => ConnectorError::Unauthorized(format!(
                "{at} refused: {}{}",
                answer.error(),
                answer
                    .error_description()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )),
            other => ConnectorError::Remote {
                url: at,
                status: 400,
                message: other.to_string(),
            },
        },
        RequestTokenError::Request(e) => ConnectorError::Remote {
            url: at,
            status: 0,
            message: format!("the token request failed: {}", chain(&e)),
        },
        RequestTokenError::Parse(e, _) => ConnectorError::Malformed {
            url: at,
            message: format!("the token response does not parse: {e}"),
        },
        RequestTokenError::Other(message) => ConnectorError::Malformed { url: at, message },
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A stored token and its version (bumped on every save).
#[derive(Debug, Clone)]
pub struct StoredTokens {
    /// The tokens.
    pub tokens: TokenSet,
    /// The version.
    pub version: i64,
}

/// Where a connection's tokens live (the database, sealed).
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// The current tokens, if the connection has any.
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredTokens>, ConnectorError>>;
    /// Claims the right to replace version `version` (0: no tokens yet) for
    /// a short while; `false` when another worker holds it or the version
    /// moved on.
    fn claim(&self, version: i64) -> BoxFuture<'_, Result<bool, ConnectorError>>;
    /// Stores `tokens` as the version after `version` and ends the claim.
    fn save<'a>(
        &'a self,
        version: i64,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<i64, ConnectorError>>;
    /// Ends a claim without new tokens (the refresh failed for a passing reason).
    fn release(&self, version: i64) -> BoxFuture<'_, Result<(), ConnectorError>>;
    /// The provider refused the credentials: the partner must connect again.
    fn refused<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>>;
}

/// How long before expiry a token is renewed.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Keeps an OAuth connection's access token fresh, refreshing once however
/// many workers need it.
#[derive(Debug)]
pub struct OAuthAuthorizer {
    app: OAuthApp,
    grant: Grant,
    client: TokenClient,
    store: Arc<dyn TokenStore>,
    current: Mutex<Option<StoredTokens>>,
    /// How long to wait for another worker's refresh.
    wait: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    ClientCredentials,
    AuthorizationCode,
}

impl OAuthAuthorizer {
    /// The authorizer of OAuth `credentials`; `None` for other kinds.
    pub fn new(
        credentials: &Credentials,
        client: TokenClient,
        store: Arc<dyn TokenStore>,
    ) -> Option<Self> {
        let grant = match credentials {
            Credentials::Oauth2ClientCredentials { .. } => Grant::ClientCredentials,
            Credentials::Oauth2AuthorizationCode { .. } => Grant::AuthorizationCode,
            _ => return None,
        };
        Some(Self {
            app: OAuthApp::from_credentials(credentials)?,
            grant,
            client,
            store,
            current: Mutex::new(None),
            wait: Duration::from_secs(30),
        })
    }

    /// Waits at most `wait` for another worker's refresh (30 s by default).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Usable tokens: the cached ones, else the stored ones, else new ones.
    /// `refused` is the version the provider refused: a newer one (another
    /// request renewed meanwhile) is used as it is.
    async fn tokens(&self, refused: Option<i64>) -> Result<StoredTokens, ConnectorError> {
        // One renewal per process at a time; the store's claim covers the
        // other processes.
        let mut current = self.current.lock().await;
        let seen = refused.unwrap_or_else(|| current.as_ref().map_or(0, |t| t.version));
        if let Some(t) = current.as_ref()
            && (refused.is_none() || t.version > seen)
            && !t.tokens.expires_within(Utc::now(), EXPIRY_MARGIN)
        {
            return Ok(t.clone());
        }
        let refused = refused.is_some();
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let stored = self.store.load().await?;
            let version = stored.as_ref().map_or(0, |t| t.version);
            if let Some(t) = &stored {
                let newer = version > seen;
                let fresh = !t.tokens.expires_within(Utc::now(), EXPIRY_MARGIN);
                if fresh && (newer || !refused) {
                    *current = stored.clone();
                    return Ok(t.clone());
                }
            } else if self.grant == Grant::AuthorizationCode {
                return Err(ConnectorError::Unauthorized(
                    "the connection has not been authorized yet".into(),
                ));
            }
            if self.store.claim(version).await? {
                let renewed = match (&stored, self.grant) {
                    (Some(t), Grant::AuthorizationCode) => {
                        self.client.refresh(&self.app, &t.tokens).await
                    }
                    (_, _) => self.client.client_credentials(&self.app).await,
                };
                let tokens = match renewed {
                    Ok(tokens) => tokens,
                    Err(e) => {
                        if let ConnectorError::Unauthorized(reason) = &e {
                            self.store.refused(reason).await?;
                        } else {
                            self.store.release(version).await?;
                        }
                        return Err(e);
                    }
                };
                let version = self.store.save(version, &tokens).await?;
                let stored = StoredTokens { tokens, version };
                *current = Some(stored.clone());
                return Ok(stored);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ConnectorError::Throttled {
                    message: "another worker is renewing the connection's token".into(),
                    after: Duration::from_secs(5),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Authorizer for OAuthAuthorizer {
    fn apply(&self) -> BoxFuture<'_, Result<Applied, ConnectorError>> {
        Box::pin(async move {
            let t = self.tokens(None).await?;
            let mut applied = Applied {
                version: t.version,
                ..Applied::default()
            };
            applied.headers.insert(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", t.tokens.access_token.expose()))?,
            );
            Ok(applied)
        })
    }

    fn renew<'a>(&'a self, refused: &'a Applied) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move { self.tokens(Some(refused.version)).await.map(|_| ()) })
    }

    fn token_field<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async move { Ok(self.tokens(None).await?.tokens.extra.get(name).cloned()) })
    }
}
