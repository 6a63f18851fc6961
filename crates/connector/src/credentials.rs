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
    /// An AWS access key: requests are signed with AWS Signature Version 4,
    /// by the connector, since the signature covers each request's body.
    AwsAccessKey {
        /// The access key id (`AKIA...`, or `ASIA...` for temporary keys).
        access_key_id: String,
        /// The secret access key.
        secret_access_key: Secret,
        /// The session token of temporary keys.
        #[serde(default)]
        session_token: Option<Secret>,
    },
}

/// An AWS access key as a connector signs requests with it (see
/// [`Authorizer::aws_access_key`]).
#[derive(Clone, PartialEq, Eq)]
pub struct AwsAccessKey {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary keys.
    pub session_token: Option<Secret>,
}

impl std::fmt::Debug for AwsAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AwsAccessKey(..)")
    }
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
            Credentials::AwsAccessKey { .. } => "aws_access_key",
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
    /// bearer, basic, AWS access key. `None` for OAuth, which needs a token
    /// store.
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
            Credentials::AwsAccessKey {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                if access_key_id.trim().is_empty() || secret_access_key.expose().is_empty() {
                    return Err(ConnectorError::Config(
                        "an AWS access key needs its id and its secret".into(),
                    ));
                }
                return Ok(Some(Arc::new(AwsSigned(AwsAccessKey {
                    access_key_id: access_key_id.trim().to_owned(),
                    secret_access_key: secret_access_key.clone(),
                    session_token: session_token.clone(),
                }))));
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

/// An AWS access key: it adds nothing to a request by itself; the
/// connector signs each request with [`Authorizer::aws_access_key`].
#[derive(Debug)]
struct AwsSigned(AwsAccessKey);

impl Authorizer for AwsSigned {
    fn apply(&self) -> BoxFuture<'_, Result<Applied, ConnectorError>> {
        Box::pin(async { Ok(Applied::default()) })
    }
    fn renew<'a>(&'a self, _: &'a Applied) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async {
            Err(ConnectorError::Unauthorized(
                "AWS refused the stored access key".into(),
            ))
        })
    }
    fn token_field<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>> {
        Box::pin(async { Ok(None) })
    }
    fn aws_access_key(&self) -> Option<&AwsAccessKey> {
        Some(&self.0)
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
            r#"{"type":"aws_access_key","access_key_id":"AKIDEXAMPLE","secret_access_key":"s3cret","session_token":"s3cret"}"#,
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

    #[tokio::test]
    async fn an_aws_access_key_is_handed_to_the_connector_that_signs() {
        let aws: Credentials = serde_json::from_str(
            r#"{"type":"aws_access_key","access_key_id":" AKIDEXAMPLE ","secret_access_key":"wJalr"}"#,
        )
        .unwrap();
        assert_eq!(aws.kind(), "aws_access_key");
        let auth = aws.static_authorizer().unwrap().unwrap();
        let applied = auth.apply().await.unwrap();
        assert!(applied.headers.is_empty() && applied.query.is_empty());
        let key = auth.aws_access_key().unwrap();
        assert_eq!(key.access_key_id, "AKIDEXAMPLE");
        assert_eq!(key.secret_access_key.expose(), "wJalr");
        assert_eq!(key.session_token, None);
        assert!(
            Credentials::None
                .static_authorizer()
                .unwrap()
                .unwrap()
                .aws_access_key()
                .is_none()
        );

        for incomplete in [
            r#"{"type":"aws_access_key","access_key_id":"","secret_access_key":"s"}"#,
            r#"{"type":"aws_access_key","access_key_id":"AKID","secret_access_key":""}"#,
        ] {
            let c: Credentials = serde_json::from_str(incomplete).unwrap();
            assert!(c.static_authorizer().is_err(), "{incomplete}");
        }
        assert!(
            serde_json::from_str::<Credentials>(
                r#"{"type":"aws_access_key","access_key_id":"AKID"}"#
            )
            .is_err()
        );
    }
}
