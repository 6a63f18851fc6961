//! Two-way vendor connections over HTTP: a partner registers one deal in
//! the portal's form with four vendors reached four ways (Onepane's
//! connector API; the vendor's own partner API through a `rest` connection
//! with actions, a fake on loopback; AWS Partner Central through an
//! `aws-partner-central` connection, the connector's fake on loopback,
//! which checks each request against AWS's published model and its SigV4
//! signature; mail to a vendor with no system, read from an SMTP sink on
//! loopback), each receives exactly its own part, each decides its own
//! way, and the partner reads four decisions with their reasons. The
//! mailed links are attacked: reused, altered, and used for another
//! registration.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use onepane_connector_aws_partner_central::testkit::{ACCESS_KEY_ID, Aws, SECRET_ACCESS_KEY};
use onepane_domain::deal::DealFieldSpec;
use onepane_domain::text::Name;
use onepane_domain::{PartnerType, Tier};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::portal::{
    PASSWORD, REGISTERED_OWNER, Visitor, quoted_printable, set_password, smtp_sink,
};
use crate::world::{World, on_both_backends, vendor};

on_both_backends!(a_deal_reaches_four_vendors_four_ways_and_each_decision_comes_back);

const NORTHWIND: &str = include_str!("../../connectors/rest/examples/northwind-partner-api.yaml");

