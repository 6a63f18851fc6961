//! `onepane demo` as a newcomer runs it: the URL, login and token it
//! prints work; each simulated vendor's data arrives its own way (pulled
//! through the rest connector, pushed through the connector API, read
//! from a CSV file); a deal registration is decided by the vendor; and a
//! second start on the same directory reuses everything.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use onepane_domain::text::Email;
use onepane_store::{DatabaseUrl, Store, StoreOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Workdir;

/// How long a start may take to say where it listens, and the data to arrive.
const DEADLINE: Duration = Duration::from_secs(60);

/// A running `onepane demo`; killed if a test ends without stopping it.
struct DemoProcess {
    child: Option<Child>,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    started: Instant,
    printed: Vec<String>,
    url: String,
    password: String,
    token: String,
    client: reqwest::Client,
}

impl DemoProcess {
    fn start(work: &Workdir, data_dir: &Path) -> DemoProcess {
        let started = Instant::now();
        let mut child = work
            .command()
            .args(["--log", "warn", "--data-dir"])
            .arg(data_dir)
            .args(["demo", "--listen", "127.0.0.1:0", "--decide-after", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&stderr);
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                collected.lock().unwrap().push(line);
            }
        });
        let mut demo = DemoProcess {
            child: Some(child),
            stdout,
            stderr,
            started,
            printed: Vec::new(),
            url: String::new(),
            password: String::new(),
            token: String::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        };
        let open = demo.wait_for_line("Open http://");
        // `Open http://127.0.0.1:PORT  Log in as demo@onepane.example / PASSWORD`
        let (url, login) = open
            .trim_start_matches("Open ")
            .split_once("  Log in as ")
            .unwrap_or_else(|| panic!("unexpected login line: {open}"));
        let (email, password) = login.split_once(" / ").unwrap();
        assert_eq!(email, "demo@onepane.example");
        demo.url = url.to_owned();
        demo.password = password.to_owned();
        let token_line = demo
            .printed
            .iter()
            .find(|l| l.starts_with("Partner API token: "))
            .unwrap_or_else(|| panic!("no token line in {:#?}", demo.printed))
            .clone();
        demo.token = token_line
            .trim_start_matches("Partner API token: ")
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        demo
    }

    /// Reads standard output until a line contains `needle`; returns it.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = self.started + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    self.printed.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the demo never printed `{needle}`; stdout {:#?}, stderr {:#?}",
                    self.printed,
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        crate::world::read(request.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Sends SIGTERM and waits for the process to end.
    fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the demo did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the partner sees, per vendor name: campaigns, leads and price items.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    vendors: Vec<(String, String, String)>,
    campaigns: Vec<(String, usize)>,
    leads: Vec<(String, usize)>,
    price_items: Vec<(String, usize)>,
    assets: usize,
    connections: usize,
}

async fn seen(demo: &DemoProcess) -> Seen {
    let vendors = demo.get("/api/v1/vendors").await;
    let vendors: Vec<(String, String, String, String)> = vendors["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["name"].as_str().unwrap().to_owned(),
                v["kind"].as_str().unwrap().to_owned(),
                v["tier"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let name_of = |id: &Value| {
        vendors
            .iter()
            .find(|v| Some(v.0.as_str()) == id.as_str())
            .map_or_else(|| format!("unknown vendor {id}"), |v| v.1.clone())
    };
    let per_vendor = |items: &Value| {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for item in items["items"].as_array().unwrap() {
            let name = name_of(&item["vendor_id"]);
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, n)) => *n += 1,
                None => counts.push((name, 1)),
            }
        }
        counts.sort();
        counts
    };
    let campaigns = per_vendor(&demo.get("/api/v1/campaigns").await);
    let leads = per_vendor(&demo.get("/api/v1/leads?limit=500").await);
    let price_items = per_vendor(&demo.get("/api/v1/price-items?limit=500").await);
    let assets = demo.get("/api/v1/assets").await["items"]
        .as_array()
        .unwrap()
        .len();
    let connections = demo
        .get("/api/v1/connections")
        .await
        .as_array()
        .map_or(0, Vec::len);
    Seen {
        vendors: vendors
            .into_iter()
            .map(|(_, name, kind, tier)| (name, kind, tier))
            .collect(),
        campaigns,
        leads,
        price_items,
        assets,
        connections,
    }
}

