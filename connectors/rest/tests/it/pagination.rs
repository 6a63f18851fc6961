//! Every kind of pagination, over several pages of a fake vendor.

use onepane_connector::{ConnectorError, PageRequest, SeenPage, Source, Stream};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{io, read_all, source};

/// A leads stream at `/v1/leads` with the given pagination.
pub fn leads_manifest(records: &str, pagination: &str) -> String {
    format!(
        r#"
version: 1
base_url: "{{base}}/v1"
auth: {{type: none}}
streams:
  leads:
    path: /leads
    records: "{records}"
    total: /total
    pagination: {pagination}
    map:
      external_id: {{$text: /id}}
      contact: {{name: /name, email: /email}}
"#
    )
}

/// A vendor lead.
pub fn lead(id: u64) -> Value {
    json!({"id": id, "name": format!("Lead {id}"), "email": format!("lead{id}@example.com")})
}

fn leads(ids: &[u64]) -> Vec<Value> {
    ids.iter().map(|id| lead(*id)).collect()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn a_cursor_in_the_body_is_sent_back_until_it_runs_out() {
    let vendor = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/leads"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(json!({"data": leads(&[1, 2]), "meta": {"next": "c2"}})))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("cursor", "c2"))
        .respond_with(ok(json!({"data": leads(&[3, 4]), "meta": {"next": 3}})))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("cursor", "3"))
        .respond_with(ok(json!({"data": leads(&[5]), "meta": {"next": null}})))
        .expect(1)
        .mount(&vendor)
        .await;
    let source = source(
        &leads_manifest("/data", "{type: cursor, cursor: /meta/next, param: cursor}"),
        &vendor.uri(),
    );

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["1", "2", "3", "4", "5"]);
    let nexts: Vec<_> = pass.pages.iter().map(|p| p.next.clone()).collect();
    assert_eq!(
        nexts,
        [
            Some(json!({"cursor": "c2"})),
            Some(json!({"cursor": 3})),
            None
        ]
    );
}

#[tokio::test]
async fn an_empty_cursor_ends_the_pass_and_a_repeated_one_is_refused() {
    let vendor = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(json!({"data": leads(&[1]), "meta": {"next": ""}})))
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("cursor", "same"))
        .respond_with(ok(json!({"data": leads(&[2]), "meta": {"next": "same"}})))
        .mount(&vendor)
        .await;
    let source = source(
        &leads_manifest("/data", "{type: cursor, cursor: /meta/next, param: cursor}"),
        &vendor.uri(),
    );
    let io = io();

    let pass = read_all(&source, &io, Stream::Leads, None).await.unwrap();
    assert_eq!(pass.keys(), ["1"]);

    let looping = json!({"cursor": "same"});
    let err = source
        .read(
            &io,
            Stream::Leads,
            PageRequest {
                next: Some(&looping),
                since: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { message, .. } if message.contains("repeats")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_next_link_in_the_body_is_followed_relative_or_absolute() {
    let vendor = MockServer::start().await;
    let base = vendor.uri();
    Mock::given(path("/v1/leads"))
        .and(query_param_is_missing("page"))
        .respond_with(ok(
            json!({"items": leads(&[1, 2]), "links": {"next": "/v1/leads?page=2"}}),
        ))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("page", "2"))
        .respond_with(ok(
            json!({"items": leads(&[3]), "links": {"next": format!("{base}/v1/leads?page=3&sig=x")}}),
        ))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("page", "3"))
        .and(query_param("sig", "x"))
        .respond_with(ok(json!({"items": leads(&[4]), "links": {"next": null}})))
        .expect(1)
        .mount(&vendor)
        .await;
    let source = source(
        &leads_manifest("/items", "{type: next_link, next: /links/next}"),
        &base,
    );

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["1", "2", "3", "4"]);
    assert_eq!(
        pass.pages[0].next,
        Some(json!({"url": format!("{base}/v1/leads?page=2")}))
    );
}

