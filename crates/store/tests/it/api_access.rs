//! API access in the store, identical on SQLite and PostgreSQL: clients,
//! tokens, signing keys, idempotency records, the webhook outbox, and the
//! vendor API's price-list and count operations.

use chrono::{Duration, Utc};
use onepane_domain::activity::WebhookEvent;
use onepane_domain::lead::{ConsentAnswer, NewCampaignLead};
use onepane_domain::text::ExternalId;
use onepane_domain::{ApiClientId, Currency, Tier, WebhookDeliveryId};
use onepane_store::testing::TestDb;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::{
    Attempt, Claim, DeliveryFilter, DeliveryStatus, IdempotencyKey, KeyOwner, KeyedClaim,
    KeyedWrite, Store, StoreError, StoredResponse, StoredSigningKey,
};

crate::on_both_backends!(
    api_clients_are_found_by_id_and_revoked,
    access_tokens_are_found_by_digest_until_revoked,
    signing_keys_rotate_and_expire_from_the_ring,
    idempotency_keys_claim_replay_and_expire,
    a_keyed_write_keeps_its_writes_and_response_together_or_neither,
    a_retry_sent_while_a_keyed_write_runs_waits_and_replays_it,
    text_the_database_cannot_store_is_refused_not_a_failure,
    the_outbox_delivers_only_what_a_vendor_subscribed_to,
    price_list_terms_and_items_are_put_separately,
    campaign_lead_counts_are_visible_to_the_vendor_without_leads,
    a_partner_linked_later_gets_what_was_published_before,
    accepting_a_lead_after_the_link_ended_tells_the_vendor_nothing,
);

