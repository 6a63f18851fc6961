//! A connection's credentials, as the partner gives them. They are sealed
//! before storage and never shown again; `Debug` names only their kind.

use std::sync::Arc;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::io::{Applied, Authorizer, BoxFuture, ConnectorError};

/// A secret string: zeroed when dropped, never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KeyPlacement {
    /// In a header.
    #[default]
    Header,
    /// In the query string.
    Query,
}

/// The credentials of one connection.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    /// The provider needs none.
    None,
    /// An API key in a header or query parameter.
    ApiKey {
        /// The header or parameter name.
        name: String,
        /// The key.
        value: Secret,
        /// Header (default) or query.
        #[serde(default)]
        placement: KeyPlacement,
    },
    /// A bearer token that does not expire.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// OAuth 2.0 client credentials: Onepane fetches tokens itself.
    Oauth2ClientCredentials {
        /// The provider's token endpoint.
        token_url: url::Url,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Secret,
        /// Scopes to ask for.
        #[serde(default)]
        scopes: Vec<String>,
    },
    /// OAuth 2.0 authorization code with PKCE: the partner connects once in
    /// the browser; Onepane refreshes the tokens.
    Oauth2AuthorizationCode {
        /// The provider's authorization endpoint.
        auth_url: url::Url,
        /// The provider's token endpoint.
        token_url: url::Url,
        /// The client id of the partner's app at the provider.
        client_id: String,
        /// Its secret, for confidential clients.
        #[serde(default)]
        client_secret: Option<Secret>,
        /// Scopes to ask for.
        #[serde(default)]
        scopes: Vec<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials::{}", self.kind())
    }
}

impl Credentials {
    /// The kind, as spelled in JSON (`api_key`, `oauth2_authorization_code`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::None => "none",
            Credentials::ApiKey { .. } => "api_key",
            Credentials::Bearer { .. } => "bearer",
            Credentials::Basic { .. } => "basic",
            Credentials::Oauth2ClientCredentials { .. } => "oauth2_client_credentials",
            Credentials::Oauth2AuthorizationCode { .. } => "oauth2_authorization_code",
        }
    }

    /// Whether requests need an OAuth token (fetched and refreshed apart).
    pub fn is_oauth(&self) -> bool {
        matches!(
            self,
            Credentials::Oauth2ClientCredentials { .. }
                | Credentials::Oauth2AuthorizationCode { .. }
        )
    }

    /// The authorizer of credentials that need no token: none, API key,
    /// bearer, basic. `None` for OAuth, which needs a token store.
    pub fn static_authorizer(&self) -> Result<Option<Arc<dyn Authorizer>>, ConnectorError> {
        let mut applied = Applied::default();
        match self {
            Credentials::None => {}
            Credentials::ApiKey {
                name,
                value,
                placement,
            } => match placement {
                KeyPlacement::Header => {
                    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                        ConnectorError::Config(format!("`{name}` is not a header name"))
                    })?;
                    applied.headers.insert(name, sensitive(value.expose())?);
                }
                KeyPlacement::Query => {
                    applied
                        .query
                        .push((name.clone(), value.expose().to_owned()));
                }
            },
            Credentials::Bearer { token } => {
                applied.headers.insert(
                    AUTHORIZATION,
                    sensitive(&format!("Bearer {}", token.expose()))?,
                );
            }
            Credentials::Basic { username, password } => {
                let pair = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose()));
                applied
                    .headers
                    .insert(AUTHORIZATION, sensitive(&format!("Basic {pair}"))?);
            }
            Credentials::Oauth2ClientCredentials { .. }
            | Credentials::Oauth2AuthorizationCode { .. } => return Ok(None),
        }
        Ok(Some(Arc::new(Fixed(applied))))
    }
}

/// A header value marked sensitive (kept out of reqwest's debug output).
pub(crate) fn sensitive(value: &str) -> Result<HeaderValue, ConnectorError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        ConnectorError::Config("the credential holds characters a header cannot carry".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Credentials that never change.
#[derive(Debug)]
struct Fixed(Applied);

impl Authorizer for Fixed {
    fn apply(&self) -> BoxFuture<'_, Result<Applied, ConnectorError>> {
        let applied = self.0.clone();
        Box::pin(async move { Ok(applied) })
    }
    fn renew<'a>(&'a self, _: &'a Applied) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async {
            Err(ConnectorError::Unauthorized(
                "the provider refused the stored key".into(),
            ))
        })
    }
    fn token_field<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let all = [
            r#"{"type":"api_key","name":"X-Key","value":"s3cret"}"#,
            r#"{"type":"bearer","token":"s3cret"}"#,
            r#"{"type":"basic","username":"u","password":"s3cret"}"#,
            r#"{"type":"oauth2_client_credentials","token_url":"https://p.example/token","client_id":"c","client_secret":"s3cret"}"#,
        ];
        for json in all {
            let c: Credentials = serde_json::from_str(json).unwrap();
            let shown = format!("{c:?} {:?}", c.static_authorizer().unwrap());
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        assert!(
            serde_json::from_str::<Credentials>(r#"{"type":"bearer","token":"t","extra":1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<Credentials>(r#"{"type":"kerberos"}"#).is_err());
    }

    #[tokio::test]
    async fn static_credentials_apply_as_documented() {
        let basic: Credentials = serde_json::from_str(
            r#"{"type":"basic","username":"Aladdin","password":"open sesame"}"#,
        )
        .unwrap();
        let applied = basic
            .static_authorizer()
            .unwrap()
            .unwrap()
            .apply()
            .await
            .unwrap();
        // RFC 7617's example.
        assert_eq!(
            applied.headers[AUTHORIZATION],
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );

        let key: Credentials = serde_json::from_str(
            r#"{"type":"api_key","name":"api_key","value":"k1","placement":"query"}"#,
        )
        .unwrap();
        let applied = key
            .static_authorizer()
            .unwrap()
            .unwrap()
            .apply()
            .await
            .unwrap();
        assert_eq!(applied.query, vec![("api_key".to_owned(), "k1".to_owned())]);

        let bad: Credentials =
            serde_json::from_str(r#"{"type":"api_key","name":"bad header","value":"k"}"#).unwrap();
        assert!(bad.static_authorizer().is_err());
    }
}
