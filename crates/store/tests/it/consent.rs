//! Consent and privacy on landing pages, identical on SQLite and
//! PostgreSQL: no activation without a privacy notice, and a landing-page
//! lead keeps what its visitor was shown and answered.

use onepane_domain::activity::NotificationKind;
use onepane_domain::campaign::CampaignActivation;
use onepane_domain::lead::{ConsentAnswer, Lead, MarketingConsent, NewCampaignLead, NewManualLead};
use onepane_domain::{Tier, WorkspaceId};
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::{LeadFilter, Page, PartnerStore, StoreError, WorkspaceProfile};

crate::on_both_backends!(
    consent_activation_is_refused_without_a_privacy_notice,
    consent_privacy_notice_stays_while_a_landing_page_is_live,
    consent_text_versions_move_only_when_the_text_changes,
    consent_leads_record_what_the_visitor_was_shown_and_answered,
    consent_answers_to_another_text_version_are_refused,
    consent_is_recorded_only_for_landing_page_leads,
);

const PRIVACY: &str = "https://acme.example/privacy";

/// A workspace linked to a vendor that published one campaign, and that
/// campaign's id as the workspace sees it.
async fn world(db: &TestDb) -> (WorkspaceId, onepane_domain::VendorId, PartnerStore) {
    let (ws, v) = linked(&db.store, "Acme", "Canon", Tier::Gold).await;
    db.store
        .vendor(v)
        .publish_campaign(&ext("c1"), &campaign("Spring Printers", &[]))
        .await
        .unwrap();
    (ws, v, db.store.partner(ws))
}

async fn activate(partner: &PartnerStore) -> CampaignActivation {
    let c = partner.campaigns().await.unwrap().remove(0);
    partner.activate_campaign(c.id, None).await.unwrap()
}

fn profile(privacy: Option<&str>, text: Option<&str>) -> WorkspaceProfile {
    WorkspaceProfile {
        contact_name: Some("Anna Acme".into()),
        privacy_notice_url: privacy.map(str::to_owned),
        marketing_consent_text: text.map(str::to_owned),
        ..WorkspaceProfile::default()
    }
}

async fn capture(
    partner: &PartnerStore,
    activation: &CampaignActivation,
    person: &str,
    consent: ConsentAnswer,
) -> Result<Lead, StoreError> {
    partner
        .capture_campaign_lead(&NewCampaignLead {
            activation_id: activation.id,
            contact: contact(person),
            company: None,
            message: None,
            consent,
        })
        .await
}

async fn lead_count(partner: &PartnerStore) -> usize {
    partner
        .leads(&LeadFilter::default(), Page::default())
        .await
        .unwrap()
        .len()
}

async fn consent_activation_is_refused_without_a_privacy_notice(db: TestDb) {
    let (_, _, partner) = world(&db).await;
    partner.put_profile(&profile(None, None)).await.unwrap();
    let c = partner.campaigns().await.unwrap().remove(0);
    let err = partner.activate_campaign(c.id, None).await.unwrap_err();
    match &err {
        StoreError::Rule(why) => assert!(why.contains("privacy notice"), "{why}"),
        other => panic!("expected a broken rule, got {other:?}"),
    }
    assert!(
        partner.activations().await.unwrap().is_empty(),
        "no landing page was made"
    );
    // With a privacy notice the same click activates it.
    partner
        .put_profile(&profile(Some(PRIVACY), None))
        .await
        .unwrap();
    let a = partner.activate_campaign(c.id, None).await.unwrap();
    assert_eq!(a.campaign_id, c.id);
    assert_eq!(partner.activations().await.unwrap(), vec![a.clone()]);
    let page = db
        .store
        .system()
        .landing_page(a.slug.as_str())
        .await
        .unwrap()
        .expect("the landing page is there");
    assert_eq!(page.profile.privacy_notice_url.as_deref(), Some(PRIVACY));
}

