//! What the JSON API and the portal both do, as plain Rust: pricing a
//! workspace's items, acting on its connections, reading the audit log,
//! mailing registrations to vendors with no system. Each service has its
//! own error type; each front end maps it to its own answer.

pub mod audit;
pub mod connections;
pub mod decisions;
pub mod pricing;
pub mod scorecards;
