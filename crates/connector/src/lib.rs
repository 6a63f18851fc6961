//! The connector SDK: what every connector shares. Outbound HTTP that
//! refuses loopback, private, link-local and metadata addresses after DNS
//! resolution (used by every request Onepane makes to an address someone
//! else chose: vendors' webhooks and connectors), and the shared HTTP client
//! connectors send through, with timeouts, retries, rate limits and a
//! response size cap.

pub mod http;
pub mod net;

pub use http::{ClientConfig, Fetched, HttpClient, HttpError, RateLimit, RateLimiter};
pub use net::{AddressPolicy, Cidr, CidrError, OutboundError};
