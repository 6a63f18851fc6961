//! AWS's referrals (engagement invitations) become leads.

use chrono::{DateTime, Utc};
use onepane_connector::{Record, Stream};
use onepane_connector_aws_partner_central::testkit::Aws;
use onepane_domain::lead::NewVendorLead;
use serde_json::json;

use crate::fixtures::{aws_io, lead_invitation, opportunity_invitation, read_all, source};

fn leads(pages: &[onepane_connector::Page]) -> Vec<NewVendorLead> {
    pages
        .iter()
        .flat_map(|p| p.records.iter())
        .map(|r| match &r.record {
            Record::Lead(lead) => lead.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn pending_invitations_become_leads_with_their_answer_by_date() {
    let aws = Aws::start().await;
    aws.page_size(1);
    aws.add_invitation(opportunity_invitation(
        "engi-0000000000001",
        "2026-03-15T08:00:00Z",
    ));
    let mut answered = opportunity_invitation("engi-0000000000002", "2026-03-15T08:00:00Z");
    answered.status = "ACCEPTED".into();
    aws.add_invitation(answered);
    aws.add_invitation(lead_invitation(
        "engi-0000000000003",
        "2026-03-20T09:00:00Z",
    ));

    let pages = read_all(&source(&aws), &aws_io(None), Stream::Leads, None).await;

    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|p| p.rejected.is_empty()));
    let leads = leads(&pages);
    assert_eq!(leads.len(), 2);

    let referral = &leads[0];
    assert_eq!(referral.external_id.as_str(), "engi-0000000000001");
    let deadline: DateTime<Utc> = "2026-03-15T08:00:00Z".parse().unwrap();
    assert_eq!(referral.respond_by, Some(deadline));
    // AWS names no customer person before acceptance: the contact is
    // AWS's seller.
    assert_eq!(referral.contact.name.as_str(), "Jane Seller");
    assert_eq!(
        referral.contact.email.as_ref().unwrap().as_str(),
        "jane.seller@amazon.example"
    );
    assert_eq!(
        referral.contact.phone.as_ref().unwrap().as_str(),
        "+14255550100"
    );
    assert_eq!(
        referral.contact.title.as_ref().unwrap().as_str(),
        "Account Manager"
    );
    let company = referral.company.as_ref().unwrap();
    assert_eq!(company.name.as_str(), "Kesko Oyj");
    assert_eq!(company.domain.as_ref().unwrap().as_str(), "www.kesko.fi");
    assert_eq!(company.country.as_ref().unwrap().as_str(), "FI");
    assert_eq!(
        referral.message.as_ref().unwrap().as_str(),
        "AWS referral: Analytics migration\n\
         Kesko asked for a partner to run their migration.\n\
         Move the analytics estate off ageing on-premises hardware.\n\
         Expected spend: 25000 EUR monthly\n\
         Target completion: 2026-09-30\n\
         Industry: Retail\n\
         Asked to act as: Reseller, Services Partner\n\
         Sent by Amazon Web Services"
    );

    let lead = &leads[1];
    assert_eq!(lead.external_id.as_str(), "engi-0000000000003");
    assert_eq!(lead.contact.name.as_str(), "Contact at Tokmanni Group");
    assert_eq!(lead.contact.title.as_ref().unwrap().as_str(), "CIO");
    assert_eq!(lead.contact.email, None);
    assert_eq!(
        lead.company
            .as_ref()
            .unwrap()
            .domain
            .as_ref()
            .unwrap()
            .as_str(),
        "tokmanni.fi"
    );
    let deadline: DateTime<Utc> = "2026-03-20T09:00:00Z".parse().unwrap();
    assert_eq!(lead.respond_by, Some(deadline));
    let message = lead.message.as_ref().unwrap().as_str();
    assert!(message.contains("Use case: Contact center"), "{message}");
    assert!(
        message.contains("Source: AWS Summit Stockholm"),
        "{message}"
    );

    let listed = aws.bodies("ListEngagementInvitations");
    assert_eq!(
        listed[0],
        json!({
            "Catalog": "Sandbox",
            "MaxResults": 100,
            "Sort": { "SortOrder": "ASCENDING", "SortBy": "InvitationDate" },
            "PayloadType": ["OpportunityInvitation", "LeadInvitation"],
            "ParticipantType": "RECEIVER",
            "Status": ["PENDING"]
        })
    );
    assert_eq!(listed[1]["NextToken"], "offset-1");
    let fetched: Vec<_> = aws
        .bodies("GetEngagementInvitation")
        .iter()
        .map(|b| b["Identifier"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fetched, ["engi-0000000000001", "engi-0000000000003"]);
}

#[tokio::test]
async fn a_read_that_is_throttled_is_an_error_the_engine_retries() {
    let aws = Aws::start().await;
    aws.add_invitation(opportunity_invitation(
        "engi-0000000000001",
        "2026-03-15T08:00:00Z",
    ));
    aws.throttle(Some("GetEngagementInvitation"), 1);
    let source = source(&aws);
    let io = aws_io(None);

    let err = onepane_connector::Source::read(&source, &io, Stream::Leads, Default::default())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    let pages = read_all(&source, &io, Stream::Leads, None).await;
    assert_eq!(leads(&pages).len(), 1);
}
