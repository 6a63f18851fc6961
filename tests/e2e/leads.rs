//! A lead's whole life in the portal: accepted, worked, registered (which
//! qualifies it, once per vendor), won; lost and declined only with a
//! reason; each move confirmed on the page and kept in the lead's history,
//! and undone for a short while by the member who made it.

use reqwest::Method;
use serde_json::json;

use crate::harness::Backend;
use crate::portal::{GOLD_OWNER, PASSWORD, Visitor, send_lead, set_password};
use crate::world::{World, on_both_backends};

on_both_backends!(
    a_lead_declined_through_the_api_carries_its_reason_to_the_vendor,
    a_lead_goes_from_new_to_won_and_another_is_lost_with_its_reason,
    home_says_when_more_leads_wait_than_it_lists,
    home_lists_the_clocks_first_deadlines_in_its_order_and_counts_the_rest,
    notifications_speak_each_readers_language,
    a_move_is_undone_in_time_by_the_member_who_made_it_and_by_no_one_else,
);

async fn notifications_speak_each_readers_language(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    send_lead(&w, w.gold.id, "kieli-1", "Kaisa Kieli").await;
    let mut english = Visitor::new(&w.app);
    assert_eq!(english.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let page = english.get("/notifications").await;
    assert!(page.body.contains("New lead: Kaisa Kieli"), "{}", page.body);
    let mut finnish = Visitor::new(&w.app).finnish();
    assert_eq!(finnish.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let page = finnish.get("/notifications").await;
    assert!(
        page.body.contains("Uusi liidi: Kaisa Kieli"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("New lead:"), "no English left");
}

async fn home_says_when_more_leads_wait_than_it_lists(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    for n in 0..10 {
        send_lead(
            &w,
            w.gold.id,
            &format!("wait-{n}"),
            &format!("Waiting Person{n}"),
        )
        .await;
    }
    let home = owner.get("/").await;
    assert_eq!(home.body.matches("Waiting Person").count(), 10);
    assert!(!home.body.contains("id=\"more-deadlines\""), "ten fit");
    send_lead(&w, w.gold.id, "wait-10", "Waiting Person10").await;
    let home = owner.get("/").await;
    assert_eq!(
        home.body.matches("Waiting Person").count(),
        10,
        "still ten listed"
    );
    // The rest is all leads: the link goes to the clock's leads.
    assert!(
        home.body.contains(
            r#"<p class="more" id="more-deadlines"><a href="/clock?kind=lead-answer">One more deadline</a>"#
        ),
        "{}",
        home.body
    );
}

/// The vendor's lead for `ws` answered by `respond_by`.
async fn send_lead_due(w: &World, external_id: &str, name: &str, respond_by: &str) -> String {
    let (status, lead) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/partners/{}/leads", w.gold.id),
            &w.v1.token,
            Some(
                json!({"external_id": external_id, "contact": {"name": name},
                        "respond_by": respond_by}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{lead}");
    lead["id"].as_str().unwrap().to_owned()
}

async fn home_lists_the_clocks_first_deadlines_in_its_order_and_counts_the_rest(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    // Twelve leads sent out of deadline order, two of them due together,
    // and a registration awaiting its decision a week from now.
    let now = chrono::Utc::now();
    for (n, hours) in [30, 2, 50, 7, 7, 90, 1, 26, 70, 3, 44, 12]
        .into_iter()
        .enumerate()
    {
        let due = (now + chrono::Duration::hours(hours)).to_rfc3339();
        send_lead_due(&w, &format!("due-{n}"), &format!("Due Person{n}"), &due).await;
    }
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.gold.token,
            Some(json!({
                "vendor_ids": [w.v1.id.to_string()],
                "title": "Printers for Kesko",
                "customer": {"name": "Kesko", "domain": "kesko.fi", "country": "FI"},
                "amount": {"value": "9000.00", "currency": "EUR"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let (status, clock) = w
        .call(Method::GET, "/api/v1/clock", &w.gold.token, None)
        .await;
    assert_eq!(status, 200, "{clock}");
    let clock: Vec<String> = clock["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["link"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(clock.len(), 13, "{clock:?}");

    let home = owner.get("/").await;
    assert_eq!(home.status, 200);
    let list = &home.body[home.body.find(r#"id="deadlines""#).expect("the deadlines")..];
    let list = &list[..list.find("</ol>").unwrap()];
    let listed: Vec<&str> = list
        .split(r#"<a href=""#)
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(listed, clock[..10], "the clock's first ten, in its order");
    assert_eq!(list.matches("answer by ").count(), 10, "{list}");
    // Two leads and the registration are left, said by kind.
    assert!(
        home.body
            .contains(r#"<a href="/clock">3 more deadlines</a>"#),
        "{}",
        home.body
    );
    assert!(
        home.body.contains(
            r#"<a href="/clock?kind=lead-answer" class="more-kind">Answer a lead (2)</a>"#
        )
    );
    assert!(home.body.contains(
        r#"<a href="/clock?kind=decision-awaited" class="more-kind">Decision awaited (1)</a>"#
    ));

    // In Finnish, the same list says the same.
    let mut finnish = Visitor::new(&w.app).finnish();
    assert_eq!(finnish.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let home = finnish.get("/").await;
    assert_eq!(home.body.matches("vastaa viimeistään ").count(), 10);
    assert!(
        home.body
            .contains(r#"<a href="/clock">Vielä 3 määräaikaa</a>"#),
        "{}",
        home.body
    );
}

async fn a_lead_goes_from_new_to_won_and_another_is_lost_with_its_reason(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    let lead = send_lead(&w, w.gold.id, "life-1", "Liisa Life").await;
    let other = send_lead(&w, w.gold.id, "life-2", "Otto Other").await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let page = format!("/leads/{lead}");

    // Declining asks why.
    let refused = owner.submit(&page, &format!("{page}/decline"), &[]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Say why"), "{}", refused.body);

    let accepted = owner.submit(&page, &format!("{page}/accept"), &[]).await;
    assert_eq!(accepted.status, 303);
    let shown = owner.get(accepted.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("Moved to Accepted."), "{}", shown.body);
    assert!(shown.body.contains(r#"id="move-working""#));
    assert!(
        !shown.body.contains(r#"id="move-won""#),
        "won comes after qualified"
    );
    let working = owner
        .submit(&page, &format!("{page}/status"), &[("status", "working")])
        .await;
    assert_eq!(working.status, 303);
    let skipped = owner
        .submit(&page, &format!("{page}/status"), &[("status", "won")])
        .await;
    assert_eq!(skipped.status, 422, "not qualified yet");

    // Registering the deal qualifies the lead; a second one with the same
    // vendor is refused with the form kept.
    let v1 = w.v1.id.to_string();
    let fields = [
        ("lead", lead.as_str()),
        ("vendor", v1.as_str()),
        ("title", "Printers for Life Oy"),
        ("customer", "Life Oy"),
        ("amount", "4200"),
        ("currency", "EUR"),
    ];
    let registered = owner
        .submit(&format!("/deals/new?lead={lead}"), "/deals/new", &fields)
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let sent = owner.get(registered.location.as_deref().unwrap()).await;
    assert!(sent.body.contains("Sent to Vendor One."), "{}", sent.body);
    let shown = owner.get(&page).await;
    assert!(
        shown.body.contains(r#"id="lead-status">Qualified"#),
        "{}",
        shown.body
    );
    let again = owner
        .submit(&format!("/deals/new?lead={lead}"), "/deals/new", &fields)
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already registered with that vendor"));
    assert!(
        again.body.contains("Printers for Life Oy"),
        "what was typed is kept"
    );

    let won = owner
        .submit(&page, &format!("{page}/status"), &[("status", "won")])
        .await;
    assert_eq!(won.status, 303);
    let shown = owner.get(&page).await;
    let history = &shown.body[shown.body.find(r#"id="lead-history""#).unwrap()..];
    let order: Vec<usize> = [
        "moved it to Won",
        "moved it to Qualified",
        "moved it to Working",
        "moved it to Accepted",
        "Vendor One: sent it",
    ]
    .iter()
    .map(|s| {
        history
            .find(s)
            .unwrap_or_else(|| panic!("{s} in {history}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|p| p[0] < p[1]),
        "newest first: {order:?}"
    );
    assert!(history.contains(GOLD_OWNER), "who moved it");

    // The other lead is lost, with its reason kept.
    let other_page = format!("/leads/{other}");
    owner
        .submit(&other_page, &format!("{other_page}/accept"), &[])
        .await;
    let no_reason = owner
        .submit(
            &other_page,
            &format!("{other_page}/status"),
            &[("status", "lost")],
        )
        .await;
    assert_eq!(no_reason.status, 422);
    let lost = owner
        .submit(
            &other_page,
            &format!("{other_page}/status"),
            &[("status", "lost"), ("reason", "Budget cut")],
        )
        .await;
    assert_eq!(lost.status, 303);
    let shown = owner.get(&other_page).await;
    assert!(
        shown.body.contains("moved it to Lost: Budget cut"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains(r#"id="move-working""#),
        "a lost lead can be reopened"
    );
}

async fn a_lead_declined_through_the_api_carries_its_reason_to_the_vendor(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let ws = w.gold.id;
    let with_reason = send_lead(&w, ws, "L-REASON", "Reason Person").await;
    let (status, lead) = w
        .call(
            Method::POST,
            &format!("/api/v1/leads/{with_reason}/decline"),
            &w.gold.token,
            Some(json!({"reason": "Outside our region"})),
        )
        .await;
    assert_eq!(status, 200, "{lead}");
    assert_eq!(lead["status"], "declined");
    // The answer queued for the vendor carries the reason.
    let delivery = w
        .app
        .store
        .partner(ws)
        .delivery(
            onepane_domain::delivery::DeliveryKind::LeadAnswer,
            with_reason.parse::<uuid::Uuid>().unwrap(),
        )
        .await
        .unwrap()
        .expect("the answer is queued for the vendor");
    let answer = delivery.answer.expect("an answer");
    assert!(!answer.accepted);
    assert_eq!(answer.reason.as_deref(), Some("Outside our region"));
    // Without a body, as before.
    let bare = send_lead(&w, ws, "L-BARE", "Bare Person").await;
    let response = w
        .request(
            Method::POST,
            &format!("/api/v1/leads/{bare}/decline"),
            &w.gold.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A body that is not JSON is refused, and changes nothing.
    let third = send_lead(&w, ws, "L-TEXT", "Text Person").await;
    let response = w
        .request(
            Method::POST,
            &format!("/api/v1/leads/{third}/decline"),
            &w.gold.token,
        )
        .header("content-type", "text/plain")
        .body("because")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let (_, still) = w
        .call(
            Method::GET,
            &format!("/api/v1/leads/{third}"),
            &w.gold.token,
            None,
        )
        .await;
    assert_eq!(still["status"], "new", "{still}");
}

/// How long a move may be undone in the undo test: long enough for the
/// test's requests, short enough to wait out.
const UNDO_FOR: std::time::Duration = std::time::Duration::from_secs(4);

/// The move an Undo form on `body` names.
fn undo_move(body: &str) -> String {
    let marker = r#"name="move" value=""#;
    let at = body.find(marker).expect("the page offers to undo") + marker.len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

/// The lead's status as its page shows it.
fn lead_status(body: &str) -> &str {
    let marker = r#"id="lead-status">"#;
    let at = body.find(marker).expect("the page shows the status") + marker.len();
    &body[at..at + body[at..].find('<').unwrap()]
}

async fn a_move_is_undone_in_time_by_the_member_who_made_it_and_by_no_one_else(backend: Backend) {
    let Some(w) = World::with_config(backend, |c| onepane_server::Config {
        lead_undo: UNDO_FOR,
        ..c
    })
    .await
    else {
        return;
    };
    const SELLER: &str = "seller@gold-oy.example";
    set_password(&w.app, GOLD_OWNER, PASSWORD).await;
    w.app
        .store
        .operator()
        .add_member(
            w.gold.id,
            &onepane_domain::text::Email::parse(SELLER).unwrap(),
            onepane_domain::Role::SalesRep,
        )
        .await
        .unwrap();
    set_password(&w.app, SELLER, PASSWORD).await;
    let lead = send_lead(&w, w.gold.id, "undo-1", "Ulla Undo").await;
    let page = format!("/leads/{lead}");
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let mut seller = Visitor::new(&w.app);
    assert_eq!(seller.login(SELLER, PASSWORD).await.status, 303);

    // Accepting a vendor's lead answers the vendor: no undo, and the
    // message says why.
    let accepted = owner.submit(&page, &format!("{page}/accept"), &[]).await;
    assert_eq!(accepted.status, 303);
    let shown = owner.get(accepted.location.as_deref().unwrap()).await;
    assert!(
        shown
            .body
            .contains("The vendor is told of your answer, so this move cannot be undone."),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains(r#"id="undo""#), "{}", shown.body);

    // Working it is the partner's own: the message offers Undo.
    let working = owner
        .submit(&page, &format!("{page}/status"), &[("status", "working")])
        .await;
    assert_eq!(working.status, 303);
    let shown = owner.get(working.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("Moved to Working."), "{}", shown.body);
    assert!(
        shown.body.contains("You can undo this move for 4 seconds."),
        "{}",
        shown.body
    );
    let moved = undo_move(&shown.body);
    // The form is the page's, with its CSRF token: without it, nothing.
    let forged = owner
        .post(&format!("{page}/undo"), &[("move", moved.as_str())])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // Another member of the workspace cannot undo it.
    let theirs = seller
        .submit(&page, &format!("{page}/undo"), &[("move", moved.as_str())])
        .await;
    assert_eq!(theirs.status, 403, "{}", theirs.body);
    assert!(
        theirs
            .body
            .contains("Only the member who moved the lead can undo the move."),
        "{}",
        theirs.body
    );
    assert_eq!(lead_status(&theirs.body), "Working");

    // The member who moved it, in time: back to Accepted, both in the
    // history.
    let undone = owner
        .submit(&page, &format!("{page}/undo"), &[("move", moved.as_str())])
        .await;
    assert_eq!(undone.status, 303, "{}", undone.body);
    let shown = owner.get(undone.location.as_deref().unwrap()).await;
    assert!(
        shown
            .body
            .contains("The move is undone: the lead is back in Accepted."),
        "{}",
        shown.body
    );
    assert_eq!(lead_status(&shown.body), "Accepted");
    let history = &shown.body[shown.body.find(r#"id="lead-history""#).unwrap()..];
    let undid = history
        .find("undid the move, back to Accepted")
        .expect(history);
    let moved_it = history.find("moved it to Working").expect(history);
    assert!(undid < moved_it, "newest first: {history}");
    assert!(!shown.body.contains(r#"id="undo""#), "undone once");
    // Once: the same move again is refused.
    let again = owner
        .submit(&page, &format!("{page}/undo"), &[("move", moved.as_str())])
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again
            .body
            .contains("The lead has changed since this move, so the move can no longer be undone."),
        "{}",
        again.body
    );

    // After the window, refused with the reason, and nothing changes.
    let working = owner
        .submit(&page, &format!("{page}/status"), &[("status", "working")])
        .await;
    assert_eq!(working.status, 303);
    let shown = owner.get(working.location.as_deref().unwrap()).await;
    let moved = undo_move(&shown.body);
    tokio::time::sleep(UNDO_FOR + std::time::Duration::from_millis(500)).await;
    let late = owner
        .submit(&page, &format!("{page}/undo"), &[("move", moved.as_str())])
        .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(
        late.body
            .contains("The time to undo this move has passed. Move the lead again instead."),
        "{}",
        late.body
    );
    assert_eq!(lead_status(&late.body), "Working");
    // And in Finnish, the refusal is Finnish.
    let mut finnish = Visitor::new(&w.app).finnish();
    assert_eq!(finnish.login(GOLD_OWNER, PASSWORD).await.status, 303);
    let late = finnish
        .submit(&page, &format!("{page}/undo"), &[("move", moved.as_str())])
        .await;
    assert_eq!(late.status, 409);
    assert!(
        late.body.contains("Siirron perumisen aika on kulunut."),
        "{}",
        late.body
    );
}
