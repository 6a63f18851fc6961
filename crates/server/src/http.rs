//! The HTTP surface: routes, the state handlers share, and the layers every
//! request passes through (request id, tracing, metrics).

mod access_log;
pub mod api;
mod error;
mod health;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod oauth;
pub mod openapi;
mod rate_limit;
mod request_id;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use onepane_store::Store;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::{ApiError, FieldError, PROBLEM_JSON};
pub use metrics::Metrics;
pub use rate_limit::{RateLimit, RateLimiter};
pub use request_id::{REQUEST_ID_HEADER, RequestUuid};

use crate::auth::caller::{authenticate_partner, authenticate_vendor};
use crate::auth::keys::Keys;
use crate::seal::Sealer;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The storage handle.
    pub store: Store,
    /// This server's metrics registry.
    pub metrics: Metrics,
    /// Seals and opens secrets with that key.
    pub sealer: Sealer,
    /// The access-token signing keys.
    pub keys: Arc<Keys>,
    /// Per-client request limits.
    pub rate_limiter: Arc<RateLimiter>,
    /// The URL clients reach this server at, without a trailing slash.
    pub public_base: Arc<str>,
    /// The first webhook retry's delay.
    pub webhook_retry_base: std::time::Duration,
    /// Workspaces' price items, priced.
    pub pricing: Arc<api::pricing::PricingCache>,
    /// Where outbound requests (webhooks, single sign-on providers) may go.
    pub outbound: onepane_connector::AddressPolicy,
    /// Signs portal users in with their workspaces' OpenID Connect providers.
    pub oidc: Arc<crate::auth::oidc::RelyingParty>,
    /// Runs connections (and checks them when they are made).
    pub engine: onepane_sync::Engine,
    /// Sync workers to run beside the server.
    pub sync_workers: u32,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[onepane_connector::Cidr]>,
    /// Sends reset and invitation links, when an SMTP server is configured.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
}

/// The largest JSON body most endpoints take.
pub const BODY_LIMIT: usize = 1 << 20;
/// The largest form a page posts.
pub const WEB_BODY_LIMIT: usize = 64 << 10;
/// The largest price-list items upload (50,000 items).
pub const ITEMS_BODY_LIMIT: usize = 64 << 20;

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// All routes with their layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/.well-known/jwks.json", get(oauth::jwks))
        .route(
            "/oauth/connections/callback",
            get(api::connections::oauth_callback),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/docs", get(openapi::reference))
        .nest("/api/v1/vendor", vendor_api(&state))
        .nest("/api/v1", partner_api(&state))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .merge(crate::web::router().layer(DefaultBodyLimit::max(WEB_BODY_LIMIT)))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The last layer added is the outermost: a client's unusable id is
        // dropped, then the id is set, so the trace span and the metrics see
        // every request with a usable id.
        .layer(from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(axum::middleware::from_fn(access_log::finished))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_id::request_span)
                // `access_log` writes the finished line, and `ApiError` logs
                // a 5xx with its cause; the defaults would log each again.
                .on_response(())
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, RequestUuid))
        .layer(axum::middleware::map_request(
            request_id::drop_unusable_client_id,
        ))
        .with_state(state)
}

/// The connector API for vendors' API clients.
fn vendor_api(state: &AppState) -> Router<AppState> {
    use api::vendor::*;
    Router::new()
        .route("/partners", get(partners))
        .route("/partners/{workspace_id}/tier", put(set_tier))
        .route("/partners/{workspace_id}/leads", post(send_lead))
        .route("/campaigns", get(campaigns))
        .route(
            "/campaigns/{external_id}",
            put(put_campaign).get(campaign).delete(archive_campaign),
        )
        .route("/campaigns/{external_id}/stats", get(campaign_stats))
        .route("/assets", get(assets))
        .route(
            "/assets/{external_id}",
            put(put_asset).get(asset).delete(delete_asset),
        )
        .route("/price-lists", get(price_lists))
        .route(
            "/price-lists/{external_id}",
            put(put_price_list).get(price_list),
        )
        .route(
            "/price-lists/{external_id}/items",
            put(put_price_items)
                .get(price_items)
                .layer(DefaultBodyLimit::max(ITEMS_BODY_LIMIT)),
        )
        .route("/deal-fields", put(put_deal_fields).get(deal_fields))
        .route("/deal-registrations", get(deal_registrations))
        .route("/deal-registrations/{id}", get(deal_registration))
        .route("/deal-registrations/{id}/decision", post(decide))
        .route(
            "/webhooks",
            put(put_webhook).get(webhook).delete(delete_webhook),
        )
        .route("/webhooks/deliveries", get(deliveries))
        .route("/webhooks/deliveries/{id}/redeliver", post(redeliver))
        // The last layer runs first: authenticate, check the scope (before
        // any body is read), then idempotency.
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(axum::middleware::from_fn(require_scope))
        .route_layer(from_fn_with_state(state.clone(), authenticate_vendor))
}

