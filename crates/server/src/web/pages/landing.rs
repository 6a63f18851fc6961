//! The public landing page of an activated campaign, at `/l/{slug}`: the
//! vendor's content with the partner's name, logo, contact and privacy
//! notice, in the visitor's language when the campaign has it, and a lead
//! form.
//!
//! When the partner has set a marketing consent text, the form shows it
//! beside an unticked checkbox, with the text's version in a hidden field.
//! The lead records the answer, and the store builds the rest of its
//! consent record (the text as shown, its version, the page, the privacy
//! notice, the time) from the page and profile. A form answered to another
//! version of the text than the current one comes back with the current
//! text to answer again, so no lead claims consent to words its visitor
//! never saw.
//!
//! The form is guarded against spam by a honeypot field (hidden from
//! people, filled by bots: such a submission is thanked and dropped) and a
//! limit per client address. A submitted lead is attributed to the vendor
//! and the campaign, notifies the workspace and is queued for its CRM (the
//! store does all three in one transaction). The answer to a sent form is
//! a redirect to the page's thank-you view (`?sent`), so reloading it sends
//! nothing again.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use onepane_domain::lead::{Company, ConsentAnswer, Contact, NewCampaignLead};
use onepane_domain::text::Locale;
use onepane_store::LandingPage;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::auth::client_address;
use crate::web::chrome::render;
use crate::web::error::WebError;
use crate::web::i18n::browser_lang;
use crate::web::i18n::{Lang, Tr};

/// Submissions from one address per window before it is held.
pub const SUBMISSIONS_PER_WINDOW: u64 = 10;
/// The window submissions are counted over.
pub const SUBMISSION_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

/// The landing page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/l/{slug}", get(show).post(submit))
}

/// What the visitor typed, kept to show again with the errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeadForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    message: String,
    /// The honeypot: people never see it.
    #[serde(default)]
    website: String,
    /// The marketing consent checkbox: present only when ticked.
    #[serde(default)]
    marketing_consent: Option<String>,
    /// The version of the consent text the page showed (empty: no checkbox).
    #[serde(default)]
    consent_version: String,
}

impl LeadForm {
    /// Whether the marketing consent checkbox was ticked (a browser sends
    /// its value only then).
    fn ticked(&self) -> bool {
        self.marketing_consent.as_deref() == Some("yes")
    }
}

#[derive(askama::Template)]
#[template(path = "landing.html")]
struct LandingView {
    t: Tr,
    slug: String,
    partner: String,
    vendor: String,
    headline: String,
    body: String,
    call_to_action: String,
    contact_name: String,
    contact_email: String,
    contact_phone: String,
    website: String,
    logo_url: String,
    privacy_notice_url: String,
    consent_text: String,
    consent_version: u32,
    initials: String,
    /// The partner's uploaded logo (its address here, with its version).
    uploaded_logo: Option<String>,
    /// The vendor's logo, when it set one.
    vendor_logo: Option<String>,
    form: LeadForm,
    errors: Vec<(&'static str, String)>,
    thanks: bool,
}

impl LandingView {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e)
    }
}

fn view(page: &LandingPage, headers: &HeaderMap, slug: &str) -> LandingView {
    let visitor = browser_lang(headers);
    let locale: Option<Locale> = visitor.tag().parse().ok();
    let content = &page.campaign.content;
    let variant = locale
        .as_ref()
        .map_or_else(|| content.variants.first(), |l| content.variant_for(l));
    // The page speaks the language of the content it shows, when we speak it.
    let lang = Lang::from_tag(variant.locale.as_str()).unwrap_or(visitor);
    let partner = page.workspace.name.to_string();
    let initials = crate::web::chrome::initials(&partner);
    let p = &page.profile;
    LandingView {
        t: Tr::new(lang),
        slug: slug.to_owned(),
        vendor: page.vendor_name.to_string(),
        headline: variant.landing.headline.to_string(),
        body: variant.landing.body.to_string(),
        call_to_action: variant.landing.call_to_action.to_string(),
        contact_name: p.contact_name.clone().unwrap_or_default(),
        contact_email: p.contact_email.clone().unwrap_or_default(),
        contact_phone: p.contact_phone.clone().unwrap_or_default(),
        website: p.website.clone().unwrap_or_default(),
        logo_url: p
            .logo_url
            .clone()
            .filter(|u| u.starts_with("https://"))
            .unwrap_or_default(),
        privacy_notice_url: p
            .privacy_notice_url
            .clone()
            .filter(|u| u.starts_with("https://"))
            .unwrap_or_default(),
        consent_text: p.marketing_consent_text.clone().unwrap_or_default(),
        consent_version: p.marketing_consent_version,
        initials,
        uploaded_logo: None,
        vendor_logo: None,
        partner,
        form: LeadForm::default(),
        errors: Vec::new(),
        thanks: false,
    }
}

/// The faces the page shows: the partner's uploaded logo and the
/// vendor's logo.
async fn faces(
    state: &AppState,
    page: &LandingPage,
    slug: &str,
    view: &mut LandingView,
) -> Result<(), WebError> {
    let partner = state.store.partner(page.workspace.id);
    let (digest, logos) = tokio::try_join!(partner.logo_digest(), partner.vendor_logos())?;
    view.uploaded_logo = digest.map(|d| {
        format!(
            "/l/{slug}/logo?v={}",
            crate::web::pages::settings::logo::version(&d)
        )
    });
    view.vendor_logo = crate::web::pages::campaigns::vendor_logo(&logos, &page.campaign.vendor_id);
    Ok(())
}

