//! Traces over OTLP: `onepane serve` with a collector configured sends each
//! request's span, carrying its request id, with the store's units of work
//! under it, and sends what is left when it stops; without one it sends
//! nothing, even with the standard `OTEL_*` variables set.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use crate::harness::Workdir;

/// An OTLP/HTTP collector on loopback that keeps every export it is sent.
struct FakeCollector {
    addr: SocketAddr,
    exports: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

impl FakeCollector {
    async fn start() -> Self {
        let exports = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(Arc::clone(&exports));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, exports }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn exports(&self) -> usize {
        self.exports.lock().unwrap().len()
    }

    /// Every span received, with its resource's `service.name`.
    fn spans(&self) -> Vec<(String, Span)> {
        let exports = self.exports.lock().unwrap();
        let mut spans = Vec::new();
        for export in exports.iter() {
            for resource_spans in &export.resource_spans {
                let service = resource_spans
                    .resource
                    .as_ref()
                    .and_then(|r| string_attribute(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for scope_spans in &resource_spans.scope_spans {
                    for span in &scope_spans.spans {
                        spans.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        spans
    }
}

/// `POST /v1/traces`: a protobuf `ExportTraceServiceRequest`, as the OTLP/HTTP
/// specification has it; anything else is refused.
async fn receive(
    State(exports): State<Arc<Mutex<Vec<ExportTraceServiceRequest>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
    let protobuf = [(header::CONTENT_TYPE, "application/x-protobuf")];
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/x-protobuf")
    {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, protobuf, Vec::new());
    }
    match ExportTraceServiceRequest::decode(body) {
        Ok(export) => {
            exports.lock().unwrap().push(export);
            // An empty `ExportTraceServiceResponse`: everything accepted.
            (StatusCode::OK, protobuf, Vec::new())
        }
        Err(_) => (StatusCode::BAD_REQUEST, protobuf, Vec::new()),
    }
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match &kv.value {
            Some(AnyValue {
                value: Some(Value::StringValue(s)),
            }) => Some(s.clone()),
            _ => None,
        })
}

/// A partner API request with a token no one has: the server looks its
/// digest up in the store, then answers 401.
async fn request_with_id(server_url: &str, request_id: &str) {
    let response = reqwest::Client::new()
        .get(format!("{server_url}/api/v1/leads"))
        .header("x-request-id", request_id)
        .bearer_auth("oppat_nobodys-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], request_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_traced_with_its_request_id_and_the_store_work_under_it() {
    let collector = FakeCollector::start().await;
    let work = Workdir::new();
    let server = work.serve(
        &[],
        &[
            ("ONEPANE_OTLP_ENDPOINT", &collector.endpoint()),
            ("ONEPANE_OTLP_SERVICE_NAME", "onepane-e2e"),
        ],
    );
    let probe = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(probe.status(), 200);
    request_with_id(&server.url(""), "traced-request-1").await;
    // The batch goes out every few seconds; stopping sends what is left.
    let (status, logs) = server.terminate();
    assert!(status.success(), "{status:?} {logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l.contains("exporting traces over OTLP")),
        "{logs:#?}"
    );

    let spans = collector.spans();
    let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    let (service, request) = spans
        .iter()
        .find(|(_, s)| {
            s.name == "request"
                && string_attribute(&s.attributes, "request_id").as_deref()
                    == Some("traced-request-1")
        })
        .unwrap_or_else(|| panic!("no request span with the request id among {names:?}"));
    assert_eq!(service, "onepane-e2e");
    assert_eq!(
        string_attribute(&request.attributes, "path").as_deref(),
        Some("/api/v1/leads")
    );
    assert!(
        request.parent_span_id.is_empty(),
        "the request span is its trace's root"
    );

    // A store span of the same trace, whose parents lead to the request.
    let by_id: HashMap<&[u8], &Span> = spans
        .iter()
        .map(|(_, s)| (s.span_id.as_slice(), s))
        .collect();
    let under_request = |span: &Span| {
        let mut parent = span.parent_span_id.as_slice();
        while let Some(p) = by_id.get(parent) {
            if p.span_id == request.span_id {
                return true;
            }
            parent = p.parent_span_id.as_slice();
        }
        false
    };
    let store = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name.starts_with("store.") && s.trace_id == request.trace_id)
        .unwrap_or_else(|| panic!("no store span in the request's trace among {names:?}"));
    assert_eq!(store.name, "store.read");
    assert_eq!(
        string_attribute(&store.attributes, "scope").as_deref(),
        Some("system")
    );
    assert!(under_request(store), "{store:?} is not under {request:?}");

    // Probes make no traces.
    assert!(
        !spans.iter().any(|(_, s)| {
            string_attribute(&s.attributes, "path").as_deref() == Some("/healthz")
        }),
        "a health check was traced: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_otlp_endpoint_nothing_is_sent_and_serve_starts_as_before() {
    // A collector the standard variables point at: they alone do not turn
    // traces on.
    let collector = FakeCollector::start().await;
    let work = Workdir::new();
    let server = work.serve(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &format!("{}/v1/traces", collector.endpoint()),
            ),
        ],
    );
    request_with_id(&server.url(""), "untraced-request-1").await;
    let (status, logs) = server.terminate();
    assert!(status.success(), "{status:?} {logs:#?}");
    assert!(
        !logs.iter().any(|l| l.contains("OTLP")),
        "serve said something about traces: {logs:#?}"
    );
    assert_eq!(
        collector.exports(),
        0,
        "something was sent to the collector"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_holds_up_the_stop_only_briefly() {
    // Connections are taken (by the kernel) but never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let work = Workdir::new();
    let server = work.serve(&[], &[("ONEPANE_OTLP_ENDPOINT", &endpoint)]);
    request_with_id(&server.url(""), "unanswered-request-1").await;
    let stopping = std::time::Instant::now();
    // `terminate` fails the test past 10 s.
    let (status, logs) = server.terminate();
    let took = stopping.elapsed();
    assert!(status.success(), "{status:?} {logs:#?}");
    assert!(
        took < std::time::Duration::from_secs(8),
        "stopping took {took:?}: {logs:#?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("WARN") && l.contains("the last traces were not all sent")),
        "{logs:#?}"
    );
    drop(silent);
}
