//! Organizations and people: workspaces, users, memberships, vendors, the
//! links between workspaces and vendors, and connections.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, UserId, VendorId, WorkspaceId};
use crate::money::Currency;
use crate::program::{LinkStatus, PartnerType, Role, Tier, VendorKind, spelled_enum};
use crate::text::{Email, Locale, Name, Region};

/// A partner organization's workspace: everything the partner owns lives in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// Its id.
    pub id: WorkspaceId,
    /// The partner organization's name.
    pub name: Name,
    /// The currency margins are reported in.
    pub home_currency: Currency,
    /// The default language of the workspace.
    pub locale: Locale,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What an operator gives to create a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    /// The partner organization's name.
    pub name: Name,
    /// The currency margins are reported in.
    pub home_currency: Currency,
    /// The default language.
    pub locale: Locale,
    /// The first owner.
    pub owner_email: Email,
}

/// A person who can log in; may be a member of several workspaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The login email.
    pub email: Email,
    /// The display name, when known.
    pub display_name: Option<Name>,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
}

/// A user's role in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The member.
    pub user_id: UserId,
    /// The member's email (denormalized for listing).
    pub email: Email,
    /// What the member may do.
    pub role: Role,
    /// When the user joined.
    pub created_at: DateTime<Utc>,
}

/// A vendor or distributor organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vendor {
    /// Its id.
    pub id: VendorId,
    /// The organization's name.
    pub name: Name,
    /// Vendor or distributor.
    pub kind: VendorKind,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The relationship between one workspace and one vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorLink {
    /// The partner's workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor.
    pub vendor_id: VendorId,
    /// The partner's program tier with this vendor.
    pub tier: Tier,
    /// The partner's route to market with this vendor.
    pub partner_type: PartnerType,
    /// The regions the vendor gives the partner: content whose audience
    /// names regions reaches it when one of them is here.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// Invited, active or ended.
    pub status: LinkStatus,
    /// When the link was made.
    pub created_at: DateTime<Utc>,
    /// When tier or status last changed.
    pub updated_at: DateTime<Utc>,
}

/// What a connection does for the workspace, and for which vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConnectionTarget {
    /// Pulls a vendor's leads, campaigns, assets and prices into the workspace.
    VendorSource {
        /// The vendor pulled from.
        vendor_id: VendorId,
    },
    /// Pushes the workspace's leads (and deals) to the partner's CRM. (A
    /// struct variant, so that `deny_unknown_fields` refuses a `vendor_id`.)
    CrmSink {},
}

impl ConnectionTarget {
    /// The vendor a source pulls from.
    pub fn vendor_id(&self) -> Option<VendorId> {
        match self {
            ConnectionTarget::VendorSource { vendor_id } => Some(*vendor_id),
            ConnectionTarget::CrmSink {} => None,
        }
    }

    /// `vendor-source` or `crm-sink`.
    pub fn purpose(&self) -> &'static str {
        match self {
            ConnectionTarget::VendorSource { .. } => "vendor-source",
            ConnectionTarget::CrmSink {} => "crm-sink",
        }
    }
}

spelled_enum!(
    /// Whether a connection is working.
    ConnectionStatus, "connection status" {
        /// Runs on its schedule.
        Active => "active",
        /// Switched off by the partner.
        Paused => "paused",
        /// The provider refused the stored credentials; the partner must reconnect.
        NeedsReauthorization => "needs-reauthorization",
        /// The last runs failed.
        Failing => "failing",
    }
);

/// A configured connector in a workspace, for one vendor or the partner's CRM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Its id.
    pub id: ConnectionId,
    /// The workspace it belongs to.
    pub workspace_id: WorkspaceId,
    /// Source (of which vendor) or sink.
    pub target: ConnectionTarget,
    /// The connector kind (`rest`, `csv`, `hubspot`, `salesforce`, `webhook`, ...).
    pub connector: Name,
    /// A name the partner recognises.
    pub name: Name,
    /// Cron expression for scheduled runs, when scheduled.
    pub schedule: Option<String>,
    /// Whether it works.
    pub status: ConnectionStatus,
    /// Non-secret settings for the connector (secrets are stored sealed, apart).
    pub settings: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What a partner gives to create a connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    /// Source (of which vendor) or sink.
    pub target: ConnectionTarget,
    /// The connector kind.
    pub connector: Name,
    /// A name the partner recognises.
    pub name: Name,
    /// Cron expression for scheduled runs.
    pub schedule: Option<String>,
    /// Non-secret settings.
    #[serde(default)]
    pub settings: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_cannot_name_a_vendor() {
        let sink: ConnectionTarget = serde_json::from_str(r#"{"purpose":"crm-sink"}"#).unwrap();
        assert_eq!(sink, ConnectionTarget::CrmSink {});
        let with_vendor = serde_json::from_str::<ConnectionTarget>(&format!(
            r#"{{"purpose":"crm-sink","vendor_id":"{}"}}"#,
            VendorId::new()
        ));
        assert!(with_vendor.is_err());
        let source: Result<ConnectionTarget, _> =
            serde_json::from_str(r#"{"purpose":"vendor-source"}"#);
        assert!(source.is_err(), "a source names its vendor");
    }
}
