//! The HTTP surface: routes, the state handlers share, and the layers every
//! request passes through (request id, tracing, metrics).

mod access_log;
mod error;
mod health;
pub mod metrics;
mod request_id;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::Method;
use axum::routing::get;
use onepane_store::Store;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::{ApiError, PROBLEM_JSON};
pub use metrics::Metrics;
pub use request_id::{REQUEST_ID_HEADER, RequestUuid};

use crate::secret_key::SecretKey;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The storage handle.
    pub store: Store,
    /// This server's metrics registry.
    pub metrics: Metrics,
    /// The key that seals secrets at rest.
    pub secret_key: Arc<SecretKey>,
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// All routes with their layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The last layer added is the outermost: a client's unusable id is
        // dropped, then the id is set, so the trace span and the metrics see
        // every request with a usable id.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
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

async fn not_found() -> ApiError {
    ApiError::NotFound("there is nothing at this address".to_owned())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
