//! Connections: the vendors' sources and the CRM, their sync status and
//! history, "Sync now" with live progress (server-sent events), pausing,
//! resuming and deleting one, and connecting a CRM through its OAuth flow.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use onepane_domain::ConnectionId;
use onepane_domain::activity::{Actor, AuditAccess, AuditEvent};
use onepane_domain::workspace::{ConnectionStatus, ConnectionTarget};
use onepane_store::{PartnerStore, SyncRun};
use serde::Deserialize;

use crate::services::connections::{request_sync, start_authorization};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::VendorNames;

/// How often live progress looks at the run.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// How long live progress follows a run at most.
const PROGRESS_FOR: Duration = Duration::from_secs(300);
/// Runs shown per connection.
const HISTORY: u32 = 5;

/// The connection routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connections", get(list))
        // Notifications point here.
        .route("/connections/{id}", get(alias))
        .route("/connections/{id}/sync", post(sync_now))
        .route("/connections/{id}/authorize", post(authorize))
        .route("/connections/{id}/pause", post(pause))
        .route("/connections/{id}/resume", post(resume))
        .route("/connections/{id}/delete", post(delete))
        .route("/connections/{id}/progress", get(progress))
}

/// A run as a line of history.
#[derive(Debug, Clone)]
pub struct RunLine {
    /// When it started.
    pub started: String,
    /// How it ended (or that it runs).
    pub status: String,
    /// What it did, in words.
    pub summary: String,
}

/// A connection as a card.
#[derive(Debug, Clone)]
pub struct ConnectionCard {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The connector kind.
    pub connector: String,
    /// Whose it is: a vendor's source or the CRM.
    pub target: String,
    /// Its status (CSS class).
    pub status: &'static str,
    /// Its status in words.
    pub status_text: String,
    /// Its schedule.
    pub schedule: String,
    /// Its latest runs.
    pub runs: Vec<RunLine>,
    /// Whether it authorizes with its provider (OAuth).
    pub oauth: bool,
    /// Whether live progress follows it on this page.
    pub following: bool,
    /// Whether it is paused.
    pub paused: bool,
}

fn status_id(s: ConnectionStatus) -> &'static str {
    match s {
        ConnectionStatus::Active => "connection-status-active",
        ConnectionStatus::Paused => "connection-status-paused",
        ConnectionStatus::NeedsReauthorization => "connection-status-reauthorize",
        ConnectionStatus::Failing => "connection-status-failing",
    }
}

fn run_line(run: &SyncRun, t: &Tr) -> RunLine {
    RunLine {
        started: t.datetime(&run.started_at),
        status: t.t(match run.status.as_str() {
            "running" => "run-running",
            "succeeded" => "run-succeeded",
            "interrupted" => "run-interrupted",
            _ => "run-failed",
        }),
        summary: summary(run, t),
    }
}

fn summary(run: &SyncRun, t: &Tr) -> String {
    t.targs(
        "run-summary",
        &[
            ("read", run.read.to_string()),
            ("created", run.created.to_string()),
            ("updated", run.updated.to_string()),
            ("failed", run.failed.to_string()),
        ],
    )
}

#[derive(askama::Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    t: Tr,
    chrome: Chrome,
    connections: Vec<ConnectionCard>,
    connected: bool,
    /// What was just done, in words.
    done: Option<String>,
    /// Why the last action did not happen, in words.
    problem: Option<String>,
    since: i64,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    syncing: Option<String>,
    since: Option<i64>,
    connected: Option<String>,
    done: Option<String>,
    problem: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let chrome = Chrome::load(&state, &viewer, "connections").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let mut cards = Vec::new();
    for c in store.connections().await? {
        let runs = store.sync_runs(c.id, HISTORY).await?;
        let target = match c.target {
            ConnectionTarget::VendorSource { vendor_id } => {
                t.ts("connection-source", "vendor", &names.name(&vendor_id))
            }
            _ => t.t("connection-crm"),
        };
        cards.push(ConnectionCard {
            id: c.id.to_string(),
            name: c.name.to_string(),
            connector: c.connector.to_string(),
            target,
            status: status_id(c.status),
            status_text: t.t(status_id(c.status)),
            schedule: schedule_words(&onepane_sync::cron_for(&c), &t),
            runs: runs.iter().map(|r| run_line(r, &t)).collect(),
            oauth: c.connector.as_str() == "hubspot" || c.connector.as_str() == "salesforce",
            following: q.syncing.as_deref() == Some(&c.id.to_string()),
            paused: c.status == ConnectionStatus::Paused,
        });
    }
    let t_done = t.clone();
    let page = ConnectionsPage {
        t,
        chrome,
        connections: cards,
        connected: q.connected.is_some(),
        done: match q.done.as_deref() {
            Some("created") => Some(t_done.t("connection-created")),
            Some("paused") => Some(t_done.t("connection-paused")),
            Some("resumed") => Some(t_done.t("connection-resumed")),
            Some("deleted") => Some(t_done.t("connection-deleted")),
            _ => None,
        },
        problem: match q.problem.as_deref() {
            Some("running") => Some(t_done.t("connection-delete-running")),
            Some("unconfirmed") => Some(t_done.t("connection-delete-unconfirmed")),
            _ => None,
        },
        since: q.since.unwrap_or(0),
    };
    render(&page)
}

