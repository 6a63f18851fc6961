//! The REST connector against local fakes of paginated vendor APIs.

mod example;
mod failures;
mod incremental;
mod manifest;
mod mapping;
mod pagination;
mod support;
