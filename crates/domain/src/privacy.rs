//! A person's data rights: what a workspace holds about one person, and
//! what erasing it changed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::deal::DealRegistration;
use crate::ids::ConnectionId;
use crate::lead::Lead;
use crate::text::Email;

/// One push of a record to one of the workspace's CRMs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrmPushRecord {
    /// The CRM connection.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub connection_id: ConnectionId,
    /// `lead` or `deal`.
    pub entity: String,
    /// The lead's or registration's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub entity_id: Uuid,
    /// `pending`, `pushed` or `failed`.
    pub status: String,
    /// The CRM's own id for the record, when it said.
    pub remote_id: Option<String>,
    /// When it was last pushed.
    pub pushed_at: Option<DateTime<Utc>>,
}

/// Every record a workspace holds about one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalData {
    /// Whom the records are about.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub email: Email,
    /// The person's leads (from vendors, landing pages, by hand, synced).
    pub leads: Vec<Lead>,
    /// The deal registrations made from those leads.
    pub deal_registrations: Vec<DealRegistration>,
    /// Where those leads and registrations were pushed.
    pub crm_pushes: Vec<CrmPushRecord>,
}

/// What an erasure changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Erasure {
    /// Leads whose personal fields were removed.
    pub leads: usize,
    /// Registrations whose personal text was replaced.
    pub deal_registrations: usize,
    /// Vendors told (`lead.erased`), one event per lead they had.
    pub vendors_told: usize,
}
