//! Onepane's server and command-line tool, as a library: `main.rs` only
//! parses the command line and calls [`cli::main`], and tests build the same
//! [`startup::Application`] in-process.

pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod mail;
pub mod report;
pub mod seal;
pub mod secret_key;
pub mod startup;
pub mod telemetry;
pub mod web;
pub mod webhooks;

pub use config::Config;
pub use startup::{Application, StartupError};
