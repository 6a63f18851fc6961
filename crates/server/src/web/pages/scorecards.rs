//! Scorecards: the workspace's vendors side by side over a period, from
//! its own data and its members' ratings; as CSV; and a member's rating of
//! a vendor for this quarter.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{NaiveDate, Utc};
use onepane_domain::VendorId;
use onepane_domain::scorecard::{ExperienceArea, Period, Quarter, Scorecard};
use onepane_store::{LinkedVendor, Rating};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive as _;
use serde::Deserialize;

use crate::services::scorecards;
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{Posted, Viewer};

/// The scorecard routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/scorecards", get(show))
        .route("/scorecards.csv", get(csv_export))
        .route("/scorecards/{vendor}/rate", get(rate_form).post(rate))
}

/// The longest note a member writes on one area.
const NOTE_MAX: usize = 1_000;

/// The period the page was asked for, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
    done: Option<String>,
}

/// One figure across the vendors.
#[derive(Debug, Clone)]
pub struct FigureRow {
    /// What it is.
    pub label: String,
    /// Its value per vendor ("–" when there is none).
    pub cells: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "scorecards.html")]
struct ScorecardsPage {
    t: Tr,
    chrome: Chrome,
    /// The vendors, in column order: (id, name).
    vendors: Vec<(String, String)>,
    rows: Vec<FigureRow>,
    from: String,
    to: String,
    /// The period in words.
    period: String,
    /// The query string of the CSV link.
    csv_query: String,
    message: Option<String>,
    problem: Option<String>,
}

/// A figure that is absent.
const NONE: &str = "–";

fn real(x: Option<f64>) -> Option<Decimal> {
    x.and_then(Decimal::from_f64)
}

fn count(x: Option<u64>) -> String {
    x.map_or_else(|| NONE.to_owned(), |n| n.to_string())
}

fn hours(t: &Tr, x: Option<f64>) -> String {
    real(x).map_or_else(
        || NONE.to_owned(),
        |h| t.ts("scorecard-hours", "n", &t.decimal(&h)),
    )
}

fn days(t: &Tr, x: Option<f64>) -> String {
    real(x).map_or_else(
        || NONE.to_owned(),
        |d| t.ts("scorecard-days", "n", &t.decimal(&d)),
    )
}

fn share(t: &Tr, x: Option<f64>) -> String {
    real(x).map_or_else(
        || NONE.to_owned(),
        |r| t.percent(&(r * Decimal::ONE_HUNDRED)),
    )
}

/// The rows of figures, one per figure, a cell per card.
fn rows(t: &Tr, cards: &[Scorecard]) -> Vec<FigureRow> {
    type Cell<'a> = Box<dyn Fn(&Scorecard) -> String + 'a>;
    let figures: Vec<(&str, Cell)> = vec![
        (
            "scorecard-submitted",
            Box::new(|c| count(c.registrations_submitted)),
        ),
        (
            "scorecard-decided",
            Box::new(|c| count(c.registrations_decided)),
        ),
        (
            "scorecard-decision-median",
            Box::new(|c| hours(t, c.decision_hours_median)),
        ),
        (
            "scorecard-decision-p90",
            Box::new(|c| hours(t, c.decision_hours_p90)),
        ),
        (
            "scorecard-approval-rate",
            Box::new(|c| share(t, c.approval_rate)),
        ),
        (
            "scorecard-protections",
            Box::new(|c| count(c.protections_granted)),
        ),
        (
            "scorecard-protection-days",
            Box::new(|c| days(t, c.protection_days_median)),
        ),
        ("scorecard-leads-sent", Box::new(|c| count(c.leads_sent))),
        (
            "scorecard-leads-accepted",
            Box::new(|c| count(c.leads_accepted)),
        ),
        ("scorecard-leads-won", Box::new(|c| count(c.leads_won))),
        (
            "scorecard-answer-by-given",
            Box::new(|c| count(c.answer_by_given)),
        ),
        (
            "scorecard-answer-by-hours",
            Box::new(|c| hours(t, c.answer_by_hours_average)),
        ),
        ("scorecard-sync-runs", Box::new(|c| count(c.sync_runs))),
        (
            "scorecard-sync-failed",
            Box::new(|c| count(c.sync_runs_failed)),
        ),
        (
            "scorecard-reauthorizations",
            Box::new(|c| count(c.reauthorizations_needed)),
        ),
    ];
    let mut out: Vec<FigureRow> = figures
        .into_iter()
        .map(|(label, cell)| FigureRow {
            label: t.t(label),
            cells: cards.iter().map(&cell).collect(),
        })
        .collect();
    for area in ExperienceArea::ALL {
        out.push(FigureRow {
            label: t.ts(
                "scorecard-rating",
                "area",
                &t.t(&format!("experience-{}", area.as_str())),
            ),
            cells: cards
                .iter()
                .map(|c| match c.ratings.iter().find(|r| r.area == *area) {
                    Some(r) => match Decimal::from_f64(r.average) {
                        Some(avg) => t.targs(
                            "scorecard-rating-value",
                            &[("average", t.decimal(&avg)), ("n", r.ratings.to_string())],
                        ),
                        None => NONE.to_owned(),
                    },
                    None => NONE.to_owned(),
                })
                .collect(),
        });
    }
    out
}

