//! The links between workspaces and vendors: tier, partner type, status.

use chrono::{DateTime, Utc};
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::StoreError;
use crate::rows::*;

pub(crate) const LINK_COLUMNS: &str =
    "workspace_id, vendor_id, tier, partner_type, status, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    workspace_id: Uuid,
    vendor_id: Uuid,
    tier: String,
    partner_type: String,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<LinkRow> for VendorLink {
    type Error = StoreError;
    fn try_from(r: LinkRow) -> Result<Self, StoreError> {
        Ok(VendorLink {
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            tier: parse("vendor link", &r.tier)?,
            partner_type: parse("vendor link", &r.partner_type)?,
            status: parse("vendor link", &r.status)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}
