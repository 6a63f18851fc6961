//! JWT access tokens for the OAuth2 client-credentials grant, shaped by
//! RFC 9068: Ed25519 signing keys, the key ring that issues and verifies
//! tokens, and the JWK Set (RFC 7517) that publishes the public halves.
//!
//! Verification trusts nothing in the token's header except to pick one of
//! our own keys: the algorithm is always EdDSA, the key must be in the ring,
//! and the clock is the caller's `now`, never the system's, so every rule is
//! testable to the second.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use onepane_domain::VendorId;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;
use zeroize::{Zeroize as _, Zeroizing};

/// The longest token `verify` will look at; anything longer is refused
/// before it is decoded.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The `typ` header of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The full media type RFC 9068 §4 also allows in `typ`.
const ACCESS_TOKEN_MEDIA_TYPE: &str = "application/at+jwt";

/// The only `alg` header we accept, as it is spelled on the wire.
const EDDSA: &str = "EdDSA";

/// The fixed start of an Ed25519 private key in PKCS#8 v1 DER (RFC 8410
/// §7); the 32-byte seed follows. jsonwebtoken's `EncodingKey::from_ed_der`
/// wants this form, not the bare seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Why a key could not be made or a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The operating system could not supply random bytes.
    #[error("cannot generate a signing key")]
    Random(#[source] getrandom::Error),
    /// The bytes are not an Ed25519 public key we can verify with.
    #[error("the public key is not a usable Ed25519 key")]
    InvalidPublicKey,
    /// Two different public keys were given the same key id.
    #[error("two different keys share the key id {0}")]
    DuplicateKeyId(String),
    /// A scope is empty or has a character RFC 6749 §3.3 forbids, such as
    /// a space that would smuggle in a second scope.
    #[error("{0:?} is not a valid OAuth scope")]
    InvalidScope(String),
    /// The client id is empty.
    #[error("the client id is empty")]
    EmptyClientId,
    /// `now` plus the token lifetime does not fit in a timestamp.
    #[error("the token lifetime overflows the clock")]
    Lifetime,
    /// So many or such long scopes that `verify` would refuse the token.
    #[error("the access token would exceed {MAX_TOKEN_LEN} bytes")]
    TooLong,
    /// jsonwebtoken could not sign the token.
    #[error("cannot sign the access token")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// Why a presented access token is refused. Each message is one short
/// ASCII sentence without quotes or backslashes, fit for the
/// `error_description` of a `WWW-Authenticate` header (RFC 6750 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("The access token is too long.")]
    TooLong,
    /// The token is not a well-formed JWS compact serialization of our
    /// shape (including `sub` differing from `client_id`, and `crit`).
    #[error("The access token is malformed.")]
    Malformed,
    /// The header names an algorithm other than EdDSA.
    #[error("The access token uses an unsupported signing algorithm.")]
    UnsupportedAlgorithm,
    /// The header has no `kid`, or one that names no key in the ring.
    #[error("The access token was signed with an unknown key.")]
    UnknownKey,
    /// The signature does not verify with the key the `kid` names.
    #[error("The access token signature is invalid.")]
    BadSignature,
    /// The `typ` header is missing or is not `at+jwt`.
    #[error("The token is not an access token.")]
    WrongType,
    /// `iss` is not this server.
    #[error("The access token was issued by another server.")]
    WrongIssuer,
    /// `aud` does not name this server.
    #[error("The access token is meant for another audience.")]
    WrongAudience,
    /// `exp` has passed, beyond the leeway.
    #[error("The access token has expired.")]
    Expired,
    /// `nbf` or `iat` lies in the future, beyond the leeway.
    #[error("The access token is not valid yet.")]
    NotYetValid,
    /// A required claim is absent.
    #[error("The access token lacks the {0} claim.")]
    MissingClaim(&'static str),
}

/// An Ed25519 key that signs access tokens. `Debug` never shows the seed.
#[derive(Clone)]
pub struct SigningKey {
    seed: [u8; 32],
    public_key: [u8; 32],
    kid: String,
    encoding_key: EncodingKey,
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, JwtError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(JwtError::Random)?;
        Ok(Self::from_seed(*seed))
    }

    /// Rebuilds a key from the seed returned by [`SigningKey::seed`].
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let public_key = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let mut der = Zeroizing::new(Vec::with_capacity(PKCS8_ED25519_PREFIX.len() + seed.len()));
        der.extend_from_slice(&PKCS8_ED25519_PREFIX);
        der.extend_from_slice(&seed);
        Self {
            seed,
            public_key,
            kid: key_id(&public_key),
            encoding_key: EncodingKey::from_ed_der(&der),
        }
    }

    /// The 32-byte secret seed, for the caller to seal and store.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The key id put in the `kid` header of every token this key signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// The public half, to keep verifying after this key is rotated out.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            kid: self.kid.clone(),
            public_key: self.public_key,
        }
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("seed", &"***")
            .finish()
    }
}

