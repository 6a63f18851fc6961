//! The access log: every read and change a vendor made in the workspace
//! (naming its API client) and the admins' own security-relevant actions,
//! newest first, filtered by vendor and kind, paged, and as CSV. For owners
//! and admins.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onepane_domain::activity::{Actor, AuditEvent};
use onepane_domain::{AuditEventId, VendorId};
use onepane_store::{AuditFilter, LinkedVendor};
use serde::Deserialize;

use crate::services::audit::{KINDS, valid_kind};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::view::{Choice, VendorNames, chosen, urlencode};

/// Events per page.
const PAGE: u32 = 50;
/// Events read from the store at a time for the CSV.
const CSV_BATCH: u32 = 1000;

/// The access log's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list))
        .route("/audit.csv", get(export))
}

/// The filter, from the query.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    vendor: Option<String>,
    kind: Option<String>,
    before: Option<String>,
}

/// An event as a line.
#[derive(Debug, Clone)]
pub struct EventLine {
    /// When.
    pub when: String,
    /// Who, in words.
    pub who: String,
    /// The API client, if any.
    pub client: String,
    /// What.
    pub action: String,
    /// Read or write, in words.
    pub access: String,
    /// The kind of record.
    pub kind: String,
    /// Its id.
    pub subject: String,
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    t: Tr,
    chrome: Chrome,
    vendors: Vec<Choice>,
    kinds: Vec<Choice>,
    events: Vec<EventLine>,
    filtered: bool,
    csv: String,
    next: Option<String>,
}

/// The filter a query asks for; `None` when it names nothing this log has.
fn filter(q: &AuditQuery) -> Result<AuditFilter, WebError> {
    let vendor = chosen(&q.vendor)
        .map(|v| v.parse::<VendorId>())
        .transpose()
        .map_err(|_| WebError::NotFound)?;
    let kind = chosen(&q.kind).map(str::to_owned);
    if kind.as_deref().is_some_and(|k| !valid_kind(k)) {
        return Err(WebError::NotFound);
    }
    let before = chosen(&q.before)
        .map(|b| b.parse::<AuditEventId>())
        .transpose()
        .map_err(|_| WebError::NotFound)?;
    Ok(AuditFilter {
        vendor,
        subject_kind: kind,
        before,
        limit: PAGE,
    })
}

fn who(
    t: &Tr,
    names: &VendorNames,
    actor: &Actor,
    members: &[(onepane_domain::UserId, String)],
) -> String {
    match actor {
        Actor::Vendor(v) => names.name(v),
        Actor::User(u) => members
            .iter()
            .find(|(id, _)| id == u)
            .map_or_else(|| u.to_string(), |(_, e)| e.clone()),
        Actor::System => t.t("audit-system"),
        Actor::Operator => t.t("audit-operator"),
    }
}

fn line(
    t: &Tr,
    names: &VendorNames,
    members: &[(onepane_domain::UserId, String)],
    e: AuditEvent,
) -> EventLine {
    EventLine {
        when: t.datetime(&e.at),
        who: who(t, names, &e.actor, members),
        client: e.client.unwrap_or_default(),
        action: e.action,
        access: t.t(&format!("audit-{}", e.access)),
        kind: e.subject_kind.unwrap_or_default(),
        subject: e.subject.unwrap_or_default(),
    }
}

async fn context(
    state: &AppState,
    viewer: &Viewer,
) -> Result<(Vec<LinkedVendor>, Vec<(onepane_domain::UserId, String)>), WebError> {
    let store = viewer.store(state);
    let (vendors, members) = tokio::try_join!(store.vendors(), store.members())?;
    let members = members
        .into_iter()
        .map(|m| (m.user_id, m.email.to_string()))
        .collect();
    Ok((vendors, members))
}

/// The query string of a filter, for links.
fn query_of(f: &AuditFilter) -> String {
    let mut q = Vec::new();
    if let Some(v) = f.vendor {
        q.push(format!("vendor={v}"));
    }
    if let Some(k) = &f.subject_kind {
        q.push(format!("kind={}", urlencode(k)));
    }
    q.join("&")
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let t = viewer.tr.clone();
    let mut f = filter(&q)?;
    let chrome = Chrome::load(&state, &viewer, "vendors").await?;
    let (vendors, members) = context(&state, &viewer).await?;
    let names = VendorNames::new(&vendors);
    f.limit = PAGE + 1;
    let mut events = viewer.store(&state).audit_events(&f).await?;
    let more = events.len() > PAGE as usize;
    events.truncate(PAGE as usize);
    let query = query_of(&f);
    let next = more
        .then(|| events.last().map(|e| e.id))
        .flatten()
        .map(|id| {
            if query.is_empty() {
                format!("/audit?before={id}")
            } else {
                format!("/audit?{query}&before={id}")
            }
        });
    let events = events
        .into_iter()
        .map(|e| line(&t, &names, &members, e))
        .collect();
    let vendor_choices = names
        .all()
        .iter()
        .map(|(id, name)| Choice {
            value: id.to_string(),
            label: name.clone(),
            selected: f.vendor == Some(*id),
        })
        .collect();
    let kinds = KINDS
        .iter()
        .map(|k| Choice {
            value: (*k).to_owned(),
            label: t.t(&format!("audit-kind-{k}")),
            selected: f.subject_kind.as_deref() == Some(*k),
        })
        .collect();
    render(&AuditPage {
        t,
        chrome,
        vendors: vendor_choices,
        kinds,
        events,
        filtered: f.vendor.is_some() || f.subject_kind.is_some(),
        csv: if query.is_empty() {
            "/audit.csv".to_owned()
        } else {
            format!("/audit.csv?{query}")
        },
        next,
    })
}

/// The whole log matching the filter, as CSV (RFC 4180), newest first.
async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let mut f = filter(&q)?;
    f.before = None;
    f.limit = CSV_BATCH;
    let (vendors, members) = context(&state, &viewer).await?;
    let names = VendorNames::new(&vendors);
    let store = viewer.store(&state);
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: &[&str]| {
        out.write_record(row)
            .map_err(|e| WebError::Internal(e.into()))
    };
    write(
        &mut out,
        &[
            "at",
            "actor_type",
            "actor_id",
            "actor",
            "client",
            "action",
            "access",
            "kind",
            "id",
        ],
    )?;
    loop {
        let batch = store.audit_events(&f).await?;
        let last = batch.last().map(|e| e.id);
        for e in &batch {
            let (actor_type, actor_id) = match e.actor {
                Actor::User(u) => ("user", u.to_string()),
                Actor::Vendor(v) => ("vendor", v.to_string()),
                Actor::System => ("system", String::new()),
                Actor::Operator => ("operator", String::new()),
            };
            write(
                &mut out,
                &[
                    &e.at.to_rfc3339(),
                    actor_type,
                    &actor_id,
                    &who(&viewer.tr, &names, &e.actor, &members),
                    e.client.as_deref().unwrap_or(""),
                    &e.action,
                    e.access.as_str(),
                    e.subject_kind.as_deref().unwrap_or(""),
                    e.subject.as_deref().unwrap_or(""),
                ],
            )?;
        }
        if batch.len() < CSV_BATCH as usize {
            break;
        }
        f.before = last;
    }
    let body = out
        .into_inner()
        .map_err(|e| WebError::Internal(e.into_error().into()))?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"access-log.csv\"",
            ),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}
