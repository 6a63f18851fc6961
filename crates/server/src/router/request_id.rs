//! Request ids: every request gets an `x-request-id` (a client's own is
//! kept when it is short and plain), the response echoes it, and the
//! request's log span carries it.

use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

use super::access_log::QUIET_ROUTES;

/// The header that carries the id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-supplied id kept; ours are 36 characters.
const MAX_CLIENT_ID_LEN: usize = 128;

/// Whether a client's id can be kept: it is echoed in the response and
/// written on every log line of the request, so a long one would bloat each
/// line and bytes outside this set could garble or forge log output.
fn is_usable_client_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_CLIENT_ID_LEN).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/+=-".contains(b))
}

/// Middleware, outermost: removes a client's `x-request-id` that is not
/// usable (or is sent more than once), so a fresh one is generated.
pub async fn drop_unusable_client_id<B>(mut request: Request<B>) -> Request<B> {
    let mut ids = request.headers().get_all(REQUEST_ID_HEADER).iter();
    let usable = match (ids.next(), ids.next()) {
        (None, _) => return request,
        (Some(id), None) => is_usable_client_id(id),
        (Some(_), Some(_)) => false,
    };
    if !usable {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

/// Makes UUIDv7 request ids, which sort by time in the logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestUuid;

impl MakeRequestId for RequestUuid {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The span every request's log lines are recorded in, and its trace's
/// root. A probe's is at DEBUG, as its access log line is, so health checks
/// every few seconds make no traces.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let quiet = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| QUIET_ROUTES.contains(&path.as_str()));
    // The path only: a query string may carry tokens.
    if quiet {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %id,
        )
    } else {
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %id,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_short_ids_are_usable_and_others_are_not() {
        let usable = |s: &[u8]| is_usable_client_id(&HeaderValue::from_bytes(s).unwrap());
        assert!(usable(b"partner-req-7"));
        assert!(!usable(b"Root=1-5759e988;Parent=x"));
        assert!(usable(b"a.b_c:d/e+f=g-h"));
        assert!(usable(&[b'a'; MAX_CLIENT_ID_LEN]));
        assert!(!usable(&[b'a'; MAX_CLIENT_ID_LEN + 1]));
        assert!(!usable(b""));
        assert!(!usable(b"caf\xe9"));
        assert!(!usable(b"two words"));
    }
}
