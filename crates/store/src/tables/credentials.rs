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

table_row! {
    ClientRow => ApiClient {
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        id: Uuid => ApiClientId::from_uuid(id),
        name: String => parse("API client", &name)?,
        secret_hash: String,
        scopes: String => scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: DateTime<Utc>,
        revoked_at: Option<DateTime<Utc>>,
    }
}

table_row! {
    TokenRow => AccessToken {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => AccessTokenId::from_uuid(id),
        user_id: Uuid => UserId::from_uuid(user_id),
        name: String => parse("access token", &name)?,
        created_at: DateTime<Utc>,
        last_used_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
    }
}

table_row! {
    KeyRow => StoredSigningKey {
        kid: String,
        algorithm: String,
        public_key: Vec<u8>,
        sealed_private_key: Vec<u8>,
        created_at: DateTime<Utc>,
        retired_at: Option<DateTime<Utc>>,
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

/// Stores an access token by the digest of its secret; a digest that
/// exists already is a conflict.
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

/// Retires the signing key in use as of the new key's creation and stores
/// the new one, committing `tx`.
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
