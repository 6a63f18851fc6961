//! Single sign-on in the store, identical on SQLite and PostgreSQL: each
//! workspace's provider, found by the email domain it serves, and sign-ins
//! in progress taken once.

use chrono::{Duration, Utc};
use onepane_domain::text::EmailDomain;
use onepane_store::testing::TestDb;
use onepane_store::testing::tenants::*;
use onepane_store::{NewSsoLogin, SsoConfigUpdate, StoreError};

crate::on_both_backends!(
    a_workspaces_provider_is_found_by_its_email_domain_while_enabled,
    sign_ins_in_progress_are_taken_once_and_only_in_time,
);

fn domain(s: &str) -> EmailDomain {
    s.parse().unwrap()
}

async fn a_workspaces_provider_is_found_by_its_email_domain_while_enabled(db: TestDb) {
    let a = workspace(&db.store, "Acme Oy").await;
    let b = workspace(&db.store, "Beta Oy").await;
    let acme = domain("acme.example");
    let update = |secret: Option<&'static [u8]>, enabled: bool| SsoConfigUpdate {
        issuer: "https://idp.example",
        client_id: "onepane",
        sealed_client_secret: secret,
        email_domain: &acme,
        enabled,
    };
    let pa = db.store.partner(a);
    // The first save needs a secret.
    assert!(matches!(
        pa.put_sso_config(&update(None, true)).await,
        Err(StoreError::Rule(_))
    ));
    assert_eq!(pa.sso_config().await.unwrap(), None);
    pa.put_sso_config(&update(Some(b"sealed-1"), true))
        .await
        .unwrap();
    let system = db.store.system();
    let found = system.sso_config_for_domain(&acme).await.unwrap().unwrap();
    assert_eq!(found.workspace_id, a);
    assert_eq!(found.sealed_client_secret, b"sealed-1");
    assert!(
        system
            .sso_config_for_domain(&domain("beta.example"))
            .await
            .unwrap()
            .is_none()
    );
    // Saved again without a secret: the stored one is kept.
    let mut again = update(None, true);
    again.issuer = "https://idp.example/v2";
    pa.put_sso_config(&again).await.unwrap();
    let kept = pa.sso_config().await.unwrap().unwrap();
    assert_eq!(
        (kept.issuer.as_str(), kept.sealed_client_secret.as_slice()),
        ("https://idp.example/v2", b"sealed-1".as_slice())
    );
    // Another workspace cannot take the domain.
    let taken = db
        .store
        .partner(b)
        .put_sso_config(&update(Some(b"sealed-2"), true))
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(db.store.partner(b).sso_config().await.unwrap(), None);
    // Turned off, it routes no logins, but the workspace still has it.
    pa.put_sso_config(&update(None, false)).await.unwrap();
    assert!(system.sso_config_for_domain(&acme).await.unwrap().is_none());
    assert!(!system.sso_config_of(a).await.unwrap().unwrap().enabled);
}

async fn sign_ins_in_progress_are_taken_once_and_only_in_time(db: TestDb) {
    let a = workspace(&db.store, "Acme Oy").await;
    let system = db.store.system();
    let login = |state: &'static [u8], expires_at| NewSsoLogin {
        workspace_id: a,
        state_digest: state,
        nonce_digest: b"nonce",
        sealed_verifier: b"verifier",
        browser_digest: b"browser",
        next: "/deals",
        expires_at,
    };
    let soon = Utc::now() + Duration::minutes(10);
    system
        .start_sso_login(&login(b"state-1", soon))
        .await
        .unwrap();
    // The same state twice is a conflict, never a second sign-in.
    assert!(matches!(
        system.start_sso_login(&login(b"state-1", soon)).await,
        Err(StoreError::Conflict(_))
    ));
    let taken = system.take_sso_login(b"state-1").await.unwrap().unwrap();
    assert_eq!(taken.workspace_id, a);
    assert_eq!(taken.nonce_digest, b"nonce");
    assert_eq!(taken.browser_digest, b"browser");
    assert_eq!(taken.next, "/deals");
    assert_eq!(system.take_sso_login(b"state-1").await.unwrap(), None);
    assert_eq!(system.take_sso_login(b"unknown").await.unwrap(), None);
    // An expired one is not given out, and is gone once another starts.
    let past = Utc::now() - Duration::seconds(1);
    system
        .start_sso_login(&login(b"state-2", past))
        .await
        .unwrap();
    assert_eq!(system.take_sso_login(b"state-2").await.unwrap(), None);
    system
        .start_sso_login(&login(b"state-3", past))
        .await
        .unwrap();
    system
        .start_sso_login(&login(b"state-4", soon))
        .await
        .unwrap();
    assert_eq!(system.take_sso_login(b"state-3").await.unwrap(), None);
    assert!(system.take_sso_login(b"state-4").await.unwrap().is_some());
}
