//! The scorecard on both backends: a workspace's figures of its vendors
//! from a seeded history worked out by hand, ratings once a quarter, and
//! a vendor's aggregate that shows only what five partners or more
//! contributed to, from currently linked partners only.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use onepane_domain::deal::DealDecision;
use onepane_domain::lead::{LeadStatus, NewVendorLead};
use onepane_domain::program::{LinkStatus, Role};
use onepane_domain::scorecard::*;
use onepane_domain::workspace::ConnectionStatus;
use onepane_domain::{DealRegistrationId, LeadId, Tier, VendorId, WorkspaceId};
use onepane_store::Rating;
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;

crate::on_both_backends!(
    a_workspaces_scorecard_is_its_own_history_worked_out_by_hand,
    a_vendor_sees_only_what_five_linked_partners_contributed,
    the_lead_tallies_are_the_leads_counted_after_every_kind_of_change
);

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc() + Duration::hours(i64::from(hour))
}

/// A registration submitted at `submitted` and decided `after` later.
async fn decided(
    db: &TestDb,
    ws: WorkspaceId,
    vendor: VendorId,
    title: &str,
    submitted: DateTime<Utc>,
    after: Duration,
    decision: DealDecision,
) -> DealRegistrationId {
    let reg = db
        .store
        .partner(ws)
        .register_deal(vendor, &deal(title), None, None)
        .await
        .unwrap();
    db.store
        .vendor(vendor)
        .decide(reg.id, decision)
        .await
        .unwrap();
    db.set_time(
        "deal_registrations",
        "submitted_at",
        ws,
        reg.id.as_uuid(),
        submitted,
    )
    .await;
    db.set_time(
        "deal_registrations",
        "decided_at",
        ws,
        reg.id.as_uuid(),
        submitted + after,
    )
    .await;
    reg.id
}

/// A vendor's lead that arrived `window` hours before its answer-by time
/// (or without one).
async fn lead(
    db: &TestDb,
    ws: WorkspaceId,
    vendor: VendorId,
    external: &str,
    window: Option<i64>,
) -> LeadId {
    let respond_by = Utc::now() + Duration::hours(1);
    let new = NewVendorLead {
        respond_by: window.map(|_| respond_by),
        ..vendor_lead(external, "Ada Lovelace")
    };
    let lead = db.store.vendor(vendor).send_lead(ws, &new).await.unwrap();
    if let Some(hours) = window {
        db.set_time(
            "leads",
            "created_at",
            ws,
            lead.id.as_uuid(),
            respond_by - Duration::hours(hours),
        )
        .await;
    }
    lead.id
}

