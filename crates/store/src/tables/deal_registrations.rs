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

table_row! {
    DealRow => DealRegistration {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => DealRegistrationId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        lead_id: Option<Uuid> => lead_id.map(LeadId::from_uuid),
        details: Json<DealDetails> => details.0,
        status: String => parse("deal registration", &status)?,
        reason: Option<String> => parse_opt::<LongText>("deal registration", reason.as_deref())?,
        protection_expires_on: Option<NaiveDate>,
        extra_discount: Option<DbDecimal> => extra_discount
            .map(|d| Percent::new(d.0))
            .transpose()
            .map_err(|e| StoreError::corrupt("deal registration", e))?,
        submitted_by: Option<Uuid> => submitted_by.map(UserId::from_uuid),
        submitted_at: DateTime<Utc>,
        decided_at: Option<DateTime<Utc>>,
        updated_at: DateTime<Utc>,
    }
}
