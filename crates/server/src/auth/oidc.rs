//! Signing in with a workspace's OpenID Connect provider, the relying
//! party's side: discovery, the authorization request (code flow with PKCE
//! S256, a random `state` and `nonce`), the code exchange, and the ID
//! token's verification against the keys the provider publishes.
//!
//! Every request to the provider goes through the outbound address policy
//! (no private networks unless allowed, no redirects followed) with a short
//! timeout and a cap on what is read. Discovery documents and key sets are
//! kept in memory for a few minutes; a token signed by a key not in the
//! kept set makes the set be fetched again (at most every half minute).
//!
//! [`verify_id_token`] takes nothing from the token on trust: the algorithm
//! must fit the key the `kid` names (RSA, P-256/P-384 or Ed25519; never
//! `none` or a shared-secret HMAC), and the issuer, audience, authorized
//! party, times and nonce are checked against what the caller expects, with
//! the caller's clock.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse as _,
    TokenUrl,
};
use onepane_connector::{AddressPolicy, ClientConfig, HttpClient, HttpError, Secret};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};

use crate::auth::credentials::random_secret;

/// How long a discovery document is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(300);
/// How long a key set is reused.
const KEYS_TTL: Duration = Duration::from_secs(600);
/// The least time between two fetches of a key set for an unknown `kid`.
const KEYS_REFETCH: Duration = Duration::from_secs(30);
/// How long a request to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the provider.
const MAX_ANSWER: usize = 256 * 1024;
/// The longest ID token looked at.
const MAX_ID_TOKEN: usize = 16 * 1024;
/// Entries kept per cache before it is emptied.
const CACHE_ENTRIES: usize = 256;

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub const LEEWAY: i64 = 60;
/// The oldest `iat` accepted: the code was just exchanged, so the token is
/// fresh; this also bounds how long a stolen token could be replayed.
pub const MAX_TOKEN_AGE: i64 = 600;

/// Why a sign-in with the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The issuer is not an identifier we accept.
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    /// The provider could not be reached, or answered with an error.
    #[error("{what}: {source}")]
    Unreachable {
        /// What was asked.
        what: &'static str,
        /// How it failed.
        #[source]
        source: HttpError,
    },
    /// The provider answered something other than what the standard says.
    #[error("{0}")]
    Provider(String),
    /// The code exchange was refused or failed.
    #[error("the token endpoint refused the code: {0}")]
    Token(String),
    /// The ID token is not acceptable.
    #[error("the ID token is refused: {0}")]
    IdToken(#[from] IdTokenError),
    /// Random bytes could not be had.
    #[error("cannot generate a random value")]
    Random(#[source] crate::auth::credentials::CredentialError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] HttpError),
}

/// Why an issuer identifier is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    /// Not a URL.
    #[error("the issuer is not a URL")]
    NotUrl,
    /// Plain http to a host other than this machine.
    #[error(
        "the issuer must be an https URL (http only for this machine: localhost, 127.0.0.1, [::1])"
    )]
    NotHttps,
    /// It has a query, a fragment or credentials.
    #[error("the issuer must not have a query, a fragment or a user name")]
    Extra,
}

/// A provider's issuer identifier, kept exactly as configured: the
/// discovery document and every ID token must name it character for
/// character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    text: String,
    url: url::Url,
}

impl Issuer {
    /// An https URL without query or fragment; http only to a loopback host
    /// (tests and development).
    pub fn parse(input: &str) -> Result<Issuer, IssuerError> {
        let text = input.trim();
        let url = url::Url::parse(text).map_err(|_| IssuerError::NotUrl)?;
        if url.host().is_none() {
            return Err(IssuerError::NotUrl);
        }
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
            || text.ends_with('?')
            || text.ends_with('#')
        {
            return Err(IssuerError::Extra);
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => return Err(IssuerError::NotHttps),
        }
        Ok(Issuer {
            text: text.to_owned(),
            url,
        })
    }

    /// The identifier as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Where its discovery document is (OpenID Connect Discovery 1.0 §4:
    /// a trailing `/` is removed before the well-known path is added).
    pub fn discovery_url(&self) -> Result<url::Url, IssuerError> {
        let base = self.text.trim_end_matches('/');
        url::Url::parse(&format!("{base}/.well-known/openid-configuration"))
            .map_err(|_| IssuerError::NotUrl)
    }

    /// Whether an endpoint the provider names may be used: https, or http
    /// when the issuer itself is plain http on this machine.
    fn allows(&self, endpoint: &url::Url) -> bool {
        match endpoint.scheme() {
            "https" => true,
            "http" => self.url.scheme() == "http" && is_loopback(endpoint),
            _ => false,
        }
    }
}

