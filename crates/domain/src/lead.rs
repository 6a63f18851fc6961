//! Leads: where they came from, who they are, and the state machine that
//! moves them from new to won or lost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::campaign::WebUrl;
use crate::ids::{ActivationId, CampaignId, LeadId, VendorId, WorkspaceId};
use crate::program::spelled_enum;
use crate::text::{CountryCode, Email, ExternalId, LongText, Name, Slug};

spelled_enum!(
    /// Where a lead came from.
    LeadSource, "lead source" {
        /// Sent by a vendor (through its API or a pull connector); the partner accepts or declines it.
        Vendor => "vendor",
        /// Captured by an activated campaign's landing page.
        Campaign => "campaign",
        /// Entered by the partner.
        Manual => "manual",
    }
);

spelled_enum!(
    /// Where a lead is in the partner's process.
    LeadStatus, "lead status" {
        /// Arrived; not yet worked.
        New => "new",
        /// A vendor-sent lead the partner took on.
        Accepted => "accepted",
        /// A vendor-sent lead the partner turned down.
        Declined => "declined",
        /// Being worked.
        Working => "working",
        /// Qualified as an opportunity.
        Qualified => "qualified",
        /// Closed as won.
        Won => "won",
        /// Closed as lost.
        Lost => "lost",
    }
);

spelled_enum!(
    /// What a landing page's visitor said to the partner's marketing.
    MarketingConsent, "marketing consent" {
        /// The page asked nothing: the partner set no consent text.
        NotAsked => "not-asked",
        /// The visitor ticked the box.
        Given => "given",
        /// The box was shown and left unticked.
        Declined => "declined",
    }
);

/// What a landing page's visitor was shown and agreed to, recorded with
/// the lead it sent: the store builds it from the page and the partner's
/// profile as they were when the lead was taken, and never changes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LeadConsent {
    /// The answer to the marketing question (`not-asked` when the page had no checkbox).
    pub marketing: MarketingConsent,
    /// The checkbox's text exactly as shown; null when not asked.
    pub marketing_text: Option<LongText>,
    /// The version of that text (it moves by one each time the partner
    /// changes the text); null when not asked.
    pub marketing_text_version: Option<u32>,
    /// The landing page the lead came from (its address is `/l/{landing_page}`).
    pub landing_page: Slug,
    /// The activation whose landing page it was.
    pub activation_id: ActivationId,
    /// The privacy notice the page linked to; null when it linked to none.
    pub privacy_notice_url: Option<WebUrl>,
    /// When the visitor sent the form.
    pub recorded_at: DateTime<Utc>,
}

/// What a visitor answered to the marketing checkbox of a landing page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentAnswer {
    /// The page showed no checkbox.
    NotAsked,
    /// The page showed the checkbox with version `text_version` of the
    /// partner's text, and the visitor ticked it (`given`) or not.
    Answered {
        /// Whether the box was ticked.
        given: bool,
        /// The version of the text the page showed.
        text_version: u32,
    },
}

/// A status change the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {origin} lead cannot go from {from} to {to}")]
pub struct LeadTransitionError {
    /// The lead's source.
    pub origin: LeadSource,
    /// The current status.
    pub from: LeadStatus,
    /// The refused status.
    pub to: LeadStatus,
}

/// Why a move of a lead cannot be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UndoRefused {
    /// No move of this lead has that id.
    #[error("this lead has no such move")]
    Unknown,
    /// Another member (or the system) moved it: only the member who moved
    /// a lead may undo the move.
    #[error("only the member who moved the lead may undo the move")]
    NotYours,
    /// The move is older than the time allowed to undo it.
    #[error("the time to undo this move has passed")]
    TooLate,
    /// The lead changed after the move (moved again, undone already,
    /// updated by its vendor): undoing would overwrite that.
    #[error("the lead has changed since this move")]
    ChangedSince,
    /// The move answered the vendor (accepted or declined its lead): the
    /// answer has gone to the vendor, and there is no taking it back.
    #[error("the vendor has been told of this move, and an answer cannot be taken back")]
    VendorTold,
}

