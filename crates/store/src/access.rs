//! Who may call the API: vendors' OAuth2 clients, partner users' access
//! tokens, and the keys that sign access tokens.
//!
//! The store keeps only what the server hands it: secret hashes, token
//! digests and sealed private keys. Hashing, sealing and checking belong to
//! the server; nothing here can recover a secret.

use chrono::{DateTime, Utc};
use onepane_domain::text::{Email, Name};
use onepane_domain::{AccessTokenId, ApiClientId, UserId, VendorId, WorkspaceId};
use uuid::Uuid;

use crate::operator::OperatorStore;
use crate::rows::parse;
use crate::tx::{Access, Scope, Tx, on_tx};
use crate::{Store, StoreError, now};

/// A vendor's OAuth2 client.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiClient {
    /// The client id.
    pub id: ApiClientId,
    /// The vendor it acts for.
    pub vendor_id: VendorId,
    /// What the operator called it.
    pub name: Name,
    /// The argon2id hash of its secret (PHC string).
    pub secret_hash: String,
    /// The scopes it may be granted.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked client gets no tokens.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("id", &self.id)
            .field("vendor_id", &self.vendor_id)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// A partner user's personal access token, as stored (the token itself is
/// known only to its holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Its id.
    pub id: AccessTokenId,
    /// The workspace it opens.
    pub workspace_id: WorkspaceId,
    /// The member it acts as.
    pub user_id: UserId,
    /// What its holder called it.
    pub name: Name,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last presented, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An access-token signing key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// The key id (`kid`).
    pub kid: String,
    /// The JWS algorithm (`EdDSA`).
    pub algorithm: String,
    /// The public key.
    pub public_key: Vec<u8>,
    /// The private key, sealed by the server.
    pub sealed_private_key: Vec<u8>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stopped signing; it verifies until its last token expires.
    pub retired_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

const CLIENT_COLUMNS: &str = "vendor_id, id, name, secret_hash, scopes, created_at, revoked_at";
const TOKEN_COLUMNS: &str = "workspace_id, id, user_id, name, created_at, last_used_at, revoked_at";
const KEY_COLUMNS: &str = "kid, algorithm, public_key, sealed_private_key, created_at, retired_at";

