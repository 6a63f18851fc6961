//! The store's behaviour, identical on SQLite and PostgreSQL.

use chrono::Utc;
use onepane_domain::activity::{Actor, AuditAccess, AuditEvent, NotificationKind};
use onepane_domain::campaign::CampaignStatus;
use onepane_domain::deal::{DealDecision, DealStatus};
use onepane_domain::lead::{ConsentAnswer, LeadSource, LeadStatus, NewCampaignLead, NewManualLead};
use onepane_domain::price::{ExchangeRate, Markup, Percent, SellMethod, SellRuleSelector};
use onepane_domain::program::LinkStatus;
use onepane_domain::text::{Category, LongText};
use onepane_domain::workspace::NewConnection;
use onepane_domain::{Currency, Tier};
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::{AuditFilter, LeadFilter, Page, StoreError};
use rust_decimal::Decimal;

crate::on_both_backends!(
    migrations_are_idempotent_and_complete,
    assets_reach_only_their_audience,
    search_folds_case_beyond_ascii,
    concurrent_decisions_decide_once,
    campaigns_run_inside_their_window,
    a_deal_from_an_unattributed_lead_shares_it_with_that_vendor,
    large_price_lists_publish_in_chunks_atomically,
    operator_creates_workspace_with_owner,
    link_shows_on_both_sides,
    published_campaign_reaches_linked_partners_by_tier,
    activation_is_one_click_and_captures_attributed_leads,
    archived_campaign_takes_no_leads,
    vendor_lead_is_accepted_or_declined,
    leads_filter_and_paginate,
    deal_registration_shares_its_lead_and_gets_decided,
    price_list_publish_is_atomic_and_exact,
    sell_rules_and_exchange_rates_round_trip,
    logos_are_kept_per_workspace_and_per_vendor,
    ended_link_hides_vendor_rows_both_ways,
    connections_need_a_linked_vendor,
    connection_settings_change_in_place,
    notifications_and_audit_log,
    home_summaries_count_and_order_what_waits,
    a_members_latest_move_is_undone_in_time_by_that_member_alone,
    a_move_that_answered_the_vendor_is_not_undone,
    a_deleted_connection_takes_its_plumbing_and_leaves_its_records,
);

async fn migrations_are_idempotent_and_complete(db: TestDb) {
    assert!(db.store.pending_migrations().await.unwrap().is_empty());
    if db.store.backend() == "sqlite" {
        // The server role on PostgreSQL may not migrate; the owner did.
        db.store.migrate().await.unwrap();
    }
    db.store.ping().await.unwrap();
}

async fn operator_creates_workspace_with_owner(db: TestDb) {
    let ws = workspace(&db.store, "Acme Oy").await;
    let partner = db.store.partner(ws);
    let w = partner.workspace().await.unwrap();
    assert_eq!(w.name.as_str(), "Acme Oy");
    assert_eq!(w.home_currency, Currency::EUR);
    let members = partner.members().await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].email.as_str(), "owner@acme-oy.example");
    assert_eq!(members[0].role, onepane_domain::Role::Owner);
    // The same owner can own a second workspace: one user, two memberships.
    let ws2 = workspace(&db.store, "Acme Oy").await;
    let m2 = db.store.partner(ws2).members().await.unwrap();
    assert_eq!(m2[0].user_id, members[0].user_id);
}

async fn link_shows_on_both_sides(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Silver).await;
    let vendors = db.store.partner(ws).vendors().await.unwrap();
    assert_eq!(vendors.len(), 1);
    assert_eq!(vendors[0].vendor.name.as_str(), "Canon");
    assert_eq!(vendors[0].link.tier, Tier::Silver);
    let partners = db.store.vendor(v).partners().await.unwrap();
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0].name.as_str(), "Acme");
    let updated = db.store.vendor(v).set_tier(ws, Tier::Gold).await.unwrap();
    assert_eq!(updated.tier, Tier::Gold);
    assert_eq!(
        db.store.partner(ws).vendors().await.unwrap()[0].link.tier,
        Tier::Gold
    );
    // Linking a vendor that does not exist is refused.
    let err = db
        .store
        .operator()
        .link(
            ws,
            onepane_domain::VendorId::new(),
            Tier::Gold,
            onepane_domain::PartnerType::Var,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "vendor", .. }),
        "{err:?}"
    );
}

