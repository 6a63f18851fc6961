//! Adding a connection in the browser: pick the kind, fill in its form
//! (a vendor's `rest` manifest pasted and checked, AWS keys, a CRM's OAuth
//! app, a webhook's address), choose a schedule in words, and the
//! connection is checked and made exactly as through the API. Credentials
//! are entered once and never shown; a webhook's signing secret is shown
//! once; a CRM goes on to its provider's login at once.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onepane_connector::{Credentials, KeyPlacement, Secret};
use onepane_domain::VendorId;
use onepane_domain::text::Name;
use onepane_domain::workspace::ConnectionTarget;
use serde::Deserialize;

use crate::services::connections::{self, ConnectionError, ConnectionRequest};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{Posted, Viewer};
use crate::web::view::Choice;

/// The routes of adding a connection.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connections/new", get(kinds))
        .route("/connections/new/{kind}", get(form).post(create))
}

/// The kinds of connection a partner adds in the browser.
const KINDS: &[&str] = &[
    "rest",
    "aws-partner-central",
    "hubspot",
    "salesforce",
    "webhook",
];

/// HubSpot's OAuth endpoints and API (the form's defaults).
const HUBSPOT: (&str, &str, &str, &str) = (
    "https://app.hubspot.com/oauth/authorize",
    "https://api.hubapi.com/oauth/v1/token",
    "https://api.hubapi.com",
    "crm.objects.contacts.write crm.objects.deals.write",
);

/// Salesforce's OAuth endpoints (the form's defaults; the instance is the
/// partner's own).
const SALESFORCE: (&str, &str, &str, &str) = (
    "https://login.salesforce.com/services/oauth2/authorize",
    "https://login.salesforce.com/services/oauth2/token",
    "",
    "api refresh_token",
);

/// A kind as a choice on the first page.
#[derive(Debug, Clone)]
pub struct KindChoice {
    /// Its spelling, in the form's address.
    pub kind: &'static str,
    /// Its name.
    pub title: String,
    /// What it is for.
    pub text: String,
}

#[derive(askama::Template)]
#[template(path = "connect_kinds.html")]
struct KindsPage {
    t: Tr,
    chrome: Chrome,
    kinds: Vec<KindChoice>,
}

/// The form, as typed (empty at first), and what is wrong with it.
#[derive(askama::Template)]
#[template(path = "connect_form.html")]
struct FormPage {
    t: Tr,
    chrome: Chrome,
    kind: &'static str,
    title: String,
    /// The linked vendors, for a source.
    vendors: Vec<Choice>,
    /// What was typed, by field name.
    typed: BTreeMap<String, String>,
    /// What is wrong, by field name.
    errors: BTreeMap<String, String>,
    /// Whether anything is wrong.
    problem: bool,
}

impl FormPage {
    /// What was typed into `field`, or its default.
    fn v(&self, field: &str) -> String {
        self.typed.get(field).cloned().unwrap_or_default()
    }

    /// What is wrong with `field`, if anything.
    fn e(&self, field: &str) -> Option<String> {
        self.errors.get(field).cloned()
    }

    /// Whether `field` has `value` (a select's or radio's choice).
    fn is(&self, field: &str, value: &str) -> bool {
        self.typed.get(field).map(String::as_str) == Some(value)
    }
}

#[derive(askama::Template)]
#[template(path = "connect_secret.html")]
struct SecretPage {
    t: Tr,
    chrome: Chrome,
    name: String,
    secret: String,
}

fn kind_of(kind: &str) -> Result<&'static str, WebError> {
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .ok_or(WebError::NotFound)
}

fn is_source(kind: &str) -> bool {
    matches!(kind, "rest" | "aws-partner-central")
}

async fn kinds(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let t = viewer.tr.clone();
    let page = KindsPage {
        chrome: Chrome::load(&state, &viewer, "connections").await?,
        kinds: KINDS
            .iter()
            .map(|k| KindChoice {
                kind: k,
                title: t.t(&format!("connect-kind-{k}")),
                text: t.t(&format!("connect-kind-{k}-text")),
            })
            .collect(),
        t,
    };
    render(&page)
}

