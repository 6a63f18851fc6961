//! Refuses NUL in a request's path, query string or form body before any
//! handler sees it: PostgreSQL stores no NUL in text, so such input would
//! otherwise pass on SQLite and fail on PostgreSQL. Both answer 400 here.
//! (JSON bodies are checked where they are parsed, within the route's
//! body limit: [`crate::http::json::parse_json`].)

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::http::ApiError;

/// Whether percent-encoded or raw text holds NUL.
fn holds_nul(text: &[u8]) -> bool {
    text.contains(&0)
        || text
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

fn refused(path: &str, headers: &HeaderMap, detail: &str) -> Response {
    if path.starts_with("/api/") || path.starts_with("/oauth/") {
        ApiError::bad_request("#", detail).into_response()
    } else {
        crate::web::error::page(headers, StatusCode::BAD_REQUEST, "error-bad-request")
    }
}

/// The middleware.
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if holds_nul(path.as_bytes()) {
        return refused(
            &path,
            req.headers(),
            "the address must not contain NUL (%00)",
        );
    }
    if req.uri().query().is_some_and(|q| holds_nul(q.as_bytes())) {
        return refused(
            &path,
            req.headers(),
            "query parameters must not contain NUL (%00)",
        );
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(req).await;
    }
    // Forms are small (the portal's limit); anything past it is refused
    // here as the route's own extractor would.
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::web::BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if holds_nul(&bytes) {
        return refused(
            &path,
            &parts.headers,
            "form fields must not contain NUL (%00)",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_raw_and_percent_encoded_and_nothing_else() {
        assert!(holds_nul(b"q=a%00b"));
        assert!(holds_nul(b"q=a\0b"));
        assert!(holds_nul(b"%00"));
        assert!(!holds_nul(b"q=a%2500b"), "an encoded percent sign and 00");
        assert!(!holds_nul(b"q=100%25&x=%0A"));
        assert!(!holds_nul(b""));
    }
}
