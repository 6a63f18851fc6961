//! What a vendor's failures become: retried throttling, remote errors, and
//! bodies that are not what the manifest describes.

use onepane_connector::{ConnectorError, HttpError, Stream};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::pagination::{lead, leads_manifest};
use crate::support::{io, read_all, source};

async fn vendor_answering(answer: ResponseTemplate) -> MockServer {
    let vendor = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .respond_with(answer)
        .mount(&vendor)
        .await;
    vendor
}

async fn read_leads(vendor: &MockServer) -> Result<crate::support::Pass, ConnectorError> {
    let source = source(
        &leads_manifest("/data", "{type: cursor, cursor: /next, param: cursor}"),
        &vendor.uri(),
    );
    read_all(&source, &io(), Stream::Leads, None).await
}

#[tokio::test]
async fn throttling_is_waited_out_then_the_page_is_read() {
    let vendor = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [lead(1)]})))
        .expect(1)
        .mount(&vendor)
        .await;

    let pass = read_leads(&vendor).await.unwrap();

    assert_eq!(pass.keys(), ["1"]);
}

#[tokio::test]
async fn a_vendor_that_stays_down_fails_the_page_as_transient() {
    let vendor = vendor_answering(ResponseTemplate::new(503)).await;

    let err = read_leads(&vendor).await.unwrap_err();

    assert!(
        matches!(err, ConnectorError::Http(HttpError::Exhausted { .. })),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_client_error_is_a_remote_error_with_the_vendors_message() {
    let vendor = vendor_answering(
        ResponseTemplate::new(403).set_body_string(r#"{"error":"partner not enrolled"}"#),
    )
    .await;

    let err = read_leads(&vendor).await.unwrap_err();

    match &err {
        ConnectorError::Remote {
            url,
            status,
            message,
        } => {
            assert_eq!(*status, 403);
            assert!(url.ends_with("/v1/leads"), "{url}");
            assert!(message.contains("partner not enrolled"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_transient());
}

/// A body cut off mid-JSON (a connection or a proxy gave up) is worth
/// reading again: transient, unlike JSON that is wrong.
#[tokio::test]
async fn a_truncated_body_is_a_transient_fault() {
    let vendor = vendor_answering(
        ResponseTemplate::new(200).set_body_raw(r#"{"data": [{"id": 1, "na"#, "application/json"),
    )
    .await;

    let err = read_leads(&vendor).await.unwrap_err();

    assert!(
        matches!(&err, ConnectorError::Truncated { message, .. } if message.contains("EOF")),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_html_error_page_is_malformed() {
    let vendor = vendor_answering(
        ResponseTemplate::new(200).set_body_raw("<html>Maintenance</html>", "text/html"),
    )
    .await;

    let err = read_leads(&vendor).await.unwrap_err();

    assert!(
        matches!(&err, ConnectorError::Malformed { message, .. } if message.contains("Maintenance")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_body_without_the_records_is_malformed_not_an_empty_page() {
    let vendor =
        vendor_answering(ResponseTemplate::new(200).set_body_json(json!({"error": "try later"})))
            .await;

    let err = read_leads(&vendor).await.unwrap_err();

    assert!(
        matches!(&err, ConnectorError::Malformed { message, .. } if message.contains("no records at `/data`")),
        "{err:?}"
    );
}

#[tokio::test]
async fn records_that_are_not_a_list_are_malformed() {
    let vendor =
        vendor_answering(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": 1}})))
            .await;

    let err = read_leads(&vendor).await.unwrap_err();

    assert!(
        matches!(&err, ConnectorError::Malformed { message, .. } if message.contains("not a list")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let vendor = vendor_answering(
        ResponseTemplate::new(302).insert_header("location", "http://169.254.169.254/"),
    )
    .await;

    let err = read_leads(&vendor).await.unwrap_err();

    assert!(
        matches!(&err, ConnectorError::Remote { status: 302, message, .. } if message.contains("not followed")),
        "{err:?}"
    );
}
