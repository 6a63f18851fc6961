//! The partner scope: everything one workspace owns, across its vendors.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use onepane_domain::activity::{
    Actor, AuditEvent, NewNotification, Notification, NotificationKind, WebhookEvent,
};
use onepane_domain::campaign::{Asset, Audience, Campaign, CampaignActivation, CampaignStatus};
use onepane_domain::deal::{DealDetails, DealRegistration, DealStatus};
use onepane_domain::lead::{Lead, LeadSource, LeadStatus, NewCampaignLead, NewManualLead};
use onepane_domain::price::{
    ExchangeRate, PriceItem, PriceList, SellMethod, SellRule, SellRuleSelector,
};
use onepane_domain::program::{LinkStatus, Tier};
use onepane_domain::text::{Name, Slug};
use onepane_domain::workspace::{
    Connection, ConnectionStatus, Membership, NewConnection, Vendor, VendorLink, Workspace,
};
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::codec::DbDecimal;
use crate::rows::*;
use crate::sync::{mark_lead_changed, seed_pushes};
use crate::tx::{Access, Scope, Tx, on_tx};
use crate::{Store, StoreError, now};

pub(crate) const LEAD_COLUMNS: &str = "workspace_id, id, vendor_id, campaign_id, activation_id, \
    external_id, source, status, contact, company, message, respond_by, shared_with_vendor_at, \
    created_at, updated_at";
pub(crate) const CAMPAIGN_COLUMNS: &str =
    "workspace_id, id, vendor_id, external_id, status, content, created_at, updated_at";
pub(crate) const ACTIVATION_COLUMNS: &str =
    "workspace_id, id, vendor_id, campaign_id, slug, activated_by, activated_at";
pub(crate) const ASSET_COLUMNS: &str =
    "workspace_id, id, vendor_id, external_id, content, created_at, updated_at";
pub(crate) const PRICE_LIST_COLUMNS: &str =
    "workspace_id, id, vendor_id, external_id, terms, created_at, updated_at";
pub(crate) const PRICE_ITEM_COLUMNS: &str =
    "workspace_id, id, vendor_id, price_list_id, currency, item";
pub(crate) const DEAL_COLUMNS: &str = "workspace_id, id, vendor_id, lead_id, details, status, \
    reason, protection_expires_on, extra_discount, submitted_by, submitted_at, decided_at, updated_at";
pub(crate) const CONNECTION_COLUMNS: &str = "workspace_id, id, vendor_id, purpose, connector, name, schedule, \
    status, settings, created_at";
const NOTIFICATION_COLUMNS: &str =
    "workspace_id, id, kind, vendor_id, title, body, link, read_at, created_at";
const AUDIT_COLUMNS: &str = "workspace_id, id, actor_type, actor_id, action, subject, detail, at";

/// A vendor as the partner sees it: the organization and the link's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedVendor {
    /// The organization.
    pub vendor: Vendor,
    /// Tier, partner type and status with this workspace.
    pub link: VendorLink,
}

/// A page of a listing: at most `limit` rows after the cursor (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<C> {
    /// Rows older than this id; `None` starts at the newest.
    pub after: Option<C>,
    /// Most rows returned (1 to 500).
    pub limit: u32,
}

impl<C> Default for Page<C> {
    fn default() -> Self {
        Self {
            after: None,
            limit: 50,
        }
    }
}

impl<C> Page<C> {
    fn limit(&self) -> i64 {
        i64::from(self.limit.clamp(1, 500))
    }
}

/// Which leads to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// Only this vendor's.
    pub vendor_id: Option<VendorId>,
    /// Only in this status.
    pub status: Option<LeadStatus>,
    /// Only from this campaign.
    pub campaign_id: Option<CampaignId>,
    /// Contact name, email or company containing this text (case-insensitive).
    pub text: Option<String>,
}

/// What pricing a workspace's items needs, read together.
#[derive(Debug, Clone)]
pub struct PricingData {
    /// The workspace (its home currency).
    pub workspace: Workspace,
    /// The workspace's tier with each actively linked vendor.
    pub tiers: HashMap<VendorId, Tier>,
    /// The workspace's sell rules.
    pub sell_rules: Vec<SellRule>,
    /// The workspace's exchange rates.
    pub rates: Vec<ExchangeRate>,
    /// The price lists of actively linked vendors.
    pub lists: Vec<PriceList>,
    /// The matching items of those lists.
    pub items: Vec<PriceItem>,
}

/// One workspace's data. Built by [`Store::partner`].
#[derive(Debug, Clone)]
pub struct PartnerStore {
    store: Store,
    workspace_id: WorkspaceId,
}

impl PartnerStore {
    pub(crate) fn new(store: Store, workspace_id: WorkspaceId) -> Self {
        Self {
            store,
            workspace_id,
        }
    }

    /// The workspace this scope is for.
    pub fn workspace_id(&self) -> WorkspaceId {
        self.workspace_id
    }

    fn ws(&self) -> Uuid {
        self.workspace_id.as_uuid()
    }

    pub(crate) async fn begin(&self, access: Access) -> Result<Tx, StoreError> {
        self.store
            .begin(Scope::Partner(self.workspace_id), access)
            .await
    }

