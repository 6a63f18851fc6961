//! Probes for the orchestrator: liveness (`/healthz`) and readiness (`/readyz`).
//!
//! Readiness is the database's state as a probe in the background last saw
//! it (every [`PROBE_EVERY`]), so `/readyz` answers at once whatever the
//! database does: a probe that hangs on a dead connection never holds up
//! the orchestrator's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use onepane_store::Store;

use crate::http::error::ApiError;
use crate::state::AppState;

/// How often the database is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);

/// Longer than this and the database counts as not answering.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the database answered the last probe.
#[derive(Debug, Clone)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Ready: the server starts only once its database has answered.
    pub fn new() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }

    /// Whether the last probe found the database answering.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Probes `store` every [`PROBE_EVERY`] for ever, logging each change.
    pub async fn probe(self, store: Store) {
        let mut every = tokio::time::interval(PROBE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let answer = match tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(crate::report::cause_chain(&e)),
                Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
            };
            let was = self.0.swap(answer.is_ok(), Ordering::Relaxed);
            match answer {
                Ok(()) if !was => tracing::info!("the database answers again: ready"),
                Err(why) if was => {
                    tracing::warn!(error = %why, "the database is not answering: not ready");
                }
                _ => {}
            }
        }
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

/// `GET /healthz`: the process is up. Touches nothing else, so a slow
/// database never gets a healthy process restarted.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answered the last probe, so requests can be
/// served; 503 with `Retry-After` while it does not.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.readiness.is_ready() {
        Ok("ok")
    } else {
        Err(ApiError::Unavailable {
            detail: "the database is not answering",
            source: None,
        })
    }
}
