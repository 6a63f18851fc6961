//! Logging in and out, password resets, invitations, and switching
//! between workspaces.
//!
//! Failed logins are counted in the database per account and per client
//! address over a sliding window, so every replica sees the same count.
//! While either is over its limit the password is not even checked.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use onepane_domain::text::{Email, Name};
use onepane_domain::{UserId, WorkspaceId};
use onepane_store::NewWebSession;
use serde::Deserialize;

use super::chrome::render;
use super::error::WebError;
use super::i18n::Tr;
use super::i18n::browser_lang;
use super::session::{
    AnonymousForm, CookieNames, NoFields, Posted, anonymous_csrf, cookie, new_session_secrets,
    session_expiry, with_cookie,
};
use crate::auth::credentials::{decoy_hash, random_secret, token_digest, verify_password};
use crate::state::AppState;

/// The window failures are counted over.
pub const THROTTLE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
/// Failed logins of one account within the window before it is held.
pub const ACCOUNT_FAILURES: u64 = 5;
/// Failed logins from one address within the window before it is held.
pub const ADDRESS_FAILURES: u64 = 20;
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// The longest password accepted (argon2 takes any length; this bounds work).
pub const MAX_PASSWORD: usize = 256;
/// How long a reset link works.
const RESET_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// How long an invitation link works.
pub const INVITATION_LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// The account routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/login/forgot", get(forgot_form).post(forgot))
        .route("/login/reset/{token}", get(reset_form).post(reset))
        .route(
            "/invitations/{token}",
            get(invitation_form).post(accept_invitation),
        )
        .route("/workspace", post(switch_workspace))
}

/// The client's address, for the per-address limits: the TCP peer, or,
/// when the peer is one of the configured trusted proxies, the nearest
/// address in `X-Forwarded-For` that is not one of them (each proxy
/// appends the address it heard from; what a client wrote itself comes
/// before, and is not believed). "unknown" when the listener recorded no
/// peer.
pub fn client_address(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> String {
    let Some(peer) = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return "unknown".to_owned();
    };
    forwarded_client(peer, headers, &state.trusted_proxies).to_string()
}

/// The client behind `peer` as the trusted proxies name it.
fn forwarded_client(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted: &[onepane_connector::Cidr],
) -> std::net::IpAddr {
    let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let chain: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    // From the nearest hop outwards, past our own proxies.
    for hop in chain.iter().rev() {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if is_trusted(ip) => continue,
            Ok(ip) => return ip,
            Err(_) => break,
        }
    }
    peer
}

/// A local path to go to after login: never another site. Only a plain
/// path is taken: browsers drop tabs and line breaks from a `Location` and
/// read a backslash as a slash, so `/\t/evil.example` would be
/// `//evil.example`; any control character, space or backslash refuses it.
pub(crate) fn local_next(next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    })
    .unwrap_or("/")
    .to_owned()
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
    reset: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let names = CookieNames::for_base(&state.public_base);
    let (csrf, set) = anonymous_csrf(&headers, names)?;
    let t = Tr::new(browser_lang(&headers));
    let notice = q.reset.is_some().then(|| t.t("login-reset-done"));
    let page = LoginPage {
        t,
        csrf,
        email: String::new(),
        next: local_next(q.next.as_deref()),
        error: None,
        notice,
    };
    Ok(with_cookie(render(&page)?, set))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    AnonymousForm { form, headers }: AnonymousForm<LoginForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(browser_lang(&headers));
    let names = CookieNames::for_base(&state.public_base);
    let csrf = cookie(&headers, names.csrf).unwrap_or_default().to_owned();
    let next = local_next(form.next.as_deref());
    let fail = |t: Tr, status: StatusCode, message: &str| -> Result<Response, WebError> {
        let error = Some(t.t(message));
        let page = LoginPage {
            t,
            csrf: csrf.clone(),
            email: form.email.clone(),
            next: next.clone(),
            error,
            notice: None,
        };
        Ok((status, render(&page)?).into_response())
    };
    let email_key = format!("login:account:{}", form.email.trim().to_lowercase());
    let address_key = format!(
        "login:address:{}",
        client_address(&state, &headers, &extensions)
    );
    let system = state.store.system();
    let since = Utc::now() - THROTTLE_WINDOW;
    let counts = system
        .throttle_counts(&[&email_key, &address_key], since)
        .await?;
    if counts.first().is_some_and(|&n| n >= ACCOUNT_FAILURES)
        || counts.get(1).is_some_and(|&n| n >= ADDRESS_FAILURES)
    {
        return fail(t, StatusCode::TOO_MANY_REQUESTS, "login-throttled");
    }
    let subject = match form.email.trim().parse::<Email>() {
        Ok(email) => system.login_subject(&email).await?,
        Err(_) => None,
    };
    let phc = subject
        .as_ref()
        .and_then(|s| s.phc.clone())
        .unwrap_or_else(|| decoy_hash().to_owned());
    let matched =
        form.password.len() <= MAX_PASSWORD && verify_password(form.password.clone(), phc).await;
    let user = match subject {
        Some(s) if matched && s.phc.is_some() => s.user_id,
        _ => {
            system
                .throttle_record(&[&email_key, &address_key], since)
                .await?;
            tracing::info!(address = %address_key, "failed login");
            return fail(t, StatusCode::UNAUTHORIZED, "login-failed");
        }
    };
    system.throttle_clear(&email_key).await?;
    let Some(first) = system.memberships_of(user).await?.into_iter().next() else {
        return fail(t, StatusCode::FORBIDDEN, "login-no-workspace");
    };
    start_session(&state, user, first.workspace_id, &next).await
}

