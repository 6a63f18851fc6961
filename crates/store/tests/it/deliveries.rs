//! What a partner sends its vendors: a deal with several vendors sends
//! each only its own part, and every registration and answer to a vendor's
//! lead is queued for delivery in the transaction that made it.

use std::collections::BTreeMap;

use onepane_domain::deal::{DealFieldSpec, DealProduct, VendorFields};
use onepane_domain::delivery::{DeliveryKind, DeliveryRoute, SendStatus};
use onepane_domain::lead::LeadStatus;
use onepane_domain::text::{LongText, Sku};
use onepane_domain::{Currency, Tier};
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::{DeliveryOutcome, DeliverySubject, StoreError};

crate::on_both_backends!(
    a_deal_with_several_vendors_sends_each_only_its_fields_and_products,
    a_product_no_vendor_of_the_deal_owns_is_refused_and_notes_go_to_all,
    registrations_and_answers_are_queued_and_claimed_once,
    a_decision_link_works_once_until_its_deadline,
    earlier_registrations_of_a_customer_are_found_by_domain_else_by_name,
    a_delivery_to_a_paused_vendor_fails_at_once_saying_why,
);

fn field(name: &str) -> DealFieldSpec {
    DealFieldSpec {
        name: name.to_owned(),
        label: onepane_store::testing::content::name(name),
        required: false,
    }
}

fn product(sku: &str, quantity: u32, vendor: Option<onepane_domain::VendorId>) -> DealProduct {
    DealProduct {
        sku: Sku::parse(sku).unwrap(),
        quantity,
        vendor_id: vendor,
    }
}

async fn a_deal_with_several_vendors_sends_each_only_its_fields_and_products(db: TestDb) {
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let hp = vendor(store, "HP").await;
    link(store, ws, hp, Tier::Silver).await;
    store
        .vendor(canon)
        .put_deal_fields(&[field("canon_program")])
        .await
        .unwrap();
    store
        .vendor(hp)
        .put_deal_fields(&[field("hp_region"), field("deal_type")])
        .await
        .unwrap();
    store
        .vendor(canon)
        .publish_price_list(
            &ext("canon-eu"),
            &terms(Currency::EUR),
            &[item("CANON-PRINTER", "900")],
        )
        .await
        .unwrap();
    store
        .vendor(hp)
        .publish_price_list(
            &ext("hp-eu"),
            &terms(Currency::EUR),
            &[item("HP-LAPTOP", "1200")],
        )
        .await
        .unwrap();
    let mut details = deal("Office refresh for Kesko");
    details.fields = VendorFields::try_from(BTreeMap::from([
        ("canon_program".to_owned(), "Canon Partner Plus".to_owned()),
        ("hp_region".to_owned(), "Nordics".to_owned()),
        ("deal_type".to_owned(), "new".to_owned()),
    ]))
    .unwrap();
    details.products = vec![
        product("CANON-PRINTER", 10, None),
        product("HP-LAPTOP", 40, None),
        // Services no price list has, named for HP by the partner.
        product("INSTALL-DAY", 3, Some(hp)),
    ];
    let regs = store
        .partner(ws)
        .register_deals(&[canon, hp], &details, None, None)
        .await
        .unwrap();
    let [for_canon, for_hp] = &regs[..] else {
        panic!("two registrations")
    };
    assert_eq!(for_canon.vendor_id, canon);
    let skus = |r: &onepane_domain::deal::DealRegistration| -> Vec<String> {
        r.details
            .products
            .iter()
            .map(|p| p.sku.to_string())
            .collect()
    };
    let names = |r: &onepane_domain::deal::DealRegistration| -> Vec<String> {
        r.details.fields.as_map().keys().cloned().collect()
    };
    assert_eq!(skus(for_canon), ["CANON-PRINTER"]);
    assert_eq!(names(for_canon), ["canon_program"]);
    assert_eq!(skus(for_hp), ["HP-LAPTOP", "INSTALL-DAY"]);
    assert_eq!(names(for_hp), ["deal_type", "hp_region"]);
    // Every product line says whose it is.
    assert!(
        for_hp
            .details
            .products
            .iter()
            .all(|p| p.vendor_id == Some(hp))
    );
    // The shared form goes to both.
    assert_eq!(for_canon.details.amount, for_hp.details.amount);

    // Canon never sees the names, values or SKUs HP asked for: not in the registration
    // it reads, not in its webhook, not in its delivery.
    let seen_by_canon = store.vendor(canon).deal_registrations(None).await.unwrap();
    let canon_text = serde_json::to_string(&seen_by_canon).unwrap();
    let hooks = store
        .vendor(canon)
        .webhook_deliveries(onepane_store::DeliveryFilter::default())
        .await
        .unwrap();
    let hook_text =
        serde_json::to_string(&hooks.iter().map(|h| &h.payload).collect::<Vec<_>>()).unwrap();
    for secret in [
        "hp_region",
        "Nordics",
        "deal_type",
        "HP-LAPTOP",
        "INSTALL-DAY",
    ] {
        assert!(!canon_text.contains(secret), "canon reads {secret}");
        assert!(
            !hook_text.contains(secret),
            "canon's webhook carries {secret}"
        );
    }
    assert!(
        canon_text.contains("Canon Partner Plus"),
        "the check can fail"
    );
    let due = store
        .system()
        .claim_vendor_deliveries(10, chrono::Duration::seconds(60))
        .await
        .unwrap();
    for d in &due {
        let DeliverySubject::Deal { deal, .. } = &d.subject else {
            panic!("a deal")
        };
        assert_eq!(deal.vendor_id, d.delivery.vendor_id);
        if d.delivery.vendor_id == canon {
            assert_eq!(skus(deal), ["CANON-PRINTER"]);
        }
    }
    assert_eq!(due.len(), 2);
}

