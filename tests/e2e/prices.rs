//! The prices page a reseller can trust: each item's figures worked out by
//! hand from the vendor's terms and the partner's sell rules, the discounts
//! and the sell rule named, a price above list flagged, what a registered
//! deal adds shown once with one sign, and the columns sorting.

use reqwest::Method;
use serde_json::json;

use crate::harness::Backend;
use crate::portal::{GOLD_OWNER, PASSWORD, Visitor, set_password};
use crate::world::{World, on_both_backends, read};

on_both_backends!(the_prices_page_explains_each_figure_and_what_a_deal_adds);

/// The text of the table row of `sku`.
fn row<'a>(body: &'a str, sku: &str) -> &'a str {
    let at = body
        .find(sku)
        .unwrap_or_else(|| panic!("{sku} on the page"));
    let start = body[..at].rfind("<tr").unwrap();
    let end = at + body[at..].find("</tr>").unwrap();
    &body[start..end]
}

async fn the_prices_page_explains_each_figure_and_what_a_deal_adds(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    // Gold gets 20 % off list; the toner has a 10 % promotion on top.
    let (status, body) = w
        .call(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026",
            &w.v1.token,
            Some(json!({
                "name": "EU 2026", "currency": "EUR",
                "tier_discounts": [{"tier": "gold", "discount": "20"}],
                "promotions": [{"name": "Toner week", "window": {"starts_on": "2020-01-01", "ends_on": "2099-12-31"},
                                "discount": "10", "category": "toner"}],
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let items = [
        json!({"sku": "PRN-1", "name": "Office printer", "category": "printers", "list_price": "200.00"}),
        json!({"sku": "TON-1", "name": "Black toner", "category": "toner", "list_price": "50.00"}),
        json!({"sku": "SRV-1", "name": "Install service", "category": "services", "list_price": "80.00"}),
    ]
    .iter()
    .map(|i| format!("{i}\n"))
    .collect::<String>();
    let response = w
        .request(
            Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026/items",
            &w.v1.token,
        )
        .header("content-type", "application/x-ndjson")
        .body(items)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");

    // Printers at list −5 % for this vendor; services at cost +30 %, which
    // comes out above list; toner has no rule and sells at list.
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let v1 = w.v1.id.to_string();
    for (vendor, category, method, percent) in [
        (v1.as_str(), "printers", "discount", "5"),
        ("", "services", "markup", "30"),
    ] {
        let added = owner
            .submit(
                "/settings/pricing",
                "/settings/sell-rules",
                &[
                    ("vendor", vendor),
                    ("category", category),
                    ("method", method),
                    ("percent", percent),
                ],
            )
            .await;
        assert!(added.status < 400, "{}", added.body);
    }

    let page = owner.get("/prices?discount=4").await;
    assert_eq!(page.status, 200, "{}", page.body);
    // Printer: cost 200 × 0.8 = 160.00; sell 200 × 0.95 = 190.00; margin
    // 30.00, 15.79 %. A 4 % deal takes 6.40 off the cost: +6.40.
    let printer = row(&page.body, "PRN-1");
    for shown in [
        "160.00",
        "190.00",
        "30.00",
        "15.79",
        "+6.40",
        "tier −20 %",
        "sells at list −5 %",
        "Vendor One, printers",
    ] {
        assert!(printer.contains(shown), "printer: {shown} in {printer}");
    }
    assert!(!printer.contains("above list"));
    // Toner: cost 50 × 0.8 × 0.9 = 36.00, sold at list 50.00; +1.44.
    let toner = row(&page.body, "TON-1");
    for shown in [
        "36.00",
        "50.00",
        "14.00",
        "+1.44",
        "promotion −10 % (Toner week)",
        "sells at list price (no sell rule)",
    ] {
        assert!(toner.contains(shown), "toner: {shown} in {toner}");
    }
    // Service: cost 64.00, sold at 64 × 1.3 = 83.20 over its 80.00 list.
    let service = row(&page.body, "SRV-1");
    for shown in ["64.00", "83.20", "above list", "sells at cost +30 %"] {
        assert!(service.contains(shown), "service: {shown} in {service}");
    }
    // Never two signs.
    assert!(
        !page.body.contains("+-") && !page.body.contains("+−"),
        "a doubled sign"
    );

    // The API explains the same.
    let (status, listed) = w
        .call(
            Method::GET,
            "/api/v1/price-items?q=SRV-1",
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let how = &listed["items"][0]["how"];
    assert_eq!(how["tier_discount"], "20");
    assert_eq!(how["sell_rule"]["method"], "markup-on-cost");
    assert_eq!(how["sell_rule"]["percent"], "30");
    assert_eq!(how["above_list"], true);

    // The margin column sorts, highest first: printer 30.00, toner 14.00,
    // service 19.20.
    let by_margin = owner.get("/prices?sort=margin").await;
    let order: Vec<usize> = ["PRN-1", "SRV-1", "TON-1"]
        .iter()
        .map(|s| by_margin.body.find(s).unwrap())
        .collect();
    assert!(order.windows(2).all(|p| p[0] < p[1]), "{order:?}");
    assert!(by_margin.body.contains(r#"aria-sort="descending""#));
}