async fn a_workspaces_scorecard_is_its_own_history_worked_out_by_hand(db: TestDb) {
    let store = &db.store;
    let today = Utc::now().date_naive();
    let period = Period::last_days(today, 90);
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let hp = vendor(store, "HP").await;
    link(store, ws, hp, Tier::Silver).await;
    let partner = store.partner(ws);
    let owner = partner.members().await.unwrap()[0].user_id;
    let seller = member(store, ws, "seller@acme.example", Role::SalesRep).await;
    let approve = |days: i64| DealDecision::Approved {
        reason: None,
        protection_expires_on: today + Duration::days(days),
        extra_discount: None,
    };

    // Canon decides in 24 hours (approving, protected until 40 days from
    // now), in 72 hours (rejecting) and, for one submitted before the
    // period, in 480 hours (approving, protected for ten more days); one
    // waits.
    let t0 = at(today - Duration::days(50), 9);
    decided(&db, ws, canon, "A", t0, Duration::hours(24), approve(40)).await;
    let rejected = DealDecision::Rejected {
        reason: onepane_domain::text::LongText::parse("Not ours").unwrap(),
    };
    decided(
        &db,
        ws,
        canon,
        "B",
        t0 + Duration::days(10),
        Duration::hours(72),
        rejected,
    )
    .await;
    let early = at(today - Duration::days(100), 12);
    decided(
        &db,
        ws,
        canon,
        "C",
        early,
        Duration::hours(480),
        approve(10),
    )
    .await;
    partner
        .register_deal(canon, &deal("D"), None, None)
        .await
        .unwrap();
    // HP decided one a year ago: outside the period.
    decided(
        &db,
        ws,
        hp,
        "Old",
        at(today - Duration::days(400), 9),
        Duration::hours(5),
        approve(5),
    )
    .await;

    // Canon sends four leads: two with answer-by windows of 24 and 72
    // hours; one is accepted, one won, one declined. HP sends one.
    let l1 = lead(&db, ws, canon, "L1", Some(24)).await;
    let l2 = lead(&db, ws, canon, "L2", Some(72)).await;
    lead(&db, ws, canon, "L3", None).await;
    let l4 = lead(&db, ws, canon, "L4", None).await;
    partner
        .set_lead_status(l1, LeadStatus::Accepted)
        .await
        .unwrap();
    for s in [
        LeadStatus::Accepted,
        LeadStatus::Working,
        LeadStatus::Qualified,
        LeadStatus::Won,
    ] {
        partner.set_lead_status(l2, s).await.unwrap();
    }
    partner
        .set_lead_status(l4, LeadStatus::Declined)
        .await
        .unwrap();
    lead(&db, ws, hp, "H1", None).await;
    // Another partner's leads and registrations with Canon are not Acme's.
    let (other, _) = (workspace(store, "Globex").await, ());
    link(store, other, canon, Tier::Gold).await;
    lead(&db, other, canon, "G1", Some(10)).await;

    // Canon's source synced three times, once failing; it now needs a new
    // login.
    let conn = connection(store, ws, &vendor_source(canon, "Canon portal")).await;
    for ok in [true, false, true] {
        let mut run = store
            .system()
            .start_run(ws, conn, None, "sync")
            .await
            .unwrap();
        run.status = if ok { "succeeded" } else { "failed" }.to_owned();
        run.finished_at = Some(Utc::now());
        store.system().update_run(&run).await.unwrap();
    }
    store
        .system()
        .set_connection_status(ws, conn, ConnectionStatus::NeedsReauthorization, "refused")
        .await
        .unwrap();

    // Ratings: the owner gives support 4; the seller support 5 and brand
    // 3, then rates again this quarter: support 2 only, replacing both.
    let quarter = Quarter::of(today);
    let rate = |area, score| Rating {
        area,
        score,
        note: None,
    };
    partner
        .rate_vendor(owner, canon, quarter, &[rate(ExperienceArea::Support, 4)])
        .await
        .unwrap();
    partner
        .rate_vendor(
            seller.id,
            canon,
            quarter,
            &[
                rate(ExperienceArea::Support, 5),
                rate(ExperienceArea::Brand, 3),
            ],
        )
        .await
        .unwrap();
    let again = Rating {
        area: ExperienceArea::Support,
        score: 2,
        note: Some("Slow to answer".into()),
    };
    partner
        .rate_vendor(seller.id, canon, quarter, std::slice::from_ref(&again))
        .await
        .unwrap();
    assert_eq!(
        partner.rating_of(seller.id, canon, quarter).await.unwrap(),
        vec![again]
    );

    let facts = partner.scorecard_facts(&period).await.unwrap();
    let cards = partner_scorecards(&[canon, hp], &period, &facts);
    let c = &cards[0];
    assert_eq!(c.registrations_submitted, Some(3), "A, B and D");
    assert_eq!(c.registrations_decided, Some(3), "A, B and C");
    assert_eq!(c.decision_hours_median, Some(72.0));
    assert_eq!(c.decision_hours_p90, Some(480.0));
    assert_eq!(c.approval_rate, Some(0.67));
    assert_eq!(c.protections_granted, Some(2));
    // A: decided 49 days ago, protected 40 more: 89 days. C: decided 80
    // days ago, protected 10 more: 90 days.
    assert_eq!(c.protection_days_median, Some(89.5));
    assert_eq!(c.leads_sent, Some(4));
    assert_eq!(c.leads_accepted, Some(2));
    assert_eq!(c.leads_won, Some(1));
    assert_eq!(c.answer_by_given, Some(2));
    assert_eq!(c.answer_by_hours_average, Some(48.0));
    assert_eq!(c.sync_runs, Some(3));
    assert_eq!(c.sync_runs_failed, Some(1));
    assert_eq!(c.reauthorizations_needed, Some(1));
    assert_eq!(
        c.ratings,
        vec![AreaRating {
            area: ExperienceArea::Support,
            average: 3.0,
            ratings: 2
        }]
    );
    let h = &cards[1];
    assert_eq!(
        h.registrations_decided,
        Some(0),
        "a year ago is not in the period"
    );
    assert_eq!(h.decision_hours_median, None);
    assert_eq!(h.leads_sent, Some(1));
    assert_eq!(h.sync_runs, Some(0));
    // Globex sees its own lead only.
    let g = store.partner(other).scorecard_facts(&period).await.unwrap();
    let g = partner_scorecards(&[canon], &period, &g);
    assert_eq!(g[0].leads_sent, Some(1));
    assert_eq!(g[0].answer_by_hours_average, Some(10.0));
    assert!(g[0].ratings.is_empty());
}

