//! Integration tests: the Salesforce sink against a fake org that answers
//! as Salesforce's REST API documentation says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;
mod fixtures;

mod leads;
mod oauth;
mod settings;