impl std::fmt::Display for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// What a provider's discovery document says that sign-in needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer identifier, which must be the configured one exactly.
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: url::Url,
    /// Where the code is exchanged.
    pub token_endpoint: url::Url,
    /// The provider's signing keys.
    pub jwks_uri: url::Url,
    /// Where claims missing from the ID token can be read.
    #[serde(default)]
    pub userinfo_endpoint: Option<url::Url>,
    /// How clients authenticate at the token endpoint; absent means
    /// `client_secret_basic`.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// The response types it supports (`code` is needed).
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// Whether it names itself in the authorization response (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl ProviderMetadata {
    /// How the portal authenticates at the token endpoint.
    fn client_auth(&self) -> Result<AuthType, OidcError> {
        let Some(methods) = &self.token_endpoint_auth_methods_supported else {
            return Ok(AuthType::BasicAuth);
        };
        if methods.iter().any(|m| m == "client_secret_basic") {
            Ok(AuthType::BasicAuth)
        } else if methods.iter().any(|m| m == "client_secret_post") {
            Ok(AuthType::RequestBody)
        } else {
            Err(OidcError::Provider(format!(
                "the token endpoint supports neither client_secret_basic nor client_secret_post (it lists {})",
                methods.join(", ")
            )))
        }
    }

    /// Checks the document against the issuer it was fetched for.
    fn check(&self, issuer: &Issuer) -> Result<(), OidcError> {
        if self.issuer != issuer.as_str() {
            return Err(OidcError::Provider(format!(
                "the discovery document names the issuer {:?}, not {:?}; use exactly the provider's value",
                self.issuer,
                issuer.as_str()
            )));
        }
        for (name, url) in [
            ("authorization_endpoint", Some(&self.authorization_endpoint)),
            ("token_endpoint", Some(&self.token_endpoint)),
            ("jwks_uri", Some(&self.jwks_uri)),
            ("userinfo_endpoint", self.userinfo_endpoint.as_ref()),
        ] {
            if let Some(url) = url
                && !issuer.allows(url)
            {
                return Err(OidcError::Provider(format!(
                    "the discovery document's {name} is not an https URL"
                )));
            }
        }
        if !self.response_types_supported.is_empty()
            && !self.response_types_supported.iter().any(|t| t == "code")
        {
            return Err(OidcError::Provider(
                "the provider does not support the authorization code flow".into(),
            ));
        }
        self.client_auth().map(|_| ())
    }
}

/// The portal as a client of one provider.
#[derive(Debug, Clone)]
pub struct RelyingPartyClient {
    /// The client id.
    pub client_id: String,
    /// The client secret (the code exchange needs it; the authorization
    /// request does not).
    pub client_secret: Option<Secret>,
    /// Where the provider sends the browser back.
    pub redirect: url::Url,
}

/// Where the browser goes to sign in, and what to keep until it returns.
#[derive(Debug)]
pub struct Authorization {
    /// The provider's authorization URL.
    pub url: url::Url,
    /// The `state` sent.
    pub state: Secret,
    /// The `nonce` sent.
    pub nonce: Secret,
    /// The PKCE verifier, for the code exchange.
    pub verifier: Secret,
}

/// What the token endpoint answered.
#[derive(Debug)]
pub struct Tokens {
    /// The ID token, not yet verified.
    pub id_token: Secret,
    /// The access token (for the userinfo endpoint).
    pub access_token: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    id_token: String,
}

impl ExtraTokenFields for IdTokenField {}

type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What a verified ID token says about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's id for the user.
    pub subject: String,
    /// The email, when the token (or the userinfo endpoint) has one.
    pub email: Option<String>,
    /// Whether the provider says it verified the email, when it says.
    pub email_verified: Option<bool>,
}

/// What the ID token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The issuer, exactly.
    pub issuer: &'a str,
    /// The client id, which must be an audience.
    pub client_id: &'a str,
    /// The SHA-256 digest of the nonce sent.
    pub nonce_digest: &'a [u8],
    /// Now, in seconds since the Unix epoch.
    pub now: i64,
}

