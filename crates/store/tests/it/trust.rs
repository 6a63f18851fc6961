//! Trust a partner can see: the access log of what vendors read and
//! changed, append-only on both backends, and the partner pausing and
//! ending a vendor.

use onepane_domain::activity::{Actor, AuditAccess, AuditEvent, WebhookEvent};
use onepane_domain::deal::DealDecision;
use onepane_domain::lead::LeadStatus;
use onepane_domain::program::{LinkStatus, Role};
use onepane_domain::text::Email;
use onepane_domain::{Tier, WorkspaceId};
use onepane_store::Attempt;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::testing::{TEST_SERVER_ROLE, TestDb};
use onepane_store::{AuditFilter, DatabaseUrl, LeadFilter, Page, StoreError};

crate::on_both_backends!(
    a_vendors_reads_and_writes_are_logged_in_that_workspace_only,
    a_paused_vendor_reaches_nothing_and_its_content_stays,
    an_ended_vendor_loses_everything_and_the_partner_keeps_its_records,
    webhooks_about_a_paused_workspace_are_dropped_and_deliveries_are_logged,
    the_audit_log_cannot_be_changed_and_prunes_only_old_events,
    a_person_is_found_exported_and_erased_and_the_vendor_told,
);

fn all() -> AuditFilter {
    AuditFilter {
        limit: 1000,
        ..AuditFilter::default()
    }
}

async fn log(db: &TestDb, ws: WorkspaceId) -> Vec<AuditEvent> {
    db.store.partner(ws).audit_events(&all()).await.unwrap()
}

async fn a_vendors_reads_and_writes_are_logged_in_that_workspace_only(db: TestDb) {
    let (a, v1) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let b = workspace(&db.store, "Bolt").await;
    link(&db.store, b, v1, Tier::Silver).await;
    let v2 = vendor(&db.store, "Dell").await;
    link(&db.store, a, v2, Tier::Gold).await;
    let canon = db.store.vendor(v1).through("canon-crm");

    let lead = canon
        .send_lead(a, &vendor_lead("L-1", "Lee Lead"))
        .await
        .unwrap();
    let published = canon
        .publish_campaign(&ext("spring"), &campaign("Spring", &[]))
        .await
        .unwrap();
    assert_eq!(
        canon.reach().await.unwrap().of(&published.content.audience),
        2,
        "both partners get the campaign"
    );
    canon.set_tier(a, Tier::Platinum).await.unwrap();
    let partner = db.store.partner(a);
    let reg = partner
        .register_deal(v1, &deal("Printers"), Some(lead.id), None)
        .await
        .unwrap();
    let seen = canon.deal_registration(reg.id).await.unwrap();
    assert_eq!(seen.id, reg.id);
    canon.decide(reg.id, approve()).await.unwrap();

    let events = log(&db, a).await;
    let by_canon: Vec<(&str, AuditAccess, Option<&str>, Option<String>)> = events
        .iter()
        .filter(|e| e.actor == Actor::Vendor(v1))
        .map(|e| {
            (
                e.action.as_str(),
                e.access,
                e.subject_kind.as_deref(),
                e.subject.clone(),
            )
        })
        .collect();
    for expected in [
        (
            "lead.sent",
            AuditAccess::Write,
            Some("lead"),
            Some(lead.id.to_string()),
        ),
        (
            "link.tier-set",
            AuditAccess::Write,
            Some("link"),
            Some(v1.to_string()),
        ),
        (
            "deal-registration.read",
            AuditAccess::Read,
            Some("deal-registration"),
            Some(reg.id.to_string()),
        ),
        (
            "deal-registration.decided",
            AuditAccess::Write,
            Some("deal-registration"),
            Some(reg.id.to_string()),
        ),
    ] {
        assert!(
            by_canon.contains(&expected),
            "{expected:?} missing from {by_canon:?}"
        );
    }
    assert!(
        events
            .iter()
            .filter(|e| e.actor == Actor::Vendor(v1))
            .all(|e| e.client.as_deref() == Some("canon-crm")),
        "every entry names the API client"
    );
    // The other partner sees only what the vendor did there; nothing of Dell's.
    canon.set_tier(b, Tier::Gold).await.unwrap();
    let events_b = log(&db, b).await;
    assert!(events_b.iter().all(|e| e.workspace_id == b));
    let in_b: Vec<&str> = events_b
        .iter()
        .filter(|e| e.actor == Actor::Vendor(v1))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        in_b,
        ["link.tier-set"],
        "publishing is not an entry in any log"
    );
    assert!(
        events.iter().all(|e| e.actor != Actor::Vendor(v2)),
        "Dell did nothing"
    );
    // Filters: by vendor and by kind, and paging by cursor.
    let only = partner
        .audit_events(&AuditFilter {
            vendor: Some(v1),
            subject_kind: Some("deal-registration".into()),
            limit: 1,
            before: None,
        })
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].action, "deal-registration.decided");
    let next = partner
        .audit_events(&AuditFilter {
            vendor: Some(v1),
            subject_kind: Some("deal-registration".into()),
            limit: 10,
            before: Some(only[0].id),
        })
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["deal-registration.read"]
    );
    // Reads the API reports are recorded for what was shown, and a vendor
    // cannot record anything in a workspace it is not linked to.
    let stranger = workspace(&db.store, "Stranger").await;
    let refused = canon
        .record_reads(
            "deal-registration.read",
            "deal-registration",
            [(stranger, "x".to_owned())],
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(
        log(&db, stranger)
            .await
            .iter()
            .all(|e| e.actor != Actor::Vendor(v1))
    );
}

