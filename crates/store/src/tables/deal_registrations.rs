//! Deal registrations: an opportunity a partner registers with a vendor.

use chrono::{DateTime, NaiveDate, Utc};
use onepane_domain::deal::*;
use onepane_domain::price::*;
use onepane_domain::text::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::codec::DbDecimal;
use crate::rows::*;

pub(crate) const DEAL_COLUMNS: &str = "workspace_id, id, vendor_id, lead_id, details, status, \
    reason, protection_expires_on, extra_discount, submitted_by, submitted_at, decided_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct DealRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    lead_id: Option<Uuid>,
    details: Json<DealDetails>,
    status: String,
    reason: Option<String>,
    protection_expires_on: Option<NaiveDate>,
    extra_discount: Option<DbDecimal>,
    submitted_by: Option<Uuid>,
    submitted_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DealRow> for DealRegistration {
    type Error = StoreError;
    fn try_from(r: DealRow) -> Result<Self, StoreError> {
        Ok(DealRegistration {
            id: DealRegistrationId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            lead_id: r.lead_id.map(LeadId::from_uuid),
            details: r.details.0,
            status: parse("deal registration", &r.status)?,
            reason: parse_opt::<LongText>("deal registration", r.reason.as_deref())?,
            protection_expires_on: r.protection_expires_on,
            extra_discount: r
                .extra_discount
                .map(|d| Percent::new(d.0))
                .transpose()
                .map_err(|e| StoreError::corrupt("deal registration", e))?,
            submitted_by: r.submitted_by.map(UserId::from_uuid),
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            updated_at: r.updated_at,
        })
    }
}
