//! What a partner's own connection pulls from a vendor's system into one
//! workspace (each partner's own view of the vendor): campaigns, assets and
//! price lists kept per workspace, written in the vendor scope acting for
//! that workspace.

use onepane_domain::activity::*;
use onepane_domain::campaign::*;
use onepane_domain::price::*;
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use sqlx::types::Json;

use crate::tables::assets::*;
use crate::tables::campaigns::*;
use crate::tables::notifications::*;
use crate::tables::prices::*;
use crate::tx::{Tx, on_tx};
use crate::{StoreError, now};

use super::VendorStore;

impl VendorStore {
    /// Publishes (or replaces) the campaign in one linked workspace, in `tx`.
    pub(crate) async fn put_campaign_in(
        &self,
        tx: &mut Tx,
        link: &VendorLink,
        external_id: &ExternalId,
        content: &CampaignContent,
    ) -> Result<Campaign, StoreError> {
        let ws = link.workspace_id;
        let at = now();
        let row: CampaignRow = on_tx!(*tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO campaigns (workspace_id, id, vendor_id, external_id, status, starts_on, ends_on, content, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'published', $5, $6, $7, $8, $8) \
                 ON CONFLICT (workspace_id, vendor_id, external_id) DO UPDATE SET \
                   status = 'published', starts_on = excluded.starts_on, ends_on = excluded.ends_on, \
                   content = excluded.content, updated_at = excluded.updated_at \
                 RETURNING {CAMPAIGN_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(CampaignId::new().as_uuid())
            .bind(self.v())
            .bind(external_id.as_str())
            .bind(content.window.starts_on())
            .bind(content.window.ends_on())
            .bind(Json(content))
            .bind(at)
            .fetch_one(&mut *c)
            .await?
        });
        let campaign = Campaign::try_from(row)?;
        // New to this workspace and meant for it: tell the partner.
        let for_them = content
            .audience
            .includes(link.tier, link.partner_type, &link.regions);
        if campaign.created_at == at && for_them {
            let title = Name::parse(&format!("New campaign: {}", content.variants.first().name))
                .unwrap_or_else(|_| content.variants.first().name.clone());
            insert_notification(
                tx,
                ws,
                &NewNotification {
                    kind: NotificationKind::NewCampaign,
                    vendor_id: Some(self.vendor_id),
                    title,
                    body: None,
                    link: Some(format!("/campaigns/{}", campaign.id)),
                    args: serde_json::json!({ "name": content.variants.first().name.as_str() }),
                },
            )
            .await?;
        }
        Ok(campaign)
    }

    /// Publishes (or replaces) the asset in one linked workspace, in `tx`.
    pub(crate) async fn put_asset_in(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        external_id: &ExternalId,
        content: &AssetContent,
    ) -> Result<Asset, StoreError> {
        let at = now();
        let row: AssetRow = on_tx!(*tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO assets (workspace_id, id, vendor_id, external_id, kind, content, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (workspace_id, vendor_id, external_id) DO UPDATE SET \
                   kind = excluded.kind, content = excluded.content, updated_at = excluded.updated_at \
                 RETURNING {ASSET_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(AssetId::new().as_uuid())
            .bind(self.v())
            .bind(external_id.as_str())
            .bind(content.kind.as_str())
            .bind(Json(content))
            .bind(at)
            .fetch_one(&mut *c)
            .await?
        });
        row.try_into()
    }

    /// Creates the price list in one workspace or replaces its terms, in `tx`.
    pub(crate) async fn upsert_terms(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        external_id: &ExternalId,
        terms: &PriceListTerms,
    ) -> Result<PriceList, StoreError> {
        let at = now();
        let row: PriceListRow = on_tx!(*tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO price_lists (workspace_id, id, vendor_id, external_id, currency, terms, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (workspace_id, vendor_id, external_id) DO UPDATE SET \
                   currency = excluded.currency, terms = excluded.terms, updated_at = excluded.updated_at \
                 RETURNING {PRICE_LIST_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(PriceListId::new().as_uuid())
            .bind(self.v())
            .bind(external_id.as_str())
            .bind(terms.currency.code())
            .bind(Json(terms))
            .bind(at)
            .fetch_one(&mut *c)
            .await?
        });
        PriceList::try_from(row)
    }
}
