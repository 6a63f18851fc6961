//! Single sign-on: the workspace's OpenID Connect provider (never its
//! client secret shown back). Owners and admins only.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Fields, Frame, Section, kept};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{Posted, Viewer};

/// The section's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(Section::Sso.path(), get(show).post(save_sso))
}

#[derive(askama::Template)]
#[template(path = "settings_sso.html")]
struct SsoPage {
    t: Tr,
    chrome: Chrome,
    frame: Frame,
    /// The form: `issuer`, `client_id`, `email_domain`, `enabled`, and
    /// `client_secret` for its error only.
    form: Fields,
    has_secret: bool,
    callback_url: String,
}

async fn page(state: &AppState, viewer: &Viewer) -> Result<SsoPage, WebError> {
    let frame = Frame::new(viewer, Section::Sso)?;
    let chrome = Chrome::load(state, viewer, "settings").await?;
    let callback_url = crate::web::sso::callback_url(state)?.to_string();
    let mut form = Fields::default();
    let config = viewer.store(state).sso_config().await?;
    if let Some(c) = &config {
        form.keep("issuer", c.issuer.clone());
        form.keep("client_id", c.client_id.clone());
        form.keep("email_domain", c.email_domain.to_string());
        if c.enabled {
            form.keep("enabled", "on");
        }
    }
    Ok(SsoPage {
        t: viewer.tr.clone(),
        chrome,
        frame,
        form,
        has_secret: config.is_some(),
        callback_url,
    })
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    render(&page(&state, &viewer).await?)
}

#[derive(Debug, Deserialize)]
struct SsoForm {
    issuer: String,
    client_id: String,
    client_secret: String,
    email_domain: String,
    enabled: Option<String>,
}

/// The longest client id or secret taken.
const SSO_FIELD_MAX: usize = 1024;

async fn save_sso(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<SsoForm>,
) -> Result<Response, WebError> {
    use crate::auth::oidc::Issuer;
    use onepane_domain::text::EmailDomain;
    use onepane_store::{SsoConfigUpdate, StoreError};

    viewer.require_admin()?;
    let t = viewer.tr.clone();
    let enabled = form.enabled.is_some();
    // The form again with what was typed (never the secret) and the
    // problem beside its field.
    let problem = |field: &'static str, message: String| {
        let state = &state;
        let viewer = &viewer;
        let form = &form;
        async move {
            let mut p = page(state, viewer).await?;
            let mut fields = Fields::default();
            fields.keep("issuer", kept(form.issuer.trim(), SSO_FIELD_MAX));
            fields.keep("client_id", kept(form.client_id.trim(), SSO_FIELD_MAX));
            fields.keep("email_domain", kept(form.email_domain.trim(), 300));
            if enabled {
                fields.keep("enabled", "on");
            }
            fields.refuse(field, message);
            p.form = fields;
            p.frame.has_field_errors = true;
            Ok::<_, WebError>((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
    };
    let issuer = match Issuer::parse(&form.issuer) {
        Ok(i) => i,
        Err(_) => return problem("issuer", t.t("sso-issuer-invalid")).await,
    };
    let client_id = form.client_id.trim();
    if client_id.is_empty()
        || client_id.chars().count() > SSO_FIELD_MAX
        || client_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return problem("client_id", t.t("sso-client-id-invalid")).await;
    }
    let secret = form.client_secret.trim();
    if secret.chars().count() > SSO_FIELD_MAX || secret.chars().any(char::is_control) {
        return problem("client_secret", t.t("sso-secret-invalid")).await;
    }
    let Ok(domain) = form.email_domain.parse::<EmailDomain>() else {
        return problem("email_domain", t.t("sso-domain-invalid")).await;
    };
    // A provider that cannot be discovered would refuse every login; one
    // being turned off may well be unreachable.
    if enabled && let Err(e) = state.oidc.discover_now(&issuer).await {
        let detail = crate::report::cause_chain(&e);
        tracing::info!(workspace = %viewer.session.workspace.id, error = %detail, "single sign-on discovery failed");
        return problem("issuer", t.ts("sso-discovery-failed", "detail", &detail)).await;
    }
    let ws = viewer.session.workspace.id;
    let sealed = if secret.is_empty() {
        None
    } else {
        Some(
            state
                .sealer
                .seal(&crate::web::sso::secret_context(ws), secret.as_bytes())
                .map_err(|e| WebError::Internal(e.into()))?,
        )
    };
    let saved = viewer
        .store(&state)
        .put_sso_config(&SsoConfigUpdate {
            issuer: issuer.as_str(),
            client_id,
            sealed_client_secret: sealed.as_deref(),
            email_domain: &domain,
            enabled,
        })
        .await;
    match saved {
        Ok(()) => {
            tracing::info!(workspace = %ws, user = %viewer.session.user.id, enabled, "single sign-on configured");
            viewer
                .record(
                    &state,
                    "sso.configured",
                    "sso",
                    issuer.as_str(),
                    serde_json::json!({ "enabled": enabled, "email_domain": domain.as_str() }),
                )
                .await?;
            let mut p = page(&state, &viewer).await?;
            p.frame.message = Some(t.t("sso-saved"));
            render(&p)
        }
        Err(StoreError::Conflict(_)) => {
            problem(
                "email_domain",
                t.ts("sso-domain-taken", "domain", domain.as_str()),
            )
            .await
        }
        Err(StoreError::Rule(_)) => problem("client_secret", t.t("sso-secret-needed")).await,
        Err(e) => Err(e.into()),
    }
}