fn counts(pairs: &[(&str, usize)]) -> Vec<(String, usize)> {
    pairs.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
}

/// Polls until the partner sees every vendor's data, or fails at the deadline.
async fn wait_for_everything(demo: &DemoProcess) -> Seen {
    let expected_campaigns = counts(&[("Contoso Security", 3), ("Northwind Networks", 3)]);
    let expected_leads = counts(&[("Contoso Security", 7), ("Northwind Networks", 8)]);
    let expected_items = counts(&[
        ("Contoso Security", 12),
        ("Fabrikam Distribution", 14),
        ("Northwind Networks", 16),
    ]);
    let deadline = demo.started + DEADLINE;
    loop {
        let now = seen(demo).await;
        if now.campaigns == expected_campaigns
            && now.leads == expected_leads
            && now.price_items == expected_items
        {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the vendors' data never all arrived: {now:#?}; stderr {:#?}",
            demo.stderr.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn vendor_id(vendors: &Value, name: &str) -> String {
    vendors["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {vendors}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Registers a deal with one vendor; returns the registration's id.
async fn register(demo: &DemoProcess, vendor: &str, title: &str) -> String {
    let (status, body) = demo
        .call(
            Method::POST,
            "/api/v1/deal-registrations",
            Some(json!({
                "vendor_ids": [vendor],
                "title": title,
                "customer": {"name": "Lahden Kuljetus Oy", "domain": "lahden-kuljetus.example", "country": "FI"},
                "amount": {"value": "24500.00", "currency": "EUR"},
                "products": [{"sku": "CS-EDR-ADV-1Y", "quantity": 85}],
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["registrations"][0]["status"], "submitted", "{body}");
    body["registrations"][0]["id"].as_str().unwrap().to_owned()
}

/// Polls a registration until the vendor decides it; returns it and how long that took.
async fn decided(demo: &DemoProcess, id: &str) -> (Value, Duration) {
    let asked = Instant::now();
    loop {
        let reg = demo.get(&format!("/api/v1/deal-registrations/{id}")).await;
        if reg["status"] != "submitted" {
            return (reg, asked.elapsed());
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "registration {id} still undecided: {reg}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn open_store(data_dir: &Path) -> Store {
    Store::connect(
        &DatabaseUrl::in_data_dir(data_dir),
        &StoreOptions::default(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_demo_walks_the_journey_and_a_second_start_reuses_everything() {
    let work = Workdir::new();
    let data_dir: PathBuf = work.path().join("demo-data");

    let mut demo = DemoProcess::start(&work, &data_dir);
    let first = wait_for_everything(&demo).await;
    let ready = demo.wait_for_line("All three vendors are in");
    eprintln!(
        "first start: `{ready}`; every vendor's data seen over HTTP after {:.1?}",
        demo.started.elapsed()
    );
    assert_eq!(
        first.vendors,
        [
            ("Contoso Security", "vendor", "silver"),
            ("Fabrikam Distribution", "distributor", "registered"),
            ("Northwind Networks", "vendor", "gold"),
        ]
        .map(|(n, k, t)| (n.to_owned(), k.to_owned(), t.to_owned()))
    );
    assert_eq!(first.assets, 8, "{first:#?}");
    assert_eq!(first.connections, 2, "{first:#?}");
    assert!(
        ready.contains("6 campaigns, 8 assets, 42 price items and 15 leads"),
        "{ready}"
    );

    // The pulled vendor's key is sealed, never shown.
    let (_, connections) = demo.call(Method::GET, "/api/v1/connections", None).await;
    assert!(
        !connections.to_string().contains("nwk_"),
        "a credential leaked: {connections}"
    );
    // Contoso's campaigns come in English and Finnish.
    let campaigns = demo.get("/api/v1/campaigns").await;
    let ransomware = campaigns["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["external_id"] == "cs-ransomware-readiness")
        .unwrap_or_else(|| panic!("{campaigns}"));
    let locales: Vec<&str> = ransomware["content"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["locale"].as_str().unwrap())
        .collect();
    assert_eq!(locales, ["en", "fi"]);
    // Contoso's leads carry a deadline.
    let leads = demo.get("/api/v1/leads?limit=500").await;
    assert!(
        leads["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["external_id"].as_str().unwrap_or("").starts_with("CS-"))
            .all(|l| l["respond_by"].is_string()),
        "{leads}"
    );

    // A deal registered with Contoso is approved by it, one titled
    // "reject" rejected with a reason.
    let vendors = demo.get("/api/v1/vendors").await;
    let contoso = vendor_id(&vendors, "Contoso Security");
    let approved_id = register(&demo, &contoso, "Endpoint Advanced for Lahden Kuljetus").await;
    let rejected_id = register(&demo, &contoso, "Please reject: duplicate opportunity").await;
    let (approved, took) = decided(&demo, &approved_id).await;
    eprintln!("the deal registration was decided {took:.1?} after it was submitted");
    assert_eq!(approved["status"], "approved", "{approved}");
    assert_eq!(approved["extra_discount"], "5", "{approved}");
    assert!(approved["protection_expires_on"].is_string(), "{approved}");
    assert!(took < Duration::from_secs(10), "decided after {took:?}");
    let (rejected, _) = decided(&demo, &rejected_id).await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert!(rejected["reason"].as_str().is_some_and(|r| !r.is_empty()));

    // Northwind never built to Onepane's API: the registration goes to its
    // own partner API, its desk decides there, and the next sync reads the
    // decision back.
    let northwind = vendor_id(&vendors, "Northwind Networks");
    let nw_id = register(&demo, &northwind, "Campus switches for Lahden Kuljetus").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let d = demo
            .get(&format!("/api/v1/deal-registrations/{nw_id}/delivery"))
            .await;
        if d["status"] != "pending" {
            break d;
        }
        assert!(Instant::now() < deadline, "still pending: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(delivery["status"], "sent", "{delivery}");
    assert_eq!(delivery["route"], "vendor-system", "{delivery}");
    assert!(
        delivery["vendor_ref"]
            .as_str()
            .is_some_and(|r| r.starts_with("NW-DR-")),
        "{delivery}"
    );
    // Its desk waits a second; then a sync now reads the decision.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let connections = demo.get("/api/v1/connections").await;
    let nw_conn = connections
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Northwind partner API")
        .unwrap_or_else(|| panic!("no Northwind connection in {connections}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // (A sync already queued or running answers 409; ask again until one
    // that started after the decision has read it.)
    let deadline = Instant::now() + Duration::from_secs(30);
    let nw_decided = loop {
        let (status, job) = demo
            .call(
                Method::POST,
                &format!("/api/v1/connections/{nw_conn}/sync"),
                None,
            )
            .await;
        assert!(status == 202 || status == 409, "{status}: {job}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let reg = demo
            .get(&format!("/api/v1/deal-registrations/{nw_id}"))
            .await;
        if reg["status"] != "submitted" {
            break reg;
        }
        assert!(
            Instant::now() < deadline,
            "Northwind's decision never came back: {reg}"
        );
    };
    assert_eq!(nw_decided["status"], "approved", "{nw_decided}");
    assert_eq!(nw_decided["extra_discount"], "4", "{nw_decided}");

    let password = demo.password.clone();
    let token = demo.token.clone();
    let url = demo.url.clone();
    let status = demo.terminate();
    assert!(status.success(), "the demo should stop cleanly: {status:?}");

    // The password printed is the user's, and the login file is private.
    let login_file = data_dir.join("demo-login.txt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&login_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "login file mode {mode:o}");
    }
    assert!(
        std::fs::read_to_string(&login_file)
            .unwrap()
            .contains(&password)
    );
    let store = open_store(&data_dir).await;
    let subject = store
        .system()
        .login_subject(&Email::parse("demo@onepane.example").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(onepane_server::auth::credentials::verify_secret(
        &password,
        &subject.phc.unwrap()
    ));
    let memberships = store
        .system()
        .memberships_of(subject.user_id)
        .await
        .unwrap();
    let mut names: Vec<&str> = memberships.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Aurora IT Oy", "Borealis Solutions"]);
    store.close().await;

    // A second start on the same directory: the same login, nothing doubled.
    let mut again = DemoProcess::start(&work, &data_dir);
    assert_eq!(again.password, password);
    assert_eq!(again.token, token);
    assert_ne!(again.url, url, "port 0 picks a new port");
    let ready = again.wait_for_line("All three vendors are in");
    eprintln!("second start: `{ready}`");
    let second = wait_for_everything(&again).await;
    assert_eq!(second, first);
    // The three registrations of the first start, none doubled.
    let registrations = again.get("/api/v1/deal-registrations").await;
    assert_eq!(
        registrations["items"].as_array().map(Vec::len),
        Some(3),
        "{registrations}"
    );
    assert!(again.terminate().success());

    let store = open_store(&data_dir).await;
    assert_eq!(store.operator().vendors().await.unwrap().len(), 3);
    assert_eq!(store.operator().workspaces().await.unwrap().len(), 2);
    store.close().await;
}

#[tokio::test]
async fn the_demo_refuses_a_database_url() {
    let work = Workdir::new();
    let run = work.run(&["demo", "--database-url", "postgres://app@db/onepane"]);
    let line = run.error_line(2);
    assert!(line.contains("--database-url"), "{line}");
    assert!(!work.path().join("onepane-demo").exists());
}

/// The demo walked in Finnish, every page it links to (a few of each
/// kind): each says "Kirjaudu ulos" and none shows an English phrase of the
/// catalogue; the page for an unknown address is Finnish too.
#[tokio::test]
async fn every_page_of_the_demo_speaks_finnish_only() {
    let work = Workdir::new();
    let data_dir: PathBuf = work.path().join("demo-data");
    let demo = DemoProcess::start(&work, &data_dir);
    wait_for_everything(&demo).await;
    let phrases = crate::words::english_phrases();
    let mut visitor = crate::portal::Visitor::at(demo.url.clone()).finnish();
    let login = visitor.login("demo@onepane.example", &demo.password).await;
    assert_eq!(login.status, 303, "{}", login.body);

    // The check can fail: the same pages in English show the phrases.
    let mut english = crate::portal::Visitor::at(demo.url.clone());
    english.login("demo@onepane.example", &demo.password).await;
    for path in ["/", "/leads", "/settings/account"] {
        let text = crate::words::page_text(&english.get(path).await.body);
        let shown = phrases
            .iter()
            .filter(|(_, p)| crate::words::contains_phrase(&text, p))
            .count();
        assert!(shown >= 3, "{path} in English shows {shown} of the phrases");
    }

    let read = crate::words::walk(&mut visitor, "Kirjaudu ulos", &phrases, 150).await;
    eprintln!("{} pages read in Finnish: {read:#?}", read.len());
    for must in [
        "/",
        "/leads",
        "/deals",
        "/campaigns",
        "/assets",
        "/prices",
        "/connections",
        "/settings",
        "/clock",
        "/scorecards",
        "/notifications",
    ] {
        assert!(
            read.iter().any(|p| p == must
                || p.starts_with(&format!("{must}?"))
                || p.starts_with(&format!("{must}/"))),
            "the walk never reached {must}: {read:#?}"
        );
    }
    assert!(
        read.iter().any(|p| p.starts_with("/leads/")),
        "a lead's page"
    );
    assert!(
        read.iter().any(|p| p.starts_with("/deals/")),
        "a registration's page"
    );

    let missing = visitor.get("/no-such-page").await;
    assert_eq!(missing.status, 404);
    let text = crate::words::page_text(&missing.body);
    for (id, phrase) in &phrases {
        assert!(
            !text.contains(phrase.as_str()),
            "the 404 page says {phrase:?} ({id}): {text}"
        );
    }
}