    /// The workspace itself.
    pub async fn workspace(&self) -> Result<Workspace, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let workspace = fetch_workspace(&mut tx, self.workspace_id).await?;
        tx.commit().await?;
        Ok(workspace)
    }

    /// The workspace's members.
    pub async fn members(&self) -> Result<Vec<Membership>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<MembershipRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT m.workspace_id, m.user_id, u.email, m.role, m.created_at \
                 FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.workspace_id = $1 ORDER BY u.email",
            )
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    /// The vendors linked to the workspace, with their terms, by name.
    pub async fn vendors(&self) -> Result<Vec<LinkedVendor>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let vendors: Vec<VendorRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT v.id, v.name, v.kind, v.created_at \
                 FROM vendor_links l JOIN vendors v ON v.id = l.vendor_id \
                 WHERE l.workspace_id = $1 ORDER BY v.name, v.id",
            )
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        let links: Vec<LinkRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {} FROM vendor_links WHERE workspace_id = $1",
                crate::operator::LINK_COLUMNS
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        let mut links: Vec<VendorLink> = convert_all(links)?;
        let mut out = Vec::with_capacity(vendors.len());
        for vendor in convert_all::<_, Vendor>(vendors)? {
            let at = links
                .iter()
                .position(|l| l.vendor_id == vendor.id)
                .ok_or_else(|| StoreError::corrupt("vendor link", vendor.id))?;
            out.push(LinkedVendor {
                vendor,
                link: links.swap_remove(at),
            });
        }
        Ok(out)
    }

    async fn active_link(
        &self,
        tx: &mut Tx,
        vendor_id: VendorId,
    ) -> Result<VendorLink, StoreError> {
        let row: Option<LinkRow> = on_tx!(*tx, c => {
            sqlx::query_as(&format!(
                "SELECT {} FROM vendor_links WHERE workspace_id = $1 AND vendor_id = $2",
                crate::operator::LINK_COLUMNS
            ))
            .bind(self.ws())
            .bind(vendor_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        let link: VendorLink = row
            .ok_or_else(|| StoreError::not_found("vendor", vendor_id))?
            .try_into()?;
        if link.status != LinkStatus::Active {
            return Err(StoreError::Rule(format!(
                "the link with vendor {vendor_id} is {}, not active",
                link.status
            )));
        }
        Ok(link)
    }

    // ---- connections -------------------------------------------------

    /// Adds a connection (its secrets are stored apart, sealed).
    pub async fn create_connection(&self, new: &NewConnection) -> Result<Connection, StoreError> {
        self.create_connection_with(ConnectionId::new(), new, &[])
            .await
    }

    /// Adds a connection under `id` with its sealed secrets (by field), in
    /// one transaction. A CRM sink starts with every lead of the workspace
    /// to push.
    pub async fn create_connection_with(
        &self,
        id: ConnectionId,
        new: &NewConnection,
        secrets: &[(&str, Vec<u8>)],
    ) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        if let Some(v) = new.target.vendor_id() {
            self.active_link(&mut tx, v).await?;
        }
        let row: ConnectionRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO connections ({CONNECTION_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {CONNECTION_COLUMNS}"
            ))
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(new.target.vendor_id().map(|v| v.as_uuid()))
            .bind(new.target.purpose())
            .bind(new.connector.as_str())
            .bind(new.name.as_str())
            .bind(new.schedule.as_deref())
            .bind(ConnectionStatus::Active.as_str())
            .bind(Json(&new.settings))
            .bind(now())
            .fetch_one(&mut *c)
            .await?
        });
        for (field, sealed) in secrets {
            on_tx!(tx, c => {
                sqlx::query(
                    "INSERT INTO connection_secrets (workspace_id, connection_id, field, sealed, version, updated_at) \
                     VALUES ($1, $2, $3, $4, 1, $5)",
                )
                .bind(self.ws())
                .bind(id.as_uuid())
                .bind(*field)
                .bind(sealed.as_slice())
                .bind(now())
                .execute(&mut *c)
                .await?;
            });
        }
        if new.target.vendor_id().is_none() {
            seed_pushes(&mut tx, self.workspace_id, id).await?;
        }
        tx.commit().await?;
        row.try_into()
    }

    /// The workspace's connections.
    pub async fn connections(&self) -> Result<Vec<Connection>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<ConnectionRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 ORDER BY id"
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    // ---- leads -------------------------------------------------------

    /// Enters a lead by hand.
    pub async fn create_manual_lead(&self, new: &NewManualLead) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        if let Some(v) = new.vendor_id {
            self.active_link(&mut tx, v).await?;
        }
        let at = now();
        let lead = Lead {
            id: LeadId::new(),
            workspace_id: self.workspace_id,
            vendor_id: new.vendor_id,
            campaign_id: None,
            activation_id: None,
            external_id: None,
            source: LeadSource::Manual,
            status: LeadStatus::New,
            contact: new.contact.clone(),
            company: new.company.clone(),
            message: new.message.clone(),
            respond_by: None,
            shared_with_vendor_at: None,
            created_at: at,
            updated_at: at,
        };
        insert_lead(&mut tx, &lead).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Records a lead captured by an activation's landing page, attributed
    /// to the campaign and its vendor, and notifies the workspace.
    pub async fn capture_campaign_lead(&self, new: &NewCampaignLead) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<(Uuid, Uuid, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT a.campaign_id, a.vendor_id, c.status FROM campaign_activations a \
                 JOIN campaigns c ON c.workspace_id = a.workspace_id AND c.id = a.campaign_id \
                 WHERE a.workspace_id = $1 AND a.id = $2",
            )
            .bind(self.ws())
            .bind(new.activation_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        let (campaign_id, vendor_id, status) =
            row.ok_or_else(|| StoreError::not_found("activation", new.activation_id))?;
        if status != CampaignStatus::Published.as_str() {
            return Err(StoreError::Rule(
                "the campaign has ended and takes no more leads".into(),
            ));
        }
        let row: Option<CampaignRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(self.ws())
            .bind(campaign_id)
            .fetch_optional(&mut *c)
            .await?
        });
        let campaign: Campaign = row
            .ok_or_else(|| StoreError::not_found("campaign", campaign_id))?
            .try_into()?;
        ensure_running(&campaign)?;
        let at = now();
        let lead = Lead {
            id: LeadId::new(),
            workspace_id: self.workspace_id,
            vendor_id: Some(VendorId::from_uuid(vendor_id)),
            campaign_id: Some(CampaignId::from_uuid(campaign_id)),
            activation_id: Some(new.activation_id),
            external_id: None,
            source: LeadSource::Campaign,
            status: LeadStatus::New,
            contact: new.contact.clone(),
            company: new.company.clone(),
            message: new.message.clone(),
            respond_by: None,
            shared_with_vendor_at: None,
            created_at: at,
            updated_at: at,
        };
        insert_lead(&mut tx, &lead).await?;
        // The vendor reads counts, never the leads: keep the count beside
        // the activation it can see.
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE campaign_activations SET lead_count = lead_count + 1 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(self.ws())
            .bind(new.activation_id.as_uuid())
            .execute(&mut *c)
            .await?;
        });
        let title = Name::parse(&format!("New lead: {}", lead.contact.name))
            .unwrap_or_else(|_| lead.contact.name.clone());
        insert_notification(
            &mut tx,
            self.workspace_id,
            &NewNotification {
                kind: NotificationKind::NewLead,
                vendor_id: lead.vendor_id,
                title,
                body: None,
                link: Some(format!("/leads/{}", lead.id)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Leads, newest first, filtered.
    pub async fn leads(
        &self,
        filter: &LeadFilter,
        page: Page<LeadId>,
    ) -> Result<Vec<Lead>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let text = filter
            .text
            .as_ref()
            .map(|t| format!("%{}%", escape_like(&t.to_lowercase())));
        let rows: Vec<LeadRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 \
                 AND ($2 IS NULL OR vendor_id = $2) \
                 AND ($3 IS NULL OR status = $3) \
                 AND ($4 IS NULL OR campaign_id = $4) \
                 AND ($5 IS NULL OR search_text LIKE $5 ESCAPE '\\') \
                 AND ($6 IS NULL OR id < $6) \
                 ORDER BY id DESC LIMIT $7"
            ))
            .bind(self.ws())
            .bind(filter.vendor_id.map(|v| v.as_uuid()))
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.campaign_id.map(|v| v.as_uuid()))
            .bind(text.as_deref())
            .bind(page.after.map(|v| v.as_uuid()))
            .bind(page.limit())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    /// One lead.
    pub async fn lead(&self, id: LeadId) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let lead = fetch_lead(&mut tx, self.workspace_id, id).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Moves a lead to a new status, as the lead state machine allows.
    pub async fn set_lead_status(&self, id: LeadId, to: LeadStatus) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut lead = fetch_lead(&mut tx, self.workspace_id, id).await?;
        let from = lead.status;
        lead.status = from
            .transition(lead.source, to)
            .map_err(|e| StoreError::Rule(e.to_string()))?;
        lead.updated_at = now();
        // Only from the status just read: a concurrent change (PostgreSQL
        // reads committed data, so it can slip in) makes this a conflict.
        let moved = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE leads SET status = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND id = $2 AND status = $5",
            )
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(lead.status.as_str())
            .bind(lead.updated_at)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if moved == 0 {
            return Err(StoreError::Conflict(format!(
                "lead {id} changed while it was being updated; reload it and try again"
            )));
        }
        mark_lead_changed(&mut tx, self.workspace_id, id.as_uuid(), lead.updated_at).await?;
        // The vendor is told only while it is linked: an ended link's
        // vendor learns nothing more about the workspace.
        if let (LeadSource::Vendor, Some(vendor), LeadStatus::Accepted) =
            (lead.source, lead.vendor_id, lead.status)
            && self.active_links(&mut tx).await?.contains_key(&vendor)
        {
            crate::webhooks::emit(
                &mut tx,
                vendor,
                WebhookEvent::LeadAccepted,
                serde_json::json!({
                    "workspace_id": self.workspace_id,
                    "lead_id": lead.id,
                    "external_id": lead.external_id,
                    "accepted_at": lead.updated_at,
                }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(lead)
    }

    /// Shares a lead's details with its vendor.
    pub async fn share_lead(&self, id: LeadId) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut lead = fetch_lead(&mut tx, self.workspace_id, id).await?;
        let Some(vendor) = lead.vendor_id else {
            return Err(StoreError::Rule(
                "the lead is not attributed to a vendor".into(),
            ));
        };
        let at = now();
        lead.shared_with_vendor_at = Some(lead.shared_with_vendor_at.unwrap_or(at));
        lead.updated_at = at;
        share(&mut tx, self.workspace_id, id, vendor, at).await?;
        tx.commit().await?;
        Ok(lead)
    }

    // ---- campaigns ---------------------------------------------------

    /// Published, running campaigns of actively linked vendors whose audience
    /// includes this workspace (by the tier and partner type of its link),
    /// newest first.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let links = self.active_links(&mut tx).await?;
        let rows: Vec<CampaignRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {} FROM campaigns c JOIN vendor_links l \
                   ON l.workspace_id = c.workspace_id AND l.vendor_id = c.vendor_id AND l.status = 'active' \
                 WHERE c.workspace_id = $1 AND c.status = 'published' ORDER BY c.id DESC",
                prefixed("c", CAMPAIGN_COLUMNS)
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        let today = now().date_naive();
        let campaigns: Vec<Campaign> = convert_all(rows)?;
        Ok(campaigns
            .into_iter()
            .filter(|c| in_audience(&links, c.vendor_id, &c.content.audience))
            .filter(|c| c.content.window.contains(today))
            .collect())
    }

    /// One campaign: one this workspace may activate, or has activated
    /// (whatever its status now).
    pub async fn campaign(&self, id: CampaignId) -> Result<Campaign, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<CampaignRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(self.ws())
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        let campaign: Campaign = row
            .ok_or_else(|| StoreError::not_found("campaign", id))?
            .try_into()?;
        let links = self.active_links(&mut tx).await?;
        let activated = self.activation_of(&mut tx, id).await?.is_some();
        tx.commit().await?;
        if activated || in_audience(&links, campaign.vendor_id, &campaign.content.audience) {
            Ok(campaign)
        } else {
            Err(StoreError::not_found("campaign", id))
        }
    }

    async fn active_links(&self, tx: &mut Tx) -> Result<HashMap<VendorId, VendorLink>, StoreError> {
        let rows: Vec<LinkRow> = on_tx!(*tx, c => {
            sqlx::query_as(&format!(
                "SELECT {} FROM vendor_links WHERE workspace_id = $1 AND status = 'active'",
                crate::operator::LINK_COLUMNS
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        let links: Vec<VendorLink> = convert_all(rows)?;
        Ok(links.into_iter().map(|l| (l.vendor_id, l)).collect())
    }

    async fn activation_of(
        &self,
        tx: &mut Tx,
        campaign_id: CampaignId,
    ) -> Result<Option<CampaignActivation>, StoreError> {
        let row: Option<ActivationRow> = on_tx!(*tx, c => {
            sqlx::query_as(&format!(
                "SELECT {ACTIVATION_COLUMNS} FROM campaign_activations WHERE workspace_id = $1 AND campaign_id = $2"
            ))
            .bind(self.ws())
            .bind(campaign_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        row.map(CampaignActivation::try_from).transpose()
    }

    /// Activates a campaign: one click, one landing page. Activating an
    /// already active campaign returns the existing activation.
    pub async fn activate_campaign(
        &self,
        campaign_id: CampaignId,
        by: Option<UserId>,
    ) -> Result<CampaignActivation, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<CampaignRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(self.ws())
            .bind(campaign_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        let campaign: Campaign = row
            .ok_or_else(|| StoreError::not_found("campaign", campaign_id))?
            .try_into()?;
        if campaign.status != CampaignStatus::Published {
            return Err(StoreError::Rule(
                "the campaign is archived and cannot be activated".into(),
            ));
        }
        let links = self.active_links(&mut tx).await?;
        if !in_audience(&links, campaign.vendor_id, &campaign.content.audience) {
            return Err(StoreError::not_found("campaign", campaign_id));
        }
        if let Some(existing) = self.activation_of(&mut tx, campaign_id).await? {
            tx.commit().await?;
            return Ok(existing);
        }
        ensure_running(&campaign)?;
        let id = ActivationId::new();
        let name = campaign.content.variants.first().name.as_str().to_owned();
        // The id's random tail keeps slugs unique without a lookup.
        let suffix: String = id
            .to_string()
            .chars()
            .rev()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let activation = CampaignActivation {
            id,
            workspace_id: self.workspace_id,
            vendor_id: campaign.vendor_id,
            campaign_id,
            slug: Slug::derive(&name, &suffix),
            activated_by: by,
            activated_at: now(),
        };
        // Two clicks at once make one activation: the second finds the first.
        let inserted = on_tx!(tx, c => {
            sqlx::query(&format!(
                "INSERT INTO campaign_activations ({ACTIVATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (workspace_id, campaign_id) DO NOTHING"
            ))
            .bind(self.ws())
            .bind(activation.id.as_uuid())
            .bind(activation.vendor_id.as_uuid())
            .bind(campaign_id.as_uuid())
            .bind(activation.slug.as_str())
            .bind(by.map(|u| u.as_uuid()))
            .bind(activation.activated_at)
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, || "the landing page address is taken; try again".into()))?
            .rows_affected()
        });
        if inserted == 0 {
            let existing = self.activation_of(&mut tx, campaign_id).await?;
            tx.commit().await?;
            return existing.ok_or_else(|| StoreError::not_found("activation", campaign_id));
        }
        crate::webhooks::emit(
            &mut tx,
            campaign.vendor_id,
            WebhookEvent::CampaignActivated,
            serde_json::json!({
                "workspace_id": self.workspace_id,
                "campaign_external_id": campaign.external_id,
                "activation_id": activation.id,
                "slug": activation.slug,
                "activated_at": activation.activated_at,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(activation)
    }

    /// The workspace's activations, newest first.
    pub async fn activations(&self) -> Result<Vec<CampaignActivation>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<ActivationRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {ACTIVATION_COLUMNS} FROM campaign_activations WHERE workspace_id = $1 ORDER BY id DESC"
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    // ---- assets and prices ---------------------------------------------

    /// Assets of actively linked vendors meant for this workspace, newest first.
    pub async fn assets(&self) -> Result<Vec<Asset>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let links = self.active_links(&mut tx).await?;
        let rows: Vec<AssetRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {} FROM assets a JOIN vendor_links l \
                   ON l.workspace_id = a.workspace_id AND l.vendor_id = a.vendor_id AND l.status = 'active' \
                 WHERE a.workspace_id = $1 ORDER BY a.id DESC",
                prefixed("a", ASSET_COLUMNS)
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        let assets: Vec<Asset> = convert_all(rows)?;
        Ok(assets
            .into_iter()
            .filter(|a| in_audience(&links, a.vendor_id, &a.content.audience))
            .collect())
    }

    /// Price lists of actively linked vendors.
    pub async fn price_lists(&self) -> Result<Vec<PriceList>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<PriceListRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {} FROM price_lists p JOIN vendor_links l \
                   ON l.workspace_id = p.workspace_id AND l.vendor_id = p.vendor_id AND l.status = 'active' \
                 WHERE p.workspace_id = $1 ORDER BY p.id",
                prefixed("p", PRICE_LIST_COLUMNS)
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    /// What prices in this workspace depend on, without the items: the
    /// workspace, the tiers of its active links, its sell rules and rates,
    /// and the linked vendors' price lists (whose `updated_at` moves with
    /// every change to their terms or items).
    pub async fn pricing_terms(&self) -> Result<PricingData, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let data = self.pricing_terms_in(&mut tx).await?;
        tx.commit().await?;
        Ok(data)
    }

    async fn pricing_terms_in(&self, tx: &mut Tx) -> Result<PricingData, StoreError> {
        let workspace = fetch_workspace(tx, self.workspace_id).await?;
        let links = self.active_links(tx).await?;
        let list_rows: Vec<PriceListRow> = on_tx!(*tx, c => {
            sqlx::query_as(&format!(
                "SELECT {PRICE_LIST_COLUMNS} FROM price_lists WHERE workspace_id = $1 ORDER BY id"
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        let sell_rules = self.sell_rules_in(tx).await?;
        let rates = self.rates_in(tx).await?;
        let lists: Vec<PriceList> = convert_all(list_rows)?;
        Ok(PricingData {
            workspace,
            lists: lists
                .into_iter()
                .filter(|l| links.contains_key(&l.vendor_id))
                .collect(),
            tiers: links.into_iter().map(|(v, l)| (v, l.tier)).collect(),
            sell_rules,
            rates,
            items: Vec::new(),
        })
    }

    /// Everything pricing needs, read in one transaction: the workspace,
    /// its active links (tiers), sell rules, exchange rates, the price lists
    /// of linked vendors and all their items.
    pub async fn pricing(&self) -> Result<PricingData, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let mut data = self.pricing_terms_in(&mut tx).await?;
        let item_rows: Vec<PriceItemRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {PRICE_ITEM_COLUMNS} FROM price_items WHERE workspace_id = $1 ORDER BY sku, id"
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        let items: Vec<PriceItem> = convert_all(item_rows)?;
        data.items = items
            .into_iter()
            .filter(|i| data.tiers.contains_key(&i.vendor_id))
            .collect();
        Ok(data)
    }

    /// The items of one price list, by SKU.
    pub async fn price_items(
        &self,
        price_list_id: PriceListId,
    ) -> Result<Vec<PriceItem>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<PriceItemRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {PRICE_ITEM_COLUMNS} FROM price_items WHERE workspace_id = $1 AND price_list_id = $2 ORDER BY sku"
            ))
            .bind(self.ws())
            .bind(price_list_id.as_uuid())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    // ---- sell rules and exchange rates ----------------------------------

    /// The workspace's sell rules.
    pub async fn sell_rules(&self) -> Result<Vec<SellRule>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rules = self.sell_rules_in(&mut tx).await?;
        tx.commit().await?;
        Ok(rules)
    }

    async fn sell_rules_in(&self, tx: &mut Tx) -> Result<Vec<SellRule>, StoreError> {
        let rows: Vec<SellRuleRow> = on_tx!(*tx, c => {
            sqlx::query_as(
                "SELECT workspace_id, id, vendor_id, category, method, percent FROM sell_rules \
                 WHERE workspace_id = $1 ORDER BY id",
            )
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        convert_all(rows)
    }

    /// Sets the rule for a selector, replacing the one it had.
    pub async fn put_sell_rule(
        &self,
        selector: &SellRuleSelector,
        method: SellMethod,
    ) -> Result<SellRule, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let (m, pct) = sell_method_columns(&method);
        let vendor = selector.vendor_id.map(|v| v.as_uuid());
        let category = selector.category.as_ref().map(|c| c.as_str());
        let existing: Option<(Uuid,)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT id FROM sell_rules WHERE workspace_id = $1 \
                 AND ((vendor_id IS NULL AND $2 IS NULL) OR vendor_id = $2) \
                 AND ((category IS NULL AND $3 IS NULL) OR category = $3)",
            )
            .bind(self.ws())
            .bind(vendor)
            .bind(category)
            .fetch_optional(&mut *c)
            .await?
        });
        let id = existing.map_or_else(SellRuleId::new, |(id,)| SellRuleId::from_uuid(id));
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO sell_rules (workspace_id, id, vendor_id, category, method, percent) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (workspace_id, id) DO UPDATE SET method = excluded.method, percent = excluded.percent",
            )
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(vendor)
            .bind(category)
            .bind(m)
            .bind(pct)
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, || "another rule for the same vendor and category was saved at the same time; reload and try again".into()))?;
        });
        tx.commit().await?;
        Ok(SellRule {
            id,
            workspace_id: self.workspace_id,
            selector: selector.clone(),
            method,
        })
    }

    /// Removes a sell rule.
    pub async fn delete_sell_rule(&self, id: SellRuleId) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let done = on_tx!(tx, c => {
            sqlx::query("DELETE FROM sell_rules WHERE workspace_id = $1 AND id = $2")
                .bind(self.ws())
                .bind(id.as_uuid())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::not_found("sell rule", id));
        }
        tx.commit().await
    }

    /// The workspace's exchange rates, newest first.
    pub async fn exchange_rates(&self) -> Result<Vec<ExchangeRate>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rates = self.rates_in(&mut tx).await?;
        tx.commit().await?;
        Ok(rates)
    }

    async fn rates_in(&self, tx: &mut Tx) -> Result<Vec<ExchangeRate>, StoreError> {
        let rows: Vec<RateRow> = on_tx!(*tx, c => {
            sqlx::query_as(
                "SELECT base, quote, as_of, rate FROM exchange_rates WHERE workspace_id = $1 \
                 ORDER BY as_of DESC, base, quote",
            )
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        convert_all(rows)
    }

    /// Records an exchange rate (replacing the same pair on the same day).
    pub async fn put_exchange_rate(&self, rate: &ExchangeRate) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO exchange_rates (workspace_id, base, quote, as_of, rate) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (workspace_id, base, quote, as_of) DO UPDATE SET rate = excluded.rate",
            )
            .bind(self.ws())
            .bind(rate.base().code())
            .bind(rate.quote().code())
            .bind(rate.as_of())
            .bind(DbDecimal(rate.rate()))
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    // ---- deal registrations --------------------------------------------

    /// Registers a deal with one vendor. A lead it comes from is shared with
    /// that vendor (the vendor now sees its details).
    pub async fn register_deal(
        &self,
        vendor_id: VendorId,
        details: &DealDetails,
        lead_id: Option<LeadId>,
        by: Option<UserId>,
    ) -> Result<DealRegistration, StoreError> {
        let mut regs = self
            .register_deals(&[vendor_id], details, lead_id, by)
            .await?;
        regs.pop()
            .ok_or_else(|| StoreError::Rule("no vendor to register the deal with".into()))
    }

    /// Registers one opportunity with several vendors at once (a
    /// multi-vendor deal): one registration each, all or none. A lead it
    /// comes from is shared with the vendor it belongs to, or, when it
    /// belongs to none, with the first vendor named.
    pub async fn register_deals(
        &self,
        vendor_ids: &[VendorId],
        details: &DealDetails,
        lead_id: Option<LeadId>,
        by: Option<UserId>,
    ) -> Result<Vec<DealRegistration>, StoreError> {
        let Some(&first) = vendor_ids.first() else {
            return Err(StoreError::Rule("name at least one vendor".into()));
        };
        let mut unique = std::collections::HashSet::new();
        if let Some(dup) = vendor_ids.iter().find(|v| !unique.insert(**v)) {
            return Err(StoreError::Rule(format!("vendor {dup} is named twice")));
        }
        let mut tx = self.begin(Access::Write).await?;
        for &vendor_id in vendor_ids {
            self.active_link(&mut tx, vendor_id).await?;
        }
        // Each vendor's own required fields must be filled in.
        let asked = crate::deal_fields::linked_deal_fields(&mut tx, self.workspace_id).await?;
        for vendor_id in vendor_ids {
            let specs = asked.get(vendor_id).map_or(&[][..], Vec::as_slice);
            if let Some(missing) = deal::missing_fields(specs, &details.fields).first() {
                return Err(StoreError::Rule(format!(
                    "vendor {vendor_id} requires the field `{}` ({})",
                    missing.name, missing.label
                )));
            }
        }
        let at = now();
        if let Some(lead_id) = lead_id {
            let lead = fetch_lead(&mut tx, self.workspace_id, lead_id).await?;
            let owner = match lead.vendor_id {
                Some(v) if vendor_ids.contains(&v) => v,
                Some(_) => {
                    return Err(StoreError::Rule(format!(
                        "lead {lead_id} belongs to another vendor; register the deal with that vendor"
                    )));
                }
                None => first,
            };
            share(&mut tx, self.workspace_id, lead_id, owner, at).await?;
        }
        let mut regs = Vec::with_capacity(vendor_ids.len());
        for &vendor_id in vendor_ids {
            let reg = DealRegistration {
                id: DealRegistrationId::new(),
                workspace_id: self.workspace_id,
                vendor_id,
                lead_id,
                details: details.clone(),
                status: DealStatus::Submitted,
                reason: None,
                protection_expires_on: None,
                extra_discount: None,
                submitted_by: by,
                submitted_at: at,
                decided_at: None,
                updated_at: at,
            };
            on_tx!(tx, c => {
                sqlx::query(&format!(
                    "INSERT INTO deal_registrations ({DEAL_COLUMNS}, title) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, $7, $8, NULL, $8, $9)"
                ))
                .bind(self.ws())
                .bind(reg.id.as_uuid())
                .bind(vendor_id.as_uuid())
                .bind(lead_id.map(|l| l.as_uuid()))
                .bind(Json(&reg.details))
                .bind(reg.status.as_str())
                .bind(by.map(|u| u.as_uuid()))
                .bind(at)
                .bind(reg.details.title.as_str())
                .execute(&mut *c)
                .await?;
            });
            crate::sync::mark_changed(
                &mut tx,
                self.workspace_id,
                crate::sync::CrmEntity::Deal,
                reg.id.as_uuid(),
                at,
            )
            .await?;
            crate::webhooks::emit(
                &mut tx,
                vendor_id,
                WebhookEvent::DealRegistrationSubmitted,
                serde_json::to_value(&reg)
                    .map_err(|e| StoreError::corrupt("deal registration", e))?,
            )
            .await?;
            regs.push(reg);
        }
        tx.commit().await?;
        Ok(regs)
    }

    /// The workspace's deal registrations, newest first.
    pub async fn deal_registrations(&self) -> Result<Vec<DealRegistration>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<DealRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 ORDER BY id DESC"
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    /// One deal registration.
    pub async fn deal_registration(
        &self,
        id: DealRegistrationId,
    ) -> Result<DealRegistration, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<DealRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(self.ws())
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.ok_or_else(|| StoreError::not_found("deal registration", id))?
            .try_into()
    }

    // ---- notifications and audit ---------------------------------------

    /// Adds a notification for the workspace's members.
    pub async fn notify(&self, new: &NewNotification) -> Result<Notification, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = insert_notification(&mut tx, self.workspace_id, new).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Notifications, newest first.
    pub async fn notifications(&self, unread_only: bool) -> Result<Vec<Notification>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<NotificationRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE workspace_id = $1 \
                 AND (NOT $2 OR read_at IS NULL) ORDER BY id DESC LIMIT 200"
            ))
            .bind(self.ws())
            .bind(unread_only)
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    /// Marks a notification read.
    pub async fn mark_notification_read(&self, id: NotificationId) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let done = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE workspace_id = $1 AND id = $2",
            )
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::not_found("notification", id));
        }
        tx.commit().await
    }

    /// Appends to the audit log.
    pub async fn record(
        &self,
        actor: Actor,
        action: &str,
        subject: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<AuditEvent, StoreError> {
        // A workspace records what its own people and Onepane did; vendors
        // and the operator write their entries through their own scopes.
        if !matches!(actor, Actor::User(_) | Actor::System) {
            return Err(StoreError::Rule(
                "a workspace records only its users' and the system's actions".into(),
            ));
        }
        let mut tx = self.begin(Access::Write).await?;
        let event = AuditEvent {
            id: AuditEventId::new(),
            workspace_id: self.workspace_id,
            actor,
            action: action.to_owned(),
            subject: subject.map(str::to_owned),
            detail,
            at: now(),
        };
        insert_audit(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// The audit log, newest first.
    pub async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<AuditRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE workspace_id = $1 ORDER BY id DESC LIMIT 500"
            ))
            .bind(self.ws())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }
}

