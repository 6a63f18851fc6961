//! The server's resident memory, measured from outside: the real binary
//! (`onepane serve`, built for the benchmark) on each backend, its
//! resident set read from `/proc/<pid>/status` every 50 ms through four
//! phases:
//!
//! 1. idle, three seconds after it starts;
//! 2. a flood of the token endpoint: 50 clients sending client-credentials
//!    requests as fast as they are answered (half with a right secret, half
//!    for a client that does not exist);
//! 3. a mixed load of 32 clients: partner reads of the leads, vendor writes
//!    of leads, and token requests;
//! 4. a minute after the load.
//!
//! Each is printed with the budget it is held to: idle under 60 MiB, the
//! flood and the load under 250 MiB, and under 100 MiB a minute after.
//! Run with `cargo bench -p onepane-cli --bench memory`; PostgreSQL is
//! measured when ONEPANE_TEST_DATABASE_URL answers. ONEPANE_BENCH_SECONDS
//! (default 20) sets how long the flood and the load last, and
//! ONEPANE_BENCH_SETTLE (default 60) the wait after.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use onepane_store::testing::{TEST_OWNER_ROLE, TEST_SERVER_ROLE, TestDb};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_onepane");
const MIB: u64 = 1024;

fn seconds(var: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// The resident set of `pid`, in KiB.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples `pid`'s resident set every 50 ms until stopped; the peak.
struct Peak {
    most: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Peak {
    fn watch(pid: u32) -> Peak {
        let (most, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (m, s) = (most.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(rss(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Peak { most, stop }
    }

    fn end(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.most.load(Ordering::Relaxed)
    }
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(env: &[(String, String)]) -> Command {
    let mut c = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ONEPANE_") {
            c.env_remove(name);
        }
    }
    c.envs(env.iter().map(|(k, v)| (k, v)));
    c
}

fn admin(env: &[(String, String)], args: &[&str]) -> Value {
    let out = command(env)
        .arg("admin")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn start(env: &[(String, String)]) -> Server {
    let mut child = command(env)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || ".:".contains(*c))
                    .collect();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap()
        .parse()
        .unwrap();
    Server { child, addr }
}

/// What the clients use: a workspace linked to a vendor, its partner token,
/// the vendor's API client.
struct Tenants {
    workspace: String,
    partner_token: String,
    client_id: String,
    secret: String,
}

fn tenants(env: &[(String, String)]) -> Tenants {
    let ws = admin(
        env,
        &[
            "create-workspace",
            "--name",
            "Acme Oy",
            "--owner-email",
            "o@acme.example",
        ],
    );
    let workspace = ws["workspace_id"].as_str().unwrap().to_owned();
    let v = admin(env, &["create-vendor", "--name", "Canon"]);
    let vendor = v["vendor_id"].as_str().unwrap();
    admin(
        env,
        &[
            "link",
            "--workspace",
            &workspace,
            "--vendor",
            vendor,
            "--tier",
            "gold",
            "--partner-type",
            "var",
        ],
    );
    let t = admin(
        env,
        &[
            "create-token",
            "--workspace",
            &workspace,
            "--email",
            "o@acme.example",
        ],
    );
    Tenants {
        partner_token: t["token"].as_str().unwrap().to_owned(),
        client_id: v["client_id"].as_str().unwrap().to_owned(),
        secret: v["client_secret"].as_str().unwrap().to_owned(),
        workspace,
    }
}

async fn token(
    client: &reqwest::Client,
    addr: SocketAddr,
    id: &str,
    secret: &str,
) -> Option<String> {
    let r = client
        .post(format!("http://{addr}/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .ok()?;
    let body: Value = r.json().await.ok()?;
    body["access_token"].as_str().map(str::to_owned)
}

/// Runs `clients` tasks of `work(n, i)` for `lasting`; requests answered.
async fn load<F, Fut>(clients: usize, lasting: Duration, work: F) -> u64
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let work = Arc::new(work);
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + lasting;
    let mut tasks = Vec::new();
    for n in 0..clients {
        let (work, done) = (work.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < until {
                work(n, i).await;
                i += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / MIB as f64)
}

async fn measure(backend: &str, env: Vec<(String, String)>) {
    let t = tenants(&env);
    let server = start(&env);
    let (addr, pid) = (server.addr, server.child.id());
    let client = reqwest::Client::new();
    let vendor_token = token(&client, addr, &t.client_id, &t.secret).await.unwrap();
    let lasting = seconds("ONEPANE_BENCH_SECONDS", 20);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = rss(pid);

    let peak = Peak::watch(pid);
    let (c, id, secret) = (client.clone(), t.client_id.clone(), t.secret.clone());
    let flood = load(50, lasting, move |n, _| {
        let (c, id, secret) = (c.clone(), id.clone(), secret.clone());
        async move {
            if n % 2 == 0 {
                let _ = token(&c, addr, &id, &secret).await;
            } else {
                let _ = token(&c, addr, "01890000-0000-7000-8000-000000000000", &secret).await;
            }
        }
    })
    .await;
    let flood_peak = peak.end();

    let peak = Peak::watch(pid);
    let (c, ws, partner, vendor) = (
        client.clone(),
        t.workspace.clone(),
        t.partner_token.clone(),
        vendor_token.clone(),
    );
    let (id, secret) = (t.client_id.clone(), t.secret.clone());
    let mixed = load(32, lasting, move |n, i| {
        let (c, ws, partner, vendor, id, secret) = (
            c.clone(),
            ws.clone(),
            partner.clone(),
            vendor.clone(),
            id.clone(),
            secret.clone(),
        );
        async move {
            match n % 3 {
                0 => {
                    let _ = c
                        .get(format!("http://{addr}/api/v1/leads?limit=50"))
                        .bearer_auth(&partner)
                        .send()
                        .await
                        .map(|r| r.bytes());
                }
                1 => {
                    let lead = json!({"external_id": format!("crm-{n}-{i}"),
                        "contact": {"name": format!("Contact {i}"), "email": format!("c{n}.{i}@customer.example")},
                        "company": {"name": format!("Customer {} Oy", i % 97), "country": "FI"}});
                    let _ = c
                        .post(format!("http://{addr}/api/v1/vendor/partners/{ws}/leads"))
                        .bearer_auth(&vendor)
                        .json(&lead)
                        .send()
                        .await;
                }
                _ => {
                    let _ = token(&c, addr, &id, &secret).await;
                }
            }
        }
    })
    .await;
    let mixed_peak = peak.end();

    let settle = seconds("ONEPANE_BENCH_SETTLE", 60);
    tokio::time::sleep(settle).await;
    let after = rss(pid);
    let secs = lasting.as_secs_f64();
    let verdict = |kib: u64, budget: u64| {
        if kib < budget * MIB { "within" } else { "OVER" }
    };
    println!(
        "| {backend} | idle | {} | under 60 MiB: {} |",
        mib(idle),
        verdict(idle, 60)
    );
    println!(
        "| {backend} | token flood, 50 clients ({:.0} requests/s) | peak {} | under 250 MiB: {} |",
        flood as f64 / secs,
        mib(flood_peak),
        verdict(flood_peak, 250)
    );
    println!(
        "| {backend} | mixed load, 32 clients ({:.0} requests/s) | peak {} | under 250 MiB: {} |",
        mixed as f64 / secs,
        mib(mixed_peak),
        verdict(mixed_peak, 250)
    );
    println!(
        "| {backend} | {} s after the load | {} | under 100 MiB: {} |",
        settle.as_secs(),
        mib(after),
        verdict(after, 100)
    );
    drop(server);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("| backend | phase | resident memory | budget |");
        println!("|---|---|---|---|");
        let dir = tempfile::tempdir().unwrap();
        let high = [
            (
                "ONEPANE_RATE_LIMIT_PER_MINUTE".to_owned(),
                "100000000".to_owned(),
            ),
            ("ONEPANE_RATE_LIMIT_BURST".to_owned(), "1000000".to_owned()),
            (
                "ONEPANE_LOG".to_owned(),
                "warn,onepane_server::startup=info".to_owned(),
            ),
        ];
        let mut env = high.to_vec();
        env.push((
            "ONEPANE_DATA_DIR".to_owned(),
            dir.path().join("data").display().to_string(),
        ));
        measure("SQLite", env).await;
        match TestDb::postgres().await {
            Some(db) => {
                let pg_dir = tempfile::tempdir().unwrap();
                let mut env = high.to_vec();
                env.extend([
                    (
                        "ONEPANE_DATA_DIR".to_owned(),
                        pg_dir.path().join("data").display().to_string(),
                    ),
                    (
                        "ONEPANE_DATABASE_URL".to_owned(),
                        db.postgres_url_as(TEST_SERVER_ROLE).unwrap(),
                    ),
                    (
                        "ONEPANE_MIGRATION_DATABASE_URL".to_owned(),
                        db.postgres_url_as(TEST_OWNER_ROLE).unwrap(),
                    ),
                ]);
                measure("PostgreSQL", env).await;
            }
            None => {
                println!("\nPostgreSQL skipped: no server answers at ONEPANE_TEST_DATABASE_URL.")
            }
        }
    });
}
