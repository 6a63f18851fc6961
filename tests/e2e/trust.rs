//! Trust a partner can see, over HTTP: the access log of what each vendor
//! read and changed (API and portal, with CSV), and the partner pausing and
//! ending a vendor, which then gets 404 for the workspace everywhere.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::portal::{
    GOLD_OWNER, PASSWORD, Visitor, invitation_link, publish_campaign, send_lead, set_password,
};
use crate::world::{World, on_both_backends};

on_both_backends!(
    the_partner_reads_what_each_vendor_did_and_pauses_and_ends_it_through_the_api,
    an_admin_pauses_and_ends_a_vendor_in_the_portal_and_reads_the_access_log,
    a_persons_data_is_exported_and_erased_through_the_api_and_the_portal,
);

/// The partner's audit log through the API, with a query.
async fn audit(w: &World, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = w
        .call(Method::GET, &format!("/api/v1/audit{query}"), token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

async fn the_partner_reads_what_each_vendor_did_and_pauses_and_ends_it_through_the_api(
    backend: Backend,
) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let ws = w.registered.id;
    let token = &w.registered.token;
    // One deal for both vendors; vendor one lists, reads and decides its own.
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            token,
            Some(json!({
                "vendor_ids": [w.v1.id.to_string(), w.v2.id.to_string()],
                "title": "Printers for Oulu", "customer": {"name": "Oulu Works"},
                "amount": {"value": "1000.00", "currency": "EUR"},
                // A SKU no price list has names its vendor: each vendor is
                // sent only its own products.
                "products": [{"sku": "P-1", "quantity": 2, "vendor_id": w.v1.id.to_string()}],
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let regs = body["registrations"].as_array().unwrap();
    let id = regs
        .iter()
        .find(|r| r["vendor_id"] == w.v1.id.to_string())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, list) = w
        .call(
            Method::GET,
            "/api/v1/vendor/deal-registrations",
            &w.v1.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let one = format!("/api/v1/vendor/deal-registrations/{id}");
    assert_eq!(w.call(Method::GET, &one, &w.v1.token, None).await.0, 200);
    let (status, decided) = w
        .call(
            Method::POST,
            &format!("{one}/decision"),
            &w.v1.token,
            Some(json!({"decision": "rejected", "reason": "A registration exists"})),
        )
        .await;
    assert_eq!(status, 200, "{decided}");

    let v1_events = audit(&w, token, &format!("?vendor_id={}", w.v1.id)).await;
    assert_eq!(
        actions(&v1_events),
        [
            "deal-registration.decided",
            "deal-registration.read",
            "deal-registration.read"
        ],
        "newest first: {v1_events:?}"
    );
    for e in &v1_events {
        assert_eq!(
            e["actor"],
            json!({"type": "vendor", "id": w.v1.id.to_string()})
        );
        assert_eq!(e["client"], w.v1.client_id.to_string());
        assert_eq!(e["subject_kind"], "deal-registration");
        assert_eq!(e["subject"], id);
        assert_eq!(e["workspace_id"], ws.to_string());
    }
    assert_eq!(v1_events[1]["access"], "read");
    assert_eq!(v1_events[0]["access"], "write");
    // Vendor two read nothing; the other partner's log has none of this.
    assert!(
        audit(&w, token, &format!("?vendor_id={}", w.v2.id))
            .await
            .is_empty()
    );
    assert!(
        audit(&w, &w.gold.token, "?kind=deal-registration")
            .await
            .is_empty(),
        "another workspace's log"
    );
    // Paging and a kind that is not a kind.
    let first = audit(&w, token, &format!("?vendor_id={}&limit=1", w.v1.id)).await;
    let (_, page) = w
        .call(
            Method::GET,
            &format!("/api/v1/audit?vendor_id={}&limit=1", w.v1.id),
            token,
            None,
        )
        .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let second = audit(
        &w,
        token,
        &format!("?vendor_id={}&limit=1&cursor={cursor}", w.v1.id),
    )
    .await;
    assert_eq!(actions(&first), ["deal-registration.decided"]);
    assert_eq!(actions(&second), ["deal-registration.read"]);
    let (status, problem) = w
        .call(Method::GET, "/api/v1/audit?kind=DROP%20TABLE", token, None)
        .await;
    assert_eq!(status, 400, "{problem}");

    // Pausing: the vendor gets 404 for the workspace everywhere.
    let status_path = format!("/api/v1/vendors/{}/status", w.v1.id);
    let (status, view) = w
        .call(
            Method::PUT,
            &status_path,
            token,
            Some(json!({"status": "paused"})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "paused");
    let (status, _) = w.call(Method::GET, &one, &w.v1.token, None).await;
    assert_eq!(status, 404);
    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/partners/{ws}/leads"),
            &w.v1.token,
            Some(json!({"external_id": "L-9", "contact": {"name": "Pia Paused"}})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .call(
            Method::PUT,
            &format!("/api/v1/vendor/partners/{ws}/tier"),
            &w.v1.token,
            Some(json!({"tier": "gold"})),
        )
        .await;
    assert_eq!(status, 404);
    let (_, partners) = w
        .call(Method::GET, "/api/v1/vendor/partners", &w.v1.token, None)
        .await;
    assert!(
        partners["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["workspace_id"] != ws.to_string()),
        "{partners}"
    );
    // The partner still lists the vendor, paused, and its own registration.
    let (_, vendors) = w.call(Method::GET, "/api/v1/vendors", token, None).await;
    let v1 = vendors["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == w.v1.id.to_string())
        .unwrap()
        .clone();
    assert_eq!(v1["status"], "paused");
    let (status, _) = w
        .call(
            Method::GET,
            &format!("/api/v1/deal-registrations/{id}"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    // Resumed, the vendor reads again; ended, it is gone for good.
    let (status, _) = w
        .call(
            Method::PUT,
            &status_path,
            token,
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(w.call(Method::GET, &one, &w.v1.token, None).await.0, 200);
    let (status, _) = w
        .call(
            Method::PUT,
            &status_path,
            token,
            Some(json!({"status": "ended"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(w.call(Method::GET, &one, &w.v1.token, None).await.0, 404);
    let (status, problem) = w
        .call(
            Method::PUT,
            &status_path,
            token,
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = w
        .call(
            Method::PUT,
            &status_path,
            token,
            Some(json!({"status": "bogus"})),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, _) = w
        .call(
            Method::PUT,
            &format!("/api/v1/vendors/{}/status", w.v1.id),
            &w.gold.token,
            Some(json!({"status": "paused"})),
        )
        .await;
    assert_eq!(status, 200, "the other partner's link is its own");
    let links = audit(&w, token, "?kind=link").await;
    assert_eq!(
        actions(&links),
        ["link.ended", "link.resumed", "link.paused"]
    );
    assert!(links.iter().all(|e| e["actor"]["type"] == "user"));
}

async fn an_admin_pauses_and_ends_a_vendor_in_the_portal_and_reads_the_access_log(
    backend: Backend,
) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    publish_campaign(&w, "spring-2026", &["gold"]).await;
    send_lead(&w, w.gold.id, "lead-1", "Liisa Lead").await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let link = invitation_link(&mut owner, "rep@gold.example", "sales-rep").await;

    let page = owner.get("/vendors").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Vendor One"));
    assert!(page.body.contains("link-active"));
    let action = format!("/vendors/{}/status", w.v1.id);
    let paused = owner
        .submit("/vendors", &action, &[("status", "paused")])
        .await;
    assert_eq!(paused.status, 303, "{}", paused.body);
    assert_eq!(paused.location.as_deref(), Some("/vendors?done=paused"));
    let page = owner.get("/vendors?done=paused").await;
    assert!(page.body.contains("link-paused"), "{}", page.body);
    assert!(page.body.contains("its content stays, greyed"));
    // The vendor's campaign stays in the pane, marked paused.
    let campaigns = owner.get("/campaigns").await;
    assert!(campaigns.body.contains("Spring print"));
    assert!(
        campaigns.body.contains("vendor-paused"),
        "{}",
        campaigns.body
    );
    let (status, _) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/partners/{}/leads", w.gold.id),
            &w.v1.token,
            Some(json!({"external_id": "lead-2", "contact": {"name": "Nope"}})),
        )
        .await;
    assert_eq!(status, 404, "a paused vendor reaches nothing");

    // Ending asks for a confirmation.
    let unconfirmed = owner
        .submit("/vendors", &action, &[("status", "ended")])
        .await;
    assert_eq!(unconfirmed.status, 422);
    assert!(unconfirmed.body.contains("Tick the confirmation"));
    let ended = owner
        .submit(
            "/vendors",
            &action,
            &[("status", "ended"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(ended.status, 303, "{}", ended.body);
    assert!(
        !owner.get("/campaigns").await.body.contains("Spring print"),
        "its content left the pane"
    );
    assert!(
        owner.get("/leads").await.body.contains("Liisa Lead"),
        "the partner's leads stay"
    );
    let again = owner
        .submit("/vendors", &action, &[("status", "active")])
        .await;
    assert_eq!(again.status, 422, "an ended link stays ended");

    // The access log: the vendor's writes, the admins' actions, filtered,
    // and as CSV.
    let log = owner.get("/audit").await;
    assert_eq!(log.status, 200, "{}", log.body);
    // (Publishing is not an entry: what a vendor publishes is stored once
    // for the vendor, not written into the workspace.)
    assert!(!log.body.contains("campaign.published"));
    for action in ["lead.sent", "link.paused", "link.ended", "member.invited"] {
        assert!(log.body.contains(action), "{action} in the log");
    }
    assert!(
        log.body.contains(&w.v1.client_id.to_string()),
        "names the API client"
    );
    let links = owner.get("/audit?kind=link").await;
    assert!(links.body.contains("link.ended"));
    assert!(!links.body.contains("lead.sent"));
    let csv = owner.get(&format!("/audit.csv?vendor={}", w.v1.id)).await;
    assert_eq!(csv.status, 200);
    let mut rows = csv::Reader::from_reader(csv.body.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..3], ["at", "actor_type", "actor_id"]);
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|r| &r[1] == "vendor" && r[2] == w.v1.id.to_string())
    );
    assert!(
        records
            .iter()
            .any(|r| &r[5] == "lead.sent" && &r[7] == "lead")
    );
    assert!(owner.get("/audit?kind=Nope!").await.status == 404);

    // A sales rep sees the vendors but changes nothing and reads no log.
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
    let page = rep.get("/vendors").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&action), "no actions for a sales rep");
    assert_eq!(rep.get("/audit").await.status, 403);
    assert_eq!(rep.get("/audit.csv").await.status, 403);
}

async fn a_persons_data_is_exported_and_erased_through_the_api_and_the_portal(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let lead = send_lead(&w, w.gold.id, "pia", "Pia Person").await;
    let other = send_lead(&w, w.gold.id, "olli", "Olli Other").await;
    let token = &w.gold.token;
    let (status, data) = w
        .call(
            Method::POST,
            "/api/v1/privacy/export",
            token,
            Some(json!({"email": "PIA@customer.example"})),
        )
        .await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["email"], "pia@customer.example");
    let leads = data["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["id"], lead);
    assert_eq!(leads[0]["contact"]["name"], "Pia Person");
    for bad in [
        json!({"email": "not an address"}),
        json!({"email": "a@b.example", "extra": 1}),
        json!({}),
    ] {
        let (status, problem) = w
            .call(
                Method::POST,
                "/api/v1/privacy/export",
                token,
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }
    // Another partner finds nothing of this workspace's.
    let (_, theirs) = w
        .call(
            Method::POST,
            "/api/v1/privacy/export",
            &w.registered.token,
            Some(json!({"email": "pia@customer.example"})),
        )
        .await;
    assert!(theirs["leads"].as_array().unwrap().is_empty());

    // In the portal: find, download, then erase after confirming.
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let found = owner
        .submit(
            "/privacy",
            "/privacy/find",
            &[("email", "pia@customer.example")],
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains("Pia Person"));
    assert!(!found.body.contains("Olli Other"));
    let download = owner
        .submit(
            "/privacy",
            "/privacy/export",
            &[("email", "pia@customer.example")],
        )
        .await;
    assert_eq!(download.status, 200);
    let exported: Value = serde_json::from_str(&download.body).unwrap();
    assert_eq!(exported["leads"][0]["id"], lead);
    let unconfirmed = owner
        .submit(
            "/privacy",
            "/privacy/erase",
            &[("email", "pia@customer.example")],
        )
        .await;
    assert_eq!(unconfirmed.status, 422);
    let invalid = owner
        .submit("/privacy", "/privacy/find", &[("email", "nope")])
        .await;
    assert_eq!(invalid.status, 422);
    let erased = owner
        .submit(
            "/privacy",
            "/privacy/erase",
            &[("email", "pia@customer.example"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(erased.status, 303, "{}", erased.body);
    assert_eq!(erased.location.as_deref(), Some("/privacy?erased=1&told=1"));
    assert!(
        owner
            .get("/privacy?erased=1&told=1")
            .await
            .body
            .contains("Erased 1 records")
    );

    let (_, after) = w
        .call(Method::GET, &format!("/api/v1/leads/{lead}"), token, None)
        .await;
    assert_eq!(after["contact"]["name"], "Erased person");
    assert!(
        after["contact"].get("email").is_none_or(Value::is_null),
        "{after}"
    );
    let (_, kept) = w
        .call(Method::GET, &format!("/api/v1/leads/{other}"), token, None)
        .await;
    assert_eq!(kept["contact"]["name"], "Olli Other");
    let users = audit(&w, token, "").await;
    let done = actions(&users);
    assert!(
        done.contains(&"person.erased") && done.contains(&"person.exported"),
        "{done:?}"
    );
    assert!(
        !serde_json::to_string(&users).unwrap().contains("pia@"),
        "the log keeps no address"
    );
}
