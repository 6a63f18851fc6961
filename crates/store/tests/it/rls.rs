//! PostgreSQL's row-level security, attacked directly with SQL as the server
//! role: the second line of defence must hold even when the store's own
//! WHERE clauses are bypassed.

use onepane_domain::activity::WebhookEvent;
use onepane_domain::deal::DealDecision;
use onepane_domain::lead::{ConsentAnswer, NewCampaignLead, NewManualLead};
use onepane_domain::program::Tier;
use onepane_domain::text::Email;
use onepane_domain::text::LongText;
use onepane_store::testing::content::*;
use onepane_store::testing::tenants::*;
use onepane_store::testing::{TEST_OWNER_ROLE, TEST_SERVER_ROLE, TestDb, probe_unscoped};
use onepane_store::{
    DatabaseUrl, IdempotencyKey, KeyOwner, LeadFilter, Page, Store, StoreOptions, StoredSigningKey,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool, Row};

/// Two partners and two vendors with rows of every kind.
async fn populate(store: &Store) -> Tenants {
    let tenants = Tenants::create(store).await;
    let Tenants { a, b, v1, v2 } = tenants;
    for v in [v1, v2] {
        let s = store.vendor(v);
        s.publish_campaign(&ext("camp"), &campaign("Camp", &[]))
            .await
            .unwrap();
        s.publish_asset(&ext("asset"), &asset("Deck"))
            .await
            .unwrap();
        s.publish_price_list(
            &ext("list"),
            &terms(onepane_domain::Currency::EUR),
            &[item("S-1", "9.99")],
        )
        .await
        .unwrap();
    }
    for (ws, v) in tenants.links() {
        store
            .vendor(v)
            .send_lead(ws, &vendor_lead("L", "Sent Lead"))
            .await
            .unwrap();
        let p = store.partner(ws);
        let c = p
            .campaigns()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.vendor_id == v)
            .unwrap();
        p.activate_campaign(c.id, None).await.unwrap();
        let lead = p
            .create_manual_lead(&NewManualLead {
                vendor_id: Some(v),
                contact: contact("Own Lead"),
                company: None,
                message: None,
            })
            .await
            .unwrap();
        let reg = p
            .register_deal(v, &deal("Deal"), Some(lead.id), None)
            .await
            .unwrap();
        // A vendor with no system: registrations mailed to its contact,
        // decided by a link.
        p.set_vendor_contact(
            v,
            Some(&Email::parse("channel@vendor.example").unwrap()),
            None,
        )
        .await
        .unwrap();
        // A member's calendar feed.
        let owner = p.members().await.unwrap()[0].user_id;
        let mut feed = [9u8; 32];
        feed[..16].copy_from_slice(reg.id.as_uuid().as_bytes());
        p.reset_calendar_feed(owner, &feed).await.unwrap();
        // The member's mail choices, and a digest claimed for it.
        p.set_mail_settings(
            owner,
            &onepane_store::MailSettings {
                preferences: onepane_domain::mail::MailPreferences {
                    daily_digest: true,
                    urgent_leads: true,
                },
                time_zone: Some("Europe/Helsinki".parse().unwrap()),
            },
        )
        .await
        .unwrap();
        store
            .system()
            .claim_mail(
                ws,
                owner,
                onepane_domain::mail::MailKind::Digest,
                &v.to_string(),
            )
            .await
            .unwrap();
        let mut digest = [7u8; 32];
        digest[..16].copy_from_slice(reg.id.as_uuid().as_bytes());
        store
            .system()
            .create_decision_links(
                ws,
                reg.id,
                v,
                &[(onepane_domain::delivery::LinkDecision::Approve, digest)],
                chrono::Utc::now() + chrono::Duration::days(1),
            )
            .await
            .unwrap();
        p.create_manual_lead(&NewManualLead {
            vendor_id: Some(v),
            contact: contact("Private Lead"),
            company: None,
            message: None,
        })
        .await
        .unwrap();
        p.put_sell_rule(
            &Default::default(),
            onepane_domain::price::SellMethod::DiscountOffList(
                onepane_domain::price::Percent::ZERO,
            ),
        )
        .await
        .unwrap();
        p.put_exchange_rate(
            &onepane_domain::price::ExchangeRate::new(
                onepane_domain::Currency::USD,
                onepane_domain::Currency::EUR,
                "0.9".parse().unwrap(),
                "2026-11-01".parse().unwrap(),
            )
            .unwrap(),
        )
        .await
        .unwrap();
        p.create_connection(&crm_sink("webhook", "Hook"))
            .await
            .unwrap();
        // A person erased: the CRM sink still has to delete them.
        p.create_manual_lead(&NewManualLead {
            vendor_id: None,
            contact: contact("Erased Person"),
            company: None,
            message: None,
        })
        .await
        .unwrap();
        let owner = p.members().await.unwrap()[0].user_id;
        p.erase_person(&"erased.person@customer.example".parse().unwrap(), owner)
            .await
            .unwrap();
        // The workspace's uploaded logo.
        p.put_logo(
            onepane_store::LogoType::Png,
            b"\x89PNG\r\n\x1a\nlogo",
            &[5; 32],
        )
        .await
        .unwrap();
    }
    // Each vendor's logo.
    for v in [v1, v2] {
        store
            .vendor(v)
            .set_logo_url(Some(&format!("https://{v}.vendor.example/logo.svg")))
            .await
            .unwrap();
    }
    for reg in store
        .vendor(v1)
        .deal_registrations(None)
        .await
        .unwrap()
        .into_iter()
        .take(1)
    {
        store
            .vendor(v1)
            .decide(
                reg.id,
                DealDecision::Rejected {
                    reason: LongText::parse("conflict").unwrap(),
                },
            )
            .await
            .unwrap();
    }
    // API access: clients, tokens, a signing key, idempotency records and
    // webhook subscriptions, so every table has rows to attack.
    for (v, n) in [(v1, "1"), (v2, "2")] {
        store
            .operator()
            .create_api_client(
                v,
                &name(&format!("Client {n}")),
                "$argon2id$stub",
                &["deals:read".into()],
            )
            .await
            .unwrap();
        store
            .vendor(v)
            .put_webhook(
                "https://hooks.example/in",
                &[WebhookEvent::DealRegistrationSubmitted],
                Some(b"sealed"),
            )
            .await
            .unwrap();
    }
    for (ws, n) in [(a, "partner-a"), (b, "partner-b")] {
        store
            .operator()
            .create_access_token(
                ws,
                &Email::parse(&format!("owner@{n}.example")).unwrap(),
                &name("Script"),
                n.as_bytes(),
            )
            .await
            .unwrap();
    }
    store
        .system()
        .insert_first_signing_key(&StoredSigningKey {
            kid: "kid-1".into(),
            algorithm: "EdDSA".into(),
            public_key: vec![1; 32],
            sealed_private_key: vec![2; 40],
            created_at: chrono::Utc::now(),
            retired_at: None,
        })
        .await
        .unwrap();
    for ws in [a, b] {
        let connection = store.partner(ws).connections().await.unwrap().remove(0);
        store
            .system()
            .enqueue_job(ws, connection.id, "push", chrono::Utc::now(), 3)
            .await
            .unwrap();
    }
    // Sync state: a source's sealed credentials, a page of it, a run, and
    // an authorization under way.
    for (ws, v) in [(a, v1), (b, v2)] {
        let p = store.partner(ws);
        let id = onepane_domain::ConnectionId::new();
        p.create_connection_with(
            id,
            &vendor_source(v, "Source"),
            &[("credentials", b"sealed".to_vec())],
        )
        .await
        .unwrap();
        let link = p
            .vendors()
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.vendor.id == v)
            .unwrap();
        let tier = onepane_domain::record::Record::Tier(link.link.tier);
        store
            .vendor(v)
            .apply_page(
                ws,
                id,
                &onepane_store::PageWrite {
                    stream: onepane_domain::record::Stream::Tier,
                    pass_id: uuid::Uuid::now_v7(),
                    records: vec![("tier".into(), vec![1; 32], &tier)],
                    next: None,
                    pass_max: None,
                    // A page's fingerprint, so the attack has one to find.
                    seen_page: Some((
                        "[null,null]".into(),
                        Some(onepane_domain::record::SeenPage {
                            fingerprint: vec![1; 16],
                            records: 1,
                            ..Default::default()
                        }),
                    )),
                },
            )
            .await
            .unwrap();
        // What the partner's own connection pulled from the vendor's
        // system: kept per workspace.
        let pulled = [
            (
                onepane_domain::record::Stream::Campaigns,
                "pulled",
                onepane_domain::record::Record::Campaign {
                    external_id: ext("pulled"),
                    content: campaign("Pulled", &[]),
                },
            ),
            (
                onepane_domain::record::Stream::Assets,
                "pulled",
                onepane_domain::record::Record::Asset {
                    external_id: ext("pulled"),
                    content: asset("Pulled deck"),
                },
            ),
            (
                onepane_domain::record::Stream::PriceLists,
                "pulled",
                onepane_domain::record::Record::PriceList {
                    external_id: ext("pulled"),
                    terms: terms(onepane_domain::Currency::EUR),
                },
            ),
            (
                onepane_domain::record::Stream::PriceItems,
                "pulled P-1",
                onepane_domain::record::Record::PriceItem {
                    price_list: ext("pulled"),
                    item: item("P-1", "1.00"),
                },
            ),
        ];
        for (stream, key, record) in &pulled {
            store
                .vendor(v)
                .apply_page(
                    ws,
                    id,
                    &onepane_store::PageWrite {
                        stream: *stream,
                        pass_id: uuid::Uuid::now_v7(),
                        records: vec![((*key).into(), vec![2; 32], record)],
                        next: None,
                        pass_max: None,
                        seen_page: None,
                    },
                )
                .await
                .unwrap();
        }
        store
            .system()
            .start_run(ws, id, None, "sync")
            .await
            .unwrap();
        p.start_oauth(
            id,
            format!("digest-{ws}").as_bytes(),
            b"sealed",
            "https://onepane.example/oauth/connections/callback",
            chrono::Utc::now() + chrono::Duration::minutes(10),
        )
        .await
        .unwrap();
    }
    // The portal's accounts: a password, a session, a throttled failure,
    // a reset link, an invitation and a landing-page profile per workspace.
    for ws in [a, b] {
        let p = store.partner(ws);
        let member = p.members().await.unwrap().remove(0);
        let system = store.system();
        system
            .set_password(member.user_id, "$argon2id$stub")
            .await
            .unwrap();
        let digest = format!("session-{ws}");
        system
            .create_session(&onepane_store::NewWebSession {
                digest: digest.as_bytes(),
                user_id: member.user_id,
                workspace_id: ws,
                csrf: "csrf",
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
            })
            .await
            .unwrap();
        system
            .throttle_record(
                &[&format!("login:account:{}", member.email)],
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        system
            .create_password_reset(
                &member.email,
                format!("reset-{ws}").as_bytes(),
                chrono::Utc::now() + chrono::Duration::hours(1),
            )
            .await
            .unwrap();
        p.invite(
            &member.email,
            onepane_domain::Role::SalesRep,
            format!("invite-{ws}").as_bytes(),
            Some(member.user_id),
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
        p.put_profile(&onepane_store::WorkspaceProfile {
            contact_name: Some("Contact".into()),
            privacy_notice_url: Some("https://partner.example/privacy".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    // What each vendor asks for on a deal registration.
    for v in [v1, v2] {
        store
            .vendor(v)
            .put_deal_fields(&[onepane_domain::deal::DealFieldSpec {
                name: "reseller_id".into(),
                label: "Reseller id".parse().unwrap(),
                required: false,
            }])
            .await
            .unwrap();
    }
    // Single sign-on: each partner's provider, and a sign-in under way.
    for (ws, domain) in [(a, "partner-a.example"), (b, "partner-b.example")] {
        store
            .partner(ws)
            .put_sso_config(&onepane_store::SsoConfigUpdate {
                issuer: "https://idp.example",
                client_id: "onepane",
                sealed_client_secret: Some(b"sealed"),
                email_domain: &domain.parse().unwrap(),
                enabled: true,
            })
            .await
            .unwrap();
        store
            .system()
            .start_sso_login(&onepane_store::NewSsoLogin {
                workspace_id: ws,
                state_digest: format!("state-{ws}").as_bytes(),
                nonce_digest: b"nonce",
                sealed_verifier: b"sealed",
                browser_digest: b"browser",
                next: "/",
                expires_at: chrono::Utc::now() + chrono::Duration::minutes(10),
            })
            .await
            .unwrap();
    }
    for (owner, client) in [
        (KeyOwner::Workspace(a), "token:a"),
        (KeyOwner::Vendor(v1), "client:1"),
    ] {
        let key = IdempotencyKey {
            owner,
            client,
            key: "k-1",
        };
        store.claim_idempotency_key(key, b"hash").await.unwrap();
    }
    // Each partner's owner rates each of its vendors this quarter.
    let quarter = onepane_domain::scorecard::Quarter::of(chrono::Utc::now().date_naive());
    for (ws, v) in tenants.links() {
        let p = store.partner(ws);
        let owner = p.members().await.unwrap()[0].user_id;
        p.rate_vendor(
            owner,
            v,
            quarter,
            &[onepane_store::Rating {
                area: onepane_domain::scorecard::ExperienceArea::Support,
                score: 4,
                note: Some("Answers fast".into()),
            }],
        )
        .await
        .unwrap();
    }
    tenants
}

async fn pool_as(db: &TestDb, role: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.postgres_url_as(role).unwrap())
        .await
        .unwrap()
}

async fn tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn has_column(pool: &PgPool, table: &str, column: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2)",
    )
    .bind(table)
    .bind(column)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A transaction as the server role, scoped to (workspace, vendor) the way
/// the store scopes one.
async fn scoped(pool: &PgPool, scope: (&str, &str)) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('onepane.workspace_id', $1, true), set_config('onepane.vendor_id', $2, true)")
        .bind(scope.0)
        .bind(scope.1)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Counts rows of `table` matching `filter`, inside a transaction with the given scope settings.
async fn count_in_scope(pool: &PgPool, scope: (&str, &str), table: &str, filter: &str) -> i64 {
    let mut tx = scoped(pool, scope).await;
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {filter}"))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

#[tokio::test]
async fn server_role_with_no_scope_sees_no_rows_at_all() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    populate(&db.store).await;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.postgres_superuser_url().unwrap())
        .await
        .unwrap();
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let owner = pool_as(&db, TEST_OWNER_ROLE).await;
    let all = tables(&server).await;
    assert!(all.len() >= 17, "{all:?}");
    for t in &all {
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
            .fetch_one(&admin)
            .await
            .unwrap();
        assert!(total > 0, "the attack needs data: {t} is empty");
        for (who, pool) in [("server", &server), ("owner", &owner)] {
            let seen: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(
                seen, 0,
                "the {who} role without a scope sees {seen} of {total} rows in {t}"
            );
        }
    }
}

#[tokio::test]
async fn another_tenants_scope_sees_zero_foreign_rows() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1, v2) = (
        w.a.to_string(),
        w.b.to_string(),
        w.v1.to_string(),
        w.v2.to_string(),
    );
    for t in tables(&server).await {
        if has_column(&server, &t, "workspace_id").await {
            // Partner B, scoped in, asks for partner A's rows by id.
            assert_eq!(
                count_in_scope(&server, (&b, ""), &t, &format!("workspace_id = '{a}'")).await,
                0,
                "partner B reads A's {t}"
            );
            // Vendor two is not linked to A at all.
            assert_eq!(
                count_in_scope(&server, ("", &v2), &t, &format!("workspace_id = '{a}'")).await,
                0,
                "vendor 2 reads A's {t}"
            );
        }
        if has_column(&server, &t, "vendor_id").await {
            // Vendor two asks for vendor one's rows, even in the shared workspace B.
            assert_eq!(
                count_in_scope(&server, ("", &v2), &t, &format!("vendor_id = '{v1}'")).await,
                0,
                "vendor 2 reads vendor 1's {t}"
            );
        }
    }
    // The checks above can fail: scoped, each tenant sees its own rows.
    assert!(count_in_scope(&server, (&a, ""), "leads", "true").await >= 3);
    assert_eq!(
        count_in_scope(&server, ("", &v1), "vendors", "true").await,
        1,
        "a vendor sees itself only"
    );
    assert_eq!(
        count_in_scope(&server, ("", &v2), "vendor_links", "true").await,
        1,
        "a vendor never learns the partner's other vendors"
    );
    assert_eq!(
        count_in_scope(&server, ("", &v2), "workspaces", "true").await,
        1
    );
    // Vendor one sees the lead it sent and the one shared by a deal, per workspace; never the private one.
    assert_eq!(count_in_scope(&server, ("", &v1), "leads", "true").await, 4);
    assert_eq!(
        count_in_scope(
            &server,
            ("", &v1),
            "leads",
            "contact->>'name' = 'Private Lead'"
        )
        .await,
        0
    );
    assert_eq!(
        count_in_scope(&server, ("", &v1), "deal_registrations", "true").await,
        2
    );
    // Credentials and webhooks: each side its own, the partner none of the vendor's.
    for (scope, table, expected) in [
        (("", v1.as_str()), "api_clients", 1),
        (("", v1.as_str()), "webhook_subscriptions", 1),
        // Two deals registered and two campaigns activated with vendor one.
        (("", v1.as_str()), "webhook_deliveries", 4),
        (("", v1.as_str()), "idempotency_keys", 1),
        (("", v1.as_str()), "access_tokens", 0),
        (("", v1.as_str()), "signing_keys", 0),
        ((a.as_str(), ""), "access_tokens", 1),
        ((a.as_str(), ""), "idempotency_keys", 1),
        ((a.as_str(), ""), "api_clients", 0),
        ((a.as_str(), ""), "webhook_subscriptions", 0),
        ((a.as_str(), ""), "webhook_deliveries", 0),
        ((a.as_str(), ""), "signing_keys", 0),
        ((b.as_str(), ""), "idempotency_keys", 0),
        (("", v2.as_str()), "idempotency_keys", 0),
        // A partner keeps its own single sign-on; sign-ins under way are
        // the system's.
        ((a.as_str(), ""), "sso_configs", 1),
        ((a.as_str(), ""), "sso_logins", 0),
        (("", v1.as_str()), "sso_configs", 0),
        (("", v1.as_str()), "sso_logins", 0),
    ] {
        assert_eq!(
            count_in_scope(&server, scope, table, "true").await,
            expected,
            "{scope:?} sees the wrong number of {table}"
        );
    }
    // Writes across the line: an event for a vendor the partner is not
    // linked to, another vendor's deliveries, keys, clients and tokens.
    let attacks = [
        (
            (a.as_str(), ""),
            format!(
                "INSERT INTO webhook_deliveries (vendor_id, id, event, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ('{v2}', gen_random_uuid(), 'lead.accepted', '{{}}', 'pending', 0, now(), now())"
            ),
        ),
        (
            ("", v2.as_str()),
            format!("UPDATE webhook_deliveries SET status = 'pending' WHERE vendor_id = '{v1}'"),
        ),
        (
            ("", v2.as_str()),
            format!("DELETE FROM webhook_subscriptions WHERE vendor_id = '{v1}'"),
        ),
        (
            ("", v2.as_str()),
            format!("UPDATE api_clients SET scopes = 'x' WHERE vendor_id = '{v1}'"),
        ),
        ((a.as_str(), ""), "DELETE FROM signing_keys".to_owned()),
        (
            (a.as_str(), ""),
            format!("DELETE FROM access_tokens WHERE workspace_id = '{b}'"),
        ),
        ((b.as_str(), ""), "DELETE FROM idempotency_keys".to_owned()),
        (
            ("", v1.as_str()),
            "UPDATE access_tokens SET revoked_at = now()".to_owned(),
        ),
        // Another partner's sign-in provider, or a sign-in made up.
        (
            (a.as_str(), ""),
            format!(
                "UPDATE sso_configs SET issuer = 'https://evil.example' WHERE workspace_id = '{b}'"
            ),
        ),
        (
            (a.as_str(), ""),
            format!(
                "INSERT INTO sso_configs (workspace_id, issuer, client_id, sealed_client_secret, email_domain, enabled, updated_at) \
                 VALUES ('{b}', 'https://evil.example', 'x', '\\x00', 'evil.example', true, now()) \
                 ON CONFLICT (workspace_id) DO UPDATE SET issuer = excluded.issuer"
            ),
        ),
        (
            (a.as_str(), ""),
            format!(
                "INSERT INTO sso_logins (workspace_id, state_digest, nonce_digest, sealed_verifier, browser_digest, next, expires_at, created_at) \
                 VALUES ('{a}', '\\x01', '\\x01', '\\x01', '\\x01', '/', now() + interval '1 hour', now())"
            ),
        ),
        ((a.as_str(), ""), "DELETE FROM sso_logins".to_owned()),
    ];
    for (scope, sql) in &attacks {
        blocked(sql, as_scope(&server, *scope, sql).await);
    }
    for private in [
        "sell_rules",
        "exchange_rates",
        "connections",
        "notifications",
        "audit_events",
        "memberships",
    ] {
        assert_eq!(
            count_in_scope(&server, ("", &v1), private, "true").await,
            0,
            "a vendor reads the partner's {private}"
        );
    }
}

