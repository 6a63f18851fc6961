//! The JSON API: the connector API for vendors, the partner API, the OAuth
//! token endpoint and the OpenAPI document, with the authentication and
//! scope checks in front of them.

pub mod api;
pub mod caller;
mod error;
pub mod health;
pub mod idempotency;
pub mod json;
pub mod oauth;
pub mod openapi;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};

pub use error::{ApiError, FieldError, PROBLEM_JSON};

use crate::http::caller::{authenticate_partner, authenticate_vendor};
use crate::state::AppState;

/// The largest JSON body most endpoints take.
pub const BODY_LIMIT: usize = 1 << 20;
/// The largest price-list items upload (50,000 items).
pub const ITEMS_BODY_LIMIT: usize = 64 << 20;

/// The JSON API's routes: the token endpoint and its metadata, the
/// OpenAPI document, the connector API and the partner API.
pub fn routes(state: &AppState) -> Router<AppState> {
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
        .nest("/api/v1/vendor", vendor_api(state))
        .nest("/api/v1", partner_api(state))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
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
    caller: caller::VendorCaller,
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
