//! AWS Partner Central's wire types (as `partnercentral-selling-2022-07-26`
//! names them) and how Onepane's records map onto them and back.
//!
//! Requests carry only what Onepane knows; answers are read leniently
//! (unknown members ignored, every member optional that the mapping can do
//! without), since AWS adds members without notice.

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use onepane_connector::DealToRegister;
use onepane_domain::deal::{DealStatus, VendorDealStatus};
use onepane_domain::ids::DealRegistrationId;
use onepane_domain::lead::{Company, Contact, NewVendorLead};
use onepane_domain::text::{CountryCode, Email, ExternalId, LongText, Name};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long an approved opportunity is protected when it has no target
/// close date after its review: Onepane needs a protection end, and 90
/// days is the usual term of a vendor's deal registration.
pub const DEFAULT_PROTECTION_DAYS: u64 = 90;

/// How far out the target close date of a registration goes when the
/// registration does not say: the same 90 days.
pub const DEFAULT_CLOSE_DAYS: u64 = 90;

/// The most results a list call asks for (`PageSize`: 1 to 100).
pub const PAGE_SIZE: u32 = 100;

// ---------------------------------------------------------------------------
// Requests

/// `CreateOpportunity`'s input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOpportunity {
    /// `AWS` or `Sandbox`.
    pub catalog: String,
    /// The same on every attempt: AWS answers a repeat with the same
    /// opportunity.
    pub client_token: String,
    /// Onepane's registration id.
    pub partner_opportunity_identifier: String,
    /// Always `Partner Referral`.
    pub origin: String,
    /// `Net New Business`, `Flat Renewal` or `Expansion`.
    pub opportunity_type: String,
    /// What the partner asks AWS for (co-sell only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub primary_needs_from_aws: Vec<String>,
    /// `Yes` for national security projects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub national_security: Option<String>,
    /// The end customer.
    pub customer: Customer,
    /// The project.
    pub project: Project,
    /// Stage and target close date.
    pub life_cycle: LifeCycleInput,
    /// Whether marketing sourced it.
    pub marketing: Marketing,
}

/// `Customer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Customer {
    /// The customer's account.
    pub account: Account,
}

/// `Account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// The customer's name (at most 120 characters).
    pub company_name: String,
    /// Its website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// One of AWS's industries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// The industry when `Industry` is `Other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_industry: Option<String>,
    /// The customer's AWS account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    /// Where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// `Address`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// State or region (required by AWS for US customers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Street address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
}

/// `Project`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Project {
    /// The registration's title.
    pub title: String,
    /// 20 to 2,000 characters on the customer's problem.
    pub customer_business_problem: String,
    /// The expected spend.
    pub expected_customer_spend: Vec<ExpectedCustomerSpend>,
    /// How the solution is delivered.
    pub delivery_models: Vec<String>,
    /// What was done with the customer so far.
    pub sales_activities: Vec<String>,
    /// The workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_use_case: Option<String>,
    /// The products, in at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_comments: Option<String>,
}

/// `ExpectedCustomerSpend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExpectedCustomerSpend {
    /// The amount, at most two decimals.
    #[serde(default)]
    pub amount: Option<String>,
    /// ISO 4217.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// `Monthly`.
    #[serde(default)]
    pub frequency: Option<String>,
    /// `AWS`.
    #[serde(default)]
    pub target_company: Option<String>,
}

/// `LifeCycle`, as a request sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifeCycleInput {
    /// `Qualified`: AWS reviews only qualified opportunities.
    pub stage: String,
    /// `YYYY-MM-DD`.
    pub target_close_date: String,
}

/// `Marketing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Marketing {
    /// `None`: the registration did not come from an AWS marketing activity.
    pub source: String,
}

/// `StartEngagementFromOpportunityTask`'s input: submits an opportunity
/// for AWS's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartEngagementFromOpportunity {
    /// The catalog.
    pub catalog: String,
    /// Derived from the registration's idempotency key.
    pub client_token: String,
    /// The opportunity.
    pub identifier: String,
    /// How AWS is involved.
    pub aws_submission: AwsSubmission,
}

/// `AwsSubmission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsSubmission {
    /// `Co-Sell` or `For Visibility Only`.
    pub involvement_type: String,
    /// `Full`.
    pub visibility: String,
}

