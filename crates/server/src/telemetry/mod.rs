//! Log output: structured `tracing` events on standard error, as text or
//! JSON; and, when a collector is configured, the spans as OTLP traces.

pub mod metrics;
pub mod traces;

use std::io::IsTerminal as _;
use std::str::FromStr;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

pub use traces::{Exporting, TraceExport, TracesError};

/// The filter when none is configured.
pub const DEFAULT_FILTER: &str = "info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A log format other than `text` or `json`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a log format; expected `text` or `json`")]
pub struct LogFormatError(String);

impl FromStr for LogFormat {
    type Err = LogFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(LogFormatError(s.to_owned())),
        }
    }
}

/// Where sqlx relays PostgreSQL's notices.
const POSTGRES_NOTICES: &str = "sqlx::postgres::notice";

/// Installs the process-wide subscriber: log lines as `filter` selects
/// them (env-filter syntax), and, when `traces` names a collector, every
/// span at INFO and above exported to it over OTLP, whatever the log filter.
/// Standard output is left to command results, so logs go to standard error.
///
/// With `traces`, this must run inside the tokio runtime (the exporter's
/// batches are sent from a task on it); the caller ends the export with
/// [`Exporting::shutdown`] before the runtime stops.
///
/// Does nothing when a subscriber is already installed (as in tests that
/// build several servers in one process).
pub fn init(
    format: LogFormat,
    filter: &str,
    traces: Option<&TraceExport>,
) -> Result<Option<Exporting>, TracesError> {
    if tracing::dispatcher::has_been_set() {
        return Ok(None);
    }
    // PostgreSQL says "relation ... already exists, skipping" at NOTICE
    // (sqlx: INFO) on every migration run: noise, and on a failed command a
    // second line beside the one error line. A filter that names sqlx
    // gets what it asks for.
    let quiet_notices = !filter.contains("sqlx");
    let notices = filter_fn(move |meta| {
        !(quiet_notices && meta.target() == POSTGRES_NOTICES && *meta.level() > Level::WARN)
    });
    // The configuration layer has already refused an invalid filter.
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    // Each output has its own filter: a quieter log does not thin the
    // traces, and a `debug` log does not flood the collector.
    let (exporting, spans) = match traces {
        Some(export) => {
            let (exporting, tracer) = Exporting::start(export)?;
            let spans = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(LevelFilter::INFO);
            (Some(exporting), Some(spans))
        }
        None => (None, None),
    };
    let installed = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(spans)
        .with(notices)
        .try_init();
    if installed.is_err() {
        // Another subscriber came first: keep it, and export nothing.
        if let Some(exporting) = exporting {
            tokio::spawn(exporting.shutdown());
        }
        return Ok(None);
    }
    if let Some(export) = traces {
        tracing::info!(
            endpoint = %export.traces_url(),
            service_name = %export.service_name,
            "exporting traces over OTLP"
        );
    }
    Ok(exporting)
}
