//! Delivering vendors' webhooks: the dispatcher that takes due events from
//! the outbox, signs them, posts them to each vendor's URL and records what
//! happened, retrying with backoff until the receiver answers 2xx or the
//! attempts run out.
//!
//! # What a vendor receives
//!
//! Each event is one `POST` to the subscription's URL with the event as a
//! JSON body, `{"id", "type", "created_at", "data"}`, and these headers:
//!
//! - `Content-Type: application/json`
//! - `User-Agent: Onepane-Webhooks/<version>`
//! - `Onepane-Event: <type>`, e.g. `deal-registration.submitted`
//! - `Onepane-Delivery: <delivery id>` (equal to the body's `id`; the same on
//!   every retry of the event, so receivers can drop duplicates with it)
//! - `Onepane-Signature: t=<unix seconds>,v1=<signature>`
//!
//! Any 2xx answer means delivered. Anything else, including a 3xx
//! (redirects are not followed), a timeout or a connection failure, is
//! retried later. A receiver should answer quickly and do its work
//! afterwards. Delivery is at least once: the same event may arrive twice,
//! for instance when a server stops between sending it and recording the
//! answer (it is sent again once its lease, the request timeout plus 5 s,
//! runs out). Receivers drop duplicates by `Onepane-Delivery`.
//!
//! With the default [`RetryPolicy`], the n-th failed attempt is followed by
//! another after 30 s × 2^(n-1), at most an hour, shortened by up to half at
//! random; after 8 attempts the delivery is dead. A vendor can redeliver a
//! dead delivery, which gets one more attempt.
//!
//! # Verifying the signature
//!
//! The signing secret is the whole `whsec_...` string the vendor was shown
//! when subscribing; its UTF-8 bytes, prefix included, are the HMAC key.
//! To verify a request:
//!
//! 1. Split `Onepane-Signature` on `,` into `key=value` pairs; take `t` and
//!    every `v1` (there may be more than one; unknown keys are ignored).
//! 2. Compute `HMAC-SHA256(secret, "<t>.<raw body>")`, where `<t>` is the
//!    `t` value exactly as sent and `<raw body>` the request body bytes
//!    exactly as received (not re-serialized JSON), and encode it as
//!    lowercase hex.
//! 3. Accept when it equals one of the `v1` values (compare in constant
//!    time) and `t` is within a few minutes of your clock (we suggest five),
//!    which stops an old request from being replayed.
//!
//! [`verify`] is the reference implementation; [`sign`] produces the header.

use crate::auth::credentials::{CredentialError, random_secret};
use onepane_connector::AddressPolicy;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use onepane_domain::VendorId;
use onepane_store::{Attempt, DueDelivery, Store, StoreError};
use tokio::task::JoinSet;
use zeroize::Zeroizing;

use crate::report::cause_chain;
use crate::seal::Sealer;

// The signature is the SDK's, so the webhook CRM sink signs the same way.
pub use onepane_connector::signature::{SIGNATURE_HEADER, sign, verify};
/// The header carrying the event's type.
pub const EVENT_HEADER: &str = "Onepane-Event";
/// The header carrying the delivery's id.
pub const DELIVERY_HEADER: &str = "Onepane-Delivery";
/// The `User-Agent` every delivery is sent with.
pub const USER_AGENT: &str = concat!("Onepane-Webhooks/", env!("CARGO_PKG_VERSION"));
/// How long [`Dispatcher::run`] waits after a batch that was not full.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How many deliveries one tick claims, and so sends at once.
const BATCH: u32 = 16;
/// How much of a receiver's answer is read before it is dropped.
const MAX_RESPONSE_BYTES: usize = 4 * 1024;
/// How long past the request timeout a claimed delivery stays leased, so
/// recording the outcome fits in the lease too. Short: a delivery whose
/// server died mid-attempt is sent again when its lease runs out, and the
/// lease is how long a receiver may see it twice.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Limits that keep every computed time well inside what chrono and the
/// databases can represent.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
const MAX_CAP: Duration = Duration::from_secs(30 * 24 * 3600);