/// Why an ID token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Not a compact JWS, or its algorithm is not one we know (`none`
    /// among them).
    #[error("it is not a signed JWT with a known algorithm")]
    Malformed,
    /// Signed with a shared secret (HS256 and the like).
    #[error("{0:?} signatures are not accepted")]
    Algorithm(Algorithm),
    /// No key of the provider's fits the token's `kid` and algorithm.
    #[error("no key of the provider's fits (kid {0:?})")]
    UnknownKey(Option<String>),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    Signature,
    /// The claims are not what an ID token has.
    #[error("its claims are malformed: {0}")]
    Claims(String),
    /// Another issuer.
    #[error("it was issued by {0:?}")]
    Issuer(String),
    /// Not for this client.
    #[error("it is not for this client")]
    Audience,
    /// Past its expiry.
    #[error("it has expired")]
    Expired,
    /// Issued in the future, or too long ago.
    #[error("its issue time is out of range")]
    IssuedAt,
    /// Not valid yet.
    #[error("it is not valid yet")]
    NotYet,
    /// Not the nonce this sign-in sent.
    #[error("its nonce is not the one sent")]
    Nonce,
}

/// A number of seconds (`NumericDate`), which may have a fraction.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = f64::deserialize(d)?;
    if n.is_finite() {
        // Whole seconds; the fraction does not matter at our leeway.
        Ok(n.floor() as i64)
    } else {
        Err(serde::de::Error::custom("not a number of seconds"))
    }
}

fn optional_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "numeric_date")] i64);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(a) => vec![a],
        Aud::Many(a) => a,
    })
}

/// `email_verified` as a boolean, or the string some providers send.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(d)? {
        None => None,
        Some(Flag::Bool(b)) => Some(b),
        Some(Flag::Text(t)) if t.eq_ignore_ascii_case("true") => Some(true),
        Some(Flag::Text(_)) => Some(false),
    })
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    #[serde(deserialize_with = "one_or_many")]
    aud: Vec<String>,
    #[serde(deserialize_with = "numeric_date")]
    exp: i64,
    #[serde(deserialize_with = "numeric_date")]
    iat: i64,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    nbf: Option<i64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    email_verified: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    email_verified: Option<bool>,
}

/// The signing keys of a provider, those we can use.
#[derive(Debug, Clone, Default)]
pub struct ProviderKeys {
    keys: Vec<Jwk>,
}

impl ProviderKeys {
    /// The usable keys of a JWK Set document: keys for encryption, of
    /// unknown types and shared secrets are left out (one such key does not
    /// make the set unreadable).
    pub fn from_document(body: &[u8]) -> Result<ProviderKeys, String> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let doc: Document = serde_json::from_slice(body)
            .map_err(|e| format!("the key set is not a JWK Set: {e}"))?;
        let keys = doc
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
            .filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
            .filter(|k| {
                !matches!(
                    k.common.public_key_use,
                    Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
                )
            })
            .collect();
        Ok(ProviderKeys { keys })
    }

    /// Whether a key has this id.
    fn has(&self, kid: Option<&str>) -> bool {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .any(|k| k.common.key_id.as_deref() == Some(kid)),
            None => !self.keys.is_empty(),
        }
    }
}

/// Whether a key may verify a signature of `alg`: its type and curve must
/// fit, and so must its own `alg` when it names one.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let by_type = match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => true,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES384) => p.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(p), Algorithm::EdDSA) => {
            p.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    let by_alg = match jwk.common.key_algorithm {
        None => true,
        Some(k) => key_algorithm(alg) == Some(k),
    };
    by_type && by_alg
}

fn key_algorithm(alg: Algorithm) -> Option<KeyAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => KeyAlgorithm::RS256,
        Algorithm::RS384 => KeyAlgorithm::RS384,
        Algorithm::RS512 => KeyAlgorithm::RS512,
        Algorithm::PS256 => KeyAlgorithm::PS256,
        Algorithm::PS384 => KeyAlgorithm::PS384,
        Algorithm::PS512 => KeyAlgorithm::PS512,
        Algorithm::ES256 => KeyAlgorithm::ES256,
        Algorithm::ES384 => KeyAlgorithm::ES384,
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
    })
}

