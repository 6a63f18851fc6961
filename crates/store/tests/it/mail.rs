//! The clock told by mail, on both backends: members' choices and time
//! zones, each mail claimed once, stale claims taken over once, and which
//! leads count as urgent for whom.

use chrono::{Duration, Utc};
use onepane_domain::Tier;
use onepane_domain::mail::{MailKind, MailPreferences, TimeZone};
use onepane_domain::program::Role;
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::{MAIL_ATTEMPTS, MailSettings};

crate::on_both_backends!(
    a_members_mail_choices_and_time_zone_are_its_own,
    each_mail_is_claimed_once_and_a_stale_claim_taken_over_once,
    urgent_leads_are_new_short_notice_leads_that_arrived_after_the_choice,
);

fn both() -> MailPreferences {
    MailPreferences {
        daily_digest: true,
        urgent_leads: true,
    }
}

async fn a_members_mail_choices_and_time_zone_are_its_own(db: TestDb) {
    let store = &db.store;
    let (ws, _) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let (other_ws, _) = linked(store, "Other", "HP", Tier::Gold).await;
    let p = store.partner(ws);
    let seller = member(store, ws, "seller@acme.example", Role::SalesRep).await;
    let outsider = member(store, other_ws, "outsider@other.example", Role::Owner).await;
    assert_eq!(
        p.mail_settings(seller.id).await.unwrap(),
        MailSettings::default()
    );
    let helsinki = TimeZone::parse("Europe/Helsinki").unwrap();
    let chosen = MailSettings {
        preferences: MailPreferences {
            daily_digest: true,
            urgent_leads: false,
        },
        time_zone: Some(helsinki),
    };
    p.set_mail_settings(seller.id, &chosen).await.unwrap();
    assert_eq!(p.mail_settings(seller.id).await.unwrap(), chosen);
    // Another workspace's member is out of reach.
    assert!(p.set_mail_settings(outsider.id, &chosen).await.is_err());
    assert!(p.mail_settings(outsider.id).await.is_err());
    assert_eq!(
        store
            .partner(other_ws)
            .mail_settings(outsider.id)
            .await
            .unwrap(),
        MailSettings::default()
    );

    let sys = store.system();
    let digests = sys.mail_members(MailKind::Digest).await.unwrap();
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert_eq!(digests[0].user_id, seller.id);
    assert_eq!(digests[0].time_zone, helsinki);
    assert_eq!(digests[0].email.as_str(), "seller@acme.example");
    assert!(
        sys.mail_members(MailKind::UrgentLead)
            .await
            .unwrap()
            .is_empty()
    );
    // The unsubscribe link turns one choice off, and only that one.
    p.set_mail_settings(
        seller.id,
        &MailSettings {
            preferences: both(),
            ..chosen
        },
    )
    .await
    .unwrap();
    assert!(
        sys.unsubscribe(ws, seller.id, MailKind::Digest)
            .await
            .unwrap()
    );
    assert_eq!(
        p.mail_settings(seller.id).await.unwrap().preferences,
        MailPreferences {
            daily_digest: false,
            urgent_leads: true
        }
    );
    assert!(
        !sys.unsubscribe(other_ws, outsider.id, MailKind::Digest)
            .await
            .unwrap(),
        "no choices, nothing to turn off"
    );
}