#[tokio::test]
async fn writes_outside_the_scope_are_refused() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1, v2) = (
        w.a.to_string(),
        w.b.to_string(),
        w.v1.to_string(),
        w.v2.to_string(),
    );
    let new_id = uuid::Uuid::now_v7();
    let lead = |ws: &str, v: &str, source: &str| {
        format!(
            "INSERT INTO leads (workspace_id, id, vendor_id, source, status, search_text, contact, created_at, updated_at) \
         VALUES ('{ws}', '{new_id}', '{v}', '{source}', 'new', 'injected', '{{\"name\": \"Injected\"}}', now(), now())"
        )
    };
    let refused = |r: Result<u64, sqlx::Error>, what: &str| {
        let e = r.expect_err(what);
        let e = e.to_string();
        assert!(
            e.contains("row-level security") || e.contains("onepane: "),
            "{what}: refused for the wrong reason: {e}"
        );
    };
    refused(
        as_scope(&server, (&b, ""), &lead(&a, &v1, "manual")).await,
        "partner B inserts into A",
    );
    refused(
        as_scope(&server, ("", &v2), &lead(&a, &v2, "vendor")).await,
        "vendor 2 sends to unlinked A",
    );
    refused(
        as_scope(&server, ("", &v2), &lead(&b, &v1, "vendor")).await,
        "vendor 2 sends as vendor 1",
    );
    refused(
        as_scope(&server, ("", &v1), &lead(&a, &v1, "manual")).await,
        "vendor 1 forges a partner lead",
    );
    refused(
        as_scope(
            &server,
            (&b, ""),
            &format!("UPDATE leads SET workspace_id = '{a}' WHERE workspace_id = '{b}'"),
        )
        .await,
        "partner B moves rows into A",
    );
    let (partner_b, vendor_1, vendor_2) = ((b.as_str(), ""), ("", v1.as_str()), ("", v2.as_str()));
    for (scope, sql) in [
        (
            partner_b,
            format!("UPDATE leads SET status = 'lost' WHERE workspace_id = '{a}'"),
        ),
        (
            partner_b,
            format!("DELETE FROM leads WHERE workspace_id = '{a}'"),
        ),
        (
            vendor_2,
            format!("UPDATE deal_registrations SET status = 'approved' WHERE vendor_id = '{v1}'"),
        ),
        (
            vendor_2,
            format!("DELETE FROM campaigns WHERE vendor_id = '{v1}'"),
        ),
        (
            vendor_1,
            "UPDATE leads SET status = 'lost' WHERE contact->>'name' = 'Private Lead'".to_owned(),
        ),
    ] {
        let n = as_scope(&server, scope, &sql).await.unwrap();
        assert_eq!(n, 0, "{sql}");
    }
    // Tiers are the vendor's to set, not the partner's: the partner may
    // change only its link's status (the guard refuses anything else).
    blocked(
        "partner raises its own tier",
        as_scope(
            &server,
            partner_b,
            &format!("UPDATE vendor_links SET tier = 'platinum' WHERE workspace_id = '{b}'"),
        )
        .await,
    );
    // Still all there: the vendors' two, its own and the erased person's.
    let p = db.store.partner(w.a);
    assert_eq!(
        p.leads(&LeadFilter::default(), Page::default())
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn a_pool_of_one_connection_does_not_carry_a_scope_into_the_next_request() {
    let Some(db) = TestDb::postgres_with(StoreOptions {
        max_connections: 1,
        ..StoreOptions::default()
    })
    .await
    else {
        return;
    };
    let w = populate(&db.store).await;
    let clean = |p: onepane_store::testing::ScopeProbe| {
        assert_eq!(
            (
                p.workspace_id.as_str(),
                p.vendor_id.as_str(),
                p.operator.as_str(),
                p.visible_leads
            ),
            ("", "", "", 0),
            "{p:?}"
        );
    };
    assert!(
        !db.store
            .partner(w.a)
            .leads(&LeadFilter::default(), Page::default())
            .await
            .unwrap()
            .is_empty()
    );
    clean(probe_unscoped(&db.store).await.unwrap());
    assert!(!db.store.vendor(w.v1).leads().await.unwrap().is_empty());
    clean(probe_unscoped(&db.store).await.unwrap());
    db.store.operator().workspaces().await.unwrap();
    clean(probe_unscoped(&db.store).await.unwrap());
    // A unit of work that fails midway rolls back its scope too.
    assert!(
        db.store
            .partner(w.a)
            .register_deal(w.v2, &deal("Unlinked"), None, None)
            .await
            .is_err()
    );
    clean(probe_unscoped(&db.store).await.unwrap());
    // And the next scope on the same connection sees only its own rows.
    let b_leads = db
        .store
        .partner(w.b)
        .leads(&LeadFilter::default(), Page::default())
        .await
        .unwrap();
    assert!(b_leads.iter().all(|l| l.workspace_id == w.b) && !b_leads.is_empty());
}

#[tokio::test]
async fn catalog_every_table_has_row_level_security_enabled_and_forced() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let rows = sqlx::query(
        "SELECT c.relname::text AS name, c.relrowsecurity, c.relforcerowsecurity, \
                pg_get_userbyid(c.relowner)::text AS owner, \
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&server)
    .await
    .unwrap();
    assert!(rows.len() >= 17);
    for r in &rows {
        let name: String = r.get("name");
        assert!(
            r.get::<bool, _>("relrowsecurity"),
            "{name}: RLS not enabled"
        );
        assert!(
            r.get::<bool, _>("relforcerowsecurity"),
            "{name}: RLS not forced"
        );
        assert!(r.get::<i64, _>("policies") > 0, "{name}: no policy");
        assert_ne!(
            r.get::<String, _>("owner"),
            TEST_SERVER_ROLE,
            "{name}: owned by the server role"
        );
        // A browser session belongs to its user and only points at the
        // workspace it acts in (the user switches it): it is found by the
        // digest of its cookie, before any workspace is known.
        if name != "web_sessions" && has_column(&server, &name, "workspace_id").await {
            let pk: String = sqlx::query_scalar(
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                 WHERE i.indrelid = $1::regclass AND i.indisprimary",
            )
            .bind(&name)
            .fetch_one(&server)
            .await
            .unwrap();
            assert_eq!(
                pk, "workspace_id",
                "{name}: primary key does not lead with the scope column"
            );
        }
    }
    // Every index on a tenant table leads with a scope column, except two
    // lookups that are global by nature: a user's workspaces at login, and a
    // public landing page by its slug.
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, i.relname::text, a.attname::text \
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] \
         WHERE n.nspname = 'public' \
           AND EXISTS (SELECT 1 FROM pg_attribute w WHERE w.attrelid = c.oid AND w.attname = 'workspace_id')",
    )
    .fetch_all(&server)
    .await
    .unwrap();
    assert!(indexes.len() >= 20, "{indexes:?}");
    for (table, index, first) in &indexes {
        let global = [
            ("memberships", "user_id"),
            ("campaign_activations", "slug"),
            // A personal access token by its digest, when it is presented.
            ("access_tokens", "token_hash"),
            // An OAuth authorization by its state's digest, when the
            // provider sends the browser back.
            ("oauth_states", "digest"),
            // An invitation by its link's digest, opened before login.
            ("invitations", "digest"),
            // A user's browser sessions (ended together at a reset).
            ("web_sessions", "user_id"),
            ("web_sessions", "digest"),
            // A login's email domain picks the workspace, and the
            // provider's answer finds its sign-in by the state's digest.
            ("sso_configs", "email_domain"),
            ("sso_logins", "state_digest"),
            // Pruning the audit log by age, across workspaces (only the
            // owner's function deletes, and only old events).
            ("audit_events", "at"),
            // The deliverer claims what falls due to vendors, across
            // workspaces (the system scope only).
            ("vendor_deliveries", "due_at"),
            // A mailed decision link by its token's digest, when opened.
            ("decision_links", "digest"),
            // A calendar feed by its secret's digest, when a calendar app
            // reads it.
            ("calendar_feeds", "digest"),
            // The mail sender takes over claims another replica left
            // unsent, across workspaces (the system scope only).
            ("mail_outbox", "claimed_at"),
        ];
        assert!(
            first == "workspace_id"
                || first == "vendor_id"
                || global.contains(&(table.as_str(), first.as_str())),
            "index {index} on {table} leads with {first}, not a scope column"
        );
    }
    // What a vendor publishes is stored once, keyed by the vendor: every
    // index of those tables leads with it, but the outbox the system
    // scope claims from by age.
    let vendor_indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, i.relname::text, a.attname::text \
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND (c.relname LIKE 'published\\_%' OR c.relname = 'content_announcements')",
    )
    .fetch_all(&server)
    .await
    .unwrap();
    assert!(
        vendor_indexes
            .iter()
            .any(|i| i.0 == "published_price_items"),
        "{vendor_indexes:?}"
    );
    for (table, index, first) in &vendor_indexes {
        assert!(
            first == "vendor_id" || (table == "content_announcements" && first == "created_at"),
            "index {index} on {table} leads with {first}, not the vendor"
        );
    }
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&server)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
    onepane_store::postgres::check_server_role(&db.store)
        .await
        .unwrap();
    // The owner role, by contrast, is refused as a server connection.
    let owner = Store::connect(
        &DatabaseUrl::Postgres(db.postgres_url_as(TEST_OWNER_ROLE).unwrap()),
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    let err = onepane_store::postgres::check_server_role(&owner)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("owns"), "{err}");
}

