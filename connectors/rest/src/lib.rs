//! A declarative vendor source: a manifest (YAML or JSON) says where the
//! vendor's API is, what credentials it takes, and for each stream how to
//! page through it and map its records onto Onepane's entities. Adding a
//! vendor is writing a manifest; the crate's README documents the format.
//!
//! - [`Manifest`]: parsed once, checked completely (unknown fields, bad
//!   pointers and templates fail with the field's path).
//! - [`RestSource`]: the [`onepane_connector::Source`] that reads it, one
//!   request per page; next links never leave the base URL's origin. Its
//!   actions send deal registrations and answers to leads to the vendor's
//!   own system, and a `deal_status` stream reads the vendor's decisions
//!   back.

mod actions;
mod manifest;
mod paging;
mod pointer;
mod source;
mod template;

pub use manifest::{MANIFEST_VERSION, Manifest, ManifestError};
pub use source::RestSource;