async fn api_clients_are_found_by_id_and_revoked(db: TestDb) {
    let v = vendor(&db.store, "Canon").await;
    let op = db.store.operator();
    let scopes = vec!["deals:read".to_owned(), "campaigns:write".to_owned()];
    let client = op
        .create_api_client(v, &name("CRM bridge"), "$argon2id$hash", &scopes)
        .await
        .unwrap();
    let found = db
        .store
        .system()
        .api_client(client.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.vendor_id, v);
    assert_eq!(found.scopes, scopes);
    assert_eq!(found.secret_hash, "$argon2id$hash");
    assert!(found.revoked_at.is_none());
    assert!(
        db.store
            .system()
            .api_client(ApiClientId::new())
            .await
            .unwrap()
            .is_none()
    );

    let revoked = op.revoke_api_client(client.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    // Revoking twice keeps the first time.
    let again = op.revoke_api_client(client.id).await.unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at);
    assert!(matches!(
        op.revoke_api_client(ApiClientId::new()).await,
        Err(StoreError::NotFound { .. })
    ));
    // A scope with a space would smuggle a second scope in.
    assert!(matches!(
        op.create_api_client(v, &name("Bad"), "h", &["deals:read campaigns:write".into()])
            .await,
        Err(StoreError::Rule(_))
    ));
    assert!(matches!(
        op.create_api_client(onepane_domain::VendorId::new(), &name("X"), "h", &scopes)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn access_tokens_are_found_by_digest_until_revoked(db: TestDb) {
    let ws = workspace(&db.store, "Acme Oy").await;
    let other = workspace(&db.store, "Other Oy").await;
    let op = db.store.operator();
    let owner = owner_email("Acme Oy");
    let token = op
        .create_access_token(ws, &owner, &name("Script"), b"digest-1")
        .await
        .unwrap();
    let found = db
        .store
        .system()
        .access_token(b"digest-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.workspace_id), (token.id, ws));
    assert!(
        db.store
            .system()
            .access_token(b"digest-2")
            .await
            .unwrap()
            .is_none()
    );
    // Presenting it notes the use.
    let again = db
        .store
        .system()
        .access_token(b"digest-1")
        .await
        .unwrap()
        .unwrap();
    assert!(again.last_used_at.is_some());
    // Only members get tokens, for their own workspace.
    assert!(matches!(
        op.create_access_token(other, &owner, &name("Script"), b"digest-3")
            .await,
        Err(StoreError::Rule(_))
    ));
    // The same digest twice is a conflict, not a second token.
    assert!(matches!(
        op.create_access_token(ws, &owner, &name("Again"), b"digest-1")
            .await,
        Err(StoreError::Conflict(_))
    ));
}

fn key(kid: &str, at: chrono::DateTime<Utc>) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.into(),
        algorithm: "EdDSA".into(),
        public_key: vec![kid.len() as u8; 32],
        sealed_private_key: vec![7; 57],
        created_at: at,
        retired_at: None,
    }
}

async fn signing_keys_rotate_and_expire_from_the_ring(db: TestDb) {
    let system = db.store.system();
    let t0 = Utc::now() - Duration::hours(2);
    assert!(
        system
            .insert_first_signing_key(&key("k1", t0))
            .await
            .unwrap()
    );
    // A second "first" key is not stored: one is live already.
    assert!(
        !system
            .insert_first_signing_key(&key("k2", t0))
            .await
            .unwrap()
    );
    let keys = system.signing_keys(t0 - Duration::hours(1)).await.unwrap();
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["k1"]
    );

    // Rotation retires k1 as of k3's creation; k3 comes first.
    let t1 = Utc::now() - Duration::minutes(10);
    db.store
        .operator()
        .rotate_signing_key(&key("k3", t1))
        .await
        .unwrap();
    let keys = system
        .signing_keys(t1 - Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["k3", "k1"]
    );
    assert!(keys[0].retired_at.is_none());
    assert!(keys[1].retired_at.is_some());
    // Once past the last token's lifetime, k1 is no longer needed.
    let keys = system
        .signing_keys(t1 + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["k3"]
    );
    assert!(matches!(
        db.store
            .operator()
            .rotate_signing_key(&key("k3", Utc::now()))
            .await,
        Err(StoreError::Conflict(_))
    ));
}

async fn idempotency_keys_claim_replay_and_expire(db: TestDb) {
    let ws = workspace(&db.store, "Acme Oy").await;
    let v = vendor(&db.store, "Canon").await;
    let k = IdempotencyKey {
        owner: KeyOwner::Workspace(ws),
        client: "token:1",
        key: "order-1",
    };
    assert_eq!(
        db.store.claim_idempotency_key(k, b"h1").await.unwrap(),
        Claim::Run
    );
    assert_eq!(
        db.store.claim_idempotency_key(k, b"h1").await.unwrap(),
        Claim::InFlight
    );
    assert_eq!(
        db.store.claim_idempotency_key(k, b"h2").await.unwrap(),
        Claim::Mismatch
    );
    let response = StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        body: br#"{"ok":true}"#.to_vec(),
    };
    db.store
        .complete_idempotency_key(k, &response)
        .await
        .unwrap();
    assert_eq!(
        db.store.claim_idempotency_key(k, b"h1").await.unwrap(),
        Claim::Replay(response.clone())
    );
    // Another client, another owner: independent keys.
    let other_client = IdempotencyKey {
        client: "token:2",
        ..k
    };
    assert_eq!(
        db.store
            .claim_idempotency_key(other_client, b"h9")
            .await
            .unwrap(),
        Claim::Run
    );
    let vendor_key = IdempotencyKey {
        owner: KeyOwner::Vendor(v),
        ..k
    };
    assert_eq!(
        db.store
            .claim_idempotency_key(vendor_key, b"h9")
            .await
            .unwrap(),
        Claim::Run
    );
    // Nothing is old enough to expire yet.
    assert_eq!(
        db.store.system().expire_idempotency_keys().await.unwrap(),
        0
    );
}