/// Whether content with `audience` from `vendor` is meant for the workspace
/// with these active links. Workspace regions are not modelled yet, so a
/// region-limited audience reaches a workspace only when it names no region.
fn in_audience(
    links: &HashMap<VendorId, VendorLink>,
    vendor: VendorId,
    audience: &Audience,
) -> bool {
    links
        .get(&vendor)
        .is_some_and(|l| audience.includes(l.tier, l.partner_type, &[]))
}

/// Refuses a campaign that is archived or outside its date window today.
fn ensure_running(campaign: &Campaign) -> Result<(), StoreError> {
    if campaign.status != CampaignStatus::Published {
        return Err(StoreError::Rule(
            "the campaign has ended and takes no more leads".into(),
        ));
    }
    let window = campaign.content.window;
    if !window.contains(now().date_naive()) {
        let day =
            |d: Option<chrono::NaiveDate>| d.map_or_else(|| "open".to_owned(), |d| d.to_string());
        return Err(StoreError::Rule(format!(
            "the campaign runs from {} to {}, not today",
            day(window.starts_on()),
            day(window.ends_on())
        )));
    }
    Ok(())
}

/// `a.x, a.y` from `x, y`.
pub(crate) fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(crate) async fn insert_lead(tx: &mut Tx, lead: &Lead) -> Result<(), StoreError> {
    write_lead(tx, lead, "").await.map(drop)
}