/// Runs `sql` as the server role inside a transaction scoped to (workspace, vendor).
async fn as_scope(pool: &PgPool, scope: (&str, &str), sql: &str) -> Result<u64, sqlx::Error> {
    let mut tx = scoped(pool, scope).await;
    let r = tx.execute(sql).await.map(|r| r.rows_affected());
    tx.rollback().await.ok();
    r
}

/// A write that must not happen: refused by a policy, a missing privilege
/// (the audit log's UPDATE and DELETE are revoked) or the guard trigger, or
/// matching no row it may touch.
fn blocked(what: &str, r: Result<u64, sqlx::Error>) {
    match r {
        Ok(0) => {}
        Ok(n) => panic!("{what}: {n} rows written"),
        Err(e) => {
            let e = e.to_string();
            assert!(
                e.contains("row-level security")
                    || e.contains("onepane: ")
                    || e.contains("permission denied"),
                "{what}: refused for the wrong reason: {e}"
            );
        }
    }
}

#[tokio::test]
async fn owned_columns_and_keys_cannot_be_rewritten_by_the_other_side() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1) = (w.a.to_string(), w.b.to_string(), w.v1.to_string());
    let partner_a = (a.as_str(), "");
    let vendor_1 = ("", v1.as_str());
    // A vendor cannot move its link (or anything) into another workspace.
    blocked(
        "vendor moves its link",
        as_scope(
            &server,
            vendor_1,
            &format!(
                "UPDATE vendor_links SET workspace_id = '{}' WHERE workspace_id = '{a}'",
                w.b
            ),
        )
        .await,
    );
    blocked(
        "vendor changes the partner type",
        as_scope(
            &server,
            vendor_1,
            "UPDATE vendor_links SET partner_type = 'msp'",
        )
        .await,
    );
    // A partner cannot approve its own deal, nor pass a lead off as vendor-sent.
    blocked(
        "partner approves its deal",
        as_scope(
            &server,
            partner_a,
            "UPDATE deal_registrations SET status = 'approved', extra_discount = 50",
        )
        .await,
    );
    blocked("partner forges a vendor lead", as_scope(&server, partner_a, &format!(
        "INSERT INTO leads (workspace_id, id, vendor_id, source, status, search_text, contact, created_at, updated_at) \
         VALUES ('{a}', '{}', '{v1}', 'vendor', 'new', 'forged', '{{\"name\": \"Forged\"}}', now(), now())", uuid::Uuid::now_v7())).await);
    blocked(
        "partner turns its lead into a vendor lead",
        as_scope(&server, partner_a, "UPDATE leads SET source = 'vendor'").await,
    );
    blocked(
        "partner edits vendor content",
        as_scope(
            &server,
            partner_a,
            "UPDATE campaigns SET status = 'archived'",
        )
        .await,
    );
    blocked(
        "partner rewrites the audit log",
        as_scope(
            &server,
            partner_a,
            "UPDATE audit_events SET action = 'nothing'",
        )
        .await,
    );
    blocked(
        "partner erases the audit log",
        as_scope(&server, partner_a, "DELETE FROM audit_events").await,
    );
    blocked("partner writes as the vendor", as_scope(&server, partner_a, &format!(
        "INSERT INTO audit_events (workspace_id, id, actor_type, actor_id, action, detail, at) \
         VALUES ('{a}', '{}', 'vendor', '{v1}', 'x', '{{}}', now())", uuid::Uuid::now_v7())).await);
    // What a partner sends its vendors is queued, never marked sent by the
    // partner itself, nor by the vendor (which only reads its own).
    assert!(
        count_in_scope(&server, partner_a, "vendor_deliveries", "true").await >= 1,
        "the partner sees its deliveries (so the attacks below can fail)"
    );
    assert!(count_in_scope(&server, vendor_1, "vendor_deliveries", "true").await >= 1);
    blocked(
        "partner marks its delivery sent",
        as_scope(
            &server,
            partner_a,
            "UPDATE vendor_deliveries SET status = 'sent', vendor_ref = 'forged'",
        )
        .await,
    );
    blocked(
        "partner queues a delivery as already sent",
        as_scope(&server, partner_a, &format!(
            "INSERT INTO vendor_deliveries (workspace_id, id, vendor_id, kind, subject_id, status, attempts, due_at, created_at, updated_at) \
             VALUES ('{a}', '{}', '{v1}', 'deal', '{}', 'sent', 1, now(), now(), now())",
            uuid::Uuid::now_v7(), uuid::Uuid::now_v7())).await,
    );
    blocked(
        "partner moves a delivery to another vendor",
        as_scope(
            &server,
            partner_a,
            &format!(
                "UPDATE vendor_deliveries SET vendor_id = '{}', status = 'pending', attempts = 0, vendor_ref = NULL",
                w.v2
            ),
        )
        .await,
    );
    blocked(
        "vendor marks a delivery sent",
        as_scope(
            &server,
            vendor_1,
            "UPDATE vendor_deliveries SET status = 'sent'",
        )
        .await,
    );
    blocked(
        "vendor deletes a delivery",
        as_scope(&server, vendor_1, "DELETE FROM vendor_deliveries").await,
    );
    // Decision links are made and used by the server only; the partner
    // cannot mint one for its own registration, nor mark one unused.
    blocked(
        "partner mints a decision link",
        as_scope(&server, partner_a, &format!(
            "INSERT INTO decision_links (workspace_id, digest, registration_id, vendor_id, decision, expires_at, created_at) \
             SELECT workspace_id, '\\x00', id, vendor_id, 'approve', now() + interval '1 day', now() FROM deal_registrations WHERE workspace_id = '{a}'")).await,
    );
    blocked(
        "vendor reads or mints a decision link",
        as_scope(
            &server,
            vendor_1,
            "UPDATE decision_links SET used_at = NULL",
        )
        .await,
    );
    // A vendor cannot work the partner's lead, nor rewrite a registration's form.
    blocked(
        "vendor marks its lead won",
        as_scope(&server, vendor_1, "UPDATE leads SET status = 'won'").await,
    );
    blocked(
        "vendor marks a lead shared",
        as_scope(
            &server,
            vendor_1,
            "UPDATE leads SET shared_with_vendor_at = now()",
        )
        .await,
    );
    blocked(
        "vendor rewrites a deal's form",
        as_scope(
            &server,
            vendor_1,
            "UPDATE deal_registrations SET title = 'Other'",
        )
        .await,
    );
    blocked(
        "vendor re-decides a decided deal",
        as_scope(
            &server,
            vendor_1,
            "UPDATE deal_registrations SET status = 'approved' WHERE status = 'rejected'",
        )
        .await,
    );
    blocked(
        "vendor moves a campaign",
        as_scope(
            &server,
            vendor_1,
            &format!("UPDATE campaigns SET workspace_id = '{b}'"),
        )
        .await,
    );
    // The checks can pass: the owners' own writes go through.
    assert!(
        as_scope(
            &server,
            vendor_1,
            "UPDATE vendor_links SET tier = 'platinum'"
        )
        .await
        .unwrap()
            > 0
    );
    assert!(
        as_scope(
            &server,
            vendor_1,
            "UPDATE campaigns SET status = 'archived'"
        )
        .await
        .unwrap()
            > 0
    );
    assert!(
        as_scope(
            &server,
            partner_a,
            "UPDATE leads SET status = 'working' WHERE source = 'manual'"
        )
        .await
        .unwrap()
            > 0
    );
}