async fn consent_privacy_notice_stays_while_a_landing_page_is_live(db: TestDb) {
    let (_, v, partner) = world(&db).await;
    partner
        .put_profile(&profile(Some(PRIVACY), None))
        .await
        .unwrap();
    activate(&partner).await;
    let err = partner.put_profile(&profile(None, None)).await.unwrap_err();
    assert!(matches!(err, StoreError::Rule(_)), "{err:?}");
    assert_eq!(
        partner
            .profile()
            .await
            .unwrap()
            .privacy_notice_url
            .as_deref(),
        Some(PRIVACY),
        "the notice is kept"
    );
    // Another notice replaces it.
    partner
        .put_profile(&profile(Some("https://acme.example/tietosuoja"), None))
        .await
        .unwrap();
    // Once the campaign has ended its page takes no more leads, and the
    // rule lifts.
    db.store
        .vendor(v)
        .archive_campaign(&ext("c1"))
        .await
        .unwrap();
    partner.put_profile(&profile(None, None)).await.unwrap();
    assert_eq!(partner.profile().await.unwrap().privacy_notice_url, None);
}

async fn consent_text_versions_move_only_when_the_text_changes(db: TestDb) {
    let ws = workspace(&db.store, "Acme").await;
    let partner = db.store.partner(ws);
    let version = || async { partner.profile().await.unwrap().marketing_consent_version };
    assert_eq!(version().await, 0, "never set");
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me offers")))
        .await
        .unwrap();
    assert_eq!(version().await, 1);
    // Saving the profile again with the same text keeps the version, and
    // so does a version the caller makes up.
    partner
        .put_profile(&WorkspaceProfile {
            website: Some("https://acme.example".into()),
            marketing_consent_version: 40,
            ..profile(Some(PRIVACY), Some("Send me offers"))
        })
        .await
        .unwrap();
    assert_eq!(version().await, 1);
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me offers by email")))
        .await
        .unwrap();
    assert_eq!(version().await, 2);
    let p = partner.profile().await.unwrap();
    assert_eq!(
        p.marketing_consent_text.as_deref(),
        Some("Send me offers by email")
    );
    // Taking the text away is a change too: no answer to an old text can
    // be taken for one to the next.
    partner
        .put_profile(&profile(Some(PRIVACY), None))
        .await
        .unwrap();
    assert_eq!(version().await, 3);
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me offers")))
        .await
        .unwrap();
    assert_eq!(version().await, 4);
}

async fn consent_leads_record_what_the_visitor_was_shown_and_answered(db: TestDb) {
    let (_, _, partner) = world(&db).await;
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me offers")))
        .await
        .unwrap();
    let a = activate(&partner).await;

    let ticked = capture(
        &partner,
        &a,
        "Tia Ticked",
        ConsentAnswer::Answered {
            given: true,
            text_version: 1,
        },
    )
    .await
    .unwrap();
    let c = ticked
        .consent
        .clone()
        .expect("a landing-page lead has a consent record");
    assert_eq!(c.marketing, MarketingConsent::Given);
    assert_eq!(
        c.marketing_text.as_ref().map(|t| t.as_str()),
        Some("Send me offers")
    );
    assert_eq!(c.marketing_text_version, Some(1));
    assert_eq!(c.landing_page, a.slug);
    assert_eq!(c.activation_id, a.id);
    assert_eq!(
        c.privacy_notice_url.as_ref().map(|u| u.as_url().as_str()),
        Some(PRIVACY)
    );
    assert_eq!(
        c.recorded_at, ticked.created_at,
        "recorded when the lead was taken"
    );
    assert_eq!(
        partner.lead(ticked.id).await.unwrap(),
        ticked,
        "reads back exactly as written"
    );

    let unticked = capture(
        &partner,
        &a,
        "Ulla Unticked",
        ConsentAnswer::Answered {
            given: false,
            text_version: 1,
        },
    )
    .await
    .unwrap();
    let c = unticked.consent.clone().unwrap();
    assert_eq!(c.marketing, MarketingConsent::Declined);
    assert_eq!(
        c.marketing_text.as_ref().map(|t| t.as_str()),
        Some("Send me offers")
    );
    assert_eq!(c.marketing_text_version, Some(1));

    // A new text: new leads record it and its version, old leads keep theirs.
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me offers and news")))
        .await
        .unwrap();
    let later = capture(
        &partner,
        &a,
        "Leo Later",
        ConsentAnswer::Answered {
            given: true,
            text_version: 2,
        },
    )
    .await
    .unwrap();
    let c = later.consent.clone().unwrap();
    assert_eq!(c.marketing, MarketingConsent::Given);
    assert_eq!(
        c.marketing_text.as_ref().map(|t| t.as_str()),
        Some("Send me offers and news")
    );
    assert_eq!(c.marketing_text_version, Some(2));
    let old = partner.lead(ticked.id).await.unwrap().consent.unwrap();
    assert_eq!(old.marketing_text_version, Some(1));
    assert_eq!(
        old.marketing_text.as_ref().map(|t| t.as_str()),
        Some("Send me offers")
    );

    // No text: no question, recorded as not asked (not as declined).
    partner
        .put_profile(&profile(Some(PRIVACY), None))
        .await
        .unwrap();
    let unasked = capture(&partner, &a, "Nina Notasked", ConsentAnswer::NotAsked)
        .await
        .unwrap();
    let c = unasked.consent.clone().unwrap();
    assert_eq!(c.marketing, MarketingConsent::NotAsked);
    assert_eq!(c.marketing_text, None);
    assert_eq!(c.marketing_text_version, None);
    assert_eq!(c.landing_page, a.slug);
    assert_eq!(
        c.privacy_notice_url.as_ref().map(|u| u.as_url().as_str()),
        Some(PRIVACY)
    );
    assert_eq!(partner.lead(unasked.id).await.unwrap(), unasked);
    assert_eq!(lead_count(&partner).await, 4);
}