#[derive(sqlx::FromRow)]
struct ClientRow {
    vendor_id: Uuid,
    id: Uuid,
    name: String,
    secret_hash: String,
    scopes: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ClientRow> for ApiClient {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        Ok(ApiClient {
            id: ApiClientId::from_uuid(r.id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            name: parse("API client", &r.name)?,
            secret_hash: r.secret_hash,
            scopes: r.scopes.split_whitespace().map(str::to_owned).collect(),
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    workspace_id: Uuid,
    id: Uuid,
    user_id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for AccessToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(AccessToken {
            id: AccessTokenId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            user_id: UserId::from_uuid(r.user_id),
            name: parse("access token", &r.name)?,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    algorithm: String,
    public_key: Vec<u8>,
    sealed_private_key: Vec<u8>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

impl From<KeyRow> for StoredSigningKey {
    fn from(r: KeyRow) -> Self {
        StoredSigningKey {
            kid: r.kid,
            algorithm: r.algorithm,
            public_key: r.public_key,
            sealed_private_key: r.sealed_private_key,
            created_at: r.created_at,
            retired_at: r.retired_at,
        }
    }
}

/// Checks that scope names are plain words, so the space-separated list
/// reads back as written.
fn scope_list(scopes: &[String]) -> Result<String, StoreError> {
    if let Some(bad) = scopes.iter().find(|s| {
        s.is_empty()
            || s.len() > 64
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
    }) {
        return Err(StoreError::Rule(format!(
            "`{bad}` is not a valid scope name"
        )));
    }
    Ok(scopes.join(" "))
}

impl OperatorStore {
    /// Creates an API client for a vendor, with the hash of its secret.
    pub async fn create_api_client(
        &self,
        vendor_id: VendorId,
        name: &Name,
        secret_hash: &str,
        scopes: &[String],
    ) -> Result<ApiClient, StoreError> {
        let scopes_text = scope_list(scopes)?;
        let mut tx = self.store.begin(Scope::Operator, Access::Write).await?;
        let exists: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT id FROM vendors WHERE id = $1")
                .bind(vendor_id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        if exists.is_none() {
            return Err(StoreError::not_found("vendor", vendor_id));
        }
        let client = ApiClient {
            id: ApiClientId::new(),
            vendor_id,
            name: name.clone(),
            secret_hash: secret_hash.to_owned(),
            scopes: scopes.to_vec(),
            created_at: now(),
            revoked_at: None,
        };
        on_tx!(tx, c => {
            sqlx::query(&format!(
                "INSERT INTO api_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)"
            ))
            .bind(vendor_id.as_uuid())
            .bind(client.id.as_uuid())
            .bind(name.as_str())
            .bind(secret_hash)
            .bind(&scopes_text)
            .bind(client.created_at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(client)
    }

    /// Revokes an API client: it gets no new tokens. Tokens already issued
    /// stay valid until they expire (minutes).
    pub async fn revoke_api_client(&self, id: ApiClientId) -> Result<ApiClient, StoreError> {
        let mut tx = self.store.begin(Scope::Operator, Access::Write).await?;
        let row: Option<ClientRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE api_clients SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
                 RETURNING {CLIENT_COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(now())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.ok_or_else(|| StoreError::not_found("API client", id))?
            .try_into()
    }

    /// Creates a personal access token for the member of a workspace with
    /// this email, stored as the digest of the token.
    pub async fn create_access_token(
        &self,
        workspace_id: WorkspaceId,
        email: &Email,
        name: &Name,
        token_hash: &[u8],
    ) -> Result<AccessToken, StoreError> {
        let mut tx = self.store.begin(Scope::Operator, Access::Write).await?;
        let member: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.workspace_id = $1 AND u.email = $2",
            )
            .bind(workspace_id.as_uuid())
            .bind(email.as_str())
            .fetch_optional(&mut *c)
            .await?
        });
        let Some(user_id) = member.map(UserId::from_uuid) else {
            return Err(StoreError::Rule(format!(
                "{email} is not a member of workspace {workspace_id}"
            )));
        };
        let token = insert_token(&mut tx, workspace_id, user_id, name, token_hash).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Stores a new signing key and retires the one that signed until now.
    pub async fn rotate_signing_key(&self, key: &StoredSigningKey) -> Result<(), StoreError> {
        let tx = self.store.begin(Scope::Operator, Access::Write).await?;
        rotate(tx, key).await
    }
}

async fn insert_token(
    tx: &mut Tx,
    workspace_id: WorkspaceId,
    user_id: UserId,
    name: &Name,
    token_hash: &[u8],
) -> Result<AccessToken, StoreError> {
    let token = AccessToken {
        id: AccessTokenId::new(),
        workspace_id,
        user_id,
        name: name.clone(),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO access_tokens (workspace_id, id, user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(workspace_id.as_uuid())
        .bind(token.id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(name.as_str())
        .bind(token_hash)
        .bind(token.created_at)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || "the token already exists".into()))?;
    });
    Ok(token)
}

async fn rotate(mut tx: Tx, key: &StoredSigningKey) -> Result<(), StoreError> {
    on_tx!(tx, c => {
        sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(key.created_at)
            .execute(&mut *c)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, NULL)"
        ))
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(&key.sealed_private_key)
        .bind(key.created_at)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("signing key {} exists", key.kid)))?;
    });
    tx.commit().await
}

/// The server's own work around tenants: authenticating callers, signing
/// keys, webhook delivery, housekeeping. Built by [`Store::system`].
#[derive(Debug, Clone)]
pub struct SystemStore {
    pub(crate) store: Store,
}

impl SystemStore {
    pub(crate) async fn begin(&self, access: Access) -> Result<Tx, StoreError> {
        self.store.begin(Scope::System, access).await
    }

    /// An API client by its id, revoked or not.
    pub async fn api_client(&self, id: ApiClientId) -> Result<Option<ApiClient>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<ClientRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        row.map(ApiClient::try_from).transpose()
    }

    /// The live access token with this digest, noting its use (to the
    /// minute, so a busy token does not write on every request).
    pub async fn access_token(&self, token_hash: &[u8]) -> Result<Option<AccessToken>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<TokenRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
            ))
            .bind(token_hash)
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        let Some(token) = row.map(AccessToken::try_from).transpose()? else {
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
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<KeyRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {KEY_COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1 \
                 ORDER BY created_at DESC, kid"
            ))
            .bind(since)
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(rows.into_iter().map(Into::into).collect())
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

impl Store {
    /// The server's own work around tenants.
    pub fn system(&self) -> SystemStore {
        SystemStore {
            store: self.clone(),
        }
    }
}

impl crate::PartnerStore {
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
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<TokenRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {TOKEN_COLUMNS} FROM access_tokens \
                 WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY id DESC"
            ))
            .bind(self.workspace_id().as_uuid())
            .bind(user_id.as_uuid())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter().map(AccessToken::try_from).collect()
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
    pub async fn set_home_currency(
        &self,
        currency: onepane_domain::Currency,
    ) -> Result<(), StoreError> {
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
}
