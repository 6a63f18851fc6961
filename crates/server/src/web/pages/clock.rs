//! The clock: every deadline across vendors, soonest or most overdue
//! first, filtered by vendor, kind and person.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use icalendar::{Calendar, Component, Event, EventLike};
use onepane_domain::clock::{ClockFilter, DeadlineKind};
use onepane_domain::{UserId, VendorId};
use serde::Deserialize;

use crate::auth::credentials::{random_secret, token_digest};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::{Choice, VendorNames, chosen};

/// The clock's routes, and the calendar feed's (opened without a session:
/// its URL's secret is the key).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clock", get(show))
        .route("/clock/feed", post(make_feed))
        .route("/calendar/{token}", get(feed))
}

/// The prefix of a calendar feed's secret.
const FEED_PREFIX: &str = "opc_";

/// The filters the page was asked for.
#[derive(Debug, Default, Deserialize)]
pub struct ClockQuery {
    vendor: Option<String>,
    kind: Option<String>,
    person: Option<String>,
}

/// A deadline as a row.
#[derive(Debug, Clone)]
pub struct DeadlineLine {
    /// When, in words.
    pub due: String,
    /// Whether it has passed.
    pub overdue: bool,
    /// The kind (for styling).
    pub kind: &'static str,
    /// The kind in words.
    pub kind_text: String,
    /// The vendor's name.
    pub vendor: String,
    /// What it is about.
    pub title: String,
    /// Where it is.
    pub link: String,
}

#[derive(askama::Template)]
#[template(path = "clock.html")]
struct ClockPage {
    t: Tr,
    chrome: Chrome,
    deadlines: Vec<DeadlineLine>,
    vendors: Vec<Choice>,
    kinds: Vec<Choice>,
    people: Vec<Choice>,
    filtered: bool,
    /// When the viewer's calendar feed was made, if it has one.
    feed_made: Option<String>,
    /// The feed's URL, shown once, right after it was made.
    feed_url: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ClockQuery>,
) -> Result<Response, WebError> {
    render(&page(&state, &viewer, &q, None).await?)
}

/// Makes (or remakes) the viewer's calendar feed and shows its URL once.
async fn make_feed(
    State(state): State<AppState>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let secret = random_secret(FEED_PREFIX).map_err(|e| WebError::Internal(Box::new(e)))?;
    viewer
        .store(&state)
        .reset_calendar_feed(viewer.session.user.id, &token_digest(&secret))
        .await?;
    let url = format!("{}/calendar/{secret}", state.public_base);
    render(&page(&state, &viewer, &ClockQuery::default(), Some(url)).await?)
}

/// The member's deadlines as an RFC 5545 calendar: each deadline an event
/// at its time (UTC), a protection's end a whole day.
async fn feed(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    if !token.starts_with(FEED_PREFIX) || token.len() > 100 {
        return Err(WebError::NotFound);
    }
    let Some((ws, _user)) = state
        .store
        .system()
        .calendar_feed(&token_digest(&token))
        .await?
    else {
        return Err(WebError::NotFound);
    };
    let deadlines = state
        .store
        .partner(ws)
        .clock(&ClockFilter::default())
        .await?;
    let t = Tr::new(crate::web::i18n::Lang::En);
    let mut calendar = Calendar::new();
    calendar.name(&t.t("clock-title"));
    let stamp = Utc::now();
    for d in &deadlines {
        let kind = t.t(&format!("clock-kind-{}", d.kind.as_str()));
        let summary = if d.title.is_empty() {
            kind.clone()
        } else {
            format!("{kind}: {}", d.title)
        };
        let mut event = Event::new();
        event
            .uid(&format!(
                "{}-{}@onepane",
                d.kind.as_str(),
                d.link.trim_start_matches('/').replace('/', "-")
            ))
            .timestamp(stamp)
            .summary(&summary)
            .url(&format!("{}{}", state.public_base, d.link));
        if d.kind == DeadlineKind::ProtectionEnds {
            event.all_day(d.due.date_naive());
        } else {
            event
                .starts(d.due)
                .ends(d.due + chrono::Duration::minutes(30));
        }
        calendar.push(event.done());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        calendar.done().to_string(),
    )
        .into_response())
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    q: &ClockQuery,
    feed_url: Option<String>,
) -> Result<ClockPage, WebError> {
    let state = state.clone();
    let viewer_ref = viewer;
    let t = viewer.tr.clone();
    let store = viewer.store(&state);
    let vendor: Option<VendorId> = chosen(&q.vendor).and_then(|v| v.parse().ok());
    let kind: Option<DeadlineKind> = chosen(&q.kind).and_then(|k| k.parse().ok());
    let person: Option<UserId> = chosen(&q.person).and_then(|p| p.parse().ok());
    let filter = ClockFilter {
        vendor_id: vendor,
        kind,
        person,
    };
    let (chrome, vendors, members, deadlines, feed_made) = tokio::try_join!(
        Chrome::load(&state, viewer_ref, "home"),
        async { Ok::<_, WebError>(store.vendors().await?) },
        async { Ok::<_, WebError>(store.members().await?) },
        async { Ok::<_, WebError>(store.clock(&filter).await?) },
        async { Ok::<_, WebError>(store.calendar_feed_made(viewer_ref.session.user.id).await?) },
    )?;
    let names = VendorNames::new(&vendors);
    let now = Utc::now();
    let deadlines = deadlines
        .iter()
        .map(|d| DeadlineLine {
            due: t.datetime_zoned(&d.due),
            overdue: d.due < now,
            kind: d.kind.as_str(),
            kind_text: t.t(&format!("clock-kind-{}", d.kind.as_str())),
            vendor: names.name_opt(&d.vendor_id),
            title: d.title.clone(),
            link: d.link.clone(),
        })
        .collect();
    let clock = ClockPage {
        vendors: names
            .all()
            .iter()
            .map(|(id, name)| Choice {
                value: id.to_string(),
                label: name.clone(),
                selected: vendor == Some(*id),
            })
            .collect(),
        kinds: DeadlineKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.as_str().to_owned(),
                label: t.t(&format!("clock-kind-{}", k.as_str())),
                selected: kind == Some(*k),
            })
            .collect(),
        people: members
            .iter()
            .map(|m| Choice {
                value: m.user_id.to_string(),
                label: m.email.to_string(),
                selected: person == Some(m.user_id),
            })
            .collect(),
        filtered: vendor.is_some() || kind.is_some() || person.is_some(),
        feed_made: feed_made.map(|m| t.datetime(&m)),
        feed_url,
        deadlines,
        t,
        chrome,
    };
    Ok(clock)
}