/// The key id of a public key: base64url of the first 16 bytes of its
/// SHA-256, so the same key always gets the same id.
fn key_id(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The public half of a signing key, current or retired, with its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    kid: String,
    public_key: [u8; 32],
}

impl VerifyingKey {
    /// A key read back from storage. Refuses bytes that are not a point on
    /// the curve, and the small-order points no honest key ever is.
    pub fn new(kid: impl Into<String>, public_key: [u8; 32]) -> Result<Self, JwtError> {
        let point = ed25519_dalek::VerifyingKey::from_bytes(&public_key)
            .map_err(|_| JwtError::InvalidPublicKey)?;
        if point.is_weak() {
            return Err(JwtError::InvalidPublicKey);
        }
        Ok(Self {
            kid: kid.into(),
            public_key,
        })
    }

    /// The key id tokens signed by this key carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// jsonwebtoken's EdDSA verifier reads the first 32 bytes of the key as
    /// the raw public key (not SPKI DER, despite the method's name).
    fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ed_der(&self.public_key)
    }

    /// This key as a JWK (RFC 8037 §2).
    fn to_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public_key),
            "kid": self.kid,
            "alg": EDDSA,
            "use": "sig",
        })
    }
}

/// The claims of an access token (RFC 9068 §2.2) for a vendor's API client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer: this server's URL.
    pub iss: String,
    /// The subject: the OAuth client id.
    pub sub: String,
    /// The audience the token is for (when verifying: the one it was
    /// accepted for).
    pub aud: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Not valid before, in seconds since the Unix epoch.
    pub nbf: i64,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// A unique token id, a UUIDv7.
    pub jti: String,
    /// The OAuth client id, the same as `sub`.
    pub client_id: String,
    /// The granted scopes, separated by single spaces (RFC 8693 §4.2).
    pub scope: String,
    /// The vendor the client acts for.
    pub vendor_id: VendorId,
}

impl AccessClaims {
    /// The granted scopes, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

/// Who issues tokens, for whom, for how long, and how much clock skew
/// verification forgives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The `iss` put in and required of every token.
    pub issuer: String,
    /// The `aud` put in and required of every token.
    pub audience: String,
    /// How long an issued token stays valid.
    pub ttl: Duration,
    /// Clock skew forgiven on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
}

impl TokenPolicy {
    /// The default token lifetime: 15 minutes.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);
    /// The default clock-skew leeway: 30 seconds.
    pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;

    /// A policy with the default lifetime and leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: Self::DEFAULT_TTL,
            leeway_seconds: Self::DEFAULT_LEEWAY_SECONDS,
        }
    }
}

/// The active signing key and every public key tokens may still be
/// signed with.
#[derive(Debug, Clone)]
pub struct KeyRing {
    active: SigningKey,
    /// The active key's own verifying key comes first.
    verifying: Vec<VerifyingKey>,
}

impl KeyRing {
    /// A ring that signs with `active` and verifies only its tokens.
    pub fn new(active: SigningKey) -> Self {
        let verifying = vec![active.verifying_key()];
        Self { active, verifying }
    }

    /// Also accepts tokens signed by `key`, typically one rotated out less
    /// than a token lifetime ago. Adding a key already present is a no-op;
    /// a different key under a key id already taken is refused.
    pub fn with_verifying_key(mut self, key: VerifyingKey) -> Result<Self, JwtError> {
        match self.verifying.iter().find(|k| k.kid == key.kid) {
            Some(existing) if existing.public_key == key.public_key => Ok(self),
            Some(_) => Err(JwtError::DuplicateKeyId(key.kid)),
            None => {
                self.verifying.push(key);
                Ok(self)
            }
        }
    }

    /// The key new tokens are signed with.
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// Every key tokens are verified with, the active one's first.
    pub fn verifying_keys(&self) -> &[VerifyingKey] {
        &self.verifying
    }

