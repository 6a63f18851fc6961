//! Probes for the orchestrator: liveness (`/healthz`) and readiness (`/readyz`).

use std::time::Duration;

use axum::extract::State;

use crate::http::error::ApiError;
use crate::state::AppState;

/// Longer than this and the database counts as not answering, so a probe
/// never hangs on a stuck connection pool.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is up. Touches nothing else, so a slow
/// database never gets a healthy process restarted.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers, so requests can be served.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok("ok"),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            detail: "the database is not answering",
            source: Some(Box::new(e)),
        }),
        Err(elapsed) => Err(ApiError::Unavailable {
            detail: "the database is not answering",
            source: Some(Box::new(elapsed)),
        }),
    }
}
