//! End-to-end tests: the real `onepane` binary on a fresh data directory,
//! and the server built in-process and spoken to over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod api_security;
mod backups;
mod bridge;
mod browser;
mod cli;
mod config;
mod conflicts;
mod connections;
mod demo;
mod digests;
mod faults;
mod harness;
mod http;
mod input;
mod leads;
mod openapi;
mod portal;
mod postgres;
mod prices;
mod scorecards;
mod serve;
mod settings;
mod sso;
mod sync_runs;
mod traces;
mod trust;
mod words;
mod world;
