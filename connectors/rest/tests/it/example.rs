//! The README's example manifest, read end to end against a fake of the
//! API it describes.

use onepane_connector::{Credentials, KeyPlacement, Record, Secret, Source, Stream, SyncMode};
use onepane_connector_rest::Manifest;
use onepane_domain::Tier;
use serde_json::json;
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{io_with, read_all};

const EXAMPLE: &str = include_str!("../../examples/vendor.yaml");
const README: &str = include_str!("../../README.md");

#[test]
fn the_readme_shows_the_example_manifest_verbatim() {
    assert!(README.contains("examples/vendor.yaml"));
    assert!(
        README.contains(EXAMPLE.trim()),
        "README.md must embed examples/vendor.yaml as it is"
    );
    let manifest = Manifest::parse(EXAMPLE).unwrap();
    // Every stream a vendor's content is read from; the decisions on the
    // partner's registrations (`deal_status`) are shown by the two-way
    // examples (tests/it/actions.rs).
    let read: Vec<Stream> = manifest.streams().into_iter().map(|s| s.stream).collect();
    let content: Vec<Stream> = Stream::ALL
        .into_iter()
        .filter(|s| *s != Stream::DealStatus)
        .collect();
    assert_eq!(read, content);
    assert_eq!(manifest.auth_kind(), "api_key");
    let incremental: Vec<_> = manifest
        .streams()
        .into_iter()
        .filter(|s| s.mode == SyncMode::Incremental)
        .map(|s| s.stream)
        .collect();
    assert_eq!(incremental, [Stream::Leads]);
}

/// A fake of Acme's partner API, answering as its documentation says.
async fn acme() -> MockServer {
    let vendor = MockServer::start().await;
    let answer = |body: serde_json::Value| ResponseTemplate::new(200).set_body_json(body);
    let get = |at: &str| {
        Mock::given(path(format!("/api/v2{at}")))
            .and(header("x-acme-key", "acme-secret"))
            .and(header("acme-version", "2026-01-01"))
    };
    get("/leads")
        .and(query_param("status", "open"))
        .and(query_param("limit", "100"))
        .and(wiremock::matchers::query_param_is_missing("cursor"))
        .respond_with(answer(json!({
            "data": [{
                "id": 9001, "first_name": "Ada", "last_name": "Lovelace",
                "email": "ada@analytical.example", "job_title": "CTO",
                "account": {"name": "Analytical Engines", "domain": "analytical.example", "country": "GB"},
                "notes": "Wants 40 seats", "accept_by": "2026-04-01T12:00:00Z",
                "updated_at": "2026-03-20T08:00:00Z"
            }],
            "meta": {"next_cursor": "n2", "total": 2}
        })))
        .mount(&vendor)
        .await;
    get("/leads")
        .and(query_param("cursor", "n2"))
        .respond_with(answer(json!({
            "data": [{"id": 9002, "first_name": "Grace", "updated_at": "2026-03-21T08:00:00Z"}],
            "meta": {"next_cursor": null, "total": 2}
        })))
        .mount(&vendor)
        .await;
    get("/campaigns")
        .respond_with(answer(json!({
            "campaigns": [{
                "id": "spring-26", "start_date": "2026-03-01", "end_date": "2026-05-31",
                "eligible_levels": ["Gold", "Elite"], "regions": ["EMEA"],
                "title": "Spring promotion", "summary": "20% off backups",
                "landing": {"headline": "Back up everything", "body": "Now 20% off."},
                "asset_ids": [77, "brochure"]
            }],
            "links": {"next": null}
        })))
        .mount(&vendor)
        .await;
    get("/assets")
        .respond_with(answer(json!([
            {"id": "brochure", "type": "pdf", "name": "Brochure", "download_url": "https://cdn.acme.example/b.pdf", "tags": ["backup"]},
            {"id": "post-1", "type": "post", "lang": "de", "name": "Beitrag", "text": "Jetzt sichern!"}
        ])))
        .mount(&vendor)
        .await;
    get("/price-lists")
        .and(query_param("offset", "0"))
        .and(query_param("limit", "50"))
        .respond_with(answer(json!({
            "items": [{
                "code": "EU-2026", "name": "Europe 2026", "currency": "EUR",
                "valid_from": "2026-01-01",
                "discounts": [{"level": "Gold", "percent": 12.5}, {"level": "Elite", "percent": "20"}]
            }],
            "total": 1
        })))
        .mount(&vendor)
        .await;
    get("/price-items")
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .respond_with(answer(json!({
            "results": [{
                "list_code": "EU-2026", "sku": "BKP-100", "description": "Backup 100 GB",
                "family": "Backup", "unit_price": 9.99,
                "breaks": [{"from": 10, "percent": 5}]
            }]
        })))
        .mount(&vendor)
        .await;
    get("/partner")
        .respond_with(answer(
            json!({"partner": {"name": "Reseller GmbH", "level": "Elite"}}),
        ))
        .mount(&vendor)
        .await;
    vendor
}

