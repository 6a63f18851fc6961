//! What a partner submits to a vendor (a deal registration, an answer to
//! the vendor's lead) on its way to the vendor, however the vendor is
//! reached.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{ConnectionId, VendorId, WorkspaceId};
use crate::program::spelled_enum;

spelled_enum!(
    /// What is delivered.
    DeliveryKind, "delivery kind" {
        /// A deal registration.
        Deal => "deal",
        /// The partner's answer (accept or decline) to a lead the vendor sent.
        LeadAnswer => "lead-answer",
    }
);

spelled_enum!(
    /// How a delivery reached (or reaches) its vendor.
    DeliveryRoute, "delivery route" {
        /// The vendor's own system, through one of the partner's connections.
        VendorSystem => "vendor-system",
        /// Onepane's connector API: the vendor reads it there.
        OnepaneApi => "onepane-api",
        /// Mailed to the vendor's channel contact, decided by a link.
        Email => "email",
    }
);

spelled_enum!(
    /// What a mailed decision link decides.
    LinkDecision, "link decision" {
        /// Approve the registration.
        Approve => "approve",
        /// Reject it.
        Reject => "reject",
    }
);

/// A mailed registration's decision link, as the store keeps it (by the
/// digest of its token; the token is only in the mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionLink {
    /// The registering workspace.
    pub workspace_id: WorkspaceId,
    /// The registration it decides.
    pub registration_id: crate::ids::DealRegistrationId,
    /// The vendor it was mailed for.
    pub vendor_id: VendorId,
    /// What it decides.
    pub decision: LinkDecision,
    /// Until when it works.
    pub expires_at: DateTime<Utc>,
    /// When it (or its sibling) was used.
    pub used_at: Option<DateTime<Utc>>,
}

spelled_enum!(
    /// Where a delivery stands.
    SendStatus, "delivery status" {
        /// Waiting to be sent, or to be tried again.
        Pending => "pending",
        /// The vendor has it.
        Sent => "sent",
        /// The vendor refused it, with its message.
        Refused => "refused",
        /// It could not be sent after every attempt.
        Failed => "failed",
        /// The vendor cannot take it through Onepane (a lead answer to a
        /// vendor whose system takes none).
        Unsupported => "unsupported",
    }
);

impl Delivery {
    /// The key every attempt of this sending carries, so that the vendor
    /// takes a repeated attempt for the same one.
    pub fn idempotency_key(&self) -> String {
        format!("{}.{}", self.id, self.generation)
    }
}

/// The partner's answer to a vendor's lead, as it is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnswerToSend {
    /// Accepted, or declined.
    pub accepted: bool,
    /// The partner's reason, when it gave one.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One delivery to a vendor and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The workspace that submitted it.
    pub workspace_id: WorkspaceId,
    /// Its id (with `generation`, the idempotency key every attempt of a
    /// sending carries).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: Uuid,
    /// The vendor.
    pub vendor_id: VendorId,
    /// What it delivers.
    pub kind: DeliveryKind,
    /// The registration's or the lead's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subject_id: Uuid,
    /// How it went to the vendor, once known.
    pub route: Option<DeliveryRoute>,
    /// The connection it went through, for the vendor's own system.
    pub connection_id: Option<ConnectionId>,
    /// Where it stands.
    pub status: SendStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// How many times the partner sent it anew.
    pub generation: u32,
    /// When it is (next) due.
    pub due_at: DateTime<Utc>,
    /// The vendor's own id for what it received.
    pub vendor_ref: Option<String>,
    /// The vendor's message (a refusal's reason) or the last error.
    pub message: Option<String>,
    /// For a lead answer: what is answered.
    pub answer: Option<AnswerToSend>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}