async fn a_vendor_sees_only_what_five_linked_partners_contributed(db: TestDb) {
    let store = &db.store;
    let today = Utc::now().date_naive();
    let period = Period::last_days(today, 30);
    let canon = vendor(store, "Canon").await;
    let hp = vendor(store, "HP").await;
    let quarter = Quarter::of(today);
    // Six partners of Canon, each sent one lead; the first four also rate
    // its support. Two of them work with HP too.
    let mut partners = Vec::new();
    for i in 0..6 {
        let ws = workspace(store, &format!("Partner {i}")).await;
        link(store, ws, canon, Tier::Gold).await;
        lead(&db, ws, canon, &format!("C{i}"), Some(24)).await;
        if i < 4 {
            let owner = store.partner(ws).members().await.unwrap()[0].user_id;
            store
                .partner(ws)
                .rate_vendor(
                    owner,
                    canon,
                    quarter,
                    &[Rating {
                        area: ExperienceArea::Support,
                        score: 4,
                        note: None,
                    }],
                )
                .await
                .unwrap();
        }
        if i < 2 {
            link(store, ws, hp, Tier::Silver).await;
            lead(&db, ws, hp, &format!("H{i}"), None).await;
        }
        partners.push(ws);
    }
    let card = |v| {
        let system = store.system();
        async move {
            let (facts, n) = system.vendor_scorecard_facts(v, &period).await.unwrap();
            vendor_scorecard(v, n, &period, &facts)
        }
    };
    let c = card(canon).await;
    assert_eq!(c.partners, 6);
    assert_eq!(c.own.leads_sent, Some(6));
    assert_eq!(c.own.answer_by_hours_average, Some(24.0));
    assert!(c.own.ratings.is_empty(), "four raters are too few");
    assert_eq!(c.own.registrations_decided, None, "nobody's decisions");
    // A fifth rater shows the rating.
    let owner = store.partner(partners[4]).members().await.unwrap()[0].user_id;
    store
        .partner(partners[4])
        .rate_vendor(
            owner,
            canon,
            quarter,
            &[Rating {
                area: ExperienceArea::Support,
                score: 2,
                note: None,
            }],
        )
        .await
        .unwrap();
    let c = card(canon).await;
    assert_eq!(
        c.own.ratings,
        vec![AreaRating {
            area: ExperienceArea::Support,
            average: 3.6,
            ratings: 5
        }]
    );
    // Two partners end their link: what they did no longer counts, and
    // Canon's leads fall below five partners.
    for ws in &partners[..2] {
        let owner = store.partner(*ws).members().await.unwrap()[0].user_id;
        store
            .partner(*ws)
            .set_link_status(canon, LinkStatus::Ended, owner)
            .await
            .unwrap();
    }
    let c = card(canon).await;
    assert_eq!(c.partners, 4);
    assert_eq!(c.own.leads_sent, None);
    assert!(c.own.ratings.is_empty());
    // HP has two partners: nothing of theirs shows, and two vendors are
    // too few for a median.
    let h = card(hp).await;
    assert_eq!(h.partners, 2);
    assert_eq!(h.own.leads_sent, None);
    assert_eq!(h.median_vendor.leads_sent, None);
    assert_eq!(h.own.vendor_id, Some(hp));
}