/// The sealing context of a vendor's signing secret: a sealed secret only
/// opens for the vendor it was sealed for.
pub fn secret_context(vendor: VendorId) -> String {
    format!("webhook-secret:{vendor}")
}

/// A fresh signing secret: `whsec_` and 32 random bytes in unpadded
/// base64url. The HMAC key is the whole string's bytes.
pub fn generate_secret() -> Result<String, CredentialError> {
    random_secret(SECRET_PREFIX)
}

/// When failed deliveries are tried again, how many times, and how long one
/// attempt may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failed attempt; it doubles after each.
    pub base: Duration,
    /// The longest delay (a `base` above it is cut down to it).
    pub cap: Duration,
    /// Attempts in all, the first included; after the last the delivery is dead.
    pub max_attempts: u32,
    /// How long one attempt may take, answer included.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 30 s doubling to at most 1 h, 8 attempts (about an hour of retries
    /// before jitter), 10 s per attempt.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delay before jitter after `attempts_made` attempts:
    /// `base * 2^(attempts_made - 1)`, at most `cap`.
    pub fn backoff(&self, attempts_made: u32) -> Duration {
        let doublings = attempts_made.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// When to try again after `attempts_made` attempts, or `None` once they
    /// reach `max_attempts` (the delivery is dead). The delay is the
    /// [`RetryPolicy::backoff`] with "equal jitter": uniform in
    /// `[backoff / 2, backoff]`, so retries of events that failed together
    /// spread out but never come much sooner than planned.
    pub fn next_retry(&self, attempts_made: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let delay = jitter(self.backoff(attempts_made));
        let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        Some(
            now.checked_add_signed(delay)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    fn check(&self) -> Result<(), DispatchError> {
        let problem = if self.max_attempts == 0 {
            "max_attempts must be at least 1"
        } else if self.base.is_zero() {
            "base must be positive"
        } else if self.cap > MAX_CAP {
            "cap must be at most 30 days"
        } else if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            "timeout must be positive and at most an hour"
        } else {
            return Ok(());
        };
        Err(DispatchError::Policy(problem))
    }
}

/// A duration uniform in `[delay / 2, delay]`; `delay` itself when the
/// operating system has no randomness to give (a retry is still due).
fn jitter(delay: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return delay;
    }
    let random = u128::from(u64::from_le_bytes(bytes));
    let total = delay.as_nanos();
    let half = total / 2;
    // Scales a 64-bit random number onto 0..=span without a modulo's bias.
    let extra = (random * (total - half + 1)) >> 64;
    let nanos = half + extra;
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is below 10^9, so it fits.
    let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, sub)
}

