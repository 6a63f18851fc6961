//! A CRM sink: where a workspace's leads (and deals, where the CRM has
//! them) are pushed, idempotently by Onepane's id.

use onepane_domain::deal::DealRegistration;
use onepane_domain::lead::Lead;

use crate::io::{BoxFuture, ConnectorError, Io};

/// A lead to push, with the names a CRM record shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadPush {
    /// The lead as it stands now.
    pub lead: Lead,
    /// The vendor's name, when it came from one.
    pub vendor: Option<String>,
}

/// A deal registration to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealPush {
    /// The registration as it stands now.
    pub deal: DealRegistration,
    /// The vendor's name.
    pub vendor: String,
}

/// What became of one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// Created or updated; the CRM's id for it, when it said.
    Pushed {
        /// The CRM's id.
        remote_id: Option<String>,
    },
    /// Refused.
    Failed {
        /// The CRM's message.
        message: String,
        /// Whether sending it again later may succeed.
        retryable: bool,
    },
}

/// A CRM sink. Each push is an upsert keyed by Onepane's id, so sending a
/// batch twice changes nothing. Outcomes come back in the batch's order.
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// The most records one call takes (HubSpot 100, Salesforce 200).
    fn batch_size(&self) -> usize;

    /// The request rate the CRM allows, when the sink knows it; otherwise
    /// the engine's default applies.
    fn rate_limit(&self) -> Option<crate::RateLimit> {
        None
    }

    /// Upserts a batch of leads.
    fn push_leads<'a>(
        &'a self,
        io: &'a Io,
        leads: &'a [LeadPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>>;

    /// Whether the CRM takes deals.
    fn takes_deals(&self) -> bool {
        false
    }

    /// Upserts a batch of deal registrations (only when [`Sink::takes_deals`]).
    fn push_deals<'a>(
        &'a self,
        _io: &'a Io,
        _deals: &'a [DealPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Config("this CRM takes no deals".into())) })
    }

    /// Whether the CRM's API can delete a person for good on their request
    /// (a GDPR erasure). A CRM that cannot still gets the erased lead
    /// (without the person's details) on its next push.
    fn erases(&self) -> bool {
        false
    }

    /// Deletes for good the contacts with these email addresses (only when
    /// [`Sink::erases`]); outcomes in the same order. An address the CRM
    /// does not hold counts as erased.
    fn erase_contacts<'a>(
        &'a self,
        _io: &'a Io,
        _emails: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        Box::pin(async {
            Err(ConnectorError::Config(
                "this CRM cannot erase contacts".into(),
            ))
        })
    }
}
