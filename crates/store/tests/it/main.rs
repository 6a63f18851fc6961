//! The store's integration tests: one conformance suite run against SQLite
//! and PostgreSQL, segregation property tests on both, and PostgreSQL's
//! row-level security attacked with raw SQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod api_access;
mod clock;
mod conformance;
mod consent;
mod deliveries;
mod jobs;
mod mail;
mod migration;
mod rls;
mod scorecard;
mod segregation;
mod sso;
mod trust;

pub(crate) use onepane_store::on_both_backends;
