//! The API, played by vendors and partners over HTTP on a real server and
//! a fresh database of each backend.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::world::{World, on_both_backends, read};

on_both_backends!(
    a_campaign_for_gold_reaches_gold_partners_only,
    a_price_list_of_fifty_thousand_items_is_priced_with_exact_margins,
    a_deal_registration_goes_partner_to_vendor_and_back,
    webhooks_arrive_signed_and_are_retried_when_the_receiver_fails,
    idempotency_keys_replay_refuse_and_stay_per_client,
    leads_sent_by_a_vendor_are_listed_filtered_and_accepted,
    publishing_with_no_partner_linked_reaches_no_one_yet,
    a_price_list_changes_by_the_item_and_content_reaches_by_region,
);

fn campaign_body(tiers: &[&str]) -> Value {
    json!({
        "audience": {"tiers": tiers},
        "variants": [
            {"locale": "en", "name": "Spring print", "description": "Toner deals",
             "landing": {"headline": "Print smarter", "body": "Save on toner this spring.", "call_to_action": "Contact me"}},
            {"locale": "fi", "name": "Kevään tulostus",
             "landing": {"headline": "Tulosta fiksummin", "body": "Säästä värikasetteja.", "call_to_action": "Ota yhteyttä"}}
        ]
    })
}