/// `ListOpportunities`' input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOpportunities {
    /// The catalog.
    pub catalog: String,
    /// At most [`PAGE_SIZE`].
    pub max_results: u32,
    /// Where the page starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Oldest change first, so a cursor can follow.
    pub sort: Sort,
    /// Only those changed after the last complete pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_date: Option<LastModifiedDate>,
}

/// `OpportunitySort` and `OpportunityEngagementInvitationSort`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sort {
    /// `ASCENDING`.
    pub sort_order: String,
    /// `LastModifiedDate`, `InvitationDate`.
    pub sort_by: String,
}

/// `LastModifiedDate` filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LastModifiedDate {
    /// ISO 8601.
    pub after_last_modified_date: String,
}

/// `ListEngagementInvitations`' input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEngagementInvitations {
    /// The catalog.
    pub catalog: String,
    /// At most [`PAGE_SIZE`].
    pub max_results: u32,
    /// Where the page starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Oldest first.
    pub sort: Sort,
    /// Referrals of opportunities and leads.
    pub payload_type: Vec<String>,
    /// `RECEIVER`: invitations sent to the partner.
    pub participant_type: String,
    /// `PENDING`: only those still to answer are new leads.
    pub status: Vec<String>,
}

/// The input of calls that name one resource in a catalog
/// (`GetEngagementInvitation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Identified {
    /// The catalog.
    pub catalog: String,
    /// The resource.
    pub identifier: String,
}

/// `StartEngagementByAcceptingInvitationTask`'s input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AcceptInvitation {
    /// The catalog.
    pub catalog: String,
    /// Derived from the answer's idempotency key.
    pub client_token: String,
    /// The invitation.
    pub identifier: String,
}

/// `RejectEngagementInvitation`'s input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RejectInvitation {
    /// The catalog.
    pub catalog: String,
    /// The invitation.
    pub identifier: String,
    /// At most 80 printable characters on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}

// ---------------------------------------------------------------------------
// Answers

/// `CreateOpportunity`'s output.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Created {
    /// The opportunity's id (`O1234567`).
    pub id: String,
}

/// The output of the `Start...Task` calls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Task {
    /// `IN_PROGRESS`, `COMPLETE` or `FAILED`.
    pub task_status: Option<String>,
    /// What went wrong.
    pub message: Option<String>,
    /// Why, as a code.
    pub reason_code: Option<String>,
    /// The opportunity the task made or submitted.
    pub opportunity_id: Option<String>,
}

/// How a task ended, as far as Onepane cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Started or done.
    Going,
    /// AWS refused it: the partner must read why.
    Refused(String),
    /// It failed in a way a later try may not (throttled, AWS's fault).
    Transient(String),
}

impl Task {
    /// How it went: a `FAILED` task is refused unless its reason is
    /// AWS's own (`InternalError`) or throttling.
    pub fn outcome(&self) -> TaskOutcome {
        if self.task_status.as_deref() != Some("FAILED") {
            return TaskOutcome::Going;
        }
        let reason = self.reason_code.clone().unwrap_or_default();
        let message = match (&self.message, reason.is_empty()) {
            (Some(m), _) if !m.trim().is_empty() => m.trim().to_owned(),
            (_, false) => reason.clone(),
            (_, true) => "AWS Partner Central could not complete the task".to_owned(),
        };
        match reason.as_str() {
            "RequestThrottled" | "InternalError" => TaskOutcome::Transient(message),
            _ => TaskOutcome::Refused(message),
        }
    }
}

/// `ListOpportunities`' output.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OpportunityPage {
    /// The opportunities.
    pub opportunity_summaries: Vec<OpportunitySummary>,
    /// The next page, if any.
    pub next_token: Option<String>,
}

/// `OpportunitySummary`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OpportunitySummary {
    /// AWS's id.
    pub id: Option<String>,
    /// The id the partner gave: Onepane's registration id.
    pub partner_opportunity_identifier: Option<String>,
    /// When it last changed (ISO 8601).
    pub last_modified_date: Option<String>,
    /// Its review.
    pub life_cycle: Option<LifeCycleSummary>,
}

/// `LifeCycleSummary`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LifeCycleSummary {
    /// `Pending Submission`, `Submitted`, `In review`, `Action Required`,
    /// `Approved`, `Rejected`.
    pub review_status: Option<String>,
    /// AWS's feedback.
    pub review_comments: Option<String>,
    /// AWS's reason, as a code.
    pub review_status_reason: Option<String>,
    /// `YYYY-MM-DD`.
    pub target_close_date: Option<String>,
}

