//! What the workspace's landing pages show of it: the contact, the
//! website, the logo (uploaded, or an https address), the privacy notice
//! and the marketing consent text. Owners and admins only.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onepane_domain::campaign::WebUrl;
use onepane_domain::text::{Email, LongText};
use onepane_store::WorkspaceProfile;
use serde::Deserialize;

use super::logo::{UPLOAD_BODY_LIMIT, check_logo, read_upload};
use super::{Fields, Frame, Section, kept};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};

/// The section's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(Section::LandingPage.path(), get(show))
        .route("/settings/profile", post(profile))
        .route(
            "/settings/logo",
            post(upload_logo).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/settings/logo/delete", post(delete_logo))
}

#[derive(askama::Template)]
#[template(path = "settings_landing_page.html")]
struct LandingPageSettings {
    t: Tr,
    chrome: Chrome,
    frame: Frame,
    /// The profile form: one field a column of the profile.
    form: Fields,
    consent_version: u32,
    /// The uploaded logo's address, when there is one.
    logo: Option<String>,
    /// The upload form: `logo`, for its error.
    upload: Fields,
    logo_max_kib: i64,
}

async fn page(state: &AppState, viewer: &Viewer) -> Result<LandingPageSettings, WebError> {
    let frame = Frame::new(viewer, Section::LandingPage)?;
    let chrome = Chrome::load(state, viewer, "settings").await?;
    let store = viewer.store(state);
    let profile = store.profile().await?;
    let mut form = Fields::default();
    for (field, value) in [
        ("contact_name", &profile.contact_name),
        ("contact_email", &profile.contact_email),
        ("contact_phone", &profile.contact_phone),
        ("website", &profile.website),
        ("logo_url", &profile.logo_url),
        ("privacy_notice_url", &profile.privacy_notice_url),
        ("marketing_consent_text", &profile.marketing_consent_text),
    ] {
        form.keep(field, value.clone().unwrap_or_default());
    }
    Ok(LandingPageSettings {
        t: viewer.tr.clone(),
        frame,
        logo: chrome.logo.clone(),
        chrome,
        form,
        consent_version: profile.marketing_consent_version,
        upload: Fields::default(),
        logo_max_kib: i64::try_from(onepane_store::LOGO_MAX_BYTES / 1024).unwrap_or(i64::MAX),
    })
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    render(&page(&state, &viewer).await?)
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    contact_name: String,
    contact_email: String,
    contact_phone: String,
    website: String,
    #[serde(default)]
    logo_url: String,
    privacy_notice_url: String,
    marketing_consent_text: String,
}

/// The most a marketing consent checkbox's text may say.
const CONSENT_TEXT_MAX: usize = 1_000;

/// A text field that may be left empty, up to `max` characters.
fn optional(s: &str, max: usize) -> Result<Option<String>, ()> {
    let s = s.trim();
    if s.chars().count() > max {
        Err(())
    } else {
        Ok((!s.is_empty()).then(|| s.to_owned()))
    }
}

/// A web address that may be left empty, kept as typed: http(s), or
/// https only.
fn web_address(s: &str, https_only: bool) -> Result<Option<String>, ()> {
    match optional(s, 500)? {
        Some(u) if !(u.starts_with("https://") || (!https_only && u.starts_with("http://"))) => {
            Err(())
        }
        other => Ok(other),
    }
}

/// The privacy notice's address, which may be left empty: a web address,
/// and a secure one.
fn privacy_address(s: &str) -> Result<Option<String>, ()> {
    match s.trim() {
        "" => Ok(None),
        u => match u.parse::<WebUrl>() {
            Ok(url) if url.as_url().scheme() == "https" => Ok(Some(String::from(url))),
            _ => Err(()),
        },
    }
}

