//! Log output: structured `tracing` events on standard error, as text or JSON.

pub mod metrics;

use std::io::IsTerminal as _;
use std::str::FromStr;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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

/// Installs the process-wide subscriber. `filter` uses env-filter syntax.
/// Standard output is left to command results, so logs go to standard error.
///
/// Does nothing when a subscriber is already installed (as in tests that
/// build several servers in one process).
pub fn init(format: LogFormat, filter: &str) {
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.finish().with(notices).try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .finish()
            .with(notices)
            .try_init(),
    };
    // An error here only means a subscriber is already in place: keep it.
    drop(installed);
}