/// The move an audit event records, and whether `by` may undo it at
/// `now`, `window` after it at most: the `from` and `to` of a `lead.moved`
/// of `lead` made by `by`, still the lead's latest change (its status is
/// the move's and it was last updated when the move was recorded), that
/// did not answer the vendor.
pub fn undoable_move(
    lead: &Lead,
    event: &crate::activity::AuditEvent,
    by: crate::ids::UserId,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<(LeadStatus, LeadStatus), UndoRefused> {
    let lead_id = lead.id.to_string();
    if event.action != LEAD_MOVED
        || event.subject_kind.as_deref() != Some("lead")
        || event.subject.as_deref() != Some(lead_id.as_str())
    {
        return Err(UndoRefused::Unknown);
    }
    let status = |key: &str| {
        event.detail[key]
            .as_str()
            .and_then(|s| s.parse::<LeadStatus>().ok())
            .ok_or(UndoRefused::Unknown)
    };
    let (from, to) = (status("from")?, status("to")?);
    if event.actor != crate::activity::Actor::User(by) {
        return Err(UndoRefused::NotYours);
    }
    if lead.source.move_answers_vendor(to) {
        return Err(UndoRefused::VendorTold);
    }
    if now - event.at > window {
        return Err(UndoRefused::TooLate);
    }
    if lead.status != to || lead.updated_at != event.at {
        return Err(UndoRefused::ChangedSince);
    }
    Ok((from, to))
}

/// The audit action of a lead's move.
pub const LEAD_MOVED: &str = "lead.moved";

/// The audit action of a move undone.
pub const LEAD_MOVE_UNDONE: &str = "lead.move-undone";

impl LeadSource {
    /// Whether moving a lead from this source to `to` answers its vendor
    /// (accepting or declining a vendor's lead does; the answer is
    /// delivered to the vendor and cannot be taken back).
    pub fn move_answers_vendor(self, to: LeadStatus) -> bool {
        self == LeadSource::Vendor && matches!(to, LeadStatus::Accepted | LeadStatus::Declined)
    }
}

impl LeadStatus {
    /// Whether the lead is closed (no further work expected).
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            LeadStatus::Declined | LeadStatus::Won | LeadStatus::Lost
        )
    }

    /// Checks a move to `to` for a lead from `source`.
    ///
    /// Vendor-sent leads must be accepted or declined before they are worked;
    /// only vendor-sent leads can be declined; a lost lead can be reopened.
    pub fn transition(
        self,
        source: LeadSource,
        to: LeadStatus,
    ) -> Result<LeadStatus, LeadTransitionError> {
        use LeadStatus::*;
        let vendor_sent = source == LeadSource::Vendor;
        let allowed = match (self, to) {
            (New, Accepted) => true,
            (New, Declined) => vendor_sent,
            (New, Working | Qualified | Lost) => !vendor_sent,
            (Accepted, Working | Qualified | Lost) => true,
            (Working, Qualified | Lost) => true,
            (Qualified, Won | Lost | Working) => true,
            (Lost, Working) => true,
            _ => false,
        };
        if allowed {
            Ok(to)
        } else {
            Err(LeadTransitionError {
                origin: source,
                from: self,
                to,
            })
        }
    }
}

/// The person behind a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Full name.
    pub name: Name,
    /// Email address.
    pub email: Option<Email>,
    /// Phone number as given.
    pub phone: Option<Name>,
    /// Job title.
    pub title: Option<Name>,
}

/// The organization behind a lead or a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Company {
    /// Company name.
    pub name: Name,
    /// Web domain (example.com).
    pub domain: Option<Name>,
    /// Country.
    pub country: Option<CountryCode>,
}