async fn published_campaign_reaches_linked_partners_by_tier(db: TestDb) {
    let silver = workspace(&db.store, "Silver Partner").await;
    let gold = workspace(&db.store, "Gold Partner").await;
    let unlinked = workspace(&db.store, "Stranger").await;
    let v = vendor(&db.store, "Canon").await;
    link(&db.store, silver, v, Tier::Silver).await;
    link(&db.store, gold, v, Tier::Gold).await;
    let published = db
        .store
        .vendor(v)
        .publish_campaign(
            &ext("spring-26"),
            &campaign("Spring", &[Tier::Gold, Tier::Platinum]),
        )
        .await
        .unwrap();
    assert_eq!(published.external_id, ext("spring-26"));
    assert_eq!(
        db.store
            .vendor(v)
            .reach()
            .await
            .unwrap()
            .of(&published.content.audience),
        1,
        "stored once, it reaches the gold partner only"
    );
    assert_eq!(db.store.partner(gold).campaigns().await.unwrap().len(), 1);
    assert!(
        db.store
            .partner(silver)
            .campaigns()
            .await
            .unwrap()
            .is_empty(),
        "tier not in audience"
    );
    assert!(
        db.store
            .partner(unlinked)
            .campaigns()
            .await
            .unwrap()
            .is_empty()
    );
    // Only the partner in the audience is notified, after the publishing
    // commits; republishing does not notify again.
    assert_eq!(db.store.system().announce_all().await.unwrap(), 1);
    for (ws, expected) in [(silver, 0), (gold, 1)] {
        let n = db.store.partner(ws).notifications(true).await.unwrap();
        assert_eq!(
            n.iter()
                .filter(|n| n.kind == NotificationKind::NewCampaign)
                .count(),
            expected
        );
    }
    db.store
        .vendor(v)
        .publish_campaign(&ext("spring-26"), &campaign("Spring v2", &[Tier::Gold]))
        .await
        .unwrap();
    assert_eq!(db.store.system().announce_all().await.unwrap(), 0);
    let n = db.store.partner(gold).notifications(true).await.unwrap();
    assert_eq!(
        n.iter()
            .filter(|n| n.kind == NotificationKind::NewCampaign)
            .count(),
        1
    );
    let c = &db.store.partner(gold).campaigns().await.unwrap()[0];
    assert_eq!(c.content.variants.first().name.as_str(), "Spring v2");
    // A tier upgrade opens the campaign to the silver partner.
    db.store
        .vendor(v)
        .set_tier(silver, Tier::Gold)
        .await
        .unwrap();
    assert_eq!(db.store.partner(silver).campaigns().await.unwrap().len(), 1);
}

async fn activation_is_one_click_and_captures_attributed_leads(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    db.store
        .vendor(v)
        .publish_campaign(&ext("c1"), &campaign("Spring Printers", &[]))
        .await
        .unwrap();
    let partner = db.store.partner(ws);
    let c = partner.campaigns().await.unwrap().remove(0);
    let a = partner.activate_campaign(c.id, None).await.unwrap();
    assert!(
        a.slug.as_str().starts_with("spring-printers-"),
        "{}",
        a.slug
    );
    let again = partner.activate_campaign(c.id, None).await.unwrap();
    assert_eq!(again, a, "activating twice returns the same activation");
    let lead = partner
        .capture_campaign_lead(&NewCampaignLead {
            activation_id: a.id,
            contact: contact("Maija Meik"),
            company: None,
            message: None,
            consent: ConsentAnswer::NotAsked,
        })
        .await
        .unwrap();
    assert_eq!(lead.source, LeadSource::Campaign);
    assert_eq!(lead.vendor_id, Some(v));
    assert_eq!(lead.campaign_id, Some(c.id));
    assert_eq!(
        partner.lead(lead.id).await.unwrap(),
        lead,
        "reads back exactly as written"
    );
    let notes = partner.notifications(true).await.unwrap();
    let arrived = notes
        .iter()
        .find(|n| n.kind == NotificationKind::NewLead)
        .expect("the workspace is notified");
    assert_eq!(arrived.link, Some(format!("/leads/{}", lead.id)));
    // The vendor sees the activation count, never the captured lead.
    assert_eq!(
        db.store
            .vendor(v)
            .campaign_counts(&ext("c1"))
            .await
            .unwrap(),
        (1, 1),
        "one activation, one lead"
    );
    assert!(db.store.vendor(v).leads().await.unwrap().is_empty());
}

