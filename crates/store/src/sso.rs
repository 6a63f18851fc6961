//! Single sign-on: each workspace's OpenID Connect provider, and the
//! sign-ins in progress.
//!
//! A workspace reads and writes its own configuration. Logging in happens
//! before a workspace is known, so the system scope finds a configuration
//! by the email domain it serves and keeps the sign-ins in progress.

use chrono::{DateTime, Utc};
use onepane_domain::WorkspaceId;
use onepane_domain::text::EmailDomain;
use uuid::Uuid;

use crate::access::SystemStore;
use crate::partner::PartnerStore;
use crate::rows::parse;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

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

const CONFIG_COLUMNS: &str =
    "workspace_id, issuer, client_id, sealed_client_secret, email_domain, enabled, updated_at";

#[derive(sqlx::FromRow)]
struct ConfigRow {
    workspace_id: Uuid,
    issuer: String,
    client_id: String,
    sealed_client_secret: Vec<u8>,
    email_domain: String,
    enabled: bool,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ConfigRow> for SsoConfig {
    type Error = StoreError;
    fn try_from(r: ConfigRow) -> Result<Self, StoreError> {
        Ok(SsoConfig {
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            issuer: r.issuer,
            client_id: r.client_id,
            sealed_client_secret: r.sealed_client_secret,
            email_domain: parse("single sign-on configuration", &r.email_domain)?,
            enabled: r.enabled,
            updated_at: r.updated_at,
        })
    }
}

impl PartnerStore {
    /// The workspace's single sign-on configuration, if it has one.
    pub async fn sso_config(&self) -> Result<Option<SsoConfig>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<ConfigRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("SELECT {CONFIG_COLUMNS} FROM sso_configs WHERE workspace_id = $1"))
                .bind(self.workspace_id().as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        row.map(SsoConfig::try_from).transpose()
    }

    /// Saves the workspace's single sign-on configuration. A conflict when
    /// another workspace serves the email domain; a broken rule when there
    /// is no client secret, new or stored.
    pub async fn put_sso_config(&self, update: &SsoConfigUpdate<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let ws = self.workspace_id().as_uuid();
        let at = now();
        let taken = || {
            format!(
                "another workspace signs in the email domain {} already",
                update.email_domain
            )
        };
        let written = on_tx!(tx, c => {
            match update.sealed_client_secret {
                Some(secret) => sqlx::query(
                    "INSERT INTO sso_configs (workspace_id, issuer, client_id, sealed_client_secret, email_domain, enabled, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (workspace_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, \
                     sealed_client_secret = excluded.sealed_client_secret, email_domain = excluded.email_domain, \
                     enabled = excluded.enabled, updated_at = excluded.updated_at",
                )
                .bind(ws)
                .bind(update.issuer)
                .bind(update.client_id)
                .bind(secret)
                .bind(update.email_domain.as_str())
                .bind(update.enabled)
                .bind(at)
                .execute(&mut *c)
                .await,
                None => sqlx::query(
                    "UPDATE sso_configs SET issuer = $2, client_id = $3, email_domain = $4, enabled = $5, updated_at = $6 \
                     WHERE workspace_id = $1",
                )
                .bind(ws)
                .bind(update.issuer)
                .bind(update.client_id)
                .bind(update.email_domain.as_str())
                .bind(update.enabled)
                .bind(at)
                .execute(&mut *c)
                .await,
            }
            .map_err(|e| StoreError::conflict_on_unique(e, taken))?
            .rows_affected()
        });
        if written == 0 {
            return Err(StoreError::Rule(
                "a client secret is needed the first time single sign-on is set up".into(),
            ));
        }
        tx.commit().await
    }
}

impl SystemStore {
    /// The enabled single sign-on configuration serving an email domain.
    pub async fn sso_config_for_domain(
        &self,
        domain: &EmailDomain,
    ) -> Result<Option<SsoConfig>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<ConfigRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {CONFIG_COLUMNS} FROM sso_configs WHERE email_domain = $1 AND enabled"
            ))
            .bind(domain.as_str())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.map(SsoConfig::try_from).transpose()
    }

    /// A workspace's single sign-on configuration, enabled or not.
    pub async fn sso_config_of(
        &self,
        workspace_id: WorkspaceId,
    ) -> Result<Option<SsoConfig>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<ConfigRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("SELECT {CONFIG_COLUMNS} FROM sso_configs WHERE workspace_id = $1"))
                .bind(workspace_id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        row.map(SsoConfig::try_from).transpose()
    }

    /// Keeps a sign-in being started, and forgets those that expired.
    pub async fn start_sso_login(&self, new: &NewSsoLogin<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
                .bind(at)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO sso_logins (workspace_id, state_digest, nonce_digest, sealed_verifier, \
                 browser_digest, next, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new.workspace_id.as_uuid())
            .bind(new.state_digest)
            .bind(new.nonce_digest)
            .bind(new.sealed_verifier)
            .bind(new.browser_digest)
            .bind(new.next)
            .bind(new.expires_at)
            .bind(at)
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, || "the sign-in exists".to_owned()))?;
        });
        tx.commit().await
    }

    /// Takes a sign-in in progress by its state's digest, once: `None` when
    /// it is unknown, taken already or expired.
    pub async fn take_sso_login(
        &self,
        state_digest: &[u8],
    ) -> Result<Option<SsoLogin>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        type Row = (Uuid, Vec<u8>, Vec<u8>, Vec<u8>, String, DateTime<Utc>);
        let row: Option<Row> = on_tx!(tx, c => {
            sqlx::query_as(
                "DELETE FROM sso_logins WHERE state_digest = $1 \
                 RETURNING workspace_id, nonce_digest, sealed_verifier, browser_digest, next, expires_at",
            )
            .bind(state_digest)
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(row.filter(|r| r.5 > now()).map(
            |(ws, nonce_digest, sealed_verifier, browser_digest, next, expires_at)| SsoLogin {
                workspace_id: WorkspaceId::from_uuid(ws),
                nonce_digest,
                sealed_verifier,
                browser_digest,
                next,
                expires_at,
            },
        ))
    }
}