#[tokio::test]
async fn a_temporary_table_cannot_shadow_the_links_the_policies_read() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    // Even with the privilege to create temporary tables (revoked by the
    // shipped grants), a fake vendor_links must not link vendor two to A.
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.postgres_superuser_url().unwrap())
        .await
        .unwrap();
    sqlx::query(&format!(
        "GRANT TEMPORARY ON DATABASE {} TO {TEST_SERVER_ROLE}",
        db.postgres_url_as("x").unwrap().rsplit('/').next().unwrap()
    ))
    .execute(&admin)
    .await
    .unwrap();
    let server = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.postgres_url_as(TEST_SERVER_ROLE).unwrap())
        .await
        .unwrap();
    let (a, v2) = (w.a.to_string(), w.v2.to_string());
    let mut conn = server.acquire().await.unwrap();
    sqlx::raw_sql(&format!(
        "CREATE TEMP TABLE vendor_links (workspace_id uuid, vendor_id uuid, status text); \
         INSERT INTO pg_temp.vendor_links VALUES ('{a}', '{v2}', 'active');"
    ))
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql(&format!(
        "BEGIN; SELECT set_config('onepane.vendor_id', '{v2}', true);"
    ))
    .execute(&mut *conn)
    .await
    .unwrap();
    let seen: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM workspaces WHERE id = '{a}'"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(seen, 0, "a temporary table linked vendor two to A");
    let leads: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM leads WHERE workspace_id = '{a}'"
    ))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(leads, 0);
    sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
}