async fn a_paused_vendor_reaches_nothing_and_its_content_stays(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let owner = member(&db.store, ws, "owner@acme.test", Role::Owner).await;
    let vs = db.store.vendor(v);
    vs.publish_campaign(&ext("c"), &campaign("C", &[]))
        .await
        .unwrap();
    vs.publish_asset(&ext("a"), &asset("Deck")).await.unwrap();
    vs.publish_price_list(
        &ext("p"),
        &terms(onepane_domain::Currency::EUR),
        &[item("S-1", "10")],
    )
    .await
    .unwrap();
    let lead = vs.send_lead(ws, &vendor_lead("L", "Lee")).await.unwrap();
    let partner = db.store.partner(ws);
    let reg = partner
        .register_deal(v, &deal("Deal"), Some(lead.id), None)
        .await
        .unwrap();

    let paused = partner
        .set_link_status(v, LinkStatus::Paused, owner.id)
        .await
        .unwrap();
    assert_eq!(paused.status, LinkStatus::Paused);
    // The vendor: as if unlinked, everywhere.
    assert!(vs.partners().await.unwrap().is_empty());
    assert!(matches!(
        vs.send_lead(ws, &vendor_lead("L2", "Lou")).await,
        Err(StoreError::NotLinked(w)) if w == ws
    ));
    assert!(matches!(
        vs.deal_registration(reg.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(vs.deal_registrations(None).await.unwrap().is_empty());
    assert!(matches!(
        vs.decide(reg.id, approve()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        vs.set_tier(ws, Tier::Silver).await,
        Err(StoreError::NotLinked(_))
    ));
    // What the vendor publishes meanwhile is stored, and reaches no one.
    vs.publish_campaign(&ext("c2"), &campaign("C2", &[]))
        .await
        .unwrap();
    assert_eq!(vs.reach().await.unwrap().partners(), 0);
    // The partner: the content stays; nothing new goes to the vendor.
    assert_eq!(partner.campaigns().await.unwrap().len(), 1);
    assert_eq!(partner.assets().await.unwrap().len(), 1);
    assert_eq!(partner.price_lists().await.unwrap().len(), 1);
    let campaign_id = partner.campaigns().await.unwrap()[0].id;
    assert!(matches!(
        partner.activate_campaign(campaign_id, None).await,
        Err(StoreError::Rule(_))
    ));
    assert!(matches!(
        partner.register_deal(v, &deal("Another"), None, None).await,
        Err(StoreError::Rule(_))
    ));
    // Resuming gives the vendor its reach back.
    partner
        .set_link_status(v, LinkStatus::Active, owner.id)
        .await
        .unwrap();
    assert_eq!(vs.partners().await.unwrap().len(), 1);
    assert_eq!(vs.deal_registration(reg.id).await.unwrap().id, reg.id);
    let actions: Vec<String> = log(&db, ws)
        .await
        .into_iter()
        .filter(|e| e.actor == Actor::User(owner.id))
        .map(|e| format!("{} {}", e.action, e.subject.unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        [format!("link.resumed {v}"), format!("link.paused {v}")]
    );
}

async fn an_ended_vendor_loses_everything_and_the_partner_keeps_its_records(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let admin = member(&db.store, ws, "admin@acme.test", Role::Admin).await;
    let vs = db.store.vendor(v);
    vs.publish_campaign(&ext("c"), &campaign("C", &[]))
        .await
        .unwrap();
    vs.publish_price_list(
        &ext("p"),
        &terms(onepane_domain::Currency::EUR),
        &[item("S-1", "10")],
    )
    .await
    .unwrap();
    let lead = vs.send_lead(ws, &vendor_lead("L", "Lee")).await.unwrap();
    let partner = db.store.partner(ws);
    partner
        .set_lead_status(lead.id, LeadStatus::Accepted)
        .await
        .unwrap();
    let reg = partner
        .register_deal(v, &deal("Deal"), Some(lead.id), None)
        .await
        .unwrap();

    partner
        .set_link_status(v, LinkStatus::Ended, admin.id)
        .await
        .unwrap();
    assert!(
        partner.campaigns().await.unwrap().is_empty(),
        "its content leaves the pane"
    );
    assert!(partner.price_lists().await.unwrap().is_empty());
    let leads = partner
        .leads(&LeadFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(leads.len(), 1, "the partner keeps its leads");
    assert_eq!(partner.deal_registration(reg.id).await.unwrap().id, reg.id);
    assert!(vs.partners().await.unwrap().is_empty());
    assert!(matches!(
        vs.deal_registration(reg.id).await,
        Err(StoreError::NotFound { .. })
    ));
    // Ended is final for the partner.
    assert!(matches!(
        partner
            .set_link_status(v, LinkStatus::Active, admin.id)
            .await,
        Err(StoreError::Rule(_))
    ));
    assert!(matches!(
        partner
            .set_link_status(v, LinkStatus::Paused, admin.id)
            .await,
        Err(StoreError::Rule(_))
    ));
    let stranger = vendor(&db.store, "Stranger").await;
    assert!(matches!(
        partner
            .set_link_status(stranger, LinkStatus::Paused, admin.id)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(log(&db, ws).await.iter().any(|e| e.action == "link.ended"
        && e.actor == Actor::User(admin.id)
        && e.subject == Some(v.to_string())));
}

async fn webhooks_about_a_paused_workspace_are_dropped_and_deliveries_are_logged(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let owner = member(&db.store, ws, "owner@acme.test", Role::Owner).await;
    let vs = db.store.vendor(v);
    vs.put_webhook(
        "https://hooks.canon.test/onepane",
        &[
            WebhookEvent::LeadAccepted,
            WebhookEvent::DealRegistrationSubmitted,
        ],
        Some(b"sealed"),
    )
    .await
    .unwrap();
    let partner = db.store.partner(ws);
    let first = vs.send_lead(ws, &vendor_lead("L1", "Lee")).await.unwrap();
    partner
        .set_lead_status(first.id, LeadStatus::Accepted)
        .await
        .unwrap();
    let system = db.store.system();
    let due = system
        .claim_due_deliveries(10, chrono::Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    system
        .record_attempt(v, due[0].delivery.id, &Attempt::Delivered { status: 204 })
        .await
        .unwrap();
    let delivered: Vec<AuditEvent> = log(&db, ws)
        .await
        .into_iter()
        .filter(|e| e.action == "webhook.delivered")
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].actor, Actor::Vendor(v));
    assert_eq!(delivered[0].subject_kind.as_deref(), Some("lead"));
    assert_eq!(delivered[0].subject, Some(first.id.to_string()));

    // A registration made, then the link paused before the dispatcher
    // runs: the delivery is dropped, not sent later.
    partner
        .register_deal(v, &deal("Deal"), None, None)
        .await
        .unwrap();
    partner
        .set_link_status(v, LinkStatus::Paused, owner.id)
        .await
        .unwrap();
    assert!(
        system
            .claim_due_deliveries(10, chrono::Duration::seconds(60))
            .await
            .unwrap()
            .is_empty()
    );
    partner
        .set_link_status(v, LinkStatus::Active, owner.id)
        .await
        .unwrap();
    assert!(
        system
            .claim_due_deliveries(10, chrono::Duration::seconds(60))
            .await
            .unwrap()
            .is_empty(),
        "resuming does not send what was withheld"
    );
}

async fn the_audit_log_cannot_be_changed_and_prunes_only_old_events(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    db.store
        .vendor(v)
        .send_lead(ws, &vendor_lead("L", "Lee"))
        .await
        .unwrap();
    let before = log(&db, ws).await;
    assert!(!before.is_empty());
    let system = db.store.system();
    assert!(matches!(
        system.prune_audit(29).await,
        Err(StoreError::Rule(_))
    ));
    assert_eq!(
        system.prune_audit(30).await.unwrap(),
        0,
        "nothing is old enough"
    );
    assert_eq!(log(&db, ws).await.len(), before.len());
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new().filename(path),
            )
            .await
            .unwrap();
            let update = sqlx::query("UPDATE audit_events SET action = 'nothing'")
                .execute(&pool)
                .await;
            assert!(update.is_err_and(|e| e.to_string().contains("append-only")));
            let delete = sqlx::query("DELETE FROM audit_events").execute(&pool).await;
            assert!(delete.is_err_and(|e| e.to_string().contains("append-only")));
            // An event past retention can go, and only through pruning.
            let old = chrono::Utc::now() - chrono::Duration::days(500);
            sqlx::query("INSERT INTO audit_events (workspace_id, id, actor_type, action, detail, at) VALUES ($1, $2, 'system', 'old.event', '{}', $3)")
                .bind(ws.as_uuid())
                .bind(uuid::Uuid::now_v7())
                .bind(old)
                .execute(&pool)
                .await
                .unwrap();
        }
        DatabaseUrl::Postgres(_) => {
            let server = sqlx::PgPool::connect(&db.postgres_url_as(TEST_SERVER_ROLE).unwrap())
                .await
                .unwrap();
            for sql in [
                "UPDATE audit_events SET action = 'nothing'",
                "DELETE FROM audit_events",
                "TRUNCATE audit_events",
            ] {
                let e = sqlx::query(sql)
                    .execute(&server)
                    .await
                    .unwrap_err()
                    .to_string();
                assert!(e.contains("permission denied"), "{sql}: {e}");
            }
            // Not even the owner changes an event, or deletes a young one.
            let owner = sqlx::PgPool::connect(&db.postgres_superuser_url().unwrap())
                .await
                .unwrap();
            let e = sqlx::query("UPDATE audit_events SET action = 'nothing'")
                .execute(&owner)
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains("append-only"), "{e}");
            let e = sqlx::query("DELETE FROM audit_events")
                .execute(&owner)
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains("append-only"), "{e}");
            sqlx::query("INSERT INTO audit_events (workspace_id, id, actor_type, action, detail, at) VALUES ($1, $2, 'system', 'old.event', '{}', now() - interval '500 days')")
                .bind(ws.as_uuid())
                .bind(uuid::Uuid::now_v7())
                .execute(&owner)
                .await
                .unwrap();
        }
    }
    assert_eq!(log(&db, ws).await.len(), before.len() + 1);
    assert_eq!(
        system.prune_audit(400).await.unwrap(),
        1,
        "the old event goes"
    );
    let after = log(&db, ws).await;
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|e| e.action != "old.event"));
}

