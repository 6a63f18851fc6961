//! A person's data rights in the portal (owners and admins): find every
//! record about one person by email, download them as JSON, or erase them
//! after a confirmation. The address travels only in form bodies, never in
//! a URL.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::privacy::PersonalData;
use onepane_domain::text::Email;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{Posted, Viewer};
use crate::web::view::VendorNames;

/// The privacy routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/privacy", get(show))
        .route("/privacy/find", post(find))
        .route("/privacy/export", post(export))
        .route("/privacy/erase", post(erase))
}

/// A record about the person, as a line.
#[derive(Debug, Clone)]
pub struct RecordLine {
    /// What it is.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// The vendor involved.
    pub vendor: String,
    /// When it came.
    pub when: String,
    /// Where it opens.
    pub link: String,
}

#[derive(askama::Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    t: Tr,
    chrome: Chrome,
    email: String,
    searched: bool,
    records: Vec<RecordLine>,
    pushes: String,
    message: Option<String>,
    problem: Option<String>,
}

/// The query after an erasure: what it changed.
#[derive(Debug, Default, Deserialize)]
struct Erased {
    erased: Option<usize>,
    told: Option<usize>,
}

/// The fields of the forms.
#[derive(Debug, Deserialize)]
pub struct PersonForm {
    email: String,
    #[serde(default)]
    confirm: Option<String>,
}

fn empty(state: &AppState, viewer: &Viewer) -> impl Future<Output = Result<PrivacyPage, WebError>> {
    let (state, viewer) = (state.clone(), viewer.clone());
    async move {
        Ok(PrivacyPage {
            t: viewer.tr.clone(),
            chrome: Chrome::load(&state, &viewer, "settings").await?,
            email: String::new(),
            searched: false,
            records: Vec::new(),
            pushes: "0".to_owned(),
            message: None,
            problem: None,
        })
    }
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(erased): Query<Erased>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let mut page = empty(&state, &viewer).await?;
    if let Some(n) = erased.erased {
        let told = erased.told.unwrap_or(0).to_string();
        page.message = Some(format!(
            "{} {}",
            viewer.tr.ts("privacy-erased", "records", &n.to_string()),
            viewer.tr.ts("privacy-told", "vendors", &told)
        ));
    }
    render(&page)
}

/// The address a form names, or the page again with the problem.
async fn address(
    state: &AppState,
    viewer: &Viewer,
    form: &PersonForm,
) -> Result<Result<Email, Response>, WebError> {
    match form.email.trim().parse::<Email>() {
        Ok(e) => Ok(Ok(e)),
        Err(_) => {
            let mut page = empty(state, viewer).await?;
            page.email = form.email.trim().to_owned();
            page.problem = Some(viewer.tr.t("privacy-email-invalid"));
            Ok(Err(
                (StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response()
            ))
        }
    }
}

async fn found(
    state: &AppState,
    viewer: &Viewer,
    data: &PersonalData,
) -> Result<PrivacyPage, WebError> {
    let t = &viewer.tr;
    let names = VendorNames::new(&viewer.store(state).vendors().await?);
    let mut records: Vec<RecordLine> = data
        .leads
        .iter()
        .map(|l| RecordLine {
            kind: t.t("privacy-kind-lead"),
            title: l.contact.name.to_string(),
            vendor: names.name_opt(&l.vendor_id),
            when: t.datetime(&l.created_at),
            link: format!("/leads/{}", l.id),
        })
        .collect();
    records.extend(data.deal_registrations.iter().map(|d| RecordLine {
        kind: t.t("privacy-kind-deal"),
        title: d.details.title.to_string(),
        vendor: names.name(&d.vendor_id),
        when: t.datetime(&d.submitted_at),
        link: format!("/deals/{}", d.id),
    }));
    let mut page = empty(state, viewer).await?;
    page.email = data.email.to_string();
    page.searched = true;
    page.records = records;
    page.pushes = data.crm_pushes.len().to_string();
    Ok(page)
}

async fn find(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<PersonForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let email = match address(&state, &viewer, &form).await? {
        Ok(e) => e,
        Err(answer) => return Ok(answer),
    };
    let data = viewer.store(&state).personal_data(&email).await?;
    render(&found(&state, &viewer, &data).await?)
}

async fn export(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<PersonForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let email = match address(&state, &viewer, &form).await? {
        Ok(e) => e,
        Err(answer) => return Ok(answer),
    };
    let data = viewer
        .store(&state)
        .export_personal_data(&email, viewer.session.user.id)
        .await?;
    let body = serde_json::to_vec_pretty(&data).map_err(|e| WebError::Internal(e.into()))?;
    Ok((
        [
            (CONTENT_TYPE, "application/json"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"personal-data.json\"",
            ),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

async fn erase(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<PersonForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let email = match address(&state, &viewer, &form).await? {
        Ok(e) => e,
        Err(answer) => return Ok(answer),
    };
    if form.confirm.as_deref() != Some("yes") {
        let data = viewer.store(&state).personal_data(&email).await?;
        let mut page = found(&state, &viewer, &data).await?;
        page.problem = Some(viewer.tr.t("privacy-erase-unconfirmed"));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let erased = viewer
        .store(&state)
        .erase_person(&email, viewer.session.user.id)
        .await?;
    Ok(Redirect::to(&format!(
        "/privacy?erased={}&told={}",
        erased.leads + erased.deal_registrations,
        erased.vendors_told
    ))
    .into_response())
}
