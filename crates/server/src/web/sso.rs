//! Single sign-on with a workspace's OpenID Connect provider.
//!
//! The visitor gives a work email; its domain picks the workspace whose
//! provider signs it in. The sign-in leaves a `state` and a `nonce` (256
//! random bits each, kept as digests) and a sealed PKCE verifier in the
//! database for ten minutes, and a cookie in the browser whose digest is
//! kept beside them. The provider sends the browser back to
//! `/login/sso/callback`, which takes the state once, refuses it in a
//! browser without the same cookie, exchanges the code, verifies the ID
//! token ([`crate::auth::oidc`]), and starts a session when the email it
//! names belongs to a member of that workspace. Nobody is made a member by
//! signing in.
//!
//! The login page's form cannot answer with a redirect to the provider:
//! browsers that apply the pages' `form-action 'self'` to where a form's
//! answer redirects would block it. Its answer is a page that goes on to
//! the provider by itself (a `refresh` to it, and a link). A plain link to
//! `/login/sso?email=...` is answered with the redirect.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use onepane_connector::Secret;
use onepane_domain::WorkspaceId;
use onepane_domain::text::{Email, EmailDomain};
use onepane_store::{NewSsoLogin, SsoConfig};
use serde::Deserialize;

use super::auth::{ADDRESS_FAILURES, THROTTLE_WINDOW, client_address, local_next, start_session};
use super::chrome::render;
use super::error::WebError;
use super::i18n::Tr;
use super::i18n::browser_lang;
use super::session::{AnonymousForm, CookieNames, anonymous_csrf, cookie, with_cookie};
use crate::auth::credentials::{random_secret, same_digest, token_digest};
use crate::auth::oidc::{Expected, Issuer, RelyingPartyClient};
use crate::state::AppState;

/// How long a started sign-in may take.
pub const SIGN_IN_FOR: chrono::Duration = chrono::Duration::minutes(10);
/// Sign-ins one address may start within the throttle window: a whole
/// office behind one address signs in in the morning.
const STARTS_PER_ADDRESS: u64 = ADDRESS_FAILURES * 5;

/// The single sign-on routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/sso", get(start_by_link).post(start_by_form))
        .route("/login/sso/callback", get(callback))
}

/// The context a workspace's client secret is sealed under.
pub fn secret_context(ws: WorkspaceId) -> String {
    format!("sso-client-secret:{ws}")
}

fn verifier_context(ws: WorkspaceId) -> String {
    format!("sso-pkce:{ws}")
}

/// Where providers send browsers back; admins register it with theirs.
pub fn callback_url(state: &AppState) -> Result<url::Url, WebError> {
    url::Url::parse(&format!("{}/login/sso/callback", state.public_base))
        .map_err(|e| WebError::Internal(e.into()))
}

#[derive(askama::Template)]
#[template(path = "sso.html")]
struct SsoPage {
    t: Tr,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "sso_continue.html")]
struct ContinuePage {
    t: Tr,
    url: String,
    host: String,
}

/// Why a sign-in cannot start or finish, as the visitor is told.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: String) -> Refusal {
        Refusal { status, message }
    }
}

/// The single sign-on form again, with what went wrong.
fn refused(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    next: &str,
    refusal: Refusal,
) -> Result<Response, WebError> {
    let (csrf, set) = anonymous_csrf(headers, CookieNames::for_base(&state.public_base))?;
    let page = SsoPage {
        t: Tr::new(browser_lang(headers)),
        csrf,
        email: email.to_owned(),
        next: next.to_owned(),
        error: Some(refusal.message),
    };
    Ok(with_cookie(
        (refusal.status, render(&page)?).into_response(),
        set,
    ))
}

#[derive(Debug, Deserialize)]
struct StartQuery {
    email: Option<String>,
    next: Option<String>,
}