async fn archived_campaign_takes_no_leads(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    db.store
        .vendor(v)
        .publish_campaign(&ext("c1"), &campaign("Spring", &[]))
        .await
        .unwrap();
    let partner = db.store.partner(ws);
    let c = partner.campaigns().await.unwrap().remove(0);
    let a = partner.activate_campaign(c.id, None).await.unwrap();
    assert_eq!(
        db.store
            .vendor(v)
            .archive_campaign(&ext("c1"))
            .await
            .unwrap()
            .status,
        CampaignStatus::Archived
    );
    assert_eq!(
        partner.campaign(c.id).await.unwrap().status,
        CampaignStatus::Archived
    );
    assert!(partner.campaigns().await.unwrap().is_empty());
    let err = partner
        .capture_campaign_lead(&NewCampaignLead {
            activation_id: a.id,
            contact: contact("Late Visitor"),
            company: None,
            message: None,
            consent: ConsentAnswer::NotAsked,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rule(_)), "{err:?}");
    assert!(
        partner
            .leads(&LeadFilter::default(), Page::default())
            .await
            .unwrap()
            .is_empty(),
        "nothing half-written"
    );
    assert!(matches!(
        db.store.vendor(v).archive_campaign(&ext("nope")).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn vendor_lead_is_accepted_or_declined(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let vs = db.store.vendor(v);
    let lead = vs
        .send_lead(ws, &vendor_lead("L-1", "Pekka Puu"))
        .await
        .unwrap();
    assert_eq!(
        (lead.source, lead.status),
        (LeadSource::Vendor, LeadStatus::New)
    );
    // Resending while new updates the same lead.
    let mut changed = vendor_lead("L-1", "Pekka Puustinen");
    changed.message = Some(LongText::parse("Wants 40 printers").unwrap());
    let resent = vs.send_lead(ws, &changed).await.unwrap();
    assert_eq!(resent.id, lead.id);
    let partner = db.store.partner(ws);
    assert_eq!(
        partner.lead(lead.id).await.unwrap().contact.name.as_str(),
        "Pekka Puustinen"
    );
    let err = partner
        .set_lead_status(lead.id, LeadStatus::Working)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Rule(_)),
        "must accept first: {err:?}"
    );
    let accepted = partner
        .set_lead_status(lead.id, LeadStatus::Accepted)
        .await
        .unwrap();
    assert_eq!(accepted.status, LeadStatus::Accepted);
    assert_eq!(
        partner.lead(lead.id).await.unwrap().status,
        LeadStatus::Accepted
    );
    let err = vs
        .send_lead(ws, &vendor_lead("L-1", "Overwrite"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let declined = vs
        .send_lead(ws, &vendor_lead("L-2", "Other"))
        .await
        .unwrap();
    partner
        .set_lead_status(declined.id, LeadStatus::Declined)
        .await
        .unwrap();
    assert!(
        partner
            .set_lead_status(declined.id, LeadStatus::Accepted)
            .await
            .is_err()
    );
    assert_eq!(
        vs.leads().await.unwrap().len(),
        2,
        "the vendor sees the leads it sent"
    );
}

async fn leads_filter_and_paginate(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let partner = db.store.partner(ws);
    let mut ids = Vec::new();
    for i in 0..7 {
        let lead = partner
            .create_manual_lead(&NewManualLead {
                vendor_id: (i % 2 == 0).then_some(v),
                contact: contact(&format!("Person {i}")),
                company: None,
                message: None,
            })
            .await
            .unwrap();
        ids.push(lead.id);
    }
    db.store
        .vendor(v)
        .send_lead(ws, &vendor_lead("X", "Special_Name 100%"))
        .await
        .unwrap();
    let all = partner
        .leads(&LeadFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let by_vendor = LeadFilter {
        vendor_id: Some(v),
        ..LeadFilter::default()
    };
    assert_eq!(
        partner
            .leads(&by_vendor, Page::default())
            .await
            .unwrap()
            .len(),
        5
    );
    let by_text = LeadFilter {
        text: Some("PERSON 3".into()),
        ..LeadFilter::default()
    };
    let found = partner.leads(&by_text, Page::default()).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ids[3]);
    // LIKE wildcards in the search text match literally.
    let literal = LeadFilter {
        text: Some("l_name 100%".into()),
        ..LeadFilter::default()
    };
    assert_eq!(
        partner
            .leads(&literal, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let wildcard = LeadFilter {
        text: Some("%".into()),
        ..LeadFilter::default()
    };
    assert_eq!(
        partner
            .leads(&wildcard, Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let by_status = LeadFilter {
        status: Some(LeadStatus::Working),
        ..LeadFilter::default()
    };
    assert!(
        partner
            .leads(&by_status, Page::default())
            .await
            .unwrap()
            .is_empty()
    );
    // Three pages of three cover everything once.
    let mut seen = Vec::new();
    let mut page = Page {
        after: None,
        limit: 3,
    };
    loop {
        let rows = partner.leads(&LeadFilter::default(), page).await.unwrap();
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 3);
        page.after = rows.last().map(|l| l.id);
        seen.extend(rows.into_iter().map(|l| l.id));
    }
    assert_eq!(seen, all.iter().map(|l| l.id).collect::<Vec<_>>());
}

async fn deal_registration_shares_its_lead_and_gets_decided(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let other = vendor(&db.store, "Ricoh").await;
    link(&db.store, ws, other, Tier::Gold).await;
    let partner = db.store.partner(ws);
    let lead = partner
        .create_manual_lead(&NewManualLead {
            vendor_id: Some(v),
            contact: contact("Ville Vallaton"),
            company: None,
            message: None,
        })
        .await
        .unwrap();
    assert!(
        db.store.vendor(v).leads().await.unwrap().is_empty(),
        "not shared yet"
    );
    let err = partner
        .register_deal(other, &deal("Wrong vendor"), Some(lead.id), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rule(_)), "{err:?}");
    let reg = partner
        .register_deal(v, &deal("40 printers"), Some(lead.id), None)
        .await
        .unwrap();
    assert_eq!(reg.status, DealStatus::Submitted);
    let seen = db.store.vendor(v).leads().await.unwrap();
    assert_eq!(seen.len(), 1, "registering a deal shares its lead");
    assert_eq!(seen[0].id, lead.id);
    assert!(db.store.vendor(other).leads().await.unwrap().is_empty());
    assert!(
        db.store
            .vendor(other)
            .deal_registrations(None)
            .await
            .unwrap()
            .is_empty()
    );
    let vs = db.store.vendor(v);
    assert_eq!(
        vs.deal_registrations(Some(DealStatus::Submitted))
            .await
            .unwrap()
            .len(),
        1
    );
    let expires = Utc::now().date_naive() + chrono::Days::new(90);
    let five = Percent::new(Decimal::from(5)).unwrap();
    let decided = vs
        .decide(
            reg.id,
            DealDecision::Approved {
                reason: None,
                protection_expires_on: expires,
                extra_discount: Some(five),
            },
        )
        .await
        .unwrap();
    assert_eq!(decided.status, DealStatus::Approved);
    let stored = partner.deal_registration(reg.id).await.unwrap();
    assert_eq!(
        stored, decided,
        "the partner reads the vendor's decision exactly"
    );
    assert_eq!(
        stored.details.amount.amount,
        "12500.50".parse::<Decimal>().unwrap()
    );
    assert_eq!(stored.extra_discount, Some(five));
    let again = vs
        .decide(
            reg.id,
            DealDecision::Rejected {
                reason: LongText::parse("conflict").unwrap(),
            },
        )
        .await;
    assert!(matches!(again, Err(StoreError::Rule(_))));
    let notes = partner.notifications(true).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.kind == NotificationKind::DealDecided)
    );
    // The other vendor cannot decide or read it.
    assert!(matches!(
        db.store.vendor(other).deal_registration(reg.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn price_list_publish_is_atomic_and_exact(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let vs = db.store.vendor(v);
    let items = vec![
        item("A-1", "1299.99"),
        item("B-2", "0.0125"),
        item("C-3", "123456789.123456"),
    ];
    vs.publish_price_list(&ext("pl"), &terms(Currency::EUR), &items)
        .await
        .unwrap();
    let partner = db.store.partner(ws);
    let lists = partner.price_lists().await.unwrap();
    assert_eq!(lists.len(), 1);
    let stored = partner.price_items(lists[0].id).await.unwrap();
    let prices: Vec<String> = stored
        .iter()
        .map(|i| i.item.list_price.value().to_string())
        .collect();
    assert_eq!(
        prices,
        ["1299.99", "0.0125", "123456789.123456"],
        "exact decimals, by SKU"
    );
    // A duplicate SKU fails the whole publish; the old items stay.
    let dup = vec![item("D-4", "1"), item("D-4", "2")];
    let err = vs
        .publish_price_list(&ext("pl"), &terms(Currency::EUR), &dup)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(partner.price_items(lists[0].id).await.unwrap().len(), 3);
    // Republishing replaces the items.
    vs.publish_price_list(&ext("pl"), &terms(Currency::USD), &[item("E-5", "10")])
        .await
        .unwrap();
    let now = partner.price_items(lists[0].id).await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].currency, Currency::USD);
    assert_eq!(vs.price_items().await.unwrap().len(), 1);
}

async fn sell_rules_and_exchange_rates_round_trip(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let partner = db.store.partner(ws);
    let default = SellRuleSelector::default();
    let specific = SellRuleSelector {
        vendor_id: Some(v),
        category: Some(Category::parse("Printers").unwrap()),
    };
    let markup = SellMethod::MarkupOnCost(Markup::new("22.5".parse().unwrap()).unwrap());
    let r1 = partner
        .put_sell_rule(
            &default,
            SellMethod::DiscountOffList(Percent::new(Decimal::from(3)).unwrap()),
        )
        .await
        .unwrap();
    let r2 = partner.put_sell_rule(&specific, markup).await.unwrap();
    // Putting the same selector again replaces that rule.
    let r1b = partner
        .put_sell_rule(
            &default,
            SellMethod::DiscountOffList(Percent::new(Decimal::from(4)).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(r1b.id, r1.id);
    let rules = partner.sell_rules().await.unwrap();
    assert_eq!(rules, vec![r1b.clone(), r2.clone()]);
    partner.delete_sell_rule(r2.id).await.unwrap();
    assert_eq!(partner.sell_rules().await.unwrap(), vec![r1b]);
    assert!(matches!(
        partner.delete_sell_rule(r2.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let day = "2026-11-01".parse().unwrap();
    let rate = ExchangeRate::new(
        Currency::USD,
        Currency::EUR,
        "0.91234567".parse().unwrap(),
        day,
    )
    .unwrap();
    partner.put_exchange_rate(&rate).await.unwrap();
    let replaced =
        ExchangeRate::new(Currency::USD, Currency::EUR, "0.9".parse().unwrap(), day).unwrap();
    partner.put_exchange_rate(&replaced).await.unwrap();
    assert_eq!(partner.exchange_rates().await.unwrap(), vec![replaced]);
}

async fn logos_are_kept_per_workspace_and_per_vendor(db: TestDb) {
    use onepane_store::{LOGO_MAX_BYTES, LogoType};
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let (other, _) = linked(&db.store, "Other", "Brother", Tier::Gold).await;
    let partner = db.store.partner(ws);
    assert_eq!(partner.logo().await.unwrap(), None);
    let png = b"\x89PNG\r\n\x1a\nfirst".to_vec();
    partner
        .put_logo(LogoType::Png, &png, &[1; 32])
        .await
        .unwrap();
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#.to_vec();
    partner
        .put_logo(LogoType::Svg, &svg, &[2; 32])
        .await
        .unwrap();
    let stored = partner.logo().await.unwrap().unwrap();
    assert_eq!(
        (stored.kind, stored.bytes, stored.digest),
        (LogoType::Svg, svg, vec![2; 32]),
        "the second replaced the first"
    );
    assert_eq!(partner.logo_digest().await.unwrap(), Some(vec![2; 32]));
    // Another workspace has none, and cannot read this one's.
    assert_eq!(db.store.partner(other).logo().await.unwrap(), None);
    assert_eq!(db.store.partner(other).logo_digest().await.unwrap(), None);
    // Over the limit, or empty, is refused before it reaches a table.
    for bad in [vec![], vec![0; LOGO_MAX_BYTES + 1]] {
        assert!(matches!(
            partner.put_logo(LogoType::Png, &bad, &[3; 32]).await,
            Err(StoreError::Rule(_))
        ));
    }
    partner.delete_logo().await.unwrap();
    assert_eq!(partner.logo().await.unwrap(), None);

    // A vendor's logo reaches its linked partners, not others.
    assert!(partner.vendor_logos().await.unwrap().is_empty());
    db.store
        .vendor(v)
        .set_logo_url(Some("https://canon.example/logo.svg"))
        .await
        .unwrap();
    assert_eq!(
        partner.vendor_logos().await.unwrap(),
        vec![(v, "https://canon.example/logo.svg".to_owned())]
    );
    assert_eq!(
        db.store.vendor(v).logo_url().await.unwrap().as_deref(),
        Some("https://canon.example/logo.svg")
    );
    assert!(
        db.store
            .partner(other)
            .vendor_logos()
            .await
            .unwrap()
            .is_empty(),
        "a partner sees only its linked vendors' logos"
    );
    db.store.vendor(v).set_logo_url(None).await.unwrap();
    assert!(partner.vendor_logos().await.unwrap().is_empty());
}

async fn ended_link_hides_vendor_rows_both_ways(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let vs = db.store.vendor(v);
    vs.publish_campaign(&ext("c"), &campaign("C", &[]))
        .await
        .unwrap();
    vs.publish_asset(&ext("a"), &asset("Brochure"))
        .await
        .unwrap();
    vs.send_lead(ws, &vendor_lead("L", "Lead Person"))
        .await
        .unwrap();
    db.store
        .operator()
        .set_link_status(ws, v, LinkStatus::Ended)
        .await
        .unwrap();
    let partner = db.store.partner(ws);
    assert!(partner.campaigns().await.unwrap().is_empty());
    assert!(partner.assets().await.unwrap().is_empty());
    // The partner keeps its leads; the vendor loses sight of everything.
    assert_eq!(
        partner
            .leads(&LeadFilter::default(), Page::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(vs.partners().await.unwrap().is_empty());
    assert!(vs.leads().await.unwrap().is_empty());
    // What the vendor published stays its own; it no longer reaches anyone.
    assert_eq!(vs.campaigns().await.unwrap().len(), 1);
    assert_eq!(vs.assets().await.unwrap().len(), 1);
    assert_eq!(vs.reach().await.unwrap().partners(), 0);
    assert!(
        matches!(vs.send_lead(ws, &vendor_lead("L2", "X Y")).await, Err(StoreError::NotLinked(w)) if w == ws)
    );
    assert!(matches!(
        vs.set_tier(ws, Tier::Platinum).await,
        Err(StoreError::NotLinked(_))
    ));
    vs.publish_campaign(&ext("c2"), &campaign("C2", &[]))
        .await
        .unwrap();
    assert!(partner.campaigns().await.unwrap().is_empty());
    assert_eq!(db.store.system().announce_all().await.unwrap(), 0);
}

async fn connections_need_a_linked_vendor(db: TestDb) {
    let ws = workspace(&db.store, "Acme").await;
    let v = vendor(&db.store, "Canon").await;
    let unlinked = vendor(&db.store, "Stranger").await;
    link(&db.store, ws, v, Tier::Gold).await;
    let partner = db.store.partner(ws);
    let source = |vendor_id| NewConnection {
        schedule: Some("0 */15 * * * *".into()),
        settings: serde_json::json!({"manifest": "canon.yaml"}),
        ..vendor_source(vendor_id, "Canon portal")
    };
    let c = partner.create_connection(&source(v)).await.unwrap();
    assert_eq!(c.target.vendor_id(), Some(v));
    assert!(partner.create_connection(&source(unlinked)).await.is_err());
    let sink = crm_sink("hubspot", "Our HubSpot");
    partner.create_connection(&sink).await.unwrap();
    let all = partner.connections().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], c);
}

async fn connection_settings_change_in_place(db: TestDb) {
    let ws = workspace(&db.store, "Acme").await;
    let other = workspace(&db.store, "Other").await;
    let v = vendor(&db.store, "Canon").await;
    link(&db.store, ws, v, Tier::Gold).await;
    let partner = db.store.partner(ws);
    let made = partner
        .create_connection(&NewConnection {
            settings: serde_json::json!({"manifest": "old.yaml"}),
            ..vendor_source(v, "Canon portal")
        })
        .await
        .unwrap();
    partner
        .put_connection_secret(made.id, "credentials", b"sealed")
        .await
        .unwrap();
    let changed = partner
        .set_connection_settings(made.id, &serde_json::json!({"manifest": "new.yaml"}))
        .await
        .unwrap();
    assert_eq!(
        changed.settings,
        serde_json::json!({"manifest": "new.yaml"})
    );
    assert_eq!((changed.id, &changed.name), (made.id, &made.name));
    assert_eq!(partner.connection(made.id).await.unwrap(), changed);
    assert!(
        db.store
            .system()
            .connection_secret(ws, made.id, "credentials")
            .await
            .unwrap()
            .is_some(),
        "the secrets stay"
    );
    // Another workspace cannot reach it.
    let refused = db
        .store
        .partner(other)
        .set_connection_settings(made.id, &serde_json::json!({}))
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(partner.connection(made.id).await.unwrap(), changed);
}

async fn notifications_and_audit_log(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let partner = db.store.partner(ws);
    db.store
        .vendor(v)
        .send_lead(ws, &vendor_lead("L", "Lead Person"))
        .await
        .unwrap();
    let unread = partner.notifications(true).await.unwrap();
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0].kind, NotificationKind::NewLead);
    partner.mark_notification_read(unread[0].id).await.unwrap();
    assert!(partner.notifications(true).await.unwrap().is_empty());
    assert!(
        partner.notifications(false).await.unwrap()[0]
            .read_at
            .is_some()
    );
    let user = partner.members().await.unwrap()[0].user_id;
    let event = partner
        .record(
            AuditEvent::new(ws, Actor::User(user), "lead.accepted", AuditAccess::Write)
                .about("lead", "L")
                .with_detail(serde_json::json!({"note": "ok"})),
        )
        .await
        .unwrap();
    let log = partner
        .audit_events(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(log[0].id, event.id);
    assert_eq!(log[0].subject_kind.as_deref(), Some("lead"));
    assert_eq!(log[0].detail, serde_json::json!({"note": "ok"}));
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"workspace.created"));
    assert!(actions.contains(&"vendor.linked"));
}

async fn large_price_lists_publish_in_chunks_atomically(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let vs = db.store.vendor(v);
    let items: Vec<_> = (0..2_345)
        .map(|i| item(&format!("SKU-{i:05}"), &format!("{i}.{:02}", i % 100)))
        .collect();
    let list = vs
        .publish_price_list(&ext("big"), &terms(Currency::EUR), &items)
        .await
        .unwrap();
    let stored = db.store.partner(ws).price_items(list.id).await.unwrap();
    assert_eq!(stored.len(), items.len());
    assert_eq!(stored[1_234].item, items[1_234]);
    // A duplicate in the last chunk undoes the chunks already written.
    let mut dup = items.clone();
    dup.push(item("SKU-00007", "1"));
    let err = vs
        .publish_price_list(&ext("big"), &terms(Currency::EUR), &dup)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SKU SKU-00007 appears twice in the price list"
    );
    let after = db.store.partner(ws).price_items(list.id).await.unwrap();
    assert_eq!(after.len(), items.len());
    assert_eq!(after[7].item, items[7]);
}

async fn assets_reach_only_their_audience(db: TestDb) {
    let silver = workspace(&db.store, "Silver").await;
    let gold = workspace(&db.store, "Gold").await;
    let v = vendor(&db.store, "Canon").await;
    link(&db.store, silver, v, Tier::Silver).await;
    link(&db.store, gold, v, Tier::Gold).await;
    let mut content = asset("Gold playbook");
    content.audience.tiers = vec![Tier::Gold];
    db.store
        .vendor(v)
        .publish_asset(&ext("playbook"), &content)
        .await
        .unwrap();
    db.store
        .vendor(v)
        .publish_asset(&ext("brochure"), &asset("Brochure"))
        .await
        .unwrap();
    let titles = |assets: Vec<onepane_domain::campaign::Asset>| {
        assets
            .into_iter()
            .map(|a| a.content.variants.first().title.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(db.store.partner(silver).assets().await.unwrap()),
        ["Brochure"]
    );
    assert_eq!(
        titles(db.store.partner(gold).assets().await.unwrap()),
        ["Brochure", "Gold playbook"]
    );
}

async fn search_folds_case_beyond_ascii(db: TestDb) {
    let ws = workspace(&db.store, "Acme").await;
    let partner = db.store.partner(ws);
    for person in ["Ümit Ünal", "Åsa Öberg", "Plain Name"] {
        partner
            .create_manual_lead(&NewManualLead {
                vendor_id: None,
                contact: contact(person),
                company: None,
                message: None,
            })
            .await
            .unwrap();
    }
    for (query, expected) in [
        ("ünal", "Ümit Ünal"),
        ("ÖBERG", "Åsa Öberg"),
        ("plain", "Plain Name"),
    ] {
        let filter = LeadFilter {
            text: Some(query.into()),
            ..LeadFilter::default()
        };
        let found = partner.leads(&filter, Page::default()).await.unwrap();
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0].contact.name.as_str(), expected);
    }
}

async fn concurrent_decisions_decide_once(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let reg = db
        .store
        .partner(ws)
        .register_deal(v, &deal("Race"), None, None)
        .await
        .unwrap();
    let (one, two) = (db.store.vendor(v), db.store.vendor(v));
    let expires = Utc::now().date_naive() + chrono::Days::new(30);
    let (a, b) = tokio::join!(
        one.decide(
            reg.id,
            DealDecision::Approved {
                reason: None,
                protection_expires_on: expires,
                extra_discount: None
            }
        ),
        two.decide(
            reg.id,
            DealDecision::Rejected {
                reason: LongText::parse("conflict").unwrap()
            }
        ),
    );
    assert_eq!(
        a.is_ok() as u8 + b.is_ok() as u8,
        1,
        "exactly one decision wins: {a:?} {b:?}"
    );
    let loser = if a.is_ok() { b } else { a };
    assert!(matches!(loser, Err(StoreError::Rule(_))), "{loser:?}");
    let notes = db.store.partner(ws).notifications(true).await.unwrap();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.kind == NotificationKind::DealDecided)
            .count(),
        1
    );
}

async fn campaigns_run_inside_their_window(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let today = Utc::now().date_naive();
    let mut ended = campaign("Ended", &[]);
    ended.window = onepane_domain::campaign::DateWindow::new(
        Some(today - chrono::Days::new(30)),
        Some(today - chrono::Days::new(1)),
    )
    .unwrap();
    let mut running = campaign("Running", &[]);
    running.window = onepane_domain::campaign::DateWindow::new(Some(today), Some(today)).unwrap();
    let vs = db.store.vendor(v);
    let ended = vs.publish_campaign(&ext("ended"), &ended).await.unwrap();
    vs.publish_campaign(&ext("running"), &running)
        .await
        .unwrap();
    let partner = db.store.partner(ws);
    let listed: Vec<String> = partner
        .campaigns()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.content.variants.first().name.to_string())
        .collect();
    assert_eq!(listed, ["Running"]);
    let err = partner.activate_campaign(ended.id, None).await.unwrap_err();
    assert!(err.to_string().contains("not today"), "{err}");
    assert_eq!(
        partner.campaign(ended.id).await.unwrap().id,
        ended.id,
        "still readable"
    );
}

async fn a_deal_from_an_unattributed_lead_shares_it_with_that_vendor(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let partner = db.store.partner(ws);
    let lead = partner
        .create_manual_lead(&NewManualLead {
            vendor_id: None,
            contact: contact("Walk In"),
            company: None,
            message: None,
        })
        .await
        .unwrap();
    partner
        .register_deal(v, &deal("Walk-in deal"), Some(lead.id), None)
        .await
        .unwrap();
    let shared = partner.lead(lead.id).await.unwrap();
    assert_eq!(shared.vendor_id, Some(v));
    assert!(shared.shared_with_vendor_at.is_some());
    let seen = db.store.vendor(v).leads().await.unwrap();
    assert_eq!(seen.iter().map(|l| l.id).collect::<Vec<_>>(), [lead.id]);
}

/// The home page's summaries: new leads per vendor counted up to a cap,
/// leads waiting by nearest deadline and then newest, unread capped too.
async fn home_summaries_count_and_order_what_waits(db: TestDb) {
    let (ws, a) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let b = vendor(&db.store, "Ricoh").await;
    link(&db.store, ws, b, Tier::Gold).await;
    let now = Utc::now();
    for (ext, days) in [
        ("A-1", Some(9)),
        ("A-2", None),
        ("A-3", Some(2)),
        ("A-4", None),
        ("A-5", Some(5)),
    ] {
        let mut lead = vendor_lead(ext, &format!("Person {ext}"));
        lead.respond_by = days.map(|d| now + chrono::Duration::days(d));
        db.store.vendor(a).send_lead(ws, &lead).await.unwrap();
    }
    let declined = db
        .store
        .vendor(b)
        .send_lead(ws, &vendor_lead("B-1", "Bea"))
        .await
        .unwrap();
    db.store
        .vendor(b)
        .send_lead(ws, &vendor_lead("B-2", "Bo"))
        .await
        .unwrap();
    let p = db.store.partner(ws);
    p.set_lead_status(declined.id, LeadStatus::Declined)
        .await
        .unwrap();

    let counts = p.vendor_counts(1000).await.unwrap();
    assert_eq!((counts[&a].new_leads, counts[&b].new_leads), (5, 1));
    let capped = p.vendor_counts(3).await.unwrap();
    assert_eq!(capped[&a].new_leads, 3, "counted up to the cap only");

    let waiting: Vec<String> = p
        .leads_awaiting_response(10)
        .await
        .unwrap()
        .iter()
        .map(|l| l.external_id.as_ref().unwrap().to_string())
        .collect();
    // Deadlines first, nearest first; then those without, newest first.
    assert_eq!(waiting, ["A-3", "A-5", "A-1", "B-2", "A-4", "A-2"]);
    let two: Vec<String> = p
        .leads_awaiting_response(2)
        .await
        .unwrap()
        .iter()
        .map(|l| l.external_id.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(two, ["A-3", "A-5"]);

    // One notification per sent lead; the badge count stops at its cap.
    assert_eq!(p.unread_notifications(100).await.unwrap(), 7);
    assert_eq!(p.unread_notifications(4).await.unwrap(), 4);
}

/// The audit event of a lead's latest move.
async fn latest_move(
    partner: &onepane_store::PartnerStore,
    lead: onepane_domain::LeadId,
) -> AuditEvent {
    partner
        .lead_history(lead)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == onepane_domain::lead::LEAD_MOVED)
        .expect("the lead was moved")
}

async fn a_members_latest_move_is_undone_in_time_by_that_member_alone(db: TestDb) {
    use onepane_domain::lead::UndoRefused;
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let other = workspace(&db.store, "Other").await;
    let partner = db.store.partner(ws);
    let owner = partner.members().await.unwrap()[0].user_id;
    let colleague = member(
        &db.store,
        ws,
        "sales@acme.example",
        onepane_domain::Role::SalesRep,
    )
    .await
    .id;
    let window = chrono::Duration::seconds(30);
    let lead = partner
        .create_manual_lead(&NewManualLead {
            vendor_id: Some(v),
            contact: contact("Pekka Puu"),
            company: None,
            message: None,
        })
        .await
        .unwrap();
    partner
        .move_lead(lead.id, LeadStatus::Working, None, Some(owner))
        .await
        .unwrap();
    let moved = latest_move(&partner, lead.id).await;

    // Another member, or the same lead seen from another workspace: no.
    assert_eq!(
        partner
            .undo_lead_move(lead.id, moved.id, colleague, window)
            .await
            .unwrap()
            .unwrap_err(),
        UndoRefused::NotYours
    );
    let elsewhere = db
        .store
        .partner(other)
        .undo_lead_move(lead.id, moved.id, owner, window)
        .await;
    assert!(
        matches!(elsewhere, Err(StoreError::NotFound { .. })),
        "{elsewhere:?}"
    );

    // The member who moved it, in time: back where it was, told to the
    // CRM like any move, and both in the history.
    let undone = partner
        .undo_lead_move(lead.id, moved.id, owner, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(undone.status, LeadStatus::New);
    assert_eq!(partner.lead(lead.id).await.unwrap(), undone);
    let history = partner.lead_history(lead.id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            onepane_domain::lead::LEAD_MOVE_UNDONE,
            onepane_domain::lead::LEAD_MOVED
        ]
    );
    assert_eq!(history[0].actor, Actor::User(owner));
    assert_eq!(history[0].detail["to"], "new");
    assert_eq!(history[0].detail["undoes"], moved.id.to_string());

    // Once only: the lead has changed since the move (it was undone).
    assert_eq!(
        partner
            .undo_lead_move(lead.id, moved.id, owner, window)
            .await
            .unwrap()
            .unwrap_err(),
        UndoRefused::ChangedSince
    );
    // Only the latest move: an earlier one is refused once another follows.
    partner
        .move_lead(lead.id, LeadStatus::Working, None, Some(owner))
        .await
        .unwrap();
    let first = latest_move(&partner, lead.id).await;
    partner
        .move_lead(lead.id, LeadStatus::Qualified, None, Some(owner))
        .await
        .unwrap();
    assert_eq!(
        partner
            .undo_lead_move(lead.id, first.id, owner, window)
            .await
            .unwrap()
            .unwrap_err(),
        UndoRefused::ChangedSince
    );
    // Too late: past the window.
    let second = latest_move(&partner, lead.id).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        partner
            .undo_lead_move(
                lead.id,
                second.id,
                owner,
                chrono::Duration::milliseconds(10)
            )
            .await
            .unwrap()
            .unwrap_err(),
        UndoRefused::TooLate
    );
    // Not a move of this lead at all.
    assert_eq!(
        partner
            .undo_lead_move(lead.id, onepane_domain::AuditEventId::new(), owner, window)
            .await
            .unwrap()
            .unwrap_err(),
        UndoRefused::Unknown
    );
    assert_eq!(
        partner.lead(lead.id).await.unwrap().status,
        LeadStatus::Qualified
    );
}

async fn a_move_that_answered_the_vendor_is_not_undone(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let partner = db.store.partner(ws);
    let owner = partner.members().await.unwrap()[0].user_id;
    let lead = db
        .store
        .vendor(v)
        .send_lead(ws, &vendor_lead("L-1", "Pekka Puu"))
        .await
        .unwrap();
    partner
        .move_lead(lead.id, LeadStatus::Accepted, None, Some(owner))
        .await
        .unwrap();
    let moved = latest_move(&partner, lead.id).await;
    let refused = partner
        .undo_lead_move(lead.id, moved.id, owner, chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(
        refused.unwrap_err(),
        onepane_domain::lead::UndoRefused::VendorTold
    );
    assert_eq!(
        partner.lead(lead.id).await.unwrap().status,
        LeadStatus::Accepted
    );
    // Working it afterwards is the partner's own business, and undoable.
    partner
        .move_lead(lead.id, LeadStatus::Working, None, Some(owner))
        .await
        .unwrap();
    let moved = latest_move(&partner, lead.id).await;
    let undone = partner
        .undo_lead_move(lead.id, moved.id, owner, chrono::Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(undone.status, LeadStatus::Accepted);
}

async fn a_deleted_connection_takes_its_plumbing_and_leaves_its_records(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let other = workspace(&db.store, "Other").await;
    let partner = db.store.partner(ws);
    let owner = partner.members().await.unwrap()[0].user_id;
    let source = partner
        .create_connection(&vendor_source(v, "Canon portal"))
        .await
        .unwrap();
    partner
        .put_connection_secret(source.id, "credentials", b"sealed")
        .await
        .unwrap();
    let job = partner.request_job(source.id, "sync", 3).await.unwrap();
    let system = db.store.system();
    let run = system
        .start_run(ws, source.id, Some(job.id), "sync")
        .await
        .unwrap();
    // What the connection brought in: a lead from the vendor.
    let lead = db
        .store
        .vendor(v)
        .send_lead(ws, &vendor_lead("L-1", "Pekka Puu"))
        .await
        .unwrap();

    // While a run holds the connection, it stays.
    system
        .claim_connection_run(
            ws,
            source.id,
            "worker-1",
            chrono::Duration::minutes(5),
            None,
        )
        .await
        .unwrap()
        .unwrap();
    let busy = partner.delete_connection(source.id, owner, "test").await;
    assert!(matches!(busy, Err(StoreError::Conflict(_))), "{busy:?}");
    system
        .release_connection_run(ws, source.id, "worker-1")
        .await
        .unwrap();

    // Another workspace cannot delete it.
    let stranger = db
        .store
        .partner(other)
        .delete_connection(source.id, owner, "test")
        .await;
    assert!(
        matches!(stranger, Err(StoreError::NotFound { .. })),
        "{stranger:?}"
    );
    assert_eq!(partner.connection(source.id).await.unwrap(), source);

    let deleted = partner
        .delete_connection(source.id, owner, "test")
        .await
        .unwrap();
    assert_eq!(deleted, source);
    assert!(matches!(
        partner.connection(source.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(partner.jobs(source.id).await.unwrap().is_empty());
    assert!(partner.sync_runs(source.id, 10).await.unwrap().is_empty());
    assert!(
        system
            .connection_secret(ws, source.id, "credentials")
            .await
            .unwrap()
            .is_none()
    );
    let _ = run;
    // The records stay the partner's.
    assert_eq!(partner.lead(lead.id).await.unwrap().id, lead.id);
    // And the deletion is in the audit log, saying what it was.
    let log = partner
        .audit_events(&AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let event = log
        .iter()
        .find(|e| e.action == "connection.deleted")
        .expect("the deletion is recorded");
    assert_eq!(event.actor, Actor::User(owner));
    assert_eq!(
        event.subject.as_deref(),
        Some(source.id.to_string().as_str())
    );
    assert_eq!(event.detail["name"], "Canon portal");
    // Gone is gone: a second delete finds nothing.
    assert!(matches!(
        partner.delete_connection(source.id, owner, "test").await,
        Err(StoreError::NotFound { .. })
    ));
}
