//! Authenticating a request: a vendor's access token (a JWT from the
//! token endpoint) or a partner's personal access token, both as
//! `Authorization: Bearer`. The middleware puts the caller in the request's
//! extensions; handlers take it as an extractor and check scopes there.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use onepane_domain::{AccessTokenId, UserId, VendorId, WorkspaceId};

use crate::auth::credentials::{ACCESS_TOKEN_PREFIX, token_digest};
use crate::auth::jwt::TokenError;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The realm named in challenges.
const REALM: &str = "onepane";

/// A vendor's API client, authenticated by its access token.
#[derive(Debug, Clone)]
pub struct VendorCaller {
    /// The vendor it acts for: the only vendor scope this request gets.
    pub vendor_id: VendorId,
    /// The OAuth client id.
    pub client_id: String,
    scopes: Vec<String>,
}

impl VendorCaller {
    /// The store scope of this caller's vendor, acting through its client
    /// (named in the access logs of the workspaces it reaches).
    pub fn store(&self, state: &AppState) -> onepane_store::VendorStore {
        state.store.vendor(self.vendor_id).through(&self.client_id)
    }

    /// Fails with 403 unless the token carries `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(scope))
        }
    }
}

/// A member of a partner workspace, authenticated by a personal access token.
#[derive(Debug, Clone)]
pub struct PartnerCaller {
    /// The workspace: the only partner scope this request gets.
    pub workspace_id: WorkspaceId,
    /// The member.
    pub user_id: UserId,
    /// The token presented.
    pub token_id: AccessTokenId,
}

/// Who made the request, as the rate limiter and idempotency keys see it.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A vendor's client.
    Vendor(VendorCaller),
    /// A partner's member.
    Partner(PartnerCaller),
}

impl Caller {
    /// A stable key for the client (API client or access token).
    pub fn client_key(&self) -> String {
        match self {
            Caller::Vendor(v) => format!("client:{}", v.client_id),
            Caller::Partner(p) => format!("token:{}", p.token_id),
        }
    }
}

fn challenge(error: Option<(&str, &str)>) -> String {
    match error {
        None => format!("Bearer realm=\"{REALM}\""),
        Some((code, description)) => format!(
            "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{}\"",
            description.replace(['"', '\\'], "'")
        ),
    }
}

fn unauthorized(detail: &str, error: Option<(&str, &str)>) -> ApiError {
    ApiError::Unauthorized {
        detail: detail.to_owned(),
        challenge: challenge(error),
    }
}

fn invalid_token(description: &str) -> ApiError {
    unauthorized(
        &format!("the access token is not valid: {description}"),
        Some(("invalid_token", description)),
    )
}

/// The bearer token of a request; 401 when there is none or the header is
/// not a bearer credential.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(unauthorized(
            "this endpoint needs an access token in an `Authorization: Bearer` header",
            None,
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| invalid_token("the Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(unauthorized(
            "the Authorization header must be `Bearer <token>`",
            Some(("invalid_request", "expected a Bearer token")),
        )),
    }
}

/// Authenticates a vendor's access token, then applies the client's rate limit.
pub async fn authenticate_vendor(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer(req.headers())?;
    let now = chrono::Utc::now().timestamp();
    let verified = state.keys.ring().verify(state.keys.policy(), token, now);
    let verified = match verified {
        Err(TokenError::UnknownKey) if state.keys.reload_for_unknown_kid().await => {
            state.keys.ring().verify(state.keys.policy(), token, now)
        }
        other => other,
    };
    let claims = verified.map_err(|e| invalid_token(&e.to_string()))?;
    let caller = VendorCaller {
        vendor_id: claims.vendor_id,
        client_id: claims.client_id.clone(),
        scopes: claims.scopes().map(str::to_owned).collect(),
    };
    let who = Caller::Vendor(caller.clone());
    state.rate_limiter.check(&who.client_key())?;
    req.extensions_mut().insert(who);
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

/// Authenticates a partner's personal access token, then applies its rate limit.
pub async fn authenticate_partner(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer(req.headers())?;
    if !token.starts_with(ACCESS_TOKEN_PREFIX) {
        return Err(invalid_token("this is not a personal access token"));
    }
    let found = state
        .store
        .system()
        .access_token(&token_digest(token))
        .await?;
    let Some(found) = found else {
        return Err(invalid_token("the token is unknown or revoked"));
    };
    let caller = PartnerCaller {
        workspace_id: found.workspace_id,
        user_id: found.user_id,
        token_id: found.id,
    };
    let who = Caller::Partner(caller.clone());
    state.rate_limiter.check(&who.client_key())?;
    req.extensions_mut().insert(who);
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

fn from_extensions<T: Clone + Send + Sync + 'static>(parts: &Parts) -> Result<T, ApiError> {
    parts.extensions.get::<T>().cloned().ok_or_else(|| {
        ApiError::Internal("a handler that needs a caller runs without authentication".into())
    })
}

impl<S: Send + Sync> FromRequestParts<S> for VendorCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        from_extensions(parts)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PartnerCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        from_extensions(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let mut h = HeaderMap::new();
        let err = bearer(&h).unwrap_err();
        assert!(
            matches!(&err, ApiError::Unauthorized { challenge, .. } if challenge == "Bearer realm=\"onepane\"")
        );
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer(&h).unwrap(), "abc");
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(bearer(&h).is_err());
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(bearer(&h).is_err());
    }

    #[test]
    fn challenges_cannot_be_broken_by_their_description() {
        let c = challenge(Some(("invalid_token", "a \"quoted\" \\ thing")));
        assert_eq!(
            c,
            "Bearer realm=\"onepane\", error=\"invalid_token\", error_description=\"a 'quoted' ' thing\""
        );
    }
}