async fn a_campaign_for_gold_reaches_gold_partners_only(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/campaigns/spring-2026",
            &w.v1.token,
            Some(campaign_body(&["gold"])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["external_id"], "spring-2026");
    assert_eq!(
        body["workspaces"], 1,
        "stored once, it reaches the one gold partner of the two linked"
    );

    // Gold sees it, Registered does not.
    let (_, gold) = w
        .call(Method::GET, "/api/v1/campaigns", &w.gold.token, None)
        .await;
    let items = gold["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{gold}");
    assert_eq!(items[0]["external_id"], "spring-2026");
    let (_, reg) = w
        .call(Method::GET, "/api/v1/campaigns", &w.registered.token, None)
        .await;
    assert_eq!(reg["items"].as_array().unwrap().len(), 0, "{reg}");

    // The registered partner cannot activate it even knowing its copy's id.
    let reg_copy = w
        .app
        .store
        .partner(w.registered.id)
        .activations()
        .await
        .unwrap();
    assert!(reg_copy.is_empty());
    let gold_id = items[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{gold_id}/activate"),
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Gold activates in one call and gets its landing page's address.
    let (status, act) = w
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{gold_id}/activate"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{act}");
    let slug = act["slug"].as_str().unwrap();
    assert_eq!(
        act["landing_url"],
        format!("http://{}/l/{slug}", w.app.addr)
    );
    // Activating again returns the same activation.
    let (_, again) = w
        .call(
            Method::POST,
            &format!("/api/v1/campaigns/{gold_id}/activate"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(again["id"], act["id"]);

    // The vendor's stats count it, with no lead data.
    let (status, stats) = w
        .call(
            Method::GET,
            "/api/v1/vendor/campaigns/spring-2026/stats",
            &w.v1.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        stats,
        json!({"external_id": "spring-2026", "workspaces": 1, "activations": 1, "leads": 0})
    );

    // Archiving stops it for everyone.
    let (status, archived) = w
        .call(
            Method::DELETE,
            "/api/v1/vendor/campaigns/spring-2026",
            &w.v1.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{archived}");
    assert_eq!(archived["status"], "archived");
    let (_, gold) = w
        .call(Method::GET, "/api/v1/campaigns", &w.gold.token, None)
        .await;
    assert_eq!(gold["items"].as_array().unwrap().len(), 0, "{gold}");
}

async fn a_price_list_of_fifty_thousand_items_is_priced_with_exact_margins(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let terms = json!({
        "name": "EU 2026",
        "currency": "EUR",
        "tier_discounts": [{"tier": "gold", "discount": "20"}, {"tier": "registered", "discount": "5"}]
    });
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026",
            &w.v1.token,
            Some(terms),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // 50,000 items as NDJSON: SKU-00000 .. SKU-49999, list price 10.00 + n cents.
    let n = 50_000;
    let mut ndjson = String::with_capacity(n * 120);
    for i in 0..n {
        let price = format!("{}.{:02}", 10 + i / 100, i % 100);
        ndjson.push_str(
            &json!({"sku": format!("SKU-{i:05}"), "name": format!("Item {i}"), "category": if i % 2 == 0 { "printers" } else { "toner" }, "list_price": price})
                .to_string(),
        );
        ndjson.push('\n');
    }
    let response = w
        .request(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026/items",
            &w.v1.token,
        )
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"external_id": "eu-2026", "items": 50_000}));

    // The vendor pages through all of it by cursor.
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    let mut last_sku = String::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/vendor/price-lists/eu-2026/items?limit=5000&cursor={c}"),
            None => "/api/v1/vendor/price-lists/eu-2026/items?limit=5000".to_owned(),
        };
        let (status, page) = w.call(Method::GET, &path, &w.v1.token, None).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            let sku = item["item"]["sku"].as_str().unwrap().to_owned();
            assert!(sku > last_sku, "pages are in SKU order without repeats");
            last_sku = sku;
            seen += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, n);

    // Gold: cost = list × 0.8, sell = list (no sell rule), margin = 20 %.
    // The two dearest items tie at a margin of 102.00 once rounded
    // (509.98 and 509.99); ties go by SKU.
    let (status, page) = w
        .call(
            Method::GET,
            "/api/v1/price-items?sort=margin&limit=3",
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let top = &page["items"][0];
    assert_eq!(top["sku"], "SKU-49998");
    assert_eq!(
        top["list_price"],
        json!({"value": "509.98", "currency": "EUR"})
    );
    assert_eq!(
        top["item_currency"],
        json!({"currency": "EUR", "cost": "407.98", "sell": "509.98", "margin": "102.00", "margin_percent": "20.00"})
    );
    assert_eq!(
        top["home_currency"], top["item_currency"],
        "home currency is EUR too"
    );
    assert_eq!(page["items"][1]["sku"], "SKU-49999");
    assert_eq!(page["items"][1]["item_currency"]["cost"], "407.99");
    // Then five items tie at 101.99 (509.93 to 509.97); the first by SKU.
    assert_eq!(page["items"][2]["sku"], "SKU-49993");
    assert_eq!(page["items"][2]["item_currency"]["margin"], "101.99");
    assert!(page["next_cursor"].is_string());

    // Registered gets 5 % only. Margins of 25.50 run from 509.91
    // (× 0.95 = 484.4145 → 484.41) to 509.99; 509.90 gives 484.41 too, so
    // only 25.49. The first by SKU leads.
    let (_, page) = w
        .call(
            Method::GET,
            "/api/v1/price-items?sort=margin&limit=1",
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(page["items"][0]["sku"], "SKU-49991");
    assert_eq!(page["items"][0]["item_currency"]["cost"], "484.41");
    assert_eq!(page["items"][0]["item_currency"]["margin"], "25.50");

    // Filters: category and text; a registered-deal discount adds margin.
    let (_, page) = w
        .call(
            Method::GET,
            "/api/v1/price-items?category=toner&q=sku-0000&deal_discount=10",
            &w.gold.token,
            None,
        )
        .await;
    let skus: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(
        skus,
        [
            "SKU-00001",
            "SKU-00003",
            "SKU-00005",
            "SKU-00007",
            "SKU-00009"
        ]
    );
    // 10.01 × 0.8 × 0.9 = 7.2072 → 7.21; margin 2.80.
    assert_eq!(page["items"][0]["item_currency"]["cost"], "7.21");
    assert_eq!(page["items"][0]["item_currency"]["margin"], "2.80");

    // Priced figures follow every change at once: a tier, a sell rule, the items.
    let (status, _) = w
        .call(
            Method::PUT,
            &format!("/api/v1/vendor/partners/{}/tier", w.gold.id),
            &w.v1.token,
            Some(json!({"tier": "registered"})),
        )
        .await;
    assert_eq!(status, 200);
    let top = |page: &Value| page["items"][0]["item_currency"].clone();
    let (_, page) = w
        .call(
            Method::GET,
            "/api/v1/price-items?sort=margin&limit=1",
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(
        top(&page)["cost"],
        "484.41",
        "the new tier's discount: {page}"
    );
    w.app
        .store
        .partner(w.gold.id)
        .put_sell_rule(
            &Default::default(),
            onepane_domain::price::SellMethod::MarkupOnCost(
                onepane_domain::price::Markup::new("10".parse().unwrap()).unwrap(),
            ),
        )
        .await
        .unwrap();
    let (_, page) = w
        .call(
            Method::GET,
            "/api/v1/price-items?q=sku-49999",
            &w.gold.token,
            None,
        )
        .await;
    // Cost 484.49 (509.99 × 0.95 = 484.4905) marked up 10 %: 532.939 → 532.94.
    assert_eq!(top(&page)["cost"], "484.49", "{page}");
    assert_eq!(top(&page)["sell"], "532.94", "{page}");
    assert_eq!(top(&page)["margin"], "48.45", "{page}");
    let response = w
        .request(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026/items",
            &w.v1.token,
        )
        .json(&json!([{"sku": "ONLY-1", "name": "Only", "list_price": "100.00"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, page) = w
        .call(Method::GET, "/api/v1/price-items", &w.gold.token, None)
        .await;
    let skus: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["ONLY-1"]);
}

fn deal_body(vendors: &[String]) -> Value {
    json!({
        "vendor_ids": vendors,
        "title": "Printers for Customer Oy",
        "customer": {"name": "Customer Oy", "domain": "customer.example", "country": "FI"},
        "amount": {"value": "12500.50", "currency": "EUR"},
        "products": [],
        "fields": {"reseller_account": "R-1"}
    })
}

async fn a_deal_registration_goes_partner_to_vendor_and_back(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    // One opportunity, two vendors: one registration each.
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.registered.token,
            Some(deal_body(&[w.v1.id.to_string(), w.v2.id.to_string()])),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let regs = body["registrations"].as_array().unwrap();
    assert_eq!(regs.len(), 2);
    let to_v1 = regs
        .iter()
        .find(|r| r["vendor_id"] == w.v1.id.to_string())
        .unwrap();
    let id = to_v1["id"].as_str().unwrap().to_owned();
    assert_eq!(to_v1["status"], "submitted");
    assert_eq!(
        to_v1["details"]["amount"],
        json!({"value": "12500.50", "currency": "EUR"})
    );

    // Vendor one sees exactly its own registration.
    let (_, list) = w
        .call(
            Method::GET,
            "/api/v1/vendor/deal-registrations?status=submitted",
            &w.v1.token,
            None,
        )
        .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);

    // It approves with protection and an extra discount.
    let (status, decided) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/deal-registrations/{id}/decision"),
            &w.v1.token,
            Some(json!({"decision": "approved", "reason": "Welcome", "protection_expires_on": "2027-03-31", "extra_discount": "7.5"})),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "approved");
    // A second decision is refused.
    let (status, problem) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/deal-registrations/{id}/decision"),
            &w.v1.token,
            Some(json!({"decision": "rejected", "reason": "changed my mind"})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");

    // The partner sees the decision and is told.
    let (_, reg) = w
        .call(
            Method::GET,
            &format!("/api/v1/deal-registrations/{id}"),
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(reg["status"], "approved");
    assert_eq!(reg["protection_expires_on"], "2027-03-31");
    assert_eq!(reg["extra_discount"], "7.5");
    let (_, notes) = w
        .call(
            Method::GET,
            "/api/v1/notifications?unread=true",
            &w.registered.token,
            None,
        )
        .await;
    let decided_note = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "deal-decided")
        .unwrap_or_else(|| panic!("no deal-decided notification in {notes}"))
        .clone();
    let (status, _) = w
        .call(
            Method::POST,
            &format!(
                "/api/v1/notifications/{}/read",
                decided_note["id"].as_str().unwrap()
            ),
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, notes) = w
        .call(
            Method::GET,
            "/api/v1/notifications?unread=true",
            &w.registered.token,
            None,
        )
        .await;
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != decided_note["id"])
    );

    // Updated-since narrows the vendor's poll.
    let later = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let (status, list) = w
        .call(
            Method::GET,
            &format!(
                "/api/v1/vendor/deal-registrations?updated_since={}",
                later.replace('+', "%2B")
            ),
            &w.v1.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // A vendor the workspace is not linked to is refused, and nothing is registered.
    let before = w
        .app
        .store
        .partner(w.gold.id)
        .deal_registrations()
        .await
        .unwrap()
        .len();
    let (status, _) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.gold.token,
            Some(deal_body(&[w.v1.id.to_string(), w.v2.id.to_string()])),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        w.app
            .store
            .partner(w.gold.id)
            .deal_registrations()
            .await
            .unwrap()
            .len(),
        before
    );
}

/// A local webhook receiver that fails the first `fail_first` requests.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receiver(fail_first: usize) -> Receiver {
    let seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = Arc::clone(&log);
            async move {
                let mut log = log.lock().unwrap();
                log.push((headers, body));
                if log.len() <= fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/hook"),
        seen,
    }
}

