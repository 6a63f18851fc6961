//! AWS Partner Central vendor source, through the Partner Central Selling
//! API (`partnercentral-selling-2022-07-26`, AWS JSON 1.0, SigV4).
//!
//! - A deal registration becomes an **opportunity** (`CreateOpportunity`,
//!   its `ClientToken` the registration's idempotency key) submitted for
//!   AWS's review (`StartEngagementFromOpportunityTask`).
//! - The `deal_status` stream reads the reviews back (`ListOpportunities`,
//!   `LifeCycle.ReviewStatus`), by Onepane's id in
//!   `PartnerOpportunityIdentifier`.
//! - The `leads` stream reads AWS's referrals: pending engagement
//!   invitations (`ListEngagementInvitations`, `GetEngagementInvitation`),
//!   which the partner accepts (`StartEngagementByAcceptingInvitationTask`)
//!   or rejects (`RejectEngagementInvitation`).
//!
//! Requests are signed here ([`wire`]) with the connection's AWS access
//! key; the wire types and mappings are in [`transformers`]. Another API of
//! Partner Central (the Benefits API's `ListBenefitAllocations`, for a
//! benefits stream) is one more [`wire::Api`] and one more arm of
//! [`Source::read`].
//!
//! The `testkit` feature (for tests only) adds `testkit`: a fake Partner
//! Central that checks each request against AWS's published model and its
//! signature.

use std::sync::Arc;
use std::time::Duration;

use onepane_connector::{
    BoxFuture, ConnectorError, DealToRegister, Delivered, Io, LeadAnswer, Page, PageRequest,
    RateLimit, RateLimiter, Record, RecordError, Source, SourceRecord, Stream, StreamSpec,
    SyncMode,
};
use onepane_domain::deal::DealStatus;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[cfg(feature = "testkit")]
pub mod testkit;
pub mod transformers;
pub mod wire;

use transformers::{Involvement, TaskOutcome};
use wire::{Api, AwsError, Endpoint};

/// The region Partner Central is served from.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where the Selling API is served (`partnercentral-selling.us-east-1.api.aws`).
pub const DEFAULT_ENDPOINT: &str = "https://partnercentral-selling.us-east-1.api.aws";

/// Requests a second, and the burst: half of Partner Central's read quota
/// (10 a second per partner account, which the partner's other
/// integrations share).
pub const REQUESTS_PER_SECOND: u32 = 5;

/// Partner Central's write quota: 1 a second per partner account for
/// `CreateOpportunity`, the `Start...Task` calls and
/// `RejectEngagementInvitation`.
pub const WRITES_PER_SECOND: u32 = 1;

/// A connection's settings, all optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// `AWS` (default) or `Sandbox`.
    #[serde(default)]
    catalog: Option<String>,
    /// Default `us-east-1`.
    #[serde(default)]
    region: Option<String>,
    /// The Selling API's base URL (tests point it at a fake).
    #[serde(default)]
    endpoint: Option<String>,
    /// `Co-Sell` (default) or `For Visibility Only`.
    #[serde(default)]
    involvement: Option<String>,
    /// Writes a second the partner account's quota allows (default 1).
    #[serde(default)]
    writes_per_second: Option<u32>,
}

/// The AWS Partner Central source of one connection.
#[derive(Debug, Clone)]
pub struct AwsPartnerCentral {
    catalog: String,
    selling: Endpoint,
    involvement: Involvement,
    /// Spaces the writes of this source out to the write quota, which is
    /// lower than the connection's rate.
    writes: Arc<RateLimiter>,
}