/// The form's first values.
fn defaults(kind: &str) -> BTreeMap<String, String> {
    let mut d = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        d.insert(k.to_owned(), v.to_owned());
    };
    put("schedule", "default");
    put("daily_at", "06:00");
    match kind {
        "rest" => put("auth", "none"),
        "aws-partner-central" => {
            // The AWS connector's own default region.
            put("region", "us-east-1");
            put("catalog", "AWS");
        }
        "hubspot" | "salesforce" => {
            let (auth, token, base, scopes) = if kind == "hubspot" {
                HUBSPOT
            } else {
                SALESFORCE
            };
            put("auth_url", auth);
            put("token_url", token);
            put("base_url", base);
            put("scopes", scopes);
        }
        _ => {}
    }
    d
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    kind: &'static str,
    typed: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
) -> Result<FormPage, WebError> {
    let t = viewer.tr.clone();
    let (chrome, vendors) = tokio::try_join!(Chrome::load(state, viewer, "connections"), async {
        Ok::<_, WebError>(viewer.store(state).vendors().await?)
    })?;
    let chosen = typed.get("vendor").cloned().unwrap_or_default();
    Ok(FormPage {
        title: t.t(&format!("connect-kind-{kind}")),
        vendors: vendors
            .iter()
            .filter(|v| v.link.status == onepane_domain::LinkStatus::Active)
            .map(|v| Choice {
                value: v.vendor.id.to_string(),
                label: v.vendor.name.to_string(),
                selected: chosen == v.vendor.id.to_string(),
            })
            .collect(),
        problem: !errors.is_empty(),
        typed,
        errors,
        kind,
        chrome,
        t,
    })
}

async fn form(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    viewer: Viewer,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let kind = kind_of(&kind)?;
    render(&page(&state, &viewer, kind, defaults(kind), BTreeMap::new()).await?)
}

/// The posted fields, by name.
#[derive(Debug)]
pub struct Fields(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Fields(BTreeMap::<String, String>::deserialize(d)?))
    }
}

/// What the form says, read into a request, or the fields that are wrong.
struct Reading<'a> {
    t: &'a Tr,
    typed: &'a BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
}

impl Reading<'_> {
    fn get(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", |s| s.trim())
    }

    fn wrong(&mut self, field: &str, message: String) {
        self.errors.entry(field.to_owned()).or_insert(message);
    }

    /// A field that must be filled in.
    fn required(&mut self, field: &str) -> Option<String> {
        let value = self.get(field).to_owned();
        if value.is_empty() {
            let m = self.t.t("connect-required");
            self.wrong(field, m);
            None
        } else {
            Some(value)
        }
    }

    /// An address.
    fn url(&mut self, field: &str) -> Option<url::Url> {
        let value = self.required(field)?;
        match url::Url::parse(&value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                let m = self.t.t("connect-bad-url");
                self.wrong(field, m);
                None
            }
        }
    }

    /// The schedule chosen, as the cron expression the API takes.
    fn schedule(&mut self) -> Option<Option<String>> {
        match self.get("schedule") {
            "" | "default" => Some(None),
            "every-minute" => Some(Some("0 * * * * *".into())),
            "every-15-minutes" => Some(Some("0 */15 * * * *".into())),
            "hourly" => Some(Some("0 0 * * * *".into())),
            "daily" => {
                let at = self.get("daily_at").to_owned();
                match at
                    .split_once(':')
                    .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
                {
                    Some((h, m)) if h < 24 && m < 60 => Some(Some(format!("0 {m} {h} * * *"))),
                    _ => {
                        let m = self.t.t("connect-bad-time");
                        self.wrong("daily_at", m);
                        None
                    }
                }
            }
            "cron" => self.required("cron").map(Some),
            _ => {
                let m = self.t.t("connect-required");
                self.wrong("schedule", m);
                None
            }
        }
    }
}

