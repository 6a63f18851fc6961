//! The vendor scorecard over HTTP on both backends: the partner's figures
//! in the API, the portal's side-by-side page, its CSV and a member's
//! rating; the vendor's aggregate, which shows nothing fewer than five
//! partners contributed to.

use reqwest::Method;
use serde_json::json;

use crate::harness::Backend;
use crate::portal::{PASSWORD, REGISTERED_OWNER, Visitor, set_password};
use crate::world::{World, on_both_backends};

on_both_backends!(a_partner_scores_its_vendors_and_a_vendor_learns_only_aggregates);

async fn a_partner_scores_its_vendors_and_a_vendor_learns_only_aggregates(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let (v1, v2) = (w.v1.id.to_string(), w.v2.id.to_string());
    // Registered registers a deal with vendor one, which approves it.
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.registered.token,
            Some(json!({
                "vendor_ids": [v1],
                "title": "Printers for Kesko",
                "customer": {"name": "Kesko", "domain": "kesko.fi", "country": "FI"},
                "amount": {"value": "9000.00", "currency": "EUR"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["registrations"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/deal-registrations/{id}/decision"),
            &w.v1.token,
            Some(json!({"decision": "approved", "protection_expires_on": "2099-03-31"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // The partner's scorecards: one per vendor, in the API.
    let (status, cards) = w
        .call(Method::GET, "/api/v1/scorecards", &w.registered.token, None)
        .await;
    assert_eq!(status, 200, "{cards}");
    let items = cards["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{cards}");
    let one = items
        .iter()
        .find(|c| c["vendor_id"] == v1.as_str())
        .unwrap();
    assert_eq!(one["registrations_submitted"], 1, "{one}");
    assert_eq!(one["registrations_decided"], 1, "{one}");
    assert_eq!(one["approval_rate"], 1.0, "{one}");
    assert_eq!(one["protections_granted"], 1, "{one}");
    let two = items
        .iter()
        .find(|c| c["vendor_id"] == v2.as_str())
        .unwrap();
    assert_eq!(two["registrations_submitted"], 0, "{two}");
    assert_eq!(two["decision_hours_median"], json!(null), "{two}");
    // Gold registered nothing: its scorecard of vendor one is empty.
    let (_, gold) = w
        .call(Method::GET, "/api/v1/scorecards", &w.gold.token, None)
        .await;
    assert_eq!(gold["items"][0]["registrations_submitted"], 0, "{gold}");
    // A period that ends before it starts, and a day that is no day.
    let (status, problem) = w
        .call(
            Method::GET,
            "/api/v1/scorecards?from=2026-12-31&to=2026-01-01",
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "to", "{problem}");
    let (status, _) = w
        .call(
            Method::GET,
            "/api/v1/scorecards?from=yesterday",
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(status, 400);

    // Vendor one has two partners: no figure of theirs shows, and there is
    // no median vendor to compare with.
    let (status, mine) = w
        .call(Method::GET, "/api/v1/vendor/scorecard", &w.v1.token, None)
        .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["partners"], 2, "{mine}");
    assert_eq!(mine["own"]["vendor_id"], v1.as_str());
    assert_eq!(mine["own"]["registrations_decided"], json!(null), "{mine}");
    assert_eq!(mine["own"]["approval_rate"], json!(null), "{mine}");
    assert_eq!(mine["median_vendor"]["approval_rate"], json!(null));
    assert!(
        !mine.to_string().contains(&w.registered.id.to_string()),
        "no partner is named: {mine}"
    );
    // A partner's token is not a vendor's.
    let (status, _) = w
        .call(
            Method::GET,
            "/api/v1/vendor/scorecard",
            &w.registered.token,
            None,
        )
        .await;
    assert!(status == 401 || status == 403, "{status}");

    // The portal: vendors side by side, a rating, the CSV.
    set_password(&w.app, REGISTERED_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(REGISTERED_OWNER, PASSWORD).await.status, 303);
    let page = owner.get("/scorecards").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Vendor One") && page.body.contains("Vendor Two"));
    assert!(page.body.contains("Approval rate"), "{}", page.body);
    assert!(page.body.contains("100 %"), "{}", page.body);
    let form = format!("/scorecards/{v1}/rate");
    // A score out of range and a note without a score are refused beside
    // their areas, with what was typed kept.
    let wrong = owner
        .submit(
            &form,
            &form,
            &[
                ("score-brand", "9"),
                ("score-support", ""),
                ("note-support", "Kept note"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"error-brand\""), "{}", wrong.body);
    assert!(
        wrong.body.contains("id=\"error-support\""),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("Kept note"));
    let rated = owner
        .submit(
            &form,
            &form,
            &[("score-support", "5"), ("note-support", "Quick answers")],
        )
        .await;
    assert_eq!(rated.status, 303, "{}", rated.body);
    assert_eq!(rated.location.as_deref(), Some("/scorecards?done=rated"));
    let page = owner.get("/scorecards?done=rated").await;
    assert!(page.body.contains("Your rating is saved."), "{}", page.body);
    assert!(page.body.contains("5.00 (1)"), "{}", page.body);
    // The form shows this quarter's rating again.
    let again = owner.get(&form).await;
    assert!(again.body.contains("Quick answers"), "{}", again.body);
    // A vendor the workspace is not linked to cannot be rated.
    let unknown = owner
        .get(&format!(
            "/scorecards/{}/rate",
            onepane_domain::VendorId::new()
        ))
        .await;
    assert_eq!(unknown.status, 404);
    // A bad period is said beside the fields.
    let bad = owner.get("/scorecards?from=2026-12-31&to=2026-01-01").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("ends before it starts"), "{}", bad.body);
    // The CSV: a header and a row per vendor, the rating in it.
    let csv = owner.get("/scorecards.csv").await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[0].starts_with("vendor,vendor_id,from,to,registrations_submitted"));
    let row = lines.iter().find(|l| l.contains(&v1)).unwrap();
    assert!(row.starts_with("Vendor One,"), "{row}");
    assert!(row.contains(",5,1,"), "support 5 from one rating: {row}");

    // The vendor still learns nothing: one rater is not five.
    let (_, mine) = w
        .call(Method::GET, "/api/v1/vendor/scorecard", &w.v1.token, None)
        .await;
    assert_eq!(mine["own"]["ratings"], json!([]), "{mine}");
}
