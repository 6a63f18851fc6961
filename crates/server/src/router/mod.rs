//! The whole site under one set of layers: the JSON API ([`crate::http`]),
//! the portal ([`crate::web`]), health and metrics, and what answers an
//! address or a method nothing serves. Every request passes through the
//! same layers: request id, tracing, the access log and metrics.

mod access_log;
mod nul;
mod request_id;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use request_id::{REQUEST_ID_HEADER, RequestUuid};

use crate::http::{self, ApiError};
use crate::state::AppState;
use crate::telemetry::metrics;
use crate::web;

/// All routes with their layers.
pub fn router(state: AppState) -> Router {
    let https = state.public_base.starts_with("https://");
    Router::new()
        .merge(http::routes(&state))
        .merge(web::router().layer(DefaultBodyLimit::max(web::BODY_LIMIT)))
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The error pages read the member's chosen language through it.
        .layer(axum::Extension(state.clone()))
        .layer(axum::middleware::from_fn(nul::refuse_nul))
        .layer(axum::middleware::map_response(
            move |response: axum::response::Response| async move {
                transport_headers(response, https)
            },
        ))
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

/// Headers on every response, JSON included: no content sniffing, and
/// when the public URL is https, HTTPS only for a year (subdomains too).
fn transport_headers(
    mut response: axum::response::Response,
    https: bool,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    // A person in a browser gets the portal's page; a client the problem.
    let browser = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if browser {
        web::error::not_found_page(web::session::chosen_lang(&state, &headers).await)
    } else {
        ApiError::NotFound("there is nothing at this address".to_owned()).into_response()
    }
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