async fn alias(Path(id): Path<String>) -> Result<Response, WebError> {
    let id: ConnectionId = id.parse().map_err(|_| WebError::NotFound)?;
    Ok(Redirect::to(&format!("/connections#connection-{id}")).into_response())
}

async fn sync_now(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let id: ConnectionId = id.parse().map_err(|_| WebError::NotFound)?;
    let since = Utc::now().timestamp_millis();
    request_sync(&state, viewer.session.workspace.id, id).await?;
    Ok(Redirect::to(&format!(
        "/connections?syncing={id}&since={since}#connection-{id}"
    ))
    .into_response())
}

async fn authorize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let id: ConnectionId = id.parse().map_err(|_| WebError::NotFound)?;
    if !viewer.session.role.can_administer() {
        return Err(WebError::Forbidden);
    }
    let url = start_authorization(&state, viewer.session.workspace.id, id).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

async fn pause(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    set_paused(&state, &viewer, &id, true).await
}

async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    set_paused(&state, &viewer, &id, false).await
}

/// Pauses or resumes a connection (owners and admins), recorded in the
/// access log.
async fn set_paused(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    paused: bool,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let id: ConnectionId = id.parse().map_err(|_| WebError::NotFound)?;
    let store = viewer.store(state);
    store.set_connection_paused(id, paused).await?;
    let action = if paused {
        "connection.paused"
    } else {
        "connection.resumed"
    };
    store
        .record(
            AuditEvent::new(
                viewer.session.workspace.id,
                Actor::User(viewer.session.user.id),
                action,
                AuditAccess::Write,
            )
            .about("connection", id),
        )
        .await?;
    let done = if paused { "paused" } else { "resumed" };
    Ok(Redirect::to(&format!("/connections?done={done}#connection-{id}")).into_response())
}

/// The fields of a deletion: it must be confirmed.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    /// `yes` when the box saying what goes was ticked.
    #[serde(default)]
    confirm: Option<String>,
}

