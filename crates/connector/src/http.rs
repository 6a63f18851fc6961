//! The HTTP client every connector shares: one place for timeouts, retries,
//! rate limits, a response size cap and the address policy, so that no
//! connector gets them subtly wrong on its own.
//!
//! A connector builds requests and interprets answers; [`HttpClient::send`]
//! does the rest:
//!
//! - each attempt's URL is checked with the [`AddressPolicy`], and names are
//!   resolved through it, so a connector's base URL cannot reach the
//!   server's own network; redirects are not followed;
//! - a per-connection [`RateLimiter`] spaces requests out;
//! - connection errors, timeouts, 429 and 500/502/503/504 are retried with
//!   exponential backoff and jitter, or after the wait the server asked for
//!   (`Retry-After`, or on a 429 `X-RateLimit-Reset` / `RateLimit-Reset`);
//!   a server that asks for longer than the backoff cap gets
//!   [`HttpError::RetryLater`], so a job is rescheduled instead of holding a
//!   worker;
//! - other answers, 4xx included, are returned as they are: a 401 means
//!   "refresh the token", which only the connector knows how to do;
//! - the body is read as a stream and abandoned once it is over the cap.
//!
//! Error messages name a URL as `scheme://host/path` only: query strings and
//! user info often carry API keys.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

use crate::net::{AddressPolicy, OutboundError};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("Onepane-Connector/", env!("CARGO_PKG_VERSION"));

/// How the shared client behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The longest one attempt may take, body included.
    pub timeout: Duration,
    /// Attempts per request, the first included (at least one is made).
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each.
    pub backoff_base: Duration,
    /// The longest wait between attempts; a server asking for more gets
    /// [`HttpError::RetryLater`].
    pub backoff_cap: Duration,
    /// The largest response body accepted, in bytes.
    pub max_response_bytes: usize,
    /// Where requests may go.
    pub addresses: AddressPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(60),
            max_response_bytes: 16 * 1024 * 1024,
            addresses: AddressPolicy::default(),
        }
    }
}

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address policy refused the URL or every address its host resolves to.
    #[error("refused to send to {url}: {reason}")]
    Refused {
        /// The URL, without query or credentials.
        url: String,
        /// Why, naming the host and the refused address.
        reason: String,
    },
    /// No connection could be made, or it broke before the answer was read.
    #[error("could not reach {url}")]
    Connect {
        /// The URL, without query or credentials.
        url: String,
        /// The transport error (its message carries no URL).
        #[source]
        source: reqwest::Error,
    },
    /// The attempt took longer than the configured timeout.
    #[error("{url} did not answer within {timeout:?}")]
    Timeout {
        /// The URL, without query or credentials.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// A retriable status (429 or 5xx); seen as the last failure of
    /// [`HttpError::Exhausted`].
    #[error("{url} answered {status}")]
    Status {
        /// The URL, without query or credentials.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// The response body is larger than the cap.
    #[error("the response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL, without query or credentials.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// Every attempt failed; `last` says how the last one did.
    #[error("gave up on {url} after {attempts} attempts")]
    Exhausted {
        /// The URL, without query or credentials.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure: [`HttpError::Status`], [`HttpError::Connect`]
        /// or [`HttpError::Timeout`].
        #[source]
        last: Box<HttpError>,
    },
    /// The server asked to wait longer than the backoff cap: reschedule.
    #[error("{url} asks to be retried in {}s", after.as_secs())]
    RetryLater {
        /// The URL, without query or credentials.
        url: String,
        /// How long the server asked to wait.
        after: Duration,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The request could not be built or failed in a way retrying will not fix.
    #[error("request to {url} failed")]
    Request {
        /// The URL, without query or credentials.
        url: String,
        /// The error (its message carries no URL).
        #[source]
        source: reqwest::Error,
    },
}

impl HttpError {
    fn request(url: String, e: reqwest::Error) -> Self {
        HttpError::Request {
            url,
            source: e.without_url(),
        }
    }
}

/// A response that is not retried: its status (any, 4xx and 3xx included),
/// headers and whole body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, at most `max_response_bytes` long.
    pub body: Vec<u8>,
    /// Attempts made, this one included.
    pub attempts: u32,
}

/// A connection's request rate: `requests` per `period`, up to `burst` of
/// them back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    interval: Duration,
    burst: u32,
}

