//! The clock: every deadline across vendors, soonest or most overdue
//! first, filtered by vendor, kind and person.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use onepane_domain::clock::{ClockFilter, DeadlineKind};
use onepane_domain::{UserId, VendorId};
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::view::{Choice, VendorNames, chosen};

/// The clock's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/clock", get(show))
}

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
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ClockQuery>,
) -> Result<Response, WebError> {
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
    let (chrome, vendors, members, deadlines) = tokio::try_join!(
        Chrome::load(&state, &viewer, "home"),
        async { Ok::<_, WebError>(store.vendors().await?) },
        async { Ok::<_, WebError>(store.members().await?) },
        async { Ok::<_, WebError>(store.clock(&filter).await?) },
    )?;
    let names = VendorNames::new(&vendors);
    let now = Utc::now();
    let deadlines = deadlines
        .iter()
        .map(|d| DeadlineLine {
            due: t.datetime(&d.due),
            overdue: d.due < now,
            kind: d.kind.as_str(),
            kind_text: t.t(&format!("clock-kind-{}", d.kind.as_str())),
            vendor: names.name_opt(&d.vendor_id),
            title: d.title.clone(),
            link: d.link.clone(),
        })
        .collect();
    let page = ClockPage {
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
        deadlines,
        t,
        chrome,
    };
    render(&page)
}
