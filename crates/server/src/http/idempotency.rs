//! `Idempotency-Key` on writes, with Stripe's semantics: the same key and
//! request replay the first response; the same key with another request is
//! 422. Keys belong to one client of one caller and are kept for 24 hours.
//!
//! A keyed request runs in one database transaction with its key's record
//! ([`onepane_store::KeyedWrite`]): its writes and the response kept for
//! its retries commit together. A server that dies before the commit left
//! nothing, so a retry runs; after it, a retry replays. A retry sent while
//! the first attempt still runs waits for it, then replays its response. A
//! first attempt that failed on the server's side (5xx) keeps nothing, so a
//! retry runs.

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onepane_store::{IdempotencyKey, KeyOwner, KeyedClaim, StoredResponse};
use sha2::{Digest, Sha256};

use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a replayed response.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Responses larger than this are not kept (the request's writes are
/// rolled back and it answers 500: no write endpoint answers so much).
const MAX_KEPT_RESPONSE: usize = 1 << 20;

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The middleware; runs after authentication.
pub async fn idempotency(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let Some(raw) = req.headers().get(&IDEMPOTENCY_KEY).filter(|_| writes) else {
        return Ok(next.run(req).await);
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|k| valid_key(k))
        .ok_or_else(|| {
            ApiError::bad_request(
                "Idempotency-Key",
                "the Idempotency-Key header must be 1 to 255 visible ASCII characters",
            )
        })?
        .to_owned();
    let (owner, client) = match req.extensions().get::<Caller>() {
        Some(caller @ Caller::Vendor(v)) => (KeyOwner::Vendor(v.vendor_id), caller.client_key()),
        Some(caller @ Caller::Partner(p)) => {
            (KeyOwner::Workspace(p.workspace_id), caller.client_key())
        }
        None => return Ok(next.run(req).await),
    };
    // The route's own limit, before anything is buffered.
    let limit = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or(crate::http::BODY_LIMIT, |m| {
            crate::http::operations::body_limit(m.as_str())
        });
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b" ");
    // Inside a nested router the URI has lost its prefix; hash the one sent.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    hasher.update(uri.path_and_query().map_or("", |p| p.as_str()));
    hasher.update(b"\n");
    hasher.update(&bytes);
    let digest = hasher.finalize();
    let id = IdempotencyKey {
        owner,
        client: &client,
        key: &key,
    };
    let write = match state.store.begin_keyed_write(id, &digest).await? {
        KeyedClaim::Mismatch => {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "this Idempotency-Key was already used with a different request; use a new key",
            ));
        }
        KeyedClaim::InFlight => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still being processed; retry later".into(),
            ));
        }
        KeyedClaim::Replay(stored) => return Ok(replay(stored)),
        KeyedClaim::Run(write) => write,
    };
    let response = write
        .run(next.run(Request::from_parts(parts, Body::from(bytes))))
        .await;
    let status = response.status();
    if status.is_server_error() {
        write.abandon();
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_KEPT_RESPONSE).await else {
        write.abandon();
        return Err(ApiError::Internal(
            "a response too large to keep for its idempotency key".into(),
        ));
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    };
    // Until this commits, nothing the request wrote is kept: a failure
    // here is the request's failure.
    write.complete(&stored).await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(v) = stored
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