impl RateLimit {
    /// `requests` per `period` with bursts of up to `burst` (at least 1);
    /// `None` when `requests` or `period` is zero.
    pub fn new(requests: u32, period: Duration, burst: u32) -> Option<Self> {
        if requests == 0 || period.is_zero() {
            return None;
        }
        Some(Self {
            interval: period / requests,
            burst: burst.max(1),
        })
    }

    /// `requests` per second with bursts of up to `burst`.
    pub fn per_second(requests: u32, burst: u32) -> Option<Self> {
        Self::new(requests, Duration::from_secs(1), burst)
    }

    /// The spacing between requests once the burst is spent.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Requests that may go back to back.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

/// A token bucket for one connection; clones share the bucket.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: RateLimit,
    /// When the next request would be due if requests were evenly spaced
    /// (GCRA's theoretical arrival time); a burst may run ahead of it.
    due: Arc<Mutex<Instant>>,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            due: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// The limit.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits until a request may go. The slot is reserved on the call, so
    /// waiters go in call order; a cancelled wait still uses its slot.
    pub async fn acquire(&self) {
        let go = {
            let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let ahead = self.limit.interval * (self.limit.burst - 1);
            let go = due.checked_sub(ahead).map_or(now, |t| t.max(now));
            *due = (*due).max(go) + self.limit.interval;
            go
        };
        if go > Instant::now() {
            tokio::time::sleep_until(go).await;
        }
    }
}

/// The HTTP client connectors share; cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    config: Arc<ClientConfig>,
}

/// How one attempt went.
enum Attempt {
    Done(Fetched),
    /// Worth another attempt; the wait the server asked for, if any.
    Retry(HttpError, Option<Duration>),
    Fail(HttpError),
}

