//! What the JSON API and the portal both do, as plain Rust: pricing a
//! workspace's items, acting on its connections, reading the audit log,
//! mailing registrations to vendors with no system, telling members their
//! deadlines by mail. Each service has its
//! own error type; each front end maps it to its own answer.

pub mod audit;
pub mod clock_mail;
pub mod connections;
pub mod decisions;
pub mod pricing;
pub mod scorecards;
