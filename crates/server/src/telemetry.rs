//! Log output: structured `tracing` events on standard error, as text or JSON.

use std::io::IsTerminal as _;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// The filter when none is configured.
pub const DEFAULT_FILTER: &str = "info";

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