impl HttpClient {
    /// A client with `config`'s timeout and address policy, following no
    /// redirects.
    pub fn new(config: ClientConfig) -> Result<Self, HttpError> {
        let client = config
            .addresses
            .client_builder()
            .timeout(config.timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(HttpError::Client)?;
        Ok(Self {
            client,
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends the request `build` makes, retrying as the module describes;
    /// `build` is called once per attempt. Waits for `limiter` before each
    /// attempt.
    #[tracing::instrument(name = "http.send", skip_all, fields(url = tracing::field::Empty))]
    pub async fn send(
        &self,
        limiter: Option<&RateLimiter>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Fetched, HttpError> {
        let max_attempts = self.config.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = build(&self.client).build().map_err(|e| {
                let url = e.url().map_or_else(|| "a request".into(), display_url);
                HttpError::request(url, e)
            })?;
            let url = display_url(request.url());
            if attempt == 1 {
                tracing::Span::current().record("url", url.as_str());
            }
            if let Err(e) = self.config.addresses.check_url(request.url()) {
                return Err(HttpError::Refused {
                    url,
                    reason: e.to_string(),
                });
            }
            if let Some(limiter) = limiter {
                limiter.acquire().await;
            }
            match self.attempt(request, &url).await {
                Attempt::Done(mut fetched) => {
                    fetched.attempts = attempt;
                    return Ok(fetched);
                }
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(last, asked) => {
                    if let Some(after) = asked.filter(|a| *a > self.config.backoff_cap) {
                        return Err(HttpError::RetryLater { url, after });
                    }
                    if attempt >= max_attempts {
                        return Err(HttpError::Exhausted {
                            url,
                            attempts: attempt,
                            last: Box::new(last),
                        });
                    }
                    let wait = asked.unwrap_or_else(|| {
                        jitter(backoff(
                            self.config.backoff_base,
                            self.config.backoff_cap,
                            attempt,
                        ))
                    });
                    tracing::warn!(attempt, wait_ms = wait.as_millis(), error = %last, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, request: reqwest::Request, url: &str) -> Attempt {
        let mut response = match self.client.execute(request).await {
            Ok(response) => response,
            Err(e) => return self.transport_failure(e, url),
        };
        let status = response.status();
        if is_retriable(status) {
            let asked = asked_wait(status, response.headers(), SystemTime::now());
            let last = HttpError::Status {
                url: url.to_owned(),
                status,
            };
            return Attempt::Retry(last, asked);
        }
        let limit = self.config.max_response_bytes;
        let too_large = || {
            Attempt::Fail(HttpError::TooLarge {
                url: url.to_owned(),
                limit,
            })
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return too_large();
        }
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return too_large();
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return self.transport_failure(e, url),
            }
        }
        Attempt::Done(Fetched {
            status,
            headers,
            body,
            attempts: 0,
        })
    }

    fn transport_failure(&self, e: reqwest::Error, url: &str) -> Attempt {
        let url = url.to_owned();
        if let Some(reason) = refusal(&e) {
            return Attempt::Fail(HttpError::Refused { url, reason });
        }
        if e.is_timeout() {
            let timeout = self.config.timeout;
            Attempt::Retry(HttpError::Timeout { url, timeout }, None)
        } else if e.is_connect() || e.is_request() || e.is_body() || broken_connection(&e) {
            let source = e.without_url();
            Attempt::Retry(HttpError::Connect { url, source }, None)
        } else {
            Attempt::Fail(HttpError::request(url, e))
        }
    }
}

/// `scheme://host[:port]/path`: the query and user info may hold secrets.
fn display_url(url: &url::Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// The refusal by the address policy's resolver, if that is what `e` is.
fn refusal(e: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(refused) = c.downcast_ref::<OutboundError>() {
            return Some(refused.to_string());
        }
        // io::Error::source skips the error it wraps, so look inside.
        if let Some(refused) = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<OutboundError>())
        {
            return Some(refused.to_string());
        }
        cause = c.source();
    }
    None
}

/// Whether the connection broke mid-answer (reqwest reports a body cut
/// short as a decode error); a malformed body, by contrast, is not retried.
fn broken_connection(e: &reqwest::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                BrokenPipe | ConnectionAborted | ConnectionReset | UnexpectedEof
            )
        }) {
            return true;
        }
        cause = c.source();
    }
    false
}

fn is_retriable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// The wait the server asked for: `Retry-After` on any retriable status;
/// on a 429 without it, the vendor's reset header. (Vendors such as GitHub
/// send reset headers on every response, so on a 5xx they say nothing about
/// when the server will be back.)
fn asked_wait(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(wait) = header(RETRY_AFTER.as_str()).and_then(|v| parse_retry_after(v, now)) {
        return Some(wait);
    }
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    ["x-ratelimit-reset", "ratelimit-reset"]
        .into_iter()
        .find_map(|name| header(name).and_then(|v| parse_reset(v, now)))
}

/// `Retry-After`: delta-seconds or an HTTP-date (a date in the past means now).
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let now = chrono::DateTime::<chrono::Utc>::from(now);
    Some(at.signed_duration_since(now).to_std().unwrap_or_default())
}

/// Above this, a reset header is a Unix time rather than seconds to wait
/// (10^9 seconds is 2001; nobody asks to wait 31 years).
const EPOCH_THRESHOLD: f64 = 1e9;

