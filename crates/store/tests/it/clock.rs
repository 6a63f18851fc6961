//! The clock on both backends: every kind of deadline from its source, in
//! order, filtered by vendor, kind and person, and nothing of another
//! workspace.

use chrono::{DateTime, Duration, Utc};
use onepane_domain::Tier;
use onepane_domain::clock::{ClockFilter, Deadline, DeadlineKind};
use onepane_domain::deal::DealDecision;
use onepane_domain::program::Role;
use onepane_domain::workspace::ConnectionStatus;
use onepane_store::DeliveryOutcome;
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;

crate::on_both_backends!(every_deadline_is_on_the_clock_in_order_and_filtered);

async fn every_deadline_is_on_the_clock_in_order_and_filtered(db: TestDb) {
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let hp = vendor(store, "HP").await;
    link(store, ws, hp, Tier::Silver).await;
    let partner = store.partner(ws);
    let seller = member(store, ws, "seller@acme.example", Role::SalesRep).await;

    // A vendor's lead to answer within two days.
    let mut lead = vendor_lead("L-1", "Ada Lovelace");
    lead.respond_by = Some(Utc::now() + Duration::days(2));
    store.vendor(canon).send_lead(ws, &lead).await.unwrap();
    // One without an answer-by time is not on the clock.
    store
        .vendor(canon)
        .send_lead(ws, &vendor_lead("L-2", "No Deadline"))
        .await
        .unwrap();
    // A registration the seller submitted, waiting for Canon.
    let waiting = partner
        .register_deal(canon, &deal("Waiting for Canon"), None, Some(seller.id))
        .await
        .unwrap();
    // HP protects one for ten more days, another for ninety.
    let ending = partner
        .register_deal(hp, &deal("Ends soon"), None, None)
        .await
        .unwrap();
    let later = partner
        .register_deal(hp, &deal("Ends later"), None, None)
        .await
        .unwrap();
    for (id, days) in [(ending.id, 10), (later.id, 90)] {
        store
            .vendor(hp)
            .decide(
                id,
                DealDecision::Approved {
                    reason: None,
                    protection_expires_on: Utc::now().date_naive() + Duration::days(days),
                    extra_discount: None,
                },
            )
            .await
            .unwrap();
    }
    // A connection to log in to again.
    let conn = connection(store, ws, &vendor_source(canon, "Canon portal")).await;
    store
        .system()
        .set_connection_status(
            ws,
            conn,
            ConnectionStatus::NeedsReauthorization,
            "refresh refused",
        )
        .await
        .unwrap();
    // A registration HP's system refused.
    let lease = Duration::seconds(60);
    for due in store
        .system()
        .claim_vendor_deliveries(10, lease)
        .await
        .unwrap()
    {
        let outcome =
            if due.delivery.vendor_id == hp && due.delivery.subject_id == later.id.as_uuid() {
                DeliveryOutcome::Refused {
                    connection: None,
                    message: "Unknown reseller".into(),
                }
            } else {
                DeliveryOutcome::Sent {
                    route: onepane_domain::delivery::DeliveryRoute::OnepaneApi,
                    connection: None,
                    vendor_ref: None,
                }
            };
        store
            .system()
            .record_vendor_delivery(&due.delivery, &outcome)
            .await
            .unwrap();
    }

    let all = partner.clock(&ClockFilter::default()).await.unwrap();
    let kinds: Vec<DeadlineKind> = all.iter().map(|d| d.kind).collect();
    for kind in DeadlineKind::ALL {
        assert_eq!(
            kinds.iter().filter(|k| *k == kind).count(),
            1,
            "one {kind} in {kinds:?}"
        );
    }
    // Soonest (or most overdue) first.
    assert!(all.windows(2).all(|w| w[0].due <= w[1].due), "{all:?}");
    let decision = all
        .iter()
        .find(|d| d.kind == DeadlineKind::DecisionAwaited)
        .unwrap();
    assert_eq!(decision.link, format!("/deals/{}", waiting.id));
    assert_eq!(decision.due, waiting.submitted_at + Duration::days(7));
    assert_eq!(decision.person, Some(seller.id));
    let protection = all
        .iter()
        .find(|d| d.kind == DeadlineKind::ProtectionEnds)
        .unwrap();
    assert_eq!(protection.title, "Ends soon");

    // Filters.
    let canon_only = partner
        .clock(&ClockFilter {
            vendor_id: Some(canon),
            ..ClockFilter::default()
        })
        .await
        .unwrap();
    assert!(
        canon_only.iter().all(|d| d.vendor_id == Some(canon)),
        "{canon_only:?}"
    );
    assert_eq!(
        canon_only.len(),
        3,
        "lead, decision, connection: {canon_only:?}"
    );
    let leads_only = partner
        .clock(&ClockFilter {
            kind: Some(DeadlineKind::LeadAnswer),
            ..ClockFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(leads_only.len(), 1);
    assert_eq!(leads_only[0].title, "Ada Lovelace");
    let sellers = partner
        .clock(&ClockFilter {
            person: Some(seller.id),
            ..ClockFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(sellers.len(), 1, "{sellers:?}");
    assert_eq!(sellers[0].kind, DeadlineKind::DecisionAwaited);

    // Another workspace's clock holds none of it.
    let other = workspace(store, "Bolt").await;
    link(store, other, canon, Tier::Gold).await;
    assert!(
        store
            .partner(other)
            .clock(&ClockFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}

crate::on_both_backends!(the_clocks_head_is_its_start_with_the_count_of_each_kind);

/// Deadlines as compared across two reads: a login is due when it is read.
fn listed(deadlines: &[Deadline]) -> Vec<(DeadlineKind, Option<DateTime<Utc>>, String, String)> {
    deadlines
        .iter()
        .map(|d| {
            let due = (d.kind != DeadlineKind::Reauthorize).then_some(d.due);
            (d.kind, due, d.title.clone(), d.link.clone())
        })
        .collect()
}

async fn the_clocks_head_is_its_start_with_the_count_of_each_kind(db: TestDb) {
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let hp = vendor(store, "HP").await;
    link(store, ws, hp, Tier::Silver).await;
    let partner = store.partner(ws);
    // Leads to answer from both vendors, out of order, one overdue.
    for (n, hours) in [5, -3, 30, 12, 1, 70, 44, 8].into_iter().enumerate() {
        let mut lead = vendor_lead(&format!("L-{n}"), &format!("Person {n}"));
        lead.respond_by = Some(Utc::now() + Duration::hours(hours));
        let from = if n % 2 == 0 { canon } else { hp };
        store.vendor(from).send_lead(ws, &lead).await.unwrap();
    }
    // Three due at the same time: listed as the clock lists them.
    let tied = Utc::now() + Duration::hours(2);
    for n in 0..3 {
        let mut lead = vendor_lead(&format!("T-{n}"), &format!("Tied {n}"));
        lead.respond_by = Some(tied);
        store.vendor(canon).send_lead(ws, &lead).await.unwrap();
    }
    // Registrations waiting for a decision (due in a week: after the leads).
    for n in 0..3 {
        partner
            .register_deal(hp, &deal(&format!("Waiting {n}")), None, None)
            .await
            .unwrap();
    }
    let conn = connection(store, ws, &vendor_source(canon, "Canon portal")).await;
    store
        .system()
        .set_connection_status(ws, conn, ConnectionStatus::NeedsReauthorization, "expired")
        .await
        .unwrap();

    let all = partner.clock(&ClockFilter::default()).await.unwrap();
    assert_eq!(all.len(), 15, "{all:?}");
    for shown in [0, 1, 4, 5, 6, 15, 20] {
        let head = partner
            .clock_head(&ClockFilter::default(), shown)
            .await
            .unwrap();
        assert_eq!(
            listed(&head.first),
            listed(&all[..shown.min(all.len())]),
            "the first {shown}"
        );
        assert_eq!(
            head.counts,
            [
                (DeadlineKind::LeadAnswer, 11),
                (DeadlineKind::DecisionAwaited, 3),
                (DeadlineKind::Reauthorize, 1),
            ],
            "the whole clock counted, whatever is shown"
        );
        assert_eq!(
            head.total() - head.first.len() as u64,
            (15 - shown.min(15)) as u64
        );
    }
    // The overdue lead and the login due now come first.
    let head = partner
        .clock_head(&ClockFilter::default(), 2)
        .await
        .unwrap();
    assert_eq!(head.first[0].title, "Person 1");
    assert_eq!(head.first[1].kind, DeadlineKind::Reauthorize);
    assert_eq!(
        head.rest(),
        [
            (DeadlineKind::LeadAnswer, 10),
            (DeadlineKind::DecisionAwaited, 3)
        ]
    );

    // Filtered, the head is the filtered clock's.
    for filter in [
        ClockFilter {
            vendor_id: Some(hp),
            ..ClockFilter::default()
        },
        ClockFilter {
            kind: Some(DeadlineKind::LeadAnswer),
            ..ClockFilter::default()
        },
    ] {
        let whole = partner.clock(&filter).await.unwrap();
        let head = partner.clock_head(&filter, 3).await.unwrap();
        assert_eq!(listed(&head.first), listed(&whole[..3]), "{filter:?}");
        assert_eq!(head.total(), whole.len() as u64, "{filter:?}");
    }
}
