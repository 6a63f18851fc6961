//! One call to an AWS JSON 1.0 API: `POST /` with the operation in
//! `X-Amz-Target`, signed with AWS Signature Version 4, and the answer read
//! back as the operation's output or as AWS's error.
//!
//! The signature covers the body, which the SDK's [`onepane_connector::Authorizer`]
//! never sees, so it is made here, with the access key the connection's
//! credentials hold ([`onepane_connector::Authorizer::aws_access_key`]). Each
//! attempt of the shared client is signed anew, so a retry never carries a
//! stale date.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use onepane_connector::{AwsAccessKey, ConnectorError, Io, snippet};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The content type of AWS JSON 1.0 requests.
pub const JSON_1_0: &str = "application/x-amz-json-1.0";

/// How long to wait after a `ThrottlingException`: AWS gives no
/// `Retry-After`, and Partner Central's quotas are counted per second.
pub const THROTTLED_WAIT: Duration = Duration::from_secs(1);

/// An AWS API as requests name and sign it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Api {
    /// What `X-Amz-Target` starts with (`AWSPartnerCentralSelling`).
    pub target_prefix: &'static str,
    /// The SigV4 signing name (`partnercentral-selling`).
    pub signing_name: &'static str,
}

impl Api {
    /// The Partner Central Selling API (`partnercentral-selling-2022-07-26`).
    pub const SELLING: Api = Api {
        target_prefix: "AWSPartnerCentralSelling",
        signing_name: "partnercentral-selling",
    };

    /// Where AWS serves it in `region`
    /// (`https://partnercentral-selling.us-east-1.api.aws`).
    pub fn default_endpoint(&self, region: &str) -> String {
        format!("https://{}.{region}.api.aws", self.signing_name)
    }
}

/// Where and how to call one API.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The API.
    pub api: Api,
    /// Its base URL.
    pub url: url::Url,
    /// The region requests are signed for.
    pub region: String,
}

/// An error AWS answered: its code (`ValidationException`), what it said,
/// and the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The error's shape name, without namespace.
    pub code: String,
    /// AWS's message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
    /// The URL, for error messages.
    pub url: String,
}

impl AwsError {
    /// Whether the partner must change the request: AWS refused what it
    /// says, and sending it again as it is changes nothing.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self.code.as_str(),
            "ValidationException"
                | "ConflictException"
                | "ResourceNotFoundException"
                | "ServiceQuotaExceededException"
        )
    }

    /// AWS's words for the partner: the message, or the code when there is
    /// none.
    pub fn said(&self) -> String {
        if self.message.is_empty() {
            self.code.clone()
        } else {
            self.message.clone()
        }
    }

    /// The error for the engine: throttling and 5xx are retried, refused
    /// keys mean connecting again, the rest are AWS's answer.
    pub fn into_error(self) -> ConnectorError {
        match self.code.as_str() {
            "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                ConnectorError::Throttled {
                    message: format!("AWS Partner Central throttled the call: {}", self.said()),
                    after: THROTTLED_WAIT,
                }
            }
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignatureException"
            | "MissingAuthenticationTokenException"
            | "InvalidClientTokenId"
            | "ExpiredTokenException" => {
                ConnectorError::Unauthorized(format!("{}: {}", self.code, self.said()))
            }
            _ => ConnectorError::Remote {
                message: format!("{}: {}", self.code, self.said()),
                url: self.url,
                // An internal error answered with a 4xx is still AWS's.
                status: if self.code == "InternalServerException" {
                    self.status.max(500)
                } else {
                    self.status
                },
            },
        }
    }
}

/// Calls `operation` with `input`: its output, or the error AWS answered
/// (for the caller to tell a refusal from a failure). Transport failures,
/// answers that do not parse and missing credentials are errors.
#[tracing::instrument(
    name = "aws_partner_central.call",
    skip(io, endpoint, input),
    fields(api = endpoint.api.target_prefix)
)]
pub async fn call<I: Serialize, O: DeserializeOwned>(
    io: &Io,
    endpoint: &Endpoint,
    operation: &str,
    input: &I,
) -> Result<Result<O, AwsError>, ConnectorError> {
    let key = io.auth().aws_access_key().ok_or_else(|| {
        ConnectorError::Config(
            "AWS Partner Central needs `aws_access_key` credentials (an access key id and secret)"
                .into(),
        )
    })?;
    let body = serde_json::to_vec(input).map_err(|e| {
        ConnectorError::Config(format!("cannot write the {operation} request: {e}"))
    })?;
    let target = format!("{}.{operation}", endpoint.api.target_prefix);
    let shown = shown_url(&endpoint.url);

    // Signed once here so that a key the signer cannot use is an error,
    // then again for each attempt.
    let first = signed_headers(key, endpoint, &target, &body, SystemTime::now())?;
    let fetched = io
        .send(|client| {
            let headers = signed_headers(key, endpoint, &target, &body, SystemTime::now())
                .unwrap_or_else(|_| first.clone());
            client
                .post(endpoint.url.clone())
                .headers(headers)
                .body(body.clone())
        })
        .await?;

    if fetched.status.is_success() {
        return serde_json::from_slice(&fetched.body).map(Ok).map_err(|e| {
            ConnectorError::unparsable(&shown, &format!("the {operation} answer"), &e)
        });
    }
    Ok(Err(aws_error(
        &shown,
        fetched.status.as_u16(),
        &fetched.headers,
        &fetched.body,
    )))
}