#[tokio::test]
async fn the_link_header_rel_next_is_followed_to_the_last_page() {
    let vendor = MockServer::start().await;
    let base = vendor.uri();
    let link = |after: u32| {
        format!(
            r#"<{base}/v1/leads?after={after}>; rel="next", <{base}/v1/leads?after=99>; rel="last""#
        )
    };
    Mock::given(path("/v1/leads"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(json!(leads(&[1, 2]))).insert_header("link", link(2)))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("after", "2"))
        .respond_with(ok(json!(leads(&[3, 4]))).insert_header("link", link(4)))
        .expect(1)
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("after", "4"))
        .respond_with(
            ok(json!(leads(&[5])))
                .insert_header("link", format!(r#"<{base}/v1/leads>; rel="first""#)),
        )
        .expect(1)
        .mount(&vendor)
        .await;
    let source = source(&leads_manifest("", "{type: link_header}"), &base);

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["1", "2", "3", "4", "5"]);
    assert_eq!(pass.pages.len(), 3);
}

#[tokio::test]
async fn offsets_advance_by_the_records_read_and_end_on_a_short_page() {
    let vendor = MockServer::start().await;
    for (offset, ids) in [("0", vec![1, 2]), ("2", vec![3, 4]), ("4", vec![5])] {
        Mock::given(path("/v1/leads"))
            .and(query_param("offset", offset))
            .and(query_param("limit", "2"))
            .respond_with(ok(json!({"data": leads(&ids)})))
            .expect(1)
            .mount(&vendor)
            .await;
    }
    let source = source(
        &leads_manifest(
            "/data",
            "{type: offset, param: offset, page_size: 2, page_size_param: limit}",
        ),
        &vendor.uri(),
    );

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["1", "2", "3", "4", "5"]);
    let nexts: Vec<_> = pass.pages.iter().map(|p| p.next.clone()).collect();
    assert_eq!(
        nexts,
        [Some(json!({"offset": 2})), Some(json!({"offset": 4})), None]
    );
}

#[tokio::test]
async fn offsets_stop_at_the_reported_total_without_asking_for_an_empty_page() {
    let vendor = MockServer::start().await;
    for (offset, ids) in [("0", vec![1, 2]), ("2", vec![3, 4])] {
        Mock::given(path("/v1/leads"))
            .and(query_param("offset", offset))
            .respond_with(ok(json!({"data": leads(&ids), "total": "4"})))
            .expect(1)
            .mount(&vendor)
            .await;
    }
    let source = source(
        &leads_manifest("/data", "{type: offset, param: offset, page_size: 2}"),
        &vendor.uri(),
    );

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["1", "2", "3", "4"]);
    assert_eq!(pass.pages[0].total, Some(4));
}

