//! The deal_status stream reads AWS's reviews of the partner's
//! opportunities back onto Onepane's registrations.

use chrono::NaiveDate;
use onepane_connector::{Record, Stream};
use onepane_connector_aws_partner_central::testkit::Aws;
use onepane_domain::deal::{DealStatus, VendorDealStatus};
use onepane_domain::ids::DealRegistrationId;
use serde_json::{Value, json};

use crate::fixtures::{aws_io, read_all, reviewed, source};

fn statuses(pages: &[onepane_connector::Page]) -> Vec<(VendorDealStatus, Option<Value>)> {
    pages
        .iter()
        .flat_map(|p| p.records.iter())
        .map(|r| match &r.record {
            Record::DealStatus(s) => (s.clone(), r.cursor.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn reviews_map_onto_deal_statuses_page_by_page() {
    let aws = Aws::start().await;
    aws.page_size(2);
    let ids: Vec<DealRegistrationId> = (0..6).map(|_| DealRegistrationId::new()).collect();
    let id = |i: usize| ids[i].to_string();

    let mut approved = reviewed("O1001", Some(&id(0)), "Approved", "2026-03-10T12:00:00Z");
    approved.target_close_date = Some("2026-09-30".into());
    approved.review_comments = Some("Validated with the account team.".into());
    aws.add_opportunity(approved);
    // No target close date: 90 days from the review.
    aws.add_opportunity(reviewed(
        "O1002",
        Some(&id(1)),
        "Approved",
        "2026-03-11T12:00:00Z",
    ));
    let mut rejected = reviewed("O1003", Some(&id(2)), "Rejected", "2026-03-12T12:00:00Z");
    rejected.review_status_reason = Some("Duplicate opportunity".into());
    rejected.review_comments = Some("Another partner registered Kesko's migration first.".into());
    aws.add_opportunity(rejected);
    aws.add_opportunity(reviewed(
        "O1004",
        Some(&id(3)),
        "In review",
        "2026-03-13T12:00:00Z",
    ));
    let mut action = reviewed(
        "O1005",
        Some(&id(4)),
        "Action Required",
        "2026-03-14T12:00:00Z",
    );
    action.review_comments = Some("Add the customer's website.".into());
    aws.add_opportunity(action);
    // A close date already past at review: 90 days instead.
    let mut late = reviewed("O1006", Some(&id(5)), "Approved", "2026-03-15T12:00:00Z");
    late.target_close_date = Some("2026-03-01".into());
    aws.add_opportunity(late);
    // Not Onepane's: made in Partner Central, or by another tool.
    aws.add_opportunity(reviewed(
        "O1007",
        Some("SF-0061234"),
        "Approved",
        "2026-03-16T12:00:00Z",
    ));
    aws.add_opportunity(reviewed("O1008", None, "Rejected", "2026-03-17T12:00:00Z"));

    let pages = read_all(&source(&aws), &aws_io(None), Stream::DealStatus, None).await;

    assert_eq!(pages.len(), 4);
    assert!(pages.iter().all(|p| p.rejected.is_empty()));
    let read = statuses(&pages);
    let expected = [
        (
            "O1001",
            0,
            DealStatus::Approved,
            Some("Validated with the account team."),
            Some(date("2026-09-30")),
        ),
        (
            "O1002",
            1,
            DealStatus::Approved,
            None,
            Some(date("2026-06-09")),
        ),
        (
            "O1003",
            2,
            DealStatus::Rejected,
            Some("Duplicate opportunity: Another partner registered Kesko's migration first."),
            None,
        ),
        ("O1004", 3, DealStatus::Submitted, None, None),
        (
            "O1005",
            4,
            DealStatus::Submitted,
            Some("AWS asks for changes: Add the customer's website."),
            None,
        ),
        (
            "O1006",
            5,
            DealStatus::Approved,
            None,
            Some(date("2026-06-13")),
        ),
    ];
    assert_eq!(read.len(), expected.len(), "{read:?}");
    for ((status, cursor), (vendor_ref, registration, decided, reason, protected)) in
        read.iter().zip(expected)
    {
        assert_eq!(status.vendor_ref.as_ref().unwrap().as_str(), vendor_ref);
        assert_eq!(status.registration, Some(ids[registration]));
        assert_eq!(status.status, decided, "{vendor_ref}");
        assert_eq!(
            status.reason.as_ref().map(|r| r.as_str()),
            reason,
            "{vendor_ref}"
        );
        assert_eq!(status.protection_expires_on, protected, "{vendor_ref}");
        assert_eq!(status.extra_discount, None);
        assert!(
            cursor
                .as_ref()
                .unwrap()
                .as_str()
                .unwrap()
                .starts_with("2026-03-1")
        );
        // Onepane can apply each: approvals carry a protection end.
        status.decision().unwrap();
    }

    let first = &aws.bodies("ListOpportunities")[0];
    assert_eq!(
        first,
        &json!({
            "Catalog": "Sandbox",
            "MaxResults": 100,
            "Sort": { "SortOrder": "ASCENDING", "SortBy": "LastModifiedDate" }
        })
    );
    let later = &aws.bodies("ListOpportunities")[1];
    assert_eq!(later["NextToken"], "offset-2");
}

#[tokio::test]
async fn only_opportunities_changed_since_the_last_pass_are_read() {
    let aws = Aws::start().await;
    let registration = DealRegistrationId::new().to_string();
    aws.add_opportunity(reviewed(
        "O2001",
        Some(&registration),
        "Submitted",
        "2026-03-01T08:00:00Z",
    ));
    aws.add_opportunity(reviewed(
        "O2002",
        Some(&registration),
        "Approved",
        "2026-03-05T08:00:00Z",
    ));
    let source = source(&aws);

    let pages = read_all(&source, &aws_io(None), Stream::DealStatus, None).await;
    let cursor = statuses(&pages)
        .iter()
        .filter_map(|(_, c)| c.clone())
        .max_by(|a, b| a.as_str().cmp(&b.as_str()))
        .unwrap();
    assert_eq!(cursor, json!("2026-03-05T08:00:00.000Z"));
    aws.add_opportunity(reviewed(
        "O2003",
        Some(&registration),
        "Rejected",
        "2026-03-06T08:00:00Z",
    ));

    let pages = read_all(&source, &aws_io(None), Stream::DealStatus, Some(&cursor)).await;

    let read = statuses(&pages);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].0.vendor_ref.as_ref().unwrap().as_str(), "O2003");
    assert_eq!(read[0].0.status, DealStatus::Rejected);
    let body = aws.bodies("ListOpportunities").pop().unwrap();
    assert_eq!(
        body["LastModifiedDate"],
        json!({ "AfterLastModifiedDate": "2026-03-05T08:00:00.000Z" })
    );
}

#[tokio::test]
async fn a_registration_submitted_here_reads_back_as_submitted() {
    let aws = Aws::start().await;
    let source = source(&aws);
    let deal = crate::fixtures::registration(&[]);
    use onepane_connector::Source;
    source.register_deal(&aws_io(None), &deal).await.unwrap();

    let pages = read_all(&source, &aws_io(None), Stream::DealStatus, None).await;

    let read = statuses(&pages);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].0.registration, Some(deal.deal.id));
    assert_eq!(read[0].0.status, DealStatus::Submitted);
    aws.checked_calls();
}