/// The request the form makes, or `None` with the errors in `r`.
fn request(kind: &str, r: &mut Reading<'_>) -> Option<ConnectionRequest> {
    let name = r.required("name").and_then(|n| match Name::parse(&n) {
        Ok(n) => Some(n),
        Err(e) => {
            r.wrong("name", e.to_string());
            None
        }
    });
    let target = if is_source(kind) {
        match r.required("vendor").map(|v| v.parse::<VendorId>()) {
            Some(Ok(vendor_id)) => Some(ConnectionTarget::VendorSource { vendor_id }),
            Some(Err(_)) => {
                let m = r.t.t("connect-required");
                r.wrong("vendor", m);
                None
            }
            None => None,
        }
    } else {
        Some(ConnectionTarget::CrmSink {})
    };
    let schedule = r.schedule();
    let (settings, credentials) = match kind {
        "rest" => {
            let manifest = r.required("manifest").and_then(|m| {
                match serde_json::from_str::<serde_json::Value>(&m) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        r.wrong(
                            "manifest",
                            r.t.ts("connect-bad-json", "error", &e.to_string()),
                        );
                        None
                    }
                }
            });
            let credentials = match r.get("auth") {
                "" | "none" => Some(Credentials::None),
                "api_key" => match (r.required("key_name"), r.required("key_value")) {
                    (Some(name), Some(value)) => Some(Credentials::ApiKey {
                        name,
                        value: Secret::new(value),
                        placement: if r.get("key_placement") == "query" {
                            KeyPlacement::Query
                        } else {
                            KeyPlacement::Header
                        },
                    }),
                    _ => None,
                },
                "bearer" => r.required("token").map(|token| Credentials::Bearer {
                    token: Secret::new(token),
                }),
                "basic" => match (r.required("username"), r.required("password")) {
                    (Some(username), Some(password)) => Some(Credentials::Basic {
                        username,
                        password: Secret::new(password),
                    }),
                    _ => None,
                },
                _ => {
                    let m = r.t.t("connect-required");
                    r.wrong("auth", m);
                    None
                }
            };
            (
                manifest.map(|m| serde_json::json!({ "manifest": m })),
                credentials,
            )
        }
        "aws-partner-central" => {
            let mut settings = serde_json::json!({
                "region": r.get("region"),
                "catalog": r.get("catalog"),
            });
            if !r.get("endpoint").is_empty()
                && let Some(u) = r.url("endpoint")
            {
                settings["endpoint"] = serde_json::Value::String(u.to_string());
            }
            let keys = match (r.required("access_key_id"), r.required("secret_access_key")) {
                (Some(access_key_id), Some(secret)) => Some(Credentials::AwsAccessKey {
                    access_key_id,
                    secret_access_key: Secret::new(secret),
                    session_token: None,
                }),
                _ => None,
            };
            (Some(settings), keys)
        }
        "hubspot" | "salesforce" => {
            let auth_url = r.url("auth_url");
            let token_url = r.url("token_url");
            let client_id = r.required("client_id");
            let client_secret = r.required("client_secret");
            let base = r.get("base_url").to_owned();
            // Empty: HubSpot's own API; Salesforce's instance, which its
            // login answers with.
            let base = if base.is_empty() {
                None
            } else {
                r.url("base_url").map(|u| u.to_string())
            };
            let key = if kind == "hubspot" {
                "base_url"
            } else {
                "instance_url"
            };
            let settings = match base {
                Some(b) => serde_json::json!({ key: b.trim_end_matches('/') }),
                None => serde_json::json!({}),
            };
            let scopes: Vec<String> = r
                .get("scopes")
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            let credentials = match (auth_url, token_url, client_id, client_secret) {
                (Some(auth_url), Some(token_url), Some(client_id), Some(secret)) => {
                    Some(Credentials::Oauth2AuthorizationCode {
                        auth_url,
                        token_url,
                        client_id,
                        client_secret: Some(Secret::new(secret)),
                        scopes,
                    })
                }
                _ => None,
            };
            (Some(settings), credentials)
        }
        "webhook" => {
            let url = r.url("url");
            (
                url.map(|u| serde_json::json!({ "url": u.to_string() })),
                Some(Credentials::None),
            )
        }
        _ => (None, None),
    };
    let connector = Name::parse(kind).ok()?;
    Some(ConnectionRequest {
        target: target?,
        connector,
        name: name?,
        schedule: schedule?,
        settings: settings?,
        credentials: credentials?,
    })
}

