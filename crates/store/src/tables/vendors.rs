//! Vendor and distributor organizations.

use chrono::{DateTime, Utc};
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;

table_row! {
    VendorRow => Vendor {
        id: Uuid => VendorId::from_uuid(id),
        name: String => parse("vendor", &name)?,
        kind: String => parse("vendor", &kind)?,
        created_at: DateTime<Utc>,
    }
}