#[tokio::test]
async fn a_landing_page_leads_consent_record_cannot_be_forged_or_rewritten() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    // A landing-page lead of A (with its consent record), shared with vendor one
    // by a deal registration so the vendor can read it.
    let p = db.store.partner(w.a);
    let activation = p
        .activations()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.vendor_id == w.v1)
        .unwrap();
    let lead = p
        .capture_campaign_lead(&NewCampaignLead {
            activation_id: activation.id,
            contact: contact("Consenting Visitor"),
            company: None,
            message: None,
            consent: ConsentAnswer::NotAsked,
        })
        .await
        .unwrap();
    p.register_deal(w.v1, &deal("From the page"), Some(lead.id), None)
        .await
        .unwrap();
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, v1) = (w.a.to_string(), w.v1.to_string());
    let partner_a = (a.as_str(), "");
    let vendor_1 = ("", v1.as_str());
    let id = lead.id;
    assert_eq!(
        count_in_scope(
            &server,
            vendor_1,
            "leads",
            &format!("id = '{id}' AND consent IS NOT NULL")
        )
        .await,
        1,
        "the vendor reads the shared lead with its consent"
    );
    for (what, scope) in [("vendor", vendor_1), ("partner", partner_a)] {
        for sql in [
            format!("UPDATE leads SET consent = NULL WHERE id = '{id}'"),
            format!(
                "UPDATE leads SET consent = jsonb_set(consent, '{{marketing}}', '\"given\"') WHERE id = '{id}'"
            ),
        ] {
            blocked(
                &format!("{what} rewrites a consent record"),
                as_scope(&server, scope, &sql).await,
            );
        }
    }
    // A vendor's own lead cannot carry a consent record, sent or resent.
    let forged = as_scope(&server, vendor_1, &format!(
        "INSERT INTO leads (workspace_id, id, vendor_id, source, status, search_text, contact, consent, created_at, updated_at) \
         VALUES ('{a}', '{}', '{v1}', 'vendor', 'new', 'forged', '{{\"name\": \"Forged\"}}', '{{\"marketing\": \"given\"}}', now(), now())",
        uuid::Uuid::now_v7()
    ))
    .await
    .unwrap_err();
    assert!(
        forged
            .to_string()
            .contains("leads_consent_from_landing_page"),
        "refused for the wrong reason: {forged}"
    );
    blocked(
        "vendor adds a consent record to its lead",
        as_scope(
            &server,
            vendor_1,
            "UPDATE leads SET consent = '{\"marketing\": \"given\"}' WHERE source = 'vendor'",
        )
        .await,
    );
    // Nothing changed: the record reads back as written.
    assert_eq!(p.lead(id).await.unwrap().consent, lead.consent);
}

