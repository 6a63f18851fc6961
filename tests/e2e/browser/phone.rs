//! The portal on a phone (360 × 800), page by page: every list page with
//! rows in it shows them as cards that lead with the status and the figure
//! that matters, nothing scrolls sideways (the page or anything in it),
//! the header is one row, and its menu button opens and closes the
//! navigation from the mouse and the keyboard.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::{Browser, BrowserOptions, keys};
use crate::portal::{PASSWORD, REGISTERED_OWNER};

/// How long a page may take to show what the test waits for.
const WAIT: Duration = Duration::from_secs(10);

/// The tallest the header may be on a phone with its menu folded: one row
/// of the bar (the brand, the notifications and the menu button).
const ONE_ROW: f64 = 64.0;

/// Every page that lists things, and what shows its rows.
const LIST_PAGES: &[(&str, &str)] = &[
    ("/", "#vendors tbody tr"),
    ("/leads", "#leads tbody tr"),
    ("/deals", "#deals tbody tr"),
    ("/campaigns", "#campaigns .card"),
    ("/assets", "#assets .card"),
    ("/prices", "#prices tbody tr"),
    ("/connections", "#connections .card"),
    ("/notifications", "#notifications li"),
    ("/clock", "#clock tbody tr"),
    ("/vendors", "#vendors tbody tr"),
    ("/scorecards", "#scorecards tbody tr"),
    ("/audit", "#audit tbody tr"),
];

