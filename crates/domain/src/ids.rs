//! Identifiers: UUIDv7 newtypes, one per entity, so a lead id can never be
//! passed where a workspace id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The input was not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {kind} id (expected a UUID)")]
pub struct IdParseError {
    kind: &'static str,
    input: String,
}

macro_rules! id_type {
    ($(#[doc = $doc:literal])* $name:ident, $kind:literal) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an id read back from storage.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| IdParseError {
                    kind: $kind,
                    input: s.to_owned(),
                })
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::id_schema(&[$($doc),*])
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

id_type!(/// A partner organization's workspace.
    WorkspaceId, "workspace");
id_type!(/// A person who can log in.
    UserId, "user");
id_type!(/// A vendor or distributor organization.
    VendorId, "vendor");
id_type!(/// A configured connector (vendor source or CRM sink) in a workspace.
    ConnectionId, "connection");
id_type!(/// A lead in a workspace.
    LeadId, "lead");
id_type!(/// A vendor-published campaign in a workspace.
    CampaignId, "campaign");
id_type!(/// A workspace's activation of a campaign.
    ActivationId, "activation");
id_type!(/// A marketing asset.
    AssetId, "asset");
id_type!(/// A vendor's price list.
    PriceListId, "price list");
id_type!(/// One item of a price list.
    PriceItemId, "price item");
id_type!(/// One of a workspace's sell rules.
    SellRuleId, "sell rule");
id_type!(/// A deal registration submitted to one vendor.
    DealRegistrationId, "deal registration");
id_type!(/// A notification for a workspace.
    NotificationId, "notification");
id_type!(/// An entry in a workspace's audit log.
    AuditEventId, "audit event");
id_type!(/// A vendor's OAuth2 API client (its `client_id`).
    ApiClientId, "API client id");
id_type!(/// A partner user's personal access token.
    AccessTokenId, "access token");
id_type!(/// One event queued for, or delivered to, a vendor's webhook.
    WebhookDeliveryId, "webhook delivery");
id_type!(/// A durable job: one run of work on a connection.
    JobId, "job");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v7_and_time_ordered() {
        let a = LeadId::new();
        let b = LeadId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a <= b);
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let id = WorkspaceId::new();
        assert_eq!(id.to_string().parse::<WorkspaceId>(), Ok(id));
        let err = "not-a-uuid".parse::<WorkspaceId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`not-a-uuid` is not a valid workspace id (expected a UUID)"
        );
    }
}
