//! Idempotency records for API writes (the `Idempotency-Key` header): the
//! first response to a key is kept and replayed to a retry of the same
//! request, for a day.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use onepane_domain::*;
use tokio::sync::Mutex;

use crate::tx::{AMBIENT, Access, Scope, Shared, on_tx};
use crate::{Store, StoreError, now};

/// How long a record is kept.
pub const IDEMPOTENCY_TTL: Duration = Duration::hours(24);

/// A request still marked as running after this long is taken to have died
/// with its server, and a retry may run it again.
pub const IDEMPOTENCY_STALE: Duration = Duration::minutes(5);

/// Whose key it is: keys of different callers never meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    /// A partner workspace.
    Workspace(WorkspaceId),
    /// A vendor.
    Vendor(VendorId),
}

impl KeyOwner {
    fn text(self) -> String {
        match self {
            KeyOwner::Workspace(w) => format!("workspace:{w}"),
            KeyOwner::Vendor(v) => format!("vendor:{v}"),
        }
    }

    fn scope(self) -> Scope {
        match self {
            KeyOwner::Workspace(w) => Scope::Partner(w),
            KeyOwner::Vendor(v) => Scope::Vendor(v),
        }
    }
}

/// One key of one client of one owner.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey<'a> {
    /// Whose.
    pub owner: KeyOwner,
    /// The API client or access token that sent it.
    pub client: &'a str,
    /// The header's value.
    pub key: &'a str,
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// Its `Content-Type`.
    pub content_type: Option<String>,
    /// Its body.
    pub body: Vec<u8>,
}

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use (or the earlier record expired or died): run it.
    Run,
    /// Already answered: replay this.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

/// What a keyed write found when it claimed its key.
#[derive(Debug)]
pub enum KeyedClaim {
    /// First use: run the request inside this write.
    Run(KeyedWrite),
    /// Already answered: replay this.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
    /// A request with this key was left running by an earlier version
    /// and has not yet been given up on.
    InFlight,
}

/// A write sent with an `Idempotency-Key`: one transaction that holds the
/// key's record and every unit of work the request does (as savepoints), so
/// that the request's writes and the response kept for its retries commit
/// together. A crash before the commit leaves neither; a retry after it
/// replays the response and never runs the write again.
pub struct KeyedWrite {
    store: Store,
    shared: Arc<Mutex<Shared>>,
    owner: KeyOwner,
    client: String,
    key: String,
}

impl std::fmt::Debug for KeyedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedWrite")
            .field("owner", &self.owner)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl KeyedWrite {
    fn id(&self) -> IdempotencyKey<'_> {
        IdempotencyKey {
            owner: self.owner,
            client: &self.client,
            key: &self.key,
        }
    }

    /// Runs `work` (the request's handler) with this store's units of work
    /// inside the write's transaction.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        AMBIENT
            .scope(self.store.ambient(Arc::clone(&self.shared)), work)
            .await
    }

    /// Keeps `response` for the key and commits the request's writes with
    /// it. On an error nothing the request did is kept.
    pub async fn complete(self, response: &StoredResponse) -> Result<(), StoreError> {
        self.run(self.store.complete_idempotency_key(self.id(), response))
            .await?;
        let KeyedWrite { shared, .. } = self;
        let mut shared = Arc::try_unwrap(shared)
            .map_err(|_| {
                StoreError::corrupt("idempotency record", "its transaction is still in use")
            })?
            .into_inner();
        shared.settle().await?;
        shared.conn.commit().await
    }

    /// Gives the write up: nothing the request did is kept, and the key
    /// is free for a retry.
    pub fn abandon(self) {
        drop(self);
    }
}

/// An idempotency key's stored state and response.
#[derive(sqlx::FromRow)]
pub(crate) struct Record {
    request_hash: Vec<u8>,
    state: String,
    response_status: Option<i32>,
    response_type: Option<String>,
    response_body: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
}