/// The period typed into the page: an empty or missing day takes its
/// default; a day that does not parse, or a period the domain refuses, is
/// said in the viewer's language.
fn typed_period(t: &Tr, q: &PeriodQuery) -> Result<Period, String> {
    let day = |s: &Option<String>| -> Result<Option<NaiveDate>, String> {
        match s.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| t.ts("scorecard-bad-day", "day", s)),
        }
    };
    let (from, to) = (day(&q.from)?, day(&q.to)?);
    scorecards::period(from, to).map_err(|e| match e {
        onepane_domain::scorecard::PeriodError::Backwards { .. } => t.t("scorecard-backwards"),
        onepane_domain::scorecard::PeriodError::TooLong => t.t("scorecard-too-long"),
    })
}

async fn cards(
    state: &AppState,
    viewer: &Viewer,
    period: &Period,
) -> Result<(Vec<LinkedVendor>, Vec<Scorecard>), WebError> {
    Ok(scorecards::for_partner(&viewer.store(state), period).await?)
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, WebError> {
    let t = viewer.tr.clone();
    let (period, problem) = match typed_period(&t, &q) {
        Ok(p) => (p, None),
        Err(e) => (
            scorecards::period(None, None).map_err(|e| WebError::Internal(Box::new(e)))?,
            Some(e),
        ),
    };
    let (chrome, (vendors, cards)) = tokio::try_join!(
        Chrome::load(&state, &viewer, "vendors"),
        cards(&state, &viewer, &period)
    )?;
    let message = match q.done.as_deref() {
        Some("rated") => Some(t.t("scorecard-rated")),
        _ => None,
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ScorecardsPage {
        vendors: vendors
            .iter()
            .map(|v| (v.vendor.id.to_string(), v.vendor.name.to_string()))
            .collect(),
        rows: rows(&t, &cards),
        from: period.from.to_string(),
        to: period.to.to_string(),
        period: t.targs(
            "scorecard-period",
            &[("from", t.date(&period.from)), ("to", t.date(&period.to))],
        ),
        csv_query: format!("from={}&to={}", period.from, period.to),
        message,
        problem,
        chrome,
        t,
    };
    Ok((status, render(&page)?).into_response())
}

/// A number for CSV: plain, with a decimal point; empty when absent.
fn csv_real(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_count(x: Option<u64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// The scorecards as CSV: a row per vendor, a column per figure (names as
/// in `GET /api/v1/scorecards`), numbers with a decimal point.
async fn csv_export(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, WebError> {
    let period = typed_period(&viewer.tr, &q).map_err(|_| WebError::BadRequest)?;
    let (vendors, cards) = cards(&state, &viewer, &period).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "vendor",
        "vendor_id",
        "from",
        "to",
        "registrations_submitted",
        "registrations_decided",
        "decision_hours_median",
        "decision_hours_p90",
        "approval_rate",
        "protections_granted",
        "protection_days_median",
        "leads_sent",
        "leads_accepted",
        "leads_won",
        "answer_by_given",
        "answer_by_hours_average",
        "sync_runs",
        "sync_runs_failed",
        "reauthorizations_needed",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for area in ExperienceArea::ALL {
        header.push(format!("rating_{}", area.as_str()));
        header.push(format!("ratings_{}", area.as_str()));
    }
    let csv_err = |e: csv::Error| WebError::Internal(Box::new(e));
    out.write_record(&header).map_err(csv_err)?;
    for (v, c) in vendors.iter().zip(&cards) {
        let mut record = vec![
            v.vendor.name.to_string(),
            v.vendor.id.to_string(),
            period.from.to_string(),
            period.to.to_string(),
            csv_count(c.registrations_submitted),
            csv_count(c.registrations_decided),
            csv_real(c.decision_hours_median),
            csv_real(c.decision_hours_p90),
            csv_real(c.approval_rate),
            csv_count(c.protections_granted),
            csv_real(c.protection_days_median),
            csv_count(c.leads_sent),
            csv_count(c.leads_accepted),
            csv_count(c.leads_won),
            csv_count(c.answer_by_given),
            csv_real(c.answer_by_hours_average),
            csv_count(c.sync_runs),
            csv_count(c.sync_runs_failed),
            csv_count(c.reauthorizations_needed),
        ];
        for area in ExperienceArea::ALL {
            let r = c.ratings.iter().find(|r| r.area == *area);
            record.push(csv_real(r.map(|r| r.average)));
            record.push(csv_count(r.map(|r| r.ratings)));
        }
        out.write_record(&record).map_err(csv_err)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| WebError::Internal(e.into_error().into()))?;
    let name = format!("scorecards-{}-{}.csv", period.from, period.to);
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// One area of the rating form.
#[derive(Debug, Clone)]
pub struct AreaField {
    /// The area's spelling (the field names' suffix).
    pub area: &'static str,
    /// The area in words.
    pub label: String,
    /// What it covers.
    pub hint: String,
    /// The score given, if any.
    pub score: Option<u8>,
    /// The note given.
    pub note: String,
    /// What is wrong with what was typed.
    pub error: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "scorecard_rate.html")]
struct RatePage {
    t: Tr,
    chrome: Chrome,
    vendor_id: String,
    vendor: String,
    quarter: String,
    areas: Vec<AreaField>,
    problem: Option<String>,
}

/// The vendor `id` names, if the workspace is linked to it.
async fn linked_vendor(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> Result<LinkedVendor, WebError> {
    let vendor: VendorId = id.parse().map_err(|_| WebError::NotFound)?;
    viewer
        .store(state)
        .vendors()
        .await?
        .into_iter()
        .find(|v| v.vendor.id == vendor)
        .ok_or(WebError::NotFound)
}

fn area_fields(t: &Tr, given: &[Rating]) -> Vec<AreaField> {
    ExperienceArea::ALL
        .iter()
        .map(|area| {
            let r = given.iter().find(|r| r.area == *area);
            AreaField {
                area: area.as_str(),
                label: t.t(&format!("experience-{}", area.as_str())),
                hint: t.t(&format!("experience-{}-hint", area.as_str())),
                score: r.map(|r| r.score),
                note: r.and_then(|r| r.note.clone()).unwrap_or_default(),
                error: None,
            }
        })
        .collect()
}

async fn rate_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    viewer: Viewer,
) -> Result<Response, WebError> {
    let linked = linked_vendor(&state, &viewer, &id).await?;
    let quarter = Quarter::of(Utc::now().date_naive());
    let given = viewer
        .store(&state)
        .rating_of(viewer.session.user.id, linked.vendor.id, quarter)
        .await?;
    let page = RatePage {
        chrome: Chrome::load(&state, &viewer, "vendors").await?,
        vendor_id: linked.vendor.id.to_string(),
        vendor: linked.vendor.name.to_string(),
        quarter: quarter.to_string(),
        areas: area_fields(&viewer.tr, &given),
        problem: None,
        t: viewer.tr.clone(),
    };
    render(&page)
}

/// Saves the viewer's rating of a vendor for this quarter: a score of 1 to
/// 5 per area (an area may be left unrated) and an optional note; at least
/// one area must be rated.
async fn rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<RateForm>,
) -> Result<Response, WebError> {
    let linked = linked_vendor(&state, &viewer, &id).await?;
    let t = viewer.tr.clone();
    let quarter = Quarter::of(Utc::now().date_naive());
    let mut areas = area_fields(&t, &[]);
    let mut ratings = Vec::new();
    let mut wrong = false;
    for field in &mut areas {
        let score = form.value(&format!("score-{}", field.area));
        let note = form.value(&format!("note-{}", field.area));
        field.note = note.trim().to_owned();
        match score.trim() {
            "" => {
                if !field.note.is_empty() {
                    field.error = Some(t.t("scorecard-note-needs-score"));
                    wrong = true;
                }
            }
            s => match s.parse::<u8>() {
                Ok(n @ 1..=5) => {
                    field.score = Some(n);
                    if field.note.chars().count() > NOTE_MAX {
                        field.error = Some(t.tn("scorecard-note-too-long", "max", NOTE_MAX as i64));
                        wrong = true;
                    }
                    if let Ok(area) = field.area.parse() {
                        ratings.push(Rating {
                            area,
                            score: n,
                            note: (!field.note.is_empty()).then(|| field.note.clone()),
                        });
                    }
                }
                _ => {
                    field.error = Some(t.t("scorecard-bad-score"));
                    wrong = true;
                }
            },
        }
    }
    let problem = if wrong {
        Some(t.t("scorecard-fix-fields"))
    } else if ratings.is_empty() {
        Some(t.t("scorecard-nothing-rated"))
    } else {
        None
    };
    if problem.is_some() {
        let page = RatePage {
            chrome: Chrome::load(&state, &viewer, "vendors").await?,
            vendor_id: linked.vendor.id.to_string(),
            vendor: linked.vendor.name.to_string(),
            quarter: quarter.to_string(),
            areas,
            problem,
            t,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    viewer
        .store(&state)
        .rate_vendor(viewer.session.user.id, linked.vendor.id, quarter, &ratings)
        .await?;
    Ok(Redirect::to("/scorecards?done=rated").into_response())
}

/// The rating form's fields, as posted.
#[derive(Debug)]
pub struct RateForm(Vec<(String, String)>);

impl RateForm {
    fn value(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for RateForm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(d)?;
        Ok(RateForm(map.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::Lang;

    #[test]
    fn a_typed_period_is_checked_in_the_viewers_language() {
        let t = Tr::new(Lang::En);
        let q = |from: &str, to: &str| PeriodQuery {
            from: Some(from.to_owned()),
            to: Some(to.to_owned()),
            done: None,
        };
        let p = typed_period(&t, &q("2026-10-01", "2026-12-31")).unwrap();
        assert_eq!(p.from.to_string(), "2026-10-01");
        assert!(typed_period(&t, &q("2026-13-01", "2026-12-31")).is_err());
        assert!(typed_period(&t, &q("2026-12-31", "2026-10-01")).is_err());
        let dflt = typed_period(&t, &q("", "2026-12-31")).unwrap();
        assert_eq!(dflt.from.to_string(), "2026-10-03");
        let fi = Tr::new(Lang::Fi);
        let e = typed_period(&fi, &q("eilen", "2026-12-31")).unwrap_err();
        assert!(e.contains("eilen"), "{e}");
    }
}