/// The form, or (with `email`) straight on to the provider.
async fn start_by_link(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Result<Response, WebError> {
    let next = local_next(q.next.as_deref());
    let Some(email) = q.email.filter(|e| !e.trim().is_empty()) else {
        let (csrf, set) = anonymous_csrf(&headers, CookieNames::for_base(&state.public_base))?;
        let page = SsoPage {
            t: Tr::new(browser_lang(&headers)),
            csrf,
            email: String::new(),
            next,
            error: None,
        };
        return Ok(with_cookie(render(&page)?, set));
    };
    match start(&state, &extensions, &headers, &email, &next).await? {
        Ok((url, binding)) => {
            let mut response = Redirect::to(url.as_str()).into_response();
            response.headers_mut().append(SET_COOKIE, binding);
            Ok(response)
        }
        Err(refusal) => refused(&state, &headers, &email, &next, refusal),
    }
}

#[derive(Debug, Deserialize)]
struct StartForm {
    email: String,
    next: Option<String>,
}

/// The login page's form: a page that goes on to the provider.
async fn start_by_form(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    AnonymousForm { form, headers }: AnonymousForm<StartForm>,
) -> Result<Response, WebError> {
    let next = local_next(form.next.as_deref());
    match start(&state, &extensions, &headers, &form.email, &next).await? {
        Ok((url, binding)) => {
            let page = ContinuePage {
                t: Tr::new(browser_lang(&headers)),
                host: url.host_str().unwrap_or_default().to_owned(),
                url: url.to_string(),
            };
            Ok(with_cookie(render(&page)?, Some(binding)))
        }
        Err(refusal) => refused(&state, &headers, &form.email, &next, refusal),
    }
}

/// Starts a sign-in for `email`: the provider's address and the cookie
/// that binds the sign-in to this browser, or why not.
async fn start(
    state: &AppState,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
    email: &str,
    next: &str,
) -> Result<Result<(url::Url, HeaderValue), Refusal>, WebError> {
    let t = Tr::new(browser_lang(headers));
    let system = state.store.system();
    let key = format!("sso:address:{}", client_address(state, headers, extensions));
    let since = Utc::now() - THROTTLE_WINDOW;
    if system.throttle_counts(&[&key], since).await?.first() >= Some(&STARTS_PER_ADDRESS) {
        return Ok(Err(Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            t.t("sso-throttled"),
        )));
    }
    system.throttle_record(&[&key], since).await?;
    let Ok(email) = email.trim().parse::<Email>() else {
        return Ok(Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            t.t("sso-email-invalid"),
        )));
    };
    let unknown = || {
        Refusal::new(
            StatusCode::NOT_FOUND,
            t.ts("sso-unknown-domain", "domain", email.domain()),
        )
    };
    let Ok(domain) = email.domain().parse::<EmailDomain>() else {
        return Ok(Err(unknown()));
    };
    let Some(config) = system.sso_config_for_domain(&domain).await? else {
        tracing::info!(domain = %domain, "single sign-on asked for a domain no workspace serves");
        return Ok(Err(unknown()));
    };
    let ws = config.workspace_id;
    let unavailable = || Refusal::new(StatusCode::BAD_GATEWAY, t.t("sso-provider-unavailable"));
    let metadata = match provider(state, &config).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(workspace = %ws, error = %crate::report::cause_chain(&e), "single sign-on provider unavailable");
            return Ok(Err(unavailable()));
        }
    };
    let client = RelyingPartyClient {
        client_id: config.client_id.clone(),
        client_secret: None,
        redirect: callback_url(state)?,
    };
    let started = state
        .oidc
        .authorization(&metadata, &client, Some(email.as_str()))
        .map_err(|e| WebError::Internal(e.into()))?;
    let names = CookieNames::for_base(&state.public_base);
    // One binding per browser: two tabs signing in at once both finish.
    let binding = match cookie(headers, names.sso).filter(|v| v.len() >= 32) {
        Some(existing) => existing.to_owned(),
        None => random_secret("").map_err(|e| WebError::Internal(e.into()))?,
    };
    let sealed_verifier = state
        .sealer
        .seal(&verifier_context(ws), started.verifier.expose().as_bytes())
        .map_err(|e| WebError::Internal(e.into()))?;
    system
        .start_sso_login(&NewSsoLogin {
            workspace_id: ws,
            state_digest: &token_digest(started.state.expose()),
            nonce_digest: &token_digest(started.nonce.expose()),
            sealed_verifier: &sealed_verifier,
            browser_digest: &token_digest(&binding),
            next,
            expires_at: Utc::now() + SIGN_IN_FOR,
        })
        .await?;
    tracing::info!(workspace = %ws, "single sign-on started");
    Ok(Ok((
        started.url,
        names.set(names.sso, Some(&binding), SIGN_IN_FOR),
    )))
}

fn open(state: &AppState, context: &str, sealed: &[u8]) -> Result<Secret, WebError> {
    state
        .sealer
        .open(context, sealed)
        .map(|plain| Secret::new(String::from_utf8_lossy(&plain).into_owned()))
        .map_err(|e| WebError::Internal(e.into()))
}

async fn provider(
    state: &AppState,
    config: &SsoConfig,
) -> Result<std::sync::Arc<crate::auth::oidc::ProviderMetadata>, crate::auth::oidc::OidcError> {
    let issuer = Issuer::parse(&config.issuer)?;
    state.oidc.discover(&issuer).await
}

/// What the provider sends the browser back with. Providers add their own
/// parameters (`session_state`, `scope`, ...): unknown ones are let through.
#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Result<Response, WebError> {
    match finish(&state, &headers, query).await? {
        Ok(response) => Ok(response),
        Err(refusal) => refused(&state, &headers, "", "/", refusal),
    }
}