/// `ListEngagementInvitations`' output.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InvitationPage {
    /// The invitations.
    pub engagement_invitation_summaries: Vec<InvitationSummary>,
    /// The next page, if any.
    pub next_token: Option<String>,
}

/// `EngagementInvitationSummary`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InvitationSummary {
    /// `engi-...`.
    pub id: String,
    /// `PENDING`, `ACCEPTED`, `REJECTED`, `EXPIRED`.
    pub status: Option<String>,
}

/// `GetEngagementInvitation`'s output.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Invitation {
    /// `engi-...`.
    pub id: String,
    /// `PENDING`, ...
    pub status: Option<String>,
    /// The engagement's title.
    pub engagement_title: Option<String>,
    /// The engagement's description.
    pub engagement_description: Option<String>,
    /// AWS's note to the partner.
    pub invitation_message: Option<String>,
    /// Who sent it (AWS).
    pub sender_company_name: Option<String>,
    /// When it was sent.
    pub invitation_date: Option<String>,
    /// The last moment to answer.
    pub expiration_date: Option<String>,
    /// The referral.
    pub payload: Option<Payload>,
}

/// `Payload`: one of the referral kinds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Payload {
    /// An opportunity AWS refers.
    pub opportunity_invitation: Option<OpportunityInvitation>,
    /// A lead AWS refers.
    pub lead_invitation: Option<LeadInvitation>,
}

/// `OpportunityInvitationPayload`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OpportunityInvitation {
    /// AWS's people on it.
    pub sender_contacts: Vec<SenderContact>,
    /// The customer.
    pub customer: Option<InvitedCustomer>,
    /// The project.
    pub project: Option<InvitedProject>,
    /// What the partner is asked to be (`Reseller`, ...).
    pub receiver_responsibilities: Vec<String>,
}

/// `LeadInvitationPayload`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LeadInvitation {
    /// The customer.
    pub customer: Option<InvitedCustomer>,
    /// How the lead came about.
    pub interaction: Option<Interaction>,
}

/// `SenderContact`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SenderContact {
    /// Email.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title.
    pub business_title: Option<String>,
    /// `+` and digits.
    pub phone: Option<String>,
}

/// `EngagementCustomer` and `LeadInvitationCustomer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InvitedCustomer {
    /// Name.
    pub company_name: Option<String>,
    /// Website.
    pub website_url: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    /// Industry.
    pub industry: Option<String>,
}

/// `ProjectDetails`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InvitedProject {
    /// Title.
    pub title: Option<String>,
    /// The customer's problem.
    pub business_problem: Option<String>,
    /// `YYYY-MM-DD`.
    pub target_completion_date: Option<String>,
    /// Expected spend.
    pub expected_customer_spend: Vec<ExpectedCustomerSpend>,
}

/// `LeadInvitationInteraction`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Interaction {
    /// Where the lead came from.
    pub source_name: Option<String>,
    /// The use case.
    pub usecase: Option<String>,
    /// The customer contact's title.
    pub contact_business_title: Option<String>,
}

// ---------------------------------------------------------------------------
// Mappings

/// AWS's industries (`Industry`); a registration's `industry` field is
/// matched against them, anything else is `Other`.
pub const INDUSTRIES: &[&str] = &[
    "Aerospace",
    "Agriculture",
    "Automotive",
    "Computers and Electronics",
    "Consumer Goods",
    "Education",
    "Energy - Oil and Gas",
    "Energy - Power and Utilities",
    "Financial Services",
    "Gaming",
    "Government",
    "Healthcare",
    "Hospitality",
    "Life Sciences",
    "Manufacturing",
    "Marketing and Advertising",
    "Media and Entertainment",
    "Mining",
    "Non-Profit Organization",
    "Professional Services",
    "Real Estate and Construction",
    "Retail",
    "Software and Internet",
    "Telecommunications",
    "Transportation and Logistics",
    "Travel",
    "Wholesale and Distribution",
    "Other",
];

