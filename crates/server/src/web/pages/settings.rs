//! Settings: the viewer's language, the mail it wants about deadlines and
//! its time zone; for owners and admins, members and
//! invitations, the profile landing pages show, sell rules, exchange
//! rates and single sign-on.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use onepane_domain::campaign::WebUrl;
use onepane_domain::mail::{MailPreferences, TimeZone};
use onepane_domain::price::{ExchangeRate, Markup, Percent, SellMethod, SellRuleSelector};
use onepane_domain::text::{Email, Locale, LongText};
use onepane_domain::{Currency, Role, SellRuleId, VendorId};
use onepane_store::{MailSettings, PartnerStore, WorkspaceProfile};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::Choice;
use crate::web::view::VendorNames;

/// The settings routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/language", post(language))
        .route("/settings/mail", post(save_mail))
        .route("/settings/profile", post(profile))
        .route("/settings/invite", post(invite))
        .route("/settings/sell-rules", post(add_sell_rule))
        .route("/settings/sell-rules/{id}/delete", post(delete_sell_rule))
        .route("/settings/exchange-rates", post(add_rate))
        .route("/settings/currency", post(home_currency))
        .route("/settings/members/{id}/role", post(change_role))
        .route("/settings/members/{id}/remove", post(remove_member))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
        .route("/settings/sso", post(save_sso))
}

/// The single sign-on section: what is configured (never the secret).
#[derive(Debug, Clone, Default)]
struct SsoView {
    issuer: String,
    client_id: String,
    email_domain: String,
    enabled: bool,
    has_secret: bool,
    callback_url: String,
}

#[derive(askama::Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    t: Tr,
    chrome: Chrome,
    languages: Vec<Choice>,
    members: Vec<MemberLine>,
    invitations: Vec<(String, String, String)>,
    invited_link: Option<String>,
    profile: WorkspaceProfile,
    rules: Vec<(String, String, String, String)>,
    rates: Vec<(String, String, String)>,
    vendors: Vec<Choice>,
    roles: Vec<Choice>,
    home_currency: String,
    tokens: Vec<(String, String, String, String)>,
    new_token: Option<String>,
    sso: SsoView,
    mail: MailView,
    message: Option<String>,
    error: Option<String>,
}

/// The viewer's mail section: its choices, its time zone (as typed, when
/// it was refused) and the error beside it.
#[derive(Debug, Clone, Default)]
struct MailView {
    daily_digest: bool,
    urgent_leads: bool,
    time_zone: String,
    /// No zone chosen yet: the browser's is filled in for the member to save.
    fill_from_browser: bool,
    digest_hour: i64,
    zones: Vec<&'static str>,
    error: Option<String>,
    saved: Option<String>,
}

impl MailView {
    fn of(settings: &MailSettings, digest_hour: u32) -> Self {
        Self {
            daily_digest: settings.preferences.daily_digest,
            urgent_leads: settings.preferences.urgent_leads,
            time_zone: settings
                .time_zone
                .map(|z| z.as_str().to_owned())
                .unwrap_or_default(),
            fill_from_browser: settings.time_zone.is_none(),
            digest_hour: i64::from(digest_hour),
            zones: TimeZone::names().collect(),
            error: None,
            saved: None,
        }
    }
}

/// A member as its row shows it.
#[derive(Debug, Clone)]
pub struct MemberLine {
    /// The user.
    pub user_id: String,
    /// Its email.
    pub email: String,
    /// Its role's name.
    pub role: String,
    /// The roles it may be given, the current one selected (empty when the
    /// viewer may not change it).
    pub roles: Vec<Choice>,
}

fn role_id(r: Role) -> &'static str {
    match r {
        Role::Owner => "role-owner",
        Role::Admin => "role-admin",
        Role::SalesRep => "role-sales-rep",
    }
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    invited_link: Option<String>,
    message: Option<String>,
    error: Option<String>,
) -> Result<SettingsPage, WebError> {
    page_with_token(state, viewer, invited_link, None, message, error).await
}

