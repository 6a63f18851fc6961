//! Connections: a vendor source or a CRM sink of a workspace, its sealed
//! secrets, and pending OAuth authorizations.

use chrono::{DateTime, Utc};
use onepane_domain::workspace::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::rows::*;

pub(crate) const CONNECTION_COLUMNS: &str = "workspace_id, id, vendor_id, purpose, connector, name, schedule, \
    status, settings, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ConnectionRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Option<Uuid>,
    purpose: String,
    connector: String,
    name: String,
    schedule: Option<String>,
    status: String,
    settings: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = StoreError;
    fn try_from(r: ConnectionRow) -> Result<Self, StoreError> {
        let target = match (r.purpose.as_str(), r.vendor_id) {
            ("vendor-source", Some(v)) => ConnectionTarget::VendorSource {
                vendor_id: VendorId::from_uuid(v),
            },
            ("crm-sink", None) => ConnectionTarget::CrmSink {},
            (p, v) => {
                return Err(StoreError::corrupt(
                    "connection",
                    format!("purpose {p} with vendor {v:?}"),
                ));
            }
        };
        Ok(Connection {
            id: ConnectionId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            target,
            connector: parse("connection", &r.connector)?,
            name: parse("connection", &r.name)?,
            schedule: r.schedule,
            status: parse("connection", &r.status)?,
            settings: r.settings.0,
            created_at: r.created_at,
        })
    }
}

/// An authorization the partner started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The connection being authorized.
    pub connection_id: ConnectionId,
    /// The PKCE verifier, sealed.
    pub sealed_verifier: Vec<u8>,
    /// The redirect URI sent to the provider.
    pub redirect_uri: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}
