//! Single sign-on before a workspace is known: finding a configuration, sign-ins in progress.

use chrono::{DateTime, Utc};
use onepane_domain::text::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::select;
use crate::tables::sso::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

impl SystemStore {
    /// The enabled single sign-on configuration serving an email domain.
    pub async fn sso_config_for_domain(
        &self,
        domain: &EmailDomain,
    ) -> Result<Option<SsoConfig>, StoreError> {
        select!(
            optional,
            ConfigRow,
            read(self),
            &format!(
                "SELECT {CONFIG_COLUMNS} FROM sso_configs WHERE email_domain = $1 AND enabled"
            ),
            domain.as_str()
        )
    }

    /// A workspace's single sign-on configuration, enabled or not.
    pub async fn sso_config_of(
        &self,
        workspace_id: WorkspaceId,
    ) -> Result<Option<SsoConfig>, StoreError> {
        select!(
            optional,
            ConfigRow,
            read(self),
            &format!("SELECT {CONFIG_COLUMNS} FROM sso_configs WHERE workspace_id = $1"),
            workspace_id.as_uuid()
        )
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