/// Inserts `lead`, with `on_conflict` appended (e.g. an upsert clause), and
/// returns the row written, if any.
pub(crate) async fn write_lead(
    tx: &mut Tx,
    lead: &Lead,
    on_conflict: &str,
) -> Result<Option<LeadRow>, StoreError> {
    Ok(write_leads(tx, std::slice::from_ref(lead), on_conflict)
        .await?
        .pop())
}

/// Inserts `leads` (of one workspace) in one statement, with `on_conflict`
/// appended, and returns the rows written; each is marked in the CRM
/// outbox in the same transaction.
pub(crate) async fn write_leads(
    tx: &mut Tx,
    leads: &[Lead],
    on_conflict: &str,
) -> Result<Vec<LeadRow>, StoreError> {
    let Some(first) = leads.first() else {
        return Ok(Vec::new());
    };
    let ws = first.workspace_id;
    let rows: Vec<LeadRow> = on_tx!(*tx, c => {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO leads (workspace_id, id, vendor_id, campaign_id, activation_id, external_id, \
               source, status, contact_name, contact_email, company_name, contact, company, message, \
               respond_by, shared_with_vendor_at, created_at, updated_at, search_text) ",
        );
        insert.push_values(leads, |mut row, lead| {
            row.push_bind(lead.workspace_id.as_uuid())
                .push_bind(lead.id.as_uuid())
                .push_bind(lead.vendor_id.map(|v| v.as_uuid()))
                .push_bind(lead.campaign_id.map(|v| v.as_uuid()))
                .push_bind(lead.activation_id.map(|v| v.as_uuid()))
                .push_bind(lead.external_id.as_ref().map(|e| e.as_str()))
                .push_bind(lead.source.as_str())
                .push_bind(lead.status.as_str())
                .push_bind(lead.contact.name.as_str())
                .push_bind(lead.contact.email.as_ref().map(|e| e.as_str()))
                .push_bind(lead.company.as_ref().map(|c| c.name.as_str()))
                .push_bind(Json(&lead.contact))
                .push_bind(lead.company.as_ref().map(Json))
                .push_bind(lead.message.as_ref().map(|m| m.as_str()))
                .push_bind(lead.respond_by)
                .push_bind(lead.shared_with_vendor_at)
                .push_bind(lead.created_at)
                .push_bind(lead.updated_at)
                .push_bind(search_text(lead));
        });
        insert.push(format!(" {on_conflict} RETURNING {LEAD_COLUMNS}"));
        insert
            .build_query_as()
            .fetch_all(&mut *c)
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, || "a lead with this external id exists".into()))?
    });
    // The CRM sinks hear of every lead written, in the same transaction.
    let marks: Vec<(Uuid, DateTime<Utc>)> = rows.iter().map(|r| (r.id(), r.updated_at())).collect();
    crate::sync::mark_all_changed(tx, ws, crate::sync::CrmEntity::Lead, &marks).await?;
    Ok(rows)
}