/// Starts a session and sends the browser on, with the cookie.
pub(crate) async fn start_session(
    state: &AppState,
    user: UserId,
    workspace_id: WorkspaceId,
    next: &str,
) -> Result<Response, WebError> {
    let (token, digest, csrf) = new_session_secrets()?;
    state
        .store
        .system()
        .create_session(&NewWebSession {
            digest: &digest,
            user_id: user,
            workspace_id,
            csrf: &csrf,
            expires_at: session_expiry(),
        })
        .await?;
    let names = CookieNames::for_base(&state.public_base);
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(
        SET_COOKIE,
        names.set(
            names.session,
            Some(&token),
            super::session::SESSION_LIFETIME,
        ),
    );
    Ok(response)
}

async fn logout(
    State(state): State<AppState>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    state.store.system().end_session(&viewer.digest).await?;
    let names = CookieNames::for_base(&state.public_base);
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        SET_COOKIE,
        names.set(names.session, None, chrono::Duration::zero()),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct SwitchForm {
    workspace_id: String,
}

async fn switch_workspace(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<SwitchForm>,
) -> Result<Response, WebError> {
    let ws: WorkspaceId = form
        .workspace_id
        .parse()
        .map_err(|_| WebError::BadRequest)?;
    if !state
        .store
        .system()
        .switch_workspace(&viewer.digest, ws)
        .await?
    {
        return Err(WebError::NotFound);
    }
    Ok(Redirect::to("/").into_response())
}

#[derive(askama::Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    t: Tr,
    csrf: String,
    sent: bool,
}

async fn forgot_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (csrf, set) = anonymous_csrf(&headers, CookieNames::for_base(&state.public_base))?;
    let page = ForgotPage {
        t: Tr::new(browser_lang(&headers)),
        csrf,
        sent: false,
    };
    Ok(with_cookie(render(&page)?, set))
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    AnonymousForm { form, headers }: AnonymousForm<ForgotForm>,
) -> Result<Response, WebError> {
    let names = CookieNames::for_base(&state.public_base);
    let csrf = cookie(&headers, names.csrf).unwrap_or_default().to_owned();
    let system = state.store.system();
    // Reset requests are throttled per address like failed logins, so the
    // form cannot be used to flood an inbox or the log.
    let key = format!(
        "reset:address:{}",
        client_address(&state, &headers, &extensions)
    );
    let since = Utc::now() - THROTTLE_WINDOW;
    if system.throttle_counts(&[&key], since).await?.first() >= Some(&ADDRESS_FAILURES) {
        return Err(WebError::TooMany);
    }
    system.throttle_record(&[&key], since).await?;
    if let Ok(email) = form.email.trim().parse::<Email>() {
        let token = random_secret("").map_err(|e| WebError::Internal(e.into()))?;
        let digest = token_digest(&token);
        if system
            .create_password_reset(&email, &digest, Utc::now() + RESET_LIFETIME)
            .await?
            .is_some()
        {
            let link = format!("{}/login/reset/{token}", state.public_base);
            let t = Tr::new(browser_lang(&headers));
            deliver(
                &state,
                &email,
                t.t("mail-reset-subject"),
                t.ts("mail-reset-body", "link", &link),
                &link,
            );
        }
    }
    // The same answer whether or not the address has an account.
    let page = ForgotPage {
        t: Tr::new(browser_lang(&headers)),
        csrf,
        sent: true,
    };
    render(&page)
}

