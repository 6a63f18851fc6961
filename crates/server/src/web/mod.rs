//! The partner portal: server-rendered pages over the same store the API
//! uses, and the public landing pages of activated campaigns.
//!
//! Every page works with plain links and forms; a few lines of script add
//! live sync progress. Templates are in `web/templates`, compiled into the
//! binary; text comes from `web/locales` (see [`i18n`]).

pub mod auth;
pub mod charts;
pub mod error;
pub mod i18n;
pub mod pages;
pub mod session;
pub mod sso;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, header};
use axum::middleware::from_fn;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use onepane_store::MemberOf;

use crate::state::AppState;
pub use error::WebError;
use session::Viewer;

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
        .layer(from_fn(security_headers))
        .layer(from_fn(error::render_errors))
}

/// The most unread notifications the badge counts.
const UNREAD_SHOWN: u32 = 99;

/// What every page around its content shows: who is logged in, where, the
/// workspace switcher, the navigation and the unread notifications.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The viewer's name.
    pub user: String,
    /// The workspace's name.
    pub workspace: String,
    /// The workspace's id.
    pub workspace_id: String,
    /// The other workspaces the viewer may switch to.
    pub others: Vec<MemberOf>,
    /// The session's CSRF token, for the forms.
    pub csrf: String,
    /// Unread notifications, counted up to one more than are shown.
    pub unread: u64,
    /// The section of the navigation this page belongs to.
    pub section: &'static str,
    /// Whether the viewer may change settings.
    pub admin: bool,
}

impl Chrome {
    /// The chrome for `viewer` on a page of `section`.
    pub async fn load(
        state: &AppState,
        viewer: &Viewer,
        section: &'static str,
    ) -> Result<Chrome, WebError> {
        let s = &viewer.session;
        let system = state.store.system();
        let store = viewer.store(state);
        let (memberships, unread) = tokio::try_join!(
            system.memberships_of(s.user.id),
            store.unread_notifications(UNREAD_SHOWN + 1)
        )?;
        let others = memberships
            .into_iter()
            .filter(|m| m.workspace_id != s.workspace.id)
            .collect();
        Ok(Chrome {
            user: s
                .user
                .display_name
                .as_ref()
                .map_or_else(|| s.user.email.to_string(), ToString::to_string),
            workspace: s.workspace.name.to_string(),
            workspace_id: s.workspace.id.to_string(),
            others,
            csrf: s.csrf.clone(),
            unread,
            section,
            admin: s.role.can_administer(),
        })
    }

    /// The unread badge: the count, or "99+" above it.
    pub fn unread_badge(&self) -> String {
        if self.unread > u64::from(UNREAD_SHOWN) {
            format!("{UNREAD_SHOWN}+")
        } else {
            self.unread.to_string()
        }
    }

    /// The attributes of a navigation link to `section`: marked current
    /// when this page belongs to it.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            " aria-current=\"page\" class=\"current\""
        } else {
            ""
        }
    }
}

/// Renders a template as an HTML response.
pub fn render(template: &impl askama::Template) -> Result<Response, WebError> {
    Ok(Html(template.render()?).into_response())
}

/// Percent-encodes a query parameter's value.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Headers every page carries: no framing, no sniffing, a strict content
/// security policy (our own script and style only), no caching of pages
/// that show a workspace's data.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
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
    response
}

const STYLESHEET: &str = include_str!("../../../../web/static/app.css");
const SCRIPT: &str = include_str!("../../../../web/static/app.js");

async fn stylesheet() -> Response {
    static_file(STYLESHEET, "text/css; charset=utf-8")
}

async fn script() -> Response {
    static_file(SCRIPT, "text/javascript; charset=utf-8")
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
