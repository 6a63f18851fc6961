//! Browser sessions: the cookie, the logged-in viewer every page takes, and
//! CSRF checks on every form.
//!
//! The session cookie holds 256 random bits; the database keeps only their
//! SHA-256 digest. It is HttpOnly and SameSite=Lax, and Secure (with the
//! `__Host-` prefix) when the server is reached over HTTPS. Each session has
//! its own CSRF token, sent back by every form and compared in constant
//! time. Forms shown before login (log in, reset, accept an invitation)
//! carry a token that must match a cookie set with the form.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use onepane_store::WebSession;
use serde::de::DeserializeOwned;

use super::error::WebError;
use super::i18n::{Lang, Tr, browser_lang};
use crate::auth::credentials::{random_secret, same_token, token_digest};
use crate::state::AppState;

/// How long a session lives at most, however active.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// The cookie names, by whether the server is reached over HTTPS.
#[derive(Debug, Clone, Copy)]
pub struct CookieNames {
    /// The session.
    pub session: &'static str,
    /// The pre-login CSRF token.
    pub csrf: &'static str,
    /// What binds a single sign-on in progress to the browser that started it.
    pub sso: &'static str,
    secure: bool,
}

impl CookieNames {
    /// The names for a server whose public address is `base`.
    pub fn for_base(base: &str) -> CookieNames {
        if base.starts_with("https://") {
            CookieNames {
                session: "__Host-onepane_session",
                csrf: "__Host-onepane_csrf",
                sso: "__Host-onepane_sso",
                secure: true,
            }
        } else {
            CookieNames {
                session: "onepane_session",
                csrf: "onepane_csrf",
                sso: "onepane_sso",
                secure: false,
            }
        }
    }

    /// A `Set-Cookie` value for `name`; `None` clears it.
    pub fn set(&self, name: &str, value: Option<&str>, max_age: chrono::Duration) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = match value {
            Some(v) => format!(
                "{name}={v}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                max_age.num_seconds()
            ),
            None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
        };
        // Names and values are our own base64url and ASCII.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A logged-in member, in the workspace its session acts in.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session as stored.
    pub session: WebSession,
    /// The digest of the session's token.
    pub digest: [u8; 32],
    /// The messages of the viewer's language.
    pub tr: Tr,
}

impl Viewer {
    /// The workspace's store.
    pub fn store(&self, state: &AppState) -> onepane_store::PartnerStore {
        state.store.partner(self.session.workspace.id)
    }

    /// Fails with 403 unless the viewer is an owner or admin.
    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.session.role.can_administer() {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// Records a security-relevant change the viewer made (to `kind`
    /// record `id`) in the workspace's audit log.
    pub async fn record(
        &self,
        state: &AppState,
        action: &str,
        kind: &str,
        id: impl std::fmt::Display,
        detail: serde_json::Value,
    ) -> Result<(), WebError> {
        use onepane_domain::activity::{Actor, AuditAccess, AuditEvent};
        let event = AuditEvent::new(
            self.session.workspace.id,
            Actor::User(self.session.user.id),
            action,
            AuditAccess::Write,
        )
        .about(kind, id)
        .with_detail(detail);
        self.store(state).record(event).await?;
        Ok(())
    }
}

/// Where a visitor without a session is sent.
fn to_login(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or("/");
    let target = if next == "/" {
        "/login".to_owned()
    } else {
        format!("/login?next={}", super::view::urlencode(next))
    };
    Redirect::to(&target).into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let names = CookieNames::for_base(&state.public_base);
        let Some(token) = cookie(&parts.headers, names.session) else {
            return Err(to_login(parts));
        };
        let digest = token_digest(token);
        let session = state
            .store
            .system()
            .session(&digest)
            .await
            .map_err(|e| WebError::from(e).into_response())?;
        let Some(session) = session else {
            return Err(to_login(parts));
        };
        let lang = session
            .locale
            .as_ref()
            .and_then(|l| Lang::from_tag(l.as_str()))
            .unwrap_or_else(|| browser_lang(&parts.headers));
        let zone = session
            .time_zone
            .unwrap_or(onepane_domain::mail::TimeZone::UTC);
        let viewer = Viewer {
            session,
            digest,
            tr: Tr::new(lang).in_zone(zone),
        };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// The language to answer a request in when no handler resolved its
/// viewer (an address nothing serves, a failed handler): the logged-in
/// member's chosen language, else the browser's.
pub async fn chosen_lang(state: &AppState, headers: &HeaderMap) -> Lang {
    let names = CookieNames::for_base(&state.public_base);
    if let Some(token) = cookie(headers, names.session)
        && let Ok(Some(session)) = state.store.system().session(&token_digest(token)).await
        && let Some(lang) = session
            .locale
            .as_ref()
            .and_then(|l| Lang::from_tag(l.as_str()))
    {
        return lang;
    }
    browser_lang(headers)
}

/// The fields of a form that posts nothing but its CSRF token (a button).
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// A form posted by a logged-in member, its CSRF token checked.
#[derive(Debug)]
pub struct Posted<T> {
    /// Who posted it.
    pub viewer: Viewer,
    /// The fields.
    pub form: T,
}

/// The fields of a URL-encoded body, in order.
pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

async fn body_bytes(req: Request, state: &AppState) -> Result<axum::body::Bytes, WebError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|_| WebError::BadRequest)
}

