//! What happened in a workspace: notifications for people, audit events for
//! the record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AuditEventId, NotificationId, UserId, VendorId, WorkspaceId};
use crate::program::spelled_enum;
use crate::text::{LongText, Name};

spelled_enum!(
    /// What a notification is about.
    NotificationKind, "notification kind" {
        /// A vendor published a campaign this workspace can activate.
        NewCampaign => "new-campaign",
        /// A lead arrived (vendor-sent or from a landing page).
        NewLead => "new-lead",
        /// A vendor decided on a deal registration.
        DealDecided => "deal-decided",
        /// A deal registration's protection is about to end.
        DealExpiring => "deal-expiring",
        /// A connection needs the partner's attention.
        ConnectionAttention => "connection-attention",
        /// A vendor's system refused what the partner sent it, or it could
        /// not be sent.
        DeliveryRefused => "delivery-refused",
    }
);

spelled_enum!(
    /// What a vendor's webhook can be told about.
    WebhookEvent, "webhook event" {
        /// A partner registered a deal with the vendor.
        DealRegistrationSubmitted => "deal-registration.submitted",
        /// A partner activated one of the vendor's campaigns.
        CampaignActivated => "campaign.activated",
        /// A partner accepted a lead the vendor sent.
        LeadAccepted => "lead.accepted",
        /// A partner erased a person's data on their request: the vendor
        /// should erase its copy of the lead too.
        LeadErased => "lead.erased",
    }
);

/// A message to a workspace's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// What it is about.
    pub kind: NotificationKind,
    /// The vendor involved, if any.
    pub vendor_id: Option<VendorId>,
    /// A one-line title.
    pub title: Name,
    /// More detail.
    pub body: Option<LongText>,
    /// The in-app path to open (e.g. `/leads/{id}`).
    pub link: Option<String>,
    /// What the title says, as named values (`name`, `title`, `status`,
    /// `count`, ...), so each reader sees it in their own language; `title`
    /// is the same in English.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub args: serde_json::Value,
    /// When it was read.
    pub read_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A notification to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// What it is about.
    pub kind: NotificationKind,
    /// The vendor involved, if any.
    pub vendor_id: Option<VendorId>,
    /// A one-line title.
    pub title: Name,
    /// More detail.
    pub body: Option<LongText>,
    /// The in-app path to open.
    pub link: Option<String>,
    /// The title's named values, for other languages (see
    /// [`Notification::args`]).
    pub args: serde_json::Value,
}

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A member of the workspace.
    User(UserId),
    /// A vendor through its API.
    Vendor(VendorId),
    /// Onepane itself (sync, schedules).
    System,
    /// The operator through the admin CLI.
    Operator,
}

spelled_enum!(
    /// Whether an audited action read a record or changed it.
    AuditAccess, "audit access" {
        /// The actor read the record.
        Read => "read",
        /// The actor created, changed or removed it.
        Write => "write",
    }
);

/// An entry in a workspace's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Its id.
    pub id: AuditEventId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Who.
    pub actor: Actor,
    /// The API client the actor used (a vendor's OAuth client id), when
    /// known.
    pub client: Option<String>,
    /// What, as `noun.verb` (`lead.read`, `link.paused`).
    pub action: String,
    /// Read or write.
    pub access: AuditAccess,
    /// The kind of record acted on (`lead`, `deal-registration`, `link`).
    pub subject_kind: Option<String>,
    /// The id of the record acted on.
    pub subject: Option<String>,
    /// Details.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

impl AuditEvent {
    /// A new event by `actor` in `workspace_id`, now.
    pub fn new(workspace_id: WorkspaceId, actor: Actor, action: &str, access: AuditAccess) -> Self {
        AuditEvent {
            id: AuditEventId::new(),
            workspace_id,
            actor,
            client: None,
            action: action.to_owned(),
            access,
            subject_kind: None,
            subject: None,
            detail: serde_json::json!({}),
            at: Utc::now(),
        }
    }

    /// About the record `id` of kind `kind`.
    pub fn about(mut self, kind: &str, id: impl std::fmt::Display) -> Self {
        self.subject_kind = Some(kind.to_owned());
        self.subject = Some(id.to_string());
        self
    }

    /// With details.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}
