//! A vendor source: the streams it offers, read a page at a time.

use crate::io::{BoxFuture, ConnectorError, Io};
use crate::record::{Page, Stream, StreamSpec};

/// Where to read from.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageRequest<'a> {
    /// The `next` of the page before; `None` for the first page of a pass.
    pub next: Option<&'a serde_json::Value>,
    /// For incremental streams: the highest cursor value of the last
    /// complete pass; only records after it are wanted.
    pub since: Option<&'a serde_json::Value>,
}

/// A vendor source. It builds requests and maps what comes back; `io`
/// sends them with the connection's credentials, rate limit and retries.
pub trait Source: Send + Sync + std::fmt::Debug {
    /// The streams it offers and how each is read.
    fn streams(&self) -> Vec<StreamSpec>;

    /// Reads one page of `stream`.
    fn read<'a>(
        &'a self,
        io: &'a Io,
        stream: Stream,
        request: PageRequest<'a>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>>;

    /// The request rate the provider allows, when the source knows it (a
    /// manifest states it); otherwise the engine's default applies.
    fn rate_limit(&self) -> Option<crate::RateLimit> {
        None
    }
}
