//! Integration tests: the AWS Partner Central source against the crate's
//! fake (`testkit`, enabled by the crate's dev-dependency on itself), which
//! checks every request against AWS's published service model and its
//! SigV4 signature, and answers as the model says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;

mod answers;
mod deal_status;
mod deals;
mod leads;
mod settings;
mod validator;
