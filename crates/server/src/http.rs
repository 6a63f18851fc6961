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
pub mod params;
pub mod reference;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt as _};
use utoipa_axum::routes;

pub use error::{ApiError, FieldError, PROBLEM_JSON};

use crate::http::caller::{authenticate_partner, authenticate_vendor};
use crate::state::AppState;

/// The largest JSON body most endpoints take.
pub const BODY_LIMIT: usize = 1 << 20;
/// The largest price-list items upload (50,000 items).
pub const ITEMS_BODY_LIMIT: usize = 64 << 20;

/// The JSON API's routes: the token endpoint and its metadata, the
/// OpenAPI document, the connector API and the partner API.
///
/// Each operation is declared once, by its handler's `#[utoipa::path]`:
/// the method and path route it, and for a vendor operation the `oauth2`
/// scope it names is the one [`require_scope`] asks for.
pub fn routes(state: &AppState) -> Router<AppState> {
    // The last layer runs first: authenticate, check the scope (before any
    // body is read), then idempotency.
    let vendor = vendor_operations()
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(axum::middleware::from_fn(require_scope))
        .route_layer(from_fn_with_state(state.clone(), authenticate_vendor));
    let partner = partner_operations()
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(from_fn_with_state(state.clone(), authenticate_partner));
    let (router, _) = token_operations()
        .merge(vendor)
        .merge(partner)
        .split_for_parts();
    router
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/docs", get(reference::page))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Every operation of the API with its documentation, without the layers.
pub fn operations() -> OpenApiRouter<AppState> {
    token_operations()
        .merge(vendor_operations())
        .merge(partner_operations())
}

/// The token endpoint, its metadata and keys, and where OAuth providers
/// send a connecting partner back.
fn token_operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::jwks))
        .routes(routes!(oauth::metadata))
        .routes(routes!(api::connections::oauth_callback))
}

/// The connector API for vendors' API clients.
fn vendor_operations() -> OpenApiRouter<AppState> {
    use api::vendor::*;
    OpenApiRouter::new()
        .routes(routes!(partners))
        .routes(routes!(set_tier))
        .routes(routes!(send_lead))
        .routes(routes!(campaigns))
        .routes(routes!(put_campaign, campaign, archive_campaign))
        .routes(routes!(campaign_stats))
        .routes(routes!(assets))
        .routes(routes!(put_asset, asset, delete_asset))
        .routes(routes!(price_lists))
        .routes(routes!(put_price_list, price_list))
        .routes(
            routes!(put_price_items, price_items).layer(DefaultBodyLimit::max(ITEMS_BODY_LIMIT)),
        )
        .routes(routes!(put_deal_fields, deal_fields))
        .routes(routes!(deal_registrations))
        .routes(routes!(deal_registration))
        .routes(routes!(decide))
        .routes(routes!(put_webhook, webhook, delete_webhook))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// The partner API for a workspace's members.
fn partner_operations() -> OpenApiRouter<AppState> {
    use api::connections;
    use api::partner::*;
    OpenApiRouter::new()
        .routes(routes!(vendors))
        .routes(routes!(leads))
        .routes(routes!(lead))
        .routes(routes!(accept_lead))
        .routes(routes!(decline_lead))
        .routes(routes!(campaigns))
        .routes(routes!(activate_campaign))
        .routes(routes!(assets))
        .routes(routes!(price_items))
        .routes(routes!(deal_registrations, register_deal))
        .routes(routes!(deal_registration))
        .routes(routes!(notifications))
        .routes(routes!(read_notification))
        .routes(routes!(
            connections::connections,
            connections::create_connection
        ))
        .routes(routes!(connections::sync_now))
        .routes(routes!(connections::runs))
        .routes(routes!(connections::jobs))
        .routes(routes!(connections::retry_job))
        .routes(routes!(connections::authorize))
        .routes(routes!(connections::upload).layer(DefaultBodyLimit::max(ITEMS_BODY_LIMIT)))
}

/// The scope a vendor operation names in its documentation, by method and
/// route (`HEAD` as `GET`); `None` for a route that names none.
pub fn vendor_scope(method: &Method, route: &str) -> Option<&'static str> {
    static SCOPES: OnceLock<HashMap<(Method, String), &'static str>> = OnceLock::new();
    let scopes = SCOPES.get_or_init(|| openapi::vendor_scopes(&operations().into_openapi()));
    let method = if *method == Method::HEAD {
        Method::GET
    } else {
        method.clone()
    };
    scopes.get(&(method, route.to_owned())).copied()
}

/// Refuses a vendor's request whose token lacks the endpoint's scope,
/// before its body is read. An endpoint that names no scope is refused to
/// everyone: new routes fail closed.
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