async fn page_with_token(
    state: &AppState,
    viewer: &Viewer,
    invited_link: Option<String>,
    new_token: Option<String>,
    message: Option<String>,
    error: Option<String>,
) -> Result<SettingsPage, WebError> {
    let store = viewer.store(state);
    let t = viewer.tr.clone();
    let chrome = Chrome::load(state, viewer, "settings").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let admin = viewer.session.role.can_administer();
    let sso = if admin {
        sso_view(state, &store).await?
    } else {
        SsoView::default()
    };
    let (members, invitations, profile, rules, rates) = if admin {
        (
            member_lines(&store, viewer, &t).await?,
            invitation_lines(&store, &t).await?,
            store.profile().await?,
            rule_lines(&store, &names, &t).await?,
            rate_lines(&store, &t).await?,
        )
    } else {
        Default::default()
    };
    let roles = [Role::SalesRep, Role::Admin, Role::Owner]
        .into_iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: t.t(role_id(r)),
            selected: r == Role::SalesRep,
        })
        .collect();
    let mail = MailView::of(
        &store.mail_settings(viewer.session.user.id).await?,
        state.clock_mail.digest_hour(),
    );
    Ok(SettingsPage {
        mail,
        tokens: token_lines(&store, viewer, &t).await?,
        new_token,
        languages: language_choices(viewer, &t),
        members,
        invitations,
        invited_link,
        profile,
        rules,
        rates,
        vendors: names
            .all()
            .iter()
            .map(|(id, n)| Choice {
                value: id.to_string(),
                label: n.clone(),
                selected: false,
            })
            .collect(),
        roles,
        home_currency: viewer.session.workspace.home_currency.code().to_owned(),
        sso,
        message,
        error,
        t,
        chrome,
    })
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

/// The workspace's single sign-on settings (never the client secret).
async fn sso_view(state: &AppState, store: &PartnerStore) -> Result<SsoView, WebError> {
    let callback_url = crate::web::sso::callback_url(state)?.to_string();
    Ok(match store.sso_config().await? {
        Some(c) => SsoView {
            issuer: c.issuer,
            client_id: c.client_id,
            email_domain: c.email_domain.to_string(),
            enabled: c.enabled,
            has_secret: true,
            callback_url,
        },
        None => SsoView {
            callback_url,
            ..SsoView::default()
        },
    })
}