async fn a_product_no_vendor_of_the_deal_owns_is_refused_and_notes_go_to_all(db: TestDb) {
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let hp = vendor(store, "HP").await;
    link(store, ws, hp, Tier::Silver).await;
    store
        .vendor(canon)
        .put_deal_fields(&[field("reseller_account")])
        .await
        .unwrap();
    let partner = store.partner(ws);

    let mut details = deal("Unclear lines");
    details.products = vec![product("MYSTERY-1", 1, None)];
    let e = partner
        .register_deals(&[canon, hp], &details, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Rule(m) if m.contains("MYSTERY-1") && m.contains("which vendor")),
        "{e}"
    );
    // A product named for a vendor the deal does not name.
    let stranger = vendor(store, "Stranger").await;
    let mut details = deal("Wrong vendor");
    details.products = vec![product("X-1", 1, Some(stranger))];
    assert!(
        partner
            .register_deals(&[canon], &details, None, None)
            .await
            .is_err()
    );
    // A field none of the deal's vendors asks for is the partner's note,
    // for all of them; one a vendor asks for is that vendor's only.
    let mut details = deal("Notes for both");
    details.fields = VendorFields::try_from(BTreeMap::from([
        ("our_note".to_owned(), "ship in May".to_owned()),
        ("reseller_account".to_owned(), "R-9".to_owned()),
    ]))
    .unwrap();
    let regs = partner
        .register_deals(&[canon, hp], &details, None, None)
        .await
        .unwrap();
    let names = |r: &onepane_domain::deal::DealRegistration| -> Vec<String> {
        r.details.fields.as_map().keys().cloned().collect()
    };
    assert_eq!(names(&regs[0]), ["our_note", "reseller_account"]);
    assert_eq!(names(&regs[1]), ["our_note"]);
    for r in &regs {
        partner
            .retry_delivery(DeliveryKind::Deal, r.id.as_uuid(), None)
            .await
            .unwrap_err();
    }
    let registered = partner.deal_registrations().await.unwrap().len();
    // Nothing more was registered or queued by the refusals.
    assert_eq!(registered, 2);
    assert_eq!(
        partner.deliveries(DeliveryKind::Deal).await.unwrap().len(),
        2
    );
    // With one vendor, everything is that vendor's.
    let mut details = deal("One vendor");
    details.products = vec![product("MYSTERY-1", 2, None)];
    let reg = partner
        .register_deal(canon, &details, None, None)
        .await
        .unwrap();
    assert_eq!(reg.details.products[0].vendor_id, Some(canon));
    assert_eq!(reg.details.fields.as_map().len(), 1);
}