/// The landing page's query: `sent` after a form was taken. Other
/// parameters are ignored, not refused: links to a campaign's page carry
/// their own (`utm_source` and the like).
#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    sent: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(shown): Query<Shown>,
) -> Result<Response, WebError> {
    let page = state
        .store
        .system()
        .landing_page(&slug)
        .await?
        .ok_or(WebError::NotFound)?;
    let mut view = view(&page, &headers, &slug);
    faces(&state, &page, &slug, &mut view).await?;
    view.thanks = shown.sent.is_some();
    render(&view)
}

/// Where a taken form goes: the page's thank-you view, by GET.
fn thanked(slug: &str) -> Response {
    Redirect::to(&format!("/l/{slug}?sent")).into_response()
}

/// Checks the form: the lead, or a message per field in error.
fn check(
    form: &LeadForm,
    page: &LandingPage,
    t: &Tr,
) -> Result<NewCampaignLead, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let name = form.name.trim().parse();
    if name.is_err() {
        errors.push(("name", t.t("landing-error-name")));
    }
    let email = form.email.trim().parse();
    if email.is_err() {
        errors.push(("email", t.t("landing-error-email")));
    }
    let company = if form.company.trim().is_empty() {
        Ok(None)
    } else {
        form.company.trim().parse().map(Some)
    };
    if company.is_err() {
        errors.push(("company", t.t("landing-error-company")));
    }
    let phone = if form.phone.trim().is_empty() {
        Ok(None)
    } else {
        form.phone.trim().parse().map(Some)
    };
    if phone.is_err() {
        errors.push(("phone", t.t("landing-error-phone")));
    }
    let message = if form.message.trim().is_empty() {
        Ok(None)
    } else {
        form.message.trim().parse().map(Some)
    };
    if message.is_err() {
        errors.push(("message", t.t("landing-error-message")));
    }
    let consent = consent_answer(form, page);
    if consent.is_none() {
        errors.push(("marketing_consent", t.t("landing-error-consent-changed")));
    }
    match (name, email, company, phone, message, consent) {
        (Ok(name), Ok(email), Ok(company), Ok(phone), Ok(message), Some(consent)) => {
            Ok(NewCampaignLead {
                activation_id: page.activation.id,
                contact: Contact {
                    name,
                    email: Some(email),
                    phone,
                    title: None,
                },
                company: company.map(|name| Company {
                    name,
                    domain: None,
                    country: None,
                }),
                message,
                consent,
            })
        }
        _ => Err(errors),
    }
}

/// The visitor's answer to the page's marketing checkbox, or `None` when
/// the form was answered to another version of the text than the page has
/// now (or to a checkbox it no longer shows, or without one it now shows).
fn consent_answer(form: &LeadForm, page: &LandingPage) -> Option<ConsentAnswer> {
    let profile = &page.profile;
    let shown = form.consent_version.trim();
    match &profile.marketing_consent_text {
        None => shown.is_empty().then_some(ConsentAnswer::NotAsked),
        Some(_) => {
            let version = profile.marketing_consent_version;
            (shown.parse::<u32>().ok() == Some(version)).then_some(ConsentAnswer::Answered {
                given: form.ticked(),
                text_version: version,
            })
        }
    }
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Path(slug): Path<String>,
    axum::Form(form): axum::Form<LeadForm>,
) -> Result<Response, WebError> {
    let system = state.store.system();
    let page = system
        .landing_page(&slug)
        .await?
        .ok_or(WebError::NotFound)?;
    let mut view = view(&page, &headers, &slug);
    faces(&state, &page, &slug, &mut view).await?;
    let key = format!(
        "landing:address:{}",
        client_address(&state, &headers, &extensions)
    );
    let since = Utc::now() - SUBMISSION_WINDOW;
    if system.throttle_counts(&[&key], since).await?.first() >= Some(&SUBMISSIONS_PER_WINDOW) {
        view.errors
            .push(("form", view.t.t("landing-error-too-many")));
        view.form = form;
        return Ok((StatusCode::TOO_MANY_REQUESTS, render(&view)?).into_response());
    }
    system.throttle_record(&[&key], since).await?;
    if !form.website.is_empty() {
        tracing::info!(slug = %slug, "landing-page submission dropped: the honeypot was filled");
        return Ok(thanked(&slug));
    }
    match check(&form, &page, &view.t) {
        Ok(lead) => {
            let lead = state
                .store
                .partner(page.workspace.id)
                .capture_campaign_lead(&lead)
                .await?;
            tracing::info!(lead = %lead.id, slug = %slug, "lead captured");
            Ok(thanked(&slug))
        }
        Err(errors) => {
            let changed = errors.iter().any(|(f, _)| *f == "marketing_consent");
            view.errors = errors;
            view.form = form;
            if changed {
                // A tick given to other words is no answer to these.
                view.form.marketing_consent = None;
            }
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&view)?).into_response())
        }
    }
}
