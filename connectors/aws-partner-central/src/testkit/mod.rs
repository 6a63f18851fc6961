//! A fake AWS Partner Central for tests, behind the `testkit` feature: the
//! Selling API on a loopback port ([`Aws`]), which checks every request
//! against AWS's published service model ([`model`], its string patterns
//! matched by [`pattern`]) and against its SigV4 signature made with the
//! test key ([`ACCESS_KEY_ID`], [`SECRET_ACCESS_KEY`]), and keeps
//! opportunities, tasks and invitations as AWS would.
//!
//! This crate's tests use it, and so can any crate's tests that reach AWS
//! through a connection (enable the feature in `[dev-dependencies]` only;
//! none of this belongs in a build that ships).
//!
//! A fake that cannot do what a test asks panics: that fails the test,
//! which is what the test wants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fake;
pub mod model;
pub mod pattern;

pub use fake::{Aws, Call, Invitation, Opportunity, check_signature};
pub use model::{Model, Problem};
pub use pattern::Pattern;

/// The access key id the fake accepts: AWS's documentation example key.
pub const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// Its secret.
pub const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
