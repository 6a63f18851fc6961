//! What a vendor publishes to its linked workspaces: campaigns, assets, price lists.

use onepane_domain::activity::*;
use onepane_domain::campaign::*;
use onepane_domain::price::*;
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::codec::DbDecimal;
use crate::rows::*;
use crate::tables::assets::*;
use crate::tables::audit::insert_audit;
use crate::tables::campaigns::*;
use crate::tables::notifications::*;
use crate::tables::prefixed;
use crate::tables::prices::*;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

use super::{Backfilled, VendorStore};

impl VendorStore {
    /// Publishes (creates or replaces) a campaign into every actively linked
    /// workspace. Workspaces that get it for the first time, and are in its
    /// audience, are notified.
    /// Returns the campaign as it now stands in each workspace.
    pub async fn publish_campaign(
        &self,
        external_id: &ExternalId,
        content: &CampaignContent,
    ) -> Result<Vec<Campaign>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut out = Vec::new();
        for link in self.active_links(&mut tx).await? {
            let c = self
                .put_campaign_in(&mut tx, &link, external_id, content)
                .await?;
            self.wrote(
                &mut tx,
                c.workspace_id,
                "campaign.published",
                "campaign",
                c.id,
            )
            .await?;
            out.push(c);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Creates or replaces a campaign in one linked workspace.
    pub async fn put_campaign(
        &self,
        ws: WorkspaceId,
        external_id: &ExternalId,
        content: &CampaignContent,
    ) -> Result<Campaign, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let link = self.ensure_linked(&mut tx, ws).await?;
        let c = self
            .put_campaign_in(&mut tx, &link, external_id, content)
            .await?;
        self.wrote(&mut tx, ws, "campaign.published", "campaign", c.id)
            .await?;
        tx.commit().await?;
        Ok(c)
    }

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
        let for_them = content.audience.includes(link.tier, link.partner_type, &[]);
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