async fn keyed(store: &Store, key: IdempotencyKey<'_>, hash: &[u8]) -> KeyedWrite {
    match store.begin_keyed_write(key, hash).await.unwrap() {
        KeyedClaim::Run(write) => write,
        other => panic!("expected to run, found {other:?}"),
    }
}

async fn a_keyed_write_keeps_its_writes_and_response_together_or_neither(db: TestDb) {
    let (a, v) = linked(&db.store, "A Oy", "Canon", Tier::Gold).await;
    let s = db.store.vendor(v);
    let list = ExternalId::parse("eu").unwrap();
    let k = IdempotencyKey {
        owner: KeyOwner::Vendor(v),
        client: "client:1",
        key: "publish-1",
    };
    let response = StoredResponse {
        status: 200,
        content_type: Some("application/json".into()),
        body: br#"{"items":2}"#.to_vec(),
    };
    let items = [item("S-1", "10"), item("S-2", "12")];
    // Given up (the process died, or the handler failed): nothing it wrote
    // stays, and the key runs again.
    let write = keyed(&db.store, k, b"h1").await;
    write
        .run(async {
            s.put_price_list_terms(&list, &terms(Currency::EUR))
                .await
                .unwrap();
            s.put_price_list_items(&list, &items).await.unwrap();
            // Inside the write, its own units see what it wrote.
            assert_eq!(s.price_list_items(&list, None, 10).await.unwrap().len(), 2);
        })
        .await;
    write.abandon();
    assert!(s.price_lists().await.unwrap().is_empty());
    // Run again and kept: the writes and the response commit together. A
    // unit that failed on the way (a duplicate SKU: an error in the
    // database) is undone alone.
    let write = keyed(&db.store, k, b"h1").await;
    write
        .run(async {
            s.put_price_list_terms(&list, &terms(Currency::EUR))
                .await
                .unwrap();
            let dup = [item("D-1", "1"), item("D-1", "2")];
            assert!(matches!(
                s.put_price_list_items(&list, &dup).await,
                Err(StoreError::Conflict(_))
            ));
            s.put_price_list_items(&list, &items).await.unwrap();
        })
        .await;
    // Not yet committed: nobody else sees it.
    assert!(
        db.store
            .partner(a)
            .pricing()
            .await
            .unwrap()
            .items
            .is_empty()
    );
    write.complete(&response).await.unwrap();
    let data = db.store.partner(a).pricing().await.unwrap();
    assert_eq!((data.lists.len(), data.items.len()), (1, 2));
    // A retry replays; the same key with another request is refused.
    assert!(matches!(
        db.store.begin_keyed_write(k, b"h1").await.unwrap(),
        KeyedClaim::Replay(r) if r == response
    ));
    assert!(matches!(
        db.store.begin_keyed_write(k, b"h2").await.unwrap(),
        KeyedClaim::Mismatch
    ));
    // Outside a keyed write, units are transactions of their own again.
    s.put_price_list_items(&list, &[item("S-3", "1")])
        .await
        .unwrap();
    assert_eq!(db.store.partner(a).pricing().await.unwrap().items.len(), 1);
}

