//! The partner's answers to AWS's referrals go back to Partner Central.

use onepane_connector::{Delivered, Source};
use onepane_connector_aws_partner_central::testkit::Aws;

use crate::fixtures::{answer, aws_io, opportunity_invitation, source};

#[tokio::test]
async fn accepting_starts_the_engagement_once_however_often_it_is_sent() {
    let aws = Aws::start().await;
    aws.add_invitation(opportunity_invitation(
        "engi-0000000000001",
        "2026-03-15T08:00:00Z",
    ));
    let source = source(&aws);
    let accepted = answer("engi-0000000000001", true, None);

    let first = source.answer_lead(&aws_io(None), &accepted).await.unwrap();
    let again = source.answer_lead(&aws_io(None), &accepted).await.unwrap();

    let Delivered::Sent {
        vendor_ref: Some(opportunity),
        status: None,
    } = &first
    else {
        panic!("{first:?}");
    };
    assert!(opportunity.starts_with('O'), "{opportunity}");
    assert_eq!(again, first);
    assert_eq!(aws.invitation("engi-0000000000001").status, "ACCEPTED");
    let bodies = aws.bodies("StartEngagementByAcceptingInvitationTask");
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["Identifier"], "engi-0000000000001");
    assert_eq!(bodies[0]["Catalog"], "Sandbox");
    assert_eq!(bodies[0]["ClientToken"].as_str().unwrap().len(), 64);
    assert!(aws.bodies("RejectEngagementInvitation").is_empty());
}

#[tokio::test]
async fn declining_rejects_with_the_reason_fitted_to_the_model() {
    let aws = Aws::start().await;
    aws.add_invitation(opportunity_invitation(
        "engi-0000000000001",
        "2026-03-15T08:00:00Z",
    ));
    let source = source(&aws);
    let declined = answer(
        "engi-0000000000001",
        false,
        Some(
            "We have no retail practice in Finland\nthis year, and our migration team is fully booked until autumn.",
        ),
    );

    let delivered = source.answer_lead(&aws_io(None), &declined).await.unwrap();

    assert_eq!(
        delivered,
        Delivered::Sent {
            vendor_ref: Some("engi-0000000000001".into()),
            status: None
        }
    );
    let reason = aws
        .invitation("engi-0000000000001")
        .rejection_reason
        .unwrap();
    assert_eq!(
        reason,
        "We have no retail practice in Finland this year, and our migration team is full…"
    );
    assert_eq!(reason.chars().count(), 80);
    let bodies = aws.bodies("RejectEngagementInvitation");
    assert_eq!(bodies[0]["Identifier"], "engi-0000000000001");
    assert_eq!(bodies[0]["RejectionReason"], reason);

    // Sent again (the first answer was lost): AWS already has it.
    let again = source.answer_lead(&aws_io(None), &declined).await.unwrap();
    assert_eq!(again, delivered);
}

#[tokio::test]
async fn declining_without_a_reason_sends_none() {
    let aws = Aws::start().await;
    aws.add_invitation(opportunity_invitation(
        "engi-0000000000001",
        "2026-03-15T08:00:00Z",
    ));

    source(&aws)
        .answer_lead(&aws_io(None), &answer("engi-0000000000001", false, None))
        .await
        .unwrap();

    let body = &aws.bodies("RejectEngagementInvitation")[0];
    assert!(body.get("RejectionReason").is_none(), "{body}");
}

#[tokio::test]
async fn answering_an_invitation_already_taken_is_refused_with_awss_message() {
    let aws = Aws::start().await;
    let mut expired = opportunity_invitation("engi-0000000000001", "2026-03-15T08:00:00Z");
    expired.status = "EXPIRED".into();
    aws.add_invitation(expired);
    let source = source(&aws);

    let accepted = source
        .answer_lead(&aws_io(None), &answer("engi-0000000000001", true, None))
        .await
        .unwrap();
    let declined = source
        .answer_lead(
            &aws_io(None),
            &answer("engi-0000000000001", false, Some("Too late")),
        )
        .await
        .unwrap();

    assert_eq!(
        accepted,
        Delivered::Refused {
            message: "The invitation is EXPIRED and can no longer be accepted.".into()
        }
    );
    assert_eq!(
        declined,
        Delivered::Refused {
            message: "The invitation is EXPIRED and can no longer be rejected.".into()
        }
    );
    aws.checked_calls();
}

#[tokio::test]
async fn a_lead_that_did_not_come_from_aws_cannot_be_answered_there() {
    let aws = Aws::start().await;
    let mut not_ours = answer("engi-0000000000001", true, None);
    not_ours.lead.external_id = None;

    let err = source(&aws)
        .answer_lead(&aws_io(None), &not_ours)
        .await
        .unwrap_err();

    assert!(
        matches!(err, onepane_connector::ConnectorError::Config(_)),
        "{err:?}"
    );
    assert!(aws.calls().is_empty());
}