/// The form field a checker's complaint belongs beside.
fn field_of(kind: &str, pointer: &str) -> &'static str {
    match (kind, pointer) {
        (_, "#/schedule") => "schedule",
        ("rest", "#/settings") => "manifest",
        ("rest", "#/credentials") => "auth",
        ("aws-partner-central", "#/settings") => "region",
        ("aws-partner-central", "#/credentials") => "access_key_id",
        ("hubspot" | "salesforce", "#/settings") => "base_url",
        ("hubspot" | "salesforce", "#/credentials") => "client_id",
        ("webhook", _) => "url",
        _ => "name",
    }
}

async fn create(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Posted { viewer, form }: Posted<Fields>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let kind = kind_of(&kind)?;
    let mut typed = form.0;
    typed.remove("_csrf");
    let mut reading = Reading {
        t: &viewer.tr,
        typed: &typed,
        errors: BTreeMap::new(),
    };
    let request = request(kind, &mut reading);
    let mut errors = reading.errors;
    // Secrets are never sent back into the page.
    let forget = |typed: &mut BTreeMap<String, String>| {
        for secret in [
            "key_value",
            "token",
            "password",
            "secret_access_key",
            "client_secret",
        ] {
            typed.remove(secret);
        }
    };
    let Some(request) = request.filter(|_| errors.is_empty()) else {
        forget(&mut typed);
        let p = page(&state, &viewer, kind, typed, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
    };
    let ws = viewer.session.workspace.id;
    match connections::create(&state, ws, viewer.session.user.id, request, "portal").await {
        Ok(created) => {
            if let Some(secret) = created.signing_secret {
                let p = SecretPage {
                    chrome: Chrome::load(&state, &viewer, "connections").await?,
                    name: created.connection.name.to_string(),
                    secret,
                    t: viewer.tr.clone(),
                };
                return render(&p);
            }
            if matches!(kind, "hubspot" | "salesforce") {
                let to =
                    connections::start_authorization(&state, ws, created.connection.id).await?;
                return Ok(Redirect::to(to.as_str()).into_response());
            }
            Ok(Redirect::to("/connections?done=created").into_response())
        }
        Err(ConnectionError::Invalid { pointer, detail }) => {
            errors.insert(field_of(kind, pointer).to_owned(), detail);
            forget(&mut typed);
            let p = page(&state, &viewer, kind, typed, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::Lang;

    fn read(
        kind: &str,
        fields: &[(&str, &str)],
    ) -> (Option<ConnectionRequest>, BTreeMap<String, String>) {
        let t = Tr::new(Lang::En);
        let typed: BTreeMap<String, String> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut r = Reading {
            t: &t,
            typed: &typed,
            errors: BTreeMap::new(),
        };
        let req = request(kind, &mut r);
        (req, r.errors)
    }

    #[test]
    fn schedules_in_words_become_cron() {
        let vendor = VendorId::new().to_string();
        for (choice, at, cron) in [
            ("default", "", None),
            ("hourly", "", Some("0 0 * * * *")),
            ("every-15-minutes", "", Some("0 */15 * * * *")),
            ("daily", "07:30", Some("0 30 7 * * *")),
        ] {
            let (req, errors) = read(
                "rest",
                &[
                    ("name", "Portal"),
                    ("vendor", &vendor),
                    ("manifest", "{}"),
                    ("schedule", choice),
                    ("daily_at", at),
                ],
            );
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(req.unwrap().schedule.as_deref(), cron);
        }
        let (req, errors) = read(
            "webhook",
            &[
                ("name", "Hook"),
                ("url", "https://crm.example/hook"),
                ("schedule", "daily"),
                ("daily_at", "25:00"),
            ],
        );
        assert!(req.is_none());
        assert!(errors.contains_key("daily_at"), "{errors:?}");
    }

    #[test]
    fn every_missing_or_wrong_field_is_named() {
        let (req, errors) = read("rest", &[("manifest", "{not json"), ("auth", "api_key")]);
        assert!(req.is_none());
        for field in ["name", "vendor", "manifest", "key_name", "key_value"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
        let (_, errors) = read(
            "hubspot",
            &[
                ("name", "CRM"),
                ("auth_url", "ftp://x"),
                ("token_url", "https://t.example/token"),
            ],
        );
        for field in ["auth_url", "client_id", "client_secret"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
        assert!(!errors.contains_key("token_url"));
    }
}
