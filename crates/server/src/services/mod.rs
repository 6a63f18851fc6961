//! What the JSON API and the portal both do, as plain Rust: pricing a
//! workspace's items and acting on its connections. Each service has its
//! own error type; each front end maps it to its own answer.

pub mod connections;
pub mod pricing;
