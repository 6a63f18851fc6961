//! Campaigns, their activations in a workspace, and the public landing
//! pages those activations serve.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use onepane_domain::campaign::*;
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::*;
use crate::tables::workspaces::*;
use crate::{StoreError, now};

pub(crate) const CAMPAIGN_COLUMNS: &str =
    "workspace_id, id, vendor_id, external_id, status, content, created_at, updated_at";

pub(crate) const ACTIVATION_COLUMNS: &str =
    "workspace_id, id, vendor_id, campaign_id, slug, activated_by, activated_at";

table_row! {
    CampaignRow => Campaign {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => CampaignId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        external_id: String => parse("campaign", &external_id)?,
        status: String => parse("campaign", &status)?,
        content: Json<CampaignContent> => content.0,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

table_row! {
    ActivationRow => CampaignActivation {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => ActivationId::from_uuid(id),
        vendor_id: Uuid => VendorId::from_uuid(vendor_id),
        campaign_id: Uuid => CampaignId::from_uuid(campaign_id),
        slug: String => parse("activation", &slug)?,
        activated_by: Option<Uuid> => activated_by.map(UserId::from_uuid),
        activated_at: DateTime<Utc>,
    }
}

/// A public landing page: an activated campaign in its workspace.
#[derive(Debug, Clone)]
pub struct LandingPage {
    /// The activation (its slug is the page's address).
    pub activation: CampaignActivation,
    /// The vendor's campaign.
    pub campaign: Campaign,
    /// The vendor's name.
    pub vendor_name: Name,
    /// The partner's workspace.
    pub workspace: Workspace,
    /// The partner's public profile.
    pub profile: WorkspaceProfile,
}

/// Whether content with `audience` from `vendor` is meant for the workspace
/// with these links (by their tier, partner type and regions).
pub(crate) fn in_audience(
    links: &HashMap<VendorId, VendorLink>,
    vendor: VendorId,
    audience: &Audience,
) -> bool {
    links
        .get(&vendor)
        .is_some_and(|l| audience.includes(l.tier, l.partner_type, &l.regions))
}

/// Refuses a campaign that is archived or outside its date window today.
pub(crate) fn ensure_running(campaign: &Campaign) -> Result<(), StoreError> {
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
