//! The member's personal API tokens: made (shown once), listed, revoked.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Fields, Frame, Section, kept};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};

/// The section's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(Section::Tokens.path(), get(show).post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
}

#[derive(askama::Template)]
#[template(path = "settings_tokens.html")]
struct TokensPage {
    t: Tr,
    chrome: Chrome,
    frame: Frame,
    /// id, name, made, last used.
    tokens: Vec<(String, String, String, String)>,
    new_token: Option<String>,
    /// The form: `name`.
    form: Fields,
}

async fn page(state: &AppState, viewer: &Viewer) -> Result<TokensPage, WebError> {
    let frame = Frame::new(viewer, Section::Tokens)?;
    let chrome = Chrome::load(state, viewer, "settings").await?;
    let t = viewer.tr.clone();
    let tokens = viewer
        .store(state)
        .access_tokens(viewer.session.user.id)
        .await?
        .into_iter()
        .map(|k| {
            (
                k.id.to_string(),
                k.name.to_string(),
                t.datetime(&k.created_at),
                k.last_used_at
                    .map_or_else(|| t.t("token-never-used"), |u| t.datetime(&u)),
            )
        })
        .collect();
    Ok(TokensPage {
        t,
        chrome,
        frame,
        tokens,
        new_token: None,
        form: Fields::default(),
    })
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    render(&page(&state, &viewer).await?)
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<TokenForm>,
) -> Result<Response, WebError> {
    let Ok(name) = form.name.trim().parse::<onepane_domain::text::Name>() else {
        let mut p = page(&state, &viewer).await?;
        p.form.keep("name", kept(&form.name, 300));
        p.form.refuse("name", viewer.tr.t("token-name-invalid"));
        p.frame.has_field_errors = true;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
    };
    let token =
        crate::auth::credentials::random_secret(crate::auth::credentials::ACCESS_TOKEN_PREFIX)
            .map_err(|e| WebError::Internal(e.into()))?;
    let created = viewer
        .store(&state)
        .create_access_token(
            viewer.session.user.id,
            &name,
            &crate::auth::credentials::token_digest(&token),
        )
        .await?;
    viewer
        .record(
            &state,
            "token.created",
            "token",
            created.id,
            serde_json::json!({ "name": name.as_str() }),
        )
        .await?;
    let mut p = page(&state, &viewer).await?;
    p.frame.message = Some(viewer.tr.ts("token-created", "name", name.as_str()));
    p.new_token = Some(token);
    render(&p)
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let id: onepane_domain::AccessTokenId = id.parse().map_err(|_| WebError::NotFound)?;
    if !viewer
        .store(&state)
        .revoke_access_token(viewer.session.user.id, id)
        .await?
    {
        return Err(WebError::NotFound);
    }
    viewer
        .record(&state, "token.revoked", "token", id, serde_json::json!({}))
        .await?;
    let mut p = page(&state, &viewer).await?;
    p.frame.message = Some(viewer.tr.t("token-revoked"));
    render(&p)
}
