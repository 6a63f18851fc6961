//! The access-token signing keys: kept in the database (private halves
//! sealed), loaded into a [`KeyRing`], rotated by the operator, and
//! reloaded so that every server signs with the newest key and verifies
//! with every key whose tokens may still be live.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use onepane_store::{Store, StoreError, StoredSigningKey};

use super::jwt::{JwtError, KeyRing, SigningKey, TokenPolicy, VerifyingKey};
use crate::seal::{SealError, Sealer};

/// The only algorithm keys are made for.
const ALGORITHM: &str = "EdDSA";

/// How often a server reloads the keys on its own.
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);

/// A token naming a key this server does not know reloads the keys at
/// most this often (another server may have rotated).
const UNKNOWN_KID_RELOAD: Duration = Duration::from_secs(5);

/// Why the keys could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database failed.
    #[error("cannot read or write the signing keys")]
    Store(#[from] StoreError),
    /// A private key does not open with this server's secret key.
    #[error("signing key {kid} cannot be opened")]
    Seal {
        /// The key id.
        kid: String,
        /// The cause.
        #[source]
        source: SealError,
    },
    /// A stored key is not usable.
    #[error("signing key {kid} is malformed: {detail}")]
    Malformed {
        /// The key id.
        kid: String,
        /// What is wrong.
        detail: String,
    },
    /// Making a key failed.
    #[error("cannot make a signing key")]
    Jwt(#[from] JwtError),
    /// There is no live key (rotation is in progress elsewhere).
    #[error("there is no signing key")]
    None,
}

fn context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// Makes a new key, sealed for storage.
pub fn new_stored_key(sealer: &Sealer) -> Result<StoredSigningKey, KeyError> {
    let key = SigningKey::generate()?;
    let sealed = sealer
        .seal(&context(key.kid()), key.seed())
        .map_err(|source| KeyError::Seal {
            kid: key.kid().to_owned(),
            source,
        })?;
    Ok(StoredSigningKey {
        kid: key.kid().to_owned(),
        algorithm: ALGORITHM.to_owned(),
        public_key: key.public_key().to_vec(),
        sealed_private_key: sealed,
        created_at: chrono::Utc::now(),
        retired_at: None,
    })
}

/// The server's keys, shared by the token endpoint and the authenticator.
#[derive(Debug)]
pub struct Keys {
    store: Store,
    sealer: Sealer,
    policy: TokenPolicy,
    ring: RwLock<Arc<KeyRing>>,
    last_reload: Mutex<Instant>,
}

impl Keys {
    /// Loads the keys, making the first one when there is none.
    pub async fn load(store: Store, sealer: Sealer, policy: TokenPolicy) -> Result<Keys, KeyError> {
        let ring = load_ring(&store, &sealer, &policy).await?;
        let ring = match ring {
            Some(ring) => ring,
            None => {
                let first = new_stored_key(&sealer)?;
                if store.system().insert_first_signing_key(&first).await? {
                    tracing::info!(kid = %first.kid, "made the first access-token signing key");
                }
                load_ring(&store, &sealer, &policy)
                    .await?
                    .ok_or(KeyError::None)?
            }
        };
        Ok(Keys {
            store,
            sealer,
            policy,
            ring: RwLock::new(Arc::new(ring)),
            last_reload: Mutex::new(Instant::now()),
        })
    }

    /// The token policy (issuer, audience, lifetime).
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// The current ring.
    pub fn ring(&self) -> Arc<KeyRing> {
        match self.ring.read() {
            Ok(r) => Arc::clone(&r),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Reloads the keys from the database.
    pub async fn reload(&self) -> Result<(), KeyError> {
        if let Ok(mut at) = self.last_reload.lock() {
            *at = Instant::now();
        }
        let ring = load_ring(&self.store, &self.sealer, &self.policy)
            .await?
            .ok_or(KeyError::None)?;
        match self.ring.write() {
            Ok(mut r) => *r = Arc::new(ring),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(ring),
        }
        Ok(())
    }

    /// Reloads when a token names an unknown key, unless that was just done.
    pub async fn reload_for_unknown_kid(&self) -> bool {
        let due = self
            .last_reload
            .lock()
            .map(|at| at.elapsed() >= UNKNOWN_KID_RELOAD)
            .unwrap_or(true);
        if !due {
            return false;
        }
        match self.reload().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %crate::report::cause_chain(&e), "cannot reload the signing keys");
                false
            }
        }
    }

    /// Reloads every [`RELOAD_EVERY`] until `shutdown` resolves.
    pub async fn reload_periodically(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(RELOAD_EVERY) => {}
            }
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %crate::report::cause_chain(&e), "cannot reload the signing keys");
            }
        }
    }
}

/// The ring from the database: the newest live key signs; every key that
/// retired less than a token lifetime (plus leeway) ago still verifies.
async fn load_ring(
    store: &Store,
    sealer: &Sealer,
    policy: &TokenPolicy,
) -> Result<Option<KeyRing>, KeyError> {
    let keep = policy.ttl + Duration::from_secs(policy.leeway_seconds);
    let since =
        chrono::Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::hours(1));
    let stored = store.system().signing_keys(since).await?;
    let Some(active) = stored.iter().find(|k| k.retired_at.is_none()) else {
        return Ok(None);
    };
    let mut ring = KeyRing::new(open_key(sealer, active)?);
    for key in stored.iter().filter(|k| k.kid != active.kid) {
        ring = ring.with_verifying_key(verifying_key(key)?)?;
    }
    Ok(Some(ring))
}

fn malformed(key: &StoredSigningKey, detail: &str) -> KeyError {
    KeyError::Malformed {
        kid: key.kid.clone(),
        detail: detail.to_owned(),
    }
}

/// Opens a stored key's private half.
pub fn open_key(sealer: &Sealer, key: &StoredSigningKey) -> Result<SigningKey, KeyError> {
    if key.algorithm != ALGORITHM {
        return Err(malformed(key, "unknown algorithm"));
    }
    let seed = sealer
        .open(&context(&key.kid), &key.sealed_private_key)
        .map_err(|source| KeyError::Seal {
            kid: key.kid.clone(),
            source,
        })?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| malformed(key, "the private key is not 32 bytes"))?;
    let signing = SigningKey::from_seed(seed);
    if signing.kid() != key.kid || signing.public_key().as_slice() != key.public_key {
        return Err(malformed(
            key,
            "the private key does not match its public key",
        ));
    }
    Ok(signing)
}

fn verifying_key(key: &StoredSigningKey) -> Result<VerifyingKey, KeyError> {
    let public: [u8; 32] = key
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| malformed(key, "the public key is not 32 bytes"))?;
    Ok(VerifyingKey::new(key.kid.clone(), public)?)
}