/// What a vendor publishes is stored once: the database itself lets a
/// partner read it only while linked and in its audience (tier, partner
/// type, regions), lets the vendor alone write it, and follows a tier, a
/// region or a link's end at once.
#[tokio::test]
async fn published_content_is_read_through_the_link_and_the_audience_only() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1, v2) = (
        w.a.to_string(),
        w.b.to_string(),
        w.v1.to_string(),
        w.v2.to_string(),
    );
    let count = |scope: (String, String), table: &'static str, filter: String| {
        let server = server.clone();
        async move { count_in_scope(&server, (&scope.0, &scope.1), table, &filter).await }
    };
    let partner = |ws: &str| (ws.to_owned(), String::new());
    let vendor = |v: &str| (String::new(), v.to_owned());
    let published = [
        "published_campaigns",
        "published_assets",
        "published_price_lists",
        "published_price_items",
    ];
    // Partner A is linked to vendor one only; B to both.
    for t in published {
        assert_eq!(
            count(partner(&a), t, format!("vendor_id = '{v1}'")).await,
            1,
            "A reads v1's {t}"
        );
        assert_eq!(
            count(partner(&a), t, format!("vendor_id = '{v2}'")).await,
            0,
            "A reads unlinked v2's {t}"
        );
        assert_eq!(
            count(partner(&b), t, "true".into()).await,
            2,
            "B reads both vendors' {t}"
        );
        assert_eq!(
            count(vendor(&v2), t, format!("vendor_id = '{v1}'")).await,
            0,
            "v2 reads v1's {t}"
        );
        assert_eq!(
            count(vendor(&v1), t, "true".into()).await,
            1,
            "v1 reads its own {t}"
        );
    }
    // Through the views, each workspace gets its own rows and nothing of
    // a vendor it is not linked to.
    for view in [
        "workspace_campaigns",
        "workspace_assets",
        "workspace_price_lists",
        "workspace_price_items",
    ] {
        assert_eq!(
            count(partner(&a), view, format!("workspace_id = '{b}'")).await,
            0,
            "A reads B's {view}"
        );
        assert_eq!(
            count(partner(&a), view, format!("vendor_id = '{v2}'")).await,
            0,
            "A reads v2's {view}"
        );
        // Published by v1 and pulled by A's own connection to v1.
        assert_eq!(
            count(partner(&a), view, format!("workspace_id = '{a}'")).await,
            2,
            "A's {view}"
        );
    }

    // Writes: only the vendor, only its own rows.
    for t in published {
        blocked(
            &format!("partner A deletes v1's {t}"),
            as_scope(&server, (&a, ""), &format!("DELETE FROM {t}")).await,
        );
        blocked(
            &format!("v2 deletes v1's {t}"),
            as_scope(
                &server,
                ("", &v2),
                &format!("DELETE FROM {t} WHERE vendor_id = '{v1}'"),
            )
            .await,
        );
    }
    blocked(
        "partner A rewrites v1's campaign",
        as_scope(
            &server,
            (&a, ""),
            "UPDATE published_campaigns SET status = 'archived'",
        )
        .await,
    );
    blocked(
        "partner A publishes in v1's name",
        as_scope(
            &server,
            (&a, ""),
            &format!(
                "INSERT INTO published_assets (vendor_id, id, external_id, kind, audience, content, created_at, updated_at) \
                 VALUES ('{v1}', gen_random_uuid(), 'forged', 'pdf', '{{}}', '{{}}', now(), now())"
            ),
        )
        .await,
    );
    blocked(
        "v1 hands its campaign to v2",
        as_scope(
            &server,
            ("", &v1),
            &format!("UPDATE published_campaigns SET vendor_id = '{v2}'"),
        )
        .await,
    );
    blocked(
        "v1 sets partner B's regions through the partner's columns",
        as_scope(
            &server,
            (&b, ""),
            "UPDATE vendor_links SET regions = '[\"EMEA\"]'",
        )
        .await,
    );
    // The checks can pass: the vendor's own write goes through.
    assert_eq!(
        as_scope(
            &server,
            ("", &v1),
            "UPDATE published_campaigns SET status = 'published'"
        )
        .await
        .unwrap(),
        1
    );

    // A gold-only asset for the NORDICS: nobody yet.
    let vs = db.store.vendor(w.v1);
    let mut nordic = asset("Nordic playbook");
    nordic.audience.tiers = vec![Tier::Gold];
    nordic.audience.regions = vec![onepane_domain::text::Region::parse("nordics").unwrap()];
    vs.publish_asset(&ext("nordic"), &nordic).await.unwrap();
    let nordic_rows = || {
        count(
            partner(&a),
            "published_assets",
            "external_id = 'nordic'".into(),
        )
    };
    assert_eq!(nordic_rows().await, 0, "outside the audience");
    // The region alone is not enough while the tier is not gold...
    vs.set_tier(w.a, Tier::Silver).await.unwrap();
    vs.set_regions(
        w.a,
        &[onepane_domain::text::Region::parse("Nordics").unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(nordic_rows().await, 0, "region without the tier");
    // ...the tier change opens it at once.
    vs.set_tier(w.a, Tier::Gold).await.unwrap();
    assert_eq!(nordic_rows().await, 1, "tier and region");
    assert_eq!(
        count(
            partner(&a),
            "workspace_assets",
            "content->>'kind' IS NOT NULL".into()
        )
        .await,
        3
    );
    // Another region closes it again.
    vs.set_regions(w.a, &[onepane_domain::text::Region::parse("DACH").unwrap()])
        .await
        .unwrap();
    assert_eq!(nordic_rows().await, 0, "another region");

    // The link ends: every published row of v1 disappears for A at once,
    // items included, while B still reads them.
    db.store
        .operator()
        .set_link_status(w.a, w.v1, onepane_domain::program::LinkStatus::Ended)
        .await
        .unwrap();
    for t in published {
        assert_eq!(
            count(partner(&a), t, "true".into()).await,
            0,
            "A reads {t} after the link ended"
        );
        assert!(
            count(partner(&b), t, format!("vendor_id = '{v1}'")).await >= 1,
            "B still reads v1's {t}"
        );
    }
}

/// A member's rating of a vendor is the workspace's alone: the vendor it
/// rates never reads it (only the server's aggregates over five partners
/// or more, computed in the system scope), another partner neither reads
/// nor writes it, and nobody moves it to another workspace or vendor.
#[tokio::test]
async fn a_rating_is_never_read_by_the_vendor_it_rates_nor_by_another_partner() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1, v2) = (
        w.a.to_string(),
        w.b.to_string(),
        w.v1.to_string(),
        w.v2.to_string(),
    );
    // The checks below can fail: each partner reads its own ratings.
    assert!(count_in_scope(&server, (&a, ""), "vendor_ratings", "true").await >= 1);
    assert!(count_in_scope(&server, (&b, ""), "vendor_ratings", "true").await >= 1);
    for v in [&v1, &v2] {
        assert_eq!(
            count_in_scope(&server, ("", v), "vendor_ratings", "true").await,
            0,
            "vendor {v} reads ratings of itself"
        );
        // Even naming a workspace linked to it, as a vendor's sync does.
        for ws in [&a, &b] {
            let mut tx = scoped(&server, ("", v)).await;
            sqlx::query("SELECT set_config('onepane.vendor_workspace', $1, true)")
                .bind(ws)
                .execute(&mut *tx)
                .await
                .unwrap();
            let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM vendor_ratings")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(seen, 0, "vendor {v} syncing into {ws} reads its ratings");
        }
        blocked(
            "a vendor writes a rating of itself",
            as_scope(
                &server,
                ("", v),
                "INSERT INTO vendor_ratings (workspace_id, vendor_id, user_id, quarter, area, score, rated_at) \
                 SELECT workspace_id, vendor_id, user_id, '2099-Q1', area, 5, now() FROM vendor_ratings",
            )
            .await,
        );
    }
    assert_eq!(
        count_in_scope(
            &server,
            (&b, ""),
            "vendor_ratings",
            &format!("workspace_id = '{a}'")
        )
        .await,
        0
    );
    let a_owner: String = sqlx::query_scalar(
        "SELECT user_id::text FROM memberships WHERE workspace_id = $1::uuid LIMIT 1",
    )
    .bind(&a)
    .fetch_one(
        &PgPoolOptions::new()
            .max_connections(1)
            .connect(&db.postgres_superuser_url().unwrap())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    // B forges a rating in A's name, rewrites and deletes A's.
    blocked(
        "partner B writes a rating into A",
        as_scope(
            &server,
            (&b, ""),
            &format!(
                "INSERT INTO vendor_ratings (workspace_id, vendor_id, user_id, quarter, area, score, rated_at) \
                 VALUES ('{a}', '{v1}', '{a_owner}', '2099-Q1', 'brand', 1, now())"
            ),
        )
        .await,
    );
    blocked(
        "partner B rewrites A's ratings",
        as_scope(
            &server,
            (&b, ""),
            &format!("UPDATE vendor_ratings SET score = 1 WHERE workspace_id = '{a}'"),
        )
        .await,
    );
    blocked(
        "partner B deletes A's ratings",
        as_scope(
            &server,
            (&b, ""),
            &format!("DELETE FROM vendor_ratings WHERE workspace_id = '{a}'"),
        )
        .await,
    );
    // A cannot move its own rating to another workspace or vendor.
    blocked(
        "partner A moves its rating to B",
        as_scope(
            &server,
            (&a, ""),
            &format!("UPDATE vendor_ratings SET workspace_id = '{b}'"),
        )
        .await,
    );
    blocked(
        "partner A moves its rating to another vendor",
        as_scope(
            &server,
            (&a, ""),
            &format!("UPDATE vendor_ratings SET vendor_id = '{v2}' WHERE vendor_id = '{v1}'"),
        )
        .await,
    );
    assert_eq!(
        count_in_scope(&server, (&b, ""), "vendor_ratings", "score = 4").await,
        count_in_scope(&server, (&b, ""), "vendor_ratings", "true").await,
        "B's ratings are as written"
    );
}

