//! The browser itself: the API reference shown at a phone's and a desktop's
//! width and audited, a form filled in and sent, and an audit that finds
//! what a careless page gets wrong.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::json;

use super::{Browser, BrowserOptions, Impact};
use crate::harness::TestApp;

#[tokio::test]
async fn the_api_reference_is_shown_at_a_phones_and_a_desktops_width_and_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    browser.goto(&app.url("/api/docs")).await;
    let title = browser.title().await;
    assert!(title.starts_with("Onepane API "), "{title}");
    assert_eq!(browser.find("h1").await.text().await, "Onepane API");

    for (width, height) in [(360, 800), (1280, 800)] {
        browser.set_window_size(width, height).await;
        let viewport = browser
            .execute("return [window.innerWidth, window.innerHeight];", &[])
            .await;
        assert_eq!(viewport, json!([width, height]));
        let shot = browser
            .screenshot(&format!("api-docs-{width}x{height}"))
            .await;
        assert_eq!(png_size(&shot), (width, height), "{}", shot.display());
        browser
            .assert_accessible(&format!("api-docs-{width}x{height}"))
            .await;
    }
}

#[tokio::test]
async fn a_form_is_filled_in_and_sent_in_finnish() {
    let Some(browser) = Browser::start_with(BrowserOptions {
        lang: "fi",
        width: 360,
        height: 800,
    })
    .await
    else {
        return;
    };
    let site = serve(
        Router::new()
            .route("/", get(|| async { Html(DEAL_FORM) }))
            .route("/deals", axum::routing::post(register_deal)),
    )
    .await;

    browser.goto(&format!("http://{site}/")).await;
    assert_eq!(browser.title().await, "Register a deal");
    assert_eq!(browser.find_all("form input").await.len(), 3);
    let customer = browser.find("#customer").await;
    assert_eq!(customer.attr("value").await.as_deref(), Some("Example Ltd"));
    customer.clear().await;
    customer.send_keys("Mäkelä & Co Oy").await;
    assert_eq!(customer.property("value").await, "Mäkelä & Co Oy");
    browser.find("#seats").await.send_keys("12").await;
    let renewal = browser.find("#renewal").await;
    renewal.click().await;
    assert_eq!(renewal.property("checked").await, true);
    let said = browser
        .execute(
            "return arguments[0].name + ' ' + navigator.language;",
            &[customer.as_arg()],
        )
        .await;
    assert_eq!(said, "customer fi");
    browser.assert_accessible("deal-form").await;

    browser.find("button[type=submit]").await.click().await;
    let result = browser.wait_for("#result", Duration::from_secs(10)).await;
    assert_eq!(
        result.text().await,
        "Registered 12 seats for Mäkelä & Co Oy, a renewal."
    );
    assert_eq!(browser.current_url().await, format!("http://{site}/deals"));
    let asked = browser.find("#accept-language").await.text().await;
    assert!(asked.starts_with("fi"), "Accept-Language: {asked}");
    assert!(browser.page_source().await.contains("Mäkelä &amp; Co Oy"));

    let cookies = browser.cookies().await;
    let last = cookies
        .iter()
        .find(|c| c.name == "last_deal")
        .unwrap_or_else(|| panic!("no last_deal cookie in {cookies:?}"));
    assert_eq!(last.value, "12");
    assert!(last.http_only);
    browser.delete_cookie("last_deal").await;
    assert!(
        browser
            .cookies()
            .await
            .iter()
            .all(|c| c.name != "last_deal"),
        "the cookie outlived its deletion"
    );
}

#[tokio::test]
async fn axe_names_every_serious_fault_of_a_careless_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = serve(Router::new().route("/", get(|| async { Html(CARELESS_PAGE) }))).await;
    browser.goto(&format!("http://{site}/")).await;

    let violations = browser.axe().await;
    for (rule, impact, target) in [
        ("html-has-lang", Impact::Serious, "html"),
        ("image-alt", Impact::Critical, "img"),
        ("label", Impact::Critical, "#unlabelled"),
    ] {
        let violation = violations
            .iter()
            .find(|v| v.id == rule)
            .unwrap_or_else(|| panic!("{rule} not reported: {violations:#?}"));
        assert_eq!(violation.impact, Some(impact), "{violation}");
        assert_eq!(violation.nodes.len(), 1, "{violation}");
        assert_eq!(violation.nodes[0].target, target, "{violation}");
        assert!(violation.help_url.contains(rule), "{violation}");
    }

    // The assertion fails the test and says why; run it on a task of its
    // own to see it fail.
    let failed = tokio::spawn(async move { browser.assert_accessible("careless-page").await })
        .await
        .expect_err("a page breaking three serious rules passed");
    let report = failed.into_panic();
    let report = report
        .downcast_ref::<String>()
        .expect("the report is a message");
    for expected in [
        "careless-page",
        "3 serious or critical",
        "html-has-lang",
        "image-alt",
        "#unlabelled",
        "careless-page-inaccessible.png",
    ] {
        assert!(
            report.contains(expected),
            "{expected} missing from {report}"
        );
    }
}

const DEAL_FORM: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Register a deal</title></head>
<body><main><h1>Register a deal</h1>
<form method="post" action="/deals">
<p><label for="customer">Customer</label> <input id="customer" name="customer" value="Example Ltd"></p>
<p><label for="seats">Seats</label> <input id="seats" name="seats" type="number"></p>
<p><input id="renewal" name="renewal" type="checkbox"> <label for="renewal">Renewal</label></p>
<button type="submit">Register</button>
</form></main></body></html>"#;

/// No language, an image without text and a field without a label.
const CARELESS_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Careless</title></head>
<body><main><h1>Careless</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input id="unlabelled" name="q">
</main></body></html>"#;

async fn register_deal(headers: HeaderMap, body: String) -> impl IntoResponse {
    let field = |name: &str| {
        url::form_urlencoded::parse(body.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let customer = field("customer").unwrap_or_default();
    let seats = field("seats").unwrap_or_default();
    let renewal = if field("renewal").as_deref() == Some("on") {
        ", a renewal"
    } else {
        ""
    };
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let digits: String = seats.chars().filter(char::is_ascii_digit).collect();
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Registered</title></head>
<body><main><p id="result">Registered {} seats for {}{renewal}.</p>
<p id="accept-language">{}</p></main></body></html>"#,
        escape(&seats),
        escape(&customer),
        escape(language),
    );
    (
        [(
            header::SET_COOKIE,
            format!("last_deal={digits}; Path=/; HttpOnly; SameSite=Lax"),
        )],
        Html(page),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Serves `router` on a free loopback port for as long as the test runs.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A PNG's width and height, from its header.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let png = std::fs::read(path).unwrap();
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (number(16), number(20))
}
