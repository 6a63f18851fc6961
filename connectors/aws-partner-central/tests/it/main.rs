//! Integration tests: the AWS Partner Central source against a fake that
//! checks every request against AWS's published service model and its
//! SigV4 signature, and answers as the model says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;
mod fixtures;
mod model;
mod pattern;

mod answers;
mod deal_status;
mod deals;
mod leads;
mod settings;
mod validator;