fn approve() -> DealDecision {
    DealDecision::Approved {
        reason: None,
        protection_expires_on: chrono::Utc::now().date_naive() + chrono::Duration::days(90),
        extra_discount: None,
    }
}

async fn a_person_is_found_exported_and_erased_and_the_vendor_told(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let quiet = vendor(&db.store, "Quiet").await;
    link(&db.store, ws, quiet, Tier::Gold).await;
    let owner = member(&db.store, ws, "owner@acme.test", Role::Owner).await;
    let vs = db.store.vendor(v);
    vs.put_webhook(
        "https://hooks.canon.test/onepane",
        &[WebhookEvent::LeadErased],
        Some(b"sealed"),
    )
    .await
    .unwrap();
    let partner = db.store.partner(ws);
    // Ann Person: a lead from Canon, and one the partner typed in.
    let mut from_canon = vendor_lead("ANN-1", "Ann Person");
    from_canon.message = Some("Call Ann on her mobile".parse().unwrap());
    let sent = vs.send_lead(ws, &from_canon).await.unwrap();
    let typed = partner
        .create_manual_lead(&onepane_domain::lead::NewManualLead {
            vendor_id: Some(quiet),
            contact: contact("Ann Person"),
            company: None,
            message: None,
        })
        .await
        .unwrap();
    let bob = vs
        .send_lead(ws, &vendor_lead("BOB-1", "Bob Other"))
        .await
        .unwrap();
    partner
        .set_lead_status(sent.id, LeadStatus::Accepted)
        .await
        .unwrap();
    let mut details = deal("Printers for Ann Person");
    details.fields = std::collections::BTreeMap::from([
        ("reseller_account".to_owned(), "R-1".to_owned()),
        (
            "contact".to_owned(),
            "ann.person@customer.example".to_owned(),
        ),
    ])
    .try_into()
    .unwrap();
    let reg = partner
        .register_deal(v, &details, Some(sent.id), None)
        .await
        .unwrap();

    let email: Email = "Ann.Person@Customer.Example".parse().unwrap();
    let found = partner.personal_data(&email).await.unwrap();
    let mut ids: Vec<_> = found.leads.iter().map(|l| l.id).collect();
    ids.sort();
    let mut expected = vec![sent.id, typed.id];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(found.deal_registrations.len(), 1);
    assert_eq!(found.deal_registrations[0].id, reg.id);
    // The export is plain JSON of the records.
    let json = serde_json::to_value(&found).unwrap();
    assert_eq!(json["email"], "ann.person@customer.example");
    assert_eq!(json["leads"].as_array().unwrap().len(), 2);

    // Drain what the registration queued, so only the erasure is left.
    let system = db.store.system();
    let _ = system
        .claim_due_deliveries(10, chrono::Duration::seconds(60))
        .await
        .unwrap();
    let status_before = partner.lead(sent.id).await.unwrap().status;
    assert_eq!(
        status_before,
        LeadStatus::Qualified,
        "the registration qualified it"
    );
    let erased = partner.erase_person(&email, owner.id).await.unwrap();
    assert_eq!(
        (erased.leads, erased.deal_registrations, erased.vendors_told),
        (2, 1, 1),
        "Canon sent the lead; Quiet never received the typed one"
    );
    assert!(
        partner
            .personal_data(&email)
            .await
            .unwrap()
            .leads
            .is_empty()
    );
    let after = partner.lead(sent.id).await.unwrap();
    assert_eq!(after.contact.name.as_str(), "Erased person");
    assert_eq!(after.contact.email, None);
    assert_eq!(after.message, None);
    assert_eq!(after.status, status_before, "the status stays");
    assert_eq!(after.external_id, sent.external_id);
    let reg_after = partner.deal_registration(reg.id).await.unwrap();
    assert_eq!(reg_after.details.title.as_str(), "[erased]");
    assert_eq!(reg_after.details.fields.as_map()["contact"], "[erased]");
    assert_eq!(reg_after.details.fields.as_map()["reseller_account"], "R-1");
    assert_eq!(reg_after.details.amount, reg.details.amount, "amounts stay");
    assert_eq!(reg_after.status, reg.status);
    // The vendor sees the erased registration too, and is told.
    assert_eq!(
        vs.deal_registration(reg.id)
            .await
            .unwrap()
            .details
            .title
            .as_str(),
        "[erased]"
    );
    let due = system
        .claim_due_deliveries(10, chrono::Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].delivery.event, WebhookEvent::LeadErased);
    assert_eq!(
        due[0].delivery.payload["data"]["lead_id"],
        sent.id.to_string()
    );
    assert_eq!(due[0].delivery.payload["data"]["external_id"], "ANN-1");
    // Bob is untouched; the log records the erasure without the address.
    assert_eq!(
        partner.lead(bob.id).await.unwrap().contact.name.as_str(),
        "Bob Other"
    );
    let entry = log(&db, ws)
        .await
        .into_iter()
        .find(|e| e.action == "person.erased")
        .unwrap();
    assert_eq!(entry.actor, Actor::User(owner.id));
    assert!(
        !entry.detail.to_string().contains("ann"),
        "{}",
        entry.detail
    );
    // Erasing again finds nothing and changes nothing.
    let again = partner.erase_person(&email, owner.id).await.unwrap();
    assert_eq!(
        (again.leads, again.deal_registrations, again.vendors_told),
        (0, 0, 0)
    );
}