/// The headers of one signed request: content type, target, date,
/// session token and `Authorization`.
fn signed_headers(
    key: &AwsAccessKey,
    endpoint: &Endpoint,
    target: &str,
    body: &[u8],
    time: SystemTime,
) -> Result<HeaderMap, ConnectorError> {
    let unusable = |e: &dyn std::fmt::Display| {
        ConnectorError::Config(format!(
            "cannot sign the request with the AWS access key: {e}"
        ))
    };
    let identity = aws_credential_types::Credentials::new(
        key.access_key_id.clone(),
        key.secret_access_key.expose(),
        key.session_token.as_ref().map(|t| t.expose().to_owned()),
        None,
        "onepane-connection",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&endpoint.region)
        .name(endpoint.api.signing_name)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| unusable(&e))?
        .into();
    let unsigned = [("content-type", JSON_1_0), ("x-amz-target", target)];
    let request = SignableRequest::new(
        "POST",
        endpoint.url.as_str(),
        unsigned.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| unusable(&e))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| unusable(&e))?
        .into_parts();
    let (added, _query) = instructions.into_parts();

    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_1_0));
    headers.insert(
        HeaderName::from_static("x-amz-target"),
        HeaderValue::from_str(target).map_err(|e| unusable(&e))?,
    );
    for header in added {
        let mut value = HeaderValue::from_str(header.value()).map_err(|e| unusable(&e))?;
        value.set_sensitive(header.sensitive() || header.name() == "authorization");
        headers.insert(HeaderName::from_static(header.name()), value);
    }
    Ok(headers)
}

/// AWS's error from a non-2xx answer: the code from `X-Amzn-ErrorType` or
/// the body's `__type` (namespace and trailing URL dropped), the message
/// from `message` or `Message`.
fn aws_error(url: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> AwsError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |names: &[&str]| {
        names.iter().find_map(|name| {
            json.as_ref()
                .and_then(|j| j.get(*name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    let raw_code = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| field(&["__type", "code", "Code"]))
        .unwrap_or_default();
    let code = raw_code
        .split(':')
        .next()
        .unwrap_or_default()
        .rsplit('#')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let code = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        code
    };
    let message = field(&["message", "Message", "errorMessage"]).unwrap_or_else(|| {
        if json.is_some() {
            String::new()
        } else {
            snippet(body)
        }
    });
    AwsError {
        code,
        message,
        status,
        url: url.to_owned(),
    }
}

/// `scheme://host[:port]/path`.
pub fn shown_url(url: &url::Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_lose_their_namespace_and_url() {
        let mut headers = HeaderMap::new();
        let e = aws_error(
            "https://x/",
            400,
            &headers,
            br#"{"__type":"com.amazonaws.partnercentral#ValidationException","message":"bad"}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ValidationException", "bad")
        );
        assert!(e.is_refusal());

        headers.insert(
            "x-amzn-errortype",
            HeaderValue::from_static("ThrottlingException:http://internal.amazon.com/"),
        );
        let e = aws_error("https://x/", 400, &headers, br#"{"Message":"slow down"}"#);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ThrottlingException", "slow down")
        );
        assert!(!e.is_refusal());
        assert!(matches!(e.into_error(), ConnectorError::Throttled { .. }));

        let e = aws_error(
            "https://x/",
            502,
            &HeaderMap::new(),
            b"<html>bad gateway</html>",
        );
        assert_eq!(e.code, "HTTP 502");
        assert!(e.message.contains("bad gateway"));
        assert!(e.into_error().is_transient());
    }

    #[test]
    fn refused_keys_ask_to_connect_again_and_internal_errors_are_retried() {
        let e = |code: &str, status| AwsError {
            code: code.into(),
            message: "m".into(),
            status,
            url: "https://x/".into(),
        };
        assert!(matches!(
            e("UnrecognizedClientException", 403).into_error(),
            ConnectorError::Unauthorized(_)
        ));
        assert!(
            e("InternalServerException", 400)
                .into_error()
                .is_transient()
        );
        assert!(!e("SomethingNew", 400).into_error().is_transient());
    }
}