/// Checks the profile form: the profile, or the form with each error
/// beside its field.
fn check(form: &ProfileForm, t: &Tr) -> Result<WorkspaceProfile, Fields> {
    let mut fields = Fields::default();
    fields.keep("contact_name", kept(&form.contact_name, 400));
    fields.keep("contact_email", kept(&form.contact_email, 400));
    fields.keep("contact_phone", kept(&form.contact_phone, 100));
    fields.keep("website", kept(&form.website, 1000));
    fields.keep("logo_url", kept(&form.logo_url, 1000));
    fields.keep("privacy_notice_url", kept(&form.privacy_notice_url, 1000));
    fields.keep(
        "marketing_consent_text",
        kept(&form.marketing_consent_text, CONSENT_TEXT_MAX * 2),
    );
    let contact_name = optional(&form.contact_name, 200);
    if contact_name.is_err() {
        fields.refuse("contact_name", t.t("profile-contact-name-invalid"));
    }
    let contact_email = optional(&form.contact_email, 254).and_then(|e| match e {
        Some(e) => e
            .parse::<Email>()
            .map(|e| Some(e.to_string()))
            .map_err(|_| ()),
        None => Ok(None),
    });
    if contact_email.is_err() {
        fields.refuse("contact_email", t.t("profile-contact-email-invalid"));
    }
    let contact_phone = optional(&form.contact_phone, 50);
    if contact_phone.is_err() {
        fields.refuse("contact_phone", t.t("profile-contact-phone-invalid"));
    }
    let website = web_address(&form.website, false);
    if website.is_err() {
        fields.refuse("website", t.t("profile-website-invalid"));
    }
    let logo_url = web_address(&form.logo_url, true);
    if logo_url.is_err() {
        fields.refuse("logo_url", t.t("profile-logo-url-invalid"));
    }
    // Landing pages link to the notice: a web address, and a secure one.
    let privacy_notice_url = privacy_address(&form.privacy_notice_url);
    if privacy_notice_url.is_err() {
        fields.refuse("privacy_notice_url", t.t("profile-privacy-invalid"));
    }
    let marketing_consent_text = match form.marketing_consent_text.trim() {
        "" => Ok(None),
        text if text.chars().count() > CONSENT_TEXT_MAX => Err(()),
        text => text
            .parse::<LongText>()
            .map(|l| Some(l.to_string()))
            .map_err(|_| ()),
    };
    if marketing_consent_text.is_err() {
        fields.refuse("marketing_consent_text", t.t("profile-consent-invalid"));
    }
    match (
        contact_name,
        contact_email,
        contact_phone,
        website,
        logo_url,
        privacy_notice_url,
        marketing_consent_text,
    ) {
        (
            Ok(contact_name),
            Ok(contact_email),
            Ok(contact_phone),
            Ok(website),
            Ok(logo_url),
            Ok(privacy_notice_url),
            Ok(marketing_consent_text),
        ) => Ok(WorkspaceProfile {
            contact_name,
            contact_email,
            contact_phone,
            website,
            logo_url,
            privacy_notice_url,
            marketing_consent_text,
            // The store moves the version when the text changes.
            marketing_consent_version: 0,
        }),
        _ => Err(fields),
    }
}

async fn profile(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<ProfileForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let refused = |fields: Fields| {
        let state = &state;
        let viewer = &viewer;
        async move {
            let mut p = page(state, viewer).await?;
            p.form = fields;
            p.frame.has_field_errors = true;
            Ok::<_, WebError>((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
    };
    let profile = match check(&form, &viewer.tr) {
        Ok(profile) => profile,
        Err(fields) => return refused(fields).await,
    };
    match viewer.store(&state).put_profile(&profile).await {
        Ok(()) => {
            let mut p = page(&state, &viewer).await?;
            p.frame.message = Some(viewer.tr.t("settings-saved"));
            render(&p)
        }
        // The one rule: the notice stays while a landing page is live.
        Err(onepane_store::StoreError::Rule(_)) => {
            let mut fields = Fields::default();
            for (field, value) in [
                ("contact_name", &form.contact_name),
                ("contact_email", &form.contact_email),
                ("contact_phone", &form.contact_phone),
                ("website", &form.website),
                ("logo_url", &form.logo_url),
                ("privacy_notice_url", &form.privacy_notice_url),
                ("marketing_consent_text", &form.marketing_consent_text),
            ] {
                fields.keep(field, kept(value, 2000));
            }
            fields.refuse("privacy_notice_url", viewer.tr.t("profile-privacy-needed"));
            refused(fields).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Takes an uploaded logo: PNG, JPEG or a safe SVG, up to the limit.
async fn upload_logo(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let upload = read_upload(&state, &viewer, &headers, multipart).await?;
    viewer.require_admin()?;
    let checked = upload
        .logo
        .and_then(|bytes| check_logo(&bytes).map(|kind| (kind, bytes)));
    let (kind, bytes) = match checked {
        Ok(ok) => ok,
        Err(refusal) => {
            tracing::info!(workspace = %viewer.session.workspace.id, ?refusal, "logo refused");
            let mut p = page(&state, &viewer).await?;
            p.upload.refuse("logo", viewer.tr.t(refusal.message()));
            p.frame.has_field_errors = true;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
        }
    };
    let digest = super::logo::digest(&bytes);
    viewer.store(&state).put_logo(kind, &bytes, &digest).await?;
    viewer
        .record(
            &state,
            "logo.uploaded",
            "logo",
            super::logo::version(&digest),
            serde_json::json!({ "type": kind.content_type(), "bytes": bytes.len() }),
        )
        .await?;
    let mut p = page(&state, &viewer).await?;
    p.frame.message = Some(viewer.tr.t("logo-saved"));
    render(&p)
}

async fn delete_logo(
    State(state): State<AppState>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    viewer.store(&state).delete_logo().await?;
    viewer
        .record(&state, "logo.removed", "logo", "-", serde_json::json!({}))
        .await?;
    let mut p = page(&state, &viewer).await?;
    p.frame.message = Some(viewer.tr.t("logo-removed"));
    render(&p)
}