/// Verifies an ID token (OpenID Connect Core 1.0 §3.1.3.7) against the
/// provider's keys and what this sign-in expects.
pub fn verify_id_token(
    token: &str,
    keys: &ProviderKeys,
    expected: &Expected<'_>,
) -> Result<Identity, IdTokenError> {
    if token.len() > MAX_ID_TOKEN {
        return Err(IdTokenError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    let alg = header.alg;
    if key_algorithm(alg).is_none() {
        return Err(IdTokenError::Algorithm(alg));
    }
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|k| match &header.kid {
            Some(kid) => k.common.key_id.as_deref() == Some(kid.as_str()),
            None => true,
        })
        .filter(|k| fits(k, alg))
        .collect();
    if candidates.is_empty() {
        return Err(IdTokenError::UnknownKey(header.kid));
    }
    // Only the signature and algorithm here; every claim is checked below
    // with the caller's clock.
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut claims = None;
    let mut malformed = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        match jsonwebtoken::decode::<IdClaims>(token, &key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind as K;
                if let K::Json(j) = e.kind() {
                    malformed = Some(j.to_string());
                }
            }
        }
    }
    let claims = match (claims, malformed) {
        (Some(c), _) => c,
        (None, Some(why)) => return Err(IdTokenError::Claims(why)),
        (None, None) => return Err(IdTokenError::Signature),
    };
    if claims.iss != expected.issuer {
        return Err(IdTokenError::Issuer(claims.iss));
    }
    if !claims.aud.iter().any(|a| a == expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    // Several audiences: the token must say it was issued to us (§3.1.3.7
    // items 4 and 5); an `azp` naming another client is refused always.
    match &claims.azp {
        Some(azp) if azp != expected.client_id => return Err(IdTokenError::Audience),
        None if claims.aud.len() > 1 => return Err(IdTokenError::Audience),
        _ => {}
    }
    let now = expected.now;
    if claims.exp <= now - LEEWAY {
        return Err(IdTokenError::Expired);
    }
    if claims.iat > now + LEEWAY || claims.iat < now - MAX_TOKEN_AGE - LEEWAY {
        return Err(IdTokenError::IssuedAt);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY) {
        return Err(IdTokenError::NotYet);
    }
    let nonce_ok = claims.nonce.as_deref().is_some_and(|n| {
        let digest = Sha256::digest(n.as_bytes());
        crate::auth::credentials::same_digest(&digest, expected.nonce_digest)
    });
    if !nonce_ok {
        return Err(IdTokenError::Nonce);
    }
    if claims.sub.is_empty() {
        return Err(IdTokenError::Claims("the subject is empty".into()));
    }
    Ok(Identity {
        subject: claims.sub,
        email: claims.email,
        email_verified: claims.email_verified,
    })
}

struct Kept<T> {
    at: Instant,
    value: Arc<T>,
}

/// The portal's OpenID Connect client for every workspace's provider.
pub struct RelyingParty {
    /// For discovery, keys and userinfo: one retry.
    fetch: HttpClient,
    /// For the code exchange: no retry, a code works once.
    post: HttpClient,
    discovery: Mutex<HashMap<String, Kept<ProviderMetadata>>>,
    keys: Mutex<HashMap<String, Kept<ProviderKeys>>>,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty").finish_non_exhaustive()
    }
}

fn cached<T>(map: &Mutex<HashMap<String, Kept<T>>>, key: &str, ttl: Duration) -> Option<Arc<T>> {
    let map = map.lock().ok()?;
    map.get(key)
        .filter(|k| k.at.elapsed() < ttl)
        .map(|k| Arc::clone(&k.value))
}

fn keep<T>(map: &Mutex<HashMap<String, Kept<T>>>, key: &str, value: Arc<T>) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= CACHE_ENTRIES {
            map.clear();
        }
        map.insert(
            key.to_owned(),
            Kept {
                at: Instant::now(),
                value,
            },
        );
    }
}

impl RelyingParty {
    /// A client whose requests may reach what `addresses` permits.
    pub fn new(addresses: AddressPolicy) -> Result<RelyingParty, OidcError> {
        let config = |attempts| ClientConfig {
            timeout: TIMEOUT,
            max_attempts: attempts,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(2),
            max_response_bytes: MAX_ANSWER,
            addresses: addresses.clone(),
        };
        Ok(RelyingParty {
            fetch: HttpClient::new(config(2)).map_err(OidcError::Client)?,
            post: HttpClient::new(config(1)).map_err(OidcError::Client)?,
            discovery: Mutex::default(),
            keys: Mutex::default(),
        })
    }

    async fn get_json(
        &self,
        what: &'static str,
        url: &url::Url,
        bearer: Option<&Secret>,
    ) -> Result<Vec<u8>, OidcError> {
        let fetched = self
            .fetch
            .send(None, |c| {
                let request = c
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json");
                match bearer {
                    Some(token) => request.bearer_auth(token.expose()),
                    None => request,
                }
            })
            .await
            .map_err(|source| OidcError::Unreachable { what, source })?;
        if !fetched.status.is_success() {
            return Err(OidcError::Provider(format!(
                "{what}: {} answered {}",
                url.as_str(),
                fetched.status
            )));
        }
        Ok(fetched.body)
    }

