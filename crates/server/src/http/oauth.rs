//! The OAuth 2.0 token endpoint (client-credentials grant, RFC 6749 §4.4),
//! the JWK Set that verifies its tokens, and the server metadata (RFC 8414).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use onepane_domain::ApiClientId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

pub use super::scopes::{SCOPES, scope_description};

/// An RFC 6749 §5.2 error.
#[derive(Debug)]
struct OAuthError {
    code: &'static str,
    description: String,
    /// The client tried HTTP Basic: a 401 must challenge it.
    basic: bool,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            basic: false,
        }
    }
}

/// An RFC 6749 §5.2 error answer of the token endpoint.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthError)]
struct ErrorBody<'a> {
    /// The error code.
    #[schema(schema_with = oauth_error_code)]
    error: &'a str,
    /// What went wrong, for the developer.
    error_description: &'a str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "slow_down" => StatusCode::TOO_MANY_REQUESTS,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.code,
                error_description: &self.description,
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        no_store(headers);
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if self.basic {
                "Basic realm=\"onepane\""
            } else {
                "Bearer realm=\"onepane\""
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// An access token (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
struct TokenResponse {
    /// The token: a JWT signed with EdDSA, to send as `Authorization: Bearer`.
    access_token: String,
    /// Always `Bearer`.
    #[schema(schema_with = bearer_token_type)]
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: u64,
    /// The scopes it carries, space-separated.
    scope: String,
}

/// The form `POST /oauth/token` reads (`application/x-www-form-urlencoded`).
/// The client authenticates with HTTP Basic or with `client_id` and
/// `client_secret` here, not both.
#[derive(Debug, ToSchema)]
pub struct TokenRequest {
    /// Always `client_credentials`.
    #[schema(schema_with = client_credentials_grant)]
    pub grant_type: String,
    /// The scopes wanted, space-separated; every scope the client holds when
    /// absent.
    #[schema(value_type = String, required = false)]
    pub scope: Option<String>,
    /// The client id, when HTTP Basic is not used.
    #[schema(value_type = String, required = false)]
    pub client_id: Option<String>,
    /// The client secret, when HTTP Basic is not used.
    #[schema(value_type = String, required = false)]
    pub client_secret: Option<String>,
}

/// The JSON Web Key Set (RFC 7517) of `/.well-known/jwks.json`.
#[derive(Debug, ToSchema)]
pub struct JwkSet {
    /// Every key that may have signed a token still valid.
    pub keys: Vec<Jwk>,
}

/// An Ed25519 public key (RFC 8037).
#[derive(Debug, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// The key id, as in the token's `kid` header.
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// Always `sig`.
    #[schema(rename = "use")]
    pub key_use: String,
}

/// The authorization server metadata (RFC 8414).
#[derive(Debug, ToSchema)]
pub struct ServerMetadata {
    /// This server's issuer URL, the `iss` of its tokens.
    pub issuer: String,
    /// Where to ask for tokens.
    pub token_endpoint: String,
    /// Where the signing keys are.
    pub jwks_uri: String,
    /// `client_credentials` only.
    pub grant_types_supported: Vec<String>,
    /// `client_secret_basic` and `client_secret_post`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Every scope a client can hold.
    pub scopes_supported: Vec<String>,
    /// Empty: there is no authorization endpoint.
    pub response_types_supported: Vec<String>,
}

/// The client's credentials, from the Basic header or the form, not both.
fn client_credentials(
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<(String, String, bool), OAuthError> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, b64)| b64.trim().to_owned());
    match (basic, field("client_id"), field("client_secret")) {
        (Some(_), _, Some(_)) => Err(OAuthError::new(
            "invalid_request",
            "authenticate the client one way: HTTP Basic or form fields, not both",
        )),
        (Some(b64), _, None) => {
            let decoded = STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError {
                    basic: true,
                    ..OAuthError::new(
                        "invalid_client",
                        "the Basic credentials are not valid base64",
                    )
                })?;
            let (id, secret) = decoded.split_once(':').ok_or_else(|| OAuthError {
                basic: true,
                ..OAuthError::new("invalid_client", "the Basic credentials lack a `:`")
            })?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded first.
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Ok((decode(id), decode(secret), true))
        }
        (None, Some(id), Some(secret)) => Ok((id, secret, false)),
        (None, _, _) => Err(OAuthError::new(
            "invalid_client",
            "client authentication is missing: use HTTP Basic or client_id and client_secret",
        )),
    }
}

