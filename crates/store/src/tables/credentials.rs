//! Who may call the API: vendors' OAuth2 clients, partner users' access
//! tokens, and the keys that sign access tokens.
//!
//! The store keeps only what the server hands it: secret hashes, token
//! digests and sealed private keys. Hashing, sealing and checking belong to
//! the server; nothing here can recover a secret.

use chrono::{DateTime, Utc};
use onepane_domain::text::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tx::{Tx, on_tx};
use crate::{StoreError, now};

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

pub(crate) const CLIENT_COLUMNS: &str =
    "vendor_id, id, name, secret_hash, scopes, created_at, revoked_at";
pub(crate) const TOKEN_COLUMNS: &str =
    "workspace_id, id, user_id, name, created_at, last_used_at, revoked_at";
pub(crate) const KEY_COLUMNS: &str =
    "kid, algorithm, public_key, sealed_private_key, created_at, retired_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
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
pub(crate) struct TokenRow {
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
pub(crate) struct KeyRow {
    kid: String,
    algorithm: String,
    public_key: Vec<u8>,
    sealed_private_key: Vec<u8>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for StoredSigningKey {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(StoredSigningKey {
            kid: r.kid,
            algorithm: r.algorithm,
            public_key: r.public_key,
            sealed_private_key: r.sealed_private_key,
            created_at: r.created_at,
            retired_at: r.retired_at,
        })
    }
}

/// Checks that scope names are plain words, so the space-separated list
/// reads back as written.
pub(crate) fn scope_list(scopes: &[String]) -> Result<String, StoreError> {
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

pub(crate) async fn insert_token(
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

pub(crate) async fn rotate(mut tx: Tx, key: &StoredSigningKey) -> Result<(), StoreError> {
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