/// The vendor fields a registration may carry for AWS, by name (see the
/// README): each fills one member of the opportunity.
pub mod field {
    /// `Customer.Account.Industry` (an AWS industry, else `Other`).
    pub const INDUSTRY: &str = "industry";
    /// `Customer.Account.WebsiteUrl` (else the customer's domain).
    pub const WEBSITE: &str = "website";
    /// `Customer.Account.AwsAccountId`.
    pub const AWS_ACCOUNT_ID: &str = "aws_account_id";
    /// `Customer.Account.Address.PostalCode`.
    pub const POSTAL_CODE: &str = "postal_code";
    /// `Customer.Account.Address.StateOrRegion`.
    pub const STATE_OR_REGION: &str = "state_or_region";
    /// `Customer.Account.Address.City`.
    pub const CITY: &str = "city";
    /// `Customer.Account.Address.StreetAddress`.
    pub const STREET_ADDRESS: &str = "street_address";
    /// `Project.CustomerBusinessProblem`.
    pub const CUSTOMER_BUSINESS_PROBLEM: &str = "customer_business_problem";
    /// `Project.CustomerUseCase`.
    pub const CUSTOMER_USE_CASE: &str = "customer_use_case";
    /// `Project.DeliveryModels` (default `Resell`).
    pub const DELIVERY_MODEL: &str = "delivery_model";
    /// `Project.SalesActivities` (default `Initialized discussions with customer`).
    pub const SALES_ACTIVITY: &str = "sales_activity";
    /// `OpportunityType` (default `Net New Business`).
    pub const OPPORTUNITY_TYPE: &str = "opportunity_type";
    /// `LifeCycle.TargetCloseDate` (`YYYY-MM-DD`).
    pub const TARGET_CLOSE_DATE: &str = "target_close_date";
    /// `NationalSecurity` (`Yes` or `No`).
    pub const NATIONAL_SECURITY: &str = "national_security";
    /// `PrimaryNeedsFromAws` when co-selling (default `Co-Sell - Deal Support`).
    pub const PRIMARY_NEED: &str = "primary_need";
}

/// How AWS is asked to take part in a registered opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Involvement {
    /// AWS's sellers work the deal with the partner.
    CoSell,
    /// AWS reviews it and knows of it, nothing more.
    VisibilityOnly,
}

impl Involvement {
    /// As `SalesInvolvementType` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Involvement::CoSell => "Co-Sell",
            Involvement::VisibilityOnly => "For Visibility Only",
        }
    }
}

/// A client token for `key`: the key itself when it fits `ClientToken`
/// (1 to 255 characters on one line), else its SHA-256.
pub fn client_token(key: &str) -> String {
    let fits = (1..=255).contains(&key.chars().count()) && !key.contains(['\n', '\r']);
    if fits {
        key.to_owned()
    } else {
        digest("", key)
    }
}

/// A client token for a second call made for the same key (`submit`,
/// `accept`): the SHA-256 of both, so it is the same on every attempt and
/// differs from the first call's.
pub fn derived_token(purpose: &str, key: &str) -> String {
    digest(purpose, key)
}