    /// The provider's discovery document, fetched now (and kept).
    #[tracing::instrument(skip(self), fields(issuer = %issuer))]
    pub async fn discover_now(&self, issuer: &Issuer) -> Result<Arc<ProviderMetadata>, OidcError> {
        let url = issuer.discovery_url()?;
        let body = self
            .get_json("fetching the discovery document", &url, None)
            .await?;
        let metadata: ProviderMetadata = serde_json::from_slice(&body).map_err(|e| {
            OidcError::Provider(format!(
                "{} is not an OpenID Connect discovery document: {e}",
                url.as_str()
            ))
        })?;
        metadata.check(issuer)?;
        let metadata = Arc::new(metadata);
        keep(&self.discovery, issuer.as_str(), Arc::clone(&metadata));
        Ok(metadata)
    }

    /// The provider's discovery document, kept for a few minutes.
    pub async fn discover(&self, issuer: &Issuer) -> Result<Arc<ProviderMetadata>, OidcError> {
        match cached(&self.discovery, issuer.as_str(), DISCOVERY_TTL) {
            Some(m) => Ok(m),
            None => self.discover_now(issuer).await,
        }
    }

    /// Where to send the browser: the code flow with PKCE S256, a fresh
    /// `state` and `nonce` (256 random bits each), asking for `openid email`.
    pub fn authorization(
        &self,
        metadata: &ProviderMetadata,
        client: &RelyingPartyClient,
        login_hint: Option<&str>,
    ) -> Result<Authorization, OidcError> {
        let state = random_secret("").map_err(OidcError::Random)?;
        let nonce = random_secret("").map_err(OidcError::Random)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let oauth = oauth_client(metadata, client)?;
        let sent_state = state.clone();
        let mut request = oauth
            .authorize_url(move || CsrfToken::new(sent_state))
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce.clone());
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, _) = request.url();
        Ok(Authorization {
            url,
            state: Secret::new(state),
            nonce: Secret::new(nonce),
            verifier: Secret::new(verifier.secret().clone()),
        })
    }

    /// Exchanges the code (with the PKCE verifier) for tokens.
    #[tracing::instrument(skip_all, fields(token_endpoint = %metadata.token_endpoint))]
    pub async fn exchange(
        &self,
        metadata: &ProviderMetadata,
        client: &RelyingPartyClient,
        code: &str,
        verifier: &Secret,
    ) -> Result<Tokens, OidcError> {
        let oauth = oauth_client(metadata, client)?;
        let http = Guarded(&self.post);
        let answer = oauth
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| OidcError::Token(token_error(e)))?;
        Ok(Tokens {
            id_token: Secret::new(answer.extra_fields().id_token.clone()),
            access_token: Secret::new(answer.access_token().secret().clone()),
        })
    }

    /// The provider's keys, fetched again when none has the token's `kid`.
    async fn keys_for(
        &self,
        metadata: &ProviderMetadata,
        kid: Option<&str>,
    ) -> Result<Arc<ProviderKeys>, OidcError> {
        let uri = metadata.jwks_uri.as_str();
        let kept = self.keys.lock().ok().and_then(|map| {
            map.get(uri)
                .filter(|k| k.at.elapsed() < KEYS_TTL)
                .map(|k| (Arc::clone(&k.value), k.at.elapsed()))
        });
        if let Some((keys, age)) = kept
            && (keys.has(kid) || age < KEYS_REFETCH)
        {
            return Ok(keys);
        }
        let body = self
            .get_json("fetching the provider's keys", &metadata.jwks_uri, None)
            .await?;
        let keys = Arc::new(ProviderKeys::from_document(&body).map_err(OidcError::Provider)?);
        keep(&self.keys, uri, Arc::clone(&keys));
        Ok(keys)
    }

    /// Verifies the ID token with the provider's keys.
    pub async fn verify(
        &self,
        metadata: &ProviderMetadata,
        id_token: &Secret,
        expected: &Expected<'_>,
    ) -> Result<Identity, OidcError> {
        let kid = jsonwebtoken::decode_header(id_token.expose())
            .map_err(|_| IdTokenError::Malformed)?
            .kid;
        let keys = self.keys_for(metadata, kid.as_deref()).await?;
        Ok(verify_id_token(id_token.expose(), &keys, expected)?)
    }

    /// Fills in the email from the userinfo endpoint when the ID token has
    /// none; the answer must be about the same subject.
    pub async fn with_userinfo(
        &self,
        metadata: &ProviderMetadata,
        identity: Identity,
        access_token: &Secret,
    ) -> Result<Identity, OidcError> {
        if identity.email.is_some() {
            return Ok(identity);
        }
        let Some(endpoint) = &metadata.userinfo_endpoint else {
            return Ok(identity);
        };
        let body = self
            .get_json(
                "reading the userinfo endpoint",
                endpoint,
                Some(access_token),
            )
            .await?;
        let info: UserInfo = serde_json::from_slice(&body).map_err(|e| {
            OidcError::Provider(format!("the userinfo answer is not the JSON expected: {e}"))
        })?;
        if info.sub != identity.subject {
            return Err(OidcError::Provider(
                "the userinfo answer is about another subject".into(),
            ));
        }
        Ok(Identity {
            email: info.email,
            email_verified: info.email_verified,
            ..identity
        })
    }
}

