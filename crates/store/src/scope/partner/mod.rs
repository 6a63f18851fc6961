//! The partner scope: everything one workspace owns, across its vendors.

use std::collections::HashMap;

use onepane_domain::activity::{Actor, AuditAccess, AuditEvent};
use onepane_domain::lead::*;
use onepane_domain::price::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::select;
use crate::tables::accounts::*;
use crate::tables::audit::insert_audit;
use crate::tables::links::*;
use crate::tables::vendors::*;
use crate::tables::workspaces::*;
use crate::tx::{Access, Scope, Tx};
use crate::{Store, StoreError};

mod activity;
mod clock;
mod connections;
mod content;
mod deals;
mod leads;
pub(crate) mod mail;
mod pricing;
pub(crate) mod privacy;
pub(crate) mod scorecard;
pub(crate) mod summaries;
mod workspace;

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
    /// The scope of one workspace.
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

    /// Begins a transaction in this workspace's scope.
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
        select!(
            all,
            MembershipRow,
            read(self),
            "SELECT m.workspace_id, m.user_id, u.email, m.role, m.created_at \
                 FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.workspace_id = $1 ORDER BY u.email",
            self.ws()
        )
    }

    /// The vendors linked to the workspace, with their terms, by name.
    pub async fn vendors(&self) -> Result<Vec<LinkedVendor>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let vendors: Vec<Vendor> = select!(
            all,
            VendorRow,
            tx,
            "SELECT v.id, v.name, v.kind, v.created_at \
                 FROM vendor_links l JOIN vendors v ON v.id = l.vendor_id \
                 WHERE l.workspace_id = $1 ORDER BY v.name, v.id",
            self.ws()
        )?;
        let mut links: Vec<VendorLink> = select!(
            all,
            LinkRow,
            tx,
            &format!(
                "SELECT {} FROM vendor_links WHERE workspace_id = $1",
                LINK_COLUMNS
            ),
            self.ws()
        )?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(vendors.len());
        for vendor in vendors {
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
        let row: Option<VendorLink> = select!(
            optional,
            LinkRow,
            *tx,
            &format!(
                "SELECT {} FROM vendor_links WHERE workspace_id = $1 AND vendor_id = $2",
                LINK_COLUMNS
            ),
            self.ws(),
            vendor_id.as_uuid()
        )?;
        let link: VendorLink = row.ok_or_else(|| StoreError::not_found("vendor", vendor_id))?;
        if link.status != LinkStatus::Active {
            return Err(StoreError::Rule(format!(
                "the link with vendor {vendor_id} is {}, not active",
                link.status
            )));
        }
        Ok(link)
    }

    /// The links whose vendor's content the workspace sees: active and
    /// paused ones (a paused vendor's content stays, greyed). Acting with
    /// a vendor takes an active link ([`Self::active_link`]).
    async fn visible_links(
        &self,
        tx: &mut Tx,
    ) -> Result<HashMap<VendorId, VendorLink>, StoreError> {
        let rows: Vec<VendorLink> = select!(
            all,
            LinkRow,
            *tx,
            &format!(
                "SELECT {} FROM vendor_links WHERE workspace_id = $1 AND status IN ('active', 'paused')",
                LINK_COLUMNS
            ),
            self.ws()
        )?;
        let links: Vec<VendorLink> = rows;
        Ok(links.into_iter().map(|l| (l.vendor_id, l)).collect())
    }

    /// Pauses, resumes or ends the workspace's link with a vendor, as
    /// `by`. Pausing stops the vendor reaching the workspace (its API
    /// answers as for an unlinked workspace, webhooks stop) and keeps its
    /// content, greyed; ending also takes its content out of the pane, for
    /// good. The workspace's own leads, registrations and history stay.
    /// An ended link cannot be changed here; the change is recorded.
    pub async fn set_link_status(
        &self,
        vendor_id: VendorId,
        status: LinkStatus,
        by: UserId,
    ) -> Result<VendorLink, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<VendorLink> = select!(
            optional,
            LinkRow,
            tx,
            &format!(
                "SELECT {LINK_COLUMNS} FROM vendor_links WHERE workspace_id = $1 AND vendor_id = $2"
            ),
            self.ws(),
            vendor_id.as_uuid()
        )?;
        let link = row.ok_or_else(|| StoreError::not_found("vendor", vendor_id))?;
        let allowed = match (link.status, status) {
            (from, to) if from == to => {
                tx.commit().await?;
                return Ok(link);
            }
            (LinkStatus::Active, LinkStatus::Paused | LinkStatus::Ended)
            | (LinkStatus::Paused, LinkStatus::Active | LinkStatus::Ended) => true,
            _ => false,
        };
        if !allowed {
            return Err(StoreError::Rule(format!(
                "the link with this vendor is {}; it cannot become {status}",
                link.status
            )));
        }
        let row = update_link_status(&mut tx, self.workspace_id, vendor_id, status)
            .await?
            .ok_or_else(|| StoreError::not_found("vendor", vendor_id))?;
        let action = match status {
            LinkStatus::Paused => "link.paused",
            LinkStatus::Active => "link.resumed",
            _ => "link.ended",
        };
        insert_audit(
            &mut tx,
            &[AuditEvent::new(
                self.workspace_id,
                Actor::User(by),
                action,
                AuditAccess::Write,
            )
            .about("link", vendor_id)],
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }
}