async fn webhooks_arrive_signed_and_are_retried_when_the_receiver_fails(backend: Backend) {
    let Some(w) = World::with_config(backend, |c| onepane_server::Config {
        webhook_retry_base: Duration::from_millis(100),
        ..c
    })
    .await
    else {
        return;
    };
    // The metadata service and private networks are not receivers.
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://[::ffff:192.168.0.1]/",
    ] {
        let (status, problem) = w
            .call(
                Method::PUT,
                "/api/v1/vendor/webhooks",
                &w.v1.token,
                Some(json!({"url": url, "events": ["lead.accepted"]})),
            )
            .await;
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], "#/url");
    }
    let hook = receiver(1).await;
    let (status, sub) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/webhooks",
            &w.v1.token,
            Some(json!({"url": hook.url, "events": ["deal-registration.submitted", "lead.accepted"]})),
        )
        .await;
    assert_eq!(status, 200, "{sub}");
    let secret = sub["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    // The secret is shown once.
    let (_, again) = w
        .call(Method::GET, "/api/v1/vendor/webhooks", &w.v1.token, None)
        .await;
    assert!(again.get("secret").is_none(), "{again}");

    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.gold.token,
            Some(deal_body(&[w.v1.id.to_string()])),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let reg_id = body["registrations"][0]["id"].as_str().unwrap().to_owned();

    // The first attempt fails (500), the retry succeeds.
    let deadline = Instant::now() + Duration::from_secs(20);
    while hook.seen.lock().unwrap().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the webhook was not retried in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = hook.seen.lock().unwrap().clone();
    assert_eq!(seen[0].1, seen[1].1, "a retry sends the same body");
    for (headers, body) in &seen {
        assert_eq!(headers["onepane-event"], "deal-registration.submitted");
        let signature = headers["onepane-signature"].to_str().unwrap();
        assert!(onepane_server::webhooks::verify(
            secret.as_bytes(),
            signature,
            body,
            chrono::Utc::now(),
            300
        ));
        assert!(!onepane_server::webhooks::verify(
            b"whsec_wrong",
            signature,
            body,
            chrono::Utc::now(),
            300
        ));
    }
    let event: Value = serde_json::from_slice(&seen[0].1).unwrap();
    assert_eq!(event["type"], "deal-registration.submitted");
    assert_eq!(event["data"]["id"], reg_id);
    assert_eq!(event["data"]["vendor_id"], w.v1.id.to_string());

    // The delivery log tells the story.
    let deadline = Instant::now() + Duration::from_secs(10);
    let delivered = loop {
        let (_, log) = w
            .call(
                Method::GET,
                "/api/v1/vendor/webhooks/deliveries",
                &w.v1.token,
                None,
            )
            .await;
        let d = log["items"][0].clone();
        if d["status"] == "delivered" {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "not recorded as delivered: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(delivered["last_response_status"], 204);
    assert_eq!(delivered["event"], "deal-registration.submitted");
    // A delivered one cannot be redelivered; vendor two never sees it.
    let id = delivered["id"].as_str().unwrap();
    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/webhooks/deliveries/{id}/redeliver"),
            &w.v1.token,
            None,
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/webhooks/deliveries/{id}/redeliver"),
            &w.v2.token,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, log2) = w
        .call(
            Method::GET,
            "/api/v1/vendor/webhooks/deliveries",
            &w.v2.token,
            None,
        )
        .await;
    assert_eq!(log2["items"].as_array().unwrap().len(), 0, "{log2}");
}

async fn idempotency_keys_replay_refuse_and_stay_per_client(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let body = deal_body(&[w.v1.id.to_string()]);
    let send = |token: &str, key: &str, body: &Value| {
        w.request(Method::POST, "/api/v1/deal-registrations", token)
            .header("idempotency-key", key)
            .json(body)
            .send()
    };
    let first = send(&w.gold.token, "order-1", &body).await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = read(first).await;
    assert_eq!(status, 201, "{first}");

    // The same key and body: the first response again, nothing new registered.
    let second = send(&w.gold.token, "order-1", &body).await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let (status, second) = read(second).await;
    assert_eq!((status, &second), (201, &first));
    assert_eq!(
        w.app
            .store
            .partner(w.gold.id)
            .deal_registrations()
            .await
            .unwrap()
            .len(),
        1
    );

    // The same key with another body is refused.
    let mut other = body.clone();
    other["title"] = json!("Something else");
    let (status, problem) = read(send(&w.gold.token, "order-1", &other).await.unwrap()).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "Idempotency-Key");

    // Another workspace's client with the same key is independent.
    let (status, mine) = read(send(&w.registered.token, "order-1", &body).await.unwrap()).await;
    assert_eq!(status, 201, "{mine}");
    assert_ne!(
        mine["registrations"][0]["id"],
        first["registrations"][0]["id"]
    );

    // A request still running under a key makes a duplicate a 409.
    let key = onepane_store::IdempotencyKey {
        owner: onepane_store::KeyOwner::Workspace(w.gold.id),
        client: "in-flight-client",
        key: "k",
    };
    assert_eq!(
        w.app
            .store
            .claim_idempotency_key(key, b"digest")
            .await
            .unwrap(),
        onepane_store::Claim::Run
    );
    assert_eq!(
        w.app
            .store
            .claim_idempotency_key(key, b"digest")
            .await
            .unwrap(),
        onepane_store::Claim::InFlight
    );
    // Over HTTP: claim the key the partner's next request will use.
    let token_id = w
        .app
        .store
        .system()
        .access_token(&onepane_server::auth::credentials::token_digest(
            &w.gold.token,
        ))
        .await
        .unwrap()
        .unwrap()
        .id;
    let held = onepane_store::IdempotencyKey {
        owner: onepane_store::KeyOwner::Workspace(w.gold.id),
        client: &format!("token:{token_id}"),
        key: "order-2",
    };
    let digest = {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(b"POST /api/v1/deal-registrations\n");
        h.update(serde_json::to_vec(&body).unwrap());
        h.finalize()
    };
    assert_eq!(
        w.app
            .store
            .claim_idempotency_key(held, &digest)
            .await
            .unwrap(),
        onepane_store::Claim::Run
    );
    let (status, problem) = read(send(&w.gold.token, "order-2", &body).await.unwrap()).await;
    assert_eq!(status, 409, "{problem}");

    // A malformed key is a 400 naming the header.
    let (status, problem) = read(send(&w.gold.token, "", &body).await.unwrap()).await;
    assert_eq!(status, 400, "{problem}");
}

