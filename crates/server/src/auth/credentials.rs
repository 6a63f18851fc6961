//! Making and checking the secrets callers present: API client secrets
//! (argon2id, as they may be chosen or leaked like passwords) and personal
//! access tokens (256 random bits, kept as a SHA-256 digest).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

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

/// The hash an argon2id check runs against when the client does not
/// exist, so an unknown client id costs as much time as a wrong secret.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_secret("decoy").unwrap_or_default())
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

    #[test]
    fn tokens_are_random_and_digested() {
        let a = random_secret(ACCESS_TOKEN_PREFIX).unwrap();
        let b = random_secret(ACCESS_TOKEN_PREFIX).unwrap();
        assert_ne!(a, b);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), token_digest(&b));
    }
}
