//! Single sign-on through a real OpenID Connect provider: oidc-provider,
//! run by node from `tests/browser/oidc/provider.mjs` on loopback, its
//! sign-in form filled in over plain HTTP the way a browser would.
//!
//! Where things are: `ONEPANE_TEST_NODE` (default `node` on the path) and
//! `ONEPANE_TEST_NODE_MODULES` (default `tests/browser/node_modules`,
//! filled by `npm ci` in `tests/browser`). Without them the tests say they
//! skipped, unless `ONEPANE_TEST_REQUIRE_ALL=1`, which makes that a failure.
//!
//! What the provider cannot be made to do wrong (a forged or tampered ID
//! token, another audience, another nonce, `alg: none`) is checked by the
//! verifier's own tests in `crates/server/src/auth/oidc.rs`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onepane_domain::text::{Email, Locale, Name};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{Currency, Role, WorkspaceId};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::browser::{Browser, node_modules, workspace_root};
use crate::harness::{Backend, TestApp};
use crate::portal::{Answer, PASSWORD, Visitor, set_password};
use crate::world::on_both_backends;

const CLIENT_ID: &str = "onepane-portal";
const CLIENT_SECRET: &str = "the test provider's client secret";

/// Owner of Acme Oy, which signs in `acme.example` through the provider.
const OWNER: &str = "owner@acme.example";
/// A sales rep in Acme Oy and in Beta Oy.
const MEMBER: &str = "maija@acme.example";
/// In Beta Oy only.
const STRANGER: &str = "stranger@acme.example";
/// In Acme Oy, but the provider has not verified the address.
const UNVERIFIED: &str = "unverified@acme.example";

/// How the provider is set up.
#[derive(Debug, Clone, Copy)]
struct IdpOptions {
    auth_method: &'static str,
    alg: &'static str,
    email_in_id_token: bool,
}

impl Default for IdpOptions {
    fn default() -> Self {
        Self {
            auth_method: "client_secret_basic",
            alg: "RS256",
            email_in_id_token: true,
        }
    }
}

/// The provider's accounts: login, email, whether it says it verified the
/// email (absent: it does not say).
const ACCOUNTS: &[(&str, &str, Option<bool>)] = &[
    ("maija", MEMBER, Some(true)),
    ("noflag", MEMBER, None),
    ("outsider", "outsider@acme.example", Some(true)),
    ("stranger", STRANGER, Some(true)),
    ("unverified", UNVERIFIED, Some(false)),
    ("elsewhere", "boss@beta.example", Some(true)),
];

fn password_of(login: &str) -> String {
    format!("pw-{login}")
}

fn node() -> PathBuf {
    std::env::var_os("ONEPANE_TEST_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from)
}

/// Whether node and oidc-provider are installed; says why not (or fails
/// when nothing may be skipped).
#[allow(clippy::print_stdout)]
fn provider_installed() -> bool {
    // oidc-provider 9 (and the jose it signs with) needs Node.js 20 or newer.
    let major = std::process::Command::new(node())
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let version = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            version
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
        });
    let why = if major.is_none() {
        format!(
            "node does not run as {} (set ONEPANE_TEST_NODE)",
            node().display()
        )
    } else if major < Some(20) {
        format!(
            "{} is Node.js {}, and oidc-provider needs 20 or newer",
            node().display(),
            major.unwrap_or_default()
        )
    } else if !node_modules().join("oidc-provider/package.json").is_file() {
        format!(
            "oidc-provider is not in {} (run `npm ci --ignore-scripts` in tests/browser, or set ONEPANE_TEST_NODE_MODULES)",
            node_modules().display()
        )
    } else {
        return true;
    };
    if onepane_store::testing::require_all() {
        panic!("{why} (ONEPANE_TEST_REQUIRE_ALL=1 forbids skipping)");
    }
    println!("skipped: {why}");
    false
}

/// The provider, running; it ends with this.
struct Idp {
    issuer: String,
    /// What it said on stderr, shown when a test fails.
    said: Arc<Mutex<Vec<String>>>,
    _child: Child,
    _stdin: ChildStdin,
}

