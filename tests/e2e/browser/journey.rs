//! The journey the product exists for, in a real browser, once in English
//! and once in Finnish: the partner logs in, activates a vendor's campaign
//! in one click, a visitor answers the landing page, the partner registers
//! a deal from the lead in at most three clicks, and the vendor's approval
//! shows. Every page on the way is photographed at a phone's and a
//! desktop's width and audited with axe; none scrolls sideways on the
//! phone; the keyboard reaches the login form in order and the skip link
//! first.

use std::time::Duration;

use onepane_domain::text::Name;
use onepane_domain::{PartnerType, Tier, VendorKind};
use reqwest::Method;
use serde_json::json;

use super::{Browser, BrowserOptions, Element, keys};
use crate::harness::Backend;
use crate::portal::{PASSWORD, REGISTERED_OWNER, publish_campaign, set_password};
use crate::world::World;

/// How long a page may take to show what the test waits for.
const WAIT: Duration = Duration::from_secs(10);

/// The phone's and the desktop's viewport.
const PHONE: (u32, u32) = (360, 800);
const DESKTOP: (u32, u32) = (1280, 800);

/// The date the vendor protects the deal until, as the API takes it.
const PROTECTED_UNTIL: &str = "2027-03-31";

/// What one language's pages say, and what its people type.
#[derive(Debug)]
struct Texts {
    lang: &'static str,
    /// The viewport the partner works in: the English partner at a desk,
    /// the Finnish one on a phone.
    viewport: (u32, u32),
    login: &'static str,
    forgot: &'static str,
    home: &'static str,
    skip: &'static str,
    campaign: &'static str,
    headline: &'static str,
    name_error: &'static str,
    thanks: &'static str,
    visitor: &'static str,
    company: &'static str,
    deal_title: &'static str,
    amount_typed: &'static str,
    amount_shown: &'static str,
    submitted: &'static str,
    approved: &'static str,
    protected_until: &'static str,
    form_errors: &'static str,
    vendor_error: &'static str,
    asset: &'static str,
    not_found: &'static str,
    rated: &'static str,
}

const ENGLISH: Texts = Texts {
    lang: "en",
    viewport: DESKTOP,
    login: "Log in",
    forgot: "Reset your password",
    home: "Registered Oy: today across your vendors",
    skip: "Skip to content",
    campaign: "Spring print",
    headline: "Print smarter",
    name_error: "Tell us your name.",
    thanks: "Thank you! Registered Oy will be in touch soon.",
    visitor: "Vera Visitor",
    company: "Visitor Ltd",
    deal_title: "Visitor Ltd: new opportunity",
    amount_typed: "12,500",
    amount_shown: "12,500.00 EUR",
    submitted: "Waiting for the vendor",
    approved: "Approved",
    protected_until: "31 Mar 2027",
    form_errors: "Some fields need your attention.",
    vendor_error: "Choose at least one vendor.",
    asset: "Toner brochure",
    not_found: "There is nothing here.",
    rated: "Your rating is saved.",
};

const FINNISH: Texts = Texts {
    lang: "fi",
    viewport: PHONE,
    login: "Kirjaudu sisään",
    forgot: "Vaihda salasana",
    home: "Registered Oy: tänään kaikilta toimittajilta",
    skip: "Siirry sisältöön",
    campaign: "Kevään tulostus",
    headline: "Tulosta fiksummin",
    name_error: "Kerro nimesi.",
    thanks: "Kiitos! Registered Oy ottaa sinuun pian yhteyttä.",
    visitor: "Ville Vierailija",
    company: "Vierailija Oy",
    deal_title: "Vierailija Oy: uusi myyntimahdollisuus",
    amount_typed: "12 500,50",
    amount_shown: "12 500,50 EUR",
    submitted: "Odottaa toimittajaa",
    approved: "Hyväksytty",
    protected_until: "31.3.2027",
    form_errors: "Osa kentistä vaatii huomiota.",
    vendor_error: "Valitse vähintään yksi toimittaja.",
    asset: "Värikasettiesite",
    not_found: "Täällä ei ole mitään.",
    rated: "Arviosi on tallennettu.",
};