/// What lead search matches: name, email and company, lowercased here
/// (SQLite's `lower()` folds ASCII only, PostgreSQL's folds everything).
pub(crate) fn search_text(lead: &Lead) -> String {
    let mut text = lead.contact.name.as_str().to_lowercase();
    for part in [
        lead.contact.email.as_ref().map(|e| e.as_str()),
        lead.company.as_ref().map(|c| c.name.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        text.push('\n');
        text.push_str(&part.to_lowercase());
    }
    text
}

async fn fetch_workspace(tx: &mut Tx, ws: WorkspaceId) -> Result<Workspace, StoreError> {
    let row: Option<WorkspaceRow> = on_tx!(*tx, c => {
        sqlx::query_as("SELECT id, name, home_currency, locale, created_at FROM workspaces WHERE id = $1")
            .bind(ws.as_uuid())
            .fetch_optional(&mut *c)
            .await?
    });
    row.ok_or_else(|| StoreError::not_found("workspace", ws))?
        .try_into()
}

async fn fetch_lead(tx: &mut Tx, ws: WorkspaceId, id: LeadId) -> Result<Lead, StoreError> {
    let row: Option<LeadRow> = on_tx!(*tx, c => {
        sqlx::query_as(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND id = $2"))
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
    });
    row.ok_or_else(|| StoreError::not_found("lead", id))?
        .try_into()
}

/// Shares a lead with `vendor`, attributing it to that vendor when it had
/// none (so the vendor can read what it was shared).
async fn share(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: LeadId,
    vendor: VendorId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "UPDATE leads SET shared_with_vendor_at = COALESCE(shared_with_vendor_at, $3), \
               vendor_id = COALESCE(vendor_id, $4), updated_at = $3 \
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(ws.as_uuid())
        .bind(id.as_uuid())
        .bind(at)
        .bind(vendor.as_uuid())
        .execute(&mut *c)
        .await?;
    });
    mark_lead_changed(tx, ws, id.as_uuid(), at).await
}

