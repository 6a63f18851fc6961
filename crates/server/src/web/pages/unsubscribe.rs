//! The public page a mail's unsubscribe link opens, at
//! `/unsubscribe/{token}`: opening it (GET) only asks, since mail scanners
//! open links; its button, or a mail program's RFC 8058 one-click POST
//! (`List-Unsubscribe=One-Click`), turns that kind of mail off for that
//! member. The token is signed, not stored (see
//! [`crate::services::clock_mail::UnsubscribeLinks`]): a malformed one is
//! refused with 400, a forged or altered one with 404, and neither changes
//! anything.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onepane_domain::mail::MailKind;

use crate::services::clock_mail::{TokenRefused, Unsubscribe};
use crate::state::AppState;
use crate::web::chrome::render;
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr, browser_lang};

/// The unsubscribe page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(show).post(unsubscribe))
}

#[derive(askama::Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    t: Tr,
    token: String,
    ask: String,
    done: Option<String>,
    refused: Option<String>,
}

/// What the token names, and the page in the member's language (else the
/// browser's); a refused token gets its page and status.
async fn checked(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
) -> Result<Result<(Unsubscribe, Tr, String), Response>, WebError> {
    let found = match state.clock_mail.links().check(token) {
        Ok(found) => found,
        Err(why) => {
            let t = Tr::new(browser_lang(headers));
            let (status, message) = match why {
                TokenRefused::Malformed => (StatusCode::BAD_REQUEST, "unsubscribe-malformed"),
                TokenRefused::Forged => (StatusCode::NOT_FOUND, "unsubscribe-forged"),
            };
            let page = UnsubscribePage {
                token: String::new(),
                ask: String::new(),
                done: None,
                refused: Some(t.t(message)),
                t,
            };
            return Ok(Err((status, render(&page)?).into_response()));
        }
    };
    let member = state
        .store
        .system()
        .mail_member(found.workspace_id, found.user_id)
        .await?;
    let lang = member
        .as_ref()
        .and_then(|m| Lang::from_tag(m.locale.as_str()))
        .unwrap_or_else(|| browser_lang(headers));
    let t = Tr::new(lang);
    let ask = match &member {
        Some(m) => t.ts(
            &format!("unsubscribe-ask-{}", found.kind.as_str()),
            "email",
            m.email.as_str(),
        ),
        None => t.t("unsubscribe-ask-unknown-member"),
    };
    Ok(Ok((found, t, ask)))
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let (_, t, ask) = match checked(&state, &headers, &token).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    render(&UnsubscribePage {
        t,
        token,
        ask,
        done: None,
        refused: None,
    })
}

/// Turns the mail off. The body (`List-Unsubscribe=One-Click` from a mail
/// program, nothing from the page's button) is not needed: the token says
/// everything. Doing it twice is the same as once.
async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let (found, t, ask) = match checked(&state, &headers, &token).await? {
        Ok(found) => found,
        Err(refused) => return Ok(refused),
    };
    let turned_off = state
        .store
        .system()
        .unsubscribe(found.workspace_id, found.user_id, found.kind)
        .await?;
    tracing::info!(
        workspace = %found.workspace_id,
        user = %found.user_id,
        kind = %found.kind,
        turned_off,
        "mail unsubscribed"
    );
    let done = match found.kind {
        MailKind::Digest => "unsubscribe-done-digest",
        MailKind::UrgentLead => "unsubscribe-done-urgent-lead",
    };
    render(&UnsubscribePage {
        done: Some(t.t(done)),
        t,
        token,
        ask,
        refused: None,
    })
}
