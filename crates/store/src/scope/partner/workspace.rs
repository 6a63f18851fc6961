//! A workspace's people and settings: members, invitations, access tokens, profile, currency, single sign-on.

use chrono::{DateTime, Utc};
use onepane_domain::text::*;
use onepane_domain::*;

use crate::rows::*;
use crate::tables::accounts::*;
use crate::tables::credentials::*;
use crate::tables::sso::*;
use crate::tables::workspaces::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

impl PartnerStore {
    /// Invites someone to the workspace by a link (the digest of its token).
    pub async fn invite(
        &self,
        email: &Email,
        role: Role,
        digest: &[u8],
        invited_by: Option<UserId>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO invitations (workspace_id, digest, email, role, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(digest)
            .bind(email.as_str())
            .bind(role.as_str())
            .bind(invited_by.map(|u| u.as_uuid()))
            .bind(now())
            .bind(expires_at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Invitations not yet accepted and not expired.
    pub async fn pending_invitations(&self) -> Result<Vec<PendingInvitation>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(String, String, DateTime<Utc>)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT email, role, expires_at FROM invitations \
                 WHERE workspace_id = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY email",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(now())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(email, role, expires_at)| {
                Ok(PendingInvitation {
                    email: parse("invitation", &email)?,
                    role: parse("invitation", &role)?,
                    expires_at,
                })
            })
            .collect()
    }

