//! `onepane admin backup` taken while the server acknowledges writes, and
//! `onepane admin restore` into a fresh installation: every write
//! acknowledged before the backup began is there, nothing sent after it
//! ended is, and each writer's writes are there as a prefix (one consistent
//! moment), on SQLite and on PostgreSQL.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onepane_store::testing::{TEST_OWNER_ROLE, TEST_SERVER_ROLE, TestDb};
use serde_json::{Value, json};

use crate::harness::{Run, Workdir};

/// Writers sending leads at once, each one after another.
const WRITERS: usize = 4;
/// Leads acknowledged before the backup starts: enough, with their
/// messages, that the copy takes a while and writes land while it runs.
const BEFORE_BACKUP: usize = 200;
/// Leads acknowledged after the backup ends, before the writers stop.
const AFTER_BACKUP: usize = 20;

const OWNER_EMAIL: &str = "owner@backup.example";

/// What the source installation holds for the checks after the restore.
struct Source {
    workspace: String,
    client_id: String,
    client_secret: String,
}

/// The writers' log: when each lead was sent and when it was acknowledged.
#[derive(Default)]
struct Log {
    sent: Vec<(String, Instant)>,
    acked: Vec<(String, Instant)>,
}

/// A server under write load, backed up part-way.
struct Backup {
    source: Source,
    /// Leads acknowledged before the backup began: all must be restored.
    acked_before: HashSet<String>,
    /// Leads sent before the backup ended: nothing else may be restored.
    sent_before_end: HashSet<String>,
    /// Leads acknowledged while the backup ran.
    acked_during: usize,
}

