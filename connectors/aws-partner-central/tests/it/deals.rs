//! Deal registrations become opportunities submitted for AWS's review.

use std::time::{Duration, Instant};

use onepane_connector::{ConnectorError, Delivered, Source};
use onepane_connector_aws_partner_central::AwsPartnerCentral;
use onepane_connector_aws_partner_central::testkit::Aws;
use onepane_domain::deal::DealStatus;
use serde_json::json;

use crate::fixtures::{aws_io, io_with_secret, registration, source};

#[tokio::test]
async fn a_registration_becomes_one_submitted_opportunity_even_when_sent_twice() {
    let aws = Aws::start().await;
    let source = source(&aws);
    let deal = registration(&[]);
    let io = aws_io(None);

    let first = source.register_deal(&io, &deal).await.unwrap();
    let again = source.register_deal(&io, &deal).await.unwrap();

    let opportunities = aws.opportunities();
    assert_eq!(opportunities.len(), 1, "{opportunities:?}");
    let opportunity = &opportunities[0];
    assert_eq!(
        first,
        Delivered::Sent {
            vendor_ref: Some(opportunity.id.clone()),
            status: Some(DealStatus::Submitted)
        }
    );
    assert_eq!(again, first);
    assert_eq!(opportunity.review_status, "Submitted");

    let created = aws.bodies("CreateOpportunity");
    assert_eq!(created.len(), 2);
    assert_eq!(created[0], created[1]);
    let body = &created[0];
    assert_eq!(body["Catalog"], "Sandbox");
    assert_eq!(body["ClientToken"], deal.idempotency_key);
    assert_eq!(
        body["PartnerOpportunityIdentifier"],
        deal.deal.id.to_string()
    );
    assert_eq!(body["Origin"], "Partner Referral");
    assert_eq!(
        body["Customer"],
        json!({ "Account": {
            "CompanyName": "Kesko Oyj",
            "WebsiteUrl": "https://kesko.fi",
            "Address": { "CountryCode": "FI" }
        }})
    );
    assert_eq!(body["Project"]["Title"], "Cloud migration for Kesko");
    assert_eq!(
        body["Project"]["ExpectedCustomerSpend"],
        json!([{ "Amount": "12000.50", "CurrencyCode": "EUR", "Frequency": "Monthly", "TargetCompany": "AWS" }])
    );
    assert_eq!(
        body["Project"]["CustomerBusinessProblem"],
        "Deal registration for Kesko Oyj: Cloud migration for Kesko. Products: AWS-MAP-ASSESS × 1"
    );
    assert_eq!(
        body["Project"]["AdditionalComments"],
        "Products: AWS-MAP-ASSESS × 1"
    );
    assert_eq!(body["Project"]["DeliveryModels"], json!(["Resell"]));
    assert_eq!(
        body["PrimaryNeedsFromAws"],
        json!(["Co-Sell - Deal Support"])
    );
    assert_eq!(
        body["LifeCycle"],
        json!({ "Stage": "Qualified", "TargetCloseDate": "2026-05-31" })
    );

    // Submitted twice with one client token: one task at AWS.
    let submitted = aws.bodies("StartEngagementFromOpportunityTask");
    assert_eq!(submitted.len(), 2);
    assert_eq!(submitted[0], submitted[1]);
    assert_eq!(submitted[0]["Identifier"], opportunity.id);
    assert_eq!(
        submitted[0]["AwsSubmission"],
        json!({ "InvolvementType": "Co-Sell", "Visibility": "Full" })
    );
    let token = submitted[0]["ClientToken"].as_str().unwrap();
    assert_ne!(token, deal.idempotency_key);
    assert_eq!(token.len(), 64);
}