async fn leads_sent_by_a_vendor_are_listed_filtered_and_accepted(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    for (ext, name) in [
        ("crm-1", "Aino Virtanen"),
        ("crm-2", "Bo Berg"),
        ("crm-3", "Carl Cole"),
    ] {
        let (status, lead) = w
            .call(
                Method::POST,
                &format!("/api/v1/vendor/partners/{}/leads", w.gold.id),
                &w.v1.token,
                Some(json!({"external_id": ext, "contact": {"name": name, "email": format!("{ext}@customer.example")}})),
            )
            .await;
        assert_eq!(status, 201, "{lead}");
        assert_eq!(lead["status"], "new");
    }
    // Vendor two is not linked to gold: 404.
    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/partners/{}/leads", w.gold.id),
            &w.v2.token,
            Some(json!({"external_id": "x", "contact": {"name": "X"}})),
        )
        .await;
    assert_eq!(status, 404);

    // Pages of two, newest first, with a cursor.
    let (_, page1) = w
        .call(Method::GET, "/api/v1/leads?limit=2", &w.gold.token, None)
        .await;
    let names: Vec<&str> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["contact"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Carl Cole", "Bo Berg"]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = w
        .call(
            Method::GET,
            &format!("/api/v1/leads?limit=2&cursor={cursor}"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(page2["items"][0]["contact"]["name"], "Aino Virtanen");
    assert!(page2.get("next_cursor").is_none(), "{page2}");

    // Text search and status filter.
    let (_, found) = w
        .call(Method::GET, "/api/v1/leads?q=virtanen", &w.gold.token, None)
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let id = found["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, accepted) = w
        .call(
            Method::POST,
            &format!("/api/v1/leads/{id}/accept"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    let (_, new) = w
        .call(Method::GET, "/api/v1/leads?status=new", &w.gold.token, None)
        .await;
    assert_eq!(new["items"].as_array().unwrap().len(), 2);
    let (status, problem) = w
        .call(
            Method::GET,
            "/api/v1/leads?status=bogus",
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "status");
}

async fn publishing_with_no_partner_linked_reaches_no_one_yet(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let lonely = w
        .app
        .store
        .operator()
        .create_vendor(
            &onepane_domain::text::Name::parse("Lonely").unwrap(),
            onepane_domain::VendorKind::Vendor,
        )
        .await
        .unwrap();
    let (client, secret) =
        crate::world::api_client(&w.app, lonely.id, onepane_server::http::oauth::SCOPES).await;
    let token = crate::world::token(&w.app, &client, &secret, None).await;
    let asset = json!({"kind": "document", "variants": [{"locale": "en", "title": "Deck",
        "body": {"url": "https://vendor.example/deck.pdf"}}]});
    for (path, body) in [
        ("/api/v1/vendor/campaigns/spring", campaign_body(&[])),
        ("/api/v1/vendor/assets/deck", asset),
        (
            "/api/v1/vendor/price-lists/eu",
            json!({"name": "EU", "currency": "EUR"}),
        ),
    ] {
        let (status, body) = w.call(Method::PUT, path, &token, Some(body)).await;
        assert_eq!(status, 200, "{path}: {body}");
        if let Some(n) = body.get("workspaces") {
            assert_eq!(n, 0, "{path}: {body}");
        }
    }
    // Kept for the partners to come.
    let (_, listed) = w
        .call(Method::GET, "/api/v1/vendor/campaigns", &token, None)
        .await;
    assert_eq!(listed["items"][0]["external_id"], "spring");
    assert_eq!(listed["items"][0]["workspaces"], 0);
}

async fn a_price_list_changes_by_the_item_and_content_reaches_by_region(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let v = &w.v1.token;
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu",
            v,
            Some(json!({"name": "EU", "currency": "EUR"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let items = json!([
        {"sku": "A-1", "name": "One", "list_price": "10.00"},
        {"sku": "A-2", "name": "Two", "list_price": "20.00"},
        {"sku": "A-3", "name": "Three", "list_price": "30.00"},
    ]);
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu/items",
            v,
            Some(items),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // By the item, as NDJSON: one price changed, one item gone, one new.
    let ndjson = [
        json!({"sku": "A-1", "name": "One", "list_price": "11.00"}),
        json!({"sku": "A-2", "delete": true}),
        json!({"sku": "A-4", "name": "Four", "list_price": "40.00"}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect::<String>();
    let response = w
        .request(Method::PATCH, "/api/v1/vendor/price-lists/eu/items", v)
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"external_id": "eu", "upserted": 2, "deleted": 1, "items": 3})
    );
    let (_, page) = w
        .call(Method::GET, "/api/v1/vendor/price-lists/eu/items", v, None)
        .await;
    let listed: Vec<(&str, &str)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item"]["sku"].as_str().unwrap(),
                i["item"]["list_price"].as_str().unwrap(),
            )
        })
        .collect();
    // (Prices read back in their canonical form.)
    assert_eq!(listed, [("A-1", "11"), ("A-3", "30"), ("A-4", "40")]);
    let data = w.app.store.partner(w.gold.id).pricing().await.unwrap();
    assert_eq!(data.items.len(), 3, "the partner sees the list as changed");

    // All or nothing: a SKU twice, or a deletion that says false, changes nothing.
    for (bad, pointer) in [
        (
            json!([{"sku": "A-1", "delete": true}, {"sku": "A-1", "name": "x", "list_price": "1"}]),
            "#/1/sku",
        ),
        (json!([{"sku": "A-3", "delete": false}]), "#/0/delete"),
    ] {
        let (status, problem) = w
            .call(
                Method::PATCH,
                "/api/v1/vendor/price-lists/eu/items",
                v,
                Some(bad),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
    let (status, problem) = w
        .call(
            Method::PATCH,
            "/api/v1/vendor/price-lists/nope/items",
            v,
            Some(json!([{"sku": "A-1", "delete": true}])),
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    let (_, page) = w
        .call(Method::GET, "/api/v1/vendor/price-lists/eu/items", v, None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);

    // A region-limited asset reaches a partner once the vendor gives it the region.
    let asset = json!({"kind": "document", "audience": {"regions": ["nordics"]},
        "variants": [{"locale": "en", "title": "Nordic deck",
                      "body": {"url": "https://vendor.example/nordic.pdf"}}]});
    let (status, body) = w
        .call(Method::PUT, "/api/v1/vendor/assets/nordic", v, Some(asset))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["workspaces"], 0, "nobody covers the region yet");
    let titles = |who: &str| {
        let token = who.to_owned();
        let w = &w;
        async move {
            let (_, assets) = w.call(Method::GET, "/api/v1/assets", &token, None).await;
            assets["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| {
                    a["content"]["variants"][0]["title"]
                        .as_str()
                        .map(str::to_owned)
                })
                .collect::<Vec<_>>()
        }
    };
    assert!(
        !titles(&w.gold.token)
            .await
            .contains(&"Nordic deck".to_owned())
    );
    let (status, partner) = w
        .call(
            Method::PUT,
            &format!("/api/v1/vendor/partners/{}/regions", w.gold.id),
            v,
            Some(json!({"regions": ["nordics", "DACH"]})),
        )
        .await;
    assert_eq!(status, 200, "{partner}");
    assert_eq!(partner["regions"], json!(["DACH", "NORDICS"]));
    assert!(
        titles(&w.gold.token)
            .await
            .contains(&"Nordic deck".to_owned())
    );
    assert!(
        !titles(&w.registered.token)
            .await
            .contains(&"Nordic deck".to_owned()),
        "the other partner covers no region"
    );
    let (_, asset) = w
        .call(Method::GET, "/api/v1/vendor/assets/nordic", v, None)
        .await;
    assert_eq!(asset["workspaces"], 1);

    // The vendor pages through its partners by cursor.
    let (_, first) = w
        .call(Method::GET, "/api/v1/vendor/partners?limit=1", v, None)
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = w
        .call(
            Method::GET,
            &format!("/api/v1/vendor/partners?limit=1&cursor={cursor}"),
            v,
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_ne!(
        first["items"][0]["workspace_id"],
        second["items"][0]["workspace_id"]
    );
}
