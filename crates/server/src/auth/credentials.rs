//! Making and checking the secrets callers present: people's passwords
//! (argon2id, a few at a time), API client secrets (256 random bits, kept
//! as a keyed digest) and personal access tokens (256 random bits, kept as
//! a SHA-256 digest they are looked up by).
//!
//! A random 256-bit secret cannot be guessed, so it needs no slow hash:
//! hashing client secrets with argon2id (19 MiB a check) let a flood of the
//! token endpoint take the server to gigabytes. Passwords still need it, so
//! their hashes run a few at a time, whatever the traffic.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::secret_key::SecretKey;

/// What a client secret starts with, so a leaked one is recognisable.
pub const CLIENT_SECRET_PREFIX: &str = "opcs_";
/// What a personal access token starts with.
pub const ACCESS_TOKEN_PREFIX: &str = "oppat_";

/// Why a credential could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The operating system could not supply random bytes.
    #[error("cannot generate a secret")]
    Random(#[source] getrandom::Error),
    /// Hashing failed.
    #[error("cannot hash a secret: {0}")]
    Hash(String),
}

/// 32 random bytes, base64url, after `prefix`.
pub fn random_secret(prefix: &str) -> Result<String, CredentialError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(CredentialError::Random)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The hasher: argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Result<Argon2<'static>, CredentialError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| CredentialError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The argon2id PHC string of `secret`.
pub fn hash_secret(secret: &str) -> Result<String, CredentialError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(CredentialError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| CredentialError::Hash(e.to_string()))?;
    Ok(argon2()?
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| CredentialError::Hash(e.to_string()))?
        .to_string())
}

/// Whether `secret` matches the stored PHC string. A malformed stored hash
/// matches nothing.
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(secret.as_bytes(), &parsed).is_ok())
}

/// The hash an argon2id check runs against when the user does not exist,
/// so an unknown email costs as much time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_secret("decoy").unwrap_or_default())
}

/// Password hashes run at once at most this many at a time per process (one
/// per core): each takes 19 MiB while it runs.
fn hashing_turns() -> &'static Semaphore {
    static TURNS: std::sync::OnceLock<Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// Runs `work` (an argon2id hash or check) on the blocking pool once a
/// hashing turn is free.
async fn in_hashing_turn<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CredentialError> {
    let _turn = hashing_turns()
        .acquire()
        .await
        .map_err(|e| CredentialError::Hash(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CredentialError::Hash(e.to_string()))
}

/// The argon2id PHC string of a password, in a hashing turn.
pub async fn hash_password(password: String) -> Result<String, CredentialError> {
    in_hashing_turn(move || hash_secret(&password)).await?
}

/// Whether a password matches its stored PHC string, in a hashing turn.
pub async fn verify_password(password: String, phc: String) -> bool {
    in_hashing_turn(move || verify_secret(&password, &phc))
        .await
        .unwrap_or(false)
}

/// What a client secret's stored digest starts with.
const CLIENT_DIGEST_PREFIX: &str = "hmac-sha256$";

/// Digests API client secrets: HMAC-SHA256 keyed with a key derived from
/// the server's secret key, so the stored digests are worthless without
/// it. Secrets stored as argon2id hashes by earlier versions still check,
/// in a hashing turn.
#[derive(Clone)]
pub struct ClientSecrets {
    key: [u8; 32],
}

impl std::fmt::Debug for ClientSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecrets(..)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl ClientSecrets {
    /// The digester of the server with this secret key.
    pub fn new(secret_key: &SecretKey) -> Self {
        Self {
            key: hmac(secret_key.expose(), b"onepane client secret digest v1"),
        }
    }

    /// The digest a secret is stored as.
    pub fn digest(&self, secret: &str) -> String {
        format!(
            "{CLIENT_DIGEST_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(hmac(&self.key, secret.as_bytes()))
        )
    }

    /// Whether `secret` matches the stored digest (or a stored argon2id
    /// hash of an earlier version), in time independent of where they
    /// differ. `None` (no such client) matches nothing; the secret is
    /// digested all the same, so the answer takes as long.
    pub async fn verify(&self, secret: &str, stored: Option<&str>) -> bool {
        let mine = self.digest(secret);
        match stored {
            Some(phc) if phc.starts_with("$argon2") => {
                verify_password(secret.to_owned(), phc.to_owned()).await
            }
            Some(stored) => same_token(&mine, stored),
            None => false,
        }
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of every length")
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The digest a personal access token is stored and looked up by.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two tokens in time independent of where they differ (and of
/// their lengths: their digests are compared).
pub fn same_token(a: &str, b: &str) -> bool {
    same_digest(&token_digest(a), &token_digest(b))
}

/// Compares two digests in time independent of where they differ.
pub fn same_digest(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_verify() {
        let secret = random_secret(CLIENT_SECRET_PREFIX).unwrap();
        assert!(secret.starts_with("opcs_") && secret.len() == 5 + 43);
        let phc = hash_secret(&secret).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_secret(&secret, &phc));
        assert!(!verify_secret("opcs_wrong", &phc));
        assert!(!verify_secret(&secret, "not a hash"));
        assert!(!verify_secret(&secret, decoy_hash()));
        assert_ne!(hash_secret(&secret).unwrap(), phc, "salted");
    }

    #[tokio::test]
    async fn client_secrets_are_kept_as_keyed_digests() {
        let key = SecretKey::generate().unwrap();
        let secrets = ClientSecrets::new(&key);
        let secret = random_secret(CLIENT_SECRET_PREFIX).unwrap();
        let stored = secrets.digest(&secret);
        assert!(stored.starts_with("hmac-sha256$"), "{stored}");
        assert!(!stored.contains(&secret));
        assert_eq!(
            secrets.digest(&secret),
            stored,
            "the same secret, the same digest"
        );
        assert!(secrets.verify(&secret, Some(&stored)).await);
        assert!(!secrets.verify("opcs_wrong", Some(&stored)).await);
        assert!(!secrets.verify(&secret, None).await);
        // Another server's key makes another digest.
        let other = ClientSecrets::new(&SecretKey::generate().unwrap());
        assert_ne!(other.digest(&secret), stored);
        assert!(!other.verify(&secret, Some(&stored)).await);
        // A hash an earlier version stored still checks.
        let phc = hash_secret(&secret).unwrap();
        assert!(secrets.verify(&secret, Some(&phc)).await);
        assert!(!secrets.verify("opcs_wrong", Some(&phc)).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_hashes_run_a_few_at_a_time() {
        let turns = hashing_turns().available_permits();
        assert!(turns >= 1);
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..turns * 3)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(in_hashing_turn(move || {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, SeqCst);
                }))
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let most = most.load(std::sync::atomic::Ordering::SeqCst);
        assert!(most <= turns, "{most} ran at once, with {turns} turns");
    }

    #[test]
    fn tokens_are_random_and_digested() {
        let a = random_secret(ACCESS_TOKEN_PREFIX).unwrap();
        let b = random_secret(ACCESS_TOKEN_PREFIX).unwrap();
        assert_ne!(a, b);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), token_digest(&b));
    }
}
