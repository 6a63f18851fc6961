//! Prometheus metrics: request counts and latencies by method, matched route
//! and status, rendered at `/metrics`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusRecorder};

const REQUESTS_TOTAL: &str = "http_requests_total";
const REQUEST_DURATION: &str = "http_request_duration_seconds";
const CONNECTIONS_OPEN: &str = "http_connections_open";
const CONNECTIONS_REFUSED: &str = "http_connections_refused_total";

/// Latency buckets in seconds, from a fast health check to a slow report.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route label of requests no route matched: the raw path would let any
/// client create unbounded label values.
const UNMATCHED: &str = "unmatched";

/// One server's metrics registry.
///
/// Each server owns its recorder instead of installing a process-wide one,
/// so several servers in one process (as in tests) count separately. The
/// catch: a plain `metrics::counter!` (or `gauge!`, `histogram!`) called
/// anywhere else goes to the global recorder, which is never installed, so
/// it is silently dropped. Every metric must be recorded inside
/// [`Metrics::record`].
#[derive(Debug, Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl Metrics {
    /// A fresh, empty registry with the HTTP metrics described.
    pub fn new() -> Result<Self, BuildError> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), DURATION_BUCKETS)?
            .build_recorder();
        let metrics = Self {
            recorder: Arc::new(recorder),
        };
        metrics.record(|| {
            metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests answered");
            metrics::describe_histogram!(
                REQUEST_DURATION,
                metrics::Unit::Seconds,
                "Time to answer an HTTP request"
            );
            metrics::describe_gauge!(CONNECTIONS_OPEN, "Client connections open");
            metrics::describe_counter!(
                CONNECTIONS_REFUSED,
                "Client connections closed on arrival: the connection limit was reached"
            );
        });
        Ok(metrics)
    }

    /// Runs `f` with this registry as the target of the `metrics` macros.
    /// `f` must not await: the target is set for the current thread only.
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), f)
    }

    /// Counts one answered request and its latency.
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        self.record(|| {
            metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
            metrics::histogram!(REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
        });
    }

    /// A client connection opened (+1) or closed (-1).
    pub fn connection(&self, delta: f64) {
        self.record(|| metrics::gauge!(CONNECTIONS_OPEN).increment(delta));
    }

    /// A client connection closed on arrival, past the connection limit.
    pub fn connection_refused(&self) {
        self.record(|| metrics::counter!(CONNECTIONS_REFUSED).increment(1));
    }

    /// The Prometheus text exposition of everything recorded.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }

    /// Folds recorded latencies into their buckets; call periodically so
    /// samples do not pile up between scrapes.
    pub fn run_upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }
}

/// The method label: the standard methods by name and every other one as
/// `other`, since a client may send any token as a method and each distinct
/// label value is a new series.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: times each request and records it under its matched route.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    metrics.record_request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`.
pub async fn render(State(metrics): State<Metrics>) -> Response {
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_label_set() {
        let metrics = Metrics::new().unwrap();
        metrics.record_request("GET", "/healthz", 200, Duration::from_millis(3));
        metrics.record_request("GET", "/healthz", 200, Duration::from_millis(30));
        metrics.record_request("POST", "/healthz", 405, Duration::from_millis(1));
        let text = metrics.render();
        let count = |needle: &str| {
            text.lines()
                .find(|l| l.starts_with(needle))
                .and_then(|l| l.rsplit(' ').next())
                .map(str::to_owned)
        };
        assert_eq!(
            count(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#).as_deref(),
            Some("2"),
            "{text}"
        );
        assert_eq!(
            count(r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.005"}"#)
                .as_deref(),
            Some("1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE http_request_duration_seconds histogram"),
            "{text}"
        );
    }

    #[test]
    fn only_standard_methods_are_labelled_by_name() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(method_label(&Method::TRACE), "other");
        assert_eq!(method_label(&Method::CONNECT), "other");
        assert_eq!(method_label(&Method::from_bytes(b"FOO1").unwrap()), "other");
    }

    #[test]
    fn separate_registries_do_not_share_counts() {
        let a = Metrics::new().unwrap();
        let b = Metrics::new().unwrap();
        a.record_request("GET", "/readyz", 200, Duration::ZERO);
        assert!(a.render().contains("/readyz"));
        assert!(!b.render().contains("/readyz"));
    }
}