/// Why the dispatcher could not start or could not finish a tick.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("cannot build the webhook HTTP client")]
    Client(#[source] reqwest::Error),
    /// The retry policy is out of range.
    #[error("invalid webhook retry policy: {0}")]
    Policy(&'static str),
    /// Deliveries could not be claimed or an outcome could not be recorded.
    #[error("cannot claim or record webhook deliveries")]
    Store(#[from] StoreError),
}

/// Sends due webhook deliveries and records their outcomes.
#[derive(Debug)]
pub struct Dispatcher {
    store: Store,
    sealer: Sealer,
    addresses: AddressPolicy,
    client: reqwest::Client,
    policy: RetryPolicy,
    batch: u32,
    lease: chrono::Duration,
}

impl Dispatcher {
    /// A dispatcher over `store`, opening secrets with `sealer`. Its HTTP
    /// client follows no redirects, keeps no cookies (reqwest has no cookie
    /// store unless asked for one) and gives each attempt `policy.timeout`.
    ///
    /// Receivers must be at addresses `addresses` permits: a URL naming a
    /// private address, or a name resolving only to private addresses, is
    /// never contacted (the delivery dies, or fails to connect).
    pub fn new(
        store: Store,
        sealer: Sealer,
        policy: RetryPolicy,
        addresses: AddressPolicy,
    ) -> Result<Self, DispatchError> {
        policy.check()?;
        let lease = chrono::Duration::from_std(policy.timeout + LEASE_MARGIN)
            .map_err(|_| DispatchError::Policy("timeout must be at most an hour"))?;
        let client = addresses
            .client_builder()
            .timeout(policy.timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(DispatchError::Client)?;
        Ok(Self {
            store,
            sealer,
            addresses,
            client,
            policy,
            batch: BATCH,
            lease,
        })
    }

    /// Claims the deliveries due now (at most one batch), sends them
    /// concurrently and records each outcome. Returns how many were
    /// attempted. A failure to record one outcome does not stop the others;
    /// the first such failure is returned once all are done, and the
    /// unrecorded delivery is sent again when its lease runs out.
    // DEBUG: a tick a second would otherwise be a trace a second; each
    // delivery is a trace of its own.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn tick(&self) -> Result<usize, DispatchError> {
        let due = self
            .store
            .system()
            .claim_due_deliveries(self.batch, self.lease)
            .await?;
        let attempted = due.len();
        let mut sends = JoinSet::new();
        for item in due {
            let refused = url::Url::parse(&item.url)
                .map_err(|e| format!("the URL does not parse: {e}"))
                .and_then(|u| self.addresses.check_url(&u).map_err(|e| e.to_string()))
                .err();
            if let Some(reason) = refused {
                tracing::warn!(
                    delivery = %item.delivery.id,
                    vendor = %item.delivery.vendor_id,
                    %reason,
                    "a webhook URL is refused; the delivery is dead"
                );
                let attempt = Attempt::Failed {
                    status: None,
                    error: reason,
                    retry_at: None,
                };
                let store = self.store.clone();
                sends.spawn(async move {
                    store
                        .system()
                        .record_attempt(item.delivery.vendor_id, item.delivery.id, &attempt)
                        .await
                });
                continue;
            }
            let context = secret_context(item.delivery.vendor_id);
            match self.sealer.open(&context, &item.sealed_secret) {
                Ok(secret) => {
                    let client = self.client.clone();
                    let store = self.store.clone();
                    let policy = self.policy;
                    sends
                        .spawn(async move { deliver(&client, &store, policy, item, secret).await });
                }
                Err(e) => {
                    tracing::error!(
                        delivery = %item.delivery.id,
                        vendor = %item.delivery.vendor_id,
                        error = %e,
                        "a webhook signing secret cannot be opened; the delivery is dead"
                    );
                    let attempt = Attempt::Failed {
                        status: None,
                        error: "the signing secret cannot be opened".to_owned(),
                        retry_at: None,
                    };
                    let store = self.store.clone();
                    sends.spawn(async move {
                        store
                            .system()
                            .record_attempt(item.delivery.vendor_id, item.delivery.id, &attempt)
                            .await
                    });
                }
            }
        }
        let mut first_error = None;
        while let Some(joined) = sends.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %cause_chain(&e), "cannot record a webhook attempt");
                    first_error.get_or_insert(DispatchError::Store(e));
                }
                Err(e) => tracing::error!(error = %e, "a webhook delivery task failed"),
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(attempted),
        }
    }

    /// Ticks until `shutdown` resolves: again at once after a full batch,
    /// otherwise after [`POLL_INTERVAL`]. A tick's error is logged and the
    /// loop goes on. A tick in progress is finished (so its attempts are
    /// recorded), which bounds the wait for shutdown by about one timeout.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let full = match self.tick().await {
                Ok(n) => u32::try_from(n).is_ok_and(|n| n >= self.batch),
                Err(e) => {
                    tracing::warn!(error = %cause_chain(&e), "webhook dispatch failed");
                    false
                }
            };
            let pause = if full { Duration::ZERO } else { POLL_INTERVAL };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("webhook dispatcher stopped");
    }
}