async fn a_retry_sent_while_a_keyed_write_runs_waits_and_replays_it(db: TestDb) {
    let ws = workspace(&db.store, "Acme Oy").await;
    let k = IdempotencyKey {
        owner: KeyOwner::Workspace(ws),
        client: "token:1",
        key: "order-1",
    };
    let response = StoredResponse {
        status: 201,
        content_type: None,
        body: b"first".to_vec(),
    };
    let first = keyed(&db.store, k, b"h1").await;
    let store = db.store.clone();
    let retry = tokio::spawn(async move {
        let k = IdempotencyKey {
            owner: KeyOwner::Workspace(ws),
            client: "token:1",
            key: "order-1",
        };
        match store.begin_keyed_write(k, b"h1").await {
            Ok(KeyedClaim::Replay(r)) => Ok(r),
            other => Err(format!("{other:?}")),
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!retry.is_finished(), "the retry did not wait for the first");
    first.complete(&response).await.unwrap();
    assert_eq!(retry.await.unwrap(), Ok(response));
}

/// The server refuses NUL before the store; a path it missed still gets a
/// refusal (a rule broken), not a database failure: PostgreSQL stores no
/// NUL in text, SQLite does.
async fn text_the_database_cannot_store_is_refused_not_a_failure(db: TestDb) {
    let ws = workspace(&db.store, "Acme Oy").await;
    let filter = onepane_store::LeadFilter {
        text: Some("a\0b".into()),
        ..Default::default()
    };
    let found = db
        .store
        .partner(ws)
        .leads(&filter, onepane_store::Page::default())
        .await;
    match db.store.backend() {
        "postgres" => assert!(
            matches!(&found, Err(StoreError::Rule(m)) if m.contains("NUL")),
            "{found:?}"
        ),
        _ => assert!(found.is_ok_and(|l| l.is_empty())),
    }
}

async fn the_outbox_delivers_only_what_a_vendor_subscribed_to(db: TestDb) {
    let (ws, v1) = linked(&db.store, "Acme Oy", "Canon", Tier::Gold).await;
    let v2 = vendor(&db.store, "HP").await;
    link(&db.store, ws, v2, Tier::Gold).await;
    db.store
        .vendor(v1)
        .put_webhook(
            "https://hooks.example/in",
            &[WebhookEvent::DealRegistrationSubmitted],
            Some(b"sealed"),
        )
        .await
        .unwrap();
    // Updating without a new secret keeps the old one; without any, refused.
    db.store
        .vendor(v1)
        .put_webhook(
            "https://hooks.example/v2",
            &[WebhookEvent::DealRegistrationSubmitted],
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        db.store
            .vendor(v2)
            .put_webhook("https://x.example", &[WebhookEvent::LeadAccepted], None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // One multi-vendor registration: an event for each vendor.
    let regs = db
        .store
        .partner(ws)
        .register_deals(&[v1, v2], &deal("Big deal"), None, None)
        .await
        .unwrap();
    assert_eq!(regs.len(), 2);

    let due = db
        .store
        .system()
        .claim_due_deliveries(10, Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(
        due.len(),
        1,
        "vendor two is not subscribed: its event is dropped"
    );
    let d = &due[0];
    assert_eq!(
        (d.delivery.vendor_id, d.url.as_str()),
        (v1, "https://hooks.example/v2")
    );
    assert_eq!(d.sealed_secret, b"sealed");
    assert_eq!(d.delivery.event, WebhookEvent::DealRegistrationSubmitted);
    assert_eq!(d.delivery.payload["data"]["id"], regs[0].id.to_string());
    // Leased: not due again at once.
    assert!(
        db.store
            .system()
            .claim_due_deliveries(10, Duration::seconds(30))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.store
            .vendor(v2)
            .webhook_deliveries(DeliveryFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );

    // It fails for good, is dead, and comes back on request.
    let id = d.delivery.id;
    db.store
        .system()
        .record_attempt(
            v1,
            id,
            &Attempt::Failed {
                status: Some(500),
                error: "the receiver answered 500".into(),
                retry_at: None,
            },
        )
        .await
        .unwrap();
    let log = db
        .store
        .vendor(v1)
        .webhook_deliveries(DeliveryFilter {
            status: Some(DeliveryStatus::Dead),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].attempts, log[0].last_response_status),
        (1, Some(500))
    );
    // Another vendor cannot touch it.
    assert!(matches!(
        db.store.vendor(v2).redeliver(id).await,
        Err(StoreError::NotFound { .. })
    ));
    let back = db.store.vendor(v1).redeliver(id).await.unwrap();
    assert_eq!(back.status, DeliveryStatus::Pending);
    assert!(matches!(
        db.store.vendor(v1).redeliver(id).await,
        Err(StoreError::Rule(_))
    ));
    let due = db
        .store
        .system()
        .claim_due_deliveries(10, Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    db.store
        .system()
        .record_attempt(v1, id, &Attempt::Delivered { status: 204 })
        .await
        .unwrap();
    let done = db.store.vendor(v1).webhook_delivery(id).await.unwrap();
    assert_eq!(done.status, DeliveryStatus::Delivered);
    assert!(done.delivered_at.is_some());
    assert!(matches!(
        db.store
            .vendor(v1)
            .webhook_delivery(WebhookDeliveryId::new())
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn price_list_terms_and_items_are_put_separately(db: TestDb) {
    let (a, b) = (
        workspace(&db.store, "A Oy").await,
        workspace(&db.store, "B Oy").await,
    );
    let v = vendor(&db.store, "Canon").await;
    link(&db.store, a, v, Tier::Gold).await;
    link(&db.store, b, v, Tier::Silver).await;
    let s = db.store.vendor(v);
    let list = ExternalId::parse("eu").unwrap();
    // Items for a list that does not exist: not found.
    assert!(matches!(
        s.put_price_list_items(&list, &[item("A-1", "10")]).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        s.put_price_list_terms(&list, &terms(Currency::EUR))
            .await
            .unwrap()
            .external_id,
        list
    );
    let items: Vec<_> = (0..25)
        .map(|i| item(&format!("S-{i:02}"), "10.50"))
        .collect();
    assert_eq!(s.put_price_list_items(&list, &items).await.unwrap(), 25);
    // New terms keep the items and re-denominate them.
    s.put_price_list_terms(&list, &terms(Currency::USD))
        .await
        .unwrap();
    let page = s.price_list_items(&list, None, 10).await.unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.iter().all(|i| i.currency == Currency::USD));
    let next = s
        .price_list_items(&list, Some(page[9].item.sku.as_str()), 100)
        .await
        .unwrap();
    assert_eq!(next.len(), 15);
    assert_eq!(next[0].item.sku.as_str(), "S-10");
    // One list per external id, stored once for both partners.
    assert_eq!(s.price_lists().await.unwrap().len(), 1);
    // A duplicate SKU leaves the list as it was.
    let dup = [item("D-1", "1"), item("D-1", "2")];
    assert!(matches!(
        s.put_price_list_items(&list, &dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.price_list_items(&list, None, 100).await.unwrap().len(),
        25
    );
    // The partner prices what it holds.
    let data = db.store.partner(a).pricing().await.unwrap();
    assert_eq!((data.lists.len(), data.items.len()), (1, 25));
    assert_eq!(data.tiers.get(&v), Some(&Tier::Gold));
}

async fn campaign_lead_counts_are_visible_to_the_vendor_without_leads(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme Oy", "Canon", Tier::Gold).await;
    let ext = ExternalId::parse("spring").unwrap();
    db.store
        .vendor(v)
        .publish_campaign(&ext, &campaign("Spring", &[]))
        .await
        .unwrap();
    let p = db.store.partner(ws);
    let c = p.campaigns().await.unwrap().remove(0);
    let act = p.activate_campaign(c.id, None).await.unwrap();
    for n in ["Ann", "Bob"] {
        p.capture_campaign_lead(&NewCampaignLead {
            activation_id: act.id,
            contact: contact(n),
            company: None,
            message: None,
            consent: ConsentAnswer::NotAsked,
        })
        .await
        .unwrap();
    }
    assert_eq!(
        db.store.vendor(v).campaign_counts(&ext).await.unwrap(),
        (1, 2),
        "one activation, two leads"
    );
    // The count is all it gets: the landing-page leads are the partner's.
    assert!(db.store.vendor(v).leads().await.unwrap().is_empty());
}

async fn a_partner_linked_later_gets_what_was_published_before(db: TestDb) {
    let (first, late) = (
        workspace(&db.store, "First Oy").await,
        workspace(&db.store, "Late Oy").await,
    );
    let v = vendor(&db.store, "Canon").await;
    link(&db.store, first, v, Tier::Gold).await;
    let s = db.store.vendor(v);
    s.publish_campaign(&ext("spring"), &campaign("Spring", &[Tier::Gold]))
        .await
        .unwrap();
    s.publish_campaign(&ext("old"), &campaign("Old", &[]))
        .await
        .unwrap();
    s.archive_campaign(&ext("old")).await.unwrap();
    s.publish_asset(&ext("deck"), &asset("Deck")).await.unwrap();
    s.publish_price_list(
        &ext("eu"),
        &terms(Currency::EUR),
        &[item("A-1", "10"), item("A-2", "20")],
    )
    .await
    .unwrap();
    // The partners linked when it was published are told, after the fact.
    assert_eq!(db.store.system().announce_all().await.unwrap(), 1);
    let store = &db.store;
    let told = |ws| async move {
        store
            .partner(ws)
            .notifications(true)
            .await
            .unwrap()
            .iter()
            .filter(|n| n.kind == onepane_domain::activity::NotificationKind::NewCampaign)
            .count()
    };
    assert_eq!(told(first).await, 1);
    // Not linked yet: it sees none of it.
    let p = db.store.partner(late);
    assert!(p.campaigns().await.unwrap().is_empty());
    assert!(p.pricing().await.unwrap().items.is_empty());

    // Linking is all it takes: nothing is copied.
    link(&db.store, late, v, Tier::Gold).await;
    let campaigns = p.campaigns().await.unwrap();
    assert_eq!(campaigns.len(), 1, "the archived campaign stays behind");
    assert_eq!(campaigns[0].external_id.as_str(), "spring");
    assert_eq!(campaigns[0].workspace_id, late);
    assert_eq!(p.assets().await.unwrap().len(), 1);
    let data = p.pricing().await.unwrap();
    assert_eq!((data.lists.len(), data.items.len()), (1, 2));
    // Both partners see the same campaign, by the same id.
    let first_sees = db.store.partner(first).campaigns().await.unwrap();
    assert_eq!(first_sees[0].id, campaigns[0].id);
    // Announcements were for the partners of the day.
    assert_eq!(db.store.system().announce_all().await.unwrap(), 0);
    assert_eq!(told(late).await, 0);
}

async fn accepting_a_lead_after_the_link_ended_tells_the_vendor_nothing(db: TestDb) {
    let (ws, v) = linked(&db.store, "Acme Oy", "Canon", Tier::Gold).await;
    let live = vendor(&db.store, "HP").await;
    link(&db.store, ws, live, Tier::Gold).await;
    let ended = db
        .store
        .vendor(v)
        .send_lead(ws, &vendor_lead("L-1", "Ann"))
        .await
        .unwrap();
    let current = db
        .store
        .vendor(live)
        .send_lead(ws, &vendor_lead("L-2", "Bob"))
        .await
        .unwrap();
    for vendor in [v, live] {
        db.store
            .vendor(vendor)
            .put_webhook(
                "https://hooks.example/in",
                &[WebhookEvent::LeadAccepted],
                Some(b"sealed"),
            )
            .await
            .unwrap();
    }
    db.store
        .operator()
        .set_link_status(ws, v, onepane_domain::LinkStatus::Ended)
        .await
        .unwrap();
    let p = db.store.partner(ws);
    p.set_lead_status(ended.id, onepane_domain::lead::LeadStatus::Accepted)
        .await
        .unwrap();
    p.set_lead_status(current.id, onepane_domain::lead::LeadStatus::Accepted)
        .await
        .unwrap();
    let due = db
        .store
        .system()
        .claim_due_deliveries(10, Duration::seconds(30))
        .await
        .unwrap();
    let vendors: Vec<_> = due.iter().map(|d| d.delivery.vendor_id).collect();
    assert_eq!(vendors, [live], "only the linked vendor hears of it");
}