    /// Signs an access token for `client_id` acting for `vendor_id`,
    /// valid from `now` (seconds since the Unix epoch) for `policy.ttl`.
    /// Returns the compact JWS and the claims in it.
    pub fn issue(
        &self,
        policy: &TokenPolicy,
        client_id: &str,
        vendor_id: VendorId,
        scopes: &[String],
        now: i64,
    ) -> Result<(String, AccessClaims), JwtError> {
        if client_id.is_empty() {
            return Err(JwtError::EmptyClientId);
        }
        let mut seen = HashSet::new();
        let mut granted = Vec::with_capacity(scopes.len());
        for scope in scopes {
            if !is_scope_token(scope) {
                return Err(JwtError::InvalidScope(scope.clone()));
            }
            if seen.insert(scope.as_str()) {
                granted.push(scope.as_str());
            }
        }
        let exp = i64::try_from(policy.ttl.as_secs())
            .ok()
            .and_then(|ttl| now.checked_add(ttl))
            .ok_or(JwtError::Lifetime)?;
        let claims = AccessClaims {
            iss: policy.issuer.clone(),
            sub: client_id.to_owned(),
            aud: policy.audience.clone(),
            exp,
            nbf: now,
            iat: now,
            jti: Uuid::now_v7().to_string(),
            client_id: client_id.to_owned(),
            scope: granted.join(" "),
            vendor_id,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.active.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.active.encoding_key)
            .map_err(JwtError::Sign)?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLong);
        }
        Ok((token, claims))
    }

    /// Checks a presented token against `policy` at `now` (seconds since
    /// the Unix epoch) and returns its claims.
    pub fn verify(
        &self,
        policy: &TokenPolicy,
        token: &str,
        now: i64,
    ) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        let mut segments = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(TokenError::Malformed);
        };

        // Read the header ourselves first: jsonwebtoken cannot even parse
        // `alg: none`, and we want that refused as an algorithm, not as noise.
        let header: WireHeader = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(TokenError::Malformed)?;
        if header.alg != EDDSA {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        // We understand no JWS extension, so RFC 7515 §4.1.11 says refuse.
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.iter().find(|k| k.kid == kid))
            .ok_or(TokenError::UnknownKey)?;

        let claims = jsonwebtoken::decode::<WireClaims>(token, &key.decoding_key(), &validation())
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAlgorithm => TokenError::UnsupportedAlgorithm,
                _ => TokenError::Malformed,
            })?
            .claims;

        match header.typ.as_deref() {
            Some(typ)
                if typ == ACCESS_TOKEN_TYPE
                    || typ.eq_ignore_ascii_case(ACCESS_TOKEN_MEDIA_TYPE) => {}
            _ => return Err(TokenError::WrongType),
        }
        claims.check(policy, now)
    }

    /// The JWK Set (RFC 7517 §5) of every key tokens are verified with.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.verifying.iter().map(VerifyingKey::to_jwk).collect();
        serde_json::json!({ "keys": keys })
    }
}

/// Signature checking only: every claim rule is ours, against the
/// caller's clock, because jsonwebtoken reads the system clock and lets
/// `exp` through one second past expiry plus leeway.
fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation
}

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, RFC 6749 §3.3.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// The header fields verification looks at.
#[derive(Deserialize)]
struct WireHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// The claims as they arrive: each may be missing, so a missing one is
/// reported by name rather than as a parse failure.
#[derive(Deserialize)]
struct WireClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    vendor_id: Option<VendorId>,
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(aud) => aud == audience,
            Self::Many(auds) => auds.iter().any(|aud| aud == audience),
        }
    }
}

