//! The HTTP layer's error: every failure becomes an RFC 9457 problem document.

use std::error::Error as StdError;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onepane_store::StoreError;
use serde::Serialize;

use crate::report::cause_chain;

/// Where the problem type URIs live; they are identifiers, stable forever.
const PROBLEM_BASE: &str = "https://onepane.dev/problems/";

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

pub use crate::report::UNAVAILABLE_RETRY_AFTER;

type Cause = Box<dyn StdError + Send + Sync>;

/// What went wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing at this address, or nothing the caller may see.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not with this method.
    #[error("this resource does not support the {0} method")]
    MethodNotAllowed(String),
    /// The request collides with existing data.
    #[error("{0}")]
    Conflict(String),
    /// The request is well formed but breaks a rule.
    #[error("{0}")]
    Unprocessable(String),
    /// A dependency (the database) is not answering.
    #[error("{detail}")]
    Unavailable {
        /// What the caller is told.
        detail: &'static str,
        /// What the log is told.
        #[source]
        source: Option<Cause>,
    },
    /// The request is malformed (bad JSON, a bad query parameter).
    #[error("{detail}")]
    BadRequest {
        /// What is wrong.
        detail: String,
        /// Where, for each problem found.
        errors: Vec<FieldError>,
    },
    /// The input is well-formed JSON but a field is invalid.
    #[error("{detail}")]
    Invalid {
        /// What is wrong.
        detail: String,
        /// Where, for each problem found.
        errors: Vec<FieldError>,
    },
    /// No usable credentials: the caller must authenticate.
    #[error("{detail}")]
    Unauthorized {
        /// What the caller is told.
        detail: String,
        /// The `WWW-Authenticate` challenge.
        challenge: String,
    },
    /// Authenticated, but the token lacks a scope this endpoint needs.
    #[error("this endpoint needs the `{0}` scope, which the access token does not have")]
    InsufficientScope(&'static str),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The body is larger than this endpoint takes.
    #[error(
        "the request body is larger than this endpoint accepts (see the API reference for its limit)"
    )]
    PayloadTooLarge,
    /// The body is not in a media type this endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many requests from this client.
    #[error("too many requests; retry after {retry_after} s")]
    TooManyRequests {
        /// Seconds until the next request is allowed.
        retry_after: u64,
    },
    /// A bug or an unexpected failure; the caller learns nothing about it.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The last segment of the problem type URI.
    fn slug(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not-found",
            ApiError::BadRequest { .. } => "bad-request",
            ApiError::Invalid { .. } => "invalid",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::InsufficientScope(_) => "insufficient-scope",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::PayloadTooLarge => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem type's short, unchanging summary.
    fn title(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "Not found",
            ApiError::BadRequest { .. } => "Bad request",
            ApiError::Invalid { .. } => "Invalid input",
            ApiError::Unauthorized { .. } => "Unauthorized",
            ApiError::InsufficientScope(_) => "Insufficient scope",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::PayloadTooLarge => "Payload too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::MethodNotAllowed(_) => "Method not allowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::Unprocessable(_) => "Unprocessable request",
            ApiError::Unavailable { .. } => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    /// What the caller is told about this occurrence.
    fn detail(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "the server could not complete the request; it has been logged".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// One invalid part of a request, as RFC 9457's example extension has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON pointer into the body (`#/customer/country`), or the name of
    /// a query parameter or header.
    pub pointer: String,
    /// What is wrong there.
    pub detail: String,
}

impl ApiError {
    /// A malformed body or parameter, at one place.
    pub fn bad_request(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        ApiError::BadRequest {
            errors: vec![FieldError {
                pointer: pointer.into(),
                detail: detail.clone(),
            }],
            detail,
        }
    }

    /// An invalid field, at one place.
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        ApiError::Invalid {
            errors: vec![FieldError {
                pointer: pointer.into(),
                detail: detail.clone(),
            }],
            detail,
        }
    }

    fn errors(&self) -> Option<&[FieldError]> {
        match self {
            ApiError::BadRequest { errors, .. } | ApiError::Invalid { errors, .. } => Some(errors),
            _ => None,
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // Runs inside the request's span, so the log line carries the request id.
            tracing::error!(status = status.as_u16(), error = %cause_chain(&self), "request failed");
        }
        let problem = Problem {
            kind: format!("{PROBLEM_BASE}{}", self.slug()),
            title: self.title(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: self.errors(),
        };
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            ApiError::Unauthorized { challenge, .. } => {
                if let Ok(v) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            ApiError::InsufficientScope(scope) => {
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            ApiError::TooManyRequests { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Unavailable { .. } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } | StoreError::NotLinked(_) => {
                ApiError::NotFound(error.to_string())
            }
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Rule(message) => ApiError::Unprocessable(message),
            StoreError::Connect { .. } | StoreError::Unavailable(_) => ApiError::Unavailable {
                detail: "the database is not reachable",
                source: Some(Box::new(error)),
            },
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<crate::rate_limit::RateLimited> for ApiError {
    fn from(e: crate::rate_limit::RateLimited) -> Self {
        ApiError::TooManyRequests {
            retry_after: e.retry_after,
        }
    }
}

impl From<crate::services::connections::ConnectionError> for ApiError {
    fn from(e: crate::services::connections::ConnectionError) -> Self {
        use crate::services::connections::ConnectionError as E;
        match e {
            E::Store(e) => e.into(),
            E::Paused => ApiError::Conflict(e.to_string()),
            E::BadCallback(detail) => ApiError::BadRequest {
                detail: detail.to_owned(),
                errors: Vec::new(),
            },
            E::Unprocessable(detail) => ApiError::Unprocessable(detail),
            E::Invalid { pointer, detail } => ApiError::invalid(pointer, detail),
            E::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onepane_domain::WorkspaceId;

    async fn body_json(error: ApiError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (
            status,
            content_type,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn store_errors_map_to_their_statuses() {
        let cases: Vec<(StoreError, u16, &str)> = vec![
            (
                StoreError::NotFound {
                    what: "lead",
                    id: "42".into(),
                },
                404,
                "not-found",
            ),
            (StoreError::NotLinked(WorkspaceId::new()), 404, "not-found"),
            (
                StoreError::Conflict("that name is taken".into()),
                409,
                "conflict",
            ),
            (
                StoreError::Rule("a won deal cannot be rejected".into()),
                422,
                "unprocessable",
            ),
            (
                StoreError::Corrupt {
                    what: "lead",
                    detail: "bad email".into(),
                },
                500,
                "internal",
            ),
            (
                StoreError::PrivilegedRole("superuser".into()),
                500,
                "internal",
            ),
        ];
        for (store_error, status, slug) in cases {
            let (got, content_type, body) = body_json(store_error.into()).await;
            assert_eq!(got.as_u16(), status);
            assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
            assert_eq!(body["status"], status);
            assert_eq!(body["type"], format!("https://onepane.dev/problems/{slug}"));
            assert!(body["title"].is_string() && body["detail"].is_string());
        }
    }

    #[tokio::test]
    async fn client_errors_tell_the_store_message() {
        let (_, _, body) =
            body_json(StoreError::Conflict("that name is taken".into()).into()).await;
        assert_eq!(body["detail"], "that name is taken");
    }

    #[tokio::test]
    async fn server_errors_say_nothing_internal() {
        let store_error = StoreError::Corrupt {
            what: "lead",
            detail: "column email = 'x'".into(),
        };
        let (_, _, body) = body_json(store_error.into()).await;
        let text = body.to_string();
        assert!(!text.contains("column") && !text.contains("lead"), "{text}");
    }
}
