//! Request bodies and query strings, read strictly: a body that is not
//! JSON is 415, one that does not parse is 400, one whose fields are wrong
//! is 422 naming the field (a JSON pointer), one over the route's limit 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body of type `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// The JSON pointer (RFC 6901) for a serde path like `customer.domain` or
/// `products[2].sku`.
pub fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("#");
    for segment in path {
        out.push('/');
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => continue,
        };
        out.push_str(&part.replace('~', "~0").replace('/', "~1"));
    }
    out
}

/// Parses `bytes` as JSON of type `T`, mapping failures to problems. A
/// string holding NUL (`\u0000`) is refused wherever it is, key or value:
/// PostgreSQL stores no NUL in text or JSON, and no field means one.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.windows(6).any(|w| w == br"\u0000")
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(at) = nul_at(&value, String::from("#"))
    {
        return Err(ApiError::invalid(
            at,
            "must not contain the NUL character (\\u0000)",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = pointer(e.path());
        let inner = e.inner();
        let message = strip_position(&inner.to_string());
        if inner.is_data() {
            ApiError::invalid(at, message)
        } else if inner.is_eof() && bytes.iter().all(u8::is_ascii_whitespace) {
            ApiError::bad_request("#", "the request body is empty; send a JSON document")
        } else {
            ApiError::bad_request(
                at,
                format!(
                    "the body is not valid JSON ({message} at line {}, column {})",
                    inner.line(),
                    inner.column()
                ),
            )
        }
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request(
            "#",
            format!(
                "the body has more after the JSON document (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    Ok(value)
}

/// The JSON pointer of the first key or string in `value` holding NUL.
fn nul_at(value: &serde_json::Value, at: String) -> Option<String> {
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    match value {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_at(v, format!("{at}/{i}"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = format!("{at}/{}", escape(k));
            if k.contains('\0') {
                Some(here)
            } else {
                nul_at(v, here)
            }
        }),
        _ => None,
    }
}

/// serde_json appends " at line L column C"; the pointer says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Whether the request says its body is JSON (`application/json` or a
/// `+json` type).
pub fn is_json(parts_headers: &axum::http::HeaderMap) -> bool {
    parts_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

/// Reads the whole body, within the route's limit.
pub async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
    Bytes::from_request(req, &())
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                ApiError::PayloadTooLarge
            }
            other => ApiError::bad_request("#", other.body_text()),
        })
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = read_body(req).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body of type `T` that may be left out: an empty body is `None`;
/// anything else must be JSON, as for [`ApiJson`].
#[derive(Debug, Clone)]
pub struct OptionalApiJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let json = is_json(req.headers());
        let bytes = read_body(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalApiJson(None));
        }
        if !json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`, or none".into(),
            ));
        }
        parse_json(&bytes).map(|v| OptionalApiJson(Some(v)))
    }
}

/// A query string of type `T`; a bad parameter is 400 naming it.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                // axum puts the parameter first: `limit: invalid digit ...`.
                match text.split_once(": ") {
                    Some((name, detail)) if !name.contains(' ') => {
                        ApiError::bad_request(name, format!("query parameter `{name}`: {detail}"))
                    }
                    _ => ApiError::bad_request("query", text.to_owned()),
                }
            })
    }
}