impl WireClaims {
    fn check(self, policy: &TokenPolicy, now: i64) -> Result<AccessClaims, TokenError> {
        use TokenError::MissingClaim;
        let iss = self.iss.ok_or(MissingClaim("iss"))?;
        let sub = self.sub.ok_or(MissingClaim("sub"))?;
        let aud = self.aud.ok_or(MissingClaim("aud"))?;
        let exp = self.exp.ok_or(MissingClaim("exp"))?;
        let nbf = self.nbf.ok_or(MissingClaim("nbf"))?;
        let iat = self.iat.ok_or(MissingClaim("iat"))?;
        let jti = self.jti.ok_or(MissingClaim("jti"))?;
        let client_id = self.client_id.ok_or(MissingClaim("client_id"))?;
        let scope = self.scope.ok_or(MissingClaim("scope"))?;
        let vendor_id = self.vendor_id.ok_or(MissingClaim("vendor_id"))?;

        if iss != policy.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if !aud.contains(&policy.audience) {
            return Err(TokenError::WrongAudience);
        }
        let leeway = i64::try_from(policy.leeway_seconds).unwrap_or(i64::MAX);
        // RFC 7519 §4.1.4: the token is expired once `now` reaches `exp`.
        if now >= exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        let latest_start = now.saturating_add(leeway);
        if nbf > latest_start || iat > latest_start {
            return Err(TokenError::NotYetValid);
        }
        // Code downstream reads either; they must not be able to disagree.
        if sub != client_id {
            return Err(TokenError::Malformed);
        }
        Ok(AccessClaims {
            iss,
            sub,
            aud: policy.audience.clone(),
            exp,
            nbf,
            iat,
            jti,
            client_id,
            scope,
            vendor_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::Signer as _;
    use serde_json::{Value, json};

    use super::*;

    const NOW: i64 = 1_750_000_000;
    const CLIENT: &str = "op_client_01";

    fn policy() -> TokenPolicy {
        TokenPolicy::new("https://onepane.test", "https://api.onepane.test")
    }

    fn vendor() -> VendorId {
        VendorId::from_uuid(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
    }

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_seed([byte; 32])
    }

    fn ring() -> KeyRing {
        KeyRing::new(key(7))
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn good_header(kid: &str) -> Value {
        json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": kid })
    }

    fn good_claims() -> Value {
        json!({
            "iss": "https://onepane.test",
            "sub": CLIENT,
            "aud": "https://api.onepane.test",
            "exp": NOW + 900,
            "nbf": NOW,
            "iat": NOW,
            "jti": "0190a000-0000-7000-8000-000000000001",
            "client_id": CLIENT,
            "scope": "leads:read",
            "vendor_id": vendor().to_string(),
        })
    }

    /// Signs any header and claims with Ed25519 directly, bypassing
    /// jsonwebtoken, the way an attacker holding a key would.
    fn forge(signer: &SigningKey, header: &Value, claims: &Value) -> String {
        let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature =
            ed25519_dalek::SigningKey::from_bytes(signer.seed()).sign(message.as_bytes());
        format!("{message}.{}", b64(signature.to_bytes()))
    }

    fn with(mut value: Value, field: &str, new: Value) -> Value {
        value[field] = new;
        value
    }

    fn without(mut value: Value, field: &str) -> Value {
        if let Value::Object(map) = &mut value {
            map.remove(field);
        }
        value
    }

    fn verify(ring: &KeyRing, token: &str) -> Result<AccessClaims, TokenError> {
        ring.verify(&policy(), token, NOW)
    }

    #[test]
    fn issued_token_round_trips_with_an_at_jwt_header() {
        let ring = ring();
        let (token, issued) = ring
            .issue(
                &policy(),
                CLIENT,
                vendor(),
                &scopes(&["leads:read", "campaigns:write"]),
                NOW,
            )
            .unwrap();

        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(ring.active().kid()));

        assert_eq!(issued.iss, "https://onepane.test");
        assert_eq!(issued.aud, "https://api.onepane.test");
        assert_eq!(issued.sub, CLIENT);
        assert_eq!(issued.client_id, CLIENT);
        assert_eq!(issued.vendor_id, vendor());
        assert_eq!(issued.scope, "leads:read campaigns:write");
        assert_eq!((issued.iat, issued.nbf, issued.exp), (NOW, NOW, NOW + 900));
        assert_eq!(Uuid::parse_str(&issued.jti).unwrap().get_version_num(), 7);

        assert_eq!(verify(&ring, &token), Ok(issued));
    }

    #[test]
    fn issued_claims_are_exactly_the_rfc_9068_set_with_vendor_id_as_a_uuid_string() {
        let (token, claims) = ring().issue(&policy(), CLIENT, vendor(), &[], NOW).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let json: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let mut names: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "aud",
                "client_id",
                "exp",
                "iat",
                "iss",
                "jti",
                "nbf",
                "scope",
                "sub",
                "vendor_id"
            ]
        );
        assert_eq!(
            json["vendor_id"],
            json!("01900000-0000-7000-8000-000000000001")
        );
        assert_eq!(json["scope"], json!(""));
        assert_eq!(claims.scopes().count(), 0);
    }

    #[test]
    fn each_issued_token_has_its_own_jti() {
        let ring = ring();
        let (_, a) = ring.issue(&policy(), CLIENT, vendor(), &[], NOW).unwrap();
        let (_, b) = ring.issue(&policy(), CLIENT, vendor(), &[], NOW).unwrap();
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn scopes_and_has_scope_read_the_space_separated_claim() {
        let (_, claims) = ring()
            .issue(
                &policy(),
                CLIENT,
                vendor(),
                &scopes(&["a:read", "b:write", "a:read"]),
                NOW,
            )
            .unwrap();
        assert_eq!(claims.scope, "a:read b:write");
        assert_eq!(claims.scopes().collect::<Vec<_>>(), ["a:read", "b:write"]);
        assert!(claims.has_scope("b:write"));
        assert!(!claims.has_scope("b"));
        assert!(!claims.has_scope(""));
    }

    #[test]
    fn a_scope_with_a_space_or_quote_or_nothing_is_not_issued() {
        for bad in ["a b", "", "say\"hi", "back\\slash", "tab\t", "caf\u{e9}"] {
            let err = ring()
                .issue(&policy(), CLIENT, vendor(), &scopes(&["ok", bad]), NOW)
                .unwrap_err();
            assert!(
                matches!(&err, JwtError::InvalidScope(s) if s == bad),
                "{bad:?}: {err:?}"
            );
        }
        assert!(matches!(
            ring().issue(&policy(), "", vendor(), &[], NOW),
            Err(JwtError::EmptyClientId)
        ));
    }

    #[test]
    fn a_lifetime_past_the_end_of_time_is_not_issued() {
        let mut policy = policy();
        policy.ttl = Duration::from_secs(u64::MAX);
        assert!(matches!(
            ring().issue(&policy, CLIENT, vendor(), &[], NOW),
            Err(JwtError::Lifetime)
        ));
    }

    #[test]
    fn a_token_too_long_to_verify_is_not_issued() {
        let many: Vec<String> = (0..1000).map(|i| format!("scope:{i}")).collect();
        assert!(matches!(
            ring().issue(&policy(), CLIENT, vendor(), &many, NOW),
            Err(JwtError::TooLong)
        ));
    }

    #[test]
    fn a_hand_forged_token_with_our_key_and_good_claims_is_accepted() {
        // Proves the forging helper is sound, so each attack below fails for
        // the one reason it changes.
        let ring = ring();
        let token = forge(
            ring.active(),
            &good_header(ring.active().kid()),
            &good_claims(),
        );
        let claims = verify(&ring, &token).unwrap();
        assert_eq!(claims.jti, "0190a000-0000-7000-8000-000000000001");
        assert!(claims.has_scope("leads:read"));
    }

    #[test]
    fn typ_may_be_the_full_media_type_in_any_case() {
        let ring = ring();
        for typ in ["application/at+jwt", "Application/AT+JWT"] {
            let header = with(good_header(ring.active().kid()), "typ", json!(typ));
            let token = forge(ring.active(), &header, &good_claims());
            assert!(verify(&ring, &token).is_ok(), "{typ}");
        }
    }

    #[test]
    fn alg_none_with_an_empty_signature_is_refused() {
        let ring = ring();
        for alg in ["none", "None", "NONE"] {
            let header = with(good_header(ring.active().kid()), "alg", json!(alg));
            let token = format!(
                "{}.{}.",
                b64(header.to_string()),
                b64(good_claims().to_string())
            );
            assert_eq!(
                verify(&ring, &token),
                Err(TokenError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn a_header_naming_rs256_or_es256_or_ed25519_is_refused() {
        let ring = ring();
        for alg in ["RS256", "ES256", "PS256", "Ed25519", "eddsa"] {
            let header = with(good_header(ring.active().kid()), "alg", json!(alg));
            let token = forge(ring.active(), &header, &good_claims());
            assert_eq!(
                verify(&ring, &token),
                Err(TokenError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        let header = without(good_header(ring.active().kid()), "alg");
        let token = forge(ring.active(), &header, &good_claims());
        assert_eq!(verify(&ring, &token), Err(TokenError::Malformed));
    }

    #[test]
    fn hs256_keyed_with_our_public_key_is_refused() {
        // The classic confusion: an attacker MACs the token with the public
        // key, hoping the verifier feeds its public key to HMAC.
        let ring = ring();
        let public = ring.active().public_key();
        let x = b64(public);
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(ring.active().kid().to_owned());
        for secret in [&public[..], x.as_bytes()] {
            let token =
                jsonwebtoken::encode(&header, &good_claims(), &EncodingKey::from_secret(secret))
                    .unwrap();
            assert_eq!(verify(&ring, &token), Err(TokenError::UnsupportedAlgorithm));

            // And jsonwebtoken itself, reached past our header check, refuses it too.
            let err = jsonwebtoken::decode::<Value>(
                &token,
                &DecodingKey::from_ed_der(&public),
                &validation(),
            )
            .unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm);
        }
    }

    #[test]
    fn a_token_signed_by_another_key_under_our_kid_is_refused() {
        let ring = ring();
        let token = forge(&key(9), &good_header(ring.active().kid()), &good_claims());
        assert_eq!(verify(&ring, &token), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_whose_kid_names_no_key_in_the_ring_is_refused() {
        let ring = ring();
        let stranger = key(9);
        let token = forge(&stranger, &good_header(stranger.kid()), &good_claims());
        assert_eq!(verify(&ring, &token), Err(TokenError::UnknownKey));

        let header = without(good_header(ring.active().kid()), "kid");
        let token = forge(ring.active(), &header, &good_claims());
        assert_eq!(verify(&ring, &token), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let ring = ring();
        let (token, _) = ring
            .issue(&policy(), CLIENT, vendor(), &scopes(&["leads:read"]), NOW)
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["scope"] = json!("leads:read admin");
        let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);
        assert_eq!(verify(&ring, &tampered), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_signature_of_the_wrong_length_or_encoding_is_refused() {
        let ring = ring();
        let (token, _) = ring.issue(&policy(), CLIENT, vendor(), &[], NOW).unwrap();
        let (message, _) = token.rsplit_once('.').unwrap();
        assert_eq!(
            verify(&ring, &format!("{message}.{}", b64([0u8; 63]))),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(&ring, &format!("{message}.")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(&ring, &format!("{message}.!!!!")),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let ring = ring();
        let claims = with(good_claims(), "aud", json!("https://other.example"));
        let token = forge(ring.active(), &good_header(ring.active().kid()), &claims);
        assert_eq!(verify(&ring, &token), Err(TokenError::WrongAudience));

        let claims = with(good_claims(), "aud", json!(["https://other.example"]));
        let token = forge(ring.active(), &good_header(ring.active().kid()), &claims);
        assert_eq!(verify(&ring, &token), Err(TokenError::WrongAudience));
    }

    #[test]
    fn an_audience_array_naming_us_is_accepted() {
        let ring = ring();
        let claims = with(
            good_claims(),
            "aud",
            json!(["https://other.example", "https://api.onepane.test"]),
        );
        let token = forge(ring.active(), &good_header(ring.active().kid()), &claims);
        assert_eq!(
            verify(&ring, &token).unwrap().aud,
            "https://api.onepane.test"
        );
    }

    #[test]
    fn a_token_from_another_issuer_is_refused() {
        let ring = ring();
        let claims = with(good_claims(), "iss", json!("https://evil.example"));
        let token = forge(ring.active(), &good_header(ring.active().kid()), &claims);
        assert_eq!(verify(&ring, &token), Err(TokenError::WrongIssuer));
    }

    #[test]
    fn an_expired_token_is_refused_once_the_leeway_is_spent() {
        let ring = ring();
        let (token, claims) = ring.issue(&policy(), CLIENT, vendor(), &[], NOW).unwrap();
        let leeway = 30;
        assert!(ring.verify(&policy(), &token, claims.exp).is_ok());
        assert!(
            ring.verify(&policy(), &token, claims.exp + leeway - 1)
                .is_ok()
        );
        assert_eq!(
            ring.verify(&policy(), &token, claims.exp + leeway),
            Err(TokenError::Expired)
        );
        let strict = TokenPolicy {
            leeway_seconds: 0,
            ..policy()
        };
        assert_eq!(
            ring.verify(&strict, &token, claims.exp),
            Err(TokenError::Expired)
        );
        assert!(ring.verify(&strict, &token, claims.exp - 1).is_ok());
    }

    #[test]
    fn a_token_not_valid_until_later_is_refused() {
        let ring = ring();
        let kid = ring.active().kid().to_owned();
        let claims = with(good_claims(), "nbf", json!(NOW + 31));
        let token = forge(ring.active(), &good_header(&kid), &claims);
        assert_eq!(verify(&ring, &token), Err(TokenError::NotYetValid));
        assert!(ring.verify(&policy(), &token, NOW + 1).is_ok());

        let claims = with(good_claims(), "iat", json!(NOW + 31));
        let token = forge(ring.active(), &good_header(&kid), &claims);
        assert_eq!(verify(&ring, &token), Err(TokenError::NotYetValid));

        let claims = with(good_claims(), "nbf", json!(NOW + 30));
        let token = forge(ring.active(), &good_header(&kid), &claims);
        assert!(verify(&ring, &token).is_ok());
    }

    #[test]
    fn a_token_without_the_at_jwt_type_is_refused() {
        let ring = ring();
        let kid = ring.active().kid().to_owned();
        let token = forge(
            ring.active(),
            &without(good_header(&kid), "typ"),
            &good_claims(),
        );
        assert_eq!(verify(&ring, &token), Err(TokenError::WrongType));
        for typ in ["JWT", "jwt", "AT+JWT", "at+jwt ", "application/jwt"] {
            let token = forge(
                ring.active(),
                &with(good_header(&kid), "typ", json!(typ)),
                &good_claims(),
            );
            assert_eq!(verify(&ring, &token), Err(TokenError::WrongType), "{typ}");
        }
    }

    #[test]
    fn every_claim_we_issue_is_required() {
        let ring = ring();
        let kid = ring.active().kid().to_owned();
        for claim in [
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "jti",
            "client_id",
            "scope",
            "vendor_id",
        ] {
            let token = forge(
                ring.active(),
                &good_header(&kid),
                &without(good_claims(), claim),
            );
            let expected = Err(TokenError::MissingClaim(claim));
            assert_eq!(verify(&ring, &token), expected, "{claim}");
            let token = forge(
                ring.active(),
                &good_header(&kid),
                &with(good_claims(), claim, Value::Null),
            );
            assert_eq!(verify(&ring, &token), expected, "{claim}: null");
        }
    }

    #[test]
    fn claims_of_the_wrong_type_are_malformed() {
        let ring = ring();
        let kid = ring.active().kid().to_owned();
        for (claim, value) in [
            ("exp", json!("1750000900")),
            ("exp", json!(1_750_000_900.5)),
            ("vendor_id", json!("not-a-uuid")),
            ("scope", json!(["leads:read"])),
            ("client_id", json!("someone_else")),
        ] {
            let token = forge(
                ring.active(),
                &good_header(&kid),
                &with(good_claims(), claim, value),
            );
            assert_eq!(verify(&ring, &token), Err(TokenError::Malformed), "{claim}");
        }
    }

    #[test]
    fn a_critical_header_extension_is_refused() {
        let ring = ring();
        let header = with(good_header(ring.active().kid()), "crit", json!(["exp"]));
        let token = forge(ring.active(), &header, &good_claims());
        assert_eq!(verify(&ring, &token), Err(TokenError::Malformed));
    }

    #[test]
    fn an_oversize_token_is_refused_before_parsing() {
        let ring = ring();
        let padding = "x".repeat(MAX_TOKEN_LEN);
        let claims = with(good_claims(), "pad", json!(padding));
        let token = forge(ring.active(), &good_header(ring.active().kid()), &claims);
        assert_eq!(verify(&ring, &token), Err(TokenError::TooLong));
        assert_eq!(
            verify(&ring, &"a".repeat(MAX_TOKEN_LEN + 1)),
            Err(TokenError::TooLong)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let ring = ring();
        let json_header = b64(good_header(ring.active().kid()).to_string());
        for garbage in [
            String::new(),
            "garbage".to_owned(),
            "a.b".to_owned(),
            "a.b.c".to_owned(),
            "a.b.c.d".to_owned(),
            "..".to_owned(),
            format!("{json_header}.{json_header}"),
            format!("{}.e30.", b64("not json")),
            format!("{json_header}=.e30.AAAA"),
            format!("{}.e30.", b64("[1,2]")),
        ] {
            assert_eq!(
                verify(&ring, &garbage),
                Err(TokenError::Malformed),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn a_signed_payload_that_is_not_json_is_malformed() {
        let ring = ring();
        let message = format!(
            "{}.{}",
            b64(good_header(ring.active().kid()).to_string()),
            b64("nope")
        );
        let signature =
            ed25519_dalek::SigningKey::from_bytes(ring.active().seed()).sign(message.as_bytes());
        let token = format!("{message}.{}", b64(signature.to_bytes()));
        assert_eq!(verify(&ring, &token), Err(TokenError::Malformed));
    }

    #[test]
    fn after_rotation_tokens_of_the_retired_key_verify_only_while_it_is_kept() {
        let old = key(1);
        let (token, claims) = KeyRing::new(old.clone())
            .issue(&policy(), CLIENT, vendor(), &[], NOW)
            .unwrap();

        let retired = VerifyingKey::new(old.kid(), old.public_key()).unwrap();
        let keeping = KeyRing::new(key(2)).with_verifying_key(retired).unwrap();
        assert_eq!(verify(&keeping, &token), Ok(claims));
        let (new_token, _) = keeping
            .issue(&policy(), CLIENT, vendor(), &[], NOW)
            .unwrap();
        assert_eq!(kid_of(&new_token), Some(keeping.active().kid().to_owned()));

        let forgetting = KeyRing::new(key(2));
        assert_eq!(verify(&forgetting, &token), Err(TokenError::UnknownKey));
    }

    fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).unwrap().kid
    }

    #[test]
    fn jwks_lists_every_verifying_key_as_an_okp_jwk() {
        let old = key(1);
        let ring = KeyRing::new(key(2))
            .with_verifying_key(old.verifying_key())
            .unwrap();
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for (jwk, signer) in keys.iter().zip([ring.active(), &old]) {
            assert_eq!(
                jwk,
                &json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64(signer.public_key()),
                    "kid": signer.kid(),
                    "alg": "EdDSA",
                    "use": "sig",
                })
            );
            let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
            assert_eq!(x, signer.public_key());
        }
        assert_eq!(jwks.as_object().unwrap().len(), 1);
    }

    #[test]
    fn a_published_jwk_verifies_our_tokens_through_jsonwebtoken() {
        let ring = ring();
        let (token, _) = ring.issue(&policy(), CLIENT, vendor(), &[], NOW).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(ring.jwks()["keys"][0].clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        assert!(jsonwebtoken::decode::<Value>(&token, &key, &validation()).is_ok());
    }

    #[test]
    fn a_ring_refuses_a_second_key_under_a_taken_kid_and_ignores_repeats() {
        let ring = ring();
        let impostor = VerifyingKey::new(ring.active().kid(), key(9).public_key()).unwrap();
        assert!(matches!(
            ring.clone().with_verifying_key(impostor),
            Err(JwtError::DuplicateKeyId(kid)) if kid == ring.active().kid()
        ));
        let same = ring
            .clone()
            .with_verifying_key(ring.active().verifying_key())
            .unwrap();
        assert_eq!(same.verifying_keys().len(), 1);
    }

    #[test]
    fn a_verifying_key_must_be_a_real_curve_point() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            VerifyingKey::new("k", identity),
            Err(JwtError::InvalidPublicKey)
        ));
        assert!(matches!(
            VerifyingKey::new("k", [0u8; 32]),
            Err(JwtError::InvalidPublicKey)
        ));
        assert!(VerifyingKey::new("k", key(3).public_key()).is_ok());
    }

    #[test]
    fn a_key_is_fully_determined_by_its_seed() {
        let a = SigningKey::from_seed([5; 32]);
        let b = SigningKey::from_seed(*a.seed());
        assert_eq!(a.seed(), &[5; 32]);
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.kid(), b.kid());
        assert_eq!(a.kid().len(), 22);
        let digest = Sha256::digest(a.public_key());
        assert_eq!(URL_SAFE_NO_PAD.decode(a.kid()).unwrap(), &digest[..16]);
        assert_ne!(a.kid(), key(6).kid());
    }

    #[test]
    fn generated_keys_differ_and_sign_verifiable_tokens() {
        let a = SigningKey::generate().unwrap();
        let b = SigningKey::generate().unwrap();
        assert_ne!(a.seed(), b.seed());
        assert_ne!(a.kid(), b.kid());
        let ring = KeyRing::new(a);
        let (token, claims) = ring.issue(&policy(), CLIENT, vendor(), &[], NOW).unwrap();
        assert_eq!(verify(&ring, &token), Ok(claims));
    }

    #[test]
    fn debug_shows_the_kid_but_never_the_seed() {
        let key = SigningKey::from_seed([0xab; 32]);
        for shown in [
            format!("{key:?}"),
            format!("{:?}", KeyRing::new(key.clone())),
        ] {
            assert!(shown.contains(key.kid()), "{shown}");
            assert!(shown.contains("***"), "{shown}");
            assert!(!shown.contains("171"), "{shown}");
            assert!(!shown.to_lowercase().contains("abab"), "{shown}");
            assert!(!shown.contains(&b64([0xab; 32])[..8]), "{shown}");
        }
    }

    #[test]
    fn jsonwebtoken_wants_pkcs8_to_sign_and_the_raw_public_key_to_verify() {
        let key = key(4);
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(key.seed());
        // Our hand-built DER is the key ed25519-dalek's own parser sees.
        let parsed =
            <ed25519_dalek::SigningKey as ed25519_dalek::pkcs8::DecodePrivateKey>::from_pkcs8_der(
                &der,
            )
            .unwrap();
        assert_eq!(parsed.verifying_key().to_bytes(), key.public_key());

        let header = Header::new(Algorithm::EdDSA);
        // The bare seed is refused for signing...
        let err = jsonwebtoken::encode(&header, &json!({}), &EncodingKey::from_ed_der(key.seed()))
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidEddsaKey);
        let token =
            jsonwebtoken::encode(&header, &json!({}), &EncodingKey::from_ed_der(&der)).unwrap();
        // ...and verifying wants the 32 raw bytes: an SPKI DER key (RFC 8410)
        // is silently cut to its first 32 bytes and so never matches.
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(&key.public_key());
        let raw = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_ed_der(&key.public_key()),
            &validation(),
        );
        assert!(raw.is_ok(), "{raw:?}");
        let der =
            jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_ed_der(&spki), &validation());
        assert!(der.is_err());
    }

    #[test]
    fn refusal_messages_fit_a_www_authenticate_header() {
        for error in [
            TokenError::TooLong,
            TokenError::Malformed,
            TokenError::UnsupportedAlgorithm,
            TokenError::UnknownKey,
            TokenError::BadSignature,
            TokenError::WrongType,
            TokenError::WrongIssuer,
            TokenError::WrongAudience,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::MissingClaim("client_id"),
        ] {
            let message = error.to_string();
            // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
            assert!(
                message
                    .bytes()
                    .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)),
                "{message}"
            );
            assert!(message.ends_with('.'), "{message}");
        }
        assert_eq!(
            TokenError::MissingClaim("exp").to_string(),
            "The access token lacks the exp claim."
        );
    }
}