fn oauth_client(
    metadata: &ProviderMetadata,
    client: &RelyingPartyClient,
) -> Result<OAuthClient, OidcError> {
    let oauth = oauth2::Client::new(ClientId::new(client.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(metadata.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::from_url(client.redirect.clone()))
        .set_auth_type(metadata.client_auth()?);
    Ok(match &client.client_secret {
        Some(secret) => oauth.set_client_secret(ClientSecret::new(secret.expose().to_owned())),
        None => oauth,
    })
}

type OAuthFuture<'a> = std::pin::Pin<
    Box<dyn Future<Output = Result<oauth2::HttpResponse, Transport>> + Send + Sync + 'a>,
>;

/// The guarded client, as the `oauth2` crate sends requests. Its future is
/// boxed as `Send`, as `oauth2`'s own reqwest client's is: handlers' futures
/// must be `Send` for every lifetime, which an unboxed one cannot show.
struct Guarded<'a>(&'a HttpClient);

impl<'c> oauth2::AsyncHttpClient<'c> for Guarded<'_> {
    type Error = Transport;
    type Future = OAuthFuture<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send_oauth(self.0, request))
    }
}

/// A transport failure under the `oauth2` crate.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct Transport(Box<dyn std::error::Error + Send + Sync>);

/// Sends one of `oauth2`'s requests through the guarded client.
async fn send_oauth(
    http: &HttpClient,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, Transport> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    let fetched = http
        .send(None, |c| {
            c.request(parts.method.clone(), &url)
                .headers(parts.headers.clone())
                .body(body.clone())
        })
        .await
        .map_err(|e| Transport(Box::new(e)))?;
    let mut response = oauth2::http::Response::builder().status(fetched.status);
    for (name, value) in &fetched.headers {
        response = response.header(name, value);
    }
    response
        .body(fetched.body)
        .map_err(|e| Transport(Box::new(e)))
}

