//! Settings in sections, and the portal's faces: each section its own
//! page with its own navigation, a refused field shown beside its error
//! with what was typed; Onepane's mark as the favicon; the workspace's
//! uploaded logo in the header and on its landing pages (and only there);
//! vendors' logos beside their campaigns; thumbnails of image assets.

use reqwest::Method;
use serde_json::json;

use crate::harness::Backend;
use crate::portal::{
    Answer, GOLD_OWNER, PASSWORD, REGISTERED_OWNER, Visitor, csrf, publish_campaign, set_password,
};
use crate::world::{World, on_both_backends};

/// The API world with passwords for both owners and a campaign from
/// vendor one published to both partners.
async fn world(backend: Backend) -> Option<World> {
    let w = World::new(backend).await?;
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    set_password(&w.app, REGISTERED_OWNER, PASSWORD).await;
    publish_campaign(&w, "spring-2026", &["gold", "registered"]).await;
    Some(w)
}

on_both_backends!(
    settings_open_on_the_first_section_and_mark_the_current_one,
    each_section_shows_a_refused_field_beside_its_error_with_the_input_kept,
    an_uploaded_logo_shows_in_the_header_and_on_landing_pages_of_its_own_workspace_only,
    a_vendors_logo_shows_beside_its_campaigns_and_on_landing_pages,
);

const SECTIONS: &[&str] = &[
    "/settings/account",
    "/settings/members",
    "/settings/sso",
    "/settings/landing-page",
    "/settings/pricing",
    "/settings/tokens",
];