/// Hands a link to its recipient: by mail through the configured SMTP
/// server (sent in the background, so the page does not wait for it), or,
/// with none configured, to the log, where the operator (or the demo's
/// user) finds it.
fn deliver(state: &AppState, to: &Email, subject: String, body: String, link: &str) {
    match &state.mailer {
        Some(mailer) => {
            let (mailer, to) = (mailer.clone(), to.clone());
            tokio::spawn(async move {
                match mailer.send(&to, &subject, body).await {
                    Ok(()) => tracing::info!(to = %to, "link mailed"),
                    Err(e) => tracing::error!(to = %to, error = %e, "the link could not be mailed"),
                }
            });
        }
        None => tracing::info!(
            to = %to,
            link = %link,
            "link for {to} (no mail server is configured; it is logged instead)"
        ),
    }
}

#[derive(askama::Template)]
#[template(path = "reset.html")]
struct ResetPage {
    t: Tr,
    csrf: String,
    token: String,
    error: Option<String>,
}

async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    if !state
        .store
        .system()
        .password_reset_live(&token_digest(&token))
        .await?
    {
        return Err(WebError::NotFound);
    }
    let (csrf, set) = anonymous_csrf(&headers, CookieNames::for_base(&state.public_base))?;
    let page = ResetPage {
        t: Tr::new(browser_lang(&headers)),
        csrf,
        token,
        error: None,
    };
    Ok(with_cookie(render(&page)?, set))
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    password: String,
    confirm: String,
}

/// Why a chosen password is refused, as a message id.
fn password_problem(password: &str, confirm: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD {
        Some("password-too-short")
    } else if password.len() > MAX_PASSWORD {
        Some("password-too-long")
    } else if password != confirm {
        Some("password-mismatch")
    } else {
        None
    }
}

async fn hash_password(password: String) -> Result<String, WebError> {
    crate::auth::credentials::hash_password(password)
        .await
        .map_err(|e| WebError::Internal(e.into()))
}

async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    AnonymousForm { form, headers }: AnonymousForm<ResetForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(browser_lang(&headers));
    if let Some(problem) = password_problem(&form.password, &form.confirm) {
        let names = CookieNames::for_base(&state.public_base);
        let page = ResetPage {
            error: Some(t.t(problem)),
            t,
            csrf: cookie(&headers, names.csrf).unwrap_or_default().to_owned(),
            token,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let phc = hash_password(form.password).await?;
    match state
        .store
        .system()
        .use_password_reset(&token_digest(&token), &phc)
        .await?
    {
        Some(user) => {
            tracing::info!(user = %user, "password reset");
            Ok((StatusCode::SEE_OTHER, [(LOCATION, "/login?reset=done")]).into_response())
        }
        None => Err(WebError::NotFound),
    }
}

#[derive(askama::Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    t: Tr,
    csrf: String,
    token: String,
    workspace: String,
    email: String,
    user_exists: bool,
    error: Option<String>,
}

async fn invitation_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(invitation) = state
        .store
        .system()
        .invitation(&token_digest(&token))
        .await?
    else {
        return Err(WebError::NotFound);
    };
    let (csrf, set) = anonymous_csrf(&headers, CookieNames::for_base(&state.public_base))?;
    let page = InvitationPage {
        t: Tr::new(browser_lang(&headers)),
        csrf,
        token,
        workspace: invitation.workspace_name.to_string(),
        email: invitation.email.to_string(),
        user_exists: invitation.user_exists,
        error: None,
    };
    Ok(with_cookie(render(&page)?, set))
}

#[derive(Debug, Deserialize)]
struct AcceptForm {
    name: Option<String>,
    password: String,
    confirm: Option<String>,
}

