//! Integration tests: the HubSpot sink against a fake that follows HubSpot's
//! published OpenAPI specs; every request it sends is checked against them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;
mod fixtures;
mod openapi;

mod contacts;
mod deals;
mod erasure;
mod oauth;
mod settings;
mod validator;