#[tokio::test]
async fn vendor_fields_fill_the_members_aws_asks_for() {
    let aws = Aws::start().await;
    let source = AwsPartnerCentral::from_settings(&json!({
        "endpoint": aws.url(),
        "catalog": "Sandbox",
        "involvement": "For Visibility Only",
        "writes_per_second": 1000
    }))
    .unwrap();
    let deal = registration(&[
        ("industry", "retail"),
        ("postal_code", "00016"),
        ("city", "Helsinki"),
        ("target_close_date", "2026-10-31"),
        (
            "customer_business_problem",
            "Their stores' stock system cannot keep up with online orders.",
        ),
        ("delivery_model", "Managed Services"),
        ("sales_activity", "Conducted POC / Demo"),
        ("opportunity_type", "Expansion"),
        ("aws_account_id", "123456789012"),
        ("unrelated", "ignored"),
    ]);

    let delivered = source.register_deal(&aws_io(None), &deal).await.unwrap();

    assert!(matches!(delivered, Delivered::Sent { .. }), "{delivered:?}");
    let body = &aws.bodies("CreateOpportunity")[0];
    let account = &body["Customer"]["Account"];
    assert_eq!(account["Industry"], "Retail");
    assert_eq!(account["AwsAccountId"], "123456789012");
    assert_eq!(
        account["Address"],
        json!({ "CountryCode": "FI", "PostalCode": "00016", "City": "Helsinki" })
    );
    assert_eq!(body["LifeCycle"]["TargetCloseDate"], "2026-10-31");
    assert_eq!(
        body["Project"]["CustomerBusinessProblem"],
        "Their stores' stock system cannot keep up with online orders."
    );
    assert_eq!(
        body["Project"]["DeliveryModels"],
        json!(["Managed Services"])
    );
    assert_eq!(
        body["Project"]["SalesActivities"],
        json!(["Conducted POC / Demo"])
    );
    assert_eq!(body["OpportunityType"], "Expansion");
    assert!(body.get("PrimaryNeedsFromAws").is_none());
    let submitted = &aws.bodies("StartEngagementFromOpportunityTask")[0];
    assert_eq!(
        submitted["AwsSubmission"]["InvolvementType"],
        "For Visibility Only"
    );

    // An industry AWS does not list is `Other`, named.
    let other = registration(&[("industry", "Forestry")]);
    source.register_deal(&aws_io(None), &other).await.unwrap();
    let body = &aws.bodies("CreateOpportunity")[1];
    assert_eq!(body["Customer"]["Account"]["Industry"], "Other");
    assert_eq!(body["Customer"]["Account"]["OtherIndustry"], "Forestry");
}

#[tokio::test]
async fn aws_refusing_the_registration_is_a_refusal_with_its_message() {
    let aws = Aws::start().await;
    let source = source(&aws);
    let message = "Customer.Account.Industry is required to submit an opportunity.";
    aws.refuse("StartEngagementFromOpportunityTask", message);

    let delivered = source
        .register_deal(&aws_io(None), &registration(&[]))
        .await
        .unwrap();

    assert_eq!(
        delivered,
        Delivered::Refused {
            message: message.to_owned()
        }
    );
    aws.checked_calls();
}

#[tokio::test]
async fn a_value_off_the_model_is_refused_with_the_validation_message() {
    let aws = Aws::start().await;
    let source = source(&aws);

    let delivered = source
        .register_deal(
            &aws_io(None),
            &registration(&[("delivery_model", "Carrier pigeon")]),
        )
        .await
        .unwrap();

    let Delivered::Refused { message } = delivered else {
        panic!("{delivered:?}");
    };
    assert!(message.contains("Project.DeliveryModels[0]"), "{message}");
    assert!(message.contains("Carrier pigeon"), "{message}");
    assert!(aws.opportunities().is_empty());
}

#[tokio::test]
async fn a_failed_submission_task_is_a_refusal() {
    let aws = Aws::start().await;
    let source = source(&aws);
    aws.fail_submissions(
        "OpportunityValidationFailed",
        "The target close date is in the past.",
    );

    let delivered = source
        .register_deal(&aws_io(None), &registration(&[]))
        .await
        .unwrap();

    assert_eq!(
        delivered,
        Delivered::Refused {
            message: "The target close date is in the past.".into()
        }
    );
}

