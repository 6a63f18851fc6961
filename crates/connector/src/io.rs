//! What a connector sends through: the shared HTTP client, the connection's
//! rate limiter and its credentials. A 401 asks the credentials for a new
//! token once and repeats the request; a second 401 means the provider no
//! longer accepts them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::credentials::AwsAccessKey;
use crate::http::{Fetched, HttpClient, HttpError, RateLimiter};

/// A boxed future, so that connectors can be chosen at run time.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a connector could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// No usable answer after the shared client's retries.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The provider refused the stored credentials and they cannot be
    /// renewed: the partner must connect again.
    #[error("the provider refused the credentials: {0}")]
    Unauthorized(String),
    /// The provider answered with an error that retrying will not fix.
    #[error("{url} answered {status}: {message}")]
    Remote {
        /// The URL, without query or credentials.
        url: String,
        /// The status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// The provider is over its limits; try again after the wait.
    #[error("{message}; retry in {}s", after.as_secs())]
    Throttled {
        /// What the provider said.
        message: String,
        /// How long to wait.
        after: Duration,
    },
    /// The answer does not have the documented shape.
    #[error("unexpected answer from {url}: {message}")]
    Malformed {
        /// The URL, without query or credentials.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The answer ended early: its body stops in the middle of the JSON (a
    /// connection cut, a proxy's limit). Reading it again may work.
    #[error("the answer from {url} ended early: {message}")]
    Truncated {
        /// The URL, without query or credentials.
        url: String,
        /// Where it ended.
        message: String,
    },
    /// The connection's settings or credentials are unusable.
    #[error("{0}")]
    Config(String),
    /// Local input (an uploaded or operator-supplied file) is unusable.
    #[error("{0}")]
    Input(String),
}

impl ConnectorError {
    /// A JSON body from `url` that does not parse as `what`: truncated
    /// (transient) when it ends before the JSON does, else malformed.
    pub fn unparsable(url: &str, what: &str, e: &serde_json::Error) -> Self {
        let message = format!("cannot parse {what}: {e}");
        if e.is_eof() {
            ConnectorError::Truncated {
                url: url.to_owned(),
                message,
            }
        } else {
            ConnectorError::Malformed {
                url: url.to_owned(),
                message,
            }
        }
    }

    /// Whether the same work may succeed later without anyone changing
    /// anything: transport failures, throttling and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectorError::Http(e) => !matches!(
                e,
                HttpError::Refused { .. } | HttpError::Client(_) | HttpError::TooLarge { .. }
            ),
            ConnectorError::Throttled { .. } | ConnectorError::Truncated { .. } => true,
            ConnectorError::Remote { status, .. } => *status >= 500 || *status == 429,
            ConnectorError::Unauthorized(_)
            | ConnectorError::Malformed { .. }
            | ConnectorError::Config(_)
            | ConnectorError::Input(_) => false,
        }
    }

    /// How long the provider asked to wait, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectorError::Http(HttpError::RetryLater { after, .. })
            | ConnectorError::Throttled { after, .. } => Some(*after),
            _ => None,
        }
    }
}

/// What credentials add to a request.
#[derive(Clone, Default)]
pub struct Applied {
    /// Headers (`Authorization`, an API key header).
    pub headers: HeaderMap,
    /// Query parameters (an API key in the query).
    pub query: Vec<(String, String)>,
    /// Which version of renewable credentials these are (0 for fixed ones),
    /// so that a renewal asked for with an old version is not repeated.
    pub version: i64,
}

impl std::fmt::Debug for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applied")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "query",
                &self.query.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A connection's credentials as requests use them.
pub trait Authorizer: Send + Sync + std::fmt::Debug {
    /// What to add to the next request (fetching a token first if there is
    /// none, or it is about to expire).
    fn apply(&self) -> BoxFuture<'_, Result<Applied, ConnectorError>>;

    /// The provider answered 401 to `refused` (what [`Authorizer::apply`]
    /// gave): get new credentials, unless another request already did, or
    /// fail with [`ConnectorError::Unauthorized`].
    fn renew<'a>(&'a self, refused: &'a Applied) -> BoxFuture<'a, Result<(), ConnectorError>>;

    /// A value the provider returned with the token (Salesforce's
    /// `instance_url`).
    fn token_field<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ConnectorError>>;

    /// The AWS access key, when the credentials are one. AWS Signature
    /// Version 4 covers each request's body, which [`Authorizer::apply`]
    /// never sees, so the connector signs each request with it.
    fn aws_access_key(&self) -> Option<&AwsAccessKey> {
        None
    }
}

/// No credentials.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

impl Authorizer for NoAuth {
    fn apply(&self) -> BoxFuture<'_, Result<Applied, ConnectorError>> {
        Box::pin(async { Ok(Applied::default()) })
    }
    fn renew<'a>(&'a self, _: &'a Applied) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async {
            Err(ConnectorError::Unauthorized(
                "the provider asks for credentials and the connection has none".into(),
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

/// The HTTP client, rate limiter and credentials of one connection.
#[derive(Debug, Clone)]
pub struct Io {
    http: HttpClient,
    limiter: Option<Arc<RateLimiter>>,
    auth: Arc<dyn Authorizer>,
}

impl Io {
    /// An `Io` for one connection.
    pub fn new(
        http: HttpClient,
        limiter: Option<Arc<RateLimiter>>,
        auth: Arc<dyn Authorizer>,
    ) -> Self {
        Self {
            http,
            limiter,
            auth,
        }
    }

    /// The credentials.
    pub fn auth(&self) -> &dyn Authorizer {
        self.auth.as_ref()
    }

    /// Sends the request `build` makes with the connection's credentials,
    /// through the shared client's retries. A 401 renews the credentials
    /// once and sends again; a second 401 is
    /// [`ConnectorError::Unauthorized`]. Any other status is returned.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Fetched, ConnectorError> {
        let mut renewed = false;
        loop {
            let applied = self.auth.apply().await?;
            let fetched = self
                .http
                .send(self.limiter.as_deref(), |client| {
                    let mut request = build(client).headers(applied.headers.clone());
                    if !applied.query.is_empty() {
                        request = request.query(&applied.query);
                    }
                    request
                })
                .await?;
            if fetched.status != StatusCode::UNAUTHORIZED {
                return Ok(fetched);
            }
            if renewed {
                return Err(ConnectorError::Unauthorized(format!(
                    "still 401 after renewing the credentials: {}",
                    snippet(&fetched.body)
                )));
            }
            self.auth.renew(&applied).await?;
            renewed = true;
        }
    }
}

/// The start of a body, for an error message: at most 300 characters,
/// control characters removed.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}