/// Checks the callback and signs the user in: a session, or why not.
async fn finish(
    state: &AppState,
    headers: &HeaderMap,
    query: Callback,
) -> Result<Result<Response, Refusal>, WebError> {
    let t = Tr::new(browser_lang(headers));
    let refuse = |status: StatusCode, id: &str| Ok(Err(Refusal::new(status, t.t(id))));
    let system = state.store.system();
    let Some(sent) = query.state.filter(|s| !s.is_empty()) else {
        return refuse(StatusCode::BAD_REQUEST, "sso-expired");
    };
    // Taken once, whatever follows: a callback is never good twice.
    let Some(login) = system.take_sso_login(&token_digest(&sent)).await? else {
        tracing::info!("single sign-on callback with an unknown, used or expired state");
        return refuse(StatusCode::BAD_REQUEST, "sso-expired");
    };
    let ws = login.workspace_id;
    let names = CookieNames::for_base(&state.public_base);
    let same_browser = cookie(headers, names.sso)
        .is_some_and(|b| same_digest(&token_digest(b), &login.browser_digest));
    if !same_browser {
        tracing::warn!(workspace = %ws, "single sign-on callback in a browser that did not start it");
        return refuse(StatusCode::FORBIDDEN, "sso-other-browser");
    }
    if let Some(error) = &query.error {
        // The provider's error code, as far as it is a code.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        tracing::info!(workspace = %ws, error = %code, "the provider did not sign the user in");
        return refuse(StatusCode::UNAUTHORIZED, "sso-provider-refused");
    }
    let Some(config) = system.sso_config_of(ws).await?.filter(|c| c.enabled) else {
        return refuse(StatusCode::FORBIDDEN, "sso-disabled");
    };
    let failed = |why: String| {
        tracing::warn!(workspace = %ws, reason = %why, "single sign-on refused");
        Ok(Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            t.t("sso-failed"),
        )))
    };
    let metadata = match provider(state, &config).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(workspace = %ws, error = %crate::report::cause_chain(&e), "single sign-on provider unavailable");
            return refuse(StatusCode::BAD_GATEWAY, "sso-provider-unavailable");
        }
    };
    // RFC 9207: the answer names who sent it, so another provider's
    // answer is not mistaken for this one's.
    match &query.iss {
        Some(iss) if iss != &config.issuer => {
            return failed(format!("the answer is from the issuer {iss:?}"));
        }
        None if metadata.authorization_response_iss_parameter_supported => {
            return failed("the answer does not name its issuer".into());
        }
        _ => {}
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return failed("the answer has no code".into());
    };
    let verifier = open(state, &verifier_context(ws), &login.sealed_verifier)?;
    let client = RelyingPartyClient {
        client_id: config.client_id.clone(),
        client_secret: Some(open(
            state,
            &secret_context(ws),
            &config.sealed_client_secret,
        )?),
        redirect: callback_url(state)?,
    };
    let tokens = match state
        .oidc
        .exchange(&metadata, &client, &code, &verifier)
        .await
    {
        Ok(tokens) => tokens,
        Err(e) => return failed(crate::report::cause_chain(&e)),
    };
    let expected = Expected {
        issuer: &config.issuer,
        client_id: &config.client_id,
        nonce_digest: &login.nonce_digest,
        now: Utc::now().timestamp(),
    };
    let identity = match state
        .oidc
        .verify(&metadata, &tokens.id_token, &expected)
        .await
    {
        Ok(identity) => identity,
        Err(e) => return failed(crate::report::cause_chain(&e)),
    };
    let identity = match state
        .oidc
        .with_userinfo(&metadata, identity, &tokens.access_token)
        .await
    {
        Ok(identity) => identity,
        Err(e) => return failed(crate::report::cause_chain(&e)),
    };
    let Some(email) = identity
        .email
        .as_deref()
        .and_then(|e| e.parse::<Email>().ok())
    else {
        return refuse(StatusCode::FORBIDDEN, "sso-no-email");
    };
    if identity.email_verified == Some(false) {
        return refuse(StatusCode::FORBIDDEN, "sso-email-unverified");
    }
    // A workspace's provider vouches only for its own domain's addresses.
    if email.domain() != config.email_domain.as_str() {
        tracing::warn!(workspace = %ws, "single sign-on for an address outside the configured domain");
        return Ok(Err(Refusal::new(
            StatusCode::FORBIDDEN,
            t.targs(
                "sso-wrong-domain",
                &[
                    ("email", email.to_string()),
                    ("domain", config.email_domain.to_string()),
                ],
            ),
        )));
    }
    let not_member = || {
        Ok(Err(Refusal::new(
            StatusCode::FORBIDDEN,
            t.ts("sso-not-member", "email", email.as_str()),
        )))
    };
    let Some(subject) = system.login_subject(&email).await? else {
        tracing::info!(workspace = %ws, "single sign-on by someone without an account");
        return not_member();
    };
    let member = system
        .memberships_of(subject.user_id)
        .await?
        .iter()
        .any(|m| m.workspace_id == ws);
    if !member {
        tracing::info!(workspace = %ws, user = %subject.user_id, "single sign-on by someone not a member");
        return not_member();
    }
    tracing::info!(workspace = %ws, user = %subject.user_id, "single sign-on");
    let mut response =
        start_session(state, subject.user_id, ws, &local_next(Some(&login.next))).await?;
    response.headers_mut().append(
        SET_COOKIE,
        names.set(names.sso, None, chrono::Duration::zero()),
    );
    Ok(Ok(response))
}
