//! Vendor and distributor organizations.

use chrono::{DateTime, Utc};
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::StoreError;
use crate::rows::*;

#[derive(sqlx::FromRow)]
pub(crate) struct VendorRow {
    id: Uuid,
    name: String,
    kind: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<VendorRow> for Vendor {
    type Error = StoreError;
    fn try_from(r: VendorRow) -> Result<Self, StoreError> {
        Ok(Vendor {
            id: VendorId::from_uuid(r.id),
            name: parse("vendor", &r.name)?,
            kind: parse("vendor", &r.kind)?,
            created_at: r.created_at,
        })
    }
}