async fn each_mail_is_claimed_once_and_a_stale_claim_taken_over_once(db: TestDb) {
    let store = &db.store;
    let (ws, _) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let seller = member(store, ws, "seller@acme.example", Role::SalesRep).await;
    store
        .partner(ws)
        .set_mail_settings(
            seller.id,
            &MailSettings {
                preferences: both(),
                time_zone: None,
            },
        )
        .await
        .unwrap();
    let sys = store.system();
    let claims: Vec<_> = (0..4)
        .map(|_| {
            let sys = sys.clone();
            tokio::spawn(async move {
                sys.claim_mail(ws, seller.id, MailKind::Digest, "2026-12-07")
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut taken = 0;
    for c in claims {
        taken += usize::from(c.await.unwrap());
    }
    assert_eq!(taken, 1, "one claim takes the digest");
    let m = sys.mail_member(ws, seller.id).await.unwrap().unwrap();
    assert_eq!(m.last_digest_key.as_deref(), Some("2026-12-07"));
    assert_eq!(m.last_digest_sent, None);
    assert_eq!(m.time_zone, TimeZone::UTC);

    // Not stale yet: nobody takes it over.
    let cutoff = Utc::now() - Duration::minutes(10);
    assert!(sys.take_over_mail(cutoff).await.unwrap().is_empty());
    // Stale (its replica died): exactly one of those asking takes it.
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let later = Utc::now();
    let takers: Vec<_> = (0..3)
        .map(|_| {
            let sys = sys.clone();
            tokio::spawn(async move { sys.take_over_mail(later).await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for t in takers {
        taken.extend(t.await.unwrap());
    }
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0].kind, MailKind::Digest);
    assert_eq!(taken[0].key, "2026-12-07");
    assert_eq!(taken[0].attempt, 2);
    // A failure is recorded; the tries run out.
    sys.mail_failed(ws, seller.id, MailKind::Digest, "2026-12-07", "refused")
        .await
        .unwrap();
    let mut tries = 2;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let again = sys.take_over_mail(Utc::now()).await.unwrap();
        if again.is_empty() {
            break;
        }
        tries = again[0].attempt;
    }
    assert_eq!(tries, MAIL_ATTEMPTS, "given up after {MAIL_ATTEMPTS} tries");

    // Sent: never taken over, and it is the member's last digest.
    assert!(
        sys.claim_mail(ws, seller.id, MailKind::Digest, "2026-12-08")
            .await
            .unwrap()
    );
    sys.mail_sent(ws, seller.id, MailKind::Digest, "2026-12-08")
        .await
        .unwrap();
    assert!(
        sys.take_over_mail(Utc::now() + Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    let m = sys.mail_member(ws, seller.id).await.unwrap().unwrap();
    assert_eq!(m.last_digest_key.as_deref(), Some("2026-12-08"));
    assert!(m.last_digest_sent.is_some());
}

async fn urgent_leads_are_new_short_notice_leads_that_arrived_after_the_choice(db: TestDb) {
    let store = &db.store;
    let (ws, canon) = linked(store, "Acme", "Canon", Tier::Gold).await;
    let (other_ws, hp) = linked(store, "Other", "HP", Tier::Gold).await;
    let owner = store.partner(ws).members().await.unwrap()[0].user_id;
    let seller = member(store, ws, "seller@acme.example", Role::SalesRep).await;
    let send = |v, ws, ext: &'static str, hours: i64| async move {
        let mut lead = vendor_lead(ext, ext);
        lead.respond_by = Some(Utc::now() + Duration::hours(hours));
        store.vendor(v).send_lead(ws, &lead).await.unwrap()
    };
    // Before anyone wants urgent mail.
    send(canon, ws, "before", 24).await;
    let p = store.partner(ws);
    for (user, urgent) in [(owner, true), (seller.id, false)] {
        p.set_mail_settings(
            user,
            &MailSettings {
                preferences: MailPreferences {
                    daily_digest: true,
                    urgent_leads: urgent,
                },
                time_zone: None,
            },
        )
        .await
        .unwrap();
    }
    let other_owner = store.partner(other_ws).members().await.unwrap()[0].user_id;
    store
        .partner(other_ws)
        .set_mail_settings(
            other_owner,
            &MailSettings {
                preferences: both(),
                time_zone: None,
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    send(canon, ws, "urgent", 24).await;
    send(canon, ws, "five-days", 24 * 5).await;
    send(hp, other_ws, "elsewhere", 12).await;
    let sys = store.system();
    let due = sys.urgent_leads(Utc::now()).await.unwrap();
    let mine: Vec<_> = due.iter().filter(|u| u.workspace_id == ws).collect();
    assert_eq!(mine.len(), 1, "{due:?}");
    assert_eq!(mine[0].user_id, owner);
    assert_eq!(mine[0].lead.contact.name.as_str(), "urgent");
    assert!(
        due.iter()
            .any(|u| u.workspace_id == other_ws && u.user_id == other_owner)
    );
    // Claimed: no longer due.
    assert!(
        sys.claim_mail(
            ws,
            owner,
            MailKind::UrgentLead,
            &mine[0].lead.id.to_string()
        )
        .await
        .unwrap()
    );
    let due = sys.urgent_leads(Utc::now()).await.unwrap();
    assert!(due.iter().all(|u| u.workspace_id != ws), "{due:?}");
    assert_eq!(
        sys.lead_for_mail(ws, mine[0].lead.id)
            .await
            .unwrap()
            .map(|l| l.id),
        Some(mine[0].lead.id)
    );
    assert_eq!(
        sys.lead_for_mail(other_ws, mine[0].lead.id).await.unwrap(),
        None
    );
}
