//! The HTTP surface, with the server built in-process.

use std::time::Duration;

use crate::harness::TestApp;

async fn problem(response: reqwest::Response, status: u16, slug: &str) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], format!("https://onepane.dev/problems/{slug}"));
    assert_eq!(body["status"], status);
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn readyz_is_ok_while_the_database_answers_and_a_503_problem_when_it_does_not() {
    let app = TestApp::spawn().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");

    app.store.close().await;
    // Readiness is the last probe's answer (one every half second).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let down = loop {
        let response = app.get("/readyz").await;
        if response.status() == 503 || std::time::Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(down.headers()["retry-after"], "5");
    let body = problem(down, 503, "unavailable").await;
    assert!(
        !body["detail"].as_str().unwrap().contains("pool"),
        "internal cause leaked: {body}"
    );
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_method_route_and_status() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    assert_eq!(app.get("/no/such/page").await.status(), 404);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let value = |series: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    assert_eq!(
        value(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(r#"http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}"#),
        Some(3.0),
        "{text}"
    );
    // Unmatched paths share one label value instead of one series each.
    assert_eq!(
        value(r#"http_requests_total{method="GET",route="unmatched",status="404"}"#),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("/no/such/page"), "{text}");
}

#[tokio::test]
async fn an_extension_method_is_counted_as_other_not_by_its_name() {
    let app = TestApp::spawn().await;
    let foobar = reqwest::Method::from_bytes(b"FOOBAR").unwrap();
    let response = app
        .client
        .request(foobar, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.lines().any(|l| l
            .starts_with(r#"http_requests_total{method="other",route="/healthz",status="405"} 1"#)),
        "{text}"
    );
    assert!(!text.contains("FOOBAR"), "{text}");
}

async fn request_id_for(app: &TestApp, sent: reqwest::header::HeaderValue) -> String {
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", sent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_overlong_or_non_ascii_client_request_id_is_replaced_by_a_uuid() {
    let app = TestApp::spawn().await;
    let overlong = "a".repeat(1000);
    let non_ascii = reqwest::header::HeaderValue::from_bytes(b"req-caf\xe9").unwrap();
    for sent in [
        reqwest::header::HeaderValue::from_str(&overlong).unwrap(),
        non_ascii,
    ] {
        let got = request_id_for(&app, sent.clone()).await;
        uuid::Uuid::parse_str(&got).unwrap_or_else(|e| panic!("{sent:?} came back as {got}: {e}"));
    }
    let valid = "tenant-7/req:42.b+c=d_e";
    assert_eq!(
        request_id_for(&app, reqwest::header::HeaderValue::from_static(valid)).await,
        valid
    );
}

#[tokio::test]
async fn each_request_gets_a_uuid_request_id_and_a_client_id_is_kept() {
    let app = TestApp::spawn().await;
    let first = app.get("/healthz").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let second = app.get("/healthz").await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    uuid::Uuid::parse_str(&first).unwrap();
    assert_ne!(first, second);

    let response = app
        .client
        .get(app.url("/readyz"))
        .header("x-request-id", "partner-req-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "partner-req-7");
    // Error responses carry it too.
    let response = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "partner-req-8")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "partner-req-8");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    problem(app.get("/api/v1/nothing-here").await, 404, "not-found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = TestApp::spawn().await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    let body = problem(response, 405, "method-not-allowed").await;
    assert!(
        body["detail"].as_str().unwrap().contains("DELETE"),
        "{body}"
    );
}

#[tokio::test]
async fn run_until_returns_when_shutdown_completes_and_the_port_closes() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let addr = app.addr;
    let task = app.shut_down();
    let result = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the server did not stop within 5 s")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting connections"
    );
}

#[tokio::test]
async fn a_stalled_half_sent_request_does_not_stop_shutdown_past_the_drain_timeout() {
    use tokio::io::AsyncWriteExt as _;

    let drain = Duration::from_millis(500);
    let app = TestApp::spawn_with(|app| app.with_drain_timeout(drain)).await;
    let mut stalled = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // A request line with no blank line after it: the server waits for more.
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    // Let the server read it, so the connection is mid-request at shutdown.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = std::time::Instant::now();
    let task = app.shut_down();
    let result = tokio::time::timeout(drain + Duration::from_secs(5), task)
        .await
        .expect("the server outlived its drain timeout")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let took = started.elapsed();
    assert!(
        took >= drain,
        "stopped after {took:?}, before the drain timeout: the request was not in flight"
    );
    drop(stalled);
}

#[tokio::test]
async fn two_servers_in_one_process_count_their_own_requests() {
    let (a, b) = (TestApp::spawn().await, TestApp::spawn().await);
    a.get("/readyz").await;
    let text = b.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains("/readyz"), "{text}");
}