async fn registrations_and_answers_are_queued_and_claimed_once(db: TestDb) {
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let partner = store.partner(ws);
    let system = store.system();
    let reg = partner
        .register_deal(canon, &deal("Printers"), None, None)
        .await
        .unwrap();
    let queued = partner
        .delivery(DeliveryKind::Deal, reg.id.as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (queued.status, queued.attempts, queued.generation),
        (SendStatus::Pending, 0, 0)
    );
    assert_eq!(queued.vendor_id, canon);

    // Claimed once: a second deliverer finds nothing until the lease ends.
    let lease = chrono::Duration::seconds(60);
    let first = system.claim_vendor_deliveries(10, lease).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        system
            .claim_vendor_deliveries(10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    system
        .record_vendor_delivery(
            &first[0].delivery,
            &DeliveryOutcome::Sent {
                route: DeliveryRoute::OnepaneApi,
                connection: None,
                vendor_ref: None,
            },
        )
        .await
        .unwrap();
    let sent = partner
        .delivery(DeliveryKind::Deal, reg.id.as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((sent.status, sent.attempts), (SendStatus::Sent, 1));
    // Recorded in the workspace's log.
    let log = partner
        .audit_events(&onepane_store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "deal-registration.delivered")
    );

    // A vendor's lead declined: the answer is queued with the reason.
    let lead = store
        .vendor(canon)
        .send_lead(ws, &vendor_lead("L-1", "Ada Lovelace"))
        .await
        .unwrap();
    let reason = LongText::parse("Not our region").unwrap();
    partner
        .move_lead(lead.id, LeadStatus::Declined, Some(&reason), None)
        .await
        .unwrap();
    let declined = partner
        .delivery(DeliveryKind::LeadAnswer, lead.id.as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(declined.answer.as_ref().map(|a| a.accepted), Some(false));
    assert_eq!(
        declined.answer.as_ref().and_then(|a| a.reason.as_deref()),
        Some("Not our region")
    );
    let claimed = system.claim_vendor_deliveries(10, lease).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let DeliverySubject::LeadAnswer {
        lead: claimed_lead, ..
    } = &claimed[0].subject
    else {
        panic!("an answer")
    };
    assert_eq!(claimed_lead.id, lead.id);
    // Pending can't be sent again by hand; refused can, as a new sending.
    assert!(
        partner
            .retry_delivery(DeliveryKind::LeadAnswer, lead.id.as_uuid(), None)
            .await
            .is_err()
    );
    system
        .record_vendor_delivery(
            &claimed[0].delivery,
            &DeliveryOutcome::Refused {
                connection: None,
                message: "unknown lead".into(),
            },
        )
        .await
        .unwrap();
    let refused = partner
        .delivery(DeliveryKind::LeadAnswer, lead.id.as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refused.status, SendStatus::Refused);
    let again = partner
        .retry_delivery(DeliveryKind::LeadAnswer, lead.id.as_uuid(), None)
        .await
        .unwrap();
    assert_eq!(again.status, SendStatus::Pending);
    assert_ne!(again.idempotency_key(), refused.idempotency_key());
    // The old sending's late result no longer counts.
    system
        .record_vendor_delivery(
            &claimed[0].delivery,
            &DeliveryOutcome::Sent {
                route: DeliveryRoute::OnepaneApi,
                connection: None,
                vendor_ref: None,
            },
        )
        .await
        .unwrap();
    let still = partner
        .delivery(DeliveryKind::LeadAnswer, lead.id.as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, SendStatus::Pending);
    // Another workspace sees none of it.
    let other = workspace(store, "Bolt").await;
    assert!(
        store
            .partner(other)
            .delivery(DeliveryKind::Deal, reg.id.as_uuid())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .partner(other)
            .retry_delivery(DeliveryKind::LeadAnswer, lead.id.as_uuid(), None)
            .await
            .is_err()
    );
}

async fn a_decision_link_works_once_until_its_deadline(db: TestDb) {
    use onepane_domain::delivery::LinkDecision;
    use onepane_store::LinkRefused;
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let partner = store.partner(ws);
    let system = store.system();
    let reg = partner
        .register_deal(canon, &deal("Printers"), None, None)
        .await
        .unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(14);
    let (approve, reject) = ([1u8; 32], [2u8; 32]);
    system
        .create_decision_links(
            ws,
            reg.id,
            canon,
            &[
                (LinkDecision::Approve, approve),
                (LinkDecision::Reject, reject),
            ],
            later,
        )
        .await
        .unwrap();
    // Reading a link does not use it.
    let (link, shown) = system.decision_link(&approve).await.unwrap().unwrap();
    assert_eq!(
        (link.decision, link.registration_id, link.vendor_id),
        (LinkDecision::Approve, reg.id, canon)
    );
    assert_eq!(shown.id, reg.id);
    assert!(system.decision_link(&approve).await.unwrap().is_ok());
    // An unknown token.
    assert_eq!(
        system.decision_link(&[9u8; 32]).await.unwrap().unwrap_err(),
        LinkRefused::Unknown
    );
    assert_eq!(
        system
            .use_decision_link(&[9u8; 32])
            .await
            .unwrap()
            .unwrap_err(),
        LinkRefused::Unknown
    );
    // Used once: it and its sibling are spent.
    let used = system.use_decision_link(&reject).await.unwrap().unwrap();
    assert_eq!(used.decision, LinkDecision::Reject);
    assert!(matches!(
        system.use_decision_link(&reject).await.unwrap(),
        Err(LinkRefused::Used(_))
    ));
    assert!(matches!(
        system.use_decision_link(&approve).await.unwrap(),
        Err(LinkRefused::Used(_))
    ));
    // Past its deadline a link does nothing.
    let other = partner
        .register_deal(canon, &deal("Scanners"), None, None)
        .await
        .unwrap();
    let stale = [3u8; 32];
    system
        .create_decision_links(
            ws,
            other.id,
            canon,
            &[(LinkDecision::Approve, stale)],
            chrono::Utc::now() - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    assert!(matches!(
        system.decision_link(&stale).await.unwrap(),
        Err(LinkRefused::Expired(_))
    ));
    assert!(matches!(
        system.use_decision_link(&stale).await.unwrap(),
        Err(LinkRefused::Expired(_))
    ));
}

async fn earlier_registrations_of_a_customer_are_found_by_domain_else_by_name(db: TestDb) {
    use onepane_domain::deal::DealDecision;
    use onepane_domain::lead::Company;
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let hp = vendor(store, "HP").await;
    link(store, ws, hp, Tier::Silver).await;
    let partner = store.partner(ws);
    let company = |n: &str, domain: Option<&str>| Company {
        name: name(n),
        domain: domain.map(name),
        country: None,
    };
    let mut by_name = deal("No domain");
    by_name.customer = company("Valio  Oy", None);
    let a = partner
        .register_deal(canon, &by_name, None, None)
        .await
        .unwrap();
    let mut by_domain = deal("With domain");
    by_domain.customer = company("Kesko", Some("kesko.fi"));
    let b = partner
        .register_deal(hp, &by_domain, None, None)
        .await
        .unwrap();

    // By name (case and spacing aside) when a side has no domain.
    let found = partner
        .registration_conflicts(&[canon], &company("valio oy", Some("valio.fi")), None)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].registration_id, found[0].same_vendor),
        (a.id, true)
    );
    // By domain when both have one: the name does not matter, nor `www.`.
    let found = partner
        .registration_conflicts(&[canon], &company("K-Group", Some("WWW.kesko.fi")), None)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].registration_id, found[0].same_vendor),
        (b.id, false)
    );
    // Both domains, and different: no conflict, even with the same name.
    let found = partner
        .registration_conflicts(&[hp], &company("Kesko", Some("kesko.se")), None)
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    // A rejected registration is no conflict.
    store
        .vendor(hp)
        .decide(
            b.id,
            DealDecision::Rejected {
                reason: LongText::parse("No").unwrap(),
            },
        )
        .await
        .unwrap();
    let found = partner
        .registration_conflicts(&[hp], &company("Kesko", Some("kesko.fi")), None)
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    // Another workspace's registrations never show.
    let other = workspace(store, "Bolt").await;
    link(store, other, canon, Tier::Gold).await;
    let found = store
        .partner(other)
        .registration_conflicts(&[canon], &company("Valio Oy", None), None)
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
}

