//! Rows as stored, and their conversion into domain types.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use onepane_domain::activity::{Actor, AuditEvent, Notification};
use onepane_domain::campaign::{
    Asset, AssetContent, Campaign, CampaignActivation, CampaignContent,
};
use onepane_domain::deal::{DealDetails, DealRegistration};
use onepane_domain::lead::{Company, Contact, Lead};
use onepane_domain::price::{
    ExchangeRate, Markup, Percent, PercentError, PriceItem, PriceItemInput, PriceList,
    PriceListTerms, SellMethod, SellRule, SellRuleSelector,
};
use onepane_domain::text::{Category, LongText, Name};
use onepane_domain::workspace::{
    Connection, ConnectionTarget, Membership, User, Vendor, VendorLink, Workspace,
};
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::codec::DbDecimal;

pub(crate) fn parse<T>(what: &'static str, s: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| StoreError::corrupt(what, e))
}

fn parse_opt<T>(what: &'static str, s: Option<&str>) -> Result<Option<T>, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.map(|s| parse(what, s)).transpose()
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    id: Uuid,
    name: String,
    home_currency: String,
    locale: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = StoreError;
    fn try_from(r: WorkspaceRow) -> Result<Self, StoreError> {
        Ok(Workspace {
            id: WorkspaceId::from_uuid(r.id),
            name: parse("workspace", &r.name)?,
            home_currency: parse("workspace", &r.home_currency)?,
            locale: parse("workspace", &r.locale)?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    display_name: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::from_uuid(r.id),
            email: parse("user", &r.email)?,
            display_name: parse_opt("user", r.display_name.as_deref())?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    workspace_id: Uuid,
    user_id: Uuid,
    email: String,
    role: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;
    fn try_from(r: MembershipRow) -> Result<Self, StoreError> {
        Ok(Membership {
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            user_id: UserId::from_uuid(r.user_id),
            email: parse("membership", &r.email)?,
            role: parse("membership", &r.role)?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct VendorRow {
    id: Uuid,
    name: String,
    kind: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<VendorRow> for Vendor {
    type Error = StoreError;
    fn try_from(r: VendorRow) -> Result<Self, StoreError> {
        Ok(Vendor {
            id: VendorId::from_uuid(r.id),
            name: parse("vendor", &r.name)?,
            kind: parse("vendor", &r.kind)?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    workspace_id: Uuid,
    vendor_id: Uuid,
    tier: String,
    partner_type: String,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<LinkRow> for VendorLink {
    type Error = StoreError;
    fn try_from(r: LinkRow) -> Result<Self, StoreError> {
        Ok(VendorLink {
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            tier: parse("vendor link", &r.tier)?,
            partner_type: parse("vendor link", &r.partner_type)?,
            status: parse("vendor link", &r.status)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConnectionRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Option<Uuid>,
    purpose: String,
    connector: String,
    name: String,
    schedule: Option<String>,
    status: String,
    settings: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = StoreError;
    fn try_from(r: ConnectionRow) -> Result<Self, StoreError> {
        let target = match (r.purpose.as_str(), r.vendor_id) {
            ("vendor-source", Some(v)) => ConnectionTarget::VendorSource {
                vendor_id: VendorId::from_uuid(v),
            },
            ("crm-sink", None) => ConnectionTarget::CrmSink {},
            (p, v) => {
                return Err(StoreError::corrupt(
                    "connection",
                    format!("purpose {p} with vendor {v:?}"),
                ));
            }
        };
        Ok(Connection {
            id: ConnectionId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            target,
            connector: parse("connection", &r.connector)?,
            name: parse("connection", &r.name)?,
            schedule: r.schedule,
            status: parse("connection", &r.status)?,
            settings: r.settings.0,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LeadRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
    activation_id: Option<Uuid>,
    external_id: Option<String>,
    source: String,
    status: String,
    contact: Json<Contact>,
    company: Option<Json<Company>>,
    message: Option<String>,
    respond_by: Option<DateTime<Utc>>,
    shared_with_vendor_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl LeadRow {
    pub(crate) fn id(&self) -> Uuid {
        self.id
    }

    pub(crate) fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

impl TryFrom<LeadRow> for Lead {
    type Error = StoreError;
    fn try_from(r: LeadRow) -> Result<Self, StoreError> {
        Ok(Lead {
            id: LeadId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: r.vendor_id.map(VendorId::from_uuid),
            campaign_id: r.campaign_id.map(CampaignId::from_uuid),
            activation_id: r.activation_id.map(ActivationId::from_uuid),
            external_id: parse_opt("lead", r.external_id.as_deref())?,
            source: parse("lead", &r.source)?,
            status: parse("lead", &r.status)?,
            contact: r.contact.0,
            company: r.company.map(|c| c.0),
            message: parse_opt::<LongText>("lead", r.message.as_deref())?,
            respond_by: r.respond_by,
            shared_with_vendor_at: r.shared_with_vendor_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CampaignRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    external_id: String,
    status: String,
    content: Json<CampaignContent>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = StoreError;
    fn try_from(r: CampaignRow) -> Result<Self, StoreError> {
        Ok(Campaign {
            id: CampaignId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            external_id: parse("campaign", &r.external_id)?,
            status: parse("campaign", &r.status)?,
            content: r.content.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ActivationRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    campaign_id: Uuid,
    slug: String,
    activated_by: Option<Uuid>,
    activated_at: DateTime<Utc>,
}

impl TryFrom<ActivationRow> for CampaignActivation {
    type Error = StoreError;
    fn try_from(r: ActivationRow) -> Result<Self, StoreError> {
        Ok(CampaignActivation {
            id: ActivationId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            campaign_id: CampaignId::from_uuid(r.campaign_id),
            slug: parse("activation", &r.slug)?,
            activated_by: r.activated_by.map(UserId::from_uuid),
            activated_at: r.activated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AssetRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    external_id: String,
    content: Json<AssetContent>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<AssetRow> for Asset {
    type Error = StoreError;
    fn try_from(r: AssetRow) -> Result<Self, StoreError> {
        Ok(Asset {
            id: AssetId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            external_id: parse("asset", &r.external_id)?,
            content: r.content.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PriceListRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    external_id: String,
    terms: Json<PriceListTerms>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PriceListRow> for PriceList {
    type Error = StoreError;
    fn try_from(r: PriceListRow) -> Result<Self, StoreError> {
        Ok(PriceList {
            id: PriceListId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            external_id: parse("price list", &r.external_id)?,
            terms: r.terms.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PriceItemRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    price_list_id: Uuid,
    currency: String,
    item: Json<PriceItemInput>,
}

impl TryFrom<PriceItemRow> for PriceItem {
    type Error = StoreError;
    fn try_from(r: PriceItemRow) -> Result<Self, StoreError> {
        Ok(PriceItem {
            id: PriceItemId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            price_list_id: PriceListId::from_uuid(r.price_list_id),
            currency: parse("price item", &r.currency)?,
            item: r.item.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SellRuleRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Option<Uuid>,
    category: Option<String>,
    method: String,
    percent: DbDecimal,
}

pub(crate) fn sell_method_columns(m: &SellMethod) -> (&'static str, DbDecimal) {
    match m {
        SellMethod::MarkupOnCost(p) => ("markup-on-cost", DbDecimal(p.value())),
        SellMethod::DiscountOffList(p) => ("discount-off-list", DbDecimal(p.value())),
    }
}

impl TryFrom<SellRuleRow> for SellRule {
    type Error = StoreError;
    fn try_from(r: SellRuleRow) -> Result<Self, StoreError> {
        let bad = |e: PercentError| StoreError::corrupt("sell rule", e);
        let method = match r.method.as_str() {
            "markup-on-cost" => SellMethod::MarkupOnCost(Markup::new(r.percent.0).map_err(bad)?),
            "discount-off-list" => {
                SellMethod::DiscountOffList(Percent::new(r.percent.0).map_err(bad)?)
            }
            other => return Err(StoreError::corrupt("sell rule", format!("method {other}"))),
        };
        Ok(SellRule {
            id: SellRuleId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            selector: SellRuleSelector {
                vendor_id: r.vendor_id.map(VendorId::from_uuid),
                category: parse_opt::<Category>("sell rule", r.category.as_deref())?,
            },
            method,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RateRow {
    base: String,
    quote: String,
    as_of: NaiveDate,
    rate: DbDecimal,
}

impl TryFrom<RateRow> for ExchangeRate {
    type Error = StoreError;
    fn try_from(r: RateRow) -> Result<Self, StoreError> {
        ExchangeRate::new(
            parse("exchange rate", &r.base)?,
            parse("exchange rate", &r.quote)?,
            r.rate.0,
            r.as_of,
        )
        .map_err(|e| StoreError::corrupt("exchange rate", e))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DealRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Uuid,
    lead_id: Option<Uuid>,
    details: Json<DealDetails>,
    status: String,
    reason: Option<String>,
    protection_expires_on: Option<NaiveDate>,
    extra_discount: Option<DbDecimal>,
    submitted_by: Option<Uuid>,
    submitted_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DealRow> for DealRegistration {
    type Error = StoreError;
    fn try_from(r: DealRow) -> Result<Self, StoreError> {
        Ok(DealRegistration {
            id: DealRegistrationId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: VendorId::from_uuid(r.vendor_id),
            lead_id: r.lead_id.map(LeadId::from_uuid),
            details: r.details.0,
            status: parse("deal registration", &r.status)?,
            reason: parse_opt::<LongText>("deal registration", r.reason.as_deref())?,
            protection_expires_on: r.protection_expires_on,
            extra_discount: r
                .extra_discount
                .map(|d| Percent::new(d.0))
                .transpose()
                .map_err(|e| StoreError::corrupt("deal registration", e))?,
            submitted_by: r.submitted_by.map(UserId::from_uuid),
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    workspace_id: Uuid,
    id: Uuid,
    kind: String,
    vendor_id: Option<Uuid>,
    title: String,
    body: Option<String>,
    link: Option<String>,
    read_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;
    fn try_from(r: NotificationRow) -> Result<Self, StoreError> {
        Ok(Notification {
            id: NotificationId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            kind: parse("notification", &r.kind)?,
            vendor_id: r.vendor_id.map(VendorId::from_uuid),
            title: parse::<Name>("notification", &r.title)?,
            body: parse_opt::<LongText>("notification", r.body.as_deref())?,
            link: r.link,
            read_at: r.read_at,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    workspace_id: Uuid,
    id: Uuid,
    actor_type: String,
    actor_id: Option<Uuid>,
    action: String,
    subject: Option<String>,
    detail: Json<serde_json::Value>,
    at: DateTime<Utc>,
}

pub(crate) fn actor_columns(a: &Actor) -> (&'static str, Option<Uuid>) {
    match a {
        Actor::User(u) => ("user", Some(u.as_uuid())),
        Actor::Vendor(v) => ("vendor", Some(v.as_uuid())),
        Actor::System => ("system", None),
        Actor::Operator => ("operator", None),
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let actor = match (r.actor_type.as_str(), r.actor_id) {
            ("user", Some(id)) => Actor::User(UserId::from_uuid(id)),
            ("vendor", Some(id)) => Actor::Vendor(VendorId::from_uuid(id)),
            ("system", None) => Actor::System,
            ("operator", None) => Actor::Operator,
            (t, id) => {
                return Err(StoreError::corrupt(
                    "audit event",
                    format!("actor {t} {id:?}"),
                ));
            }
        };
        Ok(AuditEvent {
            id: AuditEventId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            actor,
            action: r.action,
            subject: r.subject,
            detail: r.detail.0,
            at: r.at,
        })
    }
}

/// Converts every row, failing on the first that does not parse.
pub(crate) fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