impl Idp {
    async fn start(app: &TestApp, options: IdpOptions) -> Idp {
        let accounts: Vec<serde_json::Value> = ACCOUNTS
            .iter()
            .map(|(login, email, verified)| {
                let mut a = json!({"login": login, "password": password_of(login), "email": email});
                if let Some(v) = verified {
                    a["email_verified"] = json!(v);
                }
                a
            })
            .collect();
        let entry = node_modules().join("oidc-provider/lib/index.js");
        let mut child = Command::new(node())
            .arg(workspace_root().join("tests/browser/oidc/provider.mjs"))
            .env(
                "OIDC_PROVIDER_MODULE",
                url::Url::from_file_path(&entry).unwrap().as_str(),
            )
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", app.url("/login/sso/callback"))
            .env("OIDC_ACCOUNTS", serde_json::to_string(&accounts).unwrap())
            .env("OIDC_AUTH_METHOD", options.auth_method)
            .env("OIDC_ID_TOKEN_ALG", options.alg)
            .env(
                "OIDC_EMAIL_IN_ID_TOKEN",
                if options.email_in_id_token { "1" } else { "0" },
            )
            .kill_on_drop(true)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", node().display()));
        let stdin = child.stdin.take().unwrap();
        // What it says on stderr, for when it does not start.
        let said = Arc::new(Mutex::new(Vec::new()));
        let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = Arc::clone(&said);
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                kept.lock().unwrap().push(line);
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        let issuer = match first {
            Ok(Ok(Some(line))) if line.starts_with("issuer ") => line["issuer ".len()..].to_owned(),
            other => panic!(
                "the provider did not start ({other:?}): {:?}",
                said.lock().unwrap()
            ),
        };
        // Read on, so a later line never meets a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Idp {
            issuer,
            said,
            _child: child,
            _stdin: stdin,
        }
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Ok(said) = self.said.lock()
        {
            eprintln!("the provider said: {said:#?}");
        }
    }
}

impl Idp {
    /// Signs `login` in at the provider, starting from its authorization
    /// URL, as a browser of its own would; where it sends the browser back.
    async fn sign_in(&self, authorize: &str, login: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let mut jar: Vec<(String, String)> = Vec::new();
        let mut url = url::Url::parse(authorize).unwrap();
        let mut form_posted = false;
        for _ in 0..10 {
            if !url.as_str().starts_with(&self.issuer) {
                return url.to_string();
            }
            let cookies = jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let on_form = url.path().starts_with("/interaction/");
            let request = if on_form && !form_posted {
                // Our sign-in form posts to its own address plus `/login`.
                form_posted = true;
                let password = password_of(login);
                http.post(format!("{}/login", url.as_str().trim_end_matches('/')))
                    .form(&[("login", login), ("password", password.as_str())])
            } else {
                http.get(url.clone())
            };
            let response = request.header("cookie", cookies).send().await.unwrap();
            for set in response.headers().get_all("set-cookie") {
                let set = set.to_str().unwrap();
                let pair = set.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    jar.retain(|(k, _)| k != name);
                    jar.push((name.to_owned(), value.to_owned()));
                }
            }
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            match location {
                Some(next) if status.is_redirection() => url = url.join(&next).unwrap(),
                _ => panic!("the provider answered {status} at {url}: {body}"),
            }
        }
        panic!("the provider never sent the browser back");
    }
}

/// A portal with two workspaces, the provider, and Acme Oy's owner having
/// set single sign-on up in the settings.
struct Sso {
    app: TestApp,
    idp: Idp,
    acme: WorkspaceId,
    beta: WorkspaceId,
}

async fn workspace(app: &TestApp, name: &str, owner: &str) -> WorkspaceId {
    let (ws, _) = app
        .store
        .operator()
        .create_workspace(&NewWorkspace {
            name: Name::parse(name).unwrap(),
            home_currency: Currency::EUR,
            locale: Locale::parse("en").unwrap(),
            owner_email: Email::parse(owner).unwrap(),
        })
        .await
        .unwrap();
    ws.id
}

async fn setup(backend: Backend, options: IdpOptions) -> Option<Sso> {
    if !provider_installed() {
        return None;
    }
    // The provider listens on loopback.
    let app = TestApp::on(backend, |c| onepane_server::Config {
        outbound_allow: vec!["127.0.0.0/8".parse().unwrap()],
        ..c
    })
    .await?;
    let acme = workspace(&app, "Acme Oy", OWNER).await;
    let beta = workspace(&app, "Beta Oy", "owner@beta.example").await;
    let op = app.store.operator();
    for (ws, email) in [
        (acme, MEMBER),
        (beta, MEMBER),
        (beta, STRANGER),
        (acme, UNVERIFIED),
    ] {
        op.add_member(ws, &Email::parse(email).unwrap(), Role::SalesRep)
            .await
            .unwrap();
    }
    set_password(&app, OWNER, PASSWORD).await;
    set_password(&app, "owner@beta.example", PASSWORD).await;
    let idp = Idp::start(&app, options).await;
    let saved = configure(
        &app,
        OWNER,
        &idp.issuer,
        Some(CLIENT_SECRET),
        "acme.example",
        true,
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved.body.contains("Single sign-on is saved."),
        "{}",
        saved.body
    );
    Some(Sso {
        app,
        idp,
        acme,
        beta,
    })
}

