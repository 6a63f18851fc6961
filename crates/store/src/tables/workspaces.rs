//! Workspaces, and the public profile their landing pages show.

use chrono::{DateTime, Utc};
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::StoreError;
use crate::rows::*;
use crate::tx::{Tx, on_tx};

table_row! {
    WorkspaceRow => Workspace {
        id: Uuid => WorkspaceId::from_uuid(id),
        name: String => parse("workspace", &name)?,
        home_currency: String => parse("workspace", &home_currency)?,
        locale: String => parse("workspace", &locale)?,
        created_at: DateTime<Utc>,
    }
}

/// A workspace, read in `tx`; not found when there is none by that id.
pub(crate) async fn fetch_workspace(tx: &mut Tx, ws: WorkspaceId) -> Result<Workspace, StoreError> {
    let row: Option<Workspace> = select!(
        optional,
        WorkspaceRow,
        *tx,
        "SELECT id, name, home_currency, locale, created_at FROM workspaces WHERE id = $1",
        ws.as_uuid()
    )?;
    row.ok_or_else(|| StoreError::not_found("workspace", ws))
}

/// Refuses a workspace id that does not exist.
pub(crate) async fn ensure_workspace(
    tx: &mut Tx,
    workspace_id: WorkspaceId,
) -> Result<(), StoreError> {
    let found: Option<(Uuid,)> = on_tx!(*tx, c => {
        sqlx::query_as("SELECT id FROM workspaces WHERE id = $1")
            .bind(workspace_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
    });
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found("workspace", workspace_id))
}

/// What a workspace's landing pages show of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceProfile {
    /// The person to contact.
    pub contact_name: Option<String>,
    /// The email to write to.
    pub contact_email: Option<String>,
    /// The phone to call.
    pub contact_phone: Option<String>,
    /// The partner's website.
    pub website: Option<String>,
    /// Its logo (an https URL).
    pub logo_url: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProfileRow {
    contact_name: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    website: Option<String>,
    logo_url: Option<String>,
}

impl From<ProfileRow> for WorkspaceProfile {
    fn from(r: ProfileRow) -> Self {
        WorkspaceProfile {
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            contact_phone: r.contact_phone,
            website: r.website,
            logo_url: r.logo_url,
        }
    }
}

/// A workspace's public profile (empty when none is stored).
pub(crate) async fn read_profile(
    tx: &mut Tx,
    ws: WorkspaceId,
) -> Result<WorkspaceProfile, StoreError> {
    let row: Option<ProfileRow> = on_tx!(*tx, c => {
        sqlx::query_as(
            "SELECT contact_name, contact_email, contact_phone, website, logo_url \
             FROM workspace_profiles WHERE workspace_id = $1",
        )
        .bind(ws.as_uuid())
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(row.map(Into::into).unwrap_or_default())
}
