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