impl AwsPartnerCentral {
    /// The source for a connection's settings (`null` or `{}` for the defaults).
    pub fn from_settings(settings: &Value) -> Result<Self, ConnectorError> {
        let config =
            |m: String| ConnectorError::Config(format!("AWS Partner Central settings: {m}"));
        let settings: Settings = match settings {
            Value::Null => serde_json::from_value(json!({})),
            Value::Object(_) => serde_json::from_value(settings.clone()),
            _ => return Err(config("the settings are an object".to_owned())),
        }
        .map_err(|e| config(e.to_string()))?;

        let catalog = match settings.catalog.as_deref().map(str::trim) {
            None => "AWS".to_owned(),
            Some(c) if c.eq_ignore_ascii_case("aws") => "AWS".to_owned(),
            Some(c) if c.eq_ignore_ascii_case("sandbox") => "Sandbox".to_owned(),
            Some(other) => {
                return Err(config(format!(
                    "catalog `{other}` is neither `AWS` nor `Sandbox`"
                )));
            }
        };
        let region = settings
            .region
            .as_deref()
            .map(str::trim)
            .unwrap_or(DEFAULT_REGION)
            .to_owned();
        let region_ok = !region.is_empty()
            && region.len() <= 32
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && region.contains('-');
        if !region_ok {
            return Err(config(format!(
                "region `{region}` is not an AWS region such as `us-east-1`"
            )));
        }
        let shown = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| Api::SELLING.default_endpoint(&region));
        let url = url::Url::parse(shown.trim())
            .map_err(|e| config(format!("endpoint `{shown}`: {e}")))?;
        if !matches!(url.scheme(), "https" | "http")
            || url.cannot_be_a_base()
            || url.host_str().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(config(format!(
                "endpoint `{shown}` is not an http(s) base URL"
            )));
        }
        let involvement = match settings.involvement.as_deref().map(str::trim) {
            None => Involvement::CoSell,
            Some(i) if i.eq_ignore_ascii_case("co-sell") => Involvement::CoSell,
            Some(i) if i.eq_ignore_ascii_case("for visibility only") => Involvement::VisibilityOnly,
            Some(other) => {
                return Err(config(format!(
                    "involvement `{other}` is neither `Co-Sell` nor `For Visibility Only`"
                )));
            }
        };
        let writes = settings.writes_per_second.unwrap_or(WRITES_PER_SECOND);
        let writes = RateLimit::per_second(writes, 1)
            .ok_or_else(|| config("writes_per_second must be at least 1".to_owned()))?;
        Ok(Self {
            catalog,
            selling: Endpoint {
                api: Api::SELLING,
                url,
                region,
            },
            involvement,
            writes: Arc::new(RateLimiter::new(writes)),
        })
    }

    /// The catalog opportunities and invitations are in (`AWS` or `Sandbox`).
    pub fn catalog(&self) -> &str {
        &self.catalog
    }

    /// The Selling API's base URL.
    pub fn endpoint(&self) -> &url::Url {
        &self.selling.url
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.selling.region
    }

    async fn call<I: serde::Serialize, O: DeserializeOwned>(
        &self,
        io: &Io,
        operation: &str,
        input: &I,
    ) -> Result<Result<O, AwsError>, ConnectorError> {
        wire::call(io, &self.selling, operation, input).await
    }

    /// A write, spaced out to the write quota.
    async fn write<I: serde::Serialize, O: DeserializeOwned>(
        &self,
        io: &Io,
        operation: &str,
        input: &I,
    ) -> Result<Result<O, AwsError>, ConnectorError> {
        self.writes.acquire().await;
        self.call(io, operation, input).await
    }

    #[tracing::instrument(name = "aws_partner_central.register_deal", skip_all, fields(registration = %deal.deal.id))]
    async fn register(&self, io: &Io, deal: &DealToRegister) -> Result<Delivered, ConnectorError> {
        let input = match transformers::opportunity(&self.catalog, deal, self.involvement) {
            Ok(input) => input,
            Err(message) => return Ok(Delivered::Refused { message }),
        };
        let created: transformers::Created =
            match self.write(io, "CreateOpportunity", &input).await? {
                Ok(created) => created,
                Err(e) if e.is_refusal() => return Ok(Delivered::Refused { message: e.said() }),
                Err(e) => return Err(e.into_error()),
            };
        let submit = transformers::StartEngagementFromOpportunity {
            catalog: self.catalog.clone(),
            client_token: transformers::derived_token("submit", &deal.idempotency_key),
            identifier: created.id.clone(),
            aws_submission: transformers::AwsSubmission {
                involvement_type: self.involvement.as_str().to_owned(),
                visibility: "Full".to_owned(),
            },
        };
        let task: transformers::Task = match self
            .write(io, "StartEngagementFromOpportunityTask", &submit)
            .await?
        {
            Ok(task) => task,
            Err(e) if e.is_refusal() => return Ok(Delivered::Refused { message: e.said() }),
            Err(e) => return Err(e.into_error()),
        };
        match task.outcome() {
            TaskOutcome::Going => Ok(Delivered::Sent {
                vendor_ref: Some(created.id),
                status: Some(DealStatus::Submitted),
            }),
            TaskOutcome::Refused(message) => Ok(Delivered::Refused { message }),
            TaskOutcome::Transient(message) => Err(ConnectorError::Throttled {
                message: format!("AWS could not submit opportunity {}: {message}", created.id),
                after: wire::THROTTLED_WAIT,
            }),
        }
    }

    #[tracing::instrument(name = "aws_partner_central.answer_lead", skip_all, fields(lead = %answer.lead.id, accepted = answer.accepted))]
    async fn answer(&self, io: &Io, answer: &LeadAnswer) -> Result<Delivered, ConnectorError> {
        let Some(invitation) = answer.lead.external_id.as_ref() else {
            return Err(ConnectorError::Config(
                "the lead has no AWS invitation id: it did not come from AWS Partner Central"
                    .into(),
            ));
        };
        let invitation = invitation.as_str().to_owned();
        if answer.accepted {
            let input = transformers::AcceptInvitation {
                catalog: self.catalog.clone(),
                client_token: transformers::derived_token("accept", &answer.idempotency_key),
                identifier: invitation.clone(),
            };
            let task: transformers::Task = match self
                .write(io, "StartEngagementByAcceptingInvitationTask", &input)
                .await?
            {
                Ok(task) => task,
                Err(e) if e.is_refusal() => {
                    return Ok(Delivered::Refused { message: e.said() });
                }
                Err(e) => return Err(e.into_error()),
            };
            return match task.outcome() {
                TaskOutcome::Going => Ok(Delivered::Sent {
                    vendor_ref: task.opportunity_id.or(Some(invitation)),
                    status: None,
                }),
                TaskOutcome::Refused(message) => Ok(Delivered::Refused { message }),
                TaskOutcome::Transient(message) => Err(ConnectorError::Throttled {
                    message: format!("AWS could not accept invitation {invitation}: {message}"),
                    after: wire::THROTTLED_WAIT,
                }),
            };
        }
        let input = transformers::RejectInvitation {
            catalog: self.catalog.clone(),
            identifier: invitation.clone(),
            rejection_reason: transformers::rejection_reason(answer.reason.as_deref()),
        };
        match self
            .write::<_, Value>(io, "RejectEngagementInvitation", &input)
            .await?
        {
            Ok(_) => Ok(Delivered::Sent {
                vendor_ref: Some(invitation),
                status: None,
            }),
            // The call takes no client token: a repeat after a lost answer
            // conflicts with the first, which is done if AWS shows the
            // invitation rejected.
            Err(e) if e.code == "ConflictException" => {
                if self.invitation_status(io, &invitation).await?.as_deref() == Some("REJECTED") {
                    Ok(Delivered::Sent {
                        vendor_ref: Some(invitation),
                        status: None,
                    })
                } else {
                    Ok(Delivered::Refused { message: e.said() })
                }
            }
            Err(e) if e.is_refusal() => Ok(Delivered::Refused { message: e.said() }),
            Err(e) => Err(e.into_error()),
        }
    }

    async fn invitation_status(
        &self,
        io: &Io,
        invitation: &str,
    ) -> Result<Option<String>, ConnectorError> {
        let input = transformers::Identified {
            catalog: self.catalog.clone(),
            identifier: invitation.to_owned(),
        };
        match self
            .call::<_, transformers::Invitation>(io, "GetEngagementInvitation", &input)
            .await?
        {
            Ok(found) => Ok(found.status),
            Err(e) if e.code == "ResourceNotFoundException" => Ok(None),
            Err(e) => Err(e.into_error()),
        }
    }

    #[tracing::instrument(name = "aws_partner_central.deal_status", skip_all)]
    async fn read_deal_status(
        &self,
        io: &Io,
        request: PageRequest<'_>,
    ) -> Result<Page, ConnectorError> {
        let input = transformers::ListOpportunities {
            catalog: self.catalog.clone(),
            max_results: transformers::PAGE_SIZE,
            next_token: next_token(request.next),
            sort: transformers::Sort {
                sort_order: "ASCENDING".to_owned(),
                sort_by: "LastModifiedDate".to_owned(),
            },
            last_modified_date: request
                .since
                .and_then(Value::as_str)
                .and_then(transformers::timestamp)
                .map(|t| transformers::LastModifiedDate {
                    after_last_modified_date: transformers::cursor(t),
                }),
        };
        let answer: transformers::OpportunityPage = self
            .call(io, "ListOpportunities", &input)
            .await?
            .map_err(AwsError::into_error)?;
        let mut page = Page {
            next: answer
                .next_token
                .filter(|t| !t.is_empty())
                .map(|t| json!({ "next_token": t })),
            ..Page::default()
        };
        for (i, summary) in answer.opportunity_summaries.iter().enumerate() {
            match transformers::deal_status(summary) {
                // Not one of Onepane's registrations (made in Partner
                // Central itself, or by another tool).
                None => {}
                Some(Ok(status)) => page.records.push(SourceRecord {
                    record: Record::DealStatus(status),
                    cursor: summary
                        .last_modified_date
                        .as_deref()
                        .and_then(transformers::timestamp)
                        .map(|t| Value::String(transformers::cursor(t))),
                }),
                Some(Err(message)) => page.rejected.push(RecordError {
                    at: format!("OpportunitySummaries[{i}]"),
                    key: summary.id.clone(),
                    message,
                }),
            }
        }
        Ok(page)
    }

    #[tracing::instrument(name = "aws_partner_central.leads", skip_all)]
    async fn read_leads(&self, io: &Io, request: PageRequest<'_>) -> Result<Page, ConnectorError> {
        let input = transformers::ListEngagementInvitations {
            catalog: self.catalog.clone(),
            max_results: transformers::PAGE_SIZE,
            next_token: next_token(request.next),
            sort: transformers::Sort {
                sort_order: "ASCENDING".to_owned(),
                sort_by: "InvitationDate".to_owned(),
            },
            payload_type: vec![
                "OpportunityInvitation".to_owned(),
                "LeadInvitation".to_owned(),
            ],
            participant_type: "RECEIVER".to_owned(),
            status: vec!["PENDING".to_owned()],
        };
        let answer: transformers::InvitationPage = self
            .call(io, "ListEngagementInvitations", &input)
            .await?
            .map_err(AwsError::into_error)?;
        let mut page = Page {
            next: answer
                .next_token
                .filter(|t| !t.is_empty())
                .map(|t| json!({ "next_token": t })),
            ..Page::default()
        };
        let pending = |status: &Option<String>| {
            status
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case("PENDING"))
        };
        for (i, summary) in answer.engagement_invitation_summaries.iter().enumerate() {
            if !pending(&summary.status) {
                continue;
            }
            let at = format!("EngagementInvitationSummaries[{i}]");
            let input = transformers::Identified {
                catalog: self.catalog.clone(),
                identifier: summary.id.clone(),
            };
            let invitation: transformers::Invitation =
                match self.call(io, "GetEngagementInvitation", &input).await? {
                    Ok(invitation) => invitation,
                    // Withdrawn or expired between the list and now.
                    Err(e) if e.code == "ResourceNotFoundException" => continue,
                    Err(e) if e.code == "ValidationException" => {
                        page.rejected.push(RecordError {
                            at,
                            key: Some(summary.id.clone()),
                            message: e.said(),
                        });
                        continue;
                    }
                    Err(e) => return Err(e.into_error()),
                };
            if !pending(&invitation.status) {
                continue;
            }
            match transformers::lead(&invitation) {
                Ok(lead) => page.records.push(SourceRecord::new(Record::Lead(lead))),
                Err(message) => page.rejected.push(RecordError {
                    at,
                    key: Some(summary.id.clone()),
                    message,
                }),
            }
        }
        Ok(page)
    }
}

