//! Faults from outside: the real binary killed and restarted under load.

use std::collections::HashMap;
use std::time::Duration;

use onepane_store::testing::{TEST_OWNER_ROLE, TEST_SERVER_ROLE, TestDb};
use onepane_store::{DatabaseUrl, Store, StoreOptions};
use serde_json::{Value, json};

use crate::harness::{Backend, ServeProcess, Workdir};
use crate::world::World;

/// How many clients write at once.
const CLIENTS: usize = 8;

/// A workspace linked to a vendor, and a partner token, made with the
/// operator's commands.
struct Setup {
    work: Workdir,
    env: Vec<(&'static str, String)>,
    db: Option<TestDb>,
    vendor: String,
    token: String,
}

impl Setup {
    async fn new(postgres: bool) -> Option<Setup> {
        // The load is one client's: its rate is not what is tested.
        let mut env = vec![
            ("ONEPANE_RATE_LIMIT_PER_MINUTE", "6000000".to_owned()),
            ("ONEPANE_RATE_LIMIT_BURST", "100000".to_owned()),
        ];
        let db = if postgres {
            let db = TestDb::postgres().await?;
            env.extend([
                (
                    "ONEPANE_DATABASE_URL",
                    db.postgres_url_as(TEST_SERVER_ROLE).unwrap(),
                ),
                (
                    "ONEPANE_MIGRATION_DATABASE_URL",
                    db.postgres_url_as(TEST_OWNER_ROLE).unwrap(),
                ),
            ]);
            Some(db)
        } else {
            None
        };
        let mut setup = Setup {
            work: Workdir::new(),
            env,
            db,
            vendor: String::new(),
            token: String::new(),
        };
        let ws = setup.admin(&[
            "create-workspace",
            "--name",
            "Acme Oy",
            "--owner-email",
            "o@acme.example",
        ]);
        let ws = ws["workspace_id"].as_str().unwrap().to_owned();
        let vendor = setup.admin(&["create-vendor", "--name", "Canon"]);
        setup.vendor = vendor["vendor_id"].as_str().unwrap().to_owned();
        let vendor = setup.vendor.clone();
        setup.admin(&[
            "link",
            "--workspace",
            &ws,
            "--vendor",
            &vendor,
            "--tier",
            "gold",
            "--partner-type",
            "var",
        ]);
        let token = setup.admin(&[
            "create-token",
            "--workspace",
            &ws,
            "--email",
            "o@acme.example",
        ]);
        setup.token = token["token"].as_str().unwrap().to_owned();
        Some(setup)
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    fn admin(&self, args: &[&str]) -> Value {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.push("--json");
        self.work.run_with(&all, &self.env()).json()
    }

    fn serve(&self) -> ServeProcess {
        self.work.serve(&[], &self.env())
    }

    /// Asserts that `keys` deals are stored, each (by its title, the key it
    /// was sent with) exactly once.
    async fn assert_each_stored_once(&self, keys: usize) {
        let store = self.store().await;
        let ws = store.operator().workspaces().await.unwrap()[0].id;
        let mut stored: HashMap<String, usize> = HashMap::new();
        for r in store.partner(ws).deal_registrations().await.unwrap() {
            *stored
                .entry(r.details.title.as_str().to_owned())
                .or_default() += 1;
        }
        let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "stored more than once: {twice:?}");
        assert_eq!(stored.len(), keys, "every acknowledged deal is stored");
    }

    /// The store the server wrote to, for counting what it kept.
    async fn store(&self) -> Store {
        match &self.db {
            Some(db) => db.store.clone(),
            None => Store::connect(
                &DatabaseUrl::in_data_dir(&self.work.data_dir()),
                &StoreOptions::default(),
            )
            .await
            .unwrap(),
        }
    }
}

fn deal(vendor: &str, title: &str) -> Value {
    json!({
        "vendor_ids": [vendor],
        "title": title,
        "customer": {"name": "Customer Oy", "domain": "customer.example", "country": "FI"},
        "amount": {"value": "100.00", "currency": "EUR"},
    })
}

/// What a keyed write's first attempt got back.
#[derive(Debug, Clone)]
enum First {
    /// An answer, with the registration's id on 201.
    Answered(u16, Option<String>),
    /// No answer: the server died under it.
    Lost,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Result<(u16, Value, bool)> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .timeout(Duration::from_secs(20))
        .send()
        .await?;
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body, replayed))
}

fn registration_id(body: &Value) -> Option<String> {
    body["registrations"][0]["id"].as_str().map(str::to_owned)
}

