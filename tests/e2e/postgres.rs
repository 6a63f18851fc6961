//! The binary on PostgreSQL with the two roles: the server role serves and
//! runs operator commands through row-level security; a privileged role is
//! refused.

use onepane_domain::{Tier, VendorId, WorkspaceId};
use onepane_store::testing::{TEST_OWNER_ROLE, TEST_SERVER_ROLE, TestDb};

use crate::harness::Workdir;

fn urls(db: &TestDb) -> (String, String) {
    (
        db.postgres_url_as(TEST_SERVER_ROLE).unwrap(),
        db.postgres_url_as(TEST_OWNER_ROLE).unwrap(),
    )
}

#[tokio::test]
async fn serve_as_the_server_role_is_ready_and_migrates_as_the_owner() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (server_url, owner_url) = urls(&db);
    let work = Workdir::new();
    let server = work.serve(
        &[],
        &[
            ("ONEPANE_DATABASE_URL", &server_url),
            ("ONEPANE_MIGRATION_DATABASE_URL", &owner_url),
        ],
    );
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l.contains("backend") && l.contains("postgres")),
        "{logs:#?}"
    );
    assert!(
        !work.data_dir().join("onepane.db").exists(),
        "no SQLite file on PostgreSQL"
    );
}

#[tokio::test]
async fn serve_refuses_a_role_that_bypasses_row_level_security() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let superuser = db.postgres_superuser_url().unwrap();
    let work = Workdir::new();
    let run = work.run_with(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("ONEPANE_DATABASE_URL", superuser.as_str())],
    );
    let line = run.error_line(2);
    assert!(line.contains("superuser or has BYPASSRLS"), "{line}");
    assert!(!work.data_dir().join("secret.key").exists());
    // The owner is refused too: it could switch row-level security off.
    let (_, owner_url) = urls(&db);
    let run = work.run_with(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("ONEPANE_DATABASE_URL", &owner_url)],
    );
    assert!(run.error_line(2).contains("owns"), "{run:?}");
    // The database is checked before a key is generated for it.
    assert!(!work.data_dir().join("secret.key").exists());
}

#[tokio::test]
async fn serve_refuses_a_stale_schema_even_after_migrating_another_database_as_the_owner() {
    use sqlx::Connection as _;

    let (Some(db), Some(other)) = (TestDb::postgres().await, TestDb::postgres().await) else {
        return;
    };
    // The server's database loses the record of its newest migration.
    let mut conn = sqlx::PgConnection::connect(&db.postgres_superuser_url().unwrap())
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let (server_url, _) = urls(&db);
    // The owner URL points at a different, current database by mistake.
    let (_, other_owner_url) = urls(&other);
    let work = Workdir::new();
    let run = work.run_with(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("ONEPANE_DATABASE_URL", server_url.as_str()),
            ("ONEPANE_MIGRATION_DATABASE_URL", other_owner_url.as_str()),
        ],
    );
    let line = run.error_line(1);
    assert!(line.contains("lacks migrations"), "{line}");
    assert!(!work.data_dir().join("secret.key").exists());
}

#[tokio::test]
async fn admin_commands_work_as_the_server_role_through_row_level_security() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (server_url, _) = urls(&db);
    let work = Workdir::new();
    let env = [("ONEPANE_DATABASE_URL", server_url.as_str())];
    let ws = work.run_with(
        &[
            "admin",
            "create-workspace",
            "--name",
            "Acme Oy",
            "--owner-email",
            "o@acme.example",
            "--json",
        ],
        &env,
    );
    let ws: WorkspaceId = ws.json()["workspace_id"].as_str().unwrap().parse().unwrap();
    let v = work.run_with(
        &["admin", "create-vendor", "--name", "Canon", "--json"],
        &env,
    );
    let v: VendorId = v.json()["vendor_id"].as_str().unwrap().parse().unwrap();
    work.run_with(
        &[
            "admin",
            "link",
            "--workspace",
            &ws.to_string(),
            "--vendor",
            &v.to_string(),
            "--tier",
            "platinum",
            "--partner-type",
            "msp",
            "--json",
        ],
        &env,
    )
    .ok();
    let vendors = db.store.partner(ws).vendors().await.unwrap();
    assert_eq!(vendors.len(), 1);
    assert_eq!(
        (vendors[0].vendor.id, vendors[0].link.tier),
        (v, Tier::Platinum)
    );
    let partners = db.store.vendor(v).partners().await.unwrap();
    assert_eq!(partners[0].name.as_str(), "Acme Oy");
}

/// Managed PostgreSQL asks for TLS: a database URL with `sslmode=require`
/// connects encrypted (the test cluster serves TLS, as Debian's does by
/// default), and the server serves over it.
#[tokio::test]
async fn a_database_url_asking_for_tls_connects_encrypted() {
    use sqlx::Connection as _;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (server_url, owner_url) = urls(&db);
    let with_tls = |url: &str| {
        let joiner = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joiner}sslmode=require")
    };
    let mut plain = sqlx::PgConnection::connect(&server_url).await.unwrap();
    let served: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&mut plain)
        .await
        .unwrap();
    assert_eq!(served, "on", "the test cluster must serve TLS (ssl = on)");
    let mut encrypted = sqlx::PgConnection::connect(&with_tls(&server_url))
        .await
        .unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut encrypted)
        .await
        .unwrap();
    assert!(ssl, "the connection is not encrypted");

    let work = Workdir::new();
    let (server_tls, owner_tls) = (with_tls(&server_url), with_tls(&owner_url));
    let server = work.serve(
        &[],
        &[
            ("ONEPANE_DATABASE_URL", &server_tls),
            ("ONEPANE_MIGRATION_DATABASE_URL", &owner_tls),
        ],
    );
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");
}