#[tokio::test]
async fn throttling_is_retried_and_the_retry_makes_no_second_opportunity() {
    let aws = Aws::start().await;
    let source = source(&aws);
    let deal = registration(&[]);
    aws.throttle(Some("StartEngagementFromOpportunityTask"), 1);

    let err = source
        .register_deal(&aws_io(None), &deal)
        .await
        .unwrap_err();

    assert!(matches!(err, ConnectorError::Throttled { .. }), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));

    // The engine sends it again, with the same key.
    let delivered = source.register_deal(&aws_io(None), &deal).await.unwrap();

    assert!(matches!(
        delivered,
        Delivered::Sent {
            status: Some(DealStatus::Submitted),
            ..
        }
    ));
    let opportunities = aws.opportunities();
    assert_eq!(opportunities.len(), 1);
    assert_eq!(opportunities[0].review_status, "Submitted");
    let statuses: Vec<_> = aws
        .checked_calls()
        .iter()
        .map(|c| (c.operation.clone(), c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("CreateOpportunity".to_owned(), 200),
            ("StartEngagementFromOpportunityTask".to_owned(), 400),
            ("CreateOpportunity".to_owned(), 200),
            ("StartEngagementFromOpportunityTask".to_owned(), 200),
        ]
    );
}

#[tokio::test]
async fn server_errors_are_retried_by_the_shared_client_and_signed_anew() {
    let aws = Aws::start().await;
    let source = source(&aws);
    aws.break_down(Some("CreateOpportunity"), 2);

    let delivered = source
        .register_deal(&aws_io(None), &registration(&[]))
        .await
        .unwrap();

    assert!(matches!(delivered, Delivered::Sent { .. }), "{delivered:?}");
    assert_eq!(aws.opportunities().len(), 1);
    let creates: Vec<u16> = aws
        .checked_calls()
        .iter()
        .filter(|c| c.operation == "CreateOpportunity")
        .map(|c| c.status)
        .collect();
    assert_eq!(creates, [500, 500, 200]);
}

#[tokio::test]
async fn an_outage_that_outlasts_the_retries_is_transient() {
    let aws = Aws::start().await;
    let source = source(&aws);
    aws.break_down(None, 10);

    let err = source
        .register_deal(&aws_io(None), &registration(&[]))
        .await
        .unwrap_err();

    assert!(err.is_transient(), "{err:?}");
    assert!(aws.opportunities().is_empty());
}

#[tokio::test]
async fn requests_are_signed_with_the_session_token_of_temporary_keys() {
    let aws = Aws::start().await;
    let source = source(&aws);

    source
        .register_deal(
            &aws_io(Some("FwoGZXIvYXdzEXAMPLETOKEN")),
            &registration(&[]),
        )
        .await
        .unwrap();

    for call in aws.checked_calls() {
        assert_eq!(
            call.headers["x-amz-security-token"],
            "FwoGZXIvYXdzEXAMPLETOKEN"
        );
        assert_eq!(
            call.headers["x-amz-target"],
            format!("AWSPartnerCentralSelling.{}", call.operation)
        );
        let authorization = &call.headers["authorization"];
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{authorization}"
        );
        assert!(authorization.contains("/us-east-1/partnercentral-selling/aws4_request"));
    }
}

#[tokio::test]
async fn a_wrong_secret_does_not_pass_the_signature_check() {
    let aws = Aws::start().await;
    let source = source(&aws);

    let delivered = source
        .register_deal(&io_with_secret("not-the-secret", None), &registration(&[]))
        .await
        .unwrap();

    assert!(
        matches!(delivered, Delivered::Refused { .. }),
        "{delivered:?}"
    );
    let calls = aws.calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0]
            .problems
            .iter()
            .any(|p| p.contains("SignatureDoesNotMatch")),
        "{:?}",
        calls[0].problems
    );
}

#[tokio::test]
async fn writes_are_paced_to_partner_centrals_quota_of_one_a_second() {
    let aws = Aws::start().await;
    let source = AwsPartnerCentral::from_settings(&json!({ "endpoint": aws.url() })).unwrap();
    let started = Instant::now();

    source
        .register_deal(&aws_io(None), &registration(&[]))
        .await
        .unwrap();

    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(aws.checked_calls().len(), 2);
}

#[tokio::test]
async fn a_negative_amount_is_refused_before_anything_is_sent() {
    let aws = Aws::start().await;
    let source = source(&aws);
    let mut deal = registration(&[]);
    deal.deal.details.amount.amount = "-5".parse().unwrap();

    let delivered = source.register_deal(&aws_io(None), &deal).await.unwrap();

    assert!(
        matches!(delivered, Delivered::Refused { .. }),
        "{delivered:?}"
    );
    assert!(aws.calls().is_empty());
}