/// `X-RateLimit-Reset` / `RateLimit-Reset`: seconds to wait, or the Unix
/// time the window resets (a time in the past means now).
fn parse_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let value: f64 = value.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let seconds = if value > EPOCH_THRESHOLD {
        let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        (value - now.as_secs_f64()).max(0.0)
    } else {
        value
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// base·2^(attempt−1), at most `cap`.
fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// Uniform in [d/2, d], so that clients failing together do not retry together.
fn jitter(d: Duration) -> Duration {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let half = nanos / 2;
    // Without randomness, wait the whole time: never shorter.
    let random = getrandom::u64().unwrap_or(u64::MAX);
    Duration::from_nanos(half + random % (nanos - half + 1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::response::{IntoResponse, Response};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn loopback() -> AddressPolicy {
        AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()])
    }

    /// Tiny backoffs, loopback allowed.
    fn config() -> ClientConfig {
        ClientConfig {
            timeout: Duration::from_secs(5),
            max_attempts: 5,
            backoff_base: Duration::from_millis(1),
            backoff_cap: Duration::from_secs(2),
            max_response_bytes: 1024,
            addresses: loopback(),
        }
    }

    fn client(config: ClientConfig) -> HttpClient {
        HttpClient::new(config).unwrap()
    }

    /// A fake vendor answering each request with `answer(hit)`, hit counting
    /// from 0; the base URL and the hit counter.
    async fn vendor<F, Fut>(answer: F) -> (String, Arc<AtomicUsize>)
    where
        F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let hit = counter.fetch_add(1, Ordering::SeqCst);
            answer(hit)
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://127.0.0.1:{port}"), hits)
    }

    /// `status` on the first `times` hits, then 200 "ok".
    async fn failing(
        times: usize,
        status: StatusCode,
        headers: Vec<(&'static str, String)>,
    ) -> (String, Arc<AtomicUsize>) {
        vendor(move |hit| {
            let headers = headers.clone();
            async move {
                if hit < times {
                    let mut response = status.into_response();
                    for (name, value) in headers {
                        response.headers_mut().insert(name, value.parse().unwrap());
                    }
                    response
                } else {
                    "ok".into_response()
                }
            }
        })
        .await
    }

    fn hits(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }

    /// What a raw server does after the head of its answer.
    #[derive(Clone, Copy)]
    enum Then {
        /// Writes the chunk until the client hangs up.
        Repeat,
        /// Writes the chunk once and holds the connection open, so a client
        /// waiting for the rest of a promised body would time out.
        Hold,
        /// Writes the chunk once and hangs up.
        HangUp,
    }

    /// A raw HTTP/1.1 server answering every request with `head`, then
    /// `chunk` as `then` says; the URL and the hit counter.
    async fn raw_vendor(
        head: &'static str,
        chunk: &'static [u8],
        then: Then,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    while socket.write_all(chunk).await.is_ok() && matches!(then, Then::Repeat) {}
                    if matches!(then, Then::Hold) {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                });
            }
        });
        (format!("http://127.0.0.1:{port}/"), hits)
    }

    #[tokio::test]
    async fn a_body_cut_short_is_retried() {
        let (url, hits_) = raw_vendor(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
            b"only ten b",
            Then::HangUp,
        )
        .await;
        let config = ClientConfig {
            max_attempts: 3,
            ..config()
        };
        let err = client(config)
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        let HttpError::Exhausted {
            attempts: 3, last, ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert!(matches!(**last, HttpError::Connect { .. }), "{last:?}");
        assert_eq!(hits(&hits_), 3);
    }

    #[tokio::test]
    async fn a_malformed_body_is_not_retried() {
        let (url, hits_) = raw_vendor(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"zz\r\nnot a chunk\r\n",
            Then::HangUp,
        )
        .await;
        let err = client(config())
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Request { .. }), "{err:?}");
        assert_eq!(hits(&hits_), 1);
    }

    #[tokio::test]
    async fn a_429_with_retry_after_is_retried_after_the_wait() {
        let (url, hits_) = failing(
            1,
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "1".into())],
        )
        .await;
        let started = std::time::Instant::now();
        let fetched = client(config())
            .send(None, |c| c.get(format!("{url}/leads")))
            .await
            .unwrap();
        assert_eq!(fetched.status, StatusCode::OK);
        assert_eq!(fetched.body, b"ok");
        assert_eq!(fetched.attempts, 2);
        assert_eq!(hits(&hits_), 2);
        assert!(started.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_zero_retry_after_is_retried_at_once_without_backoff() {
        let (url, hits_) = failing(
            1,
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "0".into())],
        )
        .await;
        let slow_backoff = ClientConfig {
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(20),
            ..config()
        };
        let started = std::time::Instant::now();
        let fetched = client(slow_backoff)
            .send(None, |c| c.get(&url))
            .await
            .unwrap();
        assert_eq!(fetched.attempts, 2);
        assert_eq!(hits(&hits_), 2);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_retry_after_date_is_honoured() {
        let past = "Sun, 06 Nov 1994 08:49:37 GMT";
        let (url, hits_) = failing(
            2,
            StatusCode::SERVICE_UNAVAILABLE,
            vec![("retry-after", past.into())],
        )
        .await;
        let fetched = client(config()).send(None, |c| c.get(&url)).await.unwrap();
        assert_eq!(fetched.attempts, 3);
        assert_eq!(hits(&hits_), 3);

        let now = SystemTime::now();
        let later = chrono::DateTime::<chrono::Utc>::from(now + Duration::from_secs(120));
        let wait = parse_retry_after(&later.to_rfc2822(), now).unwrap();
        assert!(
            wait > Duration::from_secs(118) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[tokio::test]
    async fn a_503_three_times_then_200_takes_four_attempts() {
        let (url, hits_) = failing(3, StatusCode::SERVICE_UNAVAILABLE, vec![]).await;
        let fetched = client(config()).send(None, |c| c.get(&url)).await.unwrap();
        assert_eq!(fetched.status, StatusCode::OK);
        assert_eq!(fetched.attempts, 4);
        assert_eq!(hits(&hits_), 4);
    }

    #[tokio::test]
    async fn a_server_that_always_fails_exhausts_the_attempts() {
        let (url, hits_) = failing(usize::MAX, StatusCode::INTERNAL_SERVER_ERROR, vec![]).await;
        let err = client(config())
            .send(None, |c| c.get(format!("{url}/deals?api_key=SECRET")))
            .await
            .unwrap_err();
        let HttpError::Exhausted { attempts, last, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*attempts, 5);
        assert!(matches!(
            **last,
            HttpError::Status {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                ..
            }
        ));
        assert_eq!(hits(&hits_), 5);
        let message = format!("{err}: {last}");
        assert!(message.contains(&format!("{url}/deals")), "{message}");
        assert!(!message.contains("SECRET"), "{message}");
    }

    #[tokio::test]
    async fn a_404_is_returned_without_retrying() {
        let (url, hits_) = failing(usize::MAX, StatusCode::NOT_FOUND, vec![]).await;
        let fetched = client(config()).send(None, |c| c.get(&url)).await.unwrap();
        assert_eq!(fetched.status, StatusCode::NOT_FOUND);
        assert_eq!(fetched.attempts, 1);
        assert_eq!(hits(&hits_), 1);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_then_exhausted() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let config = ClientConfig {
            max_attempts: 3,
            ..config()
        };
        let err = client(config)
            .send(None, |c| {
                c.get(format!("http://user:pw@127.0.0.1:{port}/x?token=SECRET"))
            })
            .await
            .unwrap_err();
        let HttpError::Exhausted { attempts, last, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*attempts, 3);
        assert!(matches!(**last, HttpError::Connect { .. }), "{last:?}");
        let mut chain = String::new();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(e) = cause {
            chain.push_str(&format!("{e}: "));
            cause = e.source();
        }
        assert!(
            chain.contains(&format!("http://127.0.0.1:{port}/x")),
            "{chain}"
        );
        assert!(
            !chain.contains("SECRET") && !chain.contains("pw"),
            "{chain}"
        );
    }

    #[tokio::test]
    async fn a_timeout_is_retried() {
        let (url, hits_) = vendor(|hit| async move {
            if hit == 0 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            "ok".into_response()
        })
        .await;
        let config = ClientConfig {
            timeout: Duration::from_millis(200),
            ..config()
        };
        let fetched = client(config.clone())
            .send(None, |c| c.get(&url))
            .await
            .unwrap();
        assert_eq!(fetched.attempts, 2);
        assert_eq!(hits(&hits_), 2);

        let (url, _) = vendor(|_| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "late".into_response()
        })
        .await;
        let err = client(ClientConfig {
            max_attempts: 2,
            ..config
        })
        .send(None, |c| c.get(&url))
        .await
        .unwrap_err();
        let HttpError::Exhausted {
            attempts: 2, last, ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert!(matches!(**last, HttpError::Timeout { .. }), "{last:?}");
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_cap_asks_to_retry_later_without_waiting() {
        let (url, hits_) = failing(
            usize::MAX,
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "3600".into())],
        )
        .await;
        let started = std::time::Instant::now();
        let err = client(config())
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::RetryLater { after, .. } if after == Duration::from_secs(3600)),
            "{err:?}"
        );
        assert_eq!(hits(&hits_), 1);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn vendor_reset_headers_are_honoured_as_seconds_or_epoch() {
        // Seconds to wait.
        let (url, hits_) = failing(
            usize::MAX,
            StatusCode::TOO_MANY_REQUESTS,
            vec![("x-ratelimit-reset", "900".into())],
        )
        .await;
        let err = client(config())
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::RetryLater { after, .. } if after == Duration::from_secs(900)),
            "{err:?}"
        );
        assert_eq!(hits(&hits_), 1);

        // A Unix time.
        let epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        let (url, _) = failing(
            usize::MAX,
            StatusCode::TOO_MANY_REQUESTS,
            vec![("ratelimit-reset", epoch.to_string())],
        )
        .await;
        let err = client(config())
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        let HttpError::RetryLater { after, .. } = err else {
            panic!("{err:?}");
        };
        assert!(
            after > Duration::from_secs(595) && after <= Duration::from_secs(600),
            "{after:?}"
        );

        // Within the cap: waited for, instead of the (slow) backoff.
        let (url, hits_) = failing(
            1,
            StatusCode::TOO_MANY_REQUESTS,
            vec![("x-ratelimit-reset", "0".into())],
        )
        .await;
        let slow_backoff = ClientConfig {
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(20),
            ..config()
        };
        let started = std::time::Instant::now();
        let fetched = client(slow_backoff)
            .send(None, |c| c.get(&url))
            .await
            .unwrap();
        assert_eq!((fetched.attempts, hits(&hits_)), (2, 2));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn reset_headers_on_a_5xx_do_not_delay_the_retry() {
        let (url, hits_) = failing(
            1,
            StatusCode::BAD_GATEWAY,
            vec![("x-ratelimit-reset", "3600".into())],
        )
        .await;
        let fetched = client(config()).send(None, |c| c.get(&url)).await.unwrap();
        assert_eq!((fetched.attempts, hits(&hits_)), (2, 2));
    }

    #[tokio::test]
    async fn a_body_over_the_cap_with_content_length_is_refused_up_front() {
        // Promises 10 MB, sends 5 bytes and stalls: reading it would time out.
        let (url, raw_hits) = raw_vendor(
            "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n",
            b"hello",
            Then::Hold,
        )
        .await;
        let started = std::time::Instant::now();
        let err = client(config())
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::TooLarge { limit: 1024, .. }),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(hits(&raw_hits), 1);

        let (url, hits_) = vendor(|_| async { vec![b'x'; 2048].into_response() }).await;
        let err = client(config())
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::TooLarge { .. }), "{err:?}");
        assert_eq!(hits(&hits_), 1);
    }

    #[tokio::test]
    async fn an_endless_chunked_body_is_abandoned_at_the_cap() {
        let (url, raw_hits) = raw_vendor(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"10\r\nxxxxxxxxxxxxxxxx\r\n",
            Then::Repeat,
        )
        .await;
        let err = client(config())
            .send(None, |c| c.get(&url))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HttpError::TooLarge { limit: 1024, .. }),
            "{err:?}"
        );
        assert_eq!(hits(&raw_hits), 1);

        // At the cap exactly is fine.
        let (url, _) = vendor(|_| async { vec![b'x'; 1024].into_response() }).await;
        let fetched = client(config()).send(None, |c| c.get(&url)).await.unwrap();
        assert_eq!(fetched.body.len(), 1024);
    }

    #[tokio::test]
    async fn the_rate_limiter_spaces_requests() {
        let (url, hits_) = failing(0, StatusCode::OK, vec![]).await;
        let http = client(config());
        let limiter = RateLimiter::new(RateLimit::per_second(10, 1).unwrap());
        let started = std::time::Instant::now();
        for _ in 0..5 {
            http.send(Some(&limiter), |c| c.get(&url)).await.unwrap();
        }
        assert!(
            started.elapsed() >= Duration::from_millis(390),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(hits(&hits_), 5);
    }

    #[tokio::test]
    async fn a_burst_goes_at_once_then_the_rate_applies() {
        let limiter = RateLimiter::new(RateLimit::per_second(20, 3).unwrap());
        let started = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert!(started.elapsed() < Duration::from_millis(30));
        for _ in 0..2 {
            limiter.acquire().await;
        }
        assert!(started.elapsed() >= Duration::from_millis(95));
        assert_eq!(RateLimit::per_second(0, 1), None);
        assert_eq!(RateLimit::new(1, Duration::ZERO, 1), None);
    }

    #[tokio::test]
    async fn private_addresses_are_refused_before_any_request() {
        let (url, hits_) = failing(0, StatusCode::OK, vec![]).await;
        let strict = client(ClientConfig {
            addresses: AddressPolicy::default(),
            ..config()
        });
        let err = strict.send(None, |c| c.get(&url)).await.unwrap_err();
        assert!(matches!(err, HttpError::Refused { .. }), "{err:?}");

        // A name resolving to loopback is refused at resolution, not retried.
        let by_name = url.replace("127.0.0.1", "localhost");
        let err = strict.send(None, |c| c.get(&by_name)).await.unwrap_err();
        assert!(matches!(err, HttpError::Refused { .. }), "{err:?}");
        assert!(err.to_string().contains("not a public address"), "{err}");

        let err = strict
            .send(None, |c| c.get("http://169.254.169.254/latest/meta-data/"))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Refused { .. }), "{err:?}");
        assert_eq!(hits(&hits_), 0);
    }

    #[tokio::test]
    async fn a_redirect_is_returned_not_followed() {
        let (url, hits_) = vendor(|hit| async move {
            if hit == 0 {
                (StatusCode::FOUND, [("location", "/elsewhere")]).into_response()
            } else {
                "followed".into_response()
            }
        })
        .await;
        let fetched = client(config()).send(None, |c| c.get(&url)).await.unwrap();
        assert_eq!(fetched.status, StatusCode::FOUND);
        assert_eq!(fetched.headers["location"], "/elsewhere");
        assert_eq!((fetched.attempts, hits(&hits_)), (1, 1));
    }

    #[tokio::test]
    async fn requests_say_who_sends_them_and_are_rebuilt_per_attempt() {
        let (url, hits_) = vendor(|hit| async move {
            if hit == 0 {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                "ok".into_response()
            }
        })
        .await;
        let built = AtomicUsize::new(0);
        let fetched = client(config())
            .send(None, |c| {
                built.fetch_add(1, Ordering::SeqCst);
                c.post(&url).body("payload")
            })
            .await
            .unwrap();
        assert_eq!((fetched.attempts, hits(&hits_), hits(&built)), (2, 2, 2));
        assert!(USER_AGENT.starts_with("Onepane-Connector/0."));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below_it() {
        let base = Duration::from_millis(500);
        let cap = Duration::from_secs(60);
        let waits: Vec<_> = (1..=9).map(|n| backoff(base, cap, n)).collect();
        assert_eq!(waits[0], base);
        assert_eq!(waits[1], Duration::from_secs(1));
        assert_eq!(waits[3], Duration::from_secs(4));
        assert_eq!(waits[8], cap);
        assert_eq!(backoff(base, cap, 200), cap);
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(4));
            assert!(
                j >= Duration::from_secs(2) && j <= Duration::from_secs(4),
                "{j:?}"
            );
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