    /// This vendor's campaigns across linked workspaces, newest first.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        select!(
            all,
            CampaignRow,
            read(self),
            &format!(
                "SELECT {} FROM campaigns c JOIN vendor_links l \
                   ON l.workspace_id = c.workspace_id AND l.vendor_id = c.vendor_id AND l.status = 'active' \
                 WHERE c.vendor_id = $1 ORDER BY c.id DESC",
                prefixed("c", CAMPAIGN_COLUMNS)
            ),
            self.v()
        )
    }

    /// Archives a campaign everywhere: its activations stop taking leads.
    /// Returns how many workspaces had it.
    pub async fn archive_campaign(&self, external_id: &ExternalId) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut n = 0;
        for ws in self.linked_workspaces(&mut tx).await? {
            let ids: Vec<(Uuid,)> = on_tx!(tx, c => {
                sqlx::query_as("UPDATE campaigns SET status = $4, updated_at = $5 WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3 RETURNING id")
                    .bind(ws.as_uuid())
                    .bind(self.v())
                    .bind(external_id.as_str())
                    .bind(CampaignStatus::Archived.as_str())
                    .bind(now())
                    .fetch_all(&mut *c)
                    .await?
            });
            for (id,) in ids {
                self.wrote(&mut tx, ws, "campaign.archived", "campaign", id)
                    .await?;
                n += 1;
            }
        }
        if n == 0 {
            return Err(StoreError::not_found("campaign", external_id));
        }
        tx.commit().await?;
        Ok(n)
    }

    /// How many linked workspaces activated each of this vendor's campaigns,
    /// by external id. Counts only: no lead data.
    pub async fn activation_counts(&self) -> Result<Vec<(ExternalId, u64)>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(String, i64)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT c.external_id, COUNT(a.id) FROM campaigns c \
                 JOIN vendor_links l ON l.workspace_id = c.workspace_id AND l.vendor_id = c.vendor_id AND l.status = 'active' \
                 LEFT JOIN campaign_activations a ON a.workspace_id = c.workspace_id AND a.campaign_id = c.id \
                 WHERE c.vendor_id = $1 GROUP BY c.external_id ORDER BY c.external_id",
            )
            .bind(self.v())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(e, n)| Ok((parse("campaign", &e)?, u64::try_from(n).unwrap_or_default())))
            .collect()
    }

    /// How many leads this vendor's campaign brought in across linked
    /// workspaces. A count only: no lead data.
    pub async fn campaign_lead_count(&self, external_id: &ExternalId) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let n: i64 = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(a.lead_count), 0) AS BIGINT) FROM campaign_activations a \
                 JOIN campaigns c ON c.workspace_id = a.workspace_id AND c.id = a.campaign_id \
                 JOIN vendor_links l ON l.workspace_id = c.workspace_id AND l.vendor_id = c.vendor_id AND l.status = 'active' \
                 WHERE c.vendor_id = $1 AND c.external_id = $2",
            )
            .bind(self.v())
            .bind(external_id.as_str())
            .fetch_one(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Publishes (creates or replaces) an asset into every actively linked workspace.
    pub async fn publish_asset(
        &self,
        external_id: &ExternalId,
        content: &AssetContent,
    ) -> Result<Vec<Asset>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut out = Vec::new();
        for ws in self.linked_workspaces(&mut tx).await? {
            let a = self.put_asset_in(&mut tx, ws, external_id, content).await?;
            self.wrote(&mut tx, ws, "asset.published", "asset", a.id)
                .await?;
            out.push(a);
        }
        tx.commit().await?;
        Ok(out)
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

    /// Brings a newly linked workspace up to date with what this vendor has
    /// published to its other partners: published campaigns (announced to
    /// the partner when it is in their audience), assets, and price lists
    /// with their items. Content is kept per workspace, so a partner linked
    /// after publishing would otherwise see none of it.
    pub async fn backfill(&self, ws: WorkspaceId) -> Result<Backfilled, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let link = self.ensure_linked(&mut tx, ws).await?;
        let others: Vec<WorkspaceId> = self
            .linked_workspaces(&mut tx)
            .await?
            .into_iter()
            .filter(|w| *w != ws)
            .collect();
        let mut done = Backfilled::default();
        let mut seen = std::collections::HashSet::new();
        for source in &others {
            let rows: Vec<Campaign> = select!(
                all,
                CampaignRow,
                tx,
                &format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 AND vendor_id = $2 \
                     AND status = 'published' ORDER BY id"
                ),
                source.as_uuid(),
                self.v()
            )?;
            for campaign in rows {
                if seen.insert(("campaign", campaign.external_id.as_str().to_owned())) {
                    self.put_campaign_in(&mut tx, &link, &campaign.external_id, &campaign.content)
                        .await?;
                    done.campaigns += 1;
                }
            }
            let rows: Vec<Asset> = select!(
                all,
                AssetRow,
                tx,
                &format!(
                    "SELECT {ASSET_COLUMNS} FROM assets WHERE workspace_id = $1 AND vendor_id = $2 ORDER BY id"
                ),
                source.as_uuid(),
                self.v()
            )?;
            for asset in rows {
                if seen.insert(("asset", asset.external_id.as_str().to_owned())) {
                    self.put_asset_in(&mut tx, ws, &asset.external_id, &asset.content)
                        .await?;
                    done.assets += 1;
                }
            }
            let rows: Vec<PriceList> = select!(
                all,
                PriceListRow,
                tx,
                &format!(
                    "SELECT {PRICE_LIST_COLUMNS} FROM price_lists WHERE workspace_id = $1 AND vendor_id = $2 ORDER BY id"
                ),
                source.as_uuid(),
                self.v()
            )?;
            for list in rows {
                if !seen.insert(("price list", list.external_id.as_str().to_owned())) {
                    continue;
                }
                let items: Vec<PriceItem> = select!(
                    all,
                    PriceItemRow,
                    tx,
                    &format!(
                        "SELECT {PRICE_ITEM_COLUMNS} FROM price_items WHERE workspace_id = $1 AND price_list_id = $2 ORDER BY sku"
                    ),
                    source.as_uuid(),
                    list.id.as_uuid()
                )?;
                let items: Vec<PriceItem> = items;
                let inputs: Vec<PriceItemInput> = items.into_iter().map(|i| i.item).collect();
                let copy = self
                    .upsert_terms(&mut tx, ws, &list.external_id, &list.terms)
                    .await?;
                self.replace_items(&mut tx, ws, &copy, &inputs).await?;
                done.price_lists += 1;
                done.price_items += inputs.len();
            }
        }
        let event = self
            .event(
                ws,
                "content.backfilled",
                AuditAccess::Write,
                "link",
                self.vendor_id,
            )
            .with_detail(serde_json::json!({
                "campaigns": done.campaigns,
                "assets": done.assets,
                "price_lists": done.price_lists,
                "price_items": done.price_items,
            }));
        insert_audit(&mut tx, &[event]).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Withdraws an asset from every linked workspace; returns how many had it.
    pub async fn delete_asset(&self, external_id: &ExternalId) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut n = 0;
        for ws in self.linked_workspaces(&mut tx).await? {
            let ids: Vec<(Uuid,)> = on_tx!(tx, c => {
                sqlx::query_as("DELETE FROM assets WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3 RETURNING id")
                    .bind(ws.as_uuid())
                    .bind(self.v())
                    .bind(external_id.as_str())
                    .fetch_all(&mut *c)
                    .await?
            });
            for (id,) in ids {
                self.wrote(&mut tx, ws, "asset.withdrawn", "asset", id)
                    .await?;
                n += 1;
            }
        }
        if n == 0 {
            return Err(StoreError::not_found("asset", external_id));
        }
        tx.commit().await?;
        Ok(n)
    }

    /// This vendor's assets across linked workspaces.
    pub async fn assets(&self) -> Result<Vec<Asset>, StoreError> {
        select!(
            all,
            AssetRow,
            read(self),
            &format!(
                "SELECT {} FROM assets a JOIN vendor_links l \
                   ON l.workspace_id = a.workspace_id AND l.vendor_id = a.vendor_id AND l.status = 'active' \
                 WHERE a.vendor_id = $1 ORDER BY a.id DESC",
                prefixed("a", ASSET_COLUMNS)
            ),
            self.v()
        )
    }

    /// Publishes a price list's terms and its complete set of items into every
    /// actively linked workspace, atomically: items not in `items` are removed.
    pub async fn publish_price_list(
        &self,
        external_id: &ExternalId,
        terms: &PriceListTerms,
        items: &[PriceItemInput],
    ) -> Result<Vec<PriceList>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut out = Vec::new();
        for ws in self.linked_workspaces(&mut tx).await? {
            let list = self.upsert_terms(&mut tx, ws, external_id, terms).await?;
            self.replace_items(&mut tx, ws, &list, items).await?;
            self.wrote(&mut tx, ws, "price-list.published", "price-list", list.id)
                .await?;
            out.push(list);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Creates or replaces a price list's terms in every actively linked
    /// workspace, keeping its items (re-denominated when the currency changes).
    pub async fn put_price_list_terms(
        &self,
        external_id: &ExternalId,
        terms: &PriceListTerms,
    ) -> Result<Vec<PriceList>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut out = Vec::new();
        for ws in self.linked_workspaces(&mut tx).await? {
            let list = self.upsert_terms(&mut tx, ws, external_id, terms).await?;
            on_tx!(tx, c => {
                sqlx::query("UPDATE price_items SET currency = $3 WHERE workspace_id = $1 AND price_list_id = $2 AND currency <> $3")
                    .bind(ws.as_uuid())
                    .bind(list.id.as_uuid())
                    .bind(terms.currency.code())
                    .execute(&mut *c)
                    .await?;
            });
            self.wrote(&mut tx, ws, "price-list.terms-set", "price-list", list.id)
                .await?;
            out.push(list);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Replaces the complete set of items of an existing price list in
    /// every actively linked workspace, atomically. Returns how many
    /// workspaces hold the list.
    pub async fn put_price_list_items(
        &self,
        external_id: &ExternalId,
        items: &[PriceItemInput],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let rows: Vec<PriceList> = select!(
            all,
            PriceListRow,
            tx,
            &format!(
                "SELECT {} FROM price_lists p JOIN vendor_links l \
                   ON l.workspace_id = p.workspace_id AND l.vendor_id = p.vendor_id AND l.status = 'active' \
                 WHERE p.vendor_id = $1 AND p.external_id = $2",
                prefixed("p", PRICE_LIST_COLUMNS)
            ),
            self.v(),
            external_id.as_str()
        )?;
        if rows.is_empty() {
            return Err(StoreError::not_found("price list", external_id));
        }
        let mut n = 0;
        for list in rows {
            self.replace_items(&mut tx, list.workspace_id, &list, items)
                .await?;
            self.wrote(
                &mut tx,
                list.workspace_id,
                "price-list.items-set",
                "price-list",
                list.id,
            )
            .await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
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

    async fn replace_items(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        list: &PriceList,
        items: &[PriceItemInput],
    ) -> Result<(), StoreError> {
        let currency = list.terms.currency;
        // The list's updated_at moves with its items too: pricing caches key on it.
        on_tx!(*tx, c => {
            sqlx::query("DELETE FROM price_items WHERE workspace_id = $1 AND price_list_id = $2")
                .bind(ws.as_uuid())
                .bind(list.id.as_uuid())
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE price_lists SET updated_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws.as_uuid())
                .bind(list.id.as_uuid())
                .bind(now())
                .execute(&mut *c)
                .await?;
        });
        // Multi-row inserts: one round trip per chunk, not per item.
        for chunk in items.chunks(PRICE_ITEM_CHUNK) {
            on_tx!(*tx, c => {
                let mut insert = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO price_items (workspace_id, id, vendor_id, price_list_id, sku, name, category, list_price, currency, item) ",
                );
                insert.push_values(chunk, |mut row, item| {
                    row.push_bind(ws.as_uuid())
                        .push_bind(PriceItemId::new().as_uuid())
                        .push_bind(self.v())
                        .push_bind(list.id.as_uuid())
                        .push_bind(item.sku.as_str())
                        .push_bind(item.name.as_str())
                        .push_bind(item.category.as_ref().map(|c| c.as_str()))
                        .push_bind(DbDecimal(item.list_price.value()))
                        .push_bind(currency.code())
                        .push_bind(Json(item));
                });
                insert
                    .build()
                    .execute(&mut *c)
                    .await
                    .map_err(|e| StoreError::conflict_on_unique(e, || duplicate_sku(chunk, items)))?;
            });
        }
        Ok(())
    }

    /// This vendor's price lists, one per external id (as published; the
    /// copy in each linked workspace is the same).
    pub async fn price_lists(&self) -> Result<Vec<PriceList>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<PriceList> = select!(
            all,
            PriceListRow,
            tx,
            &format!(
                "SELECT {} FROM price_lists p JOIN vendor_links l \
                   ON l.workspace_id = p.workspace_id AND l.vendor_id = p.vendor_id AND l.status = 'active' \
                 WHERE p.vendor_id = $1 ORDER BY p.external_id, p.workspace_id",
                prefixed("p", PRICE_LIST_COLUMNS)
            ),
            self.v()
        )?;
        tx.commit().await?;
        let mut lists: Vec<PriceList> = rows;
        lists.dedup_by(|a, b| a.external_id == b.external_id);
        Ok(lists)
    }

    /// A page of one price list's items by SKU, after `after`, as published.
    pub async fn price_list_items(
        &self,
        external_id: &ExternalId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PriceItem>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let list: Option<(Uuid, Uuid)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT p.workspace_id, p.id FROM price_lists p JOIN vendor_links l \
                   ON l.workspace_id = p.workspace_id AND l.vendor_id = p.vendor_id AND l.status = 'active' \
                 WHERE p.vendor_id = $1 AND p.external_id = $2 ORDER BY p.workspace_id LIMIT 1",
            )
            .bind(self.v())
            .bind(external_id.as_str())
            .fetch_optional(&mut *c)
            .await?
        });
        let Some((ws, list_id)) = list else {
            return Err(StoreError::not_found("price list", external_id));
        };
        let rows: Vec<PriceItem> = select!(
            all,
            PriceItemRow,
            tx,
            &format!(
                "SELECT {PRICE_ITEM_COLUMNS} FROM price_items \
                 WHERE workspace_id = $1 AND price_list_id = $2 AND ($3 IS NULL OR sku > $3) \
                 ORDER BY sku LIMIT $4"
            ),
            ws,
            list_id,
            after,
            i64::from(limit)
        )?;
        tx.commit().await?;
        Ok(rows)
    }

    /// This vendor's price items across linked workspaces.
    pub async fn price_items(&self) -> Result<Vec<PriceItem>, StoreError> {
        select!(
            all,
            PriceItemRow,
            read(self),
            &format!(
                "SELECT {} FROM price_items p JOIN vendor_links l \
                   ON l.workspace_id = p.workspace_id AND l.vendor_id = p.vendor_id AND l.status = 'active' \
                 WHERE p.vendor_id = $1 ORDER BY p.workspace_id, p.sku",
                prefixed("p", PRICE_ITEM_COLUMNS)
            ),
            self.v()
        )
    }
}
