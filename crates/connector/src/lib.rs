//! The connector SDK: what every connector shares.
//!
//! - [`Source`] and [`Sink`]: a vendor source yields [`Record`]s a page at
//!   a time from a cursor; a CRM sink upserts batches of leads (and deals)
//!   by Onepane's id. A connector builds requests and maps records; [`Io`]
//!   sends them.
//! - [`HttpClient`]: the one outbound client, with timeouts, retries with
//!   backoff and jitter honouring `Retry-After` and rate-limit headers, a
//!   per-connection rate limit, a response size cap, no redirects, and the
//!   [`AddressPolicy`] that refuses loopback, private, link-local and
//!   metadata addresses after DNS resolution.
//! - [`Credentials`]: API key, bearer, basic, OAuth 2.0 client credentials
//!   and authorization code with PKCE, an AWS access key (the connector
//!   signs each request); [`oauth`] keeps tokens fresh with one refresh
//!   however many workers need it.
//! - `testkit` (the `testkit` feature, for connectors' tests only): an
//!   in-memory [`oauth::TokenStore`], connections to local fakes and leads
//!   to push, so each connector's tests need not copy them.

pub mod credentials;
pub mod http;
pub mod io;
pub mod net;
pub mod oauth;
/// Records, streams and pages (defined with the domain, so that the store
/// can write them).
pub mod record {
    pub use onepane_domain::record::*;
}
pub mod signature;
pub mod sink;
pub mod source;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use credentials::{AwsAccessKey, Credentials, KeyPlacement, Secret};
pub use http::{ClientConfig, Fetched, HttpClient, HttpError, RateLimit, RateLimiter};
pub use io::{Applied, Authorizer, BoxFuture, ConnectorError, Io, NoAuth, snippet};
pub use net::{AddressPolicy, Cidr, CidrError, OutboundError};
pub use record::{Page, Record, RecordError, SeenPage, SourceRecord, Stream, StreamSpec, SyncMode};
pub use sink::{DealPush, LeadPush, PushOutcome, Sink};
pub use source::{DealToRegister, Delivered, LeadAnswer, PageRead, PageRequest, Source};
