//! The REST connector against local fakes of paginated vendor APIs.

// Helpers outside `#[test]` functions panic on a broken fixture too.
#![allow(clippy::unwrap_used)]

mod actions;
mod example;
mod failures;
mod incremental;
mod manifest;
mod mapping;
mod pagination;
mod support;
