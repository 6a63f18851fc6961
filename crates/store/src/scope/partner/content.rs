//! What linked vendors publish to a workspace: campaigns (and their activations) and assets.

use onepane_domain::activity::*;
use onepane_domain::campaign::*;
use onepane_domain::text::*;
use onepane_domain::*;

use crate::rows::select;
use crate::tables::assets::*;
use crate::tables::campaigns::*;
use crate::tables::prefixed;
use crate::tables::webhooks::*;
use crate::tables::workspaces::read_profile;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

/// Why a campaign cannot be activated yet.
const NO_PRIVACY_NOTICE: &str = "set the workspace's privacy notice link (Settings, landing page profile) before activating a campaign: every landing page links to it";

impl PartnerStore {
    /// Published, running campaigns of actively linked vendors whose audience
    /// includes this workspace (by the tier and partner type of its link),
    /// newest first.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let campaigns = self
            .linked_content::<CampaignRow, Campaign>(
                "workspace_campaigns",
                CAMPAIGN_COLUMNS,
                "AND x.status = 'published'",
                |c| (c.vendor_id, &c.content.audience),
            )
            .await?;
        let today = now().date_naive();
        Ok(campaigns
            .into_iter()
            .filter(|c| c.content.window.contains(today))
            .collect())
    }

    /// One campaign: one this workspace may activate, or has activated
    /// (whatever its status now).
    pub async fn campaign(&self, id: CampaignId) -> Result<Campaign, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let campaign = self.campaign_in(&mut tx, id).await?;
        let links = self.visible_links(&mut tx).await?;
        let activated = self.activation_of(&mut tx, id).await?.is_some();
        tx.commit().await?;
        if activated || in_audience(&links, campaign.vendor_id, &campaign.content.audience) {
            Ok(campaign)
        } else {
            Err(StoreError::not_found("campaign", id))
        }
    }

    /// The workspace's copy of campaign `id`, whoever may see it.
    pub(super) async fn campaign_in(
        &self,
        tx: &mut Tx,
        id: CampaignId,
    ) -> Result<Campaign, StoreError> {
        let row: Option<Campaign> = select!(
            optional,
            CampaignRow,
            *tx,
            &format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM workspace_campaigns WHERE workspace_id = $1 AND id = $2"
            ),
            self.ws(),
            id.as_uuid()
        )?;
        row.ok_or_else(|| StoreError::not_found("campaign", id))
    }

    async fn activation_of(
        &self,
        tx: &mut Tx,
        campaign_id: CampaignId,
    ) -> Result<Option<CampaignActivation>, StoreError> {
        let row: Option<CampaignActivation> = select!(
            optional,
            ActivationRow,
            *tx,
            &format!(
                "SELECT {ACTIVATION_COLUMNS} FROM campaign_activations WHERE workspace_id = $1 AND campaign_id = $2"
            ),
            self.ws(),
            campaign_id.as_uuid()
        )?;
        Ok(row)
    }

    /// Activates a campaign: one click, one landing page. Activating an
    /// already active campaign returns the existing activation. A broken
    /// rule while the workspace has no privacy notice: every landing page
    /// links to it.
    pub async fn activate_campaign(
        &self,
        campaign_id: CampaignId,
        by: Option<UserId>,
    ) -> Result<CampaignActivation, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let campaign = self.campaign_in(&mut tx, campaign_id).await?;
        if campaign.status != CampaignStatus::Published {
            return Err(StoreError::Rule(
                "the campaign is archived and cannot be activated".into(),
            ));
        }
        // A campaign the workspace activated stays its own (the campaign
        // views keep showing it) when the vendor narrows its audience:
        // activating it again answers the activation it has.
        let links = self.visible_links(&mut tx).await?;
        let existing = self.activation_of(&mut tx, campaign_id).await?;
        if existing.is_none()
            && !in_audience(&links, campaign.vendor_id, &campaign.content.audience)
        {
            return Err(StoreError::not_found("campaign", campaign_id));
        }
        self.active_link(&mut tx, campaign.vendor_id).await?;
        if let Some(existing) = existing {
            tx.commit().await?;
            return Ok(existing);
        }
        ensure_running(&campaign)?;
        if read_profile(&mut tx, self.workspace_id)
            .await?
            .privacy_notice_url
            .is_none()
        {
            return Err(StoreError::Rule(NO_PRIVACY_NOTICE.into()));
        }
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
        emit(
            &mut tx,
            campaign.vendor_id,
            WebhookEvent::CampaignActivated,
            self.workspace_id,
            ("activation", activation.id.to_string()),
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
        select!(
            all,
            ActivationRow,
            read(self),
            &format!(
                "SELECT {ACTIVATION_COLUMNS} FROM campaign_activations WHERE workspace_id = $1 ORDER BY id DESC"
            ),
            self.ws()
        )
    }

    /// Assets of actively linked vendors meant for this workspace, newest first.
    pub async fn assets(&self) -> Result<Vec<Asset>, StoreError> {
        self.linked_content::<AssetRow, Asset>("workspace_assets", ASSET_COLUMNS, "", |a| {
            (a.vendor_id, &a.content.audience)
        })
        .await
    }

    /// The rows of vendor content `table` (its `columns`, more conditions
    /// in `and`) from actively linked vendors whose audience, as `audience`
    /// reads it, includes this workspace; newest first.
    async fn linked_content<R, T>(
        &self,
        table: &str,
        columns: &str,
        and: &str,
        audience: impl Fn(&T) -> (VendorId, &Audience),
    ) -> Result<Vec<T>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
        T: TryFrom<R, Error = StoreError>,
    {
        let mut tx = self.begin(Access::Read).await?;
        let links = self.visible_links(&mut tx).await?;
        let rows: Vec<T> = select!(
            all,
            R,
            tx,
            &format!(
                "SELECT {} FROM {table} x JOIN vendor_links l \
                   ON l.workspace_id = x.workspace_id AND l.vendor_id = x.vendor_id AND l.status IN ('active', 'paused') \
                 WHERE x.workspace_id = $1 {and} ORDER BY x.id DESC",
                prefixed("x", columns)
            ),
            self.ws()
        )?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter(|r| {
                let (vendor, reach) = audience(r);
                in_audience(&links, vendor, reach)
            })
            .collect())
    }
}
