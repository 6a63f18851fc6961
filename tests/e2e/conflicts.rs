//! Conflicts seen before they cost time, over HTTP on both backends: a
//! partner registering a customer it already registered is warned (the
//! API answers the earlier registrations beside the new ones; the portal
//! asks before registering), and a vendor reading a registration learns
//! how often other partners registered the same customer with it, never
//! which.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Backend;
use crate::portal::{PASSWORD, REGISTERED_OWNER, Visitor, set_password};
use crate::world::{World, on_both_backends};

on_both_backends!(
    a_customer_registered_before_is_flagged_to_the_partner_and_counted_for_the_vendor
);

fn kesko(vendors: &[String], name: &str, domain: &str) -> Value {
    json!({
        "vendor_ids": vendors,
        "title": format!("Printers for {name}"),
        "customer": {"name": name, "domain": domain, "country": "FI"},
        "amount": {"value": "9000.00", "currency": "EUR"},
    })
}

async fn a_customer_registered_before_is_flagged_to_the_partner_and_counted_for_the_vendor(
    backend: Backend,
) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    let (v1, v2) = (w.v1.id.to_string(), w.v2.id.to_string());
    let register = |token: String, body: Value| {
        let w = &w;
        async move {
            let (status, body) = w
                .call(
                    Method::POST,
                    "/api/v1/deal-registrations",
                    &token,
                    Some(body),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            body
        }
    };
    let reg_token = w.registered.token.clone();
    let first = register(
        reg_token.clone(),
        kesko(std::slice::from_ref(&v1), "Kesko", "kesko.fi"),
    )
    .await;
    assert_eq!(first["conflicts"], json!([]), "{first}");
    let first_id = first["registrations"][0]["id"].as_str().unwrap().to_owned();
    // The same customer by domain (spelled otherwise), with the same vendor.
    let second = register(
        reg_token.clone(),
        kesko(std::slice::from_ref(&v1), "Kesko Oyj", "www.KESKO.fi"),
    )
    .await;
    let conflicts = second["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{second}");
    assert_eq!(conflicts[0]["registration_id"], first_id.as_str());
    assert_eq!(conflicts[0]["same_vendor"], true);
    // With another vendor: both earlier ones, as another vendor's.
    let third = register(
        reg_token.clone(),
        kesko(std::slice::from_ref(&v2), "Kesko", "kesko.fi"),
    )
    .await;
    let conflicts = third["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{third}");
    assert!(
        conflicts.iter().all(|c| c["same_vendor"] == false),
        "{third}"
    );
    // A rejected registration no longer conflicts.
    let (status, body) = w
        .call(
            Method::POST,
            &format!("/api/v1/vendor/deal-registrations/{first_id}/decision"),
            &w.v1.token,
            Some(json!({"decision": "rejected", "reason": "Duplicate"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let fourth = register(
        reg_token.clone(),
        kesko(std::slice::from_ref(&v1), "Kesko", "kesko.fi"),
    )
    .await;
    let ids: Vec<&str> = fourth["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["registration_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&first_id.as_str()), "{fourth}");
    assert_eq!(ids.len(), 2, "{fourth}");
    // Another partner's registrations are none of Gold's business.
    let gold = register(
        w.gold.token.clone(),
        kesko(std::slice::from_ref(&v1), "Kesko", "kesko.fi"),
    )
    .await;
    assert_eq!(gold["conflicts"], json!([]), "{gold}");
    let gold_id = gold["registrations"][0]["id"].as_str().unwrap().to_owned();

    // Vendor one reads Gold's registration: Registered's three with it
    // (the rejected one included) are counted, with their days, and
    // Registered is not named.
    let (status, seen) = w
        .call(
            Method::GET,
            &format!("/api/v1/vendor/deal-registrations/{gold_id}"),
            &w.v1.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{seen}");
    let elsewhere = &seen["same_customer_elsewhere"];
    assert_eq!(elsewhere["count"], 3, "{seen}");
    assert_eq!(elsewhere["submitted_on"].as_array().unwrap().len(), 3);
    assert!(
        !elsewhere.to_string().contains(&w.registered.id.to_string()),
        "{elsewhere}"
    );
    assert_eq!(
        seen["id"],
        gold_id.as_str(),
        "the registration itself is all there"
    );
    // In the list, each of Registered's sees Gold's one (and not its own).
    let (_, listed) = w
        .call(
            Method::GET,
            "/api/v1/vendor/deal-registrations",
            &w.v1.token,
            None,
        )
        .await;
    for item in listed["items"].as_array().unwrap() {
        let expected = if item["workspace_id"] == w.gold.id.to_string() {
            3
        } else {
            1
        };
        assert_eq!(item["same_customer_elsewhere"]["count"], expected, "{item}");
    }
    // Vendor two sees only registrations with it: none elsewhere.
    let (_, listed) = w
        .call(
            Method::GET,
            "/api/v1/vendor/deal-registrations",
            &w.v2.token,
            None,
        )
        .await;
    assert_eq!(
        listed["items"][0]["same_customer_elsewhere"]["count"], 0,
        "{listed}"
    );

    // The portal asks before registering the customer again.
    set_password(&w.app, REGISTERED_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(REGISTERED_OWNER, PASSWORD).await.status, 303);
    let fields = [
        ("vendor", v1.as_str()),
        ("title", "More printers for Kesko"),
        ("customer", "Kesko"),
        ("domain", "kesko.fi"),
        ("amount", "500"),
        ("currency", "EUR"),
    ];
    let warned = owner.submit("/deals/new", "/deals/new", &fields).await;
    assert_eq!(warned.status, 409, "{}", warned.body);
    assert!(warned.body.contains("id=\"conflicts\""), "{}", warned.body);
    assert!(warned.body.contains("same vendor: likely a duplicate"));
    assert!(
        warned.body.contains("More printers for Kesko"),
        "what was typed is kept"
    );
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm_conflicts", "yes"));
    let done = owner.submit("/deals/new", "/deals/new", &confirmed).await;
    assert_eq!(done.status, 303, "{}", done.body);
}

on_both_backends!(the_clock_lists_what_falls_due_in_the_api_and_the_portal);

async fn the_clock_lists_what_falls_due_in_the_api_and_the_portal(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    // A lead to answer (the vendor gives an answer-by time) and a
    // registration waiting for a decision.
    let lead = crate::portal::send_lead(&w, w.registered.id, "CLOCK-1", "Clock Person").await;
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.registered.token,
            Some(kesko(&[w.v1.id.to_string()], "Kesko", "kesko.fi")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, clock) = w
        .call(Method::GET, "/api/v1/clock", &w.registered.token, None)
        .await;
    assert_eq!(status, 200, "{clock}");
    let items = clock["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"lead-answer"), "{clock}");
    assert!(kinds.contains(&"decision-awaited"), "{clock}");
    assert!(
        items.iter().any(|d| d["link"] == format!("/leads/{lead}")),
        "{clock}"
    );
    let (status, only) = w
        .call(
            Method::GET,
            "/api/v1/clock?kind=lead-answer",
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        only["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["kind"] == "lead-answer")
    );
    let (status, bad) = w
        .call(
            Method::GET,
            "/api/v1/clock?kind=someday",
            &w.registered.token,
            None,
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    // Gold's clock has none of Registered's.
    let (_, gold) = w
        .call(Method::GET, "/api/v1/clock", &w.gold.token, None)
        .await;
    assert_eq!(gold["items"], serde_json::json!([]), "{gold}");
    // The portal's page lists them, linked from the home page.
    set_password(&w.app, REGISTERED_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(REGISTERED_OWNER, PASSWORD).await.status, 303);
    assert!(owner.get("/").await.body.contains("href=\"/clock\""));
    let page = owner.get("/clock").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Clock Person"), "{}", page.body);
    assert!(page.body.contains("Printers for Kesko"), "{}", page.body);
    assert!(page.body.contains("Decision awaited"));
    // Times are told in the member's zone, with the zone said: UTC until
    // it chooses one.
    let due: chrono::DateTime<chrono::Utc> = items
        .iter()
        .find(|d| d["kind"] == "decision-awaited")
        .and_then(|d| d["due"].as_str())
        .unwrap()
        .parse()
        .unwrap();
    let utc = format!("{} UTC", due.format("%H:%M"));
    assert!(page.body.contains(&utc), "{utc}: {}", page.body);
    assert!(page.body.contains("Times are in UTC"), "{}", page.body);
    let saved = owner
        .submit(
            "/settings/account",
            "/settings/mail",
            &[("time_zone", "Europe/Helsinki")],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let page = owner.get("/clock").await;
    let helsinki = onepane_domain::mail::TimeZone::parse("Europe/Helsinki")
        .unwrap()
        .local(due);
    let local = helsinki.format("%H:%M %Z").to_string();
    assert!(page.body.contains(&local), "{local}: {}", page.body);
    assert!(!page.body.contains(&utc), "{}", page.body);
    assert!(page.body.contains("Times are in Europe/Helsinki"));
}

on_both_backends!(the_deadlines_are_a_private_calendar_feed_that_can_be_reset);

async fn the_deadlines_are_a_private_calendar_feed_that_can_be_reset(backend: Backend) {
    let Some(w) = World::new(backend).await else {
        return;
    };
    crate::portal::send_lead(&w, w.registered.id, "CAL-1", "Calendar Person").await;
    let (status, body) = w
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            &w.registered.token,
            Some(kesko(&[w.v1.id.to_string()], "Kesko", "kesko.fi")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, clock) = w
        .call(Method::GET, "/api/v1/clock", &w.registered.token, None)
        .await;
    let expected = clock["items"].as_array().unwrap().clone();
    assert_eq!(expected.len(), 2, "{clock}");

    set_password(&w.app, REGISTERED_OWNER, PASSWORD).await;
    let mut owner = Visitor::new(&w.app);
    assert_eq!(owner.login(REGISTERED_OWNER, PASSWORD).await.status, 303);
    let made = owner.submit("/clock", "/clock/feed", &[]).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let url_of = |body: &str| -> String {
        let marker = "id=\"calendar-url\" readonly value=\"";
        let at = body.find(marker).expect("the link is shown") + marker.len();
        body[at..at + body[at..].find('"').unwrap()].to_owned()
    };
    let url = url_of(&made.body);
    let path = &url[url.find("/calendar/").unwrap()..];
    // Shown once: the page does not show it again.
    assert!(!owner.get("/clock").await.body.contains(path));

    // Opened without a session, parsed by an independent iCalendar parser.
    let feed = w.app.get(path).await;
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = feed.text().await.unwrap();
    let calendars: Vec<_> = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()))
        .collect::<Result<_, _>>()
        .expect("a valid calendar");
    assert_eq!(calendars.len(), 1, "{text}");
    let events = &calendars[0].events;
    assert_eq!(events.len(), expected.len(), "{text}");
    let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| -> String {
        e.properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_default()
    };
    for deadline in &expected {
        let due: chrono::DateTime<chrono::Utc> = deadline["due"].as_str().unwrap().parse().unwrap();
        let link = deadline["link"].as_str().unwrap();
        let event = events
            .iter()
            .find(|e| prop(e, "URL").ends_with(link))
            .unwrap_or_else(|| panic!("no event for {link} in {text}"));
        // Times in UTC, to the second.
        assert_eq!(
            prop(event, "DTSTART"),
            due.format("%Y%m%dT%H%M%SZ").to_string(),
            "{text}"
        );
        assert!(!prop(event, "UID").is_empty());
        assert!(!prop(event, "DTSTAMP").is_empty());
    }
    assert!(
        events
            .iter()
            .any(|e| prop(e, "SUMMARY").contains("Calendar Person"))
    );
    assert!(
        events
            .iter()
            .any(|e| prop(e, "SUMMARY").contains("Printers for Kesko"))
    );

    // A new link replaces it: the old one answers 404.
    let remade = owner.submit("/clock", "/clock/feed", &[]).await;
    let new_url = url_of(&remade.body);
    assert_ne!(new_url, url);
    assert_eq!(w.app.get(path).await.status(), 404);
    let new_path = &new_url[new_url.find("/calendar/").unwrap()..];
    assert_eq!(w.app.get(new_path).await.status(), 200);
    // A made-up secret answers 404 too.
    assert_eq!(w.app.get("/calendar/opc_made-up").await.status(), 404);
}