#[tokio::test]
async fn the_journey_from_campaign_to_approved_deal_in_english() {
    journey(&ENGLISH).await;
}

#[tokio::test]
async fn the_journey_from_campaign_to_approved_deal_in_finnish() {
    journey(&FINNISH).await;
}

async fn journey(t: &Texts) {
    let options = BrowserOptions {
        lang: t.lang,
        width: t.viewport.0,
        height: t.viewport.1,
    };
    let Some(partner) = Browser::start_with(options).await else {
        return;
    };
    let w = seeded().await;
    let url = |path: &str| w.app.url(path);

    // The login form, and the keyboard's way through it.
    partner.goto(&url("/login")).await;
    assert_eq!(text(&partner, "h1").await, t.login);
    for field in [
        "#email",
        "#password",
        "form[action='/login'] button[type=submit]",
    ] {
        partner.press(keys::TAB).await;
        assert_focus(&partner, field).await;
    }
    look(&partner, t, "login", Page::Public).await;
    partner.find("a[href='/login/forgot']").await.click().await;
    partner.wait_for("form[action='/login/forgot']", WAIT).await;
    assert_eq!(text(&partner, "h1").await, t.forgot);
    look(&partner, t, "forgot-password", Page::Public).await;

    partner.goto(&url("/login")).await;
    partner
        .find("#email")
        .await
        .send_keys(REGISTERED_OWNER)
        .await;
    partner.find("#password").await.send_keys(PASSWORD).await;
    partner
        .find("form[action='/login'] button[type=submit]")
        .await
        .click()
        .await;

    // Home: every vendor in one place.
    partner.wait_for("#vendors", WAIT).await;
    assert_eq!(text(&partner, "h1").await, t.home);
    let mut vendors = Vec::new();
    for row in partner.find_all("#vendors tbody th").await {
        vendors.push(row.text().await);
    }
    vendors.sort();
    assert_eq!(vendors, ["Vendor One", "Vendor Three", "Vendor Two"]);
    look(&partner, t, "home", Page::Portal).await;
    // The first Tab on a fresh page lands on the skip link, shown where
    // it can be seen, and Enter takes it to the content.
    partner.press(keys::TAB).await;
    assert_focus(&partner, "a.skip").await;
    let skip = partner.focused().await;
    assert_eq!(skip.text().await, t.skip);
    let shown = partner
        .execute(
            "const r = arguments[0].getBoundingClientRect(); \
             return r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.width > 0;",
            &[skip.as_arg()],
        )
        .await;
    assert_eq!(shown, true, "the focused skip link is off screen");
    partner.press(keys::ENTER).await;
    assert!(
        partner.current_url().await.ends_with("/#main"),
        "{}",
        partner.current_url().await
    );
    // The next Tab goes on from the content, past the header and menu.
    partner.press(keys::TAB).await;
    let next = partner.focused().await;
    let in_main = partner
        .execute(
            "return arguments[0].closest('main') !== null;",
            &[next.as_arg()],
        )
        .await;
    assert_eq!(
        in_main,
        true,
        "after the skip link the focus went to {}",
        next.property("outerHTML").await
    );

    // Campaigns: one click activates, and the landing page is there.
    open_section(&partner, "/campaigns").await;
    let card = partner.wait_for("#campaigns .card", WAIT).await;
    assert!(
        card.text().await.contains(t.campaign),
        "{}",
        card.text().await
    );
    look(&partner, t, "campaigns", Page::Portal).await;
    partner.find("#campaigns .activate").await.click().await;
    let link = partner.wait_for("#landing-link", WAIT).await;
    assert_eq!(text(&partner, "h1").await, t.campaign);
    let landing = link
        .attr("href")
        .await
        .expect("the landing link has an address");
    assert!(landing.starts_with(&url("/l/")), "{landing}");
    look(&partner, t, "campaign", Page::Portal).await;

    // A visitor, with no session, answers the landing page.
    let visitor = Browser::start_with(options)
        .await
        .expect("Chromium started once already");
    visitor.goto(&landing).await;
    assert_eq!(text(&visitor, "h1").await, t.headline);
    look(&visitor, t, "landing", Page::Landing).await;
    visitor.find("#send").await.click().await;
    visitor.wait_for("#form-errors", WAIT).await;
    assert_eq!(text(&visitor, "#name-error").await, t.name_error);
    look(&visitor, t, "landing-errors", Page::Landing).await;
    visitor.find("#name").await.send_keys(t.visitor).await;
    visitor
        .find("#email")
        .await
        .send_keys("visitor@customer.example")
        .await;
    visitor.find("#company").await.send_keys(t.company).await;
    visitor.find("#message").await.send_keys("4 printers").await;
    visitor.find("#send").await.click().await;
    let thanks = visitor.wait_for("#thanks", WAIT).await;
    assert_eq!(thanks.text().await, t.thanks);
    look(&visitor, t, "landing-thanks", Page::Landing).await;
    drop(visitor);

    // Leads: the visitor is there.
    open_section(&partner, "/leads").await;
    partner.wait_for("#leads", WAIT).await;
    let mut lead_link = None;
    for link in partner.find_all("#leads tbody th a").await {
        if link.text().await == t.visitor {
            lead_link = Some(link);
        }
    }
    let lead_link = lead_link.unwrap_or_else(|| panic!("{} is not among the leads", t.visitor));
    look(&partner, t, "leads", Page::Portal).await;
    lead_link.click().await;
    partner.wait_for("#register-deal", WAIT).await;
    assert_eq!(text(&partner, "h1").await, t.visitor);
    look(&partner, t, "lead", Page::Portal).await;

    // From the lead to a registered deal: at most three clicks.
    let mut clicks = Clicks::default();
    clicks.on(&partner.find("#register-deal").await).await;
    partner.wait_for("#submit-deal", WAIT).await;
    assert_eq!(value(&partner, "#customer").await, t.company);
    assert_eq!(value(&partner, "#title").await, t.deal_title);
    assert_eq!(value(&partner, "#currency").await, "EUR");
    let chosen = partner.find_all("input[name=vendor]:checked").await;
    assert_eq!(chosen.len(), 1, "only the lead's vendor is chosen");
    assert_eq!(chosen[0].attr("value").await, Some(w.v1.id.to_string()));
    look(&partner, t, "deal-form", Page::Portal).await;
    let amount = partner.find("#amount").await;
    clicks.on(&amount).await;
    amount.send_keys(t.amount_typed).await;
    clicks.on(&partner.find("#submit-deal").await).await;
    partner.wait_for("#deal-status", WAIT).await;
    assert!(
        clicks.0 <= 3,
        "registering a deal from a lead took {} clicks",
        clicks.0
    );
    assert_eq!(text(&partner, "h1").await, t.deal_title);
    assert_eq!(text(&partner, "#deal-status").await, t.submitted);
    let deal_page = partner.current_url().await;
    // The page says the registration was sent (`?registered`).
    let deal_path = deal_page.split('?').next().unwrap_or(&deal_page);
    let deal_id = deal_path
        .rsplit('/')
        .next()
        .expect("the deal's address ends in its id")
        .to_owned();
    look(&partner, t, "deal-submitted", Page::Portal).await;

    // The vendor approves through its API; the partner sees it.
    let (status, decided) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/deal-registrations/{deal_id}/decision"),
            &w.v1.token,
            Some(
                json!({"decision": "approved", "protection_expires_on": PROTECTED_UNTIL,
                        "extra_discount": "5"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    // The page is still open on the waiting registration: it turns
    // approved by itself, with the protection shown, without a reload by
    // hand.
    assert!(partner.current_url().await.starts_with(deal_path));
    partner.wait_for("#deal-expires", WAIT).await;
    assert_eq!(text(&partner, "#deal-status").await, t.approved);
    assert_eq!(text(&partner, "#deal-expires").await, t.protected_until);
    let facts = text(&partner, ".facts").await;
    assert!(facts.contains(t.amount_shown), "{facts}");
    look(&partner, t, "deal", Page::Portal).await;

    open_section(&partner, "/deals").await;
    let row = partner.wait_for("#deals tbody tr", WAIT).await;
    let row = row.text().await.replace('\u{a0}', " ");
    for shown in [t.deal_title, t.approved, t.protected_until, t.amount_shown] {
        assert!(row.contains(shown), "{shown} missing from {row}");
    }
    look(&partner, t, "deals", Page::Portal).await;

    // The deal form sent empty says what is missing.
    partner.goto(&url("/deals/new")).await;
    partner.find("#submit-deal").await.click().await;
    partner.wait_for("#form-errors", WAIT).await;
    assert_eq!(text(&partner, "#form-errors").await, t.form_errors);
    assert_eq!(text(&partner, "#vendor-error").await, t.vendor_error);
    look(&partner, t, "deal-form-errors", Page::Portal).await;

    // The rest of the portal.
    open_section(&partner, "/assets").await;
    let asset = partner.wait_for("#assets .card h2", WAIT).await;
    assert_eq!(asset.text().await, t.asset);
    look(&partner, t, "assets", Page::Portal).await;
    open_section(&partner, "/prices").await;
    partner.wait_for("#prices tbody tr", WAIT).await;
    look(&partner, t, "prices", Page::Portal).await;
    open_section(&partner, "/connections").await;
    look(&partner, t, "connections", Page::Portal).await;
    partner.find("#add-connection").await.click().await;
    partner.wait_for("#connect-kinds", WAIT).await;
    look(&partner, t, "connect-kinds", Page::Portal).await;
    partner.find("#connect-rest").await.click().await;
    partner.wait_for("#connect-form", WAIT).await;
    look(&partner, t, "connect-rest", Page::Portal).await;
    // Sent empty, each missing field says so beside it.
    partner.find("#connect-submit").await.click().await;
    partner.wait_for("#connect-problem", WAIT).await;
    partner.wait_for("#e-manifest", WAIT).await;
    look(&partner, t, "connect-rest-errors", Page::Portal).await;
    partner.find("a.notifications").await.click().await;
    partner.wait_for("#notifications li", WAIT).await;
    look(&partner, t, "notifications", Page::Portal).await;
    open_section(&partner, "/settings").await;
    look(&partner, t, "settings", Page::Portal).await;
    // Each section of the settings, from the sections' own navigation.
    for (path, name) in [
        ("/settings/members", "settings-members"),
        ("/settings/sso", "settings-sso"),
        ("/settings/landing-page", "settings-landing-page"),
        ("/settings/pricing", "settings-pricing"),
        ("/settings/tokens", "settings-tokens"),
        ("/settings/account", "settings-account"),
    ] {
        open_settings_section(&partner, path).await;
        look(&partner, t, name, Page::Portal).await;
    }
    // A refused exchange rate: its error beside the field, the input kept.
    open_settings_section(&partner, "/settings/pricing").await;
    partner.find("#rate-base").await.send_keys("USD").await;
    partner.find("#rate-value").await.send_keys("-3").await;
    partner
        .execute(
            "document.querySelector('#rate-as-of').value = '2026-11-01';",
            &[],
        )
        .await;
    partner
        .find("form[action='/settings/exchange-rates'] button[type=submit]")
        .await
        .click()
        .await;
    partner.wait_for("#rate-error", WAIT).await;
    let field = partner
        .execute(
            "const f = document.querySelector('#rate-value'); \
             return [f.getAttribute('aria-describedby'), f.getAttribute('aria-invalid')];",
            &[],
        )
        .await;
    assert_eq!(field, json!(["rate-error", "true"]));
    assert_eq!(value(&partner, "#rate-value").await, "-3");
    look(&partner, t, "settings-pricing-errors", Page::Portal).await;
    // The vendors side by side, and a rating.
    partner.goto(&url("/scorecards")).await;
    partner.wait_for("#scorecards tbody tr", WAIT).await;
    look(&partner, t, "scorecards", Page::Portal).await;
    partner.find("#rate-links a").await.click().await;
    partner.wait_for("#rate-form", WAIT).await;
    look(&partner, t, "scorecard-rate", Page::Portal).await;
    partner
        .find("input[name='score-support'][value='4']")
        .await
        .click()
        .await;
    partner
        .find("#rate-form button[type=submit]")
        .await
        .click()
        .await;
    partner.wait_for("main .notice", WAIT).await;
    assert_eq!(text(&partner, "main .notice").await, t.rated);
    partner.goto(&url("/no-such-page")).await;
    assert_eq!(text(&partner, "h1").await, t.not_found);
    look(&partner, t, "not-found", Page::Public).await;
}

/// The API world, with the Registered partner's owner given a password, a
/// third vendor linked to it, and vendor one's campaign, price list and
/// asset published to it.
pub(super) async fn seeded() -> World {
    let w = World::new(Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    set_password(&w.app, REGISTERED_OWNER, PASSWORD).await;
    let operator = w.app.store.operator();
    let third = operator
        .create_vendor(&Name::parse("Vendor Three").unwrap(), VendorKind::Vendor)
        .await
        .unwrap();
    operator
        .link(
            w.registered.id,
            third.id,
            Tier::Gold,
            PartnerType::SolutionProvider,
        )
        .await
        .unwrap();
    publish_campaign(&w, "spring-2026", &["registered"]).await;
    for (path, body) in [
        (
            "/api/v1/vendor/price-lists/eu-2026",
            json!({"name": "EU 2026", "currency": "EUR",
                   "tier_discounts": [{"tier": "registered", "discount": "5"}]}),
        ),
        (
            "/api/v1/vendor/price-lists/eu-2026/items",
            json!([
                {"sku": "PRN-100", "name": "Office printer", "category": "printers", "list_price": "1290.00"},
                {"sku": "TNR-100", "name": "Toner cartridge", "category": "toner", "list_price": "89.90"},
            ]),
        ),
        (
            "/api/v1/vendor/assets/toner-brochure",
            json!({"kind": "document", "variants": [
                {"locale": "en", "title": "Toner brochure", "body": {"url": "https://vendor.example/toner.pdf"}},
                {"locale": "fi", "title": "Värikasettiesite", "body": {"url": "https://vendor.example/toner-fi.pdf"}},
            ]}),
        ),
    ] {
        let (status, answer) = w.call(Method::PUT, path, &w.v1.token, Some(body)).await;
        assert!(matches!(status, 200 | 201), "{path}: {status} {answer}");
    }
    w
}

/// Which kind of page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    /// Behind the login, with the portal's header and navigation.
    Portal,
    /// Login, password reset and error pages.
    Public,
    /// A campaign's public landing page.
    Landing,
}

/// Photographs the page shown at the phone's and the desktop's width
/// (`journey-<lang>-<page>-<width>.png`), audits both with axe, checks
/// that the phone's width does not scroll sideways and, on a portal page,
/// that the skip link is the first thing to focus; then gives the viewport
/// back to the partner.
async fn look(browser: &Browser, t: &Texts, page: &str, kind: Page) {
    for (width, height) in [PHONE, DESKTOP] {
        browser.set_window_size(width, height).await;
        let name = format!("journey-{}-{page}-{width}", t.lang);
        browser.screenshot(&name).await;
        browser.assert_accessible(&name).await;
        if width == PHONE.0 {
            let sizes = browser
                .execute(
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    &[],
                )
                .await;
            let (scroll, inner) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
            if kind == Page::Portal {
                super::phone::assert_header_is_one_row(browser, &name).await;
            }
            if scroll > inner + 1 {
                // Name the elements that stick out (outside scrolling boxes).
                let wide = browser
                    .execute(
                        "return [...document.querySelectorAll('body *')]\
                           .filter(e => (!e.closest('.table-wrap') || getComputedStyle(e).position === 'absolute') && e.getBoundingClientRect().right > window.innerWidth + 1)\
                           .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
                        &[],
                    )
                    .await;
                panic!(
                    "{name} scrolls sideways: {scroll} px wide in a {inner} px viewport: {wide}"
                );
            }
        }
    }
    browser.set_window_size(t.viewport.0, t.viewport.1).await;
    if kind == Page::Portal {
        let first = browser.execute(FIRST_FOCUSABLE, &[]).await;
        let first = first.as_str().unwrap_or_default();
        assert!(
            first.starts_with(r##"<a class="skip" href="#main">"##),
            "{page}: the first focusable element is {first}"
        );
    }
}

/// The markup of the first element in the tab order, which has no
/// positive `tabindex` to reorder it.
const FIRST_FOCUSABLE: &str = r#"
const candidates = document.querySelectorAll(
  'a[href], button, input, select, textarea, summary, [tabindex]');
for (const e of candidates) {
  if (e.tabIndex < 0 || e.disabled || e.type === 'hidden') continue;
  const style = getComputedStyle(e);
  if (style.display === 'none' || style.visibility === 'hidden') continue;
  if (e.closest('[hidden]')) continue;
  return e.outerHTML;
}
return null;
"#;

/// Clicks the main navigation's link to `path` (opening the menu first
/// when the page folds it behind its button, as on a phone) and waits for
/// its page.
async fn open_section(browser: &Browser, path: &str) {
    let folded = browser
        .execute(
            "const b = document.getElementById('menu-button'); \
             return b !== null && b.offsetParent !== null && b.getAttribute('aria-expanded') === 'false';",
            &[],
        )
        .await;
    if folded == true {
        browser.find("#menu-button").await.click().await;
    }
    browser
        .find(&format!("nav.main a[href='{path}']"))
        .await
        .click()
        .await;
    browser
        .wait_for(
            &format!("nav.main a[href='{path}'][aria-current=page]"),
            WAIT,
        )
        .await;
}

/// Opens a section of the settings from the sections' navigation.
async fn open_settings_section(browser: &Browser, path: &str) {
    browser
        .find(&format!("nav.sections a[href='{path}']"))
        .await
        .click()
        .await;
    browser
        .wait_for(
            &format!("nav.sections a[href='{path}'][aria-current=page]"),
            WAIT,
        )
        .await;
}

/// Fails unless the element matching `css` has the focus.
async fn assert_focus(browser: &Browser, css: &str) {
    let focused = browser.focused().await;
    let same = browser
        .execute(
            "return arguments[0] === document.querySelector(arguments[1]);",
            &[focused.as_arg(), json!(css)],
        )
        .await;
    assert_eq!(
        same,
        true,
        "the focus is on {} rather than `{css}`",
        focused.property("outerHTML").await
    );
}

/// The rendered text of the first element matching `css`, with no-break
/// spaces as plain ones.
async fn text(browser: &Browser, css: &str) -> String {
    browser.find(css).await.text().await.replace('\u{a0}', " ")
}

/// The current value of the field matching `css`.
async fn value(browser: &Browser, css: &str) -> String {
    let value = browser.find(css).await.property("value").await;
    value.as_str().unwrap_or_default().to_owned()
}

/// The clicks a person makes, counted.
#[derive(Debug, Default)]
struct Clicks(u32);

impl Clicks {
    async fn on(&mut self, element: &Element<'_>) {
        self.0 += 1;
        element.click().await;
    }
}