async fn settings_open_on_the_first_section_and_mark_the_current_one(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let first = owner.get("/settings").await;
    assert_eq!(first.status, 303);
    assert_eq!(first.location.as_deref(), Some("/settings/account"));
    for path in SECTIONS {
        let page = owner.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            page.body
                .contains(r#"<nav class="sections" aria-label="Settings sections">"#),
            "{path}"
        );
        // Every section is listed; only this one is current.
        for other in SECTIONS {
            assert!(page.body.contains(&format!(r#"href="{other}""#)), "{path}");
        }
        assert!(
            page.body
                .contains(&format!(r#"href="{path}" aria-current="page""#)),
            "{path}"
        );
        assert_eq!(
            page.body.matches(r#"aria-current="page""#).count(),
            2,
            "{path}: the main navigation's and the section's"
        );
    }
    // A page of one section holds that section's forms, not the others'.
    let account = owner.get("/settings/account").await.body;
    assert!(account.contains(r#"action="/settings/mail""#));
    assert!(!account.contains(r#"action="/settings/invite""#));
    let pricing = owner.get("/settings/pricing").await.body;
    assert!(pricing.contains(r#"action="/settings/exchange-rates""#));
    assert!(!pricing.contains(r#"action="/settings/profile""#));
}

/// Checks that a form came back refused with `field`'s error beside it
/// (named by its `aria-describedby`, the field marked invalid) and with
/// `kept` still in it.
fn refused_beside(answer: &Answer, field: &str, error: &str, kept: &str) {
    assert_eq!(answer.status, 422, "{}", answer.body);
    let body = &answer.body;
    assert!(body.contains(r#"id="form-errors""#), "{body}");
    let input = body
        .find(&format!(r#"id="{field}""#))
        .unwrap_or_else(|| panic!("no field {field}: {body}"));
    let message = body
        .find(&format!(r#"id="{error}""#))
        .unwrap_or_else(|| panic!("no error {error} beside {field}: {body}"));
    assert!(
        message > input && message - input < 1_500,
        "{error} is not beside {field}"
    );
    let tag = &body[input..message];
    assert!(
        tag.contains(&format!(r#"{error}" aria-invalid="true""#)),
        "{field} does not name {error}: {tag}"
    );
    assert!(
        kept.is_empty()
            || body.contains(&format!(r#"value="{kept}""#))
            || body.contains(&format!(">{kept}</textarea>")),
        "{field} lost {kept}"
    );
}

async fn each_section_shows_a_refused_field_beside_its_error_with_the_input_kept(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);

    // Profile and language: a time zone that is none.
    let mail = owner
        .submit(
            "/settings/account",
            "/settings/mail",
            &[("daily_digest", "on"), ("time_zone", "Mars/Olympus")],
        )
        .await;
    refused_beside(&mail, "time-zone", "time-zone-error", "Mars/Olympus");
    assert!(
        mail.body
            .contains(r#"id="daily-digest" name="daily_digest" value="on" checked"#)
    );

    // Members: an invitation to no address.
    let invite = owner
        .submit(
            "/settings/members",
            "/settings/invite",
            &[("email", "not-an-email"), ("role", "admin")],
        )
        .await;
    refused_beside(&invite, "invite-email", "email-error", "not-an-email");
    assert!(invite.body.contains(r#"<option value="admin" selected>"#));
    assert!(!invite.body.contains(r#"id="invitation-link""#));

    // Single sign-on: an issuer that is no address; the client id kept.
    let sso = owner
        .submit(
            "/settings/sso",
            "/settings/sso",
            &[
                ("issuer", "not a url"),
                ("client_id", "portal-client"),
                ("client_secret", "s3cret-value"),
                ("email_domain", "gold-oy.example"),
            ],
        )
        .await;
    refused_beside(&sso, "sso-issuer", "issuer-error", "not a url");
    assert!(sso.body.contains(r#"value="portal-client""#));
    assert!(
        !sso.body.contains("s3cret-value"),
        "a secret is never shown back"
    );

    // Landing pages: two fields wrong at once, each with its own error.
    let before = w.app.store.partner(w.gold.id).profile().await.unwrap();
    let profile = owner
        .submit(
            "/settings/landing-page",
            "/settings/profile",
            &[
                ("contact_name", "Gunnar Gold"),
                ("contact_email", "sales at gold"),
                ("contact_phone", ""),
                ("website", "ftp://gold.example"),
                ("logo_url", ""),
                ("privacy_notice_url", "https://gold.example/privacy"),
                ("marketing_consent_text", "Send me news"),
            ],
        )
        .await;
    refused_beside(
        &profile,
        "contact_email",
        "contact-email-error",
        "sales at gold",
    );
    refused_beside(&profile, "website", "website-error", "ftp://gold.example");
    assert!(profile.body.contains(r#"value="Gunnar Gold""#));
    assert!(profile.body.contains(">Send me news</textarea>"));
    assert!(!profile.body.contains(r#"id="privacy-notice-url-error""#));
    assert_eq!(
        w.app.store.partner(w.gold.id).profile().await.unwrap(),
        before,
        "nothing saved"
    );

    // Sell rules and exchange rates: each form's own field.
    let rate = owner
        .submit(
            "/settings/pricing",
            "/settings/exchange-rates",
            &[("base", "USD"), ("rate", "-1"), ("as_of", "2026-11-01")],
        )
        .await;
    refused_beside(&rate, "rate-value", "rate-error", "-1");
    assert!(rate.body.contains(r#"value="USD""#));
    assert!(!rate.body.contains(r#"id="base-error""#));
    let rule = owner
        .submit(
            "/settings/pricing",
            "/settings/sell-rules",
            &[
                ("vendor", ""),
                ("category", "Printers"),
                ("method", "discount"),
                ("percent", "lots"),
            ],
        )
        .await;
    refused_beside(&rule, "rule-percent", "percent-error", "lots");
    assert!(rule.body.contains(r#"value="Printers""#));
    assert!(rule.body.contains(r#"<option value="discount" selected>"#));
    let currency = owner
        .submit(
            "/settings/pricing",
            "/settings/currency",
            &[("currency", "money")],
        )
        .await;
    refused_beside(&currency, "home-currency", "currency-error", "money");

    // API tokens: a token with no name.
    let token = owner
        .submit("/settings/tokens", "/settings/tokens", &[("name", "   ")])
        .await;
    refused_beside(&token, "token-name", "name-error", "");
    assert!(!token.body.contains("oppat_"));

    // In Finnish, the same error in Finnish.
    let mut finnish = Visitor::new(&w.app).finnish();
    assert_eq!(finnish.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let rate = finnish
        .submit(
            "/settings/pricing",
            "/settings/exchange-rates",
            &[("base", "USD"), ("rate", "0"), ("as_of", "2026-11-01")],
        )
        .await;
    refused_beside(&rate, "rate-value", "rate-error", "0");
    assert!(
        rate.body.contains("Anna positiivinen kurssi"),
        "{}",
        rate.body
    );
}

/// A PNG as far as its signature goes.
fn png(fill: u8, len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, fill);
    bytes
}

/// Uploads a logo through the landing-page section's form.
async fn upload(owner: &mut Visitor, file_name: &str, media_type: &str, bytes: &[u8]) -> Answer {
    let page = owner.get("/settings/landing-page").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = csrf(&page.body);
    owner
        .post_multipart(
            "/settings/logo",
            &[("_csrf", token.as_str())],
            ("logo", file_name, media_type, bytes),
        )
        .await
}

/// Activates Gold's campaign (after giving it a privacy notice) and
/// returns its landing page's address.
async fn landing_page(w: &World, owner: &mut Visitor) -> String {
    let saved = owner
        .submit(
            "/settings/landing-page",
            "/settings/profile",
            &[
                ("contact_name", "Gunnar Gold"),
                ("contact_email", "sales@gold.example"),
                ("contact_phone", ""),
                ("website", ""),
                ("logo_url", ""),
                ("privacy_notice_url", "https://gold.example/privacy"),
                ("marketing_consent_text", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let campaign = w
        .app
        .store
        .partner(w.gold.id)
        .campaigns()
        .await
        .unwrap()
        .remove(0)
        .id;
    let activated = owner
        .submit(
            "/campaigns",
            &format!("/campaigns/{campaign}/activate"),
            &[],
        )
        .await;
    assert_eq!(activated.status, 303, "{}", activated.body);
    let page = owner.get(&format!("/campaigns/{campaign}")).await;
    let at = page.body.find("/l/").expect("the landing page's address");
    let slug: String = page.body[at + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!("/l/{slug}")
}

/// Checks that an answer is the logo `bytes` of `media_type`, under a
/// policy that lets it do nothing but be drawn.
fn is_logo(answer: &(u16, reqwest::header::HeaderMap, Vec<u8>), media_type: &str, bytes: &[u8]) {
    let (status, headers, body) = answer;
    assert_eq!(*status, 200);
    assert_eq!(headers["content-type"], media_type);
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(body.as_slice(), bytes);
}

async fn an_uploaded_logo_shows_in_the_header_and_on_landing_pages_of_its_own_workspace_only(
    backend: Backend,
) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let landing = landing_page(&w, &mut owner).await;
    // Before any upload: initials in the header and on the landing page.
    let home = owner.get("/").await.body;
    assert!(home.contains(r#"id="workspace-monogram">GO<"#), "{home}");
    assert!(!home.contains(r#"id="workspace-logo""#));
    let visitor_page = Visitor::new(&w.app).get(&landing).await.body;
    assert!(visitor_page.contains(r#"class="monogram""#));

    // A form without its token changes nothing.
    let forged = owner
        .post_multipart(
            "/settings/logo",
            &[],
            ("logo", "logo.png", "image/png", &png(1, 100)),
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(owner.get_bytes("/workspace/logo").await.0, 404);

    // A PNG is taken; the header and the landing page show it.
    let logo = png(7, 2_000);
    let taken = upload(&mut owner, "logo.png", "image/png", &logo).await;
    assert_eq!(taken.status, 200, "{}", taken.body);
    assert!(taken.body.contains("The logo is saved."));
    assert!(taken.body.contains(r#"id="logo-preview""#));
    let home = owner.get("/").await.body;
    let at = home
        .find(r#"src="/workspace/logo?v="#)
        .expect("the header shows the logo");
    let src: String = home[at + 5..].chars().take_while(|c| *c != '"').collect();
    assert!(home.contains(r#"id="workspace-logo""#));
    assert!(!home.contains(r#"id="workspace-monogram""#));
    let served = owner.get_bytes(&src).await;
    is_logo(&served, "image/png", &logo);
    assert!(
        served.1["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private")
    );
    let mut visitor = Visitor::new(&w.app);
    let shown = visitor.get(&landing).await.body;
    let at = shown
        .find(&format!(r#"src="{landing}/logo?v="#))
        .expect("the landing page shows the logo");
    let public_src: String = shown[at + 5..].chars().take_while(|c| *c != '"').collect();
    assert!(!shown.contains(r#"class="monogram""#));
    is_logo(&visitor.get_bytes(&public_src).await, "image/png", &logo);

    // Another workspace cannot read it: its own logo address has none,
    // and logged out there is no logo at all.
    let mut other = Visitor::new(&w.app);
    assert_eq!(other.login(REGISTERED_OWNER, PASSWORD).await.status, 303);
    assert_eq!(other.get_bytes("/workspace/logo").await.0, 404);
    assert_eq!(other.get_bytes(&src).await.0, 404);
    assert!(!other.get("/").await.body.contains(r#"id="workspace-logo""#));
    assert_ne!(
        Visitor::new(&w.app).get_bytes("/workspace/logo").await.0,
        200
    );
    assert_eq!(
        visitor.get_bytes("/l/no-such-page/logo").await.0,
        404,
        "no landing page, no logo"
    );

    // Too large: refused beside the field; the logo stays.
    let large = upload(&mut owner, "huge.png", "image/png", &png(0, 300 * 1024)).await;
    assert_eq!(large.status, 422, "{}", large.body);
    assert!(large.body.contains(r#"id="logo-error""#));
    assert!(
        large
            .body
            .contains("logo-hint logo-error\" aria-invalid=\"true\"")
    );
    assert!(large.body.contains("at most 256 KiB"));
    // An SVG with a script, however it is named: refused.
    let scripted = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>"#;
    let refused = upload(&mut owner, "logo.png", "image/png", scripted).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("The SVG holds script"),
        "{}",
        refused.body
    );
    let handler = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#;
    assert_eq!(
        upload(&mut owner, "logo.svg", "image/svg+xml", handler)
            .await
            .status,
        422
    );
    // Not an image at all.
    let text = upload(&mut owner, "logo.gif", "image/gif", b"GIF89a...").await;
    assert_eq!(text.status, 422);
    assert!(text.body.contains("not a PNG, JPEG or SVG"));
    is_logo(
        &owner.get_bytes("/workspace/logo").await,
        "image/png",
        &logo,
    );

    // A plain SVG is taken and served as SVG, still unable to run anything.
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#14304f"/></svg>"##;
    assert_eq!(
        upload(&mut owner, "logo.svg", "image/svg+xml", svg)
            .await
            .status,
        200
    );
    is_logo(
        &owner.get_bytes("/workspace/logo").await,
        "image/svg+xml",
        svg,
    );
    is_logo(&visitor.get_bytes(&public_src).await, "image/svg+xml", svg);

    // Removed: initials again.
    let removed = owner
        .submit("/settings/landing-page", "/settings/logo/delete", &[])
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(owner.get_bytes("/workspace/logo").await.0, 404);
    assert!(
        owner
            .get("/")
            .await
            .body
            .contains(r#"id="workspace-monogram""#)
    );
    assert_eq!(visitor.get_bytes(&public_src).await.0, 404);
}

async fn a_vendors_logo_shows_beside_its_campaigns_and_on_landing_pages(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    // Only an https address is taken, as an RFC 9457 problem otherwise.
    let (status, problem) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/logo",
            &w.v1.token,
            Some(json!({"logo_url": "http://127.0.0.1/logo.svg"})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "#/logo_url", "{problem}");
    assert!(problem["type"].is_string(), "{problem}");
    let (status, problem) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/logo",
            &w.v1.token,
            Some(json!({"logo_url": "https://127.0.0.1/logo.svg", "workspace_id": "x"})),
        )
        .await;
    assert!(status == 400 || status == 422, "{status}: {problem}");
    let logo = "https://127.0.0.1/vendor-one/logo.svg";
    let (status, set) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/logo",
            &w.v1.token,
            Some(json!({ "logo_url": logo })),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["logo_url"], logo);
    let (status, read) = w
        .call(Method::GET, "/api/v1/vendor/logo", &w.v1.token, None)
        .await;
    assert_eq!((status, &read["logo_url"]), (200, &json!(logo)));
    // Vendor two set none.
    let (_, none) = w
        .call(Method::GET, "/api/v1/vendor/logo", &w.v2.token, None)
        .await;
    assert!(none["logo_url"].is_null(), "{none}");

    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let cards = owner.get("/campaigns").await.body;
    assert!(
        cards.contains(&format!(r#"<img src="{logo}" alt="" class="vendor-logo""#)),
        "{cards}"
    );
    let landing = landing_page(&w, &mut owner).await;
    let page = Visitor::new(&w.app).get(&landing).await.body;
    assert!(page.contains(&format!(r#"src="{logo}""#)), "{page}");
    assert!(page.contains(r#"id="vendor-logo""#));

    // Removed: the cards show the name alone.
    let (status, _) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/logo",
            &w.v1.token,
            Some(json!({ "logo_url": null })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!owner.get("/campaigns").await.body.contains("vendor-logo"));
}

#[tokio::test]
async fn the_favicon_is_onepanes_mark_and_every_page_links_it() {
    let Some(w) = world(Backend::Sqlite).await else {
        return;
    };
    let mut v = Visitor::new(&w.app);
    let (status, headers, body) = v.get_bytes("/static/icon.svg").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let svg = String::from_utf8(body).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!svg.contains("<script"));
    // The old address browsers ask for leads to it.
    let ico = v.get("/favicon.ico").await;
    assert_eq!(ico.status, 301);
    assert_eq!(ico.location.as_deref(), Some("/static/icon.svg"));
    let link = r#"<link rel="icon" href="/static/icon.svg" type="image/svg+xml">"#;
    assert!(v.get("/login").await.body.contains(link));
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let home = v.get("/").await.body;
    assert!(home.contains(link));
    assert!(
        home.contains(r#"<img src="/static/icon.svg" alt="" width="24" height="24" class="mark">"#)
    );
}

#[tokio::test]
async fn image_assets_show_lazy_thumbnails_of_a_fixed_size() {
    let Some(w) = world(Backend::Sqlite).await else {
        return;
    };
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/assets/printer-photo",
            &w.v1.token,
            Some(
                json!({"kind": "image", "variants": [{"locale": "en", "title": "Printer photo",
                "body": {"url": "https://127.0.0.1/images/printer.png"}}]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut v = Visitor::new(&w.app);
    assert_eq!(v.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let assets = v.get("/assets").await.body;
    assert!(
        assets.contains(
            r#"<img src="https://127.0.0.1/images/printer.png" alt="Preview of Printer photo" loading="lazy" decoding="async" width="240" height="135" class="thumb">"#
        ),
        "{assets}"
    );
}
