//! A vendor source: the streams it offers, read a page at a time.

use onepane_domain::deal::{DealRegistration, DealStatus};
use onepane_domain::lead::Lead;

use crate::io::{BoxFuture, ConnectorError, Io};
use crate::record::{Page, SeenPage, Stream, StreamSpec};

/// A deal registration to send to the vendor's own system: only the part
/// meant for this vendor (its fields, its products).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealToRegister {
    /// The registration as the partner submitted it to this vendor.
    pub deal: DealRegistration,
    /// The vendor's id of the lead it comes from, when the vendor sent it.
    pub lead_external_id: Option<String>,
    /// The same on every attempt: where the vendor takes one (a header, a
    /// client token), a repeated send is not a second record.
    pub idempotency_key: String,
}

/// The partner's answer to a lead the vendor sent, to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadAnswer {
    /// The lead as it stands (its `external_id` is the vendor's id).
    pub lead: Lead,
    /// Accepted, or declined.
    pub accepted: bool,
    /// The partner's reason, when it gave one.
    pub reason: Option<String>,
    /// The same on every attempt.
    pub idempotency_key: String,
}

/// What became of a send the vendor's system answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// The vendor has it: its own id for the record, and the status it
    /// reported at once, when it did.
    Sent {
        /// The vendor's id.
        vendor_ref: Option<String>,
        /// The status the vendor gave in its answer.
        status: Option<DealStatus>,
    },
    /// The vendor refused it, for a reason the partner must read (a
    /// missing field, a duplicate, a customer it will not protect).
    Refused {
        /// The vendor's message.
        message: String,
    },
}

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

    /// Whether the vendor's system takes deal registrations through this
    /// source.
    fn registers_deals(&self) -> bool {
        false
    }

    /// Sends a deal registration to the vendor's system (only when
    /// [`Source::registers_deals`]). A transient failure is an error the
    /// engine retries; a refusal is [`Delivered::Refused`].
    fn register_deal<'a>(
        &'a self,
        _io: &'a Io,
        _deal: &'a DealToRegister,
    ) -> BoxFuture<'a, Result<Delivered, ConnectorError>> {
        Box::pin(async {
            Err(ConnectorError::Config(
                "this vendor's system takes no deal registrations".into(),
            ))
        })
    }

    /// Whether the vendor's system takes the partner's answers to its leads.
    fn answers_leads(&self) -> bool {
        false
    }

    /// Sends the partner's answer to a lead (only when
    /// [`Source::answers_leads`]).
    fn answer_lead<'a>(
        &'a self,
        _io: &'a Io,
        _answer: &'a LeadAnswer,
    ) -> BoxFuture<'a, Result<Delivered, ConnectorError>> {
        Box::pin(async {
            Err(ConnectorError::Config(
                "this vendor's system takes no answers to leads".into(),
            ))
        })
    }

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
