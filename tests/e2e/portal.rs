//! The partner portal over plain HTTP: logging in and its throttle, CSRF
//! refusals, one workspace's user probing another's pages, the landing
//! page's form and spam guards, invitations and password resets, and
//! every page rendering in both languages.

use onepane_domain::text::Email;
use onepane_server::auth::credentials::{hash_secret, token_digest};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::world::{World, on_both_backends};

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

/// One browser's worth of state without a browser: cookies kept by hand,
/// redirects not followed.
pub struct Visitor {
    client: reqwest::Client,
    base: String,
    jar: Vec<(String, String)>,
    lang: &'static str,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor::at(app.url(""))
    }

    /// A visitor of the server at `base` (`http://host:port`).
    pub fn at(base: String) -> Visitor {
        Visitor {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base,
            jar: Vec::new(),
            lang: "en",
        }
    }

    /// The same, with the browser asking for Finnish.
    pub fn finnish(mut self) -> Visitor {
        self.lang = "fi-FI,fi;q=0.9";
        self
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let req = req
            .header("accept", "text/html")
            .header("accept-language", self.lang);
        let req = if self.jar.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let response = req.send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attrs) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.jar.retain(|(k, _)| k != name);
            if !attrs.contains("Max-Age=0") {
                self.jar.push((name.to_owned(), value.to_owned()));
            }
        }
        Answer {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        self.send(req).await
    }

    /// An answer's status, headers and bytes (for images, which are not text).
    pub async fn get_bytes(&mut self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if !self.jar.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// Posts a `multipart/form-data` body: text `fields`, then one file
    /// (field name, file name, media type, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &str, &[u8]),
    ) -> Answer {
        let boundary = "onepane-test-boundary-7d1f0c";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, file_name, media_type, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {media_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(req).await
    }

    /// Posts a form with the CSRF token of the page at `form_page`.
    pub async fn submit(
        &mut self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Answer {
        let page = self.get(form_page).await;
        assert_eq!(page.status, 200, "{form_page}: {}", page.body);
        let token = csrf(&page.body);
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Logs in through the form; the answer to the form's post.
    pub async fn login(&mut self, email: &str, password: &str) -> Answer {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.iter().any(|(k, _)| k == name)
    }
}

/// The CSRF token a page's first form carries.
pub fn csrf(body: &str) -> String {
    let marker = r#"name="_csrf" value=""#;
    let at = body
        .find(marker)
        .expect("the page has a form with a CSRF token")
        + marker.len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

/// Invites `email` with `role` through the settings page; the link shown.
pub async fn invitation_link(owner: &mut Visitor, email: &str, role: &str) -> String {
    let invited = owner
        .submit(
            "/settings/members",
            "/settings/invite",
            &[("email", email), ("role", role)],
        )
        .await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    let at = invited
        .body
        .find("/invitations/")
        .expect("the link is shown once");
    invited.body[at..]
        .chars()
        .take_while(|c| *c != '<' && *c != '"')
        .collect()
}

/// The personal access token a page shows.
fn shown_token(body: &str) -> String {
    let at = body.find("oppat_").expect("the token is shown");
    body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The id of the user with this email.
pub async fn user_id(app: &TestApp, email: &str) -> onepane_domain::UserId {
    app.store
        .system()
        .login_subject(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .expect("the user exists")
        .user_id
}

/// Gives the user with this email a password.
pub async fn set_password(app: &TestApp, email: &str, password: &str) {
    let user = user_id(app, email).await;
    app.store
        .system()
        .set_password(user, &hash_secret(password).unwrap())
        .await
        .unwrap();
}

pub const GOLD_OWNER: &str = "owner@gold-oy.example";
pub const REGISTERED_OWNER: &str = "owner@registered-oy.example";

/// The API world with passwords for both partners' owners and a campaign
/// from vendor one published to Gold.
async fn world(backend: Backend) -> Option<World> {
    let w = World::new(backend).await?;
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    set_password(&w.app, REGISTERED_OWNER, PASSWORD).await;
    publish_campaign(&w, "spring-2026", &["gold", "registered"]).await;
    Some(w)
}

pub async fn publish_campaign(w: &World, external_id: &str, tiers: &[&str]) {
    let (status, body) = w
        .call(
            Method::PUT,
            &format!("/api/v1/vendor/campaigns/{external_id}"),
            &w.v1.token,
            Some(json!({
                "audience": {"tiers": tiers},
                "variants": [
                    {"locale": "en", "name": "Spring print", "description": "Toner deals",
                     "landing": {"headline": "Print smarter", "body": "Save on toner this spring.", "call_to_action": "Ask for an offer"}},
                    {"locale": "fi", "name": "Kevään tulostus",
                     "landing": {"headline": "Tulosta fiksummin", "body": "Säästä värikasetteja.", "call_to_action": "Pyydä tarjous"}}
                ]
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A lead vendor one sends to a partner; its id.
pub async fn send_lead(
    w: &World,
    ws: onepane_domain::WorkspaceId,
    external_id: &str,
    name: &str,
) -> String {
    let (status, lead) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/partners/{ws}/leads"),
            &w.v1.token,
            Some(json!({"external_id": external_id, "contact": {"name": name, "email": format!("{external_id}@customer.example")},
                        "company": {"name": format!("{name} Ltd")}, "respond_by": "2031-01-01T12:00:00Z"})),
        )
        .await;
    assert_eq!(status, 201, "{lead}");
    lead["id"].as_str().unwrap().to_owned()
}

/// The workspace's items of a partner-API listing.
async fn listing(w: &World, token: &str, path: &str) -> Vec<Value> {
    let (status, body) = w.call(Method::GET, path, token, None).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

on_both_backends!(
    pages_that_are_not_there_speak_the_language_the_member_chose,
    logging_in_is_throttled_per_account_and_a_session_ends_at_logout,
    forms_without_their_csrf_token_are_refused_and_change_nothing,
    another_workspaces_pages_are_not_found,
    a_landing_page_turns_a_visitor_into_a_lead_and_keeps_spam_out,
    a_campaign_needs_a_privacy_notice_before_it_is_activated,
    a_landing_page_links_the_privacy_notice_and_records_marketing_consent,
    invitations_and_password_resets_work_once,
    every_page_renders_in_english_and_finnish,
    the_home_page_charts_margins_once_prices_are_priced,
    api_tokens_are_made_shown_once_and_revoked_in_settings,
    a_vendors_own_required_fields_are_asked_in_the_one_form,
    members_change_roles_and_leave_but_an_owner_stays,
    reset_links_are_mailed_through_the_configured_smtp_server,
);

async fn logging_in_is_throttled_per_account_and_a_session_ends_at_logout(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut v = Visitor::new(&w.app);

    // Not logged in: every page sends to the login form, remembering where.
    let home = v.get("/leads?status=new").await;
    assert_eq!(home.status, 303);
    assert_eq!(
        home.location.as_deref(),
        Some("/login?next=%2Fleads%3Fstatus%3Dnew")
    );

    // Wrong password: 401 with a message; an unknown account reads the same.
    let wrong = v.login(GOLD_OWNER, "wrong password!").await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("The email or password is wrong."),
        "{}",
        wrong.body
    );
    let unknown = v.login("nobody@nowhere.example", PASSWORD).await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("The email or password is wrong."));

    // The right password logs in and lands where it was going.
    let ok = v
        .submit(
            "/login?next=/deals",
            "/login",
            &[
                ("email", GOLD_OWNER),
                ("password", PASSWORD),
                ("next", "/deals"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location.as_deref(), Some("/deals"));
    assert!(v.has_cookie("onepane_session"));
    let deals = v.get("/deals").await;
    assert_eq!(deals.status, 200);
    assert!(deals.body.contains("Gold Oy"));

    // An open redirect is not offered.
    let mut other = Visitor::new(&w.app);
    let away = other
        .submit(
            "/login",
            "/login",
            &[
                ("email", GOLD_OWNER),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(away.location.as_deref(), Some("/"));

    // Five failures hold the account, even with the right password after.
    let mut attacker = Visitor::new(&w.app);
    for _ in 0..5 {
        let a = attacker.login(REGISTERED_OWNER, "guess guess guess").await;
        assert_eq!(a.status, 401);
    }
    let held = attacker.login(REGISTERED_OWNER, PASSWORD).await;
    assert_eq!(held.status, 429, "{}", held.body);
    assert!(held.body.contains("Too many failed attempts"));
    assert!(!attacker.has_cookie("onepane_session"));
    // The hold is the account's: it holds for every address.
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(REGISTERED_OWNER, PASSWORD).await.status, 429);
    // Another account is not held.
    let mut gold = Visitor::new(&w.app);
    assert_eq!(gold.login(GOLD_OWNER, PASSWORD).await.status, 303);

    // Logging out ends the session in the store, not just in the browser.
    let session = v
        .jar
        .iter()
        .find(|(k, _)| k == "onepane_session")
        .unwrap()
        .1
        .clone();
    let out = v.submit("/", "/logout", &[]).await;
    assert_eq!(out.status, 303);
    assert!(!v.has_cookie("onepane_session"));
    let stale = w
        .app
        .store
        .system()
        .session(&token_digest(&session))
        .await
        .unwrap();
    assert!(stale.is_none());
    let mut replay = Visitor::new(&w.app);
    replay.jar.push(("onepane_session".into(), session));
    assert_eq!(replay.get("/").await.status, 303);
}

async fn forms_without_their_csrf_token_are_refused_and_change_nothing(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let lead = send_lead(&w, w.gold.id, "csrf-1", "Ceri Sharp").await;
    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);

    // No token, an empty one and another session's are all refused.
    let mut other = Visitor::new(&w.app);
    assert_eq!(other.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let others = csrf(&other.get("/").await.body);
    for fields in [
        vec![],
        vec![("_csrf", "")],
        vec![("_csrf", others.as_str())],
    ] {
        let refused = v.post(&format!("/leads/{lead}/accept"), &fields).await;
        assert_eq!(refused.status, 403, "{fields:?}");
        assert!(
            refused.body.contains("This form has expired"),
            "{}",
            refused.body
        );
    }
    let still = listing(&w, &w.gold.token, "/api/v1/leads").await;
    assert_eq!(still[0]["status"], "new", "nothing changed");
    let refused = v.post("/logout", &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(v.get("/").await.status, 200, "still logged in");

    // With its token the same form works.
    let accepted = v
        .submit(
            &format!("/leads/{lead}"),
            &format!("/leads/{lead}/accept"),
            &[],
        )
        .await;
    assert_eq!(accepted.status, 303);
    let now = listing(&w, &w.gold.token, "/api/v1/leads").await;
    assert_eq!(now[0]["status"], "accepted");

    // The login form's token must match the cookie set with the form.
    let mut fresh = Visitor::new(&w.app);
    let posted = fresh
        .post(
            "/login",
            &[
                ("_csrf", "made-up"),
                ("email", GOLD_OWNER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(posted.status, 403);
    assert!(!fresh.has_cookie("onepane_session"));
}

async fn another_workspaces_pages_are_not_found(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    // Registered's own lead and registration, and a campaign meant for
    // registered partners only (stored once; gold is not in its audience).
    let lead = send_lead(&w, w.registered.id, "reg-1", "Rita Reg").await;
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/campaigns/registered-only",
            &w.v1.token,
            Some(json!({
                "audience": {"tiers": ["registered"]},
                "variants": [{"locale": "en", "name": "Rita's campaign",
                    "landing": {"headline": "For new partners", "body": "Welcome.",
                                "call_to_action": "Contact me"}}]
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let campaigns = listing(&w, &w.registered.token, "/api/v1/campaigns").await;
    let campaign = campaigns
        .iter()
        .find(|c| c["external_id"] == "registered-only")
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_owned();
    let (status, deal) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.registered.token,
            Some(json!({"vendor_ids": [w.v1.id], "lead_id": lead,
                "title": "Printers", "customer": {"name": "Rita Ltd"},
                "amount": {"value": "1000", "currency": "EUR"}})),
        )
        .await;
    assert_eq!(status, 201, "{deal}");
    let deal = deal["registrations"][0]["id"].as_str().unwrap().to_owned();

    let mut registered = Visitor::new(&w.app);
    assert_eq!(
        registered.login(REGISTERED_OWNER, PASSWORD).await.status,
        303
    );
    for path in [
        format!("/leads/{lead}"),
        format!("/campaigns/{campaign}"),
        format!("/deals/{deal}"),
    ] {
        assert_eq!(
            registered.get(&path).await.status,
            200,
            "{path} is Registered's own"
        );
    }

    // Gold's owner gets 404 for each, and for acting on them.
    let mut gold = Visitor::new(&w.app);
    assert_eq!(gold.login(GOLD_OWNER, PASSWORD).await.status, 303);
    for path in [
        format!("/leads/{lead}"),
        format!("/campaigns/{campaign}"),
        format!("/deals/{deal}"),
        format!("/deals/new?lead={lead}"),
    ] {
        let probe = gold.get(&path).await;
        assert_eq!(probe.status, 404, "{path}");
        assert!(!probe.body.contains("Rita"), "{path} leaks nothing");
    }
    for (action, fields) in [
        (format!("/leads/{lead}/accept"), vec![]),
        (
            format!("/leads/{lead}/decline"),
            vec![("reason", "mine now")],
        ),
        (format!("/leads/{lead}/status"), vec![("status", "working")]),
    ] {
        let probe = gold.submit("/", &action, &fields).await;
        assert_eq!(probe.status, 404, "{action}");
    }
    // Registering a deal from another workspace's lead is refused too.
    let probe = gold
        .submit(
            "/deals/new",
            "/deals/new",
            &[
                ("lead", &lead),
                ("vendor", &w.v1.id.to_string()),
                ("title", "Steal"),
                ("customer", "Rita Ltd"),
                ("amount", "10"),
                ("currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(probe.status, 404, "{}", probe.body);
    // Switching into a workspace one is not a member of is refused.
    let probe = gold
        .submit(
            "/",
            "/workspace",
            &[("workspace_id", &w.registered.id.to_string())],
        )
        .await;
    assert_eq!(probe.status, 404);
    // Nothing changed for Registered: the lead stays where its own
    // registration moved it (qualified), not accepted, declined or worked.
    let leads = listing(&w, &w.registered.token, "/api/v1/leads").await;
    assert_eq!(leads[0]["status"], "qualified");
    assert_eq!(
        listing(&w, &w.registered.token, "/api/v1/deal-registrations")
            .await
            .len(),
        1
    );
}

async fn a_landing_page_turns_a_visitor_into_a_lead_and_keeps_spam_out(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    // The profile the page shows.
    let saved = owner
        .submit(
            "/settings/landing-page",
            "/settings/profile",
            &[
                ("contact_name", "Gunnar Gold"),
                ("contact_email", "sales@gold.example"),
                ("contact_phone", "+358 40 123 4567"),
                ("website", "https://gold.example"),
                ("logo_url", ""),
                ("privacy_notice_url", "https://gold.example/privacy"),
                ("marketing_consent_text", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let campaigns = listing(&w, &w.gold.token, "/api/v1/campaigns").await;
    let campaign = campaigns[0]["id"].as_str().unwrap().to_owned();
    let activated = owner
        .submit(
            "/campaigns",
            &format!("/campaigns/{campaign}/activate"),
            &[],
        )
        .await;
    assert_eq!(activated.status, 303);
    let page = owner.get(&format!("/campaigns/{campaign}")).await;
    let at = page
        .body
        .find("/l/")
        .expect("the landing page's address is shown");
    let slug: String = page.body[at + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let landing = format!("/l/{slug}");

    // A visitor in Finnish sees the Finnish content with the partner's name and contact.
    let mut visitor = Visitor::new(&w.app).finnish();
    let shown = visitor.get(&landing).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("Tulosta fiksummin"), "{}", shown.body);
    assert!(shown.body.contains("Gold Oy") && shown.body.contains("sales@gold.example"));
    assert!(shown.body.contains(r#"<html lang="fi">"#));

    // Bad input: the form comes back with messages and what was typed.
    let bad = visitor
        .post(
            &landing,
            &[("name", ""), ("email", "not-an-email"), ("company", "Acme")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Kerro nimesi.") && bad.body.contains("Anna sähköpostiosoite"));
    assert!(bad.body.contains(r#"value="Acme""#));

    // A good one: a lead attributed to the vendor and campaign, and a notification.
    let good = visitor
        .post(
            &landing,
            &[
                ("name", "Ville Visitor"),
                ("email", "ville@visitor.example"),
                ("company", "Visitor Oy"),
                ("message", "Call me"),
            ],
        )
        .await;
    // Redirect-after-post: the thank-you view is a GET, so a reload sends
    // nothing again.
    assert_eq!(good.status, 303, "{}", good.body);
    let thanks = good.location.clone().unwrap();
    assert_eq!(thanks, format!("{landing}?sent"));
    for _ in 0..2 {
        let shown = visitor.get(&thanks).await;
        assert_eq!(shown.status, 200);
        assert!(shown.body.contains("Kiitos!"));
    }
    let leads = listing(&w, &w.gold.token, "/api/v1/leads").await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["contact"]["name"], "Ville Visitor");
    assert_eq!(leads[0]["source"], "campaign");
    assert_eq!(leads[0]["vendor_id"], w.v1.id.to_string());
    assert_eq!(leads[0]["campaign_id"], campaign);
    let notes = listing(&w, &w.gold.token, "/api/v1/notifications").await;
    assert!(notes.iter().any(|n| n["kind"] == "new-lead"), "{notes:?}");
    // The owner sees it in the portal.
    let list = owner.get(&format!("/leads?campaign={campaign}")).await;
    assert!(list.body.contains("Ville Visitor"));

    // A bot fills the honeypot: thanked, nothing stored.
    let bot = visitor
        .post(
            &landing,
            &[
                ("name", "Bot"),
                ("email", "bot@spam.example"),
                ("website", "http://spam.example"),
            ],
        )
        .await;
    assert_eq!(bot.status, 303);
    assert_eq!(bot.location.as_deref(), Some(thanks.as_str()));
    assert_eq!(listing(&w, &w.gold.token, "/api/v1/leads").await.len(), 1);

    // Ten submissions from one address per window; then 429 and nothing stored.
    for i in 3..10 {
        let sent = visitor
            .post(
                &landing,
                &[("name", "Flood"), ("email", &format!("f{i}@flood.example"))],
            )
            .await;
        assert_eq!(sent.status, 303, "submission {i}");
    }
    let held = visitor
        .post(
            &landing,
            &[("name", "Flood"), ("email", "last@flood.example")],
        )
        .await;
    assert_eq!(held.status, 429);
    assert_eq!(listing(&w, &w.gold.token, "/api/v1/leads").await.len(), 8);

    // An unknown slug is not found.
    assert_eq!(visitor.get("/l/no-such-page").await.status, 404);
}

/// Clears a workspace's landing-page profile (and so its privacy notice).
async fn clear_profile(w: &World, ws: onepane_domain::WorkspaceId) {
    w.app
        .store
        .partner(ws)
        .put_profile(&onepane_store::WorkspaceProfile::default())
        .await
        .unwrap();
}

/// Saves Gold's landing-page profile through the settings form.
async fn save_profile(owner: &mut Visitor, privacy: &str, consent_text: &str) -> Answer {
    owner
        .submit(
            "/settings/landing-page",
            "/settings/profile",
            &[
                ("contact_name", "Gunnar Gold"),
                ("contact_email", "sales@gold.example"),
                ("contact_phone", ""),
                ("website", ""),
                ("logo_url", ""),
                ("privacy_notice_url", privacy),
                ("marketing_consent_text", consent_text),
            ],
        )
        .await
}

/// The address of a campaign's landing page, as its portal page shows it.
async fn landing_address(owner: &mut Visitor, campaign: &str) -> String {
    let page = owner.get(&format!("/campaigns/{campaign}")).await;
    let at = page
        .body
        .find("/l/")
        .expect("the landing page's address is shown");
    let slug: String = page.body[at + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!("/l/{slug}")
}

async fn a_campaign_needs_a_privacy_notice_before_it_is_activated(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    clear_profile(&w, w.gold.id).await;
    let campaigns = listing(&w, &w.gold.token, "/api/v1/campaigns").await;
    let campaign = campaigns[0]["id"].as_str().unwrap().to_owned();

    // The API refuses with a problem that says what is missing.
    let (status, problem) = w
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{campaign}/activate"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("privacy notice"),
        "{problem}"
    );

    // The portal says so before the click, and after it.
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let page = owner.get(&format!("/campaigns/{campaign}")).await;
    assert!(
        page.body.contains(r#"id="privacy-needed""#),
        "{}",
        page.body
    );
    let refused = owner
        .submit(
            &format!("/campaigns/{campaign}"),
            &format!("/campaigns/{campaign}/activate"),
            &[],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains(r#"id="activate-error""#));
    assert!(
        refused
            .body
            .contains("set its address before activating a campaign")
    );
    assert!(
        refused
            .body
            .contains(r#"href="/settings/landing-page#privacy_notice_url""#)
    );
    assert!(
        w.app
            .store
            .partner(w.gold.id)
            .activations()
            .await
            .unwrap()
            .is_empty(),
        "no landing page was made"
    );

    // Settings refuse an address that is not one, or not https, and say why.
    for bad in [
        "our privacy page",
        "javascript:alert(1)",
        "http://gold.example/privacy",
    ] {
        let saved = save_profile(&mut owner, bad, "").await;
        assert_eq!(saved.status, 422, "{bad}");
        assert!(
            saved
                .body
                .contains("The privacy notice must be a web address starting with https://"),
            "{bad}: {}",
            saved.body
        );
    }
    assert_eq!(
        w.app
            .store
            .partner(w.gold.id)
            .profile()
            .await
            .unwrap()
            .privacy_notice_url,
        None,
        "nothing was saved"
    );

    let long = "x".repeat(1_001);
    let saved = save_profile(&mut owner, "https://gold.example/privacy", &long).await;
    assert_eq!(saved.status, 422);
    assert!(
        saved
            .body
            .contains("The marketing consent text can be at most 1,000 characters.")
    );

    // With a notice, the same click activates it.
    let saved = save_profile(&mut owner, "https://gold.example/privacy", "").await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let page = owner.get(&format!("/campaigns/{campaign}")).await;
    assert!(!page.body.contains(r#"id="privacy-needed""#));
    let activated = owner
        .submit(
            &format!("/campaigns/{campaign}"),
            &format!("/campaigns/{campaign}/activate"),
            &[],
        )
        .await;
    assert_eq!(activated.status, 303, "{}", activated.body);
    assert_eq!(
        w.app
            .store
            .partner(w.gold.id)
            .activations()
            .await
            .unwrap()
            .len(),
        1
    );

    // While its page is live, the notice can be replaced but not removed.
    let removed = save_profile(&mut owner, "", "").await;
    assert_eq!(removed.status, 422);
    assert!(
        removed
            .body
            .contains("replace the privacy notice address rather than removing it")
    );
    let replaced = save_profile(&mut owner, "https://gold.example/tietosuoja", "").await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
}

async fn a_landing_page_links_the_privacy_notice_and_records_marketing_consent(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let saved = save_profile(&mut owner, "https://gold.example/privacy", "").await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let campaigns = listing(&w, &w.gold.token, "/api/v1/campaigns").await;
    let campaign = campaigns[0]["id"].as_str().unwrap().to_owned();
    let activated = owner
        .submit(
            "/campaigns",
            &format!("/campaigns/{campaign}/activate"),
            &[],
        )
        .await;
    assert_eq!(activated.status, 303);
    let landing = landing_address(&mut owner, &campaign).await;
    let slug = landing.trim_start_matches("/l/").to_owned();
    let activation_id = w.app.store.partner(w.gold.id).activations().await.unwrap()[0]
        .id
        .to_string();
    let mut visitor = Visitor::new(&w.app);
    let newest_lead = || async { listing(&w, &w.gold.token, "/api/v1/leads").await[0].clone() };

    // No consent text: the privacy notice is linked, and there is no checkbox.
    let shown = visitor.get(&landing).await;
    assert_eq!(shown.status, 200);
    assert!(
        shown.body.contains(
            r#"<a href="https://gold.example/privacy" id="privacy-notice">Privacy notice</a>"#
        ),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains("marketing_consent"), "{}", shown.body);
    // A tick sent for a box the page does not show is not consent.
    let sent = visitor
        .post(
            &landing,
            &[
                ("name", "Nora Notasked"),
                ("email", "nora@visitor.example"),
                ("marketing_consent", "yes"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let lead = newest_lead().await;
    assert_eq!(lead["contact"]["name"], "Nora Notasked");
    let consent = &lead["consent"];
    assert_eq!(consent["marketing"], "not-asked", "{lead}");
    assert_eq!(consent["marketing_text"], Value::Null);
    assert_eq!(consent["marketing_text_version"], Value::Null);
    assert_eq!(consent["landing_page"], slug.as_str());
    assert_eq!(consent["activation_id"], activation_id.as_str());
    assert_eq!(
        consent["privacy_notice_url"],
        "https://gold.example/privacy"
    );
    assert_eq!(consent["recorded_at"], lead["created_at"]);

    // With a consent text the page shows it beside an unticked checkbox.
    let saved = save_profile(
        &mut owner,
        "https://gold.example/privacy",
        "Gold Oy may send me offers by email.",
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved.body.contains("The text is now at version 1."),
        "{}",
        saved.body
    );
    let shown = visitor.get(&landing).await;
    let checkbox =
        r#"<input type="checkbox" id="marketing_consent" name="marketing_consent" value="yes">"#;
    assert!(shown.body.contains(checkbox), "unticked: {}", shown.body);
    assert!(!shown.body.contains(" checked"), "{}", shown.body);
    assert!(shown.body.contains(
        r#"<label for="marketing_consent">Gold Oy may send me offers by email.</label>"#
    ));
    assert!(shown.body.contains(r#"name="consent_version" value="1""#));
    assert!(shown.body.contains(r#"id="privacy-notice""#));

    // A form sent back for another field keeps the visitor's tick.
    let bad = visitor
        .post(
            &landing,
            &[
                ("name", ""),
                ("email", "tia@visitor.example"),
                ("consent_version", "1"),
                ("marketing_consent", "yes"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains(r#"value="yes" checked"#), "{}", bad.body);

    // Ticked: consent given, with the text and version shown.
    let sent = visitor
        .post(
            &landing,
            &[
                ("name", "Tia Ticked"),
                ("email", "tia@visitor.example"),
                ("consent_version", "1"),
                ("marketing_consent", "yes"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let ticked = newest_lead().await;
    assert_eq!(ticked["contact"]["name"], "Tia Ticked");
    let consent = &ticked["consent"];
    assert_eq!(consent["marketing"], "given", "{ticked}");
    assert_eq!(
        consent["marketing_text"],
        "Gold Oy may send me offers by email."
    );
    assert_eq!(consent["marketing_text_version"], 1);
    assert_eq!(consent["landing_page"], slug.as_str());
    assert_eq!(
        consent["privacy_notice_url"],
        "https://gold.example/privacy"
    );
    assert_eq!(consent["recorded_at"], ticked["created_at"]);

    // Unticked: declined, which is not the same as not asked.
    let sent = visitor
        .post(
            &landing,
            &[
                ("name", "Ulla Unticked"),
                ("email", "ulla@visitor.example"),
                ("consent_version", "1"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let unticked = newest_lead().await;
    assert_eq!(unticked["contact"]["name"], "Ulla Unticked");
    assert_eq!(unticked["consent"]["marketing"], "declined");
    assert_eq!(unticked["consent"]["marketing_text_version"], 1);

    // A new text is a new version.
    let saved = save_profile(
        &mut owner,
        "https://gold.example/privacy",
        "Gold Oy may send me offers and news by email.",
    )
    .await;
    assert_eq!(saved.status, 200);
    assert!(saved.body.contains("The text is now at version 2."));
    let shown = visitor.get(&landing).await;
    assert!(shown.body.contains(r#"name="consent_version" value="2""#));
    // A form ticked under the old text comes back with the new one, unticked.
    let stale = visitor
        .post(
            &landing,
            &[
                ("name", "Sami Stale"),
                ("email", "sami@visitor.example"),
                ("consent_version", "1"),
                ("marketing_consent", "yes"),
            ],
        )
        .await;
    assert_eq!(stale.status, 422, "{}", stale.body);
    assert!(
        stale
            .body
            .contains("The consent text below has just changed.")
    );
    assert!(
        stale
            .body
            .contains("Gold Oy may send me offers and news by email.")
    );
    assert!(
        stale.body.contains(r#"value="Sami Stale""#),
        "what was typed is kept"
    );
    assert!(!stale.body.contains(" checked"), "{}", stale.body);
    assert_eq!(
        newest_lead().await["contact"]["name"],
        "Ulla Unticked",
        "nothing stored"
    );
    let sent = visitor
        .post(
            &landing,
            &[
                ("name", "Sami Stale"),
                ("email", "sami@visitor.example"),
                ("consent_version", "2"),
                ("marketing_consent", "yes"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let later = newest_lead().await;
    assert_eq!(later["consent"]["marketing"], "given");
    assert_eq!(
        later["consent"]["marketing_text"],
        "Gold Oy may send me offers and news by email."
    );
    assert_eq!(later["consent"]["marketing_text_version"], 2);
    // The earlier lead keeps what it was shown.
    let id = ticked["id"].as_str().unwrap();
    let (status, kept) = w
        .call(
            Method::GET,
            &format!("/api/v1/leads/{id}"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(kept["consent"], ticked["consent"]);

    // The lead page shows the record.
    let page = owner.get(&format!("/leads/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(r#"id="consent-answer">Consent given (the box was ticked)"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Gold Oy may send me offers by email."));
    assert!(page.body.contains("version 1"));
    assert!(
        page.body
            .contains(&format!(r#"<a href="{landing}" id="consent-page">"#))
    );
    assert!(
        page.body
            .contains(r#"id="consent-privacy">https://gold.example/privacy"#)
    );
    // And in Finnish.
    let mut finnish = Visitor::new(&w.app).finnish();
    assert_eq!(finnish.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let id = unticked["id"].as_str().unwrap();
    let page = finnish.get(&format!("/leads/{id}")).await;
    assert!(
        page.body
            .contains("Ei annettu (ruutu jätettiin valitsematta)"),
        "{}",
        page.body
    );

    // A lead from elsewhere has no consent record.
    let sent = send_lead(&w, w.gold.id, "L-1", "Vera Vendor").await;
    let (_, vendor_lead) = w
        .call(
            Method::GET,
            &format!("/api/v1/leads/{sent}"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(vendor_lead["consent"], Value::Null, "{vendor_lead}");
}

async fn invitations_and_password_resets_work_once(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let link = invitation_link(&mut owner, "newbie@gold.example", "sales-rep").await;

    // The invitee chooses a password; a short one is refused first.
    let mut newbie = Visitor::new(&w.app);
    let short = newbie
        .submit(
            &link,
            &link,
            &[
                ("name", "New Bie"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("at least 10 characters"));
    let joined = newbie
        .submit(
            &link,
            &link,
            &[
                ("name", "New Bie"),
                ("password", "a long new password"),
                ("confirm", "a long new password"),
            ],
        )
        .await;
    assert_eq!(joined.status, 303, "{}", joined.body);
    let home = newbie.get("/").await;
    assert!(home.body.contains("Gold Oy") && home.body.contains("New Bie"));
    // A sales rep sees no administration: not in the sections' navigation,
    // and not by address.
    let own = newbie.get("/settings/account").await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(own.body.contains(r#"href="/settings/tokens""#));
    for admin_only in [
        "/settings/members",
        "/settings/sso",
        "/settings/landing-page",
        "/settings/pricing",
    ] {
        assert!(!own.body.contains(&format!(r#"href="{admin_only}""#)));
        assert_eq!(newbie.get(admin_only).await.status, 403, "{admin_only}");
    }
    // The link works once.
    assert_eq!(Visitor::new(&w.app).get(&link).await.status, 404);

    // A reset link sets a new password once, and ends the old sessions.
    let token = "reset-token-for-the-test-0123456789abcdef";
    w.app
        .store
        .system()
        .create_password_reset(
            &Email::parse(GOLD_OWNER).unwrap(),
            &token_digest(token),
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let path = format!("/login/reset/{token}");
    let mut resetter = Visitor::new(&w.app);
    let mismatch = resetter
        .submit(
            &path,
            &path,
            &[
                ("password", "brand new password"),
                ("confirm", "brand new passwort"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    let done = resetter
        .submit(
            &path,
            &path,
            &[
                ("password", "brand new password"),
                ("confirm", "brand new password"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(owner.get("/").await.status, 303, "the old session ended");
    assert_eq!(resetter.get(&path).await.status, 404, "used once");
    assert_eq!(
        Visitor::new(&w.app)
            .login(GOLD_OWNER, PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        Visitor::new(&w.app)
            .login(GOLD_OWNER, "brand new password")
            .await
            .status,
        303
    );

    // Asking for a reset answers the same for known and unknown addresses.
    let mut asker = Visitor::new(&w.app);
    let known = asker
        .submit("/login/forgot", "/login/forgot", &[("email", GOLD_OWNER)])
        .await;
    let unknown = asker
        .submit(
            "/login/forgot",
            "/login/forgot",
            &[("email", "ghost@nowhere.example")],
        )
        .await;
    assert_eq!((known.status, unknown.status), (200, 200));
    assert!(known.body.contains("If the address has an account"));
    assert_eq!(
        known.body.replace(GOLD_OWNER, ""),
        unknown.body.replace("ghost@nowhere.example", "")
    );
}

async fn every_page_renders_in_english_and_finnish(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let lead = send_lead(&w, w.gold.id, "page-1", "Paula Page").await;
    for (mut v, expect) in [
        (Visitor::new(&w.app), "Log out"),
        (Visitor::new(&w.app).finnish(), "Kirjaudu ulos"),
    ] {
        assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
        for path in [
            "/".to_owned(),
            "/leads".to_owned(),
            format!("/leads/{lead}"),
            format!("/deals/new?lead={lead}"),
            "/deals".to_owned(),
            "/campaigns".to_owned(),
            "/assets".to_owned(),
            "/prices".to_owned(),
            "/prices?sort=margin&discount=5".to_owned(),
            "/connections".to_owned(),
            "/notifications".to_owned(),
            "/settings/account".to_owned(),
            "/settings/members".to_owned(),
            "/settings/sso".to_owned(),
            "/settings/landing-page".to_owned(),
            "/settings/pricing".to_owned(),
            "/settings/tokens".to_owned(),
            "/vendors".to_owned(),
            "/audit".to_owned(),
            "/privacy".to_owned(),
            "/clock".to_owned(),
            "/clock?kind=lead-answer".to_owned(),
        ] {
            let page = v.get(&path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert!(page.body.contains(expect), "{path} in the chosen language");
            // Every message id resolved: none shows through.
            for id in [
                "nav-",
                "home-",
                "lead-",
                "deal-",
                "campaign-",
                "prices-",
                "settings-",
                "vendor-",
                "link-",
                "audit-",
                "privacy-",
                "clock-",
                "delivery-",
            ] {
                assert!(
                    !page.body.contains(&format!(">{id}")),
                    "{path}: a message id shows: {id}"
                );
            }
        }
    }
}

/// The operator's way in for a new workspace's owner: a one-time link to
/// choose a password, printed by `admin password-link`.
#[test]
fn an_owner_sets_a_password_from_the_operators_link_and_logs_in() {
    let dir = crate::harness::Workdir::new();
    let created = dir
        .run(&[
            "admin",
            "create-workspace",
            "--name",
            "Linked Oy",
            "--owner-email",
            "first@linked.example",
            "--json",
        ])
        .json();
    assert!(created["workspace_id"].is_string(), "{created}");
    let unknown = dir.run(&["admin", "password-link", "--email", "ghost@linked.example"]);
    assert!(unknown.error_line(2).contains("ghost@linked.example"));
    let made = dir
        .run(&[
            "admin",
            "password-link",
            "--email",
            "first@linked.example",
            "--json",
        ])
        .json();
    let link = made["link"].as_str().unwrap();
    let path = &link[link.find("/login/reset/").expect("a reset link")..];

    let server = dir.serve(&[], &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut v = Visitor::at(server.url(""));
        let set = v
            .submit(
                path,
                path,
                &[
                    ("password", "the first password"),
                    ("confirm", "the first password"),
                ],
            )
            .await;
        assert_eq!(set.status, 303, "{}", set.body);
        assert_eq!(v.get(path).await.status, 404, "the link works once");
        let login = v.login("first@linked.example", "the first password").await;
        assert_eq!(login.status, 303, "{}", login.body);
        assert!(v.get("/").await.body.contains("Linked Oy"));
    });
    server.terminate();
}

async fn the_home_page_charts_margins_once_prices_are_priced(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026",
            &w.v1.token,
            Some(json!({"name": "EU 2026", "currency": "EUR",
                        "tier_discounts": [{"tier": "gold", "discount": "20"}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let response = w
        .request(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026/items",
            &w.v1.token,
        )
        .header("content-type", "application/x-ndjson")
        .body("{\"sku\": \"P-1\", \"name\": \"Printer\", \"list_price\": \"100.00\"}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    // The home page never waits for pricing: the first visit starts it in
    // the background, a later one charts it. Gold pays 80.00 and sells at
    // list (no sell rule): 20 % margin.
    let chart = r#"role="img" aria-label="Average margin by vendor""#;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let home = v.get("/").await;
        assert_eq!(home.status, 200);
        if home.body.contains(chart) {
            assert!(home.body.contains("20.00 %"), "{}", home.body);
            assert!(home.body.contains("Vendor One"));
            break;
        }
        assert!(home.body.contains("prices are being calculated"));
        assert!(
            std::time::Instant::now() < deadline,
            "the margins never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn api_tokens_are_made_shown_once_and_revoked_in_settings(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let made = v
        .submit(
            "/settings/tokens",
            "/settings/tokens",
            &[("name", "Reporting script")],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let token = shown_token(&made.body);
    // It opens the partner API as this member, in this workspace only.
    let (status, vendors) = w.call(Method::GET, "/api/v1/vendors", &token, None).await;
    assert_eq!(status, 200, "{vendors}");
    assert_eq!(vendors["items"][0]["id"], w.v1.id.to_string());
    // Shown once: the settings page lists it by name, not its value.
    let listed = v.get("/settings/tokens").await.body;
    assert!(listed.contains("Reporting script") && !listed.contains(&token));
    let at = listed.find("/settings/tokens/").unwrap();
    let revoke: String = listed[at..].chars().take_while(|c| *c != '"').collect();
    // Another member cannot revoke it.
    let mut other = Visitor::new(&w.app);
    assert_eq!(other.login(REGISTERED_OWNER, PASSWORD).await.status, 303);
    assert_eq!(
        other.submit("/settings/tokens", &revoke, &[]).await.status,
        404
    );
    assert_eq!(
        w.call(Method::GET, "/api/v1/vendors", &token, None).await.0,
        200
    );
    let revoked = v.submit("/settings/tokens", &revoke, &[]).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(
        w.call(Method::GET, "/api/v1/vendors", &token, None).await.0,
        401
    );

    // The home currency: margins are reported in the new one.
    let changed = v
        .submit(
            "/settings/pricing",
            "/settings/currency",
            &[("currency", "sek")],
        )
        .await;
    assert_eq!(changed.status, 303);
    assert!(
        v.get("/settings/pricing")
            .await
            .body
            .contains(r#"value="SEK""#)
    );
    let bad = v
        .submit(
            "/settings/pricing",
            "/settings/currency",
            &[("currency", "money")],
        )
        .await;
    assert_eq!(bad.status, 422);
}

async fn a_vendors_own_required_fields_are_asked_in_the_one_form(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/deal-fields",
            &w.v1.token,
            Some(json!({"fields": [
                {"name": "reseller_id", "label": "Reseller id", "required": true},
                {"name": "po_number", "label": "Purchase order"}
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, problem) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/deal-fields",
            &w.v1.token,
            Some(json!({"fields": [{"name": "two words", "label": "Bad"}]})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, read) = w
        .call(Method::GET, "/api/v1/vendor/deal-fields", &w.v1.token, None)
        .await;
    assert_eq!(
        (status, read["fields"][0]["name"].clone()),
        (200, json!("reseller_id"))
    );
    // Vendor two asks for nothing and sees none of vendor one's.
    let (_, other) = w
        .call(Method::GET, "/api/v1/vendor/deal-fields", &w.v2.token, None)
        .await;
    assert_eq!(other["fields"], json!([]));

    // Through the partner API, a registration without the field is refused.
    let deal = |fields: Value| {
        json!({"vendor_ids": [w.v1.id], "title": "Printers", "customer": {"name": "Customer Oy"},
               "amount": {"value": "1000", "currency": "EUR"}, "fields": fields})
    };
    let (status, problem) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.gold.token,
            Some(deal(json!({}))),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("reseller_id"),
        "{problem}"
    );

    // The portal's one form asks for it, says who asks, and holds the line.
    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let form = v.get("/deals/new").await;
    assert!(form.body.contains("Reseller id") && form.body.contains("(required)"));
    assert!(form.body.contains("Asked by Vendor One"));
    let vendor = w.v1.id.to_string();
    let fields = [
        ("vendor", vendor.as_str()),
        ("title", "Printers"),
        ("customer", "Customer Oy"),
        ("amount", "1000"),
        ("currency", "EUR"),
    ];
    let refused = v.submit("/deals/new", "/deals/new", &fields).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("Vendor One requires this field."),
        "{}",
        refused.body
    );
    let mut filled = fields.to_vec();
    filled.push(("vf.reseller_id", "R-42"));
    let done = v.submit("/deals/new", "/deals/new", &filled).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let regs = listing(&w, &w.gold.token, "/api/v1/deal-registrations").await;
    assert_eq!(regs.len(), 1);
    assert_eq!(
        regs[0]["details"]["fields"]["reseller_id"], "R-42",
        "{regs:?}"
    );
}

async fn members_change_roles_and_leave_but_an_owner_stays(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let link = invitation_link(&mut owner, "rep@gold.example", "sales-rep").await;
    let mut rep = Visitor::new(&w.app);
    let joined = rep
        .submit(
            &link,
            &link,
            &[
                ("password", "a rep's long password"),
                ("confirm", "a rep's long password"),
            ],
        )
        .await;
    assert_eq!(joined.status, 303);
    let rep_id = user_id(&w.app, "rep@gold.example").await;
    let owner_id = user_id(&w.app, GOLD_OWNER).await;

    // The owner makes the rep an admin; the admin may not touch the owner.
    let promoted = owner
        .submit(
            "/settings/members",
            &format!("/settings/members/{rep_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert!(
        rep.get("/settings/members")
            .await
            .body
            .contains("settings/invite"),
        "now an admin"
    );
    let refused = rep
        .submit(
            "/settings/members",
            &format!("/settings/members/{owner_id}/role"),
            &[("role", "sales-rep")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let refused = rep
        .submit(
            "/settings/members",
            &format!("/settings/members/{owner_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(refused.status, 403);
    // Nobody changes their own role or removes themselves here.
    let own = owner
        .submit(
            "/settings/members",
            &format!("/settings/members/{owner_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(own.status, 403);

    // The last owner cannot be demoted, even by another owner's hand.
    let p = w.app.store.partner(w.gold.id);
    assert!(
        p.set_member_role(owner_id, onepane_domain::Role::Admin)
            .await
            .is_err()
    );
    assert!(p.remove_member(owner_id).await.is_err());

    // Removing the rep ends its session and its API tokens.
    let made = rep
        .submit(
            "/settings/tokens",
            "/settings/tokens",
            &[("name", "rep script")],
        )
        .await;
    let token = shown_token(&made.body);
    assert_eq!(
        w.call(Method::GET, "/api/v1/vendors", &token, None).await.0,
        200
    );
    let removed = owner
        .submit(
            "/settings/members",
            &format!("/settings/members/{rep_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(rep.get("/").await.status, 303, "the rep's session ended");
    assert_eq!(
        w.call(Method::GET, "/api/v1/vendors", &token, None).await.0,
        401
    );
    assert!(
        !owner
            .get("/settings/members")
            .await
            .body
            .contains("rep@gold.example")
    );
}

/// A mail server speaking SMTP's plain path (RFC 5321: greeting, EHLO,
/// MAIL, RCPT, DATA, QUIT) on loopback; it keeps each message it is given.
pub(crate) async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = std::sync::Arc::clone(&kept);
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    match verb.as_str() {
                        "EHLO" | "HELO" => write.write_all(b"250 sink.test\r\n").await.unwrap(),
                        "DATA" => {
                            write
                                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                                .await
                                .unwrap();
                            let mut message = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                message.push_str(&l);
                                message.push('\n');
                            }
                            store.lock().unwrap().push(message);
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => write.write_all(b"250 ok\r\n").await.unwrap(),
                    }
                }
            });
        }
    });
    (port, kept)
}

async fn reset_links_are_mailed_through_the_configured_smtp_server(backend: Backend) {
    let (port, mailbox) = smtp_sink().await;
    let Some(w) = World::with_config(backend, |c| onepane_server::Config {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        mail_from: Some("Onepane <no-reply@onepane.example>".to_owned()),
        ..c
    })
    .await
    else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let mut v = Visitor::new(&w.app).finnish();
    let asked = v
        .submit("/login/forgot", "/login/forgot", &[("email", GOLD_OWNER)])
        .await;
    assert_eq!(asked.status, 200);
    // An unknown address gets the same page and no mail.
    v.submit(
        "/login/forgot",
        "/login/forgot",
        &[("email", "ghost@nowhere.example")],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let message = loop {
        if let Some(m) = mailbox.lock().unwrap().first().cloned() {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "no mail arrived");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let message = quoted_printable(&message);
    assert!(message.contains("To: owner@gold-oy.example"), "{message}");
    assert!(
        message.contains("From: Onepane <no-reply@onepane.example>"),
        "{message}"
    );
    // In the language of the browser that asked (the subject is encoded).
    assert!(
        message.contains("Subject: Vaihda Onepane-salasanasi"),
        "{message}"
    );
    assert!(message.contains("Valitse uusi salasana"), "{message}");
    let at = message
        .find("/login/reset/")
        .expect("the link is in the mail");
    let path: String = message[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let done = v
        .submit(
            &path,
            &path,
            &[
                ("password", "mailed new password"),
                ("confirm", "mailed new password"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        Visitor::new(&w.app)
            .login(GOLD_OWNER, "mailed new password")
            .await
            .status,
        303
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        mailbox.lock().unwrap().len(),
        1,
        "the unknown address got no mail"
    );
}

/// Decodes a quoted-printable body (RFC 2045): soft line breaks joined,
/// `=XX` bytes restored.
pub(crate) fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn pages_that_are_not_there_speak_the_language_the_member_chose(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    // An English browser; the member chooses Finnish in the settings.
    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let nowhere = v.get("/no-such-page").await;
    assert_eq!(nowhere.status, 404);
    assert!(
        nowhere.body.contains("There is nothing here."),
        "{}",
        nowhere.body
    );
    let chosen = v
        .submit(
            "/settings/account",
            "/settings/language",
            &[("language", "fi")],
        )
        .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    // An address nothing serves, and a record that is not there.
    for path in [
        "/no-such-page".to_owned(),
        format!("/leads/{}", uuid::Uuid::now_v7()),
    ] {
        let page = v.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.body.contains("Täällä ei ole mitään."),
            "{path}: {}",
            page.body
        );
        assert!(page.body.contains("lang=\"fi\""), "{path}");
    }
    // Logged out, the browser's language again.
    let mut stranger = Visitor::new(&w.app);
    let page = stranger.get("/no-such-page").await;
    assert!(page.body.contains("There is nothing here."));
}