/// Sends one delivery and records the outcome.
#[tracing::instrument(
    skip_all,
    fields(delivery = %due.delivery.id, vendor = %due.delivery.vendor_id, event = due.delivery.event.as_str())
)]
async fn deliver(
    client: &reqwest::Client,
    store: &Store,
    policy: RetryPolicy,
    due: DueDelivery,
    secret: Zeroizing<Vec<u8>>,
) -> Result<(), StoreError> {
    let delivery = &due.delivery;
    // serde_json's maps are sorted, so every retry sends the same bytes.
    let body = delivery.payload.to_string().into_bytes();
    let signature = sign(&secret, Utc::now().timestamp(), &body);
    drop(secret);
    let sent = client
        .post(&due.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, delivery.event.as_str())
        .header(DELIVERY_HEADER, delivery.id.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    let attempts_made = delivery.attempts.saturating_add(1);
    let attempt = match sent {
        Ok(response) => {
            let status = response.status();
            skim(response).await;
            if status.is_success() {
                tracing::info!(status = status.as_u16(), "webhook delivered");
                Attempt::Delivered {
                    status: status.as_u16(),
                }
            } else {
                failed(
                    policy,
                    attempts_made,
                    Some(status.as_u16()),
                    format!("the receiver answered {}", status.as_u16()),
                )
            }
        }
        Err(e) => failed(policy, attempts_made, None, describe(&e, policy.timeout)),
    };
    store
        .system()
        .record_attempt(delivery.vendor_id, delivery.id, &attempt)
        .await
}

fn failed(policy: RetryPolicy, attempts_made: u32, status: Option<u16>, error: String) -> Attempt {
    let retry_at = policy.next_retry(attempts_made, Utc::now());
    match retry_at {
        Some(at) => tracing::info!(?status, %error, retry_at = %at, "webhook attempt failed"),
        None => {
            tracing::warn!(?status, %error, attempts_made, "webhook attempts exhausted; the delivery is dead")
        }
    }
    Attempt::Failed {
        status,
        error,
        retry_at,
    }
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of an answer, then drops it: the
/// body is not kept, and a receiver streaming a large one does not hold
/// the dispatcher.
async fn skim(mut response: reqwest::Response) {
    let mut read = 0;
    while read < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => break,
        }
    }
}