/// Get an access token.
///
/// For a vendor's API client (OAuth 2.0 client credentials). Authenticate the client with HTTP Basic (`client_id:client_secret`) or
/// with `client_id` and `client_secret` in the form, not both. Errors follow
/// RFC 6749 §5.2; a client over its rate limit gets `slow_down`.
#[utoipa::path(
    post, path = "/oauth/token", operation_id = "oauth_token", tag = "OAuth",
    security(("clientBasic" = []), ()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The access token.", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope`.", body = ErrorBody),
        (status = 401, description = "`invalid_client`: unknown, revoked or wrong secret.", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Basic` when the client used HTTP Basic, else `Bearer`."))),
        (status = 429, description = "`slow_down`: too many token requests for this client.", body = ErrorBody),
        (status = 500, description = "`server_error`.", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`.", body = ErrorBody),
    )
)]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&state, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn issue(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::new(
            "invalid_request",
            "send the request as application/x-www-form-urlencoded",
        ));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    for name in ["grant_type", "scope", "client_id", "client_secret"] {
        if form.iter().filter(|(k, _)| k == name).count() > 1 {
            return Err(OAuthError::new(
                "invalid_request",
                format!("`{name}` is repeated"),
            ));
        }
    }
    let grant = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str());
    match grant {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("the grant type `{other}` is not supported; use client_credentials"),
            ));
        }
        None => {
            return Err(OAuthError::new(
                "invalid_request",
                "`grant_type` is missing",
            ));
        }
    }
    let (client_id, secret, basic) = client_credentials(headers, &form)?;
    let invalid_client = || OAuthError {
        basic,
        ..OAuthError::new(
            "invalid_client",
            "the client is unknown, revoked, or its secret is wrong",
        )
    };
    // Its own budget: failed attempts against a client id must not spend
    // the API budget of the client's valid tokens.
    if state
        .rate_limiter
        .check(&format!("token-endpoint:{client_id}"))
        .is_err()
    {
        return Err(OAuthError::new(
            "slow_down",
            "too many token requests for this client; retry later",
        ));
    }
    let client = match client_id.parse::<ApiClientId>() {
        Ok(id) => state.store.system().api_client(id).await.map_err(|e| {
            tracing::error!(error = %crate::report::cause_chain(&e), "cannot look up an API client");
            OAuthError::new("temporarily_unavailable", "the server cannot check credentials now")
        })?,
        Err(_) => None,
    };
    // The secret is digested even for an unknown client, so timing does
    // not tell which client ids exist.
    let matches = state
        .client_secrets
        .verify(&secret, client.as_ref().map(|c| c.secret_hash.as_str()))
        .await;
    let client = match client {
        Some(c) if matches && c.revoked_at.is_none() => c,
        _ => return Err(invalid_client()),
    };
    let requested: Vec<String> = match form.iter().find(|(k, _)| k == "scope") {
        Some((_, s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => client.scopes.clone(),
    };
    if let Some(bad) = requested.iter().find(|s| !client.scopes.contains(s)) {
        return Err(OAuthError::new(
            "invalid_scope",
            format!("the scope `{bad}` is not granted to this client"),
        ));
    }
    let policy = state.keys.policy();
    let now = chrono::Utc::now().timestamp();
    let (token, claims) = state
        .keys
        .ring()
        .issue(
            policy,
            &client.id.to_string(),
            client.vendor_id,
            &requested,
            now,
        )
        .map_err(|e| {
            tracing::error!(error = %crate::report::cause_chain(&e), "cannot sign an access token");
            OAuthError::new("server_error", "the server could not issue a token")
        })?;
    let mut response = Json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: policy.ttl.as_secs(),
        scope: claims.scope,
    })
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}

/// Get the public keys that verify access tokens.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", operation_id = "oauth_jwks", tag = "OAuth",
    responses((status = 200, description = "The JSON Web Key Set.", body = JwkSet)),
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.ring().jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// Get the authorization server metadata (RFC 8414).
#[utoipa::path(
    get, path = "/.well-known/oauth-authorization-server", operation_id = "oauth_metadata",
    tag = "OAuth",
    responses((status = 200, description = "The metadata.", body = ServerMetadata)),
)]
pub async fn metadata(State(state): State<AppState>) -> Json<serde_json::Value> {
    let issuer = &state.keys.policy().issuer;
    let base = issuer.trim_end_matches('/');
    Json(serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": SCOPES,
        "response_types_supported": [],
    }))
}

/// The error codes the token endpoint gives.
pub fn oauth_error_code() -> utoipa::openapi::schema::ObjectBuilder {
    onepane_domain::openapi::one_of_strings(
        &[
            "invalid_request",
            "invalid_client",
            "unsupported_grant_type",
            "invalid_scope",
            "slow_down",
            "server_error",
            "temporarily_unavailable",
        ],
        "The RFC 6749 error code.",
    )
}

/// The token type the token endpoint issues.
pub fn bearer_token_type() -> utoipa::openapi::schema::ObjectBuilder {
    onepane_domain::openapi::one_of_strings(&["Bearer"], "The token type.")
}

/// The one grant the token endpoint takes.
pub fn client_credentials_grant() -> utoipa::openapi::schema::ObjectBuilder {
    onepane_domain::openapi::one_of_strings(&["client_credentials"], "The grant type.")
}
