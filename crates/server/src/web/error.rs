//! What a page answers when it cannot show what was asked: an HTML page in
//! the visitor's language, with the status that says why. The handler
//! gives the status and a marker; [`render_errors`] draws the page, as it
//! has the request's language at hand.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use onepane_store::StoreError;

use super::i18n::browser_lang;
use super::i18n::{Lang, Tr};

/// Why a page failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Nothing here, or nothing this workspace may see.
    #[error("not found")]
    NotFound,
    /// The form was posted without its CSRF token, or with another's.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    /// The request cannot be read.
    #[error("bad request")]
    BadRequest,
    /// The record is not in a state that allows this.
    #[error("conflict")]
    Conflict,
    /// The viewer's role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Too many attempts.
    #[error("too many requests")]
    TooMany,
    /// The database cannot be reached for now; a retry may work.
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    /// Something failed on our side; the log has the cause.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } | StoreError::NotLinked(_) => WebError::NotFound,
            StoreError::Rule(_) | StoreError::Conflict(_) => WebError::Conflict,
            e @ (StoreError::Unavailable(_) | StoreError::Connect { .. }) => {
                WebError::Unavailable(e)
            }
            other => WebError::Internal(other.into()),
        }
    }
}

impl From<crate::services::connections::ConnectionError> for WebError {
    fn from(e: crate::services::connections::ConnectionError) -> Self {
        use crate::services::connections::ConnectionError as E;
        match e {
            E::Store(e) => e.into(),
            E::Paused | E::Unprocessable(_) | E::Invalid { .. } => WebError::Conflict,
            E::BadCallback(_) => WebError::BadRequest,
            E::Internal(cause) => WebError::Internal(cause),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(e.into())
    }
}

/// The marker a failed page leaves for [`render_errors`].
#[derive(Debug, Clone, Copy)]
struct Failed(&'static str);

impl WebError {
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, "error-not-found"),
            WebError::Csrf => (StatusCode::FORBIDDEN, "error-csrf"),
            WebError::BadRequest => (StatusCode::BAD_REQUEST, "error-bad-request"),
            WebError::Conflict => (StatusCode::CONFLICT, "error-conflict"),
            WebError::Forbidden => (StatusCode::FORBIDDEN, "error-forbidden"),
            WebError::TooMany => (StatusCode::TOO_MANY_REQUESTS, "error-too-many"),
            WebError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "error-unavailable"),
            WebError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error-internal"),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = self.status();
        match &self {
            WebError::Internal(cause) => {
                tracing::error!(error = %crate::report::cause_chain(cause.as_ref()), "page failed");
            }
            WebError::Unavailable(cause) => {
                tracing::error!(error = %crate::report::cause_chain(cause), "page failed");
            }
            _ => {}
        }
        let mut response = status.into_response();
        if let WebError::Unavailable(_) = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::report::UNAVAILABLE_RETRY_AFTER),
            );
        }
        response.extensions_mut().insert(Failed(message));
        response
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    status: u16,
    message: String,
}

/// The "nothing here" page, for addresses no route serves, in `lang`.
pub fn not_found_page(lang: Lang) -> Response {
    page_in(lang, StatusCode::NOT_FOUND, "error-not-found")
}

/// An error page with `status` and the message `key`, in the browser's
/// language, for answers given before a page's handler runs.
pub fn page(headers: &axum::http::HeaderMap, status: StatusCode, key: &str) -> Response {
    page_in(browser_lang(headers), status, key)
}

/// An error page with `status` and the message `key`, in `lang`.
fn page_in(lang: Lang, status: StatusCode, key: &str) -> Response {
    let t = Tr::new(lang);
    let page = ErrorPage {
        message: t.t(key),
        status: status.as_u16(),
        t,
    };
    match askama::Template::render(&page) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    }
}

/// Draws the page for a failed handler, in the member's chosen language
/// (else the browser's).
pub async fn render_errors(req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let state = req.extensions().get::<crate::state::AppState>().cloned();
    let response = next.run(req).await;
    let Some(Failed(message)) = response.extensions().get::<Failed>().copied() else {
        return response;
    };
    let lang = match &state {
        Some(state) => super::session::chosen_lang(state, &headers).await,
        None => browser_lang(&headers),
    };
    let status = response.status();
    let t = Tr::new(lang);
    let page = ErrorPage {
        message: t.t(message),
        status: status.as_u16(),
        t,
    };
    match askama::Template::render(&page) {
        Ok(html) => {
            let mut fresh = (status, Html(html)).into_response();
            *fresh.extensions_mut() = response.extensions().clone();
            fresh
        }
        Err(_) => response,
    }
}
