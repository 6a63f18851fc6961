//! The one "finished" log line per request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::{debug, info};

/// Routes an orchestrator or Prometheus calls every few seconds: logged
/// (and traced) at DEBUG, or they would drown the requests people made.
pub(super) const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Middleware, inside the request's span: logs the status and latency once
/// the response is ready.
pub async fn finished(request: Request, next: Next) -> Response {
    let quiet = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| QUIET_ROUTES.contains(&path.as_str()));
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    if quiet {
        debug!(status, latency_ms, "finished processing request");
    } else {
        info!(status, latency_ms, "finished processing request");
    }
    response
}
