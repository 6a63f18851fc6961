//! Vendors' assets, copied into each linked workspace.

use chrono::{DateTime, Utc};
use onepane_domain::campaign::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::*;

pub(crate) const ASSET_COLUMNS: &str =
    "workspace_id, id, vendor_id, external_id, content, created_at, updated_at";

table_row! {
    AssetRow => Asset {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => AssetId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        external_id: String => parse("asset", &external_id)?,
        content: Json<AssetContent> => content.0,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}