async fn accept_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    AnonymousForm { form, headers }: AnonymousForm<AcceptForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(browser_lang(&headers));
    let system = state.store.system();
    let digest = token_digest(&token);
    let Some(invitation) = system.invitation(&digest).await? else {
        return Err(WebError::NotFound);
    };
    let names = CookieNames::for_base(&state.public_base);
    let csrf = cookie(&headers, names.csrf).unwrap_or_default().to_owned();
    let refuse = |t: Tr, status: StatusCode, message: &str| -> Result<Response, WebError> {
        let page = InvitationPage {
            error: Some(t.t(message)),
            t,
            csrf: csrf.clone(),
            token: token.clone(),
            workspace: invitation.workspace_name.to_string(),
            email: invitation.email.to_string(),
            user_exists: invitation.user_exists,
        };
        Ok((status, render(&page)?).into_response())
    };
    let (new_password, name) = if invitation.user_exists {
        // An existing user proves it is the invitee with its own password,
        // throttled like a login.
        let key = format!("login:account:{}", invitation.email.as_str().to_lowercase());
        let since = Utc::now() - THROTTLE_WINDOW;
        if system.throttle_counts(&[&key], since).await?.first() >= Some(&ACCOUNT_FAILURES) {
            return refuse(t, StatusCode::TOO_MANY_REQUESTS, "login-throttled");
        }
        let phc = system
            .login_subject(&invitation.email)
            .await?
            .and_then(|s| s.phc)
            .unwrap_or_else(|| decoy_hash().to_owned());
        let ok = verify_password(form.password.clone(), phc).await;
        if !ok {
            system.throttle_record(&[&key], since).await?;
            return refuse(t, StatusCode::UNAUTHORIZED, "login-failed");
        }
        (None, None)
    } else {
        let confirm = form.confirm.as_deref().unwrap_or_default();
        if let Some(problem) = password_problem(&form.password, confirm) {
            return refuse(t, StatusCode::UNPROCESSABLE_ENTITY, problem);
        }
        let name = match form
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(n) => match n.parse::<Name>() {
                Ok(n) => Some(n),
                Err(_) => return refuse(t, StatusCode::UNPROCESSABLE_ENTITY, "name-invalid"),
            },
            None => None,
        };
        (Some(hash_password(form.password.clone()).await?), name)
    };
    let Some((user, ws)) = system
        .accept_invitation(&digest, new_password.as_deref(), name.as_ref())
        .await?
    else {
        return Err(WebError::NotFound);
    };
    start_session(&state, user, ws, "/").await
}

/// Invites someone by email; returns the link to hand over.
pub async fn invite(
    state: &AppState,
    viewer: &super::session::Viewer,
    email: &Email,
    role: onepane_domain::Role,
) -> Result<String, WebError> {
    let token = random_secret("").map_err(|e| WebError::Internal(e.into()))?;
    viewer
        .store(state)
        .invite(
            email,
            role,
            &token_digest(&token),
            Some(viewer.session.user.id),
            Utc::now() + INVITATION_LIFETIME,
        )
        .await?;
    let link = format!("{}/invitations/{token}", state.public_base);
    let t = &viewer.tr;
    let workspace = viewer.session.workspace.name.to_string();
    deliver(
        state,
        email,
        t.ts("mail-invite-subject", "workspace", &workspace),
        t.targs(
            "mail-invite-body",
            &[("workspace", workspace.clone()), ("link", link.clone())],
        ),
        &link,
    );
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_local_path_is_followed_after_login() {
        for kept in ["/", "/leads?status=new", "/leads/1#top"] {
            assert_eq!(local_next(Some(kept)), kept);
        }
        for refused in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "/ /evil.example",
            "https://evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(local_next(Some(refused)), "/", "{refused:?}");
        }
        assert_eq!(local_next(None), "/");
    }

    #[test]
    fn only_trusted_proxies_are_believed_about_the_client() {
        let trusted: Vec<onepane_connector::Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", v.parse().unwrap());
            h
        };
        let ip = |s: &str| -> std::net::IpAddr { s.parse().unwrap() };
        // A client connecting directly is its own address, whatever it says.
        assert_eq!(
            forwarded_client(ip("203.0.113.9"), &headers("198.51.100.1"), &trusted),
            ip("203.0.113.9")
        );
        // Through the balancer: the address the balancer appended.
        assert_eq!(
            forwarded_client(ip("10.1.2.3"), &headers("198.51.100.1"), &trusted),
            ip("198.51.100.1")
        );
        // A forged first entry is not believed: the proxy's own append wins.
        assert_eq!(
            forwarded_client(
                ip("10.1.2.3"),
                &headers("192.0.2.66, 198.51.100.1"),
                &trusted
            ),
            ip("198.51.100.1")
        );
        // Two proxies in a row: the nearest untrusted address.
        assert_eq!(
            forwarded_client(ip("10.1.2.3"), &headers("198.51.100.1, 10.9.9.9"), &trusted),
            ip("198.51.100.1")
        );
        // A garbled entry before the proxy's own is never reached.
        assert_eq!(
            forwarded_client(ip("10.1.2.3"), &headers("garbage, 198.51.100.1"), &trusted),
            ip("198.51.100.1")
        );
        // Nothing usable: the proxy itself.
        assert_eq!(
            forwarded_client(ip("10.1.2.3"), &headers("garbage"), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            forwarded_client(ip("10.1.2.3"), &HeaderMap::new(), &[]),
            ip("10.1.2.3")
        );
    }
}
