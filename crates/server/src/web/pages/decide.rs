//! The public page a mailed decision link opens, at `/decide/{token}`: a
//! vendor with no system decides a partner's registration without an
//! account. Opening the page changes nothing (mail scanners open links);
//! submitting its form uses the link, once, and decides the registration
//! as a decision through the connector API would (status, reason,
//! protection end, extra discount, the partner's notification and CRM).
//!
//! A link that is unknown (forged, altered), expired or already used (or
//! whose sibling was) changes nothing and says why. The token names one
//! registration and one vendor: it cannot reach any other.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, NaiveDate, Utc};
use onepane_domain::deal::{DealDecision, DealRegistration};
use onepane_domain::delivery::{DecisionLink, LinkDecision};
use onepane_domain::price::Percent;
use onepane_domain::text::LongText;
use onepane_store::LinkRefused;
use serde::Deserialize;

use crate::auth::credentials::token_digest;
use crate::services::decisions::TOKEN_PREFIX;
use crate::state::AppState;
use crate::web::chrome::render;
use crate::web::error::WebError;
use crate::web::i18n::{Tr, browser_lang};

/// The decision page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/decide/{token}", get(show).post(decide))
}

/// What the vendor's person typed, kept to show again with the errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    protection_expires_on: String,
    #[serde(default)]
    extra_discount: String,
    #[serde(default)]
    reason: String,
}

#[derive(askama::Template)]
#[template(path = "decide.html")]
struct DecidePage {
    t: Tr,
    token: String,
    approve: bool,
    title: String,
    customer: String,
    amount: String,
    products: Vec<(String, u32)>,
    fields: Vec<(String, String)>,
    reference: String,
    form: DecisionForm,
    errors: Vec<(&'static str, String)>,
    /// The decision just recorded, or why the link changes nothing.
    outcome: Option<String>,
    refused: Option<String>,
}

impl DecidePage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e)
    }
}

fn page(t: Tr, token: &str, link: &DecisionLink, deal: &DealRegistration) -> DecidePage {
    let d = &deal.details;
    let mut customer = d.customer.name.to_string();
    if let Some(domain) = &d.customer.domain {
        customer.push_str(&format!(" ({domain})"));
    }
    DecidePage {
        token: token.to_owned(),
        approve: link.decision == LinkDecision::Approve,
        title: d.title.to_string(),
        customer,
        amount: t.money(&d.amount),
        products: d
            .products
            .iter()
            .map(|p| (p.sku.to_string(), p.quantity))
            .collect(),
        fields: d
            .fields
            .as_map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        reference: deal.id.to_string(),
        form: DecisionForm {
            protection_expires_on: (Utc::now().date_naive() + Duration::days(90)).to_string(),
            ..DecisionForm::default()
        },
        errors: Vec::new(),
        outcome: None,
        refused: None,
        t,
    }
}

/// The page saying why a link changes nothing.
fn refused(t: Tr, token: &str, why: &LinkRefused) -> Result<Response, WebError> {
    let (status, message) = match why {
        LinkRefused::Unknown => (StatusCode::NOT_FOUND, t.t("decide-unknown")),
        LinkRefused::Expired(at) => (
            StatusCode::GONE,
            t.ts("decide-expired", "when", &t.datetime(at)),
        ),
        LinkRefused::Used(at) => (
            StatusCode::CONFLICT,
            t.ts("decide-used", "when", &t.datetime(at)),
        ),
    };
    let view = DecidePage {
        token: token.to_owned(),
        approve: false,
        title: String::new(),
        customer: String::new(),
        amount: String::new(),
        products: Vec::new(),
        fields: Vec::new(),
        reference: String::new(),
        form: DecisionForm::default(),
        errors: Vec::new(),
        outcome: None,
        refused: Some(message),
        t,
    };
    Ok((status, render(&view)?).into_response())
}

/// The digest of a presented token; a token that is not one of ours in
/// shape is unknown without a lookup.
fn digest_of(token: &str) -> Option<[u8; 32]> {
    (token.starts_with(TOKEN_PREFIX) && token.len() < 100).then(|| token_digest(token))
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let t = Tr::new(browser_lang(&headers));
    let Some(digest) = digest_of(&token) else {
        return refused(t, &token, &LinkRefused::Unknown);
    };
    match state.store.system().decision_link(&digest).await? {
        Ok((link, deal)) => render(&page(t, &token, &link, &deal)),
        Err(why) => refused(t, &token, &why),
    }
}

/// Checks the form for the link's decision.
fn check(
    form: &DecisionForm,
    approve: bool,
    t: &Tr,
) -> Result<DealDecision, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let reason = form.reason.trim();
    let reason = if reason.is_empty() {
        None
    } else {
        match LongText::parse(reason) {
            Ok(r) => Some(r),
            Err(_) => {
                errors.push(("reason", t.t("decide-error-reason")));
                None
            }
        }
    };
    if !approve {
        return match reason {
            Some(reason) if errors.is_empty() => Ok(DealDecision::Rejected { reason }),
            _ => {
                if errors.is_empty() {
                    errors.push(("reason", t.t("decide-error-reason-required")));
                }
                Err(errors)
            }
        };
    }
    let today = Utc::now().date_naive();
    let expires = match form.protection_expires_on.trim().parse::<NaiveDate>() {
        Ok(d) if d > today => Some(d),
        _ => {
            errors.push(("protection_expires_on", t.t("decide-error-protection")));
            None
        }
    };
    let discount = match form.extra_discount.trim() {
        "" => None,
        text => match text
            .trim_end_matches('%')
            .trim()
            .replace(',', ".")
            .parse()
            .ok()
            .and_then(|d| Percent::new(d).ok())
        {
            Some(p) => Some(p),
            None => {
                errors.push(("extra_discount", t.t("decide-error-discount")));
                None
            }
        },
    };
    match expires {
        Some(protection_expires_on) if errors.is_empty() => Ok(DealDecision::Approved {
            reason,
            protection_expires_on,
            extra_discount: discount,
        }),
        _ => Err(errors),
    }
}

async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(browser_lang(&headers));
    let Some(digest) = digest_of(&token) else {
        return refused(t, &token, &LinkRefused::Unknown);
    };
    let system = state.store.system();
    let (link, deal) = match system.decision_link(&digest).await? {
        Ok(found) => found,
        Err(why) => return refused(t, &token, &why),
    };
    let approve = link.decision == LinkDecision::Approve;
    // The form is checked before the link is used: a typo costs nothing.
    let decision = match check(&form, approve, &t) {
        Ok(d) => d,
        Err(errors) => {
            let mut view = page(t, &token, &link, &deal);
            view.form = form;
            view.errors = errors;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&view)?).into_response());
        }
    };
    let link = match system.use_decision_link(&digest).await? {
        Ok(link) => link,
        Err(why) => return refused(t, &token, &why),
    };
    // Decided as the vendor, in the vendor's scope: the link's vendor and
    // registration only.
    match state
        .store
        .vendor(link.vendor_id)
        .decide(link.registration_id, decision)
        .await
    {
        Ok(decided) => {
            let mut view = page(t, &token, &link, &decided);
            let status = view.t.t(super::deals::status_id(decided.status));
            view.outcome = Some(view.t.ts("decide-done", "status", &status));
            render(&view)
        }
        Err(onepane_store::StoreError::Rule(_)) => {
            let mut view = page(t, &token, &link, &deal);
            view.refused = Some(view.t.t("decide-already-decided"));
            Ok((StatusCode::CONFLICT, render(&view)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