/// A lead in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lead {
    /// Its id.
    pub id: LeadId,
    /// The workspace that owns it.
    pub workspace_id: WorkspaceId,
    /// The vendor it is attributed to.
    pub vendor_id: Option<VendorId>,
    /// The campaign it is attributed to.
    pub campaign_id: Option<CampaignId>,
    /// The activation (landing page) that captured it.
    pub activation_id: Option<ActivationId>,
    /// The id in the vendor's system, for vendor-sent leads.
    pub external_id: Option<ExternalId>,
    /// Where it came from.
    pub source: LeadSource,
    /// Where it is in the process.
    pub status: LeadStatus,
    /// The person.
    pub contact: Contact,
    /// The organization.
    pub company: Option<Company>,
    /// What the lead asked for or why it was sent.
    pub message: Option<LongText>,
    /// The vendor-set deadline to accept a vendor-sent lead.
    pub respond_by: Option<DateTime<Utc>>,
    /// When the partner shared the lead's details with its vendor (a deal
    /// registration shares it too). Until then the vendor sees counts only.
    pub shared_with_vendor_at: Option<DateTime<Utc>>,
    /// What the visitor consented to on the landing page that captured it;
    /// null for a lead from any other source.
    pub consent: Option<LeadConsent>,
    /// When it arrived.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A lead a partner enters by hand.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewManualLead {
    /// The vendor it is for, if any.
    pub vendor_id: Option<VendorId>,
    /// The person.
    pub contact: Contact,
    /// The organization.
    pub company: Option<Company>,
    /// Notes.
    pub message: Option<LongText>,
}

/// A lead a vendor sends to one partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewVendorLead {
    /// The id in the vendor's system (sending the same id again updates it).
    pub external_id: ExternalId,
    /// The person.
    pub contact: Contact,
    /// The organization.
    pub company: Option<Company>,
    /// Why it is sent.
    pub message: Option<LongText>,
    /// The deadline to accept it.
    pub respond_by: Option<DateTime<Utc>>,
}

/// A lead captured by a campaign's landing page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaignLead {
    /// The activation whose landing page captured it.
    pub activation_id: ActivationId,
    /// The person.
    pub contact: Contact,
    /// The organization.
    pub company: Option<Company>,
    /// What the visitor wrote.
    pub message: Option<LongText>,
    /// What the visitor answered to the page's marketing checkbox.
    pub consent: ConsentAnswer,
}

#[cfg(test)]
mod tests {
    use super::LeadSource::*;
    use super::LeadStatus::*;
    use super::*;

    #[test]
    fn vendor_leads_are_accepted_or_declined_before_work() {
        assert_eq!(New.transition(Vendor, Accepted), Ok(Accepted));
        assert_eq!(New.transition(Vendor, Declined), Ok(Declined));
        assert!(New.transition(Vendor, Working).is_err());
        assert_eq!(Accepted.transition(Vendor, Working), Ok(Working));
    }

    #[test]
    fn only_vendor_leads_can_be_declined() {
        assert!(New.transition(Campaign, Declined).is_err());
        assert!(New.transition(Manual, Declined).is_err());
        assert_eq!(New.transition(Campaign, Working), Ok(Working));
    }

    #[test]
    fn closed_leads_stay_closed_except_lost_reopens() {
        for to in LeadStatus::ALL {
            assert!(Won.transition(Manual, *to).is_err());
            assert!(Declined.transition(Vendor, *to).is_err());
        }
        assert_eq!(Lost.transition(Manual, Working), Ok(Working));
    }

    #[test]
    fn consent_records_tell_not_asked_from_declined_in_json() {
        let record = LeadConsent {
            marketing: MarketingConsent::Declined,
            marketing_text: Some(LongText::parse("Offers by email").unwrap()),
            marketing_text_version: Some(3),
            landing_page: Slug::parse("spring-print-abc123").unwrap(),
            activation_id: ActivationId::new(),
            privacy_notice_url: Some("https://acme.example/privacy".parse().unwrap()),
            recorded_at: Utc::now(),
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["marketing"], "declined");
        assert_eq!(json["marketing_text"], "Offers by email");
        assert_eq!(json["marketing_text_version"], 3);
        assert_eq!(json["landing_page"], "spring-print-abc123");
        assert_eq!(json["privacy_notice_url"], "https://acme.example/privacy");
        let back: LeadConsent = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
        let spellings: Vec<&str> = MarketingConsent::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(spellings, ["not-asked", "given", "declined"]);
        // A stored record naming a script as its privacy notice is refused on read.
        let mut forged = serde_json::to_value(&record).unwrap();
        forged["privacy_notice_url"] = "javascript:alert(1)".into();
        assert!(serde_json::from_value::<LeadConsent>(forged).is_err());
    }

    #[test]
    fn refusal_names_the_move() {
        let err = Won.transition(Campaign, New).unwrap_err();
        assert_eq!(err.to_string(), "a campaign lead cannot go from won to new");
    }
}
