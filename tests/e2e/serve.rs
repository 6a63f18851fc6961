//! `onepane serve` as a real process: fast start, the secret key, request
//! ids in the logs, SIGTERM, and a database that is not there.

use std::time::{Duration, Instant};

use crate::harness::Workdir;

async fn poll_healthz(url: &str, deadline: Instant) -> Option<Instant> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    while Instant::now() < deadline {
        if let Ok(response) = client.get(url).send().await
            && response.status() == 200
            && response.text().await.unwrap() == "ok"
        {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test]
async fn serve_answers_healthz_within_a_second_on_an_empty_data_dir_and_stops_on_sigterm() {
    let work = Workdir::new();
    let server = work.serve(&[], &[]);
    let answered = poll_healthz(
        &server.url("/healthz"),
        server.started + Duration::from_secs(5),
    )
    .await
    .expect("serve never answered /healthz");
    let took = answered - server.started;
    assert!(
        took < Duration::from_secs(1),
        "first /healthz answer took {took:?}"
    );
    assert!(work.data_dir().join("onepane.db").is_file());

    let (status, logs) = server.terminate();
    assert!(
        status.success(),
        "SIGTERM should end serve cleanly: {status:?} {logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("shutdown requested")),
        "{logs:#?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn secret_key_is_generated_private_on_first_start_and_reused_after() {
    use std::os::unix::fs::PermissionsExt as _;

    let work = Workdir::new();
    let key_file = work.data_dir().join("secret.key");

    let first = work.serve(&[], &[]);
    let (status, logs) = first.terminate();
    assert!(status.success());
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode {mode:o}");
    let key = std::fs::read_to_string(&key_file).unwrap();
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, key.trim()).unwrap();
    assert_eq!(decoded.len(), 32);
    let warned = logs
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("generated"))
        .count();
    assert_eq!(warned, 1, "{logs:#?}");

    let second = work.serve(&[], &[]);
    let (status, logs) = second.terminate();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key,
        "the key was replaced"
    );
    assert!(!logs.iter().any(|l| l.contains("generated")), "{logs:#?}");
}

#[tokio::test]
async fn a_configured_secret_key_means_no_key_file() {
    let work = Workdir::new();
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let server = work.serve(&[], &[("ONEPANE_SECRET_KEY", key)]);
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");
    assert!(!work.data_dir().join("secret.key").exists());
    assert!(!logs.iter().any(|l| l.contains(key)), "the key was logged");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_in_the_request_span() {
    let work = Workdir::new();
    let server = work.serve(&[], &[("ONEPANE_LOG_FORMAT", "json")]);
    let client = reqwest::Client::new();
    let response = client
        .get(server.url("/api/v1/nothing-here"))
        .header("x-request-id", "e2e-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "e2e-trace-42");
    let response = client
        .get(server.url("/healthz"))
        .header("x-request-id", "e2e-probe-43")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, logs) = server.terminate();
    let events: Vec<serde_json::Value> = logs
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let finished = events
        .iter()
        .find(|e| e["span"]["request_id"] == "e2e-trace-42")
        .unwrap_or_else(|| panic!("no event in the request's span: {logs:#?}"));
    assert_eq!(finished["span"]["path"], "/api/v1/nothing-here");
    assert_eq!(finished["span"]["method"], "GET");
    assert_eq!(finished["fields"]["status"], 404);
    // Probes are frequent: their lines are DEBUG, below the default filter.
    assert!(
        !events
            .iter()
            .any(|e| e["span"]["request_id"] == "e2e-probe-43"),
        "{logs:#?}"
    );
}

#[test]
fn an_unreachable_database_is_exit_1_with_one_line_under_default_logging() {
    let work = Workdir::new();
    // Nothing listens on port 1. No ONEPANE_LOG: the one-line promise must
    // hold with the logs an operator gets by default.
    let run = work.run_with(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            (
                "ONEPANE_DATABASE_URL",
                "postgres://app:hunter2@127.0.0.1:1/onepane",
            ),
            (
                "ONEPANE_SECRET_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ],
    );
    let line = run.error_line(1);
    assert!(
        line.contains("cannot connect to the postgres database"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "{line}");
}

#[tokio::test]
async fn healthcheck_asks_the_server_at_the_listen_address_and_fails_when_it_is_gone() {
    let work = Workdir::new();
    let server = work.serve(&[], &[]);
    // A wildcard listen address is asked on loopback.
    let listen = format!("0.0.0.0:{}", server.addr.port());
    work.run_with(&["healthcheck"], &[("ONEPANE_LISTEN", &listen)])
        .ok();
    let url = server.url("/healthz");
    work.run(&["healthcheck", "--url", &url]).ok();
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs:#?}");
    let run = work.run(&["healthcheck", "--url", &url]);
    let line = run.error_line(1);
    assert!(
        line.starts_with(&format!("error: the server at {url} is not healthy: ")),
        "{line}"
    );
    // Bad settings fail it with 1 too: container runtimes reserve 2.
    let run = work.run_with(&["healthcheck"], &[("ONEPANE_LISTEN", "not an address")]);
    let line = run.error_line(1);
    assert!(line.contains("listen"), "{line}");
}
