//! A connection's OAuth tokens in the database, sealed; the claim on the
//! stored version makes one worker, in any process, the one that renews.

use std::sync::Arc;

use chrono::Duration;
use onepane_connector::oauth::{StoredTokens, TokenSet, TokenStore};
use onepane_connector::{BoxFuture, ConnectorError};
use onepane_domain::workspace::ConnectionStatus;
use onepane_domain::{ConnectionId, WorkspaceId};
use onepane_store::{Store, StoreError};

use crate::vault::{Vault, secret_context};

/// The field tokens are stored under.
pub(crate) const TOKENS: &str = "tokens";

/// How long a worker may take to renew a token before another may.
const CLAIM: i64 = 60;

#[derive(Debug)]
pub(crate) struct DbTokenStore {
    store: Store,
    vault: Arc<dyn Vault>,
    ws: WorkspaceId,
    conn: ConnectionId,
    owner: String,
}

impl DbTokenStore {
    pub(crate) fn new(
        store: Store,
        vault: Arc<dyn Vault>,
        ws: WorkspaceId,
        conn: ConnectionId,
        owner: String,
    ) -> Self {
        Self {
            store,
            vault,
            ws,
            conn,
            owner,
        }
    }

    fn context(&self) -> String {
        secret_context(self.ws, self.conn, TOKENS)
    }
}

fn db(e: StoreError) -> ConnectorError {
    ConnectorError::Throttled {
        message: format!("the database: {e}"),
        after: std::time::Duration::from_secs(5),
    }
}

impl TokenStore for DbTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredTokens>, ConnectorError>> {
        Box::pin(async move {
            let stored = self
                .store
                .system()
                .connection_secret(self.ws, self.conn, TOKENS)
                .await
                .map_err(db)?;
            let Some((sealed, version)) = stored.filter(|(s, v)| *v > 0 && !s.is_empty()) else {
                return Ok(None);
            };
            let plain = self
                .vault
                .open(&self.context(), &sealed)
                .map_err(ConnectorError::Config)?;
            let tokens: TokenSet = serde_json::from_slice(&plain).map_err(|e| {
                ConnectorError::Config(format!("the stored tokens do not parse: {e}"))
            })?;
            Ok(Some(StoredTokens { tokens, version }))
        })
    }

    fn claim(&self, version: i64) -> BoxFuture<'_, Result<bool, ConnectorError>> {
        Box::pin(async move {
            self.store
                .system()
                .claim_connection_secret(
                    self.ws,
                    self.conn,
                    TOKENS,
                    version,
                    &self.owner,
                    Duration::seconds(CLAIM),
                )
                .await
                .map_err(db)
        })
    }

    fn save<'a>(
        &'a self,
        version: i64,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<i64, ConnectorError>> {
        Box::pin(async move {
            let plain = serde_json::to_vec(tokens)
                .map_err(|e| ConnectorError::Config(format!("cannot store the tokens: {e}")))?;
            let sealed = self
                .vault
                .seal(&self.context(), &plain)
                .map_err(ConnectorError::Config)?;
            self.store
                .system()
                .save_connection_secret(self.ws, self.conn, TOKENS, version, &sealed)
                .await
                .map_err(db)
        })
    }

    fn release(&self, version: i64) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.store
                .system()
                .release_connection_secret(self.ws, self.conn, TOKENS, version)
                .await
                .map_err(db)
        })
    }

    fn refused<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.store
                .system()
                .set_connection_status(
                    self.ws,
                    self.conn,
                    ConnectionStatus::NeedsReauthorization,
                    reason,
                )
                .await
                .map_err(db)
        })
    }
}
