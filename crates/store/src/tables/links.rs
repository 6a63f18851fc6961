//! The links between workspaces and vendors: tier, partner type, status.

use chrono::{DateTime, Utc};
use onepane_domain::text::Region;
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;

pub(crate) const LINK_COLUMNS: &str =
    "workspace_id, vendor_id, tier, partner_type, regions, status, created_at, updated_at";

table_row! {
    LinkRow => VendorLink {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        tier: String => parse("vendor link", &tier)?,
        partner_type: String => parse("vendor link", &partner_type)?,
        regions: sqlx::types::Json<Vec<Region>> => regions.0,
        status: String => parse("vendor link", &status)?,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

/// Sets a link's status in `tx`; the link as it now stands, or `None` when
/// there is no such link (or the scope may not change it).
pub(crate) async fn update_link_status(
    tx: &mut crate::tx::Tx,
    ws: WorkspaceId,
    vendor: VendorId,
    status: LinkStatus,
) -> Result<Option<VendorLink>, crate::StoreError> {
    select!(
        optional,
        LinkRow,
        *tx,
        &format!(
            "UPDATE vendor_links SET status = $3, updated_at = $4 \
             WHERE workspace_id = $1 AND vendor_id = $2 RETURNING {LINK_COLUMNS}"
        ),
        ws.as_uuid(),
        vendor.as_uuid(),
        status.as_str(),
        crate::now()
    )
}
