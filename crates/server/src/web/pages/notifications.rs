//! Notifications: the newest first, unread marked; opening one marks it
//! read and goes where it points.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::NotificationId;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};

/// The notification routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/{id}/read", post(read))
}

/// A notification as a line.
#[derive(Debug, Clone)]
pub struct NotificationLine {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
    /// When it came.
    pub when: String,
    /// Whether it is unread.
    pub unread: bool,
}

#[derive(askama::Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    t: Tr,
    chrome: Chrome,
    notifications: Vec<NotificationLine>,
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let t = viewer.tr.clone();
    let chrome = Chrome::load(&state, &viewer, "notifications").await?;
    let notifications = viewer
        .store(&state)
        .notifications(false)
        .await?
        .into_iter()
        .map(|n| NotificationLine {
            id: n.id.to_string(),
            title: title(&n, &t),
            body: n.body.map(|b| b.to_string()).unwrap_or_default(),
            when: t.datetime(&n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    render(&NotificationsPage {
        t,
        chrome,
        notifications,
    })
}

/// A notification's title in the viewer's language, from its kind and
/// named values; one stored before it had them keeps its stored title.
pub fn title(n: &onepane_domain::activity::Notification, t: &Tr) -> String {
    use onepane_domain::activity::NotificationKind as K;
    if n.args.as_object().is_none_or(serde_json::Map::is_empty) {
        return n.title.to_string();
    }
    let id = match n.kind {
        K::NewLead if n.args.get("count").is_some() => "notification-leads-synced",
        K::NewLead => "notification-new-lead",
        K::NewCampaign => "notification-new-campaign",
        K::DealDecided => "notification-deal-decided",
        K::DealExpiring => "notification-deal-expiring",
        K::ConnectionAttention => "notification-connection-attention",
        K::DeliveryRefused => "notification-delivery-refused",
    };
    t.tjson(id, &n.args)
}

/// Where a notification may send the browser: only a path of this site.
fn local(link: Option<&str>) -> &str {
    link.filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .unwrap_or("/notifications")
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let id: NotificationId = id.parse().map_err(|_| WebError::NotFound)?;
    let store = viewer.store(&state);
    let link = store
        .notifications(false)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or(WebError::NotFound)?
        .link;
    store.mark_notification_read(id).await?;
    Ok(Redirect::to(local(link.as_deref())).into_response())
}
