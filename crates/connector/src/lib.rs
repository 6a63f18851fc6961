//! The connector SDK. For now: outbound HTTP that refuses loopback,
//! private, link-local and metadata addresses after DNS resolution, used by
//! every request Onepane makes to an address someone else chose (vendors'
//! webhooks today; connectors next).

pub mod net;

pub use net::{AddressPolicy, Cidr, CidrError, OutboundError};