    /// The workspace's public profile.
    pub async fn profile(&self) -> Result<WorkspaceProfile, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let profile = read_profile(&mut tx, self.workspace_id()).await?;
        tx.commit().await?;
        Ok(profile)
    }

    /// Replaces the workspace's public profile. The marketing consent
    /// text's version moves by one when the text changes (in the same
    /// statement, so two changes at once make two versions). The privacy
    /// notice cannot be removed while a campaign's landing page is live.
    pub async fn put_profile(&self, profile: &WorkspaceProfile) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        if profile.privacy_notice_url.is_none() {
            let live: Option<(i32,)> = on_tx!(tx, c => {
                sqlx::query_as(
                    "SELECT 1 FROM campaign_activations a \
                     JOIN workspace_campaigns c ON c.workspace_id = a.workspace_id AND c.id = a.campaign_id \
                     WHERE a.workspace_id = $1 AND c.status = 'published' LIMIT 1",
                )
                .bind(self.workspace_id().as_uuid())
                .fetch_optional(&mut *c)
                .await?
            });
            if live.is_some() {
                return Err(StoreError::Rule(
                    "the privacy notice cannot be removed while a campaign's landing page is live"
                        .into(),
                ));
            }
        }
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO workspace_profiles \
                 (workspace_id, contact_name, contact_email, contact_phone, website, logo_url, \
                  privacy_notice_url, marketing_consent_text, marketing_consent_version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (workspace_id) DO UPDATE SET contact_name = excluded.contact_name, \
                 contact_email = excluded.contact_email, contact_phone = excluded.contact_phone, \
                 website = excluded.website, logo_url = excluded.logo_url, \
                 privacy_notice_url = excluded.privacy_notice_url, \
                 marketing_consent_text = excluded.marketing_consent_text, \
                 marketing_consent_version = CASE \
                   WHEN COALESCE(workspace_profiles.marketing_consent_text, '') \
                      = COALESCE(excluded.marketing_consent_text, '') \
                   THEN workspace_profiles.marketing_consent_version \
                   ELSE workspace_profiles.marketing_consent_version + 1 END, \
                 updated_at = excluded.updated_at",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(profile.contact_name.as_deref())
            .bind(profile.contact_email.as_deref())
            .bind(profile.contact_phone.as_deref())
            .bind(profile.website.as_deref())
            .bind(profile.logo_url.as_deref())
            .bind(profile.privacy_notice_url.as_deref())
            .bind(profile.marketing_consent_text.as_deref())
            // A first profile with a text holds its first version.
            .bind(i32::from(profile.marketing_consent_text.is_some()))
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Sets a member's own language (`None`: follow the browser).
    pub async fn set_user_locale(
        &self,
        user_id: UserId,
        locale: Option<&Locale>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE users SET locale = $2 WHERE id = $1 AND EXISTS \
                 (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.workspace_id = $3)",
            )
            .bind(user_id.as_uuid())
            .bind(locale.map(Locale::as_str))
            .bind(self.workspace_id().as_uuid())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Changes a member's role. The workspace keeps at least one owner.
    pub async fn set_member_role(&self, user_id: UserId, role: Role) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let ws = self.workspace_id().as_uuid();
        let current = member_role(&mut tx, ws, user_id).await?;
        if current == Role::Owner.as_str() && role != Role::Owner {
            ensure_another_owner(&mut tx, ws, user_id).await?;
        }
        on_tx!(tx, c => {
            sqlx::query("UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws)
                .bind(user_id.as_uuid())
                .bind(role.as_str())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// Removes a member: its access tokens and sessions in this workspace
    /// go with it. The workspace keeps at least one owner.
    pub async fn remove_member(&self, user_id: UserId) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let ws = self.workspace_id().as_uuid();
        let current = member_role(&mut tx, ws, user_id).await?;
        if current == Role::Owner.as_str() {
            ensure_another_owner(&mut tx, ws, user_id).await?;
        }
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM access_tokens WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws)
                .bind(user_id.as_uuid())
                .execute(&mut *c)
                .await?;
            sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws)
                .bind(user_id.as_uuid())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// Creates a personal access token for a member of this workspace, kept
    /// as the digest of the token.
    pub async fn create_access_token(
        &self,
        user_id: UserId,
        name: &Name,
        token_hash: &[u8],
    ) -> Result<AccessToken, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let token = insert_token(&mut tx, self.workspace_id(), user_id, name, token_hash).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// A member's live personal access tokens, the newest first.
    pub async fn access_tokens(&self, user_id: UserId) -> Result<Vec<AccessToken>, StoreError> {
        select!(
            all,
            TokenRow,
            read(self),
            &format!(
                "SELECT {TOKEN_COLUMNS} FROM access_tokens \
                 WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY id DESC"
            ),
            self.workspace_id().as_uuid(),
            user_id.as_uuid()
        )
    }

    /// Revokes one of a member's tokens; false when it has no such live token.
    pub async fn revoke_access_token(
        &self,
        user_id: UserId,
        id: AccessTokenId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let done = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE access_tokens SET revoked_at = $4 \
                 WHERE workspace_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(user_id.as_uuid())
            .bind(id.as_uuid())
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(done == 1)
    }

    /// Changes the currency margins are reported in.
    pub async fn set_home_currency(&self, currency: Currency) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("UPDATE workspaces SET home_currency = $2 WHERE id = $1")
                .bind(self.workspace_id().as_uuid())
                .bind(currency.code())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// The workspace's single sign-on configuration, if it has one.
    pub async fn sso_config(&self) -> Result<Option<SsoConfig>, StoreError> {
        select!(
            optional,
            ConfigRow,
            read(self),
            &format!("SELECT {CONFIG_COLUMNS} FROM sso_configs WHERE workspace_id = $1"),
            self.workspace_id().as_uuid()
        )
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

impl PartnerStore {
    /// Stores the workspace's logo, replacing the one before. The image is
    /// checked by the caller; `digest` names its version.
    pub async fn put_logo(
        &self,
        kind: LogoType,
        bytes: &[u8],
        digest: &[u8],
    ) -> Result<(), StoreError> {
        if bytes.is_empty() || bytes.len() > LOGO_MAX_BYTES {
            return Err(StoreError::Rule(format!(
                "a logo is 1 to {LOGO_MAX_BYTES} bytes, not {}",
                bytes.len()
            )));
        }
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO workspace_logos (workspace_id, content_type, bytes, digest, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (workspace_id) DO UPDATE SET content_type = excluded.content_type, \
                 bytes = excluded.bytes, digest = excluded.digest, updated_at = excluded.updated_at",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(kind.content_type())
            .bind(bytes)
            .bind(digest)
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Removes the workspace's logo (nothing when there is none).
    pub async fn delete_logo(&self) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM workspace_logos WHERE workspace_id = $1")
                .bind(self.workspace_id().as_uuid())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// The workspace's logo, when it uploaded one.
    pub async fn logo(&self) -> Result<Option<WorkspaceLogo>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<(String, Vec<u8>, Vec<u8>)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT content_type, bytes, digest FROM workspace_logos WHERE workspace_id = $1",
            )
            .bind(self.workspace_id().as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.map(|(content_type, bytes, digest)| {
            let kind = LogoType::from_content_type(&content_type)
                .ok_or_else(|| StoreError::corrupt("workspace logo", content_type))?;
            Ok(WorkspaceLogo {
                kind,
                bytes,
                digest,
            })
        })
        .transpose()
    }

    /// The digest of the workspace's logo (its version), without the
    /// image, for pages that link to it.
    pub async fn logo_digest(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let digest: Option<Vec<u8>> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT digest FROM workspace_logos WHERE workspace_id = $1")
                .bind(self.workspace_id().as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(digest)
    }

    /// The logos of the workspace's linked vendors that set one.
    pub async fn vendor_logos(&self) -> Result<Vec<(VendorId, String)>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(uuid::Uuid, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT v.id, v.logo_url FROM vendor_links l JOIN vendors v ON v.id = l.vendor_id \
                 WHERE l.workspace_id = $1 AND v.logo_url IS NOT NULL",
            )
            .bind(self.workspace_id().as_uuid())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(id, url)| (VendorId::from_uuid(id), url))
            .collect())
    }
}
