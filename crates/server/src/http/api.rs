//! The JSON API: the connector API for vendors (`/api/v1/vendor`) and the
//! partner API (`/api/v1`). The caller's own scope comes only from its
//! token; the handlers open the store in that scope and nothing else.

pub mod connections;
pub mod partner;
pub mod scorecards;
pub mod vendor;

use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::ApiError;

/// The most rows one page returns.
pub const MAX_PAGE: u32 = 500;
/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest price-list page.
pub const MAX_ITEM_PAGE: u32 = 5_000;

/// A page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Listing<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub next_cursor: Option<String>,
}

/// The page size asked for: 1 to `max`, else 400.
pub fn page_size(limit: Option<u32>, max: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE.min(max)),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "limit",
            format!("`limit` must be between 1 and {max}, not {n}"),
        )),
    }
}