/// Northwind's partner API: registrations by idempotency key, and their
/// state as the vendor's people set it.
#[derive(Default)]
struct Northwind {
    registrations: BTreeMap<String, (String, Value, &'static str)>,
}

type Shared = Arc<Mutex<Northwind>>;

async fn take(State(s): State<Shared>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    if headers.get("x-northwind-key").map(|v| v.as_bytes()) != Some(b"nw-key") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut s = s.lock().unwrap();
    let n = s.registrations.len() + 1;
    let (id, _, state) = s
        .registrations
        .entry(key)
        .or_insert_with(|| (format!("DR-{n}"), body.0, "PENDING"))
        .clone();
    (
        StatusCode::CREATED,
        axum::Json(json!({"data": {"id": id, "state": state}})),
    )
        .into_response()
}

async fn list(State(s): State<Shared>) -> Response {
    let s = s.lock().unwrap();
    let results: Vec<Value> = s
        .registrations
        .values()
        .map(|(id, body, state)| {
            json!({
                "id": id, "partner_reference": body["partner_reference"], "state": state,
                "decision_note": (*state == "APPROVED").then_some("Protected for the tender"),
                "protected_until": (*state == "APPROVED").then_some("2099-01-31"),
                "additional_discount": (*state == "APPROVED").then_some(2),
            })
        })
        .collect();
    axum::Json(json!({"results": results})).into_response()
}

async fn northwind() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/api/v1/deal-registrations", post(take).get(list))
        // No leads for this partner today.
        .route(
            "/api/v1/leads",
            axum::routing::get(|| async { axum::Json(json!({"results": []})) }),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

/// Polls `check` until it gives a value, for at most 20 seconds.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The path of the mailed link after `label` (`Approve`, `Reject`).
fn mailed_link(mail: &str, label: &str) -> String {
    let from = mail.find(label).expect("the link is in the mail");
    let at = from + mail[from..].find("/decide/").expect("a decision link");
    mail[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

async fn a_deal_reaches_four_vendors_four_ways_and_each_decision_comes_back(backend: Backend) {
    let (port, mailbox) = smtp_sink().await;
    let Some(w) = World::with_config(backend, |c| onepane_server::Config {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        mail_from: Some("Onepane <no-reply@onepane.example>".to_owned()),
        ..c
    })
    .await
    else {
        return;
    };
    let app = &w.app;
    let ws = w.registered.id;
    let token = &w.registered.token;
    // Vendor one is on Onepane's API. Northwind has its own partner API;
    // AWS takes registrations in Partner Central; Oy Paper has no system
    // at all.
    let nw = vendor(app, "Northwind").await;
    let paper = vendor(app, "Oy Paper").await;
    let aws = vendor(app, "Amazon Web Services").await;
    let op = app.store.operator();
    for v in [nw.id, paper.id, aws.id] {
        op.link(ws, v, Tier::Silver, PartnerType::Var)
            .await
            .unwrap();
    }
    app.store
        .vendor(nw.id)
        .put_deal_fields(&[DealFieldSpec {
            name: "deal_type".into(),
            label: Name::parse("Deal type").unwrap(),
            required: true,
        }])
        .await
        .unwrap();
    let (nw_base, nw_state) = northwind().await;
    let yaml = NORTHWIND.replace("https://partners.northwind.example", &nw_base);
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            token,
            Some(json!({
                "target": {"purpose": "vendor-source", "vendor_id": nw.id},
                "connector": "rest",
                "name": "Northwind partner API",
                "settings": {"manifest": yaml},
                "credentials": {"type": "api_key", "name": "X-Northwind-Key", "value": "nw-key"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let nw_conn = created["connection"]["id"].as_str().unwrap().to_owned();
    // AWS refuses an opportunity submitted without the customer's
    // industry, and protects an approved one until its target close date,
    // so the AWS vendor asks for both.
    app.store
        .vendor(aws.id)
        .put_deal_fields(&[
            DealFieldSpec {
                name: "industry".into(),
                label: Name::parse("Industry").unwrap(),
                required: true,
            },
            DealFieldSpec {
                name: "target_close_date".into(),
                label: Name::parse("Target close date").unwrap(),
                required: false,
            },
        ])
        .await
        .unwrap();
    let partner_central = Aws::start().await;
    let (status, created) = w
        .call(
            Method::POST,
            "/api/v1/connections",
            token,
            Some(json!({
                "target": {"purpose": "vendor-source", "vendor_id": aws.id},
                "connector": "aws-partner-central",
                "name": "AWS Partner Central",
                "settings": partner_central.settings(),
                "credentials": {
                    "type": "aws_access_key",
                    "access_key_id": ACCESS_KEY_ID,
                    "secret_access_key": SECRET_ACCESS_KEY
                }
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let aws_conn = created["connection"]["id"].as_str().unwrap().to_owned();

    // The owner names Oy Paper's channel contact, then registers one deal
    // with all four in the portal's form.
    set_password(app, REGISTERED_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(app);
    assert_eq!(owner.login(REGISTERED_OWNER, PASSWORD).await.status, 303);
    let saved = owner
        .submit(
            "/vendors",
            &format!("/vendors/{}/contact", paper.id),
            &[("email", "channel@paper.example")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let form = owner.get("/deals/new").await;
    assert!(
        form.body
            .contains("through your connection Northwind partner API"),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains("through your connection AWS Partner Central"),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("Mailed to channel@paper.example"),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("The vendor reads it on Onepane"),
        "{}",
        form.body
    );
    let (v1, nw_id, paper_id) = (w.v1.id.to_string(), nw.id.to_string(), paper.id.to_string());
    let aws_id = aws.id.to_string();
    let sent = owner
        .submit(
            "/deals/new",
            "/deals/new",
            &[
                ("vendor", &v1),
                ("vendor", &nw_id),
                ("vendor", &paper_id),
                ("vendor", &aws_id),
                ("title", "Office refresh for Kesko"),
                ("customer", "Kesko Oyj"),
                ("domain", "kesko.fi"),
                ("country", "FI"),
                ("amount", "48000"),
                ("currency", "EUR"),
                ("sku_1", "NW-LAPTOP"),
                ("qty_1", "40"),
                ("vendor_1", &nw_id),
                ("sku_2", "PAPER-A4"),
                ("qty_2", "200"),
                ("vendor_2", &paper_id),
                ("sku_3", "AWS-MAP-ASSESS"),
                ("qty_3", "1"),
                ("vendor_3", &aws_id),
                ("vf.deal_type", "new-business"),
                ("vf.industry", "Retail"),
                ("vf.target_close_date", "2099-03-31"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let (_, listed) = w
        .call(Method::GET, "/api/v1/deal-registrations", token, None)
        .await;
    let regs = listed["items"].as_array().unwrap().clone();
    assert_eq!(regs.len(), 4);
    let reg_of = |v: &str| -> Value { regs.iter().find(|r| r["vendor_id"] == v).cloned().unwrap() };
    let (to_v1, to_nw, to_paper) = (reg_of(&v1), reg_of(&nw_id), reg_of(&paper_id));
    let to_aws = reg_of(&aws_id);
    let id = |r: &Value| r["id"].as_str().unwrap().to_owned();

    // Each delivery ends as sent, by its own route.
    let delivered = |reg: String| {
        let w = &w;
        async move {
            eventually("a delivery", || {
                let reg = reg.clone();
                async move {
                    let (_, d) = w
                        .call(
                            Method::GET,
                            &format!("/api/v1/deal-registrations/{reg}/delivery"),
                            &w.registered.token,
                            None,
                        )
                        .await;
                    (d["status"] != "pending").then_some(d)
                }
            })
            .await
        }
    };
    let d_v1 = delivered(id(&to_v1)).await;
    assert_eq!(
        (d_v1["status"].as_str(), d_v1["route"].as_str()),
        (Some("sent"), Some("onepane-api")),
        "{d_v1}"
    );
    let d_nw = delivered(id(&to_nw)).await;
    assert_eq!(
        (d_nw["status"].as_str(), d_nw["route"].as_str()),
        (Some("sent"), Some("vendor-system")),
        "{d_nw}"
    );
    assert_eq!(d_nw["vendor_ref"], "DR-1");
    let d_paper = delivered(id(&to_paper)).await;
    assert_eq!(
        (d_paper["status"].as_str(), d_paper["route"].as_str()),
        (Some("sent"), Some("email")),
        "{d_paper}"
    );
    let d_aws = delivered(id(&to_aws)).await;
    assert_eq!(
        (d_aws["status"].as_str(), d_aws["route"].as_str()),
        (Some("sent"), Some("vendor-system")),
        "{d_aws}"
    );
    let opportunities = partner_central.opportunities();
    assert_eq!(opportunities.len(), 1);
    let opportunity = &opportunities[0];
    assert_eq!(d_aws["vendor_ref"], opportunity.id.as_str(), "{d_aws}");

    // Each vendor received exactly its own part.
    {
        let s = nw_state.lock().unwrap();
        assert_eq!(s.registrations.len(), 1);
        let body = &s.registrations.values().next().unwrap().1;
        assert_eq!(
            body["lines"],
            json!([{"part_number": "NW-LAPTOP", "qty": 40}]),
            "{body}"
        );
        assert_eq!(body["deal_type"], "new-business");
        assert!(!body.to_string().contains("PAPER-A4"), "{body}");
        for foreign in ["AWS-MAP-ASSESS", "industry", "Retail", "2099-03-31"] {
            assert!(
                !body.to_string().contains(foreign),
                "Northwind was sent {foreign}: {body}"
            );
        }
    }
    // AWS's opportunity is its registration, submitted for review, with
    // AWS's fields and product and nothing of the others'.
    let body = &opportunity.request;
    assert_eq!(
        opportunity.partner_id.as_deref(),
        Some(id(&to_aws).as_str())
    );
    assert_eq!(opportunity.review_status, "Submitted");
    assert_eq!(
        body["Customer"]["Account"]["CompanyName"], "Kesko Oyj",
        "{body}"
    );
    assert_eq!(body["Customer"]["Account"]["Industry"], "Retail", "{body}");
    assert_eq!(body["LifeCycle"]["TargetCloseDate"], "2099-03-31", "{body}");
    assert_eq!(
        body["Project"]["Title"], "Office refresh for Kesko",
        "{body}"
    );
    assert!(body.to_string().contains("AWS-MAP-ASSESS × 1"), "{body}");
    for foreign in ["NW-LAPTOP", "PAPER-A4", "deal_type", "new-business"] {
        assert!(
            !body.to_string().contains(foreign),
            "AWS was sent {foreign}: {body}"
        );
    }
    let calls = partner_central.checked_calls();
    for operation in ["CreateOpportunity", "StartEngagementFromOpportunityTask"] {
        let n = calls.iter().filter(|c| c.operation == operation).count();
        assert_eq!(n, 1, "{operation} was called {n} times");
    }
    let mail = eventually("the mail to Oy Paper", || async {
        mailbox.lock().unwrap().first().cloned()
    })
    .await;
    let mail = quoted_printable(&mail);
    assert!(mail.contains("To: channel@paper.example"), "{mail}");
    assert!(mail.contains("PAPER-A4"), "{mail}");
    for foreign in [
        "NW-LAPTOP",
        "deal_type",
        "new-business",
        "AWS-MAP-ASSESS",
        "industry",
        "2099-03-31",
    ] {
        assert!(
            !mail.contains(foreign),
            "Oy Paper was mailed {foreign}: {mail}"
        );
    }
    let (_, seen_by_v1) = w
        .call(
            Method::GET,
            "/api/v1/vendor/deal-registrations",
            &w.v1.token,
            None,
        )
        .await;
    let v1_text = seen_by_v1.to_string();
    for foreign in [
        "NW-LAPTOP",
        "PAPER-A4",
        "deal_type",
        "AWS-MAP-ASSESS",
        "industry",
    ] {
        assert!(
            !v1_text.contains(foreign),
            "vendor one reads {foreign}: {v1_text}"
        );
    }
    assert!(v1_text.contains("Office refresh for Kesko"), "{v1_text}");

    // Vendor one decides through the API.
    let (status, body) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/deal-registrations/{}/decision", id(&to_v1)),
            &w.v1.token,
            Some(json!({"decision": "rejected", "reason": "Kesko is a named account"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Northwind approves in its own system; the partner syncs now.
    for r in nw_state.lock().unwrap().registrations.values_mut() {
        r.2 = "APPROVED";
    }
    let (status, body) = w
        .call(
            Method::POST,
            &format!("/api/v1/connections/{nw_conn}/sync"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    // AWS approves the opportunity in Partner Central; the partner syncs
    // now.
    partner_central.review(
        &opportunity.id,
        "Approved",
        Some("Validated with the AWS account team"),
        None,
    );
    let (status, body) = w
        .call(
            Method::POST,
            &format!("/api/v1/connections/{aws_conn}/sync"),
            token,
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    // Oy Paper's person opens the reject link (nothing changes by opening
    // it), then rejects with a reason.
    let reject = mailed_link(&mail, "Reject");
    let approve = mailed_link(&mail, "Approve");
    let mut person = Visitor::new(app);
    let page = person.get(&reject).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Office refresh for Kesko"));
    assert!(page.body.contains("PAPER-A4"));
    assert!(!page.body.contains("NW-LAPTOP"));
    let empty = person.post(&reject, &[("reason", "")]).await;
    assert_eq!(empty.status, 422, "a reason is asked for: {}", empty.body);
    let done = person
        .post(
            &reject,
            &[("reason", "We do not protect paper deals in Q1")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"decide-done\""), "{}", done.body);

    // The partner sees four decisions with their reasons.
    let decided = eventually("four decisions", || async {
        let (_, listed) = w
            .call(Method::GET, "/api/v1/deal-registrations", token, None)
            .await;
        let items = listed["items"].as_array().unwrap().clone();
        items
            .iter()
            .all(|r| r["status"] != "submitted")
            .then_some(items)
    })
    .await;
    let by_vendor = |v: &str| {
        decided
            .iter()
            .find(|r| r["vendor_id"] == v)
            .unwrap()
            .clone()
    };
    assert_eq!(by_vendor(&v1)["status"], "rejected");
    assert_eq!(by_vendor(&v1)["reason"], "Kesko is a named account");
    assert_eq!(by_vendor(&nw_id)["status"], "approved");
    assert_eq!(by_vendor(&nw_id)["reason"], "Protected for the tender");
    assert_eq!(by_vendor(&nw_id)["protection_expires_on"], "2099-01-31");
    assert_eq!(by_vendor(&paper_id)["status"], "rejected");
    assert_eq!(
        by_vendor(&paper_id)["reason"],
        "We do not protect paper deals in Q1"
    );
    assert_eq!(by_vendor(&aws_id)["status"], "approved");
    assert_eq!(
        by_vendor(&aws_id)["reason"],
        "Validated with the AWS account team"
    );
    // Protected until the target close date the partner gave AWS.
    assert_eq!(by_vendor(&aws_id)["protection_expires_on"], "2099-03-31");
    // Every request AWS received followed its published model and was
    // signed with the connection's key.
    let operations: Vec<String> = partner_central
        .checked_calls()
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert!(
        operations.contains(&"ListOpportunities".to_owned()),
        "{operations:?}"
    );
    assert_eq!(partner_central.opportunities().len(), 1);
    let deal_page = owner.get(&format!("/deals/{}", id(&to_paper))).await;
    assert!(
        deal_page
            .body
            .contains("We do not protect paper deals in Q1")
    );
    assert!(
        deal_page.body.contains("id=\"delivery-route\""),
        "{}",
        deal_page.body
    );

    // The links cannot be used again, nor altered, nor turned on another
    // registration.
    let again = person.post(&reject, &[("reason", "Changed my mind")]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    let sibling = person
        .post(&approve, &[("protection_expires_on", "2099-12-31")])
        .await;
    assert_eq!(
        sibling.status, 409,
        "the approve link closed with the reject: {}",
        sibling.body
    );
    let mut altered = approve.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let forged = person
        .post(&altered, &[("protection_expires_on", "2099-12-31")])
        .await;
    assert_eq!(forged.status, 404, "{}", forged.body);
    assert_eq!(person.get("/decide/opd_not-a-token").await.status, 404);
    // A second registration with Oy Paper gets its own links; the first
    // registration's cannot decide it.
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            token,
            Some(json!({
                "vendor_ids": [paper.id],
                "title": "Paper for Valio", "customer": {"name": "Valio"},
                "amount": {"value": "900.00", "currency": "EUR"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let second = body["registrations"][0]["id"].as_str().unwrap().to_owned();
    eventually("the second mail", || async {
        (mailbox.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    let reused = person
        .post(&approve, &[("protection_expires_on", "2099-12-31")])
        .await;
    assert_eq!(reused.status, 409);
    let (_, still) = w
        .call(
            Method::GET,
            &format!("/api/v1/deal-registrations/{second}"),
            token,
            None,
        )
        .await;
    assert_eq!(still["status"], "submitted", "{still}");
    let second_mail = quoted_printable(&mailbox.lock().unwrap()[1]);
    assert!(second_mail.contains("Paper for Valio"));
    let second_approve = mailed_link(&second_mail, "Approve");
    assert_ne!(second_approve, approve);
    let approved = person
        .post(
            &second_approve,
            &[
                ("protection_expires_on", "2099-06-30"),
                ("extra_discount", "3"),
            ],
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    let (_, second_now) = w
        .call(
            Method::GET,
            &format!("/api/v1/deal-registrations/{second}"),
            token,
            None,
        )
        .await;
    assert_eq!(second_now["status"], "approved", "{second_now}");
    assert_eq!(second_now["extra_discount"], "3");
    // The first registration kept its decision.
    let (_, first_now) = w
        .call(
            Method::GET,
            &format!("/api/v1/deal-registrations/{}", id(&to_paper)),
            token,
            None,
        )
        .await;
    assert_eq!(first_now["status"], "rejected");
}