/// The `NextToken` a stored position holds; a position this source did
/// not write starts the pass over.
fn next_token(next: Option<&Value>) -> Option<String> {
    let next = next?;
    match next.get("next_token").and_then(Value::as_str) {
        Some(token) if !token.is_empty() => Some(token.to_owned()),
        _ => {
            tracing::warn!("an unreadable page position; reading from the first page");
            None
        }
    }
}

impl Source for AwsPartnerCentral {
    fn streams(&self) -> Vec<StreamSpec> {
        vec![
            // Every pending invitation each pass: few are pending at once,
            // and answered ones leave the list (leads are never deleted).
            StreamSpec {
                stream: Stream::Leads,
                mode: SyncMode::FullRefresh,
            },
            // Only opportunities changed since the last pass, by
            // `LastModifiedDate`.
            StreamSpec {
                stream: Stream::DealStatus,
                mode: SyncMode::Incremental,
            },
        ]
    }

    fn read<'a>(
        &'a self,
        io: &'a Io,
        stream: Stream,
        request: PageRequest<'a>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>> {
        Box::pin(async move {
            match stream {
                Stream::Leads => self.read_leads(io, request).await,
                Stream::DealStatus => self.read_deal_status(io, request).await,
                other => Err(ConnectorError::Config(format!(
                    "AWS Partner Central has no `{other}` stream (it has leads and deal_status)"
                ))),
            }
        })
    }

    fn registers_deals(&self) -> bool {
        true
    }

    fn register_deal<'a>(
        &'a self,
        io: &'a Io,
        deal: &'a DealToRegister,
    ) -> BoxFuture<'a, Result<Delivered, ConnectorError>> {
        Box::pin(self.register(io, deal))
    }

    fn answers_leads(&self) -> bool {
        true
    }

    fn answer_lead<'a>(
        &'a self,
        io: &'a Io,
        answer: &'a LeadAnswer,
    ) -> BoxFuture<'a, Result<Delivered, ConnectorError>> {
        Box::pin(self.answer(io, answer))
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        RateLimit::new(
            REQUESTS_PER_SECOND,
            Duration::from_secs(1),
            REQUESTS_PER_SECOND,
        )
    }
}
