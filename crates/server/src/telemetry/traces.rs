//! Traces over OTLP: when an endpoint is configured, spans at INFO and
//! above (a request, the store's units of work, outbound requests) are
//! batched on the tokio runtime and sent to a collector as OTLP/HTTP with
//! protobuf bodies.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracer, SdkTracerProvider};

/// How long one export may take: the collector's answer included.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the last export at shutdown may take before the process exits
/// without it.
const SHUTDOWN_WITHIN: Duration = Duration::from_secs(6);

/// Where traces go and what they are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// The collector's OTLP/HTTP base URL (`http://collector:4318`).
    pub endpoint: url::Url,
    /// The `service.name` the spans are recorded under.
    pub service_name: String,
}

impl TraceExport {
    /// The URL spans are posted to: the endpoint plus `/v1/traces`, as
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is read (an endpoint that already
    /// ends with it is taken as it is).
    pub fn traces_url(&self) -> String {
        let url = self.endpoint.as_str().trim_end_matches('/');
        if url.ends_with("/v1/traces") {
            url.to_owned()
        } else {
            format!("{url}/v1/traces")
        }
    }
}

/// The exporter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    /// The HTTP client for the collector could not be built.
    #[error("cannot build the HTTP client for the trace collector")]
    Client(#[source] reqwest::Error),
    /// The OTLP exporter refused its settings.
    #[error("cannot set up the OTLP trace exporter")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
}

impl TracesError {
    /// Whether the operator can fix this: the exporter refused a setting
    /// (such as an `OTEL_EXPORTER_OTLP_*` variable it reads).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            TracesError::Exporter(opentelemetry_otlp::ExporterBuildError::InvalidConfiguration(_))
        )
    }
}

/// The running exporter; [`Exporting::shutdown`] sends what is left.
#[derive(Debug)]
pub struct Exporting {
    provider: SdkTracerProvider,
}

impl Exporting {
    /// Starts the batch exporter on the current tokio runtime (which must
    /// be entered) and gives the tracer the subscriber's layer records into.
    pub fn start(export: &TraceExport) -> Result<(Self, SdkTracer), TracesError> {
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            // A collector's redirect is a misconfiguration, not a place to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(TracesError::Client)?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(Collector(client))
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(export.traces_url())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(TracesError::Exporter)?;
        let batches = BatchSpanProcessor::builder(exporter, Tokio)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_max_export_timeout(EXPORT_TIMEOUT)
                    .build(),
            )
            .build();
        let resource = Resource::builder()
            .with_service_name(export.service_name.clone())
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(batches)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("onepane");
        Ok((Self { provider }, tracer))
    }

    /// Sends the spans still queued and stops the exporter, waiting at most
    /// [`SHUTDOWN_WITHIN`]: a collector that does not answer never holds
    /// the process up for longer.
    pub async fn shutdown(self) {
        // The SDK's shutdown blocks its thread until the batch task (on
        // this runtime) is done, so it waits on a thread of its own.
        let (done, finished) = tokio::sync::oneshot::channel();
        let provider = self.provider;
        let spawned = std::thread::Builder::new()
            .name("trace-shutdown".to_owned())
            .spawn(move || {
                let _ = done.send(provider.shutdown());
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot send the last traces");
            return;
        }
        match tokio::time::timeout(SHUTDOWN_WITHIN, finished).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the last traces were not all sent"),
            Ok(Err(_)) => tracing::warn!("the last traces were not all sent"),
            Err(_) => tracing::warn!(
                waited_secs = SHUTDOWN_WITHIN.as_secs(),
                "the trace collector did not take the last traces in time; stopping without them"
            ),
        }
    }
}

/// The exporter's transport: our own reqwest client (rustls, already in
/// the build), rather than a second HTTP stack of the exporter's.
#[derive(Debug)]
struct Collector(reqwest::Client);

#[async_trait::async_trait]
impl HttpClient for Collector {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let response = self.0.execute(request).await?;
        let mut answer = Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = response.headers().clone();
        }
        let body = response.bytes().await?;
        Ok(answer.body(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_posted_under_v1_traces_of_the_endpoint() {
        let url = |endpoint: &str| {
            TraceExport {
                endpoint: endpoint.parse().unwrap(),
                service_name: "onepane".to_owned(),
            }
            .traces_url()
        };
        assert_eq!(
            url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            url("https://otel.example.com/otlp/"),
            "https://otel.example.com/otlp/v1/traces"
        );
        assert_eq!(
            url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
    }
}