/// Whether a posted form comes from this site: a browser names the page's
/// origin in `Origin`, which must be this server (as the request's `Host`
/// names it, or the public URL). A form without the header (an older
/// browser) is judged by its CSRF token alone.
pub fn from_this_site(headers: &HeaderMap, public_base: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin.eq_ignore_ascii_case(public_base.trim_end_matches('/')) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let named = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((named, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        if !from_this_site(req.headers(), &state.public_base) {
            return Err(WebError::Csrf.into_response());
        }
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let bytes = body_bytes(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = fields(&bytes)
            .into_iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v);
        if !sent.is_some_and(|s| same_token(&s, &viewer.session.csrf)) {
            return Err(WebError::Csrf.into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| WebError::BadRequest.into_response())?;
        Ok(Posted { viewer, form })
    }
}

/// A form posted before login, its token checked against the cookie set
/// when the form was shown.
#[derive(Debug)]
pub struct AnonymousForm<T> {
    /// The fields.
    pub form: T,
    /// The request's headers.
    pub headers: HeaderMap,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AnonymousForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        if !from_this_site(&headers, &state.public_base) {
            return Err(WebError::Csrf.into_response());
        }
        let names = CookieNames::for_base(&state.public_base);
        let bytes = body_bytes(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = fields(&bytes)
            .into_iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v);
        let expected = cookie(&headers, names.csrf);
        match (sent, expected) {
            (Some(s), Some(e)) if same_token(&s, e) => {}
            _ => return Err(WebError::Csrf.into_response()),
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| WebError::BadRequest.into_response())?;
        Ok(AnonymousForm { form, headers })
    }
}

/// The pre-login CSRF token for a form being shown: the cookie's when the
/// browser has one, else a new one with the cookie to set.
pub fn anonymous_csrf(
    headers: &HeaderMap,
    names: CookieNames,
) -> Result<(String, Option<HeaderValue>), WebError> {
    if let Some(existing) = cookie(headers, names.csrf).filter(|v| v.len() >= 32) {
        return Ok((existing.to_owned(), None));
    }
    let token = random_secret("").map_err(|e| WebError::Internal(e.into()))?;
    let header = names.set(names.csrf, Some(&token), chrono::Duration::hours(12));
    Ok((token, Some(header)))
}

/// Adds a `Set-Cookie` header to a response.
pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

/// A new session token, its digest and a CSRF token.
pub fn new_session_secrets() -> Result<(String, [u8; 32], String), WebError> {
    let token = random_secret("").map_err(|e| WebError::Internal(e.into()))?;
    let csrf = random_secret("").map_err(|e| WebError::Internal(e.into()))?;
    let digest = token_digest(&token);
    Ok((token, digest, csrf))
}

/// When a session started now ends at the latest.
pub fn session_expiry() -> chrono::DateTime<Utc> {
    Utc::now() + SESSION_LIFETIME
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_from_another_site_is_told_apart_from_ours() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            h
        };
        let base = "https://pane.example.com";
        // No Origin: the CSRF token alone decides.
        assert!(from_this_site(
            &headers(&[("host", "pane.example.com")]),
            base
        ));
        // The public URL's origin, or the Host the browser sent the form to.
        assert!(from_this_site(
            &headers(&[("origin", "https://pane.example.com")]),
            base
        ));
        assert!(from_this_site(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            "http://127.0.0.1:8080"
        ));
        assert!(from_this_site(
            &headers(&[
                ("origin", "http://localhost:8080"),
                ("host", "localhost:8080")
            ]),
            "http://127.0.0.1:8080"
        ));
        // Another site, an opaque origin, a look-alike.
        for origin in [
            "https://evil.example",
            "null",
            "https://pane.example.com.evil.example",
        ] {
            assert!(
                !from_this_site(
                    &headers(&[("origin", origin), ("host", "pane.example.com")]),
                    base
                ),
                "{origin}"
            );
        }
    }
}
