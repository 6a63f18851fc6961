//! Vendors' assets, copied into each linked workspace.

use chrono::{DateTime, Utc};
use onepane_domain::campaign::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::rows::*;

pub(crate) const ASSET_COLUMNS: &str =
    "workspace_id, id, vendor_id, external_id, content, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AssetRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    external_id: String,
    content: Json<AssetContent>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<AssetRow> for Asset {
    type Error = StoreError;
    fn try_from(r: AssetRow) -> Result<Self, StoreError> {
        Ok(Asset {
            id: AssetId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            external_id: parse("asset", &r.external_id)?,
            content: r.content.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}
