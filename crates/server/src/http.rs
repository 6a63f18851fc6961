//! The JSON API: the connector API for vendors, the partner API, the OAuth
//! token endpoint and the OpenAPI document, with the authentication and
//! scope checks in front of them.

pub mod api;
pub mod caller;
pub mod error;
pub mod health;
pub mod idempotency;
pub mod json;
pub mod oauth;
pub mod openapi;
pub mod operations;
pub mod params;
pub mod reference;
pub mod scopes;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::get;

pub use error::{ApiError, FieldError, PROBLEM_JSON};

use crate::http::caller::{authenticate_partner, authenticate_vendor};
use crate::state::AppState;

/// The largest JSON body most endpoints take.
pub const BODY_LIMIT: usize = 1 << 20;

/// The JSON API's routes: the token endpoint and its metadata, the
/// OpenAPI document, the connector API and the partner API.
///
/// Each operation is declared once, by its handler's `#[utoipa::path]`:
/// the method and path route it, and for a vendor operation the `oauth2`
/// scope it names is the one [`require_scope`] asks for.
pub fn routes(state: &AppState) -> Router<AppState> {
    // The last layer runs first: authenticate, check the scope (before any
    // body is read), then idempotency.
    let vendor = operations::vendor()
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(axum::middleware::from_fn(require_scope))
        .route_layer(from_fn_with_state(state.clone(), authenticate_vendor));
    let partner = operations::partner()
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(from_fn_with_state(state.clone(), authenticate_partner));
    let (router, _) = operations::token()
        .merge(vendor)
        .merge(partner)
        .split_for_parts();
    router
        .route("/api/openapi.json", get(reference::document))
        .route("/api/docs", get(reference::page))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The scope a vendor operation names in its documentation, by method and
/// route (`HEAD` as `GET`); `None` for a route that names none.
pub fn vendor_scope(method: &Method, route: &str) -> Option<&'static str> {
    static SCOPES: OnceLock<HashMap<String, Vec<(Method, &'static str)>>> = OnceLock::new();
    let scopes = SCOPES.get_or_init(|| openapi::vendor_scopes(&operations::all().into_openapi()));
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    scopes
        .get(route)?
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, scope)| *scope)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_vendor_route_is_opened_by_the_scope_its_documentation_names() {
        let scope = |method: Method, route: &str| vendor_scope(&method, route);
        assert_eq!(
            scope(Method::GET, "/api/v1/vendor/campaigns"),
            Some("campaigns:read")
        );
        assert_eq!(
            scope(Method::HEAD, "/api/v1/vendor/campaigns"),
            Some("campaigns:read")
        );
        assert_eq!(
            scope(Method::PUT, "/api/v1/vendor/campaigns/{external_id}"),
            Some("campaigns:write")
        );
        assert_eq!(
            scope(
                Method::POST,
                "/api/v1/vendor/deal-registrations/{id}/decision"
            ),
            Some("deals:write")
        );
    }

    #[test]
    fn a_route_or_method_no_documentation_opens_is_closed() {
        assert_eq!(
            vendor_scope(&Method::PATCH, "/api/v1/vendor/campaigns"),
            None
        );
        assert_eq!(vendor_scope(&Method::GET, "/api/v1/vendor/nothing"), None);
        // Partner routes name the bearer scheme, not a vendor scope.
        assert_eq!(vendor_scope(&Method::GET, "/api/v1/leads"), None);
    }
}
