//! The fake's checks must be able to say no.

use onepane_connector_aws_partner_central::testkit::{Aws, Model, Pattern, Problem};
use serde_json::{Value, json};

fn fields(problems: &[Problem]) -> Vec<(String, &'static str)> {
    problems.iter().map(|p| (p.field.clone(), p.code)).collect()
}

#[test]
fn a_body_missing_a_required_member_is_rejected() {
    let model = Model::selling();
    let good = json!({ "Catalog": "Sandbox", "ClientToken": "k1" });
    assert!(model.check_input("CreateOpportunity", &good).is_empty());

    let problems = model.check_input("CreateOpportunity", &json!({ "Catalog": "Sandbox" }));

    assert_eq!(
        fields(&problems),
        [("ClientToken".to_owned(), "REQUIRED_FIELD_MISSING")]
    );
    let nested = json!({
        "Catalog": "Sandbox",
        "ClientToken": "k1",
        "Project": { "ExpectedCustomerSpend": [{ "Amount": "5" }] }
    });
    let problems = fields(&model.check_input("CreateOpportunity", &nested));
    assert!(problems.contains(&(
        "Project.ExpectedCustomerSpend[0].CurrencyCode".into(),
        "REQUIRED_FIELD_MISSING"
    )));
    assert!(problems.contains(&(
        "Project.ExpectedCustomerSpend[0].TargetCompany".into(),
        "REQUIRED_FIELD_MISSING"
    )));
}

#[test]
fn enums_patterns_lengths_types_and_unknown_members_are_checked() {
    let model = Model::selling();
    let body = json!({
        "Catalog": "Sand box",
        "ClientToken": "k1",
        "Origin": "Cold Call",
        "PartnerOpportunityIdentifier": "x".repeat(65),
        "Customer": { "Account": { "CompanyName": "Kesko", "Industry": "Forestry" }, "Contacts": {} },
        "Project": {
            "ExpectedCustomerSpend": [{ "Amount": "12.345", "CurrencyCode": "EUR", "Frequency": "Monthly", "TargetCompany": "AWS" }],
            "CustomerBusinessProblem": "too short"
        },
        "LifeCycle": { "TargetCloseDate": "2026-13-01", "NextStepsHistory": [{ "Value": "x", "Time": "yesterday" }] },
        "Tags": [],
        "Extra": 1
    });

    let problems = fields(&model.check_input("CreateOpportunity", &body));

    for expected in [
        ("Catalog", "INVALID_STRING_FORMAT"),
        ("Origin", "INVALID_ENUM_VALUE"),
        ("PartnerOpportunityIdentifier", "INVALID_STRING_FORMAT"),
        ("Customer.Account.Industry", "INVALID_ENUM_VALUE"),
        ("Customer.Contacts", "INVALID_VALUE"),
        (
            "Project.ExpectedCustomerSpend[0].Amount",
            "INVALID_STRING_FORMAT",
        ),
        ("Project.CustomerBusinessProblem", "INVALID_STRING_FORMAT"),
        ("LifeCycle.TargetCloseDate", "INVALID_STRING_FORMAT"),
        (
            "LifeCycle.NextStepsHistory[0].Time",
            "INVALID_STRING_FORMAT",
        ),
        ("Tags", "NOT_ENOUGH_VALUES"),
        ("Extra", "INVALID_VALUE"),
    ] {
        assert!(
            problems.contains(&(expected.0.to_owned(), expected.1)),
            "{expected:?} not in {problems:?}"
        );
    }
    let problems = fields(&model.check_input(
        "ListOpportunities",
        &json!({ "Catalog": "AWS", "MaxResults": 500 }),
    ));
    assert_eq!(problems, [("MaxResults".to_owned(), "INVALID_VALUE")]);
    let problems = fields(&model.check_input(
        "RejectEngagementInvitation",
        &json!({ "Catalog": "AWS", "Identifier": "engi-0000000000001", "RejectionReason": "line\nbreak" }),
    ));
    assert_eq!(
        problems,
        [("RejectionReason".to_owned(), "INVALID_STRING_FORMAT")]
    );
}

#[test]
fn every_pattern_of_the_model_can_be_read() {
    let shapes = Model::selling().doc()["shapes"].as_object().unwrap();
    for (name, shape) in shapes {
        if let Some(pattern) = shape.get("pattern").and_then(Value::as_str) {
            Pattern::compile(pattern).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[tokio::test]
async fn the_fake_answers_unsigned_and_off_model_requests_with_a_validation_exception() {
    let aws = Aws::start().await;
    let client = reqwest::Client::new();
    let send = |target: &'static str, body: Value| {
        client
            .post(aws.url())
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .body(body.to_string())
            .send()
    };

    let answer = send(
        "AWSPartnerCentralSelling.CreateOpportunity",
        json!({ "Catalog": "Sandbox", "ClientToken": "k1" }),
    )
    .await
    .unwrap();

    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["__type"], "ValidationException");
    assert!(
        body["message"].as_str().unwrap().contains("no X-Amz-Date"),
        "{body}"
    );

    let answer = send("AWSPartnerCentralSelling.DeleteEverything", json!({}))
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(aws.calls().iter().all(|c| !c.problems.is_empty()));
    assert!(aws.opportunities().is_empty());
}

#[tokio::test]
async fn the_fake_refuses_a_signed_request_missing_a_required_member() {
    let aws = Aws::start().await;
    let io = crate::fixtures::aws_io(None);
    let endpoint = onepane_connector_aws_partner_central::wire::Endpoint {
        api: onepane_connector_aws_partner_central::wire::Api::SELLING,
        url: aws.url().parse().unwrap(),
        region: "us-east-1".into(),
    };

    let answer = onepane_connector_aws_partner_central::wire::call::<_, Value>(
        &io,
        &endpoint,
        "CreateOpportunity",
        &json!({ "Catalog": "Sandbox" }),
    )
    .await
    .unwrap();

    let refused = answer.unwrap_err();
    assert_eq!(refused.code, "ValidationException");
    assert!(
        refused.message.contains("ClientToken"),
        "{}",
        refused.message
    );
    let calls = aws.calls();
    assert_eq!(calls.len(), 1);
    // Signed as it should be: the only problem is the body.
    assert_eq!(calls[0].problems.len(), 1, "{:?}", calls[0].problems);
}
