//! Input PostgreSQL cannot store: NUL in JSON strings and keys, query
//! parameters, addresses and form fields is refused with 4xx naming where,
//! the same on both backends, and never reaches the database.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::world::{World, on_both_backends, read};

on_both_backends!(nul_is_refused_with_a_4xx_wherever_it_is_sent);

async fn nul_is_refused_with_a_4xx_wherever_it_is_sent(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    // A deal registration's free-form fields.
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.gold.token,
            Some(json!({
                "vendor_ids": [w.v1.id],
                "title": "Printers",
                "customer": {"name": "Customer Oy", "country": "FI"},
                "amount": {"value": "100.00", "currency": "EUR"},
                "fields": {"reseller_account": "R-\u{0}1"}
            })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["errors"][0]["pointer"], "#/fields/reseller_account",
        "{body}"
    );
    // A key holding NUL.
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.gold.token,
            Some(json!({"vendor_ids": [w.v1.id], "fields": {"a\u{0}b": "x"}})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // A webhook sink's address.
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            &w.gold.token,
            Some(json!({"target": {"purpose": "crm-sink"}, "connector": "webhook", "name": "CRM hook",
                "settings": {"url": "https://crm.example/\u{0}hook"}})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // Query parameters: a lead search and a price-item cursor.
    for path in ["/api/v1/leads?q=a%00b", "/api/v1/price-items?cursor=%00"] {
        let response = w
            .request(Method::GET, path, &w.gold.token)
            .send()
            .await
            .unwrap();
        let (status, body): (u16, Value) = read(response).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(
            body["type"], "https://onepane.dev/problems/bad-request",
            "{body}"
        );
    }
    // The portal: a login form and a search.
    let response = w
        .app
        .client
        .post(w.app.url("/login"))
        .header("accept", "text/html")
        .form(&[("email", "a\u{0}b@acme.example"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = w
        .app
        .client
        .get(w.app.url("/leads?q=%00"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Nothing reached the database: the workspace has no registration.
    let (status, body) = w
        .call(
            Method::GET,
            "/api/v1/deal-registrations",
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(0), "{body}");
}

on_both_backends!(headers_redirects_and_foreign_forms_hold_from_outside);

/// The login form's CSRF cookie and token, fresh.
async fn login_form(client: &reqwest::Client, base: &str) -> (String, String) {
    let page = client
        .get(format!("{base}/login"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let token = crate::portal::csrf(&page.text().await.unwrap());
    (cookie, token)
}

async fn headers_redirects_and_foreign_forms_hold_from_outside(backend: Backend) {
    let Some(w) = World::with_config(backend, |c| onepane_server::Config {
        public_url: Some("https://pane.example.com".parse().unwrap()),
        ..c
    })
    .await
    else {
        return;
    };
    // Every answer, JSON included: no sniffing; HTTPS only, as the public
    // URL is https.
    let json = w
        .request(Method::GET, "/api/v1/leads", &w.gold.token)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        json.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = w.app.url("");
    // A form posted from another site is refused, its token right or not.
    let (cookie, token) = login_form(&client, &base).await;
    let foreign = client
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "nobody@acme.example"),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    // The same form from this site is taken (the login fails, as it should).
    let own = client
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .header("origin", "https://pane.example.com")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "nobody@acme.example"),
            ("password", "x"),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_ne!(own.status(), 403);
    // The login page carries only a plain local path on.
    let page = client
        .get(format!("{base}/login?next=/%09/evil.example"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("evil.example"), "the next path was kept");
    // Throttled logins say when to try again.
    let mut throttled = None;
    for _ in 0..8 {
        let (cookie, token) = login_form(&client, &base).await;
        let answer = client
            .post(format!("{base}/login"))
            .header("cookie", &cookie)
            .form(&[
                ("_csrf", token.as_str()),
                ("email", "held@acme.example"),
                ("password", "wrong"),
            ])
            .send()
            .await
            .unwrap();
        if answer.status() == 429 {
            throttled = Some(answer);
            break;
        }
    }
    let throttled = throttled.expect("failed logins were never held");
    assert!(throttled.headers().contains_key("retry-after"));
}