#[tokio::test]
async fn mail_choices_stay_in_their_workspace_and_the_outbox_is_the_servers_alone() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1) = (w.a.to_string(), w.b.to_string(), w.v1.to_string());
    let partner_a = (a.as_str(), "");
    let vendor_1 = ("", v1.as_str());
    // The attack needs rows on both sides.
    assert_eq!(
        count_in_scope(&server, partner_a, "mail_preferences", "true").await,
        1
    );
    assert_eq!(
        count_in_scope(&server, (&b, ""), "mail_preferences", "true").await,
        1
    );
    // A partner reads its own members' choices only.
    assert_eq!(
        count_in_scope(
            &server,
            partner_a,
            "mail_preferences",
            &format!("workspace_id = '{b}'")
        )
        .await,
        0,
        "A reads B's mail choices"
    );
    // Nor writes another's: turn them off, move its own over, add one there.
    blocked(
        "A turns off B's digests",
        as_scope(
            &server,
            partner_a,
            &format!("UPDATE mail_preferences SET daily_digest = false WHERE workspace_id = '{b}'"),
        )
        .await,
    );
    blocked(
        "A moves its choices into B",
        as_scope(
            &server,
            partner_a,
            &format!("UPDATE mail_preferences SET workspace_id = '{b}'"),
        )
        .await,
    );
    blocked(
        "A deletes B's choices",
        as_scope(
            &server,
            partner_a,
            &format!("DELETE FROM mail_preferences WHERE workspace_id = '{b}'"),
        )
        .await,
    );
    let b_member: String = {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&db.postgres_superuser_url().unwrap())
            .await
            .unwrap();
        sqlx::query_scalar(
            "SELECT user_id::text FROM memberships WHERE workspace_id = $1::uuid LIMIT 1",
        )
        .bind(&b)
        .fetch_one(&admin)
        .await
        .unwrap()
    };
    blocked(
        "A writes choices for B's member",
        as_scope(
            &server,
            partner_a,
            &format!(
                "INSERT INTO mail_preferences (workspace_id, user_id, daily_digest, urgent_leads, updated_at) \
                 VALUES ('{b}', '{b_member}', true, true, now())"
            ),
        )
        .await,
    );
    // A vendor reads no member's choices.
    assert_eq!(
        count_in_scope(&server, vendor_1, "mail_preferences", "true").await,
        0,
        "a vendor reads members' mail choices"
    );
    // The outbox: neither a partner nor a vendor reads or writes it, even
    // its own workspace's rows.
    for (who, scope) in [("partner A", partner_a), ("vendor 1", vendor_1)] {
        assert_eq!(
            count_in_scope(&server, scope, "mail_outbox", "true").await,
            0,
            "{who} reads the mail outbox"
        );
        blocked(
            &format!("{who} marks mail sent"),
            as_scope(&server, scope, "UPDATE mail_outbox SET sent_at = now()").await,
        );
        blocked(
            &format!("{who} claims a mail"),
            as_scope(
                &server,
                scope,
                &format!(
                    "INSERT INTO mail_outbox (workspace_id, user_id, kind, key, claimed_at) \
                     VALUES ('{a}', '{b_member}', 'digest', 'forged', now())"
                ),
            )
            .await,
        );
    }
}