fn digest(purpose: &str, key: &str) -> String {
    Sha256::new()
        .chain_update(purpose.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The opportunity a registration becomes, or why it cannot be one.
pub fn opportunity(
    catalog: &str,
    registration: &DealToRegister,
    involvement: Involvement,
) -> Result<CreateOpportunity, String> {
    let deal = &registration.deal;
    let details = &deal.details;
    let fields = details.fields.as_map();
    let given = |name: &str| {
        fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };

    let amount = details.amount.amount.round_dp(2);
    if amount.is_sign_negative() {
        return Err(format!(
            "AWS takes no negative expected spend (the registration says {})",
            details.amount
        ));
    }
    let spend = ExpectedCustomerSpend {
        amount: Some(amount.to_string()),
        currency_code: Some(details.amount.currency.code().to_owned()),
        frequency: Some("Monthly".to_owned()),
        target_company: Some("AWS".to_owned()),
    };

    let (industry, other_industry) = match given(field::INDUSTRY) {
        None => (None, None),
        Some(value) => match INDUSTRIES.iter().find(|i| i.eq_ignore_ascii_case(&value)) {
            Some(known) => (Some((*known).to_owned()), None),
            None => (Some("Other".to_owned()), Some(clip(&value, 255))),
        },
    };
    let website = given(field::WEBSITE)
        .or_else(|| {
            details
                .customer
                .domain
                .as_ref()
                .map(|d| d.as_str().to_owned())
        })
        .map(|site| {
            if site.contains("://") {
                site
            } else {
                format!("https://{site}")
            }
        })
        .map(|site| clip(&site, 255));
    let address = Address {
        country_code: details
            .customer
            .country
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        postal_code: given(field::POSTAL_CODE).map(|v| clip(&v, 20)),
        state_or_region: given(field::STATE_OR_REGION),
        city: given(field::CITY).map(|v| clip(&v, 255)),
        street_address: given(field::STREET_ADDRESS).map(|v| clip(&v, 255)),
    };

    let customer_name = details.customer.name.as_str();
    let products: Vec<String> = details
        .products
        .iter()
        .map(|p| format!("{} × {}", p.sku.as_str(), p.quantity))
        .collect();
    let problem = given(field::CUSTOMER_BUSINESS_PROBLEM).unwrap_or_else(|| {
        let mut text = format!(
            "Deal registration for {customer_name}: {}",
            details.title.as_str()
        );
        if !products.is_empty() {
            text.push_str(&format!(". Products: {}", products.join(", ")));
        }
        text
    });
    // AWS wants at least 20 characters here.
    let problem = if problem.chars().count() < 20 {
        format!("Deal registration: {problem}")
    } else {
        problem
    };

    let close = match given(field::TARGET_CLOSE_DATE) {
        Some(date) => date,
        None => deal
            .submitted_at
            .date_naive()
            .checked_add_days(Days::new(DEFAULT_CLOSE_DAYS))
            .unwrap_or(NaiveDate::MAX)
            .format("%Y-%m-%d")
            .to_string(),
    };

    Ok(CreateOpportunity {
        catalog: catalog.to_owned(),
        client_token: client_token(&registration.idempotency_key),
        partner_opportunity_identifier: deal.id.to_string(),
        origin: "Partner Referral".to_owned(),
        opportunity_type: given(field::OPPORTUNITY_TYPE)
            .unwrap_or_else(|| "Net New Business".to_owned()),
        primary_needs_from_aws: match involvement {
            Involvement::CoSell => vec![
                given(field::PRIMARY_NEED).unwrap_or_else(|| "Co-Sell - Deal Support".to_owned()),
            ],
            Involvement::VisibilityOnly => vec![],
        },
        national_security: given(field::NATIONAL_SECURITY),
        customer: Customer {
            account: Account {
                company_name: clip(customer_name, 120),
                website_url: website,
                industry,
                other_industry,
                aws_account_id: given(field::AWS_ACCOUNT_ID),
                address: (address != Address::default()).then_some(address),
            },
        },
        project: Project {
            title: clip(details.title.as_str(), 255),
            customer_business_problem: clip(&problem, 2000),
            expected_customer_spend: vec![spend],
            delivery_models: vec![
                given(field::DELIVERY_MODEL).unwrap_or_else(|| "Resell".to_owned()),
            ],
            sales_activities: vec![
                given(field::SALES_ACTIVITY)
                    .unwrap_or_else(|| "Initialized discussions with customer".to_owned()),
            ],
            customer_use_case: given(field::CUSTOMER_USE_CASE),
            additional_comments: (!products.is_empty())
                .then(|| clip(&format!("Products: {}", products.join(", ")), 255)),
        },
        life_cycle: LifeCycleInput {
            stage: "Qualified".to_owned(),
            target_close_date: close,
        },
        marketing: Marketing {
            source: "None".to_owned(),
        },
    })
}

/// What an opportunity's review says of the registration behind it:
/// `None` when the opportunity is not one of Onepane's (its partner id is
/// not a registration id), else the status or why it cannot be read.
pub fn deal_status(summary: &OpportunitySummary) -> Option<Result<VendorDealStatus, String>> {
    let registration: DealRegistrationId = summary
        .partner_opportunity_identifier
        .as_deref()?
        .parse()
        .ok()?;
    Some(review(registration, summary))
}

fn review(
    registration: DealRegistrationId,
    summary: &OpportunitySummary,
) -> Result<VendorDealStatus, String> {
    let id = summary.id.as_deref().ok_or("the opportunity has no Id")?;
    let vendor_ref = ExternalId::parse(id).map_err(|e| format!("the opportunity's Id: {e}"))?;
    let life = summary.life_cycle.clone().unwrap_or_default();
    let review_status = life.review_status.as_deref().unwrap_or("").trim();
    let is = |name: &str| review_status.eq_ignore_ascii_case(name);
    // Anything AWS has not decided, or a status this connector does not
    // know, is still waiting: never an approval.
    let status = if is("Approved") {
        DealStatus::Approved
    } else if is("Rejected") {
        DealStatus::Rejected
    } else {
        DealStatus::Submitted
    };

    let said: Vec<&str> = [&life.review_status_reason, &life.review_comments]
        .into_iter()
        .filter_map(|t| t.as_deref().map(str::trim).filter(|t| !t.is_empty()))
        .collect();
    let mut reason = said.join(": ");
    if is("Action Required") && !reason.is_empty() {
        reason = format!("AWS asks for changes: {reason}");
    }
    let reason = if reason.is_empty() {
        None
    } else {
        Some(LongText::parse(&clip(&reason, 20_000)).map_err(|e| e.to_string())?)
    };

    let protection_expires_on = match status {
        DealStatus::Approved => {
            let reviewed = summary
                .last_modified_date
                .as_deref()
                .and_then(timestamp)
                .map_or_else(|| Utc::now().date_naive(), |t| t.date_naive());
            let target = life
                .target_close_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
                .filter(|d| *d > reviewed);
            Some(target.unwrap_or_else(|| {
                reviewed
                    .checked_add_days(Days::new(DEFAULT_PROTECTION_DAYS))
                    .unwrap_or(NaiveDate::MAX)
            }))
        }
        _ => None,
    };

    Ok(VendorDealStatus {
        registration: Some(registration),
        vendor_ref: Some(vendor_ref),
        status,
        reason,
        protection_expires_on,
        extra_discount: None,
    })
}

/// A pending invitation as the lead it is.
pub fn lead(invitation: &Invitation) -> Result<NewVendorLead, String> {
    let external_id =
        ExternalId::parse(&invitation.id).map_err(|e| format!("the invitation's Id: {e}"))?;
    let payload = invitation.payload.clone().unwrap_or_default();
    let opportunity = payload.opportunity_invitation.unwrap_or_default();
    let referred = payload.lead_invitation.unwrap_or_default();
    let invited = opportunity
        .customer
        .clone()
        .or_else(|| referred.customer.clone())
        .unwrap_or_default();
    let interaction = referred.interaction.unwrap_or_default();

    let company = match text(&invited.company_name).map(|n| Name::parse(&clip(&n, 200))) {
        Some(Ok(name)) => Some(Company {
            name,
            domain: text(&invited.website_url)
                .and_then(|site| domain_of(&site))
                .and_then(|d| Name::parse(&d).ok()),
            country: text(&invited.country_code).and_then(|c| CountryCode::parse(&c).ok()),
        }),
        _ => None,
    };

    // AWS shares no customer person before the invitation is accepted: the
    // contact is the AWS seller who sent it, else the customer's contact
    // by role.
    let sender = opportunity
        .sender_contacts
        .first()
        .cloned()
        .unwrap_or_default();
    let sender_name = [&sender.first_name, &sender.last_name]
        .into_iter()
        .filter_map(text)
        .collect::<Vec<_>>()
        .join(" ");
    let sender_email = text(&sender.email).and_then(|e| Email::parse(&e).ok());
    let contact = if !sender_name.is_empty() || sender_email.is_some() {
        let name = if sender_name.is_empty() {
            sender_email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default()
        } else {
            sender_name
        };
        Contact {
            name: Name::parse(&clip(&name, 200)).map_err(|e| format!("the sender's name: {e}"))?,
            email: sender_email,
            phone: text(&sender.phone).and_then(|p| Name::parse(&p).ok()),
            title: text(&sender.business_title).and_then(|t| Name::parse(&clip(&t, 200)).ok()),
        }
    } else {
        let whose = company
            .as_ref()
            .map_or_else(|| "AWS referral".to_owned(), |c| c.name.as_str().to_owned());
        Contact {
            name: Name::parse(&clip(&format!("Contact at {whose}"), 200))
                .map_err(|e| format!("the contact: {e}"))?,
            email: None,
            phone: None,
            title: text(&interaction.contact_business_title)
                .and_then(|t| Name::parse(&clip(&t, 200)).ok()),
        }
    };

    let project = opportunity.project.clone().unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    if let Some(title) = text(&project.title).or_else(|| text(&invitation.engagement_title)) {
        lines.push(format!("AWS referral: {title}"));
    }
    lines.extend(text(&invitation.invitation_message));
    lines.extend(text(&project.business_problem));
    lines.extend(text(&invitation.engagement_description));
    for spend in &project.expected_customer_spend {
        if let (Some(amount), Some(currency)) = (text(&spend.amount), text(&spend.currency_code)) {
            let every =
                text(&spend.frequency).map_or(String::new(), |f| format!(" {}", f.to_lowercase()));
            lines.push(format!("Expected spend: {amount} {currency}{every}"));
        }
    }
    if let Some(date) = text(&project.target_completion_date) {
        lines.push(format!("Target completion: {date}"));
    }
    if let Some(industry) = text(&invited.industry) {
        lines.push(format!("Industry: {industry}"));
    }
    if let Some(use_case) = text(&interaction.usecase) {
        lines.push(format!("Use case: {use_case}"));
    }
    if let Some(source) = text(&interaction.source_name) {
        lines.push(format!("Source: {source}"));
    }
    if !opportunity.receiver_responsibilities.is_empty() {
        lines.push(format!(
            "Asked to act as: {}",
            opportunity.receiver_responsibilities.join(", ")
        ));
    }
    if let Some(sender) = text(&invitation.sender_company_name) {
        lines.push(format!("Sent by {sender}"));
    }
    let message = if lines.is_empty() {
        None
    } else {
        Some(LongText::parse(&clip(&lines.join("\n"), 20_000)).map_err(|e| e.to_string())?)
    };

    let respond_by = match text(&invitation.expiration_date) {
        None => None,
        Some(t) => {
            Some(timestamp(&t).ok_or_else(|| format!("ExpirationDate `{t}` is not ISO 8601"))?)
        }
    };

    Ok(NewVendorLead {
        external_id,
        contact,
        company,
        message,
        respond_by,
    })
}

/// The partner's reason as `RejectionReason` takes it: one line of at most
/// 80 characters from U+0020–U+007E, U+00A0–U+D7FF and U+E000–U+FFFD.
pub fn rejection_reason(reason: Option<&str>) -> Option<String> {
    let allowed = |c: char| matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}');
    let cleaned: String = reason?
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| allowed(*c))
        .collect();
    let words = cleaned
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if words.is_empty() {
        return None;
    }
    Some(clip(&words, 80))
}

