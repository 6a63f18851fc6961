//! Single sign-on: each workspace's OpenID Connect provider, and the
//! sign-ins in progress.
//!
//! A workspace reads and writes its own configuration. Logging in happens
//! before a workspace is known, so the system scope finds a configuration
//! by the email domain it serves and keeps the sign-ins in progress.

use chrono::{DateTime, Utc};
use onepane_domain::text::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;

/// A workspace's single sign-on provider.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoConfig {
    /// The workspace it signs members into.
    pub workspace_id: WorkspaceId,
    /// The provider's issuer identifier (an https URL).
    pub issuer: String,
    /// The client id the provider gave the portal.
    pub client_id: String,
    /// The client secret, sealed by the server.
    pub sealed_client_secret: Vec<u8>,
    /// Logins with emails of this domain go to this provider.
    pub email_domain: EmailDomain,
    /// Whether logins go to it now.
    pub enabled: bool,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for SsoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoConfig")
            .field("workspace_id", &self.workspace_id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("email_domain", &self.email_domain)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// A workspace's single sign-on settings, as its admin saves them.
#[derive(Clone)]
pub struct SsoConfigUpdate<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// A new sealed client secret; `None` keeps the stored one.
    pub sealed_client_secret: Option<&'a [u8]>,
    /// The email domain it serves.
    pub email_domain: &'a EmailDomain,
    /// Whether logins go to it.
    pub enabled: bool,
}

impl std::fmt::Debug for SsoConfigUpdate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoConfigUpdate")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("email_domain", &self.email_domain)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// A sign-in being started.
#[derive(Debug, Clone)]
pub struct NewSsoLogin<'a> {
    /// The workspace whose provider it goes to.
    pub workspace_id: WorkspaceId,
    /// The digest of the `state` sent to the provider.
    pub state_digest: &'a [u8],
    /// The digest of the `nonce` sent to the provider.
    pub nonce_digest: &'a [u8],
    /// The PKCE verifier, sealed.
    pub sealed_verifier: &'a [u8],
    /// The digest of the cookie that binds it to the browser.
    pub browser_digest: &'a [u8],
    /// The local path to go to once logged in.
    pub next: &'a str,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// A sign-in in progress, taken when the provider sends the browser back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLogin {
    /// The workspace whose provider it went to.
    pub workspace_id: WorkspaceId,
    /// The digest of the `nonce` sent.
    pub nonce_digest: Vec<u8>,
    /// The PKCE verifier, sealed.
    pub sealed_verifier: Vec<u8>,
    /// The digest of the browser's binding cookie.
    pub browser_digest: Vec<u8>,
    /// The local path to go to once logged in.
    pub next: String,
    /// When it stopped or stops being accepted.
    pub expires_at: DateTime<Utc>,
}

pub(crate) const CONFIG_COLUMNS: &str =
    "workspace_id, issuer, client_id, sealed_client_secret, email_domain, enabled, updated_at";

table_row! {
    ConfigRow => SsoConfig {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        issuer: String,
        client_id: String,
        sealed_client_secret: Vec<u8>,
        email_domain: String => parse("single sign-on configuration", &email_domain)?,
        enabled: bool,
        updated_at: DateTime<Utc>,
    }
}