/// Runs the binary with `env` on a blocking thread, so the writers keep going.
async fn run_in_background(work: &Workdir, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = work.command();
    command.args(args).envs(env.iter().copied());
    tokio::task::spawn_blocking(move || {
        let out = command.output().unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// A workspace, a vendor with its API client, and the link between them,
/// made with the admin commands.
fn set_up(work: &Workdir, env: &[(&str, &str)]) -> Source {
    let ws = work.run_with(
        &[
            "admin",
            "create-workspace",
            "--name",
            "Backup Oy",
            "--owner-email",
            OWNER_EMAIL,
            "--json",
        ],
        env,
    );
    let workspace = ws.json()["workspace_id"].as_str().unwrap().to_owned();
    let vendor = work
        .run_with(
            &["admin", "create-vendor", "--name", "Writer", "--json"],
            env,
        )
        .json();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    work.run_with(
        &[
            "admin",
            "link",
            "--workspace",
            &workspace,
            "--vendor",
            vendor["vendor_id"].as_str().unwrap(),
            "--tier",
            "gold",
            "--partner-type",
            "var",
        ],
        env,
    )
    .ok();
    Source {
        workspace,
        client_id: text(&vendor["client_id"]),
        client_secret: text(&vendor["client_secret"]),
    }
}

async fn vendor_token(client: &reqwest::Client, base: &str, source: &Source) -> String {
    let response = client
        .post(format!("{base}/oauth/token"))
        .basic_auth(&source.client_id, Some(&source.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Sends leads one after another until told to stop; each is logged when
/// sent and again when acknowledged (201).
async fn write_leads(
    client: reqwest::Client,
    url: String,
    token: String,
    writer: usize,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
) {
    let message = "A customer asking for a quote. ".repeat(40);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("w{writer}-{n:05}");
        log.lock().unwrap().sent.push((key.clone(), Instant::now()));
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({
                "external_id": key,
                "contact": {"name": format!("Lead {key}"), "email": format!("{key}@customer.example")},
                "message": message,
            }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(status, 201, "{}", response.text().await.unwrap_or_default());
        log.lock().unwrap().acked.push((key, Instant::now()));
        n += 1;
    }
}

async fn wait_for_acks(log: &Mutex<Log>, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while log.lock().unwrap().acked.len() < count {
        assert!(Instant::now() < deadline, "the writers stalled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts the server on `serve_env`, sets up a vendor sending leads to a
/// partner, and takes `admin backup --to FILE` (with `backup_env`) while
/// the writers run.
async fn back_up_under_load(
    work: &Workdir,
    serve_env: &[(&str, &str)],
    backup_env: &[(&str, &str)],
    file: &Path,
) -> Backup {
    let source = set_up(work, serve_env);
    // The writers must not be slowed by the per-client rate limit.
    let mut env = serve_env.to_vec();
    env.extend([
        ("ONEPANE_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("ONEPANE_RATE_LIMIT_BURST", "100000"),
    ]);
    let server = work.serve(&[], &env);
    let client = reqwest::Client::new();
    let token = vendor_token(&client, &server.url(""), &source).await;
    let url = server.url(&format!(
        "/api/v1/vendor/partners/{}/leads",
        source.workspace
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Log::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            tokio::spawn(write_leads(
                client.clone(),
                url.clone(),
                token.clone(),
                w,
                Arc::clone(&stop),
                Arc::clone(&log),
            ))
        })
        .collect();
    wait_for_acks(&log, BEFORE_BACKUP).await;

    let began = Instant::now();
    let to = file.to_str().unwrap();
    let run = run_in_background(work, &["admin", "backup", "--to", to], backup_env).await;
    let ended = Instant::now();
    let said = run.ok().to_owned();
    assert!(said.contains("Backed up"), "{run:?}");
    assert!(said.contains("secret key"), "{run:?}");

    let acked_by_end = log.lock().unwrap().acked.len();
    wait_for_acks(&log, acked_by_end + AFTER_BACKUP).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");

    let log = log.lock().unwrap();
    let acked_before: HashSet<String> = log
        .acked
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(k, _)| k.clone())
        .collect();
    let sent_before_end = log
        .sent
        .iter()
        .filter(|(_, at)| *at < ended)
        .map(|(k, _)| k.clone())
        .collect();
    let acked_during = log
        .acked
        .iter()
        .filter(|(_, at)| *at >= began && *at < ended)
        .count();
    eprintln!(
        "backup took {:?}: {} leads acknowledged before it, {acked_during} while it ran, {} in all",
        ended - began,
        acked_before.len(),
        log.acked.len()
    );
    assert!(acked_before.len() >= BEFORE_BACKUP);
    Backup {
        source,
        acked_before,
        sent_before_end,
        acked_during,
    }
}

/// Serves the restored installation and checks its leads against the
/// writers' log, through the partner API with a token made on it.
async fn check_restored(work: &Workdir, serve_env: &[(&str, &str)], backup: &Backup) {
    let token = work
        .run_with(
            &[
                "admin",
                "create-token",
                "--workspace",
                &backup.source.workspace,
                "--email",
                OWNER_EMAIL,
                "--json",
            ],
            serve_env,
        )
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = work.serve(&[], serve_env);
    let client = reqwest::Client::new();
    // The vendor's API client came back with its secret.
    vendor_token(&client, &server.url(""), &backup.source).await;
    let mut restored = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.url("/api/v1/leads?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for lead in page["items"].as_array().unwrap() {
            let email = lead["contact"]["email"].as_str().unwrap();
            let key = email.strip_suffix("@customer.example").unwrap().to_owned();
            assert!(restored.insert(key), "a lead twice: {email}");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");

    let mut missing: Vec<&String> = backup.acked_before.difference(&restored).collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup began but not restored: {missing:?}"
    );
    let mut late: Vec<&String> = restored.difference(&backup.sent_before_end).collect();
    late.sort();
    assert!(
        late.is_empty(),
        "sent after the backup ended yet restored: {late:?}"
    );
    // Each writer waits for one answer before it sends the next lead, so a
    // consistent copy holds a prefix of each writer's leads.
    let mut per_writer: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for key in &restored {
        let (writer, n) = key.split_once('-').unwrap();
        per_writer
            .entry(writer)
            .or_default()
            .push(n.parse().unwrap());
    }
    for (writer, mut numbers) in per_writer {
        numbers.sort_unstable();
        let expected: Vec<usize> = (0..numbers.len()).collect();
        assert_eq!(numbers, expected, "writer {writer}'s leads have a gap");
    }
    eprintln!(
        "restored {} leads ({} acknowledged before the backup, {} during it)",
        restored.len(),
        backup.acked_before.len(),
        backup.acked_during
    );
}

async fn sqlite_integrity(path: &Path) -> String {
    use sqlx::Connection as _;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let (answer,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_writes_are_acknowledged_restores_every_write_acknowledged_before_it()
{
    let source = Workdir::new();
    let file = source.path().join("onepane.backup");
    let backup = back_up_under_load(&source, &[], &[], &file).await;
    assert_eq!(sqlite_integrity(&file).await, "ok");

    // A second backup to the same file needs --force.
    let again = source.run(&["admin", "backup", "--to", file.to_str().unwrap()]);
    assert!(again.error_line(2).contains("--force"), "{again:?}");

    let target = Workdir::new();
    let from = file.to_str().unwrap();
    let run = target.run(&["admin", "restore", "--from", from]);
    let said = run.ok();
    assert!(said.contains("Restored"), "{run:?}");
    assert!(said.contains("integrity ok"), "{run:?}");
    // No key in the fresh data directory yet: the restore says what to do.
    assert!(said.contains("No secret key is in place"), "{run:?}");
    let database = target.data_dir().join("onepane.db");
    assert_eq!(sqlite_integrity(&database).await, "ok");

    // The database is there now: replacing it needs --force.
    let refused = target.run(&["admin", "restore", "--from", from]);
    assert!(refused.error_line(2).contains("--force"), "{refused:?}");

    // With the backed-up installation's key in place, the restore finds
    // that it opens the sealed secrets.
    std::fs::copy(
        source.data_dir().join("secret.key"),
        target.data_dir().join("secret.key"),
    )
    .unwrap();
    let run = target.run(&["admin", "restore", "--from", from, "--force"]);
    assert!(
        run.ok()
            .contains("The secret key in place opens the backup's sealed secrets"),
        "{run:?}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(target.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    check_restored(&target, &[], &backup).await;
    assert_eq!(sqlite_integrity(&database).await, "ok");
}

#[tokio::test]
async fn a_restore_refuses_a_file_that_is_not_an_onepane_database_and_changes_nothing() {
    let work = Workdir::new();
    let junk = work.path().join("junk.backup");
    std::fs::write(&junk, b"not a database at all, just some bytes").unwrap();
    let run = work.run(&["admin", "restore", "--from", junk.to_str().unwrap()]);
    let line = run.error_line(2);
    assert!(line.contains("cannot be restored"), "{line}");
    assert!(!work.data_dir().join("onepane.db").exists());

    let missing = work.run(&["admin", "restore", "--from", "no-such.backup"]);
    assert!(
        missing.error_line(2).contains("cannot read the backup"),
        "{missing:?}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(work.data_dir())
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Nothing to back up in an empty data directory.
    let to = work.path().join("b.backup");
    let run = work.run(&["admin", "backup", "--to", to.to_str().unwrap()]);
    assert!(run.error_line(2).contains("no SQLite database"), "{run:?}");
    assert!(!to.exists());
}

/// The backup role docs/backups.md describes (BYPASSRLS, reads all data),
/// made once on the test server; returns its URL for `db`.
async fn create_backup_role(db: &TestDb) -> String {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&db.postgres_superuser_url().unwrap())
        .await
        .unwrap();
    // Roles belong to the whole server, which other tests share.
    sqlx::raw_sql(
        "SELECT pg_advisory_lock(7250166);
         DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onepane_test_backup') THEN
             CREATE ROLE onepane_test_backup LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS;
             GRANT pg_read_all_data TO onepane_test_backup;
           END IF;
         END $$;
         SELECT pg_advisory_unlock(7250166);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    db.postgres_url_as("onepane_test_backup").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_taken_while_writes_are_acknowledged_restores_every_write_acknowledged_before_it()
{
    let (Some(source_db), Some(target_db)) = (TestDb::postgres().await, TestDb::postgres().await)
    else {
        return;
    };
    let app = source_db.postgres_url_as(TEST_SERVER_ROLE).unwrap();
    let owner = source_db.postgres_url_as(TEST_OWNER_ROLE).unwrap();
    let backup_role = create_backup_role(&source_db).await;
    let source = Workdir::new();
    let file = source.path().join("onepane.dump");

    // Neither the owner nor the server role reads past row-level security,
    // so their dumps are refused before pg_dump runs.
    for role in [&owner, &app] {
        let refused = source.run_with(
            &["admin", "backup", "--to", file.to_str().unwrap()],
            &[("ONEPANE_DATABASE_URL", role.as_str())],
        );
        assert!(
            refused.error_line(2).contains("row-level security"),
            "{refused:?}"
        );
        assert!(!file.exists());
    }

    // Without pg_dump on the path the command says what to install.
    let run = source.run_with(
        &["admin", "backup", "--to", file.to_str().unwrap()],
        &[
            ("ONEPANE_DATABASE_URL", backup_role.as_str()),
            ("PATH", "/nonexistent"),
        ],
    );
    assert!(
        run.error_line(1).contains("pg_dump is not installed"),
        "{run:?}"
    );
    assert!(!file.exists());

    let backup = back_up_under_load(
        &source,
        &[("ONEPANE_DATABASE_URL", app.as_str())],
        &[("ONEPANE_DATABASE_URL", backup_role.as_str())],
        &file,
    )
    .await;

    let target = Workdir::new();
    std::fs::create_dir_all(target.data_dir()).unwrap();
    std::fs::copy(
        source.data_dir().join("secret.key"),
        target.data_dir().join("secret.key"),
    )
    .unwrap();
    let target_app = target_db.postgres_url_as(TEST_SERVER_ROLE).unwrap();
    let target_owner = target_db.postgres_url_as(TEST_OWNER_ROLE).unwrap();
    let restore_env = [
        ("ONEPANE_DATABASE_URL", target_app.as_str()),
        ("ONEPANE_MIGRATION_DATABASE_URL", target_owner.as_str()),
    ];
    let from = file.to_str().unwrap();
    // The target holds a schema already: replacing it needs --force.
    let refused = target.run_with(&["admin", "restore", "--from", from], &restore_env);
    assert!(refused.error_line(2).contains("--force"), "{refused:?}");
    let run = target.run_with(
        &["admin", "restore", "--from", from, "--force"],
        &restore_env,
    );
    let said = run.ok();
    assert!(said.contains("Restored"), "{run:?}");
    assert!(
        said.contains("The secret key in place opens the backup's sealed secrets"),
        "{run:?}"
    );
    check_restored(
        &target,
        &[("ONEPANE_DATABASE_URL", target_app.as_str())],
        &backup,
    )
    .await;
}