/// A timestamp as the cursor keeps it: RFC 3339 in UTC with milliseconds,
/// so that cursors compare as strings.
pub fn cursor(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An ISO 8601 timestamp as AWS writes them.
pub fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// At most `max` characters; a cut one ends with `…`.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out = out.trim_end().to_owned();
    out.push('…');
    out
}

/// A member's text, trimmed; `None` when empty.
fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// `https://www.example.com/x` → `www.example.com`.
fn domain_of(site: &str) -> Option<String> {
    let rest = site.split_once("://").map_or(site, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?.split(':').next()?;
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty() && host.contains('.')).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_fit_the_model() {
        assert_eq!(client_token("key-1"), "key-1");
        let long = "k".repeat(300);
        assert_eq!(client_token(&long).len(), 64);
        assert_eq!(client_token(""), digest("", ""));
        assert_ne!(
            derived_token("submit", "key-1"),
            derived_token("accept", "key-1")
        );
        assert_eq!(
            derived_token("submit", "key-1"),
            derived_token("submit", "key-1")
        );
    }

    #[test]
    fn rejection_reasons_are_one_printable_line_of_at_most_80() {
        assert_eq!(rejection_reason(None), None);
        assert_eq!(rejection_reason(Some(" \n\t ")), None);
        assert_eq!(
            rejection_reason(Some("No capacity\nthis quarter\t🙂")).as_deref(),
            Some("No capacity this quarter")
        );
        let long = rejection_reason(Some(&"word ".repeat(40))).unwrap();
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn domains_come_out_of_websites() {
        assert_eq!(
            domain_of("https://www.example.com/x?y").as_deref(),
            Some("www.example.com")
        );
        assert_eq!(domain_of("example.com").as_deref(), Some("example.com"));
        assert_eq!(domain_of("localhost"), None);
    }

    #[test]
    fn an_unknown_review_status_is_never_an_approval() {
        let summary = OpportunitySummary {
            id: Some("O1".into()),
            partner_opportunity_identifier: Some(DealRegistrationId::new().to_string()),
            last_modified_date: Some("2026-03-01T10:00:00Z".into()),
            life_cycle: Some(LifeCycleSummary {
                review_status: Some("Approved with conditions".into()),
                ..LifeCycleSummary::default()
            }),
        };
        let status = deal_status(&summary).unwrap().unwrap();
        assert_eq!(status.status, DealStatus::Submitted);
        assert_eq!(status.protection_expires_on, None);
    }
}