/// PostgreSQL's policies on the link's status, attacked with raw SQL as the
/// server role: the partner moves only its own link, only between active,
/// paused and ended, and never back from ended; the vendor never resumes.
#[tokio::test]
async fn link_status_moves_only_as_the_partner_may_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (a, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    let b = workspace(&db.store, "Bolt").await;
    link(&db.store, b, v, Tier::Gold).await;
    let server = sqlx::PgPool::connect(&db.postgres_url_as(TEST_SERVER_ROLE).unwrap())
        .await
        .unwrap();
    let run = |scope: (String, String), sql: String| {
        let server = server.clone();
        async move {
            let mut tx = server.begin().await.unwrap();
            sqlx::query("SELECT set_config('onepane.workspace_id', $1, true), set_config('onepane.vendor_id', $2, true)")
                .bind(&scope.0)
                .bind(&scope.1)
                .execute(&mut *tx)
                .await
                .unwrap();
            let r = sqlx::query(&sql)
                .execute(&mut *tx)
                .await
                .map(|r| r.rows_affected());
            match r {
                Ok(n) => {
                    tx.commit().await.unwrap();
                    Ok(n)
                }
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let partner_a = (a.to_string(), String::new());
    let vendor = (String::new(), v.to_string());
    // Pausing its own link works; another workspace's link is out of reach.
    assert_eq!(
        run(
            partner_a.clone(),
            format!("UPDATE vendor_links SET status = 'paused' WHERE workspace_id = '{a}'")
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run(
            partner_a.clone(),
            format!("UPDATE vendor_links SET status = 'paused' WHERE workspace_id = '{b}'")
        )
        .await,
        Ok(0)
    );
    // The vendor cannot resume what the partner paused.
    assert_eq!(
        run(
            vendor.clone(),
            format!("UPDATE vendor_links SET status = 'active' WHERE workspace_id = '{a}'")
        )
        .await,
        Ok(0)
    );
    // A status that is not one of the partner's is refused.
    let invited = run(
        partner_a.clone(),
        "UPDATE vendor_links SET status = 'invited'".into(),
    )
    .await;
    assert!(
        invited
            .as_ref()
            .is_err_and(|e| e.contains("row-level security")),
        "{invited:?}"
    );
    // Ended stays ended.
    assert_eq!(
        run(
            partner_a.clone(),
            "UPDATE vendor_links SET status = 'ended'".into()
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run(
            partner_a.clone(),
            "UPDATE vendor_links SET status = 'active'".into()
        )
        .await,
        Ok(0)
    );
    let links = db.store.partner(a).vendors().await.unwrap();
    assert_eq!(links[0].link.status, LinkStatus::Ended);
    assert_eq!(
        db.store.partner(b).vendors().await.unwrap()[0].link.status,
        LinkStatus::Active
    );
}
