//! Settings, credentials, streams and the published endpoint.

use onepane_connector::{ConnectorError, Source, Stream, SyncMode, testkit};
use onepane_connector_aws_partner_central::testkit::{Aws, Model};
use onepane_connector_aws_partner_central::{AwsPartnerCentral, DEFAULT_ENDPOINT, wire::Api};
use serde_json::json;

use crate::fixtures::registration;

#[test]
fn every_setting_is_optional_and_unknown_ones_are_refused() {
    let source = AwsPartnerCentral::from_settings(&json!({})).unwrap();
    assert_eq!(source.catalog(), "AWS");
    assert_eq!(source.region(), "us-east-1");
    assert_eq!(
        source.endpoint().as_str(),
        "https://partnercentral-selling.us-east-1.api.aws/"
    );
    assert!(AwsPartnerCentral::from_settings(&serde_json::Value::Null).is_ok());

    let sandbox = AwsPartnerCentral::from_settings(&json!({ "catalog": "sandbox" })).unwrap();
    assert_eq!(sandbox.catalog(), "Sandbox");

    for bad in [
        json!({ "workspace_id": "x" }),
        json!({ "catalog": "Production" }),
        json!({ "region": "US East" }),
        json!({ "endpoint": "ftp://example.com" }),
        json!({ "endpoint": "https://example.com/?key=1" }),
        json!({ "involvement": "Maybe" }),
        json!({ "writes_per_second": 0 }),
        json!([]),
    ] {
        let err = AwsPartnerCentral::from_settings(&bad).unwrap_err();
        assert!(matches!(err, ConnectorError::Config(_)), "{bad}: {err:?}");
    }
}

#[test]
fn the_endpoint_and_signing_follow_the_published_model() {
    let metadata = &Model::selling().doc()["metadata"];
    assert_eq!(metadata["targetPrefix"], Api::SELLING.target_prefix);
    assert_eq!(metadata["signingName"], Api::SELLING.signing_name);
    assert_eq!(metadata["endpointPrefix"], Api::SELLING.signing_name);
    assert_eq!(metadata["protocol"], "json");
    assert_eq!(metadata["jsonVersion"], "1.0");
    assert_eq!(Api::SELLING.default_endpoint("us-east-1"), DEFAULT_ENDPOINT);
}

#[test]
fn it_reads_leads_and_deal_status_and_takes_registrations_and_answers() {
    let source = AwsPartnerCentral::from_settings(&json!({})).unwrap();
    let streams: Vec<_> = source
        .streams()
        .iter()
        .map(|s| (s.stream, s.mode))
        .collect();
    assert_eq!(
        streams,
        [
            (Stream::Leads, SyncMode::FullRefresh),
            (Stream::DealStatus, SyncMode::Incremental)
        ]
    );
    assert!(source.registers_deals());
    assert!(source.answers_leads());
    // Half of the read quota of 10 a second, in bursts of as many.
    let limit = source.rate_limit().unwrap();
    assert_eq!(limit.interval(), std::time::Duration::from_millis(200));
    assert_eq!(limit.burst(), 5);
}

#[tokio::test]
async fn a_connection_without_an_aws_access_key_is_told_what_it_needs() {
    let aws = Aws::start().await;
    let source = crate::fixtures::source(&aws);

    let err = source
        .register_deal(&testkit::bearer_io("token"), &registration(&[]))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, ConnectorError::Config(m) if m.contains("aws_access_key")),
        "{err:?}"
    );
    assert!(aws.calls().is_empty());
}

#[tokio::test]
async fn a_stream_it_does_not_have_is_a_configuration_error() {
    let aws = Aws::start().await;
    let source = crate::fixtures::source(&aws);
    let err = source
        .read(
            &crate::fixtures::aws_io(None),
            Stream::PriceLists,
            Default::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Config(_)), "{err:?}");
}