#[tokio::test]
async fn page_numbers_count_from_the_first_page_and_end_on_an_empty_page() {
    let vendor = MockServer::start().await;
    for (page, ids) in [("0", vec![1, 2]), ("1", vec![3, 4]), ("2", vec![])] {
        Mock::given(path("/v1/leads"))
            .and(query_param("p", page))
            .and(query_param("per_page", "2"))
            .respond_with(ok(json!({"data": leads(&ids)})))
            .expect(1)
            .mount(&vendor)
            .await;
    }
    let source = source(
        &leads_manifest(
            "/data",
            "{type: page_number, param: p, first_page: 0, page_size: 2, page_size_param: per_page}",
        ),
        &vendor.uri(),
    );

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["1", "2", "3", "4"]);
    let nexts: Vec<_> = pass.pages.iter().map(|p| p.next.clone()).collect();
    assert_eq!(
        nexts,
        [Some(json!({"page": 1})), Some(json!({"page": 2})), None]
    );
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused() {
    let vendor = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .respond_with(ok(
            json!({"items": leads(&[1]), "links": {"next": "http://169.254.169.254/latest/meta-data"}}),
        ))
        .mount(&vendor)
        .await;
    Mock::given(path("/v2/leads"))
        .respond_with(ok(json!(leads(&[1]))).insert_header(
            "link",
            format!(r#"<{}/v2/leads?page=2>; rel="next""#, elsewhere.uri()),
        ))
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .respond_with(ok(json!({"items": []})))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let io = io();

    let body_link = source(
        &leads_manifest("/items", "{type: next_link, next: /links/next}"),
        &vendor.uri(),
    );
    let err = read_all(&body_link, &io, Stream::Leads, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Malformed { message, .. } if message.contains("169.254.169.254") && message.contains("not followed")),
        "{err:?}"
    );

    let header_link = source(
        &leads_manifest("", "{type: link_header}").replace("/v1", "/v2"),
        &vendor.uri(),
    );
    let err = read_all(&header_link, &io, Stream::Leads, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Malformed { .. }), "{err:?}");

    // A position handed back by the engine is checked again.
    let stored = json!({"url": format!("{}/v1/leads", elsewhere.uri())});
    let err = body_link
        .read(
            &io,
            Stream::Leads,
            PageRequest {
                next: Some(&stored),
                since: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn duplicate_and_out_of_order_pages_just_map() {
    let vendor = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .and(query_param("page", "1"))
        .respond_with(ok(json!({"data": leads(&[3, 1])})))
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("page", "2"))
        .respond_with(ok(json!({"data": leads(&[1, 2])})))
        .mount(&vendor)
        .await;
    Mock::given(path("/v1/leads"))
        .and(query_param("page", "3"))
        .respond_with(ok(json!({"data": leads(&[2])})))
        .mount(&vendor)
        .await;
    let source = source(
        &leads_manifest("/data", "{type: page_number, param: page, page_size: 2}"),
        &vendor.uri(),
    );

    let pass = read_all(&source, &io(), Stream::Leads, None).await.unwrap();

    assert_eq!(pass.keys(), ["3", "1", "1", "2", "2"]);
    assert!(pass.rejected.is_empty());
}

#[tokio::test]
async fn an_answer_seen_before_is_not_parsed_again() {
    let vendor = MockServer::start().await;
    Mock::given(path("/v1/leads"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ok(
            json!({"data": [lead(1), lead(2)], "meta": {"next": "c2"}, "total": 3}),
        ))
        .mount(&vendor)
        .await;
    let yaml = leads_manifest("/data", "{type: cursor, cursor: /meta/next, param: cursor}");
    let source = source(&yaml, &vendor.uri());
    let io = io();
    let first = PageRequest {
        next: None,
        since: None,
    };
    let whole = source
        .read_unless_seen(&io, Stream::Leads, first, None)
        .await
        .unwrap();
    assert_eq!(whole.unchanged, None);
    assert_eq!(whole.page.records.len(), 2);
    assert_eq!(whole.page.next, Some(json!({"cursor": "c2"})));
    let fingerprint = whole.fingerprint.clone().unwrap();
    assert_eq!(fingerprint.len(), 16);
    let seen = SeenPage {
        fingerprint: fingerprint.clone(),
        next: whole.page.next.clone(),
        total: whole.page.total,
        records: 2,
    };

    // The same answer: what it was, without parsing or mapping it.
    let again = source
        .read_unless_seen(&io, Stream::Leads, first, Some(&seen))
        .await
        .unwrap();
    assert_eq!(again.unchanged, Some(2));
    assert!(again.page.records.is_empty() && again.page.rejected.is_empty());
    assert_eq!(
        (again.page.next.clone(), again.page.total),
        (seen.next.clone(), Some(3))
    );
    assert_eq!(again.fingerprint.as_ref(), Some(&fingerprint));

    // Another fingerprint, or the same answer under a changed mapping, is
    // read whole.
    let other = SeenPage {
        fingerprint: vec![0; 16],
        ..seen.clone()
    };
    let read = source
        .read_unless_seen(&io, Stream::Leads, first, Some(&other))
        .await
        .unwrap();
    assert_eq!((read.unchanged, read.page.records.len()), (None, 2));
    let remapped =
        crate::support::source(&yaml.replace("name: /name", "name: /email"), &vendor.uri());
    let changed = remapped
        .read_unless_seen(&io, Stream::Leads, first, Some(&seen))
        .await
        .unwrap();
    assert_eq!((changed.unchanged, changed.page.records.len()), (None, 2));
    assert_ne!(changed.fingerprint.as_ref(), Some(&fingerprint));
}