pub(crate) async fn insert_notification(
    tx: &mut Tx,
    ws: WorkspaceId,
    new: &NewNotification,
) -> Result<Notification, StoreError> {
    let n = Notification {
        id: NotificationId::new(),
        workspace_id: ws,
        kind: new.kind,
        vendor_id: new.vendor_id,
        title: new.title.clone(),
        body: new.body.clone(),
        link: new.link.clone(),
        read_at: None,
        created_at: now(),
    };
    on_tx!(*tx, c => {
        sqlx::query(&format!(
            "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)"
        ))
        .bind(ws.as_uuid())
        .bind(n.id.as_uuid())
        .bind(n.kind.as_str())
        .bind(n.vendor_id.map(|v| v.as_uuid()))
        .bind(n.title.as_str())
        .bind(n.body.as_ref().map(|b| b.as_str()))
        .bind(n.link.as_deref())
        .bind(n.created_at)
        .execute(&mut *c)
        .await?;
    });
    Ok(n)
}

pub(crate) async fn insert_audit(tx: &mut Tx, event: &AuditEvent) -> Result<(), StoreError> {
    let (actor_type, actor_id) = actor_columns(&event.actor);
    on_tx!(*tx, c => {
        sqlx::query(&format!("INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(event.workspace_id.as_uuid())
            .bind(event.id.as_uuid())
            .bind(actor_type)
            .bind(actor_id)
            .bind(&event.action)
            .bind(event.subject.as_deref())
            .bind(Json(&event.detail))
            .bind(event.at)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}