/// The leads' tallies (the scorecard's lead figures) are written by the
/// leads' triggers in the scope of whoever changed the leads: no scope may
/// write another workspace's or another vendor's, nor one of a workspace
/// its vendor is not linked to.
#[tokio::test]
async fn lead_tallies_are_written_only_where_their_leads_could_be() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1, v2) = (
        w.a.to_string(),
        w.b.to_string(),
        w.v1.to_string(),
        w.v2.to_string(),
    );
    // The checks below can fail: A's vendor leads are tallied, and A reads
    // its tallies.
    assert!(count_in_scope(&server, (&a, ""), "lead_tallies", "sent > 0").await >= 1);
    let forge = |ws: &str, v: &str| {
        format!(
            "INSERT INTO lead_tallies (workspace_id, vendor_id, day, sent, accepted, won, windows, window_seconds) \
             VALUES ('{ws}', '{v}', '2099-01-01', 1000, 1000, 1000, 0, 0)"
        )
    };
    blocked(
        "partner B forges a tally in A",
        as_scope(&server, (&b, ""), &forge(&a, &v1)).await,
    );
    blocked(
        "partner B inflates A's tallies",
        as_scope(
            &server,
            (&b, ""),
            &format!("UPDATE lead_tallies SET won = won + 100 WHERE workspace_id = '{a}'"),
        )
        .await,
    );
    blocked(
        "vendor 2 forges a tally in A, not linked to it",
        as_scope(&server, ("", &v2), &forge(&a, &v2)).await,
    );
    blocked(
        "vendor 2 forges vendor 1's tally in the shared workspace B",
        as_scope(&server, ("", &v2), &forge(&b, &v1)).await,
    );
    blocked(
        "vendor 2 rewrites vendor 1's tallies",
        as_scope(
            &server,
            ("", &v2),
            &format!("UPDATE lead_tallies SET sent = 0 WHERE vendor_id = '{v1}'"),
        )
        .await,
    );
    blocked(
        "no scope at all writes a tally",
        as_scope(&server, ("", ""), &forge(&a, &v1)).await,
    );
    // A vendor's lead in a workspace linked to it is tallied in its scope.
    assert_eq!(
        as_scope(&server, ("", &v2), &forge(&b, &v2)).await.unwrap(),
        1,
        "vendor 2 writes its own tally in B, linked to it"
    );
}

#[tokio::test]
async fn one_workspace_cannot_delete_another_workspaces_connection() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1) = (w.a.to_string(), w.b.to_string(), w.v1.to_string());
    let partner_a = db.store.partner(w.a);
    let hook = partner_a.connections().await.unwrap()[0].clone();
    partner_a.request_job(hook.id, "push", 3).await.unwrap();
    let id = hook.id.to_string();
    let of_a = format!("workspace_id = '{a}'");
    let a_before = plumbing_counts(&server, &a).await;
    let b_before = plumbing_counts(&server, &b).await;
    assert!(a_before.iter().all(|n| *n > 0), "{a_before:?}");

    // Partner B, and a vendor linked to A, with SQL past the store's
    // WHERE clauses: nothing of A's connection goes.
    for (scope, who) in [
        ((b.as_str(), ""), "partner B"),
        (("", v1.as_str()), "vendor 1"),
    ] {
        for t in PLUMBING {
            let sql = format!("DELETE FROM {t} WHERE {of_a}");
            blocked(
                &format!("{who}: {sql}"),
                as_scope(&server, scope, &sql).await,
            );
        }
        let sql = format!("DELETE FROM connections WHERE id = '{id}'");
        blocked(
            &format!("{who}: {sql}"),
            as_scope(&server, scope, &sql).await,
        );
    }
    // Nor through the store: B does not find it.
    let b_owner = db.store.partner(w.b).members().await.unwrap()[0].user_id;
    let refused = db
        .store
        .partner(w.b)
        .delete_connection(hook.id, b_owner, "api")
        .await;
    assert!(
        matches!(refused, Err(onepane_store::StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(plumbing_counts(&server, &a).await, a_before);

    // A deletes its own: the cascade takes that connection's jobs, pushes
    // and erasures past row-level security, and nothing of B's.
    let a_owner = partner_a.members().await.unwrap()[0].user_id;
    partner_a
        .delete_connection(hook.id, a_owner, "api")
        .await
        .unwrap();
    for t in PLUMBING {
        let column = if t == "connections" {
            "id"
        } else {
            "connection_id"
        };
        let left = count_in_scope(&server, (&a, ""), t, &format!("{column} = '{id}'")).await;
        assert_eq!(left, 0, "{t} keeps rows of the deleted connection");
    }
    assert_eq!(plumbing_counts(&server, &b).await, b_before);
    // What it pushed stays: A's leads are A's.
    assert!(count_in_scope(&server, (&a, ""), "leads", &of_a).await > 0);
}

/// A connection's own rows: the connections and what hangs off them.
const PLUMBING: [&str; 4] = ["connections", "jobs", "crm_pushes", "crm_erasures"];

/// How many rows of each [`PLUMBING`] table workspace `ws` has, seen in its own scope.
async fn plumbing_counts(server: &PgPool, ws: &str) -> Vec<i64> {
    let mut counts = Vec::new();
    for t in PLUMBING {
        counts.push(count_in_scope(server, (ws, ""), t, &format!("workspace_id = '{ws}'")).await);
    }
    counts
}

#[tokio::test]
async fn a_logo_is_read_and_changed_by_its_own_side_only() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = populate(&db.store).await;
    let server = pool_as(&db, TEST_SERVER_ROLE).await;
    let (a, b, v1, v2) = (
        w.a.to_string(),
        w.b.to_string(),
        w.v1.to_string(),
        w.v2.to_string(),
    );
    // Each workspace reads its own uploaded logo, and no other's.
    assert_eq!(
        count_in_scope(&server, (&a, ""), "workspace_logos", "true").await,
        1
    );
    assert_eq!(
        count_in_scope(
            &server,
            (&b, ""),
            "workspace_logos",
            &format!("workspace_id = '{a}'")
        )
        .await,
        0,
        "B reads A's logo"
    );
    assert_eq!(
        count_in_scope(&server, ("", &v1), "workspace_logos", "true").await,
        0,
        "a vendor reads a partner's logo"
    );
    for (what, scope, sql) in [
        (
            "B replaces A's logo",
            (b.as_str(), ""),
            format!("UPDATE workspace_logos SET bytes = '\\x00' WHERE workspace_id = '{a}'"),
        ),
        (
            "B deletes A's logo",
            (b.as_str(), ""),
            format!("DELETE FROM workspace_logos WHERE workspace_id = '{a}'"),
        ),
        (
            "A moves its logo into B",
            (a.as_str(), ""),
            format!("UPDATE workspace_logos SET workspace_id = '{b}'"),
        ),
        (
            "a vendor replaces a partner's logo",
            ("", v1.as_str()),
            "UPDATE workspace_logos SET content_type = 'image/png'".to_owned(),
        ),
        // A vendor's logo: another vendor, a partner, or the vendor
        // itself renaming its row are all refused.
        (
            "vendor 2 sets vendor 1's logo",
            ("", v2.as_str()),
            format!("UPDATE vendors SET logo_url = 'https://evil.example/x.png' WHERE id = '{v1}'"),
        ),
        (
            "a partner sets a linked vendor's logo",
            (a.as_str(), ""),
            "UPDATE vendors SET logo_url = 'https://evil.example/x.png'".to_owned(),
        ),
        (
            "vendor 1 renames itself",
            ("", v1.as_str()),
            format!("UPDATE vendors SET name = 'Renamed' WHERE id = '{v1}'"),
        ),
    ] {
        blocked(what, as_scope(&server, scope, &sql).await);
    }
    // The checks above can fail: each side changes its own.
    assert_eq!(
        as_scope(
            &server,
            (&a, ""),
            &format!(
                "UPDATE workspace_logos SET content_type = 'image/png' WHERE workspace_id = '{a}'"
            ),
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        as_scope(
            &server,
            ("", &v1),
            &format!(
                "UPDATE vendors SET logo_url = 'https://v1.example/new.png' WHERE id = '{v1}'"
            ),
        )
        .await
        .unwrap(),
        1
    );
    // A partner sees its linked vendors' logos.
    assert!(count_in_scope(&server, (&a, ""), "vendors", "logo_url IS NOT NULL").await >= 1);
}