/// Deal registrations have no natural key: only the idempotency key keeps
/// a retry from registering the deal twice. The server is killed with
/// SIGKILL while clients register deals, each with its own key; after a
/// restart every key is sent again. Every retry is answered (none 409),
/// an answered first attempt is replayed as it was, and each deal is
/// stored exactly once.
async fn a_keyed_write_retried_after_a_crash_is_stored_exactly_once(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let server = setup.serve();
    let url = server.url("/api/v1/deal-registrations");
    let client = reqwest::Client::new();
    let mut writers = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, token, vendor) = (
            client.clone(),
            url.clone(),
            setup.token.clone(),
            setup.vendor.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for i in 0.. {
                let key = format!("deal-{c}-{i}");
                match post(&client, &url, &token, &key, &deal(&vendor, &key)).await {
                    Ok((status, body, _)) => {
                        sent.push((key, First::Answered(status, registration_id(&body))));
                    }
                    Err(_) => {
                        sent.push((key, First::Lost));
                        break;
                    }
                }
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    let mut sent = Vec::new();
    for w in writers {
        sent.extend(w.await.unwrap());
    }
    let answered = sent
        .iter()
        .filter(|(_, f)| matches!(f, First::Answered(201, _)))
        .count();
    assert!(
        answered >= CLIENTS,
        "too few writes before the crash: {answered}"
    );
    let odd: Vec<_> = sent
        .iter()
        .filter(|(_, f)| !matches!(f, First::Answered(201, _) | First::Lost))
        .collect();
    assert!(odd.is_empty(), "{odd:?}");

    let server = setup.serve();
    let url = server.url("/api/v1/deal-registrations");
    for (key, first) in &sent {
        let (status, body, replayed) =
            post(&client, &url, &setup.token, key, &deal(&setup.vendor, key))
                .await
                .unwrap();
        assert_eq!(status, 201, "retry of {key} (first: {first:?}): {body}");
        if let First::Answered(_, id) = first {
            assert!(replayed, "an answered {key} was not replayed: {body}");
            assert_eq!(&registration_id(&body), id, "{key}");
        }
    }
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");

    setup.assert_each_stored_once(sent.len()).await;
}

#[tokio::test]
async fn a_keyed_write_retried_after_a_crash_is_stored_exactly_once_on_sqlite() {
    a_keyed_write_retried_after_a_crash_is_stored_exactly_once(false).await;
}

#[tokio::test]
async fn a_keyed_write_retried_after_a_crash_is_stored_exactly_once_on_postgres() {
    a_keyed_write_retried_after_a_crash_is_stored_exactly_once(true).await;
}

/// PostgreSQL cuts the server's connections (a restart, a failover): a
/// request whose statement was cut is answered 503 with `Retry-After`, not
/// 500; while the database refuses connections `/readyz` says 503 at once,
/// and 200 again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_is_answered_503_and_readiness_says_so_at_once() {
    use sqlx::Connection as _;
    let Some(w) = World::new(Backend::Postgres).await else {
        return;
    };
    let db = w.app.db.as_ref().unwrap();
    let superuser = db.postgres_superuser_url().unwrap();
    let mut admin = sqlx::PgConnection::connect(&superuser).await.unwrap();

    // A request held on a lock when its connection is cut.
    let mut locker = sqlx::PgConnection::connect(&superuser).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE deal_registrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let request = w
        .request(
            reqwest::Method::GET,
            "/api/v1/deal-registrations",
            &w.gold.token,
        )
        .send();
    let request = tokio::spawn(request);
    let waiting = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND usename = '{TEST_SERVER_ROLE}' AND wait_event_type = 'Lock'"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let cut = sqlx::query(&waiting).fetch_all(&mut admin).await.unwrap();
        if !cut.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the request never waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "https://onepane.dev/problems/unavailable");
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();

    // The database refuses the server's connections, and cuts the open ones.
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    // A database cannot be closed from inside: from the cluster's own.
    let cluster = std::env::var("ONEPANE_TEST_DATABASE_URL").unwrap();
    let mut outside = sqlx::PgConnection::connect(&cluster).await.unwrap();
    let allow = |on: bool| format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {on}");
    sqlx::query(&allow(false))
        .execute(&mut outside)
        .await
        .unwrap();
    sqlx::query(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND usename = '{TEST_SERVER_ROLE}'"
    ))
    .execute(&mut outside)
    .await
    .unwrap();
    let ready = |want: u16| {
        let app = &w.app;
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let asked = std::time::Instant::now();
                let response = app.get("/readyz").await;
                let took = asked.elapsed();
                assert!(took < Duration::from_millis(100), "/readyz took {took:?}");
                if response.status() == want {
                    return response;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "/readyz never said {want}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let down = ready(503).await;
    assert_eq!(down.headers()["retry-after"], "5");
    sqlx::query(&allow(true))
        .execute(&mut outside)
        .await
        .unwrap();
    ready(200).await;
}

/// An `Idempotency-Key` does not lift a route's body limit: a keyed body
/// past the route's megabyte is refused before it is all read, while the
/// price-list upload keeps its own larger limit with a key too.
#[tokio::test]
async fn a_keyed_body_is_held_to_its_routes_own_limit() {
    let Some(w) = World::new(Backend::Sqlite).await else {
        return;
    };
    // A client that says 10 MiB follow, sends 1.5 MiB, then waits: the
    // answer comes without the rest (the server never buffers past 1 MiB).
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(w.app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/deal-registrations HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Idempotency-Key: big-1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        w.app.addr,
        w.gold.token,
        10 << 20
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let part = vec![b' '; 3 << 19];
    // The server may answer and close before all of it is taken.
    let _ = stream.write_all(&part).await;
    let mut answer = vec![0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("no answer until the whole body came");
    let answer = &answer[..read.unwrap()];
    assert!(
        answer.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(answer)
    );

    let (status, body) = w
        .call(
            reqwest::Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026",
            &w.v1.token,
            Some(json!({"name": "EU 2026", "currency": "EUR"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // About 2 MiB of items: over the general limit, under the upload's.
    let n = 20_000;
    let mut ndjson = String::new();
    for i in 0..n {
        ndjson.push_str(
            &json!({"sku": format!("SKU-{i:05}"), "name": format!("Item {i} {}", "y".repeat(60)), "list_price": "10.00"})
                .to_string(),
        );
        ndjson.push('\n');
    }
    assert!(ndjson.len() > 2 << 20, "{}", ndjson.len());
    let response = w
        .request(
            reqwest::Method::PUT,
            "/api/v1/vendor/price-lists/eu-2026/items",
            &w.v1.token,
        )
        .header("idempotency-key", "items-1")
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("\"items\":{n}")), "{body}");
}

/// Idle connections do not starve the server of files: started with a
/// soft open-file limit of 128, it raises it to the hard limit, so with
/// 400 idle connections open `/healthz` still answers at once.
#[tokio::test]
async fn idle_connections_past_the_soft_file_limit_leave_healthz_answering() {
    let work = Workdir::new();
    let server = work.serve_with_open_files(128, &[]);
    let mut idle = Vec::new();
    for _ in 0..400 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    let client = reqwest::Client::new();
    let response = client
        .get(server.url("/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .expect("/healthz did not answer with idle connections open");
    assert_eq!(response.status(), 200);
    drop(idle);
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");
}

/// A small proxy on loopback: each connection goes to the next backend
/// that accepts it, round robin, as a load balancer's would.
async fn round_robin(backends: Vec<std::net::SocketAddr>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            let (backends, next) = (backends.clone(), next.clone());
            tokio::spawn(async move {
                let first = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                for i in 0..backends.len() {
                    let to = backends[(first + i) % backends.len()];
                    if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Three replicas on one PostgreSQL database behind a load balancer; under
/// a load of keyed deal registrations one replica is killed (SIGKILL) and
/// another stopped (SIGTERM). Clients retry whatever failed with the same
/// key. Every deal is stored exactly once, no retry is ever answered 409,
/// and every key sent again afterwards replays its first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_lose_no_write_and_store_none_twice_when_one_is_killed_and_one_stopped() {
    let Some(setup) = Setup::new(true).await else {
        return;
    };
    let mut replicas: Vec<Option<ServeProcess>> = (0..3).map(|_| Some(setup.serve())).collect();
    let addrs = replicas.iter().flatten().map(|r| r.addr).collect();
    let balancer = round_robin(addrs).await;
    let url = format!("http://{balancer}/api/v1/deal-registrations");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = reqwest::Client::new();
    let mut writers = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, token, vendor, stop) = (
            client.clone(),
            url.clone(),
            setup.token.clone(),
            setup.vendor.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            // Key, its registration, and how many tries it took.
            let mut done: Vec<(String, String, u32)> = Vec::new();
            let mut refused = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("deal-{c}-{i}");
                i += 1;
                let mut tries = 0;
                loop {
                    tries += 1;
                    assert!(tries < 400, "{key} never went through");
                    match post(&client, &url, &token, &key, &deal(&vendor, &key)).await {
                        Ok((201, body, _)) => {
                            done.push((key, registration_id(&body).unwrap(), tries));
                            break;
                        }
                        Ok((409, body, _)) => refused.push(format!("{key}: {body}")),
                        // A replica gone mid-request, or a 503 while it goes.
                        Ok((status, _, _)) if status >= 500 => {}
                        Ok((status, body, _)) => panic!("{key}: {status} {body}"),
                        Err(_) => {}
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }
            (done, refused)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if let Some(killed) = replicas[0].take() {
        killed.kill();
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    if let Some(stopped) = replicas[1].take() {
        let (status, logs) = stopped.terminate();
        assert!(status.success(), "{logs:#?}");
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for w in writers {
        let (d, r) = w.await.unwrap();
        done.extend(d);
        refused.extend(r);
    }
    assert!(refused.is_empty(), "answered 409: {refused:#?}");
    assert!(done.len() >= 3 * CLIENTS, "too few writes: {}", done.len());
    assert!(
        done.iter().any(|(_, _, tries)| *tries > 1),
        "no write was cut by the faults; the test proves nothing"
    );

    // Every key again, through what is left: replayed as first answered.
    for (key, id, _) in &done {
        let (status, body, replayed) =
            post(&client, &url, &setup.token, key, &deal(&setup.vendor, key))
                .await
                .unwrap();
        assert_eq!(status, 201, "{key}: {body}");
        assert!(replayed, "{key} ran again: {body}");
        assert_eq!(
            registration_id(&body).as_deref(),
            Some(id.as_str()),
            "{key}"
        );
    }
    setup.assert_each_stored_once(done.len()).await;
    println!(
        "{} keyed writes, {} of them retried through the faults",
        done.len(),
        done.iter().filter(|(_, _, t)| *t > 1).count()
    );
}
