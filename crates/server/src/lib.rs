//! Onepane's server, as a library: the `onepane` binary (crate
//! `onepane-cli`) parses the command line and calls in, and tests build the
//! same [`startup::Application`] in-process.

pub mod auth;
pub mod config;
pub mod data_dir;
pub mod http;
pub mod mail;
pub mod rate_limit;
pub mod report;
pub mod router;
pub mod seal;
pub mod secret_key;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod webhooks;

pub use config::Config;
pub use startup::{Application, StartupError};