fn token_error(e: RequestTokenError<Transport, BasicErrorResponse>) -> String {
    match e {
        RequestTokenError::ServerResponse(answer) => format!(
            "{}{}",
            answer.error(),
            answer
                .error_description()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        RequestTokenError::Request(e) => {
            format!("the request failed: {}", crate::report::cause_chain(&e))
        }
        RequestTokenError::Parse(e, _) => format!("the answer does not parse: {e}"),
        RequestTokenError::Other(message) => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    /// PKCS#8 v1 DER of an Ed25519 key, before its 32-byte seed.
    const PKCS8_ED25519_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    const ISSUER: &str = "https://idp.example/tenant";
    const CLIENT: &str = "onepane-portal";
    const NOW: i64 = 1_900_000_000;

    struct TestKey {
        encoding: EncodingKey,
        jwk: serde_json::Value,
    }

    fn ed_key(seed: u8, kid: &str) -> TestKey {
        let seed = [seed; 32];
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        TestKey {
            encoding: EncodingKey::from_ed_der(&der),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(public),
                        "kid": kid, "use": "sig", "alg": "EdDSA"}),
        }
    }

    fn keys(jwks: &[serde_json::Value]) -> ProviderKeys {
        ProviderKeys::from_document(json!({ "keys": jwks }).to_string().as_bytes()).unwrap()
    }

    fn nonce_digest(nonce: &str) -> Vec<u8> {
        Sha256::digest(nonce.as_bytes()).to_vec()
    }

    fn claims() -> serde_json::Value {
        json!({
            "iss": ISSUER, "sub": "user-1", "aud": CLIENT, "exp": NOW + 300, "iat": NOW - 5,
            "nonce": "the-nonce", "email": "maija@acme.example", "email_verified": true,
        })
    }

    fn sign(key: &TestKey, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
    }

    fn verify(token: &str, set: &ProviderKeys) -> Result<Identity, IdTokenError> {
        let digest = nonce_digest("the-nonce");
        verify_id_token(
            token,
            set,
            &Expected {
                issuer: ISSUER,
                client_id: CLIENT,
                nonce_digest: &digest,
                now: NOW,
            },
        )
    }

    #[test]
    fn a_token_signed_by_the_providers_key_with_the_right_claims_is_accepted() {
        let key = ed_key(1, "k1");
        let set = keys(std::slice::from_ref(&key.jwk));
        let identity = verify(&sign(&key, "k1", &claims()), &set).unwrap();
        assert_eq!(
            identity,
            Identity {
                subject: "user-1".into(),
                email: Some("maija@acme.example".into()),
                email_verified: Some(true),
            }
        );
        // Several audiences are fine when the token says it was issued to us.
        let mut c = claims();
        c["aud"] = json!([CLIENT, "another-api"]);
        c["azp"] = json!(CLIENT);
        c["email_verified"] = json!("true");
        assert_eq!(
            verify(&sign(&key, "k1", &c), &set).unwrap().email_verified,
            Some(true)
        );
    }

    #[test]
    fn a_tampered_token_or_one_signed_by_another_key_is_refused() {
        let key = ed_key(1, "k1");
        let set = keys(std::slice::from_ref(&key.jwk));
        let token = sign(&key, "k1", &claims());
        // Another email in the payload, the provider's signature kept.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut forged = claims();
        forged["email"] = json!("boss@acme.example");
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        assert_eq!(verify(&parts.join("."), &set), Err(IdTokenError::Signature));
        // A key the provider does not publish, under the provider's kid.
        let stranger = ed_key(2, "k1");
        assert_eq!(
            verify(&sign(&stranger, "k1", &claims()), &set),
            Err(IdTokenError::Signature)
        );
        // A kid the provider does not have.
        assert_eq!(
            verify(&sign(&key, "k9", &claims()), &set),
            Err(IdTokenError::UnknownKey(Some("k9".into())))
        );
        assert_eq!(verify("not.a.jwt", &set), Err(IdTokenError::Malformed));
    }

    #[test]
    fn none_and_shared_secret_algorithms_are_refused_whatever_the_key_set_says() {
        let key = ed_key(1, "k1");
        // A provider (or an attacker) publishing a shared secret as a key.
        let secret = b"the client secret everyone knows";
        let set = keys(&[
            key.jwk.clone(),
            json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret), "kid": "hs"}),
        ]);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("hs".into());
        let hs =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(
            verify(&hs, &set),
            Err(IdTokenError::Algorithm(Algorithm::HS256))
        );
        // `alg: none` with no signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(verify(&none, &set), Err(IdTokenError::Malformed));
        // An RS256 header over the Ed25519 key's kid: the key does not fit.
        let signed = sign(&key, "k1", &claims());
        let (_, rest) = signed.split_once('.').unwrap();
        let rs = format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k1"}"#)
        );
        assert_eq!(
            verify(&rs, &set),
            Err(IdTokenError::UnknownKey(Some("k1".into())))
        );
    }

    #[test]
    fn the_issuer_audience_times_and_nonce_must_be_this_sign_ins() {
        let key = ed_key(1, "k1");
        let set = keys(std::slice::from_ref(&key.jwk));
        let refused = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut c = claims();
            change(&mut c);
            verify(&sign(&key, "k1", &c), &set).unwrap_err()
        };
        assert_eq!(
            refused(&|c| c["iss"] = json!("https://idp.example/tenant/")),
            IdTokenError::Issuer("https://idp.example/tenant/".into())
        );
        assert_eq!(
            refused(&|c| c["aud"] = json!("another-client")),
            IdTokenError::Audience
        );
        assert_eq!(
            refused(&|c| c["aud"] = json!([CLIENT, "another-client"])),
            IdTokenError::Audience,
            "several audiences without azp"
        );
        assert_eq!(
            refused(&|c| c["azp"] = json!("another-client")),
            IdTokenError::Audience
        );
        assert_eq!(
            refused(&|c| c["exp"] = json!(NOW - LEEWAY - 1)),
            IdTokenError::Expired
        );
        assert_eq!(
            refused(&|c| c["iat"] = json!(NOW + LEEWAY + 1)),
            IdTokenError::IssuedAt
        );
        assert_eq!(
            refused(&|c| c["iat"] = json!(NOW - MAX_TOKEN_AGE - LEEWAY - 1)),
            IdTokenError::IssuedAt
        );
        assert_eq!(
            refused(&|c| c["nbf"] = json!(NOW + LEEWAY + 1)),
            IdTokenError::NotYet
        );
        assert_eq!(
            refused(&|c| c["nonce"] = json!("another-nonce")),
            IdTokenError::Nonce
        );
        assert_eq!(
            refused(&|c| {
                c.as_object_mut().unwrap().remove("nonce");
            }),
            IdTokenError::Nonce
        );
        assert!(matches!(
            refused(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            IdTokenError::Claims(_)
        ));
        // Within the leeway is fine.
        let mut c = claims();
        c["exp"] = json!(NOW - LEEWAY + 1);
        c["iat"] = json!(NOW + LEEWAY);
        assert!(verify(&sign(&key, "k1", &c), &set).is_ok());
    }

    #[test]
    fn key_sets_keep_only_signing_keys_they_can_use() {
        let key = ed_key(1, "k1");
        let set = keys(&[
            key.jwk.clone(),
            json!({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB", "kid": "enc"}),
            json!({"kty": "AKP", "alg": "ML-DSA-44", "pub": "AAAA", "kid": "pq"}),
            json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hs"}),
        ]);
        assert_eq!(set.keys.len(), 1);
        assert!(set.has(Some("k1")) && !set.has(Some("enc")));
        assert!(ProviderKeys::from_document(b"{\"nokeys\": 1}").is_err());
    }

    #[test]
    fn issuers_are_https_or_loopback_http_and_kept_as_written() {
        let i = Issuer::parse(" https://idp.example/tenant/ ").unwrap();
        assert_eq!(i.as_str(), "https://idp.example/tenant/");
        assert_eq!(
            i.discovery_url().unwrap().as_str(),
            "https://idp.example/tenant/.well-known/openid-configuration"
        );
        assert_eq!(
            Issuer::parse("https://idp.example")
                .unwrap()
                .discovery_url()
                .unwrap()
                .as_str(),
            "https://idp.example/.well-known/openid-configuration"
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:3000/oidc",
            "http://[::1]:9",
        ] {
            Issuer::parse(ok).unwrap();
        }
        assert_eq!(
            Issuer::parse("http://idp.example"),
            Err(IssuerError::NotHttps)
        );
        assert_eq!(
            Issuer::parse("ftp://idp.example"),
            Err(IssuerError::NotHttps)
        );
        assert_eq!(
            Issuer::parse("https://idp.example/?tenant=1"),
            Err(IssuerError::Extra)
        );
        assert_eq!(
            Issuer::parse("https://user@idp.example"),
            Err(IssuerError::Extra)
        );
        assert_eq!(Issuer::parse("idp.example"), Err(IssuerError::NotUrl));
    }

    #[test]
    fn discovery_documents_must_name_the_issuer_exactly_and_use_https() {
        let issuer = Issuer::parse(ISSUER).unwrap();
        let doc = |changes: serde_json::Value| -> ProviderMetadata {
            let mut d = json!({
                "issuer": ISSUER,
                "authorization_endpoint": "https://idp.example/tenant/auth",
                "token_endpoint": "https://idp.example/tenant/token",
                "jwks_uri": "https://idp.example/tenant/keys",
                "response_types_supported": ["code", "id_token"],
            });
            for (k, v) in changes.as_object().unwrap() {
                d[k] = v.clone();
            }
            serde_json::from_value(d).unwrap()
        };
        doc(json!({})).check(&issuer).unwrap();
        let err = doc(json!({"issuer": "https://idp.example/tenant/"}))
            .check(&issuer)
            .unwrap_err();
        assert!(err.to_string().contains("names the issuer"), "{err}");
        assert!(
            doc(json!({"token_endpoint": "http://idp.example/token"}))
                .check(&issuer)
                .is_err()
        );
        assert!(
            doc(json!({"response_types_supported": ["id_token"]}))
                .check(&issuer)
                .is_err()
        );
        // Client authentication: basic when listed or unsaid, else post.
        assert!(matches!(
            doc(json!({})).client_auth().unwrap(),
            AuthType::BasicAuth
        ));
        assert!(matches!(
            doc(json!({"token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post"]}))
                .client_auth()
                .unwrap(),
            AuthType::RequestBody
        ));
        assert!(
            doc(json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}))
                .check(&issuer)
                .is_err()
        );
    }
}