async fn consent_answers_to_another_text_version_are_refused(db: TestDb) {
    let (_, _, partner) = world(&db).await;
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me offers")))
        .await
        .unwrap();
    let a = activate(&partner).await;
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me everything")))
        .await
        .unwrap();
    // Each answer is to a page other than the one the profile makes now.
    for answer in [
        ConsentAnswer::Answered {
            given: true,
            text_version: 1,
        },
        ConsentAnswer::Answered {
            given: false,
            text_version: 3,
        },
        ConsentAnswer::NotAsked,
    ] {
        let err = capture(&partner, &a, "Vera Version", answer)
            .await
            .unwrap_err();
        match &err {
            StoreError::Rule(why) => assert!(why.contains("consent text changed"), "{why}"),
            other => panic!("{answer:?}: expected a broken rule, got {other:?}"),
        }
    }
    partner
        .put_profile(&profile(Some(PRIVACY), None))
        .await
        .unwrap();
    let err = capture(
        &partner,
        &a,
        "Vera Version",
        ConsentAnswer::Answered {
            given: true,
            text_version: 3,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, StoreError::Rule(_)),
        "a box no page shows now: {err:?}"
    );
    assert_eq!(lead_count(&partner).await, 0, "nothing half-written");
    assert!(
        !partner
            .notifications(false)
            .await
            .unwrap()
            .iter()
            .any(|n| n.kind == NotificationKind::NewLead),
        "and nobody notified"
    );
}

async fn consent_is_recorded_only_for_landing_page_leads(db: TestDb) {
    let (ws, v, partner) = world(&db).await;
    partner
        .put_profile(&profile(Some(PRIVACY), Some("Send me offers")))
        .await
        .unwrap();
    let manual = partner
        .create_manual_lead(&NewManualLead {
            vendor_id: Some(v),
            contact: contact("Manu Manual"),
            company: None,
            message: None,
        })
        .await
        .unwrap();
    assert_eq!(manual.consent, None);
    assert_eq!(partner.lead(manual.id).await.unwrap().consent, None);
    let sent = db
        .store
        .vendor(v)
        .send_lead(ws, &vendor_lead("L1", "Vic Vendor"))
        .await
        .unwrap();
    assert_eq!(sent.consent, None);
    assert_eq!(partner.lead(sent.id).await.unwrap().consent, None);
}