/// A short message, fit for the vendor's delivery log, for a request that
/// got no answer.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timed out after {}", human(timeout));
    }
    let mut innermost: &dyn std::error::Error = error;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".to_owned(),
                std::io::ErrorKind::TimedOut => {
                    return format!("timed out after {}", human(timeout));
                }
                _ => {}
            }
        }
        if cause.to_string().starts_with("dns error") {
            return "the host name does not resolve".to_owned();
        }
        innermost = cause;
        source = cause.source();
    }
    let what = if error.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut message = format!("{what}: {innermost}");
    if message.len() > 200 {
        let mut end = 200;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use onepane_domain::activity::WebhookEvent;
    use onepane_domain::deal::DealDetails;
    use onepane_domain::lead::Company;
    use onepane_domain::text::Name;

    use onepane_domain::{Currency, Money, PartnerType, Tier, VendorKind, WorkspaceId};
    use onepane_store::testing::TestDb;
    use onepane_store::{DeliveryFilter, DeliveryStatus, WebhookDelivery};

    use super::*;
    use crate::secret_key::SecretKey;

    // --- signing (the signature itself is tested with the SDK) ------------

    #[test]
    fn secrets_are_prefixed_random_base64url() {
        use base64::Engine as _;
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_ne!(a, b);
        let encoded = a.strip_prefix("whsec_").unwrap();
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .unwrap()
                .len(),
            32
        );
    }

    // --- backoff -----------------------------------------------------------

    #[test]
    fn backoff_doubles_is_capped_and_ends() {
        let policy = RetryPolicy::default();
        let secs: Vec<u64> = (1..=8).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600]);
        assert_eq!(policy.backoff(u32::MAX), policy.cap);
        let slow_start = RetryPolicy {
            base: Duration::from_secs(7200),
            ..policy
        };
        assert_eq!(slow_start.backoff(1), policy.cap);

        let now = Utc::now();
        for n in 1..policy.max_attempts {
            let delay = chrono::Duration::from_std(policy.backoff(n)).unwrap();
            for _ in 0..20 {
                let at = policy.next_retry(n, now).unwrap();
                assert!(
                    at >= now + delay / 2 && at <= now + delay,
                    "attempt {n}: {at}"
                );
            }
        }
        assert_eq!(policy.next_retry(8, now), None);
        assert_eq!(policy.next_retry(9, now), None);
    }

    #[test]
    fn a_nonsensical_policy_is_refused() {
        for policy in [
            RetryPolicy {
                max_attempts: 0,
                ..RetryPolicy::default()
            },
            RetryPolicy {
                base: Duration::ZERO,
                ..RetryPolicy::default()
            },
            RetryPolicy {
                cap: Duration::from_secs(31 * 24 * 3600),
                ..RetryPolicy::default()
            },
            RetryPolicy {
                timeout: Duration::ZERO,
                ..RetryPolicy::default()
            },
            RetryPolicy {
                timeout: Duration::from_secs(u64::MAX),
                ..RetryPolicy::default()
            },
        ] {
            assert!(policy.check().is_err(), "{policy:?}");
        }
        assert!(RetryPolicy::default().check().is_ok());
    }

    // --- dispatch, end to end ------------------------------------------------

    /// One request a receiver got.
    #[derive(Debug, Clone)]
    struct Received {
        headers: HeaderMap,
        body: Bytes,
    }

    /// A local webhook receiver that answers each request with the next
    /// status of its script (repeating the last one) and records it.
    struct Receiver {
        url: String,
        received: Arc<Mutex<Vec<Received>>>,
        server: tokio::task::JoinHandle<()>,
    }

    impl Drop for Receiver {
        fn drop(&mut self) {
            self.server.abort();
        }
    }

    impl Receiver {
        async fn start(script: &[u16], delay: Duration) -> Receiver {
            #[derive(Clone)]
            struct Script {
                statuses: Arc<Vec<u16>>,
                delay: Duration,
                received: Arc<Mutex<Vec<Received>>>,
            }
            async fn answer(
                State(s): State<Script>,
                headers: HeaderMap,
                body: Bytes,
            ) -> (StatusCode, HeaderMap) {
                let n = {
                    let mut received = s.received.lock().unwrap();
                    received.push(Received { headers, body });
                    received.len()
                };
                tokio::time::sleep(s.delay).await;
                let code = s.statuses[(n - 1).min(s.statuses.len() - 1)];
                let mut headers = HeaderMap::new();
                headers.insert("location", "http://127.0.0.1:1/elsewhere".parse().unwrap());
                (StatusCode::from_u16(code).unwrap(), headers)
            }
            let received = Arc::new(Mutex::new(Vec::new()));
            let app = axum::Router::new()
                .route("/hooks", axum::routing::post(answer))
                .with_state(Script {
                    statuses: Arc::new(script.to_vec()),
                    delay,
                    received: received.clone(),
                });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/hooks", listener.local_addr().unwrap());
            let server = tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
            Receiver {
                url,
                received,
                server,
            }
        }

        fn received(&self) -> Vec<Received> {
            self.received.lock().unwrap().clone()
        }
    }

    struct World {
        db: TestDb,
        sealer: Sealer,
        workspace: WorkspaceId,
    }

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    async fn world() -> World {
        let db = TestDb::sqlite().await;
        let (ws, _) = db
            .store
            .operator()
            .create_workspace(&onepane_store::testing::tenants::new_workspace(
                "Reseller Oy",
            ))
            .await
            .unwrap();
        World {
            db,
            sealer: Sealer::new(&SecretKey::generate().unwrap()),
            workspace: ws.id,
        }
    }

    impl World {
        async fn vendor(&self, n: &str) -> VendorId {
            let v = self
                .db
                .store
                .operator()
                .create_vendor(&name(n), VendorKind::Vendor)
                .await
                .unwrap()
                .id;
            self.db
                .store
                .operator()
                .link(self.workspace, v, Tier::Gold, PartnerType::SolutionProvider)
                .await
                .unwrap();
            v
        }

        /// Subscribes `vendor` to every event at `url`; returns the secret.
        async fn subscribe(&self, vendor: VendorId, url: &str) -> String {
            let secret = generate_secret().unwrap();
            let sealed = self
                .sealer
                .seal(&secret_context(vendor), secret.as_bytes())
                .unwrap();
            self.db
                .store
                .vendor(vendor)
                .put_webhook(
                    url,
                    &[
                        WebhookEvent::DealRegistrationSubmitted,
                        WebhookEvent::CampaignActivated,
                        WebhookEvent::LeadAccepted,
                    ],
                    Some(&sealed),
                )
                .await
                .unwrap();
            secret
        }

        async fn register_deal(&self, vendors: &[VendorId]) {
            let details = DealDetails {
                title: name("Printers for Customer Oy"),
                customer: Company {
                    name: name("Customer Oy"),
                    domain: None,
                    country: None,
                },
                amount: Money::new("12500.50".parse().unwrap(), Currency::EUR),
                products: vec![],
                fields: Default::default(),
            };
            self.db
                .store
                .partner(self.workspace)
                .register_deals(vendors, &details, None, None)
                .await
                .unwrap();
        }

        fn dispatcher(&self, policy: RetryPolicy) -> Dispatcher {
            Dispatcher::new(
                self.db.store.clone(),
                self.sealer.clone(),
                policy,
                AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]),
            )
            .unwrap()
        }

        async fn deliveries(&self, vendor: VendorId) -> Vec<WebhookDelivery> {
            self.db
                .store
                .vendor(vendor)
                .webhook_deliveries(DeliveryFilter {
                    limit: 50,
                    ..DeliveryFilter::default()
                })
                .await
                .unwrap()
        }

        async fn only_delivery(&self, vendor: VendorId) -> WebhookDelivery {
            let mut all = self.deliveries(vendor).await;
            assert_eq!(all.len(), 1, "{all:?}");
            all.remove(0)
        }

        /// Ticks until `vendor`'s only delivery leaves pending.
        async fn tick_until_settled(
            &self,
            dispatcher: &Dispatcher,
            vendor: VendorId,
        ) -> WebhookDelivery {
            for _ in 0..200 {
                dispatcher.tick().await.unwrap();
                let delivery = self.only_delivery(vendor).await;
                if delivery.status != DeliveryStatus::Pending {
                    return delivery;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!(
                "the delivery never settled: {:?}",
                self.only_delivery(vendor).await
            );
        }
    }

    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(40),
            max_attempts,
            timeout: Duration::from_secs(5),
        }
    }

    fn header<'a>(r: &'a Received, name: &str) -> &'a str {
        r.headers.get(name).unwrap().to_str().unwrap()
    }

    #[tokio::test]
    async fn a_deal_registration_reaches_the_vendor_after_two_failures_signed_the_same_way() {
        let world = world().await;
        let vendor = world.vendor("Printers Inc").await;
        let receiver = Receiver::start(&[500, 500, 204], Duration::ZERO).await;
        let secret = world.subscribe(vendor, &receiver.url).await;
        world.register_deal(&[vendor]).await;

        let dispatcher = world.dispatcher(quick(8));
        let delivery = world.tick_until_settled(&dispatcher, vendor).await;

        assert_eq!(delivery.status, DeliveryStatus::Delivered);
        assert_eq!(delivery.attempts, 3);
        assert_eq!(delivery.last_response_status, Some(204));
        assert!(delivery.delivered_at.is_some());
        let received = receiver.received();
        assert_eq!(received.len(), 3);
        let body = &received[0].body;
        let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload, delivery.payload);
        assert_eq!(payload["id"], delivery.id.to_string());
        assert_eq!(payload["type"], "deal-registration.submitted");
        assert_eq!(payload["data"]["vendor_id"], vendor.to_string());
        for r in &received {
            assert_eq!(&r.body, body, "every attempt sends the same bytes");
            assert!(verify(
                secret.as_bytes(),
                header(r, SIGNATURE_HEADER),
                &r.body,
                Utc::now(),
                300
            ));
            assert!(!verify(
                b"whsec_other",
                header(r, SIGNATURE_HEADER),
                &r.body,
                Utc::now(),
                300
            ));
            assert_eq!(header(r, EVENT_HEADER), "deal-registration.submitted");
            assert_eq!(header(r, DELIVERY_HEADER), delivery.id.to_string());
            assert_eq!(header(r, "content-type"), "application/json");
            assert_eq!(header(r, "user-agent"), USER_AGENT);
        }
        // Nothing more is due.
        assert_eq!(dispatcher.tick().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_receiver_that_always_fails_kills_the_delivery_until_redelivered() {
        let world = world().await;
        let vendor = world.vendor("Printers Inc").await;
        let receiver = Receiver::start(&[500], Duration::ZERO).await;
        world.subscribe(vendor, &receiver.url).await;
        world.register_deal(&[vendor]).await;

        let dispatcher = world.dispatcher(quick(3));
        let dead = world.tick_until_settled(&dispatcher, vendor).await;
        assert_eq!(dead.status, DeliveryStatus::Dead);
        assert_eq!(dead.attempts, 3);
        assert_eq!(dead.last_response_status, Some(500));
        assert_eq!(
            dead.last_error.as_deref(),
            Some("the receiver answered 500")
        );
        assert_eq!(receiver.received().len(), 3);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            dispatcher.tick().await.unwrap(),
            0,
            "a dead delivery is not retried"
        );

        let again = world
            .db
            .store
            .vendor(vendor)
            .redeliver(dead.id)
            .await
            .unwrap();
        assert_eq!(again.status, DeliveryStatus::Pending);
        assert_eq!(dispatcher.tick().await.unwrap(), 1);
        assert_eq!(receiver.received().len(), 4);
        // A redelivery is one more attempt past the limit: it fails for good.
        let after = world.only_delivery(vendor).await;
        assert_eq!(after.attempts, 4);
        assert_eq!(after.status, DeliveryStatus::Dead);
    }

    #[tokio::test]
    async fn a_vendor_without_a_subscription_gets_nothing_and_its_event_is_dropped() {
        let world = world().await;
        let subscribed = world.vendor("Printers Inc").await;
        let unsubscribed = world.vendor("Scanners Ltd").await;
        let receiver = Receiver::start(&[200], Duration::ZERO).await;
        world.subscribe(subscribed, &receiver.url).await;
        world.register_deal(&[subscribed, unsubscribed]).await;
        assert_eq!(world.deliveries(unsubscribed).await.len(), 1);

        let dispatcher = world.dispatcher(quick(3));
        assert_eq!(dispatcher.tick().await.unwrap(), 1);

        assert!(world.deliveries(unsubscribed).await.is_empty());
        let received = receiver.received();
        assert_eq!(received.len(), 1);
        let payload: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(payload["data"]["vendor_id"], subscribed.to_string());
        assert_eq!(
            world.only_delivery(subscribed).await.status,
            DeliveryStatus::Delivered
        );
    }

    #[tokio::test]
    async fn a_receiver_at_a_private_address_is_never_contacted() {
        let world = world().await;
        let vendor = world.vendor("Printers Inc").await;
        world
            .subscribe(vendor, "http://169.254.169.254/latest/meta-data/")
            .await;
        world.register_deal(&[vendor]).await;
        let dispatcher = world.dispatcher(quick(8));
        assert_eq!(dispatcher.tick().await.unwrap(), 1);
        let delivery = world.only_delivery(vendor).await;
        assert_eq!(delivery.status, DeliveryStatus::Dead);
        assert_eq!(delivery.last_response_status, None);
        let error = delivery.last_error.unwrap_or_default();
        assert!(error.contains("not a public address"), "{error}");
    }

    #[tokio::test]
    async fn a_secret_sealed_for_another_vendor_does_not_open_and_the_delivery_dies() {
        let world = world().await;
        let vendor = world.vendor("Printers Inc").await;
        let receiver = Receiver::start(&[200], Duration::ZERO).await;
        let sealed = world
            .sealer
            .seal(&secret_context(VendorId::new()), b"whsec_stolen")
            .unwrap();
        world
            .db
            .store
            .vendor(vendor)
            .put_webhook(
                &receiver.url,
                &[WebhookEvent::DealRegistrationSubmitted],
                Some(&sealed),
            )
            .await
            .unwrap();
        world.register_deal(&[vendor]).await;

        let dispatcher = world.dispatcher(quick(8));
        assert_eq!(dispatcher.tick().await.unwrap(), 1);
        let delivery = world.only_delivery(vendor).await;
        assert_eq!(delivery.status, DeliveryStatus::Dead);
        assert_eq!(delivery.attempts, 1);
        assert_eq!(delivery.last_response_status, None);
        assert_eq!(
            delivery.last_error.as_deref(),
            Some("the signing secret cannot be opened")
        );
        assert!(receiver.received().is_empty());
    }

    #[tokio::test]
    async fn failures_are_explained_in_plain_words_and_redirects_are_not_followed() {
        let world = world().await;
        let policy = RetryPolicy {
            timeout: Duration::from_millis(300),
            ..quick(8)
        };
        let dispatcher = world.dispatcher(policy);

        // A redirect: failed, not followed to its Location.
        let redirecting = world.vendor("Redirects Inc").await;
        let receiver = Receiver::start(&[302], Duration::ZERO).await;
        world.subscribe(redirecting, &receiver.url).await;
        // A port nobody listens on.
        let refused = world.vendor("Closed Inc").await;
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_url = format!("http://{}/hooks", closed.local_addr().unwrap());
        drop(closed);
        world.subscribe(refused, &closed_url).await;
        // A receiver slower than the timeout.
        let slow = world.vendor("Slow Inc").await;
        let slow_receiver = Receiver::start(&[200], Duration::from_secs(2)).await;
        world.subscribe(slow, &slow_receiver.url).await;

        world.register_deal(&[redirecting, refused, slow]).await;
        assert_eq!(dispatcher.tick().await.unwrap(), 3);

        let outcome =
            |d: WebhookDelivery| (d.status, d.attempts, d.last_response_status, d.last_error);
        assert_eq!(
            outcome(world.only_delivery(redirecting).await),
            (
                DeliveryStatus::Pending,
                1,
                Some(302),
                Some("the receiver answered 302".to_owned())
            )
        );
        assert_eq!(receiver.received().len(), 1);
        assert_eq!(
            outcome(world.only_delivery(refused).await),
            (
                DeliveryStatus::Pending,
                1,
                None,
                Some("connection refused".to_owned())
            )
        );
        assert_eq!(
            outcome(world.only_delivery(slow).await),
            (
                DeliveryStatus::Pending,
                1,
                None,
                Some("timed out after 300 ms".to_owned())
            )
        );
    }

    #[tokio::test]
    async fn run_stops_when_told() {
        let world = world().await;
        let vendor = world.vendor("Printers Inc").await;
        let receiver = Receiver::start(&[200], Duration::ZERO).await;
        world.subscribe(vendor, &receiver.url).await;
        world.register_deal(&[vendor]).await;

        // Told to stop after a while; by then the event has gone out.
        let running = tokio::spawn(
            world
                .dispatcher(quick(3))
                .run(tokio::time::sleep(Duration::from_millis(500))),
        );
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            world.only_delivery(vendor).await.status,
            DeliveryStatus::Delivered
        );
        assert_eq!(receiver.received().len(), 1);
    }
}
