//! The partner portal: server-rendered pages over the same store the API
//! uses, and the public landing pages of activated campaigns.
//!
//! Every page works with plain links and forms; a few lines of script add
//! live sync progress. Templates are in `web/templates`, compiled into the
//! binary; text comes from `web/locales` (see [`i18n`]).

pub mod auth;
pub mod charts;
pub mod chrome;
pub mod error;
pub mod i18n;
pub mod mail_text;
pub mod pages;
pub mod session;
pub mod sso;
pub mod view;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, header};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;
pub use view::urlencode;

/// The largest form a page posts.
pub const BODY_LIMIT: usize = 64 << 10;

/// The portal's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::routes())
        .merge(sso::routes())
        .merge(pages::routes())
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(favicon))
        .layer(from_fn(security_headers))
        .layer(from_fn(error::render_errors))
}

/// Headers every page carries: no framing, no sniffing, a strict content
/// security policy (our own script and style only), no caching of pages
/// that show a workspace's data.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    // An answer with its own policy (an uploaded logo's) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Every page held back (a login throttled, a landing page's limit)
    // says when to try again; the attempts count over 15 minutes, and a
    // minute is a fair first wait.
    if response.status() == axum::http::StatusCode::TOO_MANY_REQUESTS
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(60u32));
    }
    response
}

const STYLESHEET: &str = include_str!("../../../../web/static/app.css");
const SCRIPT: &str = include_str!("../../../../web/static/app.js");
/// Onepane's mark: the favicon and the header's logo.
const ICON: &str = include_str!("../../../../web/static/icon.svg");

async fn stylesheet() -> Response {
    static_file(STYLESHEET, "text/css; charset=utf-8")
}

async fn script() -> Response {
    static_file(SCRIPT, "text/javascript; charset=utf-8")
}

async fn icon() -> Response {
    static_file(ICON, "image/svg+xml")
}

/// Browsers that ask for `/favicon.ico` without reading the page's icon
/// link are sent to the mark.
async fn favicon() -> Response {
    (
        axum::http::StatusCode::MOVED_PERMANENTLY,
        [
            (
                header::LOCATION,
                HeaderValue::from_static("/static/icon.svg"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
    )
        .into_response()
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}