/// The scope each vendor endpoint needs, by method and route.
pub fn vendor_scope(method: &Method, route: &str) -> Option<&'static str> {
    let route = route.strip_prefix("/api/v1/vendor").unwrap_or(route);
    let write = !matches!(*method, Method::GET | Method::HEAD);
    let scope = match (route, write) {
        ("/partners", false) => "partners:read",
        ("/partners/{workspace_id}/tier", true) => "partners:write",
        ("/partners/{workspace_id}/leads", true) => "leads:write",
        ("/campaigns" | "/campaigns/{external_id}" | "/campaigns/{external_id}/stats", false) => {
            "campaigns:read"
        }
        ("/campaigns/{external_id}", true) => "campaigns:write",
        ("/assets" | "/assets/{external_id}", false) => "assets:read",
        ("/assets/{external_id}", true) => "assets:write",
        (
            "/price-lists" | "/price-lists/{external_id}" | "/price-lists/{external_id}/items",
            false,
        ) => "prices:read",
        ("/price-lists/{external_id}" | "/price-lists/{external_id}/items", true) => "prices:write",
        ("/deal-registrations" | "/deal-registrations/{id}" | "/deal-fields", false) => {
            "deals:read"
        }
        ("/deal-fields", true) => "deals:write",
        ("/deal-registrations/{id}/decision", true) => "deals:write",
        ("/webhooks" | "/webhooks/deliveries", false) => "webhooks:read",
        ("/webhooks" | "/webhooks/deliveries/{id}/redeliver", true) => "webhooks:write",
        _ => return None,
    };
    Some(scope)
}

/// Refuses a vendor's request whose token lacks the endpoint's scope,
/// before its body is read. An endpoint missing from [`vendor_scope`] is
/// refused to everyone: new routes fail closed.
async fn require_scope(
    matched: axum::extract::MatchedPath,
    caller: crate::auth::caller::VendorCaller,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    match vendor_scope(req.method(), matched.as_str()) {
        Some(scope) => caller.require(scope)?,
        None => {
            return Err(ApiError::Forbidden(
                "no scope opens this endpoint to API clients".into(),
            ));
        }
    }
    Ok(next.run(req).await)
}

/// The partner API for a workspace's members.
fn partner_api(state: &AppState) -> Router<AppState> {
    use api::partner::*;
    Router::new()
        .route("/vendors", get(vendors))
        .route("/leads", get(leads))
        .route("/leads/{id}", get(lead))
        .route("/leads/{id}/accept", post(accept_lead))
        .route("/leads/{id}/decline", post(decline_lead))
        .route("/campaigns", get(campaigns))
        .route("/campaigns/{id}/activate", post(activate_campaign))
        .route("/assets", get(assets))
        .route("/price-items", get(price_items))
        .route(
            "/deal-registrations",
            get(deal_registrations).post(register_deal),
        )
        .route("/deal-registrations/{id}", get(deal_registration))
        .route("/notifications", get(notifications))
        .route("/notifications/{id}/read", post(read_notification))
        .route(
            "/connections",
            get(api::connections::connections).post(api::connections::create_connection),
        )
        .route("/connections/{id}/sync", post(api::connections::sync_now))
        .route("/connections/{id}/runs", get(api::connections::runs))
        .route("/connections/{id}/jobs", get(api::connections::jobs))
        .route(
            "/connections/{id}/jobs/{job_id}/retry",
            post(api::connections::retry_job),
        )
        .route(
            "/connections/{id}/authorize",
            get(api::connections::authorize),
        )
        .route(
            "/connections/{id}/upload",
            post(api::connections::upload).layer(DefaultBodyLimit::max(ITEMS_BODY_LIMIT)),
        )
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(from_fn_with_state(state.clone(), authenticate_partner))
}

async fn not_found(headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    // A person in a browser gets the portal's page; a client the problem.
    let browser = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if browser {
        crate::web::error::not_found_page(&headers)
    } else {
        ApiError::NotFound("there is nothing at this address".to_owned()).into_response()
    }
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