/// `admin` saves the single sign-on form.
async fn configure(
    app: &TestApp,
    admin: &str,
    issuer: &str,
    secret: Option<&str>,
    domain: &str,
    enabled: bool,
) -> Answer {
    let mut v = Visitor::new(app);
    let login = v.login(admin, PASSWORD).await;
    assert_eq!(login.status, 303, "{}", login.body);
    let mut fields = vec![
        ("issuer", issuer),
        ("client_id", CLIENT_ID),
        ("client_secret", secret.unwrap_or("")),
        ("email_domain", domain),
    ];
    if enabled {
        fields.push(("enabled", "on"));
    }
    // The session's token from the section every member may open: a
    // sales rep's post is refused by the form's own route.
    v.submit("/settings/account", "/settings/sso", &fields)
        .await
}

/// Starts single sign-on with the login page's form; the provider's
/// authorization URL the page continues to.
async fn start(v: &mut Visitor, email: &str) -> String {
    let page = v.submit("/login", "/login/sso", &[("email", email)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    continue_link(&page.body)
}

/// The link the page that continues to the provider offers.
fn continue_link(body: &str) -> String {
    let marker = r#"id="sso-continue" class="button primary" href=""#;
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("no link on {body}"))
        + marker.len();
    // As the page escapes it: `&` is written `&#38;`.
    body[at..at + body[at..].find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The path of a portal URL.
fn path_of(app: &TestApp, url: &str) -> String {
    let base = app.url("");
    url.strip_prefix(&base)
        .unwrap_or_else(|| panic!("{url} is not the portal's ({base})"))
        .to_owned()
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The whole sign-in of `login`, typing `email` on the login page; the
/// portal's answer to the callback.
async fn sign_in(s: &Sso, v: &mut Visitor, email: &str, login: &str) -> Answer {
    let authorize = start(v, email).await;
    let back = s.idp.sign_in(&authorize, login).await;
    v.get(&path_of(&s.app, &back)).await
}

on_both_backends!(
    a_member_signs_in_through_the_workspaces_provider_and_switches_workspaces,
    a_callback_is_refused_when_replayed_forged_or_in_another_browser,
    people_who_are_not_members_or_unverified_are_refused,
    an_unknown_domain_or_turned_off_sign_in_gets_a_clear_message,
    the_settings_check_the_provider_and_never_show_the_secret,
    other_algorithms_client_authentication_and_the_userinfo_endpoint_work,
);

async fn a_member_signs_in_through_the_workspaces_provider_and_switches_workspaces(
    backend: Backend,
) {
    let Some(s) = setup(backend, IdpOptions::default()).await else {
        return;
    };
    let mut v = Visitor::new(&s.app);
    let login_page = v.get("/login").await;
    assert!(login_page.body.contains("Sign in with single sign-on"));

    // The form's answer continues to the provider by itself: the code flow
    // with PKCE S256, a state and a nonce, and a binding cookie.
    let authorize = start(&mut v, "Maija@Acme.example").await;
    assert!(
        authorize.starts_with(&format!("{}/auth?", s.idp.issuer)),
        "{authorize}"
    );
    let q = query(&authorize);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], s.app.url("/login/sso/callback"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "openid email");
    assert_eq!(q["login_hint"], MEMBER);
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43 && q["state"] != q["nonce"]);
    assert!(v.has_cookie("onepane_sso"));

    let back = s.idp.sign_in(&authorize, "maija").await;
    let done = v.get(&path_of(&s.app, &back)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/"));
    assert!(v.has_cookie("onepane_session"));
    assert!(!v.has_cookie("onepane_sso"), "the binding is cleared");
    let home = v.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains(r#"id="workspace-name">Acme Oy<"#));

    // The same session moves to the member's other workspace.
    let beta = s.beta.to_string();
    let switched = v
        .submit("/", "/workspace", &[("workspace_id", beta.as_str())])
        .await;
    assert_eq!(switched.status, 303, "{}", switched.body);
    assert!(
        v.get("/")
            .await
            .body
            .contains(r#"id="workspace-name">Beta Oy<"#)
    );

    // A link with the email goes straight to the provider, and the
    // sign-in ends where the link said.
    let mut w = Visitor::new(&s.app);
    let link = w
        .get("/login/sso?email=maija%40acme.example&next=%2Fdeals")
        .await;
    assert_eq!(link.status, 303, "{}", link.body);
    let authorize = link.location.unwrap();
    let back = s.idp.sign_in(&authorize, "maija").await;
    let done = w.get(&path_of(&s.app, &back)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/deals"));
    assert_eq!(w.get("/deals").await.status, 200);
    let _ = s.acme;
}

async fn a_callback_is_refused_when_replayed_forged_or_in_another_browser(backend: Backend) {
    let Some(s) = setup(backend, IdpOptions::default()).await else {
        return;
    };
    // Replayed: the browser that signed in cannot use the answer again.
    let mut a = Visitor::new(&s.app);
    let authorize = start(&mut a, MEMBER).await;
    let back = path_of(&s.app, &s.idp.sign_in(&authorize, "maija").await);
    assert_eq!(a.get(&back).await.status, 303);
    let again = a.get(&back).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.body.contains("already used or expired"),
        "{}",
        again.body
    );

    // Another browser (no binding cookie) is refused, and the state is
    // used up: the right browser cannot use it after that either.
    let mut a = Visitor::new(&s.app);
    let authorize = start(&mut a, MEMBER).await;
    let back = path_of(&s.app, &s.idp.sign_in(&authorize, "maija").await);
    let mut b = Visitor::new(&s.app);
    let other = b.get(&back).await;
    assert_eq!(other.status, 403, "{}", other.body);
    assert!(other.body.contains("started in another browser"));
    assert!(!b.has_cookie("onepane_session"));
    let late = a.get(&back).await;
    assert_eq!(late.status, 400, "{}", late.body);
    assert!(!a.has_cookie("onepane_session"));

    // A browser with its own sign-in in progress has another binding.
    let mut a = Visitor::new(&s.app);
    let authorize = start(&mut a, MEMBER).await;
    let back = path_of(&s.app, &s.idp.sign_in(&authorize, "maija").await);
    let mut c = Visitor::new(&s.app);
    let _ = start(&mut c, MEMBER).await;
    assert!(c.has_cookie("onepane_sso"));
    assert_eq!(c.get(&back).await.status, 403);
    assert!(!c.has_cookie("onepane_session"));

    // A made-up state, or none.
    for forged in [
        "/login/sso/callback?code=abc&state=made-up",
        "/login/sso/callback?code=abc",
    ] {
        let r = a.get(forged).await;
        assert_eq!(r.status, 400, "{forged}: {}", r.body);
    }

    // The answer of another issuer (a mix-up), and a code the provider
    // never gave, are refused.
    for tamper in ["iss", "code"] {
        let mut v = Visitor::new(&s.app);
        let authorize = start(&mut v, MEMBER).await;
        let back = s.idp.sign_in(&authorize, "maija").await;
        let mut url = url::Url::parse(&back).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == tamper {
                    format!("{v}x")
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let r = v.get(&path_of(&s.app, url.as_str())).await;
        assert_eq!(r.status, 401, "{tamper}: {}", r.body);
        assert!(r.body.contains("could not be verified"), "{}", r.body);
        assert!(!v.has_cookie("onepane_session"));
    }

    // The provider's own refusal (the user cancelled) is said as such.
    let mut v = Visitor::new(&s.app);
    let authorize = start(&mut v, MEMBER).await;
    let state = query(&authorize)["state"].clone();
    let cancelled = v
        .get(&format!(
            "/login/sso/callback?error=access_denied&state={}",
            onepane_server::web::urlencode(&state)
        ))
        .await;
    assert_eq!(cancelled.status, 401, "{}", cancelled.body);
    assert!(cancelled.body.contains("did not sign you in"));
}

async fn people_who_are_not_members_or_unverified_are_refused(backend: Backend) {
    let Some(s) = setup(backend, IdpOptions::default()).await else {
        return;
    };
    for (login, message) in [
        (
            "outsider",
            "outsider@acme.example is not a member of the workspace",
        ),
        (
            "stranger",
            "stranger@acme.example is not a member of the workspace",
        ),
        ("unverified", "has not verified your email address"),
        (
            "elsewhere",
            "You signed in as boss@beta.example, which is not an address of acme.example",
        ),
    ] {
        let mut v = Visitor::new(&s.app);
        let r = sign_in(&s, &mut v, MEMBER, login).await;
        assert_eq!(r.status, 403, "{login}: {}", r.body);
        assert!(r.body.contains(message), "{login}: {}", r.body);
        assert!(!v.has_cookie("onepane_session"), "{login}");
    }
    // Nobody became a member by trying.
    let acme = s.app.store.partner(s.acme).members().await.unwrap();
    assert_eq!(acme.len(), 3, "{acme:?}");
}

async fn an_unknown_domain_or_turned_off_sign_in_gets_a_clear_message(backend: Backend) {
    let Some(s) = setup(backend, IdpOptions::default()).await else {
        return;
    };
    let mut v = Visitor::new(&s.app);
    let unknown = v
        .submit(
            "/login",
            "/login/sso",
            &[("email", "maija@unknown.example")],
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(
        unknown
            .body
            .contains("Single sign-on is not set up for unknown.example"),
        "{}",
        unknown.body
    );
    assert!(!v.has_cookie("onepane_sso"));
    let by_link = v.get("/login/sso?email=maija%40unknown.example").await;
    assert_eq!(by_link.status, 404);
    let invalid = v
        .submit("/login", "/login/sso", &[("email", "not an email")])
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    assert!(invalid.body.contains("Enter a valid email address."));
    let finnish = Visitor::new(&s.app)
        .finnish()
        .get("/login/sso?email=maija%40unknown.example")
        .await;
    assert!(
        finnish.body.contains(
            "Kertakirjautumista ei ole otettu käyttöön verkkotunnukselle unknown.example"
        ),
        "{}",
        finnish.body
    );
    // Without CSRF token the form is refused.
    assert_eq!(
        Visitor::new(&s.app)
            .post("/login/sso", &[("email", MEMBER)])
            .await
            .status,
        403
    );

    // A sign-in under way when the admin turns single sign-on off does not
    // finish, and new ones do not start.
    let mut v = Visitor::new(&s.app);
    let authorize = start(&mut v, MEMBER).await;
    let back = s.idp.sign_in(&authorize, "maija").await;
    let off = configure(&s.app, OWNER, &s.idp.issuer, None, "acme.example", false).await;
    assert_eq!(off.status, 200, "{}", off.body);
    let r = v.get(&path_of(&s.app, &back)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("turned off"), "{}", r.body);
    let r = Visitor::new(&s.app)
        .get("/login/sso?email=maija%40acme.example")
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

async fn the_settings_check_the_provider_and_never_show_the_secret(backend: Backend) {
    let Some(s) = setup(backend, IdpOptions::default()).await else {
        return;
    };
    let issuer = s.idp.issuer.clone();
    // What is refused before anything is saved.
    for (issuer, domain, message) in [
        ("http://idp.example", "acme.example", "must be an https URL"),
        ("not a url", "acme.example", "must be an https URL"),
        (
            &format!("{issuer}/") as &str,
            "acme.example",
            "could not be discovered",
        ),
        (
            "http://127.0.0.1:1",
            "acme.example",
            "could not be discovered",
        ),
        (&issuer, "not a domain", "Enter an email domain"),
    ] {
        let r = configure(&s.app, OWNER, issuer, Some("x"), domain, true).await;
        assert_eq!(r.status, 422, "{issuer} {domain}: {}", r.body);
        assert!(r.body.contains(message), "{issuer} {domain}: {}", r.body);
    }
    // The discovery document must name exactly the issuer configured.
    let r = configure(
        &s.app,
        OWNER,
        &format!("{issuer}/"),
        Some("x"),
        "acme.example",
        true,
    )
    .await;
    assert!(r.body.contains("names the issuer"), "{}", r.body);
    // Another workspace cannot take the domain, and needs a secret first.
    let taken = configure(
        &s.app,
        "owner@beta.example",
        &issuer,
        Some("y"),
        "acme.example",
        true,
    )
    .await;
    assert_eq!(taken.status, 422, "{}", taken.body);
    assert!(
        taken
            .body
            .contains("Another workspace already signs in acme.example")
    );
    let no_secret = configure(
        &s.app,
        "owner@beta.example",
        &issuer,
        None,
        "beta.example",
        true,
    )
    .await;
    assert_eq!(no_secret.status, 422, "{}", no_secret.body);
    assert!(no_secret.body.contains("Enter the client secret."));
    // Sales reps do not change it.
    set_password(&s.app, MEMBER, PASSWORD).await;
    let rep = configure(&s.app, MEMBER, &issuer, Some("z"), "acme.example", true).await;
    assert_eq!(rep.status, 403, "{}", rep.body);

    // Saved without a secret, the stored one is kept (sign-in still works)
    // and never shown; at rest it is sealed.
    let kept = configure(&s.app, OWNER, &issuer, None, "acme.example", true).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    let mut owner = Visitor::new(&s.app);
    owner.login(OWNER, PASSWORD).await;
    let settings = owner.get("/settings/sso").await;
    assert!(settings.body.contains("A client secret is stored"));
    assert!(settings.body.contains(&s.app.url("/login/sso/callback")));
    assert!(!settings.body.contains(CLIENT_SECRET));
    let stored = s
        .app
        .store
        .partner(s.acme)
        .sso_config()
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored
            .sealed_client_secret
            .windows(CLIENT_SECRET.len())
            .any(|w| w == CLIENT_SECRET.as_bytes())
    );
    let mut v = Visitor::new(&s.app);
    let r = sign_in(&s, &mut v, MEMBER, "maija").await;
    assert_eq!(r.status, 303, "{}", r.body);
}

async fn other_algorithms_client_authentication_and_the_userinfo_endpoint_work(backend: Backend) {
    // ES256 ID tokens without the email, which the userinfo endpoint
    // gives; the client authenticates in the request body.
    let options = IdpOptions {
        auth_method: "client_secret_post",
        alg: "ES256",
        email_in_id_token: false,
    };
    let Some(s) = setup(backend, options).await else {
        return;
    };
    let mut v = Visitor::new(&s.app);
    let r = sign_in(&s, &mut v, MEMBER, "maija").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(v.has_cookie("onepane_session"));

    // EdDSA, and a provider that does not say whether it verified the
    // email: accepted (only a `false` is refused).
    let idp = Idp::start(
        &s.app,
        IdpOptions {
            alg: "EdDSA",
            ..IdpOptions::default()
        },
    )
    .await;
    let saved = configure(
        &s.app,
        OWNER,
        &idp.issuer,
        Some(CLIENT_SECRET),
        "acme.example",
        true,
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let s = Sso { idp, ..s };
    let mut v = Visitor::new(&s.app);
    let r = sign_in(&s, &mut v, MEMBER, "noflag").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(v.has_cookie("onepane_session"));
}

/// A real browser: the login page's form, the page that continues to the
/// provider by itself (the portal's `form-action 'self'` would block a
/// redirect answering the form), the provider's form, and back with the
/// binding cookie (SameSite=Lax survives the provider's redirect).
#[tokio::test]
async fn a_browser_signs_in_from_the_login_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(s) = setup(Backend::Sqlite, IdpOptions::default()).await else {
        return;
    };
    browser.goto(&s.app.url("/login")).await;
    browser.assert_accessible("login").await;
    browser.find("#sso-email").await.send_keys(MEMBER).await;
    browser.find("#sso-submit").await.click().await;
    let wait = Duration::from_secs(15);
    browser
        .wait_for(r#"input[name="login"]"#, wait)
        .await
        .send_keys("maija")
        .await;
    browser
        .find(r#"input[name="password"]"#)
        .await
        .send_keys(&password_of("maija"))
        .await;
    browser.find(r#"button[type="submit"]"#).await.click().await;
    let workspace = browser.wait_for("#workspace-name", wait).await;
    assert_eq!(workspace.text().await, "Acme Oy");
    assert_eq!(browser.current_url().await, s.app.url("/"));
    let cookies: Vec<String> = browser
        .cookies()
        .await
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert!(
        cookies.contains(&"onepane_session".to_owned()),
        "{cookies:?}"
    );
    assert!(!cookies.contains(&"onepane_sso".to_owned()), "{cookies:?}");

    // The single sign-on page, with a refusal on it, is accessible too.
    browser
        .goto(&s.app.url("/login/sso?email=maija%40unknown.example"))
        .await;
    assert!(
        browser
            .find("#sso-error")
            .await
            .text()
            .await
            .contains("unknown.example")
    );
    browser.assert_accessible("sso-refused").await;
}