/// Deletes a connection (owners and admins), once confirmed; back to the
/// connections saying so, or why not.
async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<DeleteForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let id: ConnectionId = id.parse().map_err(|_| WebError::NotFound)?;
    if form.confirm.as_deref() != Some("yes") {
        return Ok(
            Redirect::to(&format!("/connections?problem=unconfirmed#connection-{id}"))
                .into_response(),
        );
    }
    let deleted = crate::services::connections::delete(
        &state,
        viewer.session.workspace.id,
        viewer.session.user.id,
        id,
        "portal",
    )
    .await;
    match deleted {
        Ok(_) => Ok(Redirect::to("/connections?done=deleted").into_response()),
        Err(crate::services::connections::ConnectionError::Store(
            onepane_store::StoreError::Conflict(_),
        )) => Ok(
            Redirect::to(&format!("/connections?problem=running#connection-{id}")).into_response(),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct ProgressQuery {
    since: Option<i64>,
}

/// One look at the run a "Sync now" started: the latest run that started
/// after the request.
async fn look(
    store: &PartnerStore,
    id: ConnectionId,
    since: DateTime<Utc>,
    t: &Tr,
) -> Result<serde_json::Value, WebError> {
    let runs = store.sync_runs(id, 1).await?;
    let run = runs.first().filter(|r| r.started_at >= since);
    Ok(match run {
        None => {
            serde_json::json!({ "read": 0, "total": null, "text": t.t("run-waiting"), "done": false })
        }
        Some(r) => {
            let done = r.status != "running";
            let text = if done {
                format!(
                    "{}: {}",
                    t.t(if r.status == "succeeded" {
                        "run-succeeded"
                    } else {
                        "run-failed"
                    }),
                    summary(r, t)
                )
            } else {
                summary(r, t)
            };
            serde_json::json!({ "read": r.read, "total": r.total, "text": text, "done": done })
        }
    })
}

async fn progress(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ProgressQuery>,
) -> Result<Response, WebError> {
    let id: ConnectionId = id.parse().map_err(|_| WebError::NotFound)?;
    let store = viewer.store(&state);
    // The connection must be this workspace's.
    store.connection(id).await?;
    let since = q
        .since
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or_else(Utc::now)
        // The job starts on the server's clock, a little after the request.
        - chrono::Duration::seconds(1);
    let t = viewer.tr.clone();
    let deadline = tokio::time::Instant::now() + PROGRESS_FOR;
    let events = futures_util::stream::unfold(false, move |finished| {
        let store = store.clone();
        let t = t.clone();
        async move {
            if finished || tokio::time::Instant::now() > deadline {
                return None;
            }
            let value = match look(&store, id, since, &t).await {
                Ok(v) => v,
                Err(_) => {
                    serde_json::json!({ "read": 0, "total": null, "text": t.t("error-internal"), "done": true })
                }
            };
            let done = value["done"].as_bool().unwrap_or(true);
            if !done {
                tokio::time::sleep(PROGRESS_EVERY).await;
            }
            let event = Event::default().event("progress").data(value.to_string());
            Some((Ok::<_, Infallible>(event), done))
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// A cron schedule in words when it is one of the common ones ("every 15
/// minutes", "hourly", "daily at 06:30 UTC"); otherwise the expression.
pub fn schedule_words(cron: &str, t: &Tr) -> String {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let [sec, min, hour, dom, month, dow] = fields.as_slice() else {
        return cron.to_owned();
    };
    let every_day = (*dom, *month, *dow) == ("*", "*", "*");
    let number = |f: &str| f.parse::<u32>().ok();
    match (*sec, *min, *hour) {
        ("0", "*", "*") if every_day => t.t("schedule-every-minute"),
        ("0", m, "*") if every_day && m.starts_with("*/") => match number(&m[2..]) {
            Some(n) => t.tn("schedule-every-minutes", "minutes", i64::from(n)),
            None => cron.to_owned(),
        },
        ("0", "0", "*") if every_day => t.t("schedule-hourly"),
        ("0", "0", h) if every_day && h.starts_with("*/") => match number(&h[2..]) {
            Some(n) => t.tn("schedule-every-hours", "hours", i64::from(n)),
            None => cron.to_owned(),
        },
        ("0", m, h) if every_day => match (number(h), number(m)) {
            (Some(h), Some(m)) if h < 24 && m < 60 => {
                t.ts("schedule-daily", "time", &format!("{h:02}:{m:02}"))
            }
            _ => cron.to_owned(),
        },
        _ => cron.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::schedule_words;
    use crate::web::i18n::{Lang, Tr};

    #[test]
    fn common_schedules_read_as_words_and_others_as_cron() {
        let en = Tr::new(Lang::En);
        let fi = Tr::new(Lang::Fi);
        assert_eq!(schedule_words("0 */15 * * * *", &en), "every 15 minutes");
        assert_eq!(schedule_words("0 * * * * *", &en), "every minute");
        assert_eq!(schedule_words("0 0 * * * *", &en), "hourly");
        assert_eq!(schedule_words("0 0 */6 * * *", &en), "every 6 hours");
        assert_eq!(schedule_words("0 30 6 * * *", &en), "daily at 06:30 UTC");
        assert_eq!(
            schedule_words("0 30 6 * * *", &fi),
            "päivittäin klo 06:30 UTC"
        );
        assert_eq!(schedule_words("0 30 6 * * MON", &en), "0 30 6 * * MON");
        assert_eq!(schedule_words("nonsense", &en), "nonsense");
    }
}