impl Store {
    /// Begins a keyed write: claims `key` for a request with this digest
    /// inside a new transaction, which the request then runs in.
    pub async fn begin_keyed_write(
        &self,
        key: IdempotencyKey<'_>,
        request_hash: &[u8],
    ) -> Result<KeyedClaim, StoreError> {
        let conn = self.begin_conn(Access::Write).await?;
        let write = KeyedWrite {
            store: self.clone(),
            shared: Arc::new(Mutex::new(Shared::new(conn))),
            owner: key.owner,
            client: key.client.to_owned(),
            key: key.key.to_owned(),
        };
        // A second request with the key waits here for the first's commit
        // (PostgreSQL on the row, SQLite for its writer turn), then replays.
        Ok(
            match write
                .run(self.claim_idempotency_key(key, request_hash))
                .await?
            {
                Claim::Run => KeyedClaim::Run(write),
                Claim::Replay(stored) => KeyedClaim::Replay(stored),
                Claim::Mismatch => KeyedClaim::Mismatch,
                Claim::InFlight => KeyedClaim::InFlight,
            },
        )
    }

    /// Claims a key for a request with this digest.
    pub async fn claim_idempotency_key(
        &self,
        key: IdempotencyKey<'_>,
        request_hash: &[u8],
    ) -> Result<Claim, StoreError> {
        let owner = key.owner.text();
        let mut tx = self.begin(key.owner.scope(), Access::Write).await?;
        let at = now();
        // A second request racing this one waits on the row, then finds it.
        let inserted = on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO idempotency_keys (owner, client, key, request_hash, state, created_at) \
                 VALUES ($1, $2, $3, $4, 'running', $5) ON CONFLICT (owner, client, key) DO NOTHING",
            )
            .bind(&owner)
            .bind(key.client)
            .bind(key.key)
            .bind(request_hash)
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Claim::Run);
        }
        let record: Record = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT request_hash, state, response_status, response_type, response_body, created_at \
                 FROM idempotency_keys WHERE owner = $1 AND client = $2 AND key = $3",
            )
            .bind(&owner)
            .bind(key.client)
            .bind(key.key)
            .fetch_one(&mut *c)
            .await?
        });
        let expired = at - record.created_at > IDEMPOTENCY_TTL;
        let died = record.state == "running" && at - record.created_at > IDEMPOTENCY_STALE;
        let claim = if expired || (died && record.request_hash == request_hash) {
            on_tx!(tx, c => {
                sqlx::query(
                    "UPDATE idempotency_keys SET request_hash = $4, state = 'running', \
                     response_status = NULL, response_type = NULL, response_body = NULL, created_at = $5 \
                     WHERE owner = $1 AND client = $2 AND key = $3",
                )
                .bind(&owner)
                .bind(key.client)
                .bind(key.key)
                .bind(request_hash)
                .bind(at)
                .execute(&mut *c)
                .await?;
            });
            Claim::Run
        } else if record.request_hash != request_hash {
            Claim::Mismatch
        } else if record.state == "running" {
            Claim::InFlight
        } else {
            let status = record
                .response_status
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| StoreError::corrupt("idempotency record", "no status"))?;
            Claim::Replay(StoredResponse {
                status,
                content_type: record.response_type,
                body: record.response_body.unwrap_or_default(),
            })
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Keeps the response to a claimed key.
    pub async fn complete_idempotency_key(
        &self,
        key: IdempotencyKey<'_>,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(key.owner.scope(), Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE idempotency_keys SET state = 'done', response_status = $4, \
                 response_type = $5, response_body = $6 \
                 WHERE owner = $1 AND client = $2 AND key = $3",
            )
            .bind(key.owner.text())
            .bind(key.client)
            .bind(key.key)
            .bind(i32::from(response.status))
            .bind(response.content_type.as_deref())
            .bind(&response.body)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }
}