/// The members, each with the roles the viewer may give them.
async fn member_lines(
    store: &PartnerStore,
    viewer: &Viewer,
    t: &Tr,
) -> Result<Vec<MemberLine>, WebError> {
    let me = viewer.session.user.id;
    let owner = viewer.session.role == Role::Owner;
    // Nobody changes their own role here; only owners touch owners.
    let offered: &[Role] = if owner {
        &[Role::SalesRep, Role::Admin, Role::Owner]
    } else {
        &[Role::SalesRep, Role::Admin]
    };
    Ok(store
        .members()
        .await?
        .into_iter()
        .map(|m| {
            let changeable = m.user_id != me && (owner || m.role != Role::Owner);
            MemberLine {
                user_id: m.user_id.to_string(),
                email: m.email.to_string(),
                role: t.t(role_id(m.role)),
                roles: if changeable {
                    offered
                        .iter()
                        .map(|r| Choice {
                            value: r.as_str().to_owned(),
                            label: t.t(role_id(*r)),
                            selected: *r == m.role,
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect())
}

/// Invitations not yet taken: address, role, expiry.
async fn invitation_lines(
    store: &PartnerStore,
    t: &Tr,
) -> Result<Vec<(String, String, String)>, WebError> {
    Ok(store
        .pending_invitations()
        .await?
        .into_iter()
        .map(|i| {
            (
                i.email.to_string(),
                t.t(role_id(i.role)),
                t.datetime(&i.expires_at),
            )
        })
        .collect())
}

/// The sell rules: id, vendor, category and method.
async fn rule_lines(
    store: &PartnerStore,
    names: &VendorNames,
    t: &Tr,
) -> Result<Vec<(String, String, String, String)>, WebError> {
    Ok(store
        .sell_rules()
        .await?
        .into_iter()
        .map(|r| {
            let method = match &r.method {
                SellMethod::MarkupOnCost(m) => {
                    t.ts("sell-markup", "percent", &t.decimal(&m.value()))
                }
                SellMethod::DiscountOffList(p) => {
                    t.ts("sell-discount", "percent", &t.decimal(&p.value()))
                }
            };
            (
                r.id.to_string(),
                r.selector
                    .vendor_id
                    .map_or_else(|| t.t("all"), |v| names.name(&v)),
                r.selector
                    .category
                    .as_ref()
                    .map_or_else(|| t.t("all"), ToString::to_string),
                method,
            )
        })
        .collect())
}

/// The exchange rates: pair, rate and date.
async fn rate_lines(
    store: &PartnerStore,
    t: &Tr,
) -> Result<Vec<(String, String, String)>, WebError> {
    Ok(store
        .exchange_rates()
        .await?
        .into_iter()
        .map(|r| {
            (
                format!("{}/{}", r.base().code(), r.quote().code()),
                t.number(&r.rate()),
                t.date(&r.as_of()),
            )
        })
        .collect())
}

/// The viewer's personal access tokens: id, name, made, last used.
async fn token_lines(
    store: &PartnerStore,
    viewer: &Viewer,
    t: &Tr,
) -> Result<Vec<(String, String, String, String)>, WebError> {
    Ok(store
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
        .collect())
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    render(&page(&state, &viewer, None, None, None).await?)
}

/// The settings page again, with a message or an error.
async fn again(
    state: &AppState,
    viewer: &Viewer,
    outcome: Result<&str, &str>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(done) => {
            let p = page(state, viewer, None, Some(viewer.tr.t(done)), None).await?;
            render(&p)
        }
        Err(problem) => {
            let p = page(state, viewer, None, None, Some(viewer.tr.t(problem))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
    }
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
    Ok(Redirect::to("/settings").into_response())
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
                let mut p = page(&state, &viewer, None, None, None).await?;
                p.mail = MailView {
                    daily_digest: preferences.daily_digest,
                    urgent_leads: preferences.urgent_leads,
                    time_zone: typed.chars().take(64).collect(),
                    fill_from_browser: false,
                    error: Some(viewer.tr.ts(
                        "mail-time-zone-invalid",
                        "zone",
                        &typed.chars().take(64).collect::<String>(),
                    )),
                    ..p.mail
                };
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
    let mut p = page(&state, &viewer, None, None, None).await?;
    p.mail.saved = Some(viewer.tr.t("mail-saved"));
    render(&p)
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    contact_name: String,
    contact_email: String,
    contact_phone: String,
    website: String,
    logo_url: String,
    privacy_notice_url: String,
    marketing_consent_text: String,
}

/// The most a marketing consent checkbox's text may say.
const CONSENT_TEXT_MAX: usize = 1_000;

fn optional(s: &str, max: usize) -> Result<Option<String>, ()> {
    let s = s.trim();
    if s.chars().count() > max {
        Err(())
    } else {
        Ok((!s.is_empty()).then(|| s.to_owned()))
    }
}

async fn profile(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<ProfileForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let web = |s: &str| -> Result<Option<String>, ()> {
        let s = optional(s, 500)?;
        match &s {
            Some(u) if !u.starts_with("https://") && !u.starts_with("http://") => Err(()),
            _ => Ok(s),
        }
    };
    let email = optional(&form.contact_email, 254).and_then(|e| match e {
        Some(e) => e
            .parse::<Email>()
            .map(|e| Some(e.to_string()))
            .map_err(|_| ()),
        None => Ok(None),
    });
    let logo = web(&form.logo_url).and_then(|l| match l {
        Some(l) if !l.starts_with("https://") => Err(()),
        other => Ok(other),
    });
    let parsed = (
        optional(&form.contact_name, 200),
        email,
        optional(&form.contact_phone, 50),
        web(&form.website),
        logo,
    );
    let (Ok(contact_name), Ok(contact_email), Ok(contact_phone), Ok(website), Ok(logo_url)) =
        parsed
    else {
        return again(&state, &viewer, Err("profile-invalid")).await;
    };
    // Landing pages link to the notice: a web address, and a secure one.
    let privacy_notice_url = match form.privacy_notice_url.trim() {
        "" => None,
        u => match u.parse::<WebUrl>() {
            Ok(url) if url.as_url().scheme() == "https" => Some(String::from(url)),
            _ => return again(&state, &viewer, Err("profile-privacy-invalid")).await,
        },
    };
    let marketing_consent_text = match form.marketing_consent_text.trim() {
        "" => None,
        t if t.chars().count() > CONSENT_TEXT_MAX => {
            return again(&state, &viewer, Err("profile-consent-invalid")).await;
        }
        t => match t.parse::<LongText>() {
            Ok(text) => Some(text.to_string()),
            Err(_) => return again(&state, &viewer, Err("profile-consent-invalid")).await,
        },
    };
    let saved = viewer
        .store(&state)
        .put_profile(&WorkspaceProfile {
            contact_name,
            contact_email,
            contact_phone,
            website,
            logo_url,
            privacy_notice_url,
            marketing_consent_text,
            // The store moves the version when the text changes.
            marketing_consent_version: 0,
        })
        .await;
    match saved {
        Ok(()) => again(&state, &viewer, Ok("settings-saved")).await,
        // The one rule: the notice stays while a landing page is live.
        Err(onepane_store::StoreError::Rule(_)) => {
            again(&state, &viewer, Err("profile-privacy-needed")).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invite(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<InviteForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let (Ok(email), Ok(role)) = (
        form.email.trim().parse::<Email>(),
        form.role.parse::<Role>(),
    ) else {
        return again(&state, &viewer, Err("invite-invalid")).await;
    };
    // Only an owner makes owners.
    if role == Role::Owner && viewer.session.role != Role::Owner {
        return Err(WebError::Forbidden);
    }
    let link = crate::web::auth::invite(&state, &viewer, &email, role).await?;
    viewer
        .record(
            &state,
            "member.invited",
            "member",
            email.as_str(),
            serde_json::json!({ "role": role.as_str() }),
        )
        .await?;
    let p = page(
        &state,
        &viewer,
        Some(link),
        Some(viewer.tr.ts("invite-sent", "email", email.as_str())),
        None,
    )
    .await?;
    render(&p)
}

#[derive(Debug, Deserialize)]
struct SellRuleForm {
    vendor: String,
    category: String,
    method: String,
    percent: String,
}

fn decimal(s: &str) -> Option<Decimal> {
    s.trim()
        .trim_end_matches('%')
        .trim()
        .replace(',', ".")
        .parse()
        .ok()
}

async fn add_sell_rule(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<SellRuleForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let vendor: Result<Option<VendorId>, _> = match form.vendor.trim() {
        "" => Ok(None),
        v => v.parse().map(Some),
    };
    let category = match form.category.trim() {
        "" => Ok(None),
        c => c.parse().map(Some),
    };
    let method = decimal(&form.percent).and_then(|p| match form.method.as_str() {
        "markup" => Markup::new(p).ok().map(SellMethod::MarkupOnCost),
        "discount" => Percent::new(p).ok().map(SellMethod::DiscountOffList),
        _ => None,
    });
    let (Ok(vendor_id), Ok(category), Some(method)) = (vendor, category, method) else {
        return again(&state, &viewer, Err("sell-rule-invalid")).await;
    };
    viewer
        .store(&state)
        .put_sell_rule(
            &SellRuleSelector {
                vendor_id,
                category,
            },
            method,
        )
        .await?;
    again(&state, &viewer, Ok("settings-saved")).await
}

async fn delete_sell_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let id: SellRuleId = id.parse().map_err(|_| WebError::NotFound)?;
    viewer.store(&state).delete_sell_rule(id).await?;
    again(&state, &viewer, Ok("settings-saved")).await
}

#[derive(Debug, Deserialize)]
struct RateForm {
    base: String,
    rate: String,
    as_of: String,
}

async fn add_rate(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<RateForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let home = viewer.session.workspace.home_currency;
    let rate = (
        form.base.trim().to_uppercase().parse::<Currency>(),
        decimal(&form.rate),
        form.as_of.trim().parse::<NaiveDate>(),
    );
    let (Ok(base), Some(value), Ok(as_of)) = rate else {
        return again(&state, &viewer, Err("rate-invalid")).await;
    };
    let Ok(rate) = ExchangeRate::new(base, home, value, as_of) else {
        return again(&state, &viewer, Err("rate-invalid")).await;
    };
    viewer.store(&state).put_exchange_rate(&rate).await?;
    again(&state, &viewer, Ok("settings-saved")).await
}

#[derive(Debug, Deserialize)]
struct CurrencyForm {
    currency: String,
}

async fn home_currency(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<CurrencyForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let Ok(currency) = form.currency.trim().to_uppercase().parse::<Currency>() else {
        return again(&state, &viewer, Err("currency-invalid")).await;
    };
    viewer.store(&state).set_home_currency(currency).await?;
    // The session's copy of the workspace is read on the next request.
    Ok(Redirect::to("/settings").into_response())
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
        return again(&state, &viewer, Err("token-name-invalid")).await;
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
    let message = Some(viewer.tr.ts("token-created", "name", name.as_str()));
    render(&page_with_token(&state, &viewer, None, Some(token), message, None).await?)
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
    again(&state, &viewer, Ok("token-revoked")).await
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
    // The form again with what was typed (never the secret) and the problem.
    let problem = |message: String| {
        let state = &state;
        let viewer = &viewer;
        let form = &form;
        async move {
            let mut p = page(state, viewer, None, None, Some(message)).await?;
            p.sso = SsoView {
                issuer: form.issuer.trim().to_owned(),
                client_id: form.client_id.trim().to_owned(),
                email_domain: form.email_domain.trim().to_owned(),
                enabled,
                ..p.sso
            };
            Ok::<_, WebError>((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
    };
    let issuer = match Issuer::parse(&form.issuer) {
        Ok(i) => i,
        Err(_) => return problem(t.t("sso-issuer-invalid")).await,
    };
    let client_id = form.client_id.trim();
    if client_id.is_empty()
        || client_id.chars().count() > SSO_FIELD_MAX
        || client_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return problem(t.t("sso-client-id-invalid")).await;
    }
    let secret = form.client_secret.trim();
    if secret.chars().count() > SSO_FIELD_MAX || secret.chars().any(char::is_control) {
        return problem(t.t("sso-secret-invalid")).await;
    }
    let Ok(domain) = form.email_domain.parse::<EmailDomain>() else {
        return problem(t.t("sso-domain-invalid")).await;
    };
    // A provider that cannot be discovered would refuse every login; one
    // being turned off may well be unreachable.
    if enabled && let Err(e) = state.oidc.discover_now(&issuer).await {
        let detail = crate::report::cause_chain(&e);
        tracing::info!(workspace = %viewer.session.workspace.id, error = %detail, "single sign-on discovery failed");
        return problem(t.ts("sso-discovery-failed", "detail", &detail)).await;
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
            again(&state, &viewer, Ok("sso-saved")).await
        }
        Err(StoreError::Conflict(_)) => {
            problem(t.ts("sso-domain-taken", "domain", domain.as_str())).await
        }
        Err(StoreError::Rule(_)) => problem(t.t("sso-secret-needed")).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    role: String,
}

/// Checks that the viewer may act on `member` now in `current` role and
/// give it `to`: admins manage sales reps and admins, owners everyone, and
/// nobody themselves.
async fn may_manage(
    state: &AppState,
    viewer: &Viewer,
    member: onepane_domain::UserId,
    to: Option<Role>,
) -> Result<(), WebError> {
    viewer.require_admin()?;
    if member == viewer.session.user.id {
        return Err(WebError::Forbidden);
    }
    let current = viewer
        .store(state)
        .members()
        .await?
        .into_iter()
        .find(|m| m.user_id == member)
        .ok_or(WebError::NotFound)?
        .role;
    let owner = viewer.session.role == Role::Owner;
    if !owner && (current == Role::Owner || to == Some(Role::Owner)) {
        return Err(WebError::Forbidden);
    }
    Ok(())
}

async fn change_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<RoleForm>,
) -> Result<Response, WebError> {
    let member: onepane_domain::UserId = id.parse().map_err(|_| WebError::NotFound)?;
    let role: Role = form.role.parse().map_err(|_| WebError::BadRequest)?;
    may_manage(&state, &viewer, member, Some(role)).await?;
    match viewer.store(&state).set_member_role(member, role).await {
        Ok(()) => {
            viewer
                .record(
                    &state,
                    "member.role-changed",
                    "member",
                    member,
                    serde_json::json!({ "role": role.as_str() }),
                )
                .await?;
            again(&state, &viewer, Ok("settings-saved")).await
        }
        Err(onepane_store::StoreError::Rule(_)) => {
            again(&state, &viewer, Err("member-last-owner")).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove_member(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let member: onepane_domain::UserId = id.parse().map_err(|_| WebError::NotFound)?;
    may_manage(&state, &viewer, member, None).await?;
    match viewer.store(&state).remove_member(member).await {
        Ok(()) => {
            viewer
                .record(
                    &state,
                    "member.removed",
                    "member",
                    member,
                    serde_json::json!({}),
                )
                .await?;
            again(&state, &viewer, Ok("member-removed")).await
        }
        Err(onepane_store::StoreError::Rule(_)) => {
            again(&state, &viewer, Err("member-last-owner")).await
        }
        Err(e) => Err(e.into()),
    }
}
