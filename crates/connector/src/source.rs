//! A vendor source: the streams it offers, read a page at a time.

use crate::io::{BoxFuture, ConnectorError, Io};
use crate::record::{Page, SeenPage, Stream, StreamSpec};

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

    /// Reads one page of `stream`, and says when its answer is the same as
    /// `seen` (the same request's answer when it was last read whole): then
    /// its body is not parsed, its records not mapped, and the page is
    /// `seen`'s next page and total. Sources without fingerprints read the
    /// page.
    fn read_unless_seen<'a>(
        &'a self,
        io: &'a Io,
        stream: Stream,
        request: PageRequest<'a>,
        seen: Option<&'a SeenPage>,
    ) -> BoxFuture<'a, Result<PageRead, ConnectorError>> {
        let _ = seen;
        Box::pin(async move {
            Ok(PageRead {
                page: self.read(io, stream, request).await?,
                fingerprint: None,
                unchanged: None,
            })
        })
    }
}

/// A page as [`Source::read_unless_seen`] read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRead {
    /// The page: with its records, or, when `unchanged`, only where the
    /// next page starts and the total.
    pub page: Page,
    /// A fingerprint of the answer (a hash of its body), when the source
    /// makes one.
    pub fingerprint: Option<Vec<u8>>,
    /// The answer was `seen`'s: this many records, as they were, not
    /// mapped.
    pub unchanged: Option<u64>,
}