/// The kept tallies equal the leads counted now, and count `sent` leads.
async fn tallies_agree(db: &TestDb, after: &str, sent: i64) {
    let (kept, counted) = db.lead_tallies().await;
    assert_eq!(
        kept, counted,
        "after {after}: the tallies are not the leads counted"
    );
    let total: i64 = kept.iter().map(|t| t.3).sum();
    assert_eq!(total, sent, "after {after}: leads tallied");
}

/// The scorecard reads its lead figures from tallies the database keeps as
/// leads change (migration 0014); whatever changes a lead, by any scope,
/// one at a time or a statement at a time, they stay the leads counted.
async fn the_lead_tallies_are_the_leads_counted_after_every_kind_of_change(db: TestDb) {
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let hp = vendor(store, "HP").await;
    link(store, ws, hp, Tier::Silver).await;
    let other = workspace(store, "Globex").await;
    link(store, other, canon, Tier::Gold).await;
    let partner = store.partner(ws);

    let l1 = lead(&db, ws, canon, "L1", Some(24)).await;
    let l2 = lead(&db, ws, canon, "L2", Some(72)).await;
    lead(&db, ws, canon, "L3", None).await;
    let l4 = lead(&db, ws, canon, "L4", None).await;
    lead(&db, ws, hp, "H1", Some(5)).await;
    lead(&db, other, canon, "G1", Some(10)).await;
    tallies_agree(&db, "sending", 6).await;

    // Every status a vendor's lead can take, one move at a time.
    for s in [
        LeadStatus::Accepted,
        LeadStatus::Working,
        LeadStatus::Qualified,
        LeadStatus::Lost,
        LeadStatus::Working,
        LeadStatus::Qualified,
        LeadStatus::Won,
    ] {
        partner.set_lead_status(l1, s).await.unwrap();
        tallies_agree(&db, &format!("moving a lead to {s}"), 6).await;
    }
    partner
        .set_lead_status(l2, LeadStatus::Accepted)
        .await
        .unwrap();
    partner
        .set_lead_status(l4, LeadStatus::Declined)
        .await
        .unwrap();
    tallies_agree(&db, "accepting and declining", 6).await;

    // The vendor sends L3 again, now with an answer-by time: an update of
    // the same lead, not a new one.
    let again = NewVendorLead {
        respond_by: Some(Utc::now() + Duration::hours(30)),
        ..vendor_lead("L3", "Ada Lovelace")
    };
    store.vendor(canon).send_lead(ws, &again).await.unwrap();
    tallies_agree(&db, "a lead sent again", 6).await;

    // A lead's arrival moved to another day (behind the store's back, as
    // a replica would apply it): it leaves one day's tally for another.
    db.set_time(
        "leads",
        "created_at",
        ws,
        l2.as_uuid(),
        Utc::now() - Duration::days(3),
    )
    .await;
    tallies_agree(&db, "a lead's arrival moved", 6).await;
    let (kept, _) = db.lead_tallies().await;
    assert!(
        kept.len() >= 4,
        "Acme's Canon leads fall on two days, HP's and Globex's on one each: {kept:?}"
    );

    // What the scorecard reads from them is Acme's own: Canon's four (L2
    // won nothing yet; L1 won), HP's one with its window.
    let period = Period::last_days(Utc::now().date_naive(), 90);
    let facts = partner.scorecard_facts(&period).await.unwrap();
    let cards = partner_scorecards(&[canon, hp], &period, &facts);
    assert_eq!(cards[0].leads_sent, Some(4));
    assert_eq!(cards[0].leads_accepted, Some(2), "L1 and L2");
    assert_eq!(cards[0].leads_won, Some(1), "L1");
    assert_eq!(
        cards[0].answer_by_given,
        Some(3),
        "L1, L2 and L3 sent again"
    );
    assert_eq!(cards[1].leads_sent, Some(1));
    assert_eq!(cards[1].answer_by_hours_average, Some(5.0));
}