async fn a_delivery_to_a_paused_vendor_fails_at_once_saying_why(db: TestDb) {
    use onepane_domain::program::{LinkStatus, Role};
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let partner = store.partner(ws);
    let admin = member(store, ws, "admin@acme.example", Role::Admin).await;
    let reg = partner
        .register_deal(canon, &deal("Printers"), None, None)
        .await
        .unwrap();
    partner
        .set_link_status(canon, LinkStatus::Paused, admin.id)
        .await
        .unwrap();
    let lease = chrono::Duration::seconds(60);
    // Not handed to a deliverer, and not due again: failed, saying why.
    assert!(
        store
            .system()
            .claim_vendor_deliveries(10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let d = partner
        .delivery(DeliveryKind::Deal, reg.id.as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, SendStatus::Failed);
    assert!(
        d.message
            .as_deref()
            .is_some_and(|m| m.contains("not active")),
        "{d:?}"
    );
    // Resumed, it is sent again by hand.
    partner
        .set_link_status(canon, LinkStatus::Active, admin.id)
        .await
        .unwrap();
    partner
        .retry_delivery(DeliveryKind::Deal, reg.id.as_uuid(), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .system()
            .claim_vendor_deliveries(10, lease)
            .await
            .unwrap()
            .len(),
        1
    );
}
