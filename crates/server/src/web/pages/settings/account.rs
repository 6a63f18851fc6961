//! The member's own section: the portal's language, the time zone times
//! are told in, and the mail it wants about deadlines.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::mail::{MailPreferences, TimeZone};
use onepane_domain::text::Locale;
use onepane_store::MailSettings;
use serde::Deserialize;

use super::{Fields, Frame, Section, kept};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{Posted, Viewer};
use crate::web::view::Choice;

/// The section's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(Section::Account.path(), get(show))
        .route("/settings/language", post(language))
        .route("/settings/mail", post(save_mail))
}

#[derive(askama::Template)]
#[template(path = "settings_account.html")]
struct AccountPage {
    t: Tr,
    chrome: Chrome,
    frame: Frame,
    email: String,
    languages: Vec<Choice>,
    /// The mail form: `daily_digest`, `urgent_leads`, `time_zone`.
    mail: Fields,
    /// No zone chosen yet: the browser's is filled in for the member to save.
    fill_from_browser: bool,
    digest_hour: i64,
    zones: Vec<&'static str>,
    mail_saved: Option<String>,
}

/// The languages a member can choose, theirs selected.
fn language_choices(viewer: &Viewer, t: &Tr) -> Vec<Choice> {
    let own = viewer.session.locale.as_ref().map(Locale::as_str);
    [
        ("", t.t("language-browser")),
        ("en", "English".to_owned()),
        ("fi", "Suomi".to_owned()),
    ]
    .into_iter()
    .map(|(value, label)| Choice {
        selected: own.unwrap_or("") == value,
        value: value.to_owned(),
        label,
    })
    .collect()
}

async fn page(state: &AppState, viewer: &Viewer) -> Result<AccountPage, WebError> {
    let frame = Frame::new(viewer, Section::Account)?;
    let chrome = Chrome::load(state, viewer, "settings").await?;
    let t = viewer.tr.clone();
    let settings = viewer
        .store(state)
        .mail_settings(viewer.session.user.id)
        .await?;
    let mut mail = Fields::default();
    if settings.preferences.daily_digest {
        mail.keep("daily_digest", "on");
    }
    if settings.preferences.urgent_leads {
        mail.keep("urgent_leads", "on");
    }
    mail.keep(
        "time_zone",
        settings
            .time_zone
            .map(|z| z.as_str().to_owned())
            .unwrap_or_default(),
    );
    Ok(AccountPage {
        email: viewer.session.user.email.to_string(),
        languages: language_choices(viewer, &t),
        mail,
        fill_from_browser: settings.time_zone.is_none(),
        digest_hour: i64::from(state.clock_mail.digest_hour()),
        zones: TimeZone::names().collect(),
        mail_saved: None,
        frame,
        chrome,
        t,
    })
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    render(&page(&state, &viewer).await?)
}

#[derive(Debug, Deserialize)]
struct LanguageForm {
    language: String,
}

async fn language(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<LanguageForm>,
) -> Result<Response, WebError> {
    let locale: Option<Locale> = match form.language.as_str() {
        "" => None,
        "en" | "fi" => Some(form.language.parse().map_err(|_| WebError::BadRequest)?),
        _ => return Err(WebError::BadRequest),
    };
    viewer
        .store(&state)
        .set_user_locale(viewer.session.user.id, locale.as_ref())
        .await?;
    // Read again so the page speaks the language just chosen.
    Ok(Redirect::to(Section::Account.path()).into_response())
}

#[derive(Debug, Deserialize)]
struct MailForm {
    #[serde(default)]
    daily_digest: Option<String>,
    #[serde(default)]
    urgent_leads: Option<String>,
    #[serde(default)]
    time_zone: String,
}

/// Saves the viewer's own mail choices and time zone; a time zone that is
/// not one is shown again, as typed, with the error beside it.
async fn save_mail(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<MailForm>,
) -> Result<Response, WebError> {
    let preferences = MailPreferences {
        daily_digest: form.daily_digest.is_some(),
        urgent_leads: form.urgent_leads.is_some(),
    };
    let typed = form.time_zone.trim();
    let time_zone = match typed {
        "" => None,
        name => match TimeZone::parse(name) {
            Ok(zone) => Some(zone),
            Err(_) => {
                let mut p = page(&state, &viewer).await?;
                let mut mail = Fields::default();
                if preferences.daily_digest {
                    mail.keep("daily_digest", "on");
                }
                if preferences.urgent_leads {
                    mail.keep("urgent_leads", "on");
                }
                mail.keep("time_zone", kept(typed, 64));
                mail.refuse(
                    "time_zone",
                    viewer
                        .tr
                        .ts("mail-time-zone-invalid", "zone", &kept(typed, 64)),
                );
                p.mail = mail;
                p.fill_from_browser = false;
                p.frame.has_field_errors = true;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
            }
        },
    };
    viewer
        .store(&state)
        .set_mail_settings(
            viewer.session.user.id,
            &MailSettings {
                preferences,
                time_zone,
            },
        )
        .await?;
    let mut p = page(&state, &viewer).await?;
    p.mail_saved = Some(viewer.tr.t("mail-saved"));
    render(&p)
}
