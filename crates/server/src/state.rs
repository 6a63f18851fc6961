//! What every request handler can reach: the store, the keys, the caches
//! and the services' handles, built once at startup and cloned per request.

use std::sync::Arc;

use axum::extract::FromRef;
use onepane_store::Store;

use crate::auth::keys::Keys;
use crate::rate_limit::RateLimiter;
use crate::seal::Sealer;
use crate::telemetry::metrics::Metrics;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The storage handle.
    pub store: Store,
    /// This server's metrics registry.
    pub metrics: Metrics,
    /// Seals and opens secrets with that key.
    pub sealer: Sealer,
    /// Digests and checks API client secrets with that key.
    pub client_secrets: crate::auth::credentials::ClientSecrets,
    /// The access-token signing keys.
    pub keys: Arc<Keys>,
    /// Per-client request limits.
    pub rate_limiter: Arc<RateLimiter>,
    /// The URL clients reach this server at, without a trailing slash.
    pub public_base: Arc<str>,
    /// The first webhook retry's delay.
    pub webhook_retry_base: std::time::Duration,
    /// Workspaces' price items, priced.
    pub pricing: Arc<crate::services::pricing::PricingCache>,
    /// Where outbound requests (webhooks, single sign-on providers) may go.
    pub outbound: onepane_connector::AddressPolicy,
    /// Signs portal users in with their workspaces' OpenID Connect providers.
    pub oidc: Arc<crate::auth::oidc::RelyingParty>,
    /// Runs connections (and checks them when they are made).
    pub engine: onepane_sync::Engine,
    /// Sync workers to run beside the server.
    pub sync_workers: u32,
    /// Days the audit log keeps an event.
    pub audit_retention_days: u32,
    /// How long the member who moved a lead may undo the move.
    pub lead_undo: std::time::Duration,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[onepane_connector::Cidr]>,
    /// Sends reset and invitation links, when an SMTP server is configured.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    /// Whether the database answered its last probe.
    pub readiness: crate::http::health::Readiness,
    /// Wakes this process's deliverer when a request queued a delivery
    /// to a vendor (another replica's is found on its next poll).
    pub deliveries_due: Arc<tokio::sync::Notify>,
    /// Tells members their deadlines by mail, and makes and checks the
    /// links that stop that mail.
    pub clock_mail: crate::services::clock_mail::ClockMail,
}

impl AppState {
    /// Says that a request queued something for vendors (a registration,
    /// an answer to a lead, a delivery sent again).
    pub fn deliveries_queued(&self) {
        self.deliveries_due.notify_one();
    }

    /// Says that a vendor published something new: the deliverer also
    /// announces new content to the partners it reaches.
    pub fn content_published(&self) {
        self.deliveries_due.notify_one();
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
