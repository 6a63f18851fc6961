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
    /// Its privacy notice (an https URL), linked from every landing page;
    /// a campaign cannot be activated without one.
    pub privacy_notice_url: Option<String>,
    /// The text of the marketing consent checkbox landing pages show
    /// (unticked); no checkbox without it.
    pub marketing_consent_text: Option<String>,
    /// The version of that text: it moves by one each time the text
    /// changes (0 while it was never set). Kept by the store:
    /// [`PartnerStore::put_profile`](crate::PartnerStore::put_profile) ignores it.
    pub marketing_consent_version: u32,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProfileRow {
    contact_name: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    website: Option<String>,
    logo_url: Option<String>,
    privacy_notice_url: Option<String>,
    marketing_consent_text: Option<String>,
    marketing_consent_version: i32,
}

impl TryFrom<ProfileRow> for WorkspaceProfile {
    type Error = StoreError;
    fn try_from(r: ProfileRow) -> Result<Self, StoreError> {
        Ok(WorkspaceProfile {
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            contact_phone: r.contact_phone,
            website: r.website,
            logo_url: r.logo_url,
            privacy_notice_url: r.privacy_notice_url,
            marketing_consent_text: r.marketing_consent_text,
            marketing_consent_version: u32::try_from(r.marketing_consent_version)
                .map_err(|e| StoreError::corrupt("workspace profile", e))?,
        })
    }
}

/// A workspace's public profile (empty when none is stored).
pub(crate) async fn read_profile(
    tx: &mut Tx,
    ws: WorkspaceId,
) -> Result<WorkspaceProfile, StoreError> {
    let row: Option<ProfileRow> = on_tx!(*tx, c => {
        sqlx::query_as(
            "SELECT contact_name, contact_email, contact_phone, website, logo_url, \
             privacy_notice_url, marketing_consent_text, marketing_consent_version \
             FROM workspace_profiles WHERE workspace_id = $1",
        )
        .bind(ws.as_uuid())
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(row.map(TryInto::try_into).transpose()?.unwrap_or_default())
}

/// The kinds of image a workspace's uploaded logo may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoType {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// SVG (checked to hold no script or outside reference).
    Svg,
}

impl LogoType {
    /// Its media type, as stored and served.
    pub fn content_type(self) -> &'static str {
        match self {
            LogoType::Png => "image/png",
            LogoType::Jpeg => "image/jpeg",
            LogoType::Svg => "image/svg+xml",
        }
    }

    /// The type of a stored media type.
    pub fn from_content_type(s: &str) -> Option<LogoType> {
        match s {
            "image/png" => Some(LogoType::Png),
            "image/jpeg" => Some(LogoType::Jpeg),
            "image/svg+xml" => Some(LogoType::Svg),
            _ => None,
        }
    }
}

/// The largest logo a workspace may upload.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;

/// A workspace's uploaded logo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceLogo {
    /// What kind of image it is.
    pub kind: LogoType,
    /// The image.
    pub bytes: Vec<u8>,
    /// The digest of the image, naming its version.
    pub digest: Vec<u8>,
}
