//! Sealing secrets at rest: XChaCha20-Poly1305 under the server's secret
//! key, with associated data naming what the secret is and whose, so a
//! sealed value copied to another row or another owner does not open.
//!
//! A sealed value is `version (1 byte) || nonce (24) || ciphertext+tag`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::secret_key::SecretKey;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Why a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The operating system could not supply a nonce.
    #[error("cannot generate a nonce")]
    Random(#[source] getrandom::Error),
    /// The value is not sealed by this format, was sealed under another key
    /// or for another purpose, or was altered.
    #[error("a sealed secret does not open with this server's key (was the secret key changed?)")]
    Open,
    /// Encryption failed (it does not, for in-memory buffers).
    #[error("cannot seal a secret")]
    Seal,
}

/// Seals and opens secrets with the server's key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer under `key`.
    pub fn new(key: &SecretKey) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.expose().into()),
        }
    }

    /// Seals `plain`, bound to `context` (e.g. `webhook-secret:<vendor id>`).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(SealError::Random)?;
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Sealer::seal`] sealed with the same `context`.
    pub fn open(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Open)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map(zeroize::Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

/// Connection secrets are sealed by the sync engine with the server's key.
impl onepane_sync::Vault for Sealer {
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, String> {
        Sealer::seal(self, context, plain).map_err(|e| e.to_string())
    }

    fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, String> {
        Sealer::open(self, context, sealed)
            .map(|plain| plain.to_vec())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        Sealer::new(&SecretKey::from_base64(&text).unwrap())
    }

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let s = sealer(7);
        let sealed = s.seal("webhook-secret:a", b"hunter2").unwrap();
        assert_eq!(
            s.open("webhook-secret:a", &sealed).unwrap().as_slice(),
            b"hunter2"
        );
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        // Another context, another key, a flipped bit, a truncation: refused.
        assert!(matches!(
            s.open("webhook-secret:b", &sealed),
            Err(SealError::Open)
        ));
        assert!(matches!(
            sealer(8).open("webhook-secret:a", &sealed),
            Err(SealError::Open)
        ));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            s.open("webhook-secret:a", &flipped),
            Err(SealError::Open)
        ));
        assert!(matches!(
            s.open("webhook-secret:a", &sealed[..10]),
            Err(SealError::Open)
        ));
        assert!(matches!(
            s.open("webhook-secret:a", &[]),
            Err(SealError::Open)
        ));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let s = sealer(1);
        assert_ne!(s.seal("x", b"same").unwrap(), s.seal("x", b"same").unwrap());
    }
}