#[tokio::test]
async fn every_list_page_fits_a_phone_as_cards_under_a_one_row_header() {
    let Some(browser) = Browser::start_with(BrowserOptions {
        lang: "en",
        width: 360,
        height: 800,
    })
    .await
    else {
        return;
    };
    let w = super::journey::seeded().await;
    // Something on every list: a lead to answer (and its notification and
    // deadline), a registration, a connection.
    let (status, lead) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/partners/{}/leads", w.registered.id),
            &w.v1.token,
            Some(json!({"external_id": "phone-1", "contact": {"name": "Pirkko Puhelin", "email": "phone@customer.example"},
                        "company": {"name": "Puhelin Oy with a rather long company name"},
                        "respond_by": "2031-01-01T12:00:00Z"})),
        )
        .await;
    assert_eq!(status, 201, "{lead}");
    let (status, deal) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.registered.token,
            Some(json!({
                "vendor_ids": [w.v1.id.to_string()],
                "title": "Printers for Puhelin Oy",
                "customer": {"name": "Puhelin Oy", "domain": "puhelin.example", "country": "FI"},
                "amount": {"value": "12500.50", "currency": "EUR"},
                "products": [],
            })),
        )
        .await;
    assert_eq!(status, 201, "{deal}");
    let (status, hook) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.registered.token,
            Some(json!({
                "target": {"purpose": "crm-sink"}, "connector": "webhook", "name": "Our CRM hook",
                "settings": {"url": "http://127.0.0.1:9/hook"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{hook}");

    browser.goto(&w.app.url("/login")).await;
    browser
        .find("#email")
        .await
        .send_keys(REGISTERED_OWNER)
        .await;
    browser.find("#password").await.send_keys(PASSWORD).await;
    browser
        .find("form[action='/login'] button[type=submit]")
        .await
        .click()
        .await;
    browser.wait_for("#vendors", WAIT).await;

    for (path, rows) in LIST_PAGES {
        browser.goto(&w.app.url(path)).await;
        browser.wait_for(rows, WAIT).await;
        let name = format!("phone-{}", page_name(path));
        browser.screenshot(&name).await;
        assert_nothing_scrolls_sideways(&browser, &name).await;
        assert_header_is_one_row(&browser, &name).await;
        browser.assert_accessible(&name).await;
    }
    // The records a person has, found by email.
    browser.goto(&w.app.url("/privacy")).await;
    browser
        .find("#p-email")
        .await
        .send_keys("phone@customer.example")
        .await;
    browser
        .find("form[action='/privacy/find'] button[type=submit]")
        .await
        .click()
        .await;
    browser.wait_for("#privacy-records tbody tr", WAIT).await;
    browser.screenshot("phone-privacy").await;
    assert_nothing_scrolls_sideways(&browser, "phone-privacy").await;
    assert_header_is_one_row(&browser, "phone-privacy").await;
    browser.assert_accessible("phone-privacy").await;

    // The cards lead with what matters: a lead's status (with its answer
    // deadline), a registration's status and amount, a price's sell and
    // margin, each above the row's name.
    for (page, card, first) in [
        ("/leads", "#leads tbody tr", ".status"),
        ("/deals", "#deals tbody tr", "td.lead.num"),
        ("/prices", "#prices tbody tr", "td.lead"),
    ] {
        browser.goto(&w.app.url(page)).await;
        browser.wait_for(card, WAIT).await;
        let leads = browser
            .execute(
                "const row = document.querySelector(arguments[0]); \
                 const first = row.querySelector(arguments[1]).getBoundingClientRect(); \
                 const name = row.querySelector('th').getBoundingClientRect(); \
                 return first.bottom <= name.top + 1;",
                &[json!(card), json!(first)],
            )
            .await;
        assert_eq!(leads, true, "{page}: `{first}` does not lead its card");
    }
    // Each card's cells say what they are, in the page's language.
    browser.goto(&w.app.url("/prices")).await;
    browser.wait_for("#prices tbody tr", WAIT).await;
    let label = browser
        .execute(
            "const cell = document.querySelector('#prices tbody tr td.lead'); \
             return getComputedStyle(cell, '::before').content;",
            &[],
        )
        .await;
    assert_eq!(label, "\"Sell: \"", "the sell price's label");

    // The leads' filters stay inside their card.
    browser.goto(&w.app.url("/leads")).await;
    let outside = browser
        .execute(
            "const card = document.querySelector('form.filters').getBoundingClientRect(); \
             return [...document.querySelectorAll('form.filters *')] \
               .filter(e => e.getBoundingClientRect().right > card.right + 0.5) \
               .map(e => e.tagName + '#' + e.id);",
            &[],
        )
        .await;
    assert_eq!(outside, json!([]), "fields stick out of the filters");

    // The menu: folded behind its button, opened by it, closed by Escape
    // with the focus back on the button, and its links work.
    let button = browser.find("#menu-button").await;
    assert_eq!(button.attr("aria-expanded").await.as_deref(), Some("false"));
    assert_eq!(button.attr("aria-controls").await.as_deref(), Some("menu"));
    assert!(!displayed(&browser, "nav.main a[href='/deals']").await);
    button.click().await;
    assert_eq!(button.attr("aria-expanded").await.as_deref(), Some("true"));
    for link in ["/leads", "/deals", "/settings"] {
        assert!(
            displayed(&browser, &format!("nav.main a[href='{link}']")).await,
            "{link} is not shown in the open menu"
        );
    }
    assert!(displayed(&browser, "form.logout button").await);
    browser.screenshot("phone-menu-open").await;
    browser.assert_accessible("phone-menu-open").await;
    assert_nothing_scrolls_sideways(&browser, "phone-menu-open").await;
    browser.press(keys::ESCAPE).await;
    assert_eq!(button.attr("aria-expanded").await.as_deref(), Some("false"));
    assert!(!displayed(&browser, "nav.main a[href='/deals']").await);
    let focused = browser.focused().await;
    assert_eq!(focused.attr("id").await.as_deref(), Some("menu-button"));
    // From the keyboard: Enter on the focused button opens it.
    browser.press(keys::ENTER).await;
    assert_eq!(button.attr("aria-expanded").await.as_deref(), Some("true"));
    browser
        .find("nav.main a[href='/deals']")
        .await
        .click()
        .await;
    browser
        .wait_for("nav.main a[href='/deals'][aria-current=page]", WAIT)
        .await;
    assert_eq!(
        browser
            .find("#menu-button")
            .await
            .attr("aria-expanded")
            .await
            .as_deref(),
        Some("false"),
        "a new page starts with the menu folded"
    );

    // At a desktop's width there is no menu button: the navigation shows.
    browser.set_window_size(1280, 800).await;
    assert!(!displayed(&browser, "#menu-button").await);
    assert!(displayed(&browser, "nav.main a[href='/leads']").await);
}

/// Fails, naming them, when the page or any box in it scrolls sideways at
/// the current width, as shown and with every disclosure (the confirming
/// forms behind "Delete", "End", ...) opened.
async fn assert_nothing_scrolls_sideways(browser: &Browser, name: &str) {
    let wide = browser.execute(SIDEWAYS, &[]).await;
    assert_eq!(wide, json!([]), "{name} scrolls sideways");
    let opened = browser
        .execute(
            "const closed = [...document.querySelectorAll('details:not([open])')]; \
             closed.forEach(d => d.open = true); \
             const wide = (new Function(arguments[0]))(); \
             closed.forEach(d => d.open = false); \
             return wide;",
            &[json!(SIDEWAYS)],
        )
        .await;
    assert_eq!(opened, json!([]), "{name} scrolls sideways once opened");
}

/// What sticks out sideways: the page wider than the viewport, a box that
/// scrolls sideways, an element shown past the right edge (the first 8).
const SIDEWAYS: &str = "const out = []; \
     const root = document.documentElement; \
     if (root.scrollWidth > innerWidth + 1) out.push('the page: ' + root.scrollWidth); \
     for (const e of document.querySelectorAll('body *')) { \
       if (e.closest('.visually-hidden, thead, details:not([open]) > :not(summary)')) continue; \
       const x = getComputedStyle(e).overflowX; \
       if ((x === 'auto' || x === 'scroll') && e.scrollWidth > e.clientWidth + 1) \
         out.push(e.tagName + '#' + e.id + '.' + e.className + ': ' + e.scrollWidth + ' in ' + e.clientWidth); \
       else if (e.getBoundingClientRect().right > innerWidth + 1) \
         out.push(e.tagName + '#' + e.id + '.' + e.className + ' ends at ' + Math.round(e.getBoundingClientRect().right)); \
     } \
     return out.slice(0, 8);";

/// Fails unless the header is one row with its menu folded behind a
/// visible menu button.
pub(super) async fn assert_header_is_one_row(browser: &Browser, name: &str) {
    let header = browser
        .execute(
            "const b = document.getElementById('menu-button'); \
             return [document.querySelector('header.top').getBoundingClientRect().height, \
                     b !== null && b.offsetParent !== null, \
                     document.getElementById('menu').offsetHeight];",
            &[],
        )
        .await;
    let height = header[0].as_f64().unwrap_or(f64::MAX);
    assert!(
        height <= ONE_ROW,
        "{name}: the header is {height} px tall, more than one row"
    );
    assert_eq!(header[1], true, "{name}: no menu button to be seen");
    assert_eq!(header[2], 0, "{name}: the menu is not folded");
}

/// Whether the first element matching `css` takes up room on the page.
async fn displayed(browser: &Browser, css: &str) -> bool {
    let shown = browser
        .execute(
            "const e = document.querySelector(arguments[0]); \
             return e !== null && e.getClientRects().length > 0;",
            &[json!(css)],
        )
        .await;
    shown == true
}

/// A screenshot's name for the page at `path`.
fn page_name(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path).trim_matches('/');
    if path.is_empty() {
        "home".to_owned()
    } else {
        path.replace('/', "-")
    }
}