#[tokio::test]
async fn every_stream_of_the_example_maps_onto_onepane() {
    let vendor = acme().await;
    let text = EXAMPLE.replace(
        "https://partners.acme.example/api/v2",
        &format!("{}/api/v2", vendor.uri()),
    );
    let source =
        onepane_connector_rest::RestSource::from_settings(&json!({"manifest": text})).unwrap();
    let credentials = Credentials::ApiKey {
        name: "X-Acme-Key".into(),
        value: Secret::new("acme-secret"),
        placement: KeyPlacement::Header,
    };
    source.check_credentials(&credentials).unwrap();
    let io = io_with(&credentials);

    let mut read = Vec::new();
    for spec in source.streams() {
        let pass = read_all(&source, &io, spec.stream, None).await.unwrap();
        assert!(
            pass.rejected.is_empty(),
            "{}: {:?}",
            spec.stream,
            pass.rejected
        );
        read.push((spec.stream, pass));
    }
    let pass = |stream: Stream| &read.iter().find(|(s, _)| *s == stream).unwrap().1;

    let leads = pass(Stream::Leads);
    assert_eq!(leads.keys(), ["9001", "9002"]);
    assert_eq!(leads.pages[0].total, Some(2));
    assert_eq!(leads.records[0].cursor, Some(json!("2026-03-20T08:00:00Z")));
    let Record::Lead(ada) = &leads.records[0].record else {
        panic!()
    };
    assert_eq!(ada.contact.name.as_str(), "Ada Lovelace");
    assert_eq!(ada.contact.title.as_ref().unwrap().as_str(), "CTO");
    assert_eq!(
        ada.company.as_ref().unwrap().name.as_str(),
        "Analytical Engines"
    );
    assert!(ada.respond_by.is_some());
    let Record::Lead(grace) = &leads.records[1].record else {
        panic!()
    };
    assert_eq!(grace.contact.name.as_str(), "Grace");
    assert_eq!(
        (grace.company.as_ref(), grace.contact.email.as_ref()),
        (None, None)
    );

    let Record::Campaign {
        external_id,
        content,
    } = &pass(Stream::Campaigns).records[0].record
    else {
        panic!()
    };
    assert_eq!(external_id.as_str(), "spring-26");
    assert_eq!(content.audience.tiers, [Tier::Gold, Tier::Platinum]);
    assert_eq!(
        content.variants.first().landing.call_to_action.as_str(),
        "Talk to us"
    );
    let assets: Vec<_> = content
        .asset_external_ids
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(assets, ["77", "brochure"]);

    assert_eq!(pass(Stream::Assets).keys(), ["brochure", "post-1"]);

    let Record::PriceList { terms, .. } = &pass(Stream::PriceLists).records[0].record else {
        panic!()
    };
    assert_eq!(terms.tier_discount(Tier::Gold).value().to_string(), "12.5");
    assert_eq!(
        terms.tier_discount(Tier::Platinum).value().to_string(),
        "20"
    );

    let items = pass(Stream::PriceItems);
    let Record::PriceItem { price_list, item } = &items.records[0].record else {
        panic!()
    };
    assert_eq!(
        (price_list.as_str(), item.sku.as_str()),
        ("EU-2026", "BKP-100")
    );
    assert_eq!(item.list_price.value().to_string(), "9.99");
    assert_eq!(item.volume_breaks[0].min_quantity, 10);

    assert_eq!(
        pass(Stream::Tier).records[0].record,
        Record::Tier(Tier::Platinum)
    );
}
