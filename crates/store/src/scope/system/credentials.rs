//! Checking API callers: API clients, access tokens, signing keys.

use chrono::{DateTime, Utc};
use onepane_domain::*;

use crate::rows::select;
use crate::tables::credentials::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

impl SystemStore {
    /// An API client by its id, revoked or not.
    pub async fn api_client(&self, id: ApiClientId) -> Result<Option<ApiClient>, StoreError> {
        select!(
            optional,
            ClientRow,
            read(self),
            &format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE id = $1"),
            id.as_uuid()
        )
    }

    /// The live access token with this digest, noting its use (to the
    /// minute, so a busy token does not write on every request).
    pub async fn access_token(&self, token_hash: &[u8]) -> Result<Option<AccessToken>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<AccessToken> = select!(
            optional,
            TokenRow,
            tx,
            &format!(
                "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
            ),
            token_hash
        )?;
        tx.commit().await?;
        let Some(token) = row else {
            return Ok(None);
        };
        let at = now();
        if token
            .last_used_at
            .is_none_or(|t| at - t > chrono::Duration::minutes(1))
        {
            let mut tx = self.begin(Access::Write).await?;
            on_tx!(tx, c => {
                sqlx::query("UPDATE access_tokens SET last_used_at = $3 WHERE workspace_id = $1 AND id = $2")
                    .bind(token.workspace_id.as_uuid())
                    .bind(token.id.as_uuid())
                    .bind(at)
                    .execute(&mut *c)
                    .await?;
            });
            tx.commit().await?;
        }
        Ok(Some(token))
    }

    /// Every signing key retired after `since`, or not retired: the ones
    /// that may still have live tokens.
    pub async fn signing_keys(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoredSigningKey>, StoreError> {
        select!(
            all,
            KeyRow,
            read(self),
            &format!(
                "SELECT {KEY_COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1 \
                 ORDER BY created_at DESC, kid"
            ),
            since
        )
    }

    /// Stores the first signing key, unless another server stored one
    /// first; returns whether this one was stored.
    pub async fn insert_first_signing_key(
        &self,
        key: &StoredSigningKey,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let live: Option<String> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
                .fetch_optional(&mut *c)
                .await?
        });
        if live.is_some() {
            tx.commit().await?;
            return Ok(false);
        }
        rotate(tx, key).await?;
        Ok(true)
    }
}
