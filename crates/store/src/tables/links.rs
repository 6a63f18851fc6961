//! The links between workspaces and vendors: tier, partner type, status.

use chrono::{DateTime, Utc};
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;

pub(crate) const LINK_COLUMNS: &str =
    "workspace_id, vendor_id, tier, partner_type, status, created_at, updated_at";

table_row! {
    LinkRow => VendorLink {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        tier: String => parse("vendor link", &tier)?,
        partner_type: String => parse("vendor link", &partner_type)?,
        status: String => parse("vendor link", &status)?,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}
