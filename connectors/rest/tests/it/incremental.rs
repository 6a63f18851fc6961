//! Incremental streams: the `since` parameter and each record's cursor.

use onepane_connector::{Source, Stream, StreamSpec, SyncMode};
use serde_json::json;
use wiremock::matchers::{path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{io, read_all, source};

const MANIFEST: &str = r#"
version: 1
base_url: "{base}"
auth: {type: none}
streams:
  leads:
    path: /leads
    params: {limit: 2}
    records: /data
    pagination: {type: cursor, cursor: /next, param: cursor}
    incremental: {cursor_field: /modified/at, since_param: modified_after}
    map:
      external_id: /id
      contact: {name: /name}
  price_lists:
    path: /lists
    records: /data
    map:
      external_id: /id
      terms: {name: /name, currency: {$const: EUR}}
"#;

fn lead(id: &str, at: &str) -> serde_json::Value {
    json!({"id": id, "name": "Ada", "modified": {"at": at}})
}

#[tokio::test]
async fn streams_with_a_cursor_field_are_incremental_and_others_full_refresh() {
    let source = source(MANIFEST, "http://127.0.0.1:9");
    assert_eq!(
        source.streams(),
        [
            StreamSpec {
                stream: Stream::PriceLists,
                mode: SyncMode::FullRefresh
            },
            StreamSpec {
                stream: Stream::Leads,
                mode: SyncMode::Incremental
            },
        ]
    );
}

#[tokio::test]
async fn since_goes_on_every_page_and_records_carry_their_cursor() {
    let vendor = MockServer::start().await;
    let since = "2026-03-01T00:00:00Z";
    Mock::given(path("/leads"))
        .and(query_param("modified_after", since))
        .and(query_param("limit", "2"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [lead("a", "2026-03-02T10:00:00Z"), lead("b", "2026-03-01T09:00:00Z")],
            "next": "p2"
        })))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/leads"))
        .and(query_param("modified_after", since))
        .and(query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "c", "name": "Ada"}],
            "next": null
        })))
        .expect(1)
        .mount(&vendor)
        .await;
    let source = source(MANIFEST, &vendor.uri());

    let pass = read_all(&source, &io(), Stream::Leads, Some(&json!(since)))
        .await
        .unwrap();

    let cursors: Vec<_> = pass.records.iter().map(|r| r.cursor.clone()).collect();
    assert_eq!(
        cursors,
        [
            Some(json!("2026-03-02T10:00:00Z")),
            Some(json!("2026-03-01T09:00:00Z")),
            None
        ]
    );
}

#[tokio::test]
async fn a_first_pass_asks_for_everything_and_numeric_cursors_are_sent_as_numbers() {
    let vendor = MockServer::start().await;
    Mock::given(path("/leads"))
        .and(query_param_is_missing("modified_after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/leads"))
        .and(query_param("modified_after", "1767225600"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&vendor)
        .await;
    let source = source(MANIFEST, &vendor.uri());
    let io = io();

    let first = read_all(&source, &io, Stream::Leads, None).await.unwrap();
    let later = read_all(&source, &io, Stream::Leads, Some(&json!(1_767_225_600)))
        .await
        .unwrap();

    assert!(first.records.is_empty() && later.records.is_empty());
    assert_eq!(first.pages[0].next, None);
}

#[tokio::test]
async fn a_full_refresh_stream_ignores_since() {
    let vendor = MockServer::start().await;
    Mock::given(path("/lists"))
        .and(query_param_is_missing("modified_after"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": "eu", "name": "Europe"}]})),
        )
        .expect(1)
        .mount(&vendor)
        .await;
    let source = source(MANIFEST, &vendor.uri());

    let pass = read_all(&source, &io(), Stream::PriceLists, Some(&json!("x")))
        .await
        .unwrap();

    assert_eq!(pass.keys(), ["eu"]);
    assert_eq!(pass.records[0].cursor, None);
}
