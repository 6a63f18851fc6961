//! What a vendor publishes to its program: campaigns, assets, price lists.
//! Each is stored once, for the vendor; a linked workspace sees it through
//! its link while in the content's audience. Publishing therefore costs what
//! the content costs, whatever the number of partners: new campaigns are
//! announced to the partners after the commit, from an outbox.

use onepane_domain::campaign::*;
use onepane_domain::price::*;
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::codec::DbDecimal;
use crate::rows::*;
use crate::tables::prices::*;
use crate::tables::published::*;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

use super::VendorStore;

/// Rows of a vendor's listing read at most per request.
pub const MAX_PAGE: u32 = 1_000;

impl VendorStore {
    /// How many active partners each tier, partner type and regions
    /// combination has: what content reaches is counted from it.
    pub async fn reach(&self) -> Result<Reach, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(String, String, Json<Vec<Region>>, i64)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT tier, partner_type, regions, COUNT(*) FROM vendor_links \
                 WHERE vendor_id = $1 AND status = 'active' GROUP BY tier, partner_type, regions",
            )
            .bind(self.v())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        let groups = rows
            .into_iter()
            .map(|(t, p, r, n)| {
                Ok((
                    parse("vendor link", &t)?,
                    parse("vendor link", &p)?,
                    r.0,
                    u64::try_from(n).unwrap_or_default(),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Reach { groups })
    }

    // ---- campaigns ------------------------------------------------------

    /// Publishes (creates or replaces) a campaign. A campaign new to the
    /// program is announced, after this commits, to the partners in its
    /// audience.
    pub async fn publish_campaign(
        &self,
        external_id: &ExternalId,
        content: &CampaignContent,
    ) -> Result<PublishedCampaign, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let campaign: PublishedCampaign = select!(
            optional,
            PublishedCampaignRow,
            tx,
            &format!(
                "INSERT INTO published_campaigns (vendor_id, id, external_id, status, starts_on, ends_on, audience, content, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'published', $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (vendor_id, external_id) DO UPDATE SET \
                   status = 'published', starts_on = excluded.starts_on, ends_on = excluded.ends_on, \
                   audience = excluded.audience, content = excluded.content, updated_at = excluded.updated_at \
                 RETURNING {PUBLISHED_CAMPAIGN_COLUMNS}"
            ),
            self.v(),
            CampaignId::new().as_uuid(),
            external_id.as_str(),
            content.window.starts_on(),
            content.window.ends_on(),
            Json(&content.audience),
            Json(content),
            at
        )?
        .ok_or_else(|| StoreError::not_found("campaign", external_id))?;
        if campaign.created_at == at {
            on_tx!(tx, c => {
                sqlx::query(
                    "INSERT INTO content_announcements (vendor_id, id, campaign_id, after, created_at) \
                     VALUES ($1, $2, $3, NULL, $4)",
                )
                .bind(self.v())
                .bind(Uuid::now_v7())
                .bind(campaign.id.as_uuid())
                .bind(at)
                .execute(&mut *c)
                .await?;
            });
        }
        tx.commit().await?;
        Ok(campaign)
    }

    /// A page of this vendor's campaigns by external id, after `after`.
    pub async fn campaigns_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PublishedCampaign>, StoreError> {
        select!(
            all,
            PublishedCampaignRow,
            read(self),
            &format!(
                "SELECT {PUBLISHED_CAMPAIGN_COLUMNS} FROM published_campaigns \
                 WHERE vendor_id = $1 AND ($2 IS NULL OR external_id > $2) \
                 ORDER BY external_id LIMIT $3"
            ),
            self.v(),
            after,
            i64::from(limit.min(MAX_PAGE))
        )
    }

    /// Every campaign of this vendor, by external id.
    pub async fn campaigns(&self) -> Result<Vec<PublishedCampaign>, StoreError> {
        self.all_pages(
            |after| async move { self.campaigns_page(after.as_deref(), MAX_PAGE).await },
            |c| c.external_id.to_string(),
        )
        .await
    }

    /// One campaign of this vendor, by its external id.
    pub async fn campaign(
        &self,
        external_id: &ExternalId,
    ) -> Result<PublishedCampaign, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let c = self.campaign_in(&mut tx, external_id).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn campaign_in(
        &self,
        tx: &mut Tx,
        external_id: &ExternalId,
    ) -> Result<PublishedCampaign, StoreError> {
        let row: Option<PublishedCampaign> = select!(
            optional,
            PublishedCampaignRow,
            *tx,
            &format!(
                "SELECT {PUBLISHED_CAMPAIGN_COLUMNS} FROM published_campaigns \
                 WHERE vendor_id = $1 AND external_id = $2"
            ),
            self.v(),
            external_id.as_str()
        )?;
        row.ok_or_else(|| StoreError::not_found("campaign", external_id))
    }

    /// Archives a campaign: its activations stop taking leads.
    pub async fn archive_campaign(
        &self,
        external_id: &ExternalId,
    ) -> Result<PublishedCampaign, StoreError> {
        let row: Option<PublishedCampaign> = select!(
            optional,
            PublishedCampaignRow,
            write(self),
            &format!(
                "UPDATE published_campaigns SET status = $3, updated_at = $4 \
                 WHERE vendor_id = $1 AND external_id = $2 RETURNING {PUBLISHED_CAMPAIGN_COLUMNS}"
            ),
            self.v(),
            external_id.as_str(),
            CampaignStatus::Archived.as_str(),
            now()
        )?;
        row.ok_or_else(|| StoreError::not_found("campaign", external_id))
    }

    /// How many actively linked workspaces activated this vendor's campaign,
    /// and how many leads its landing pages captured. Counts only: no lead
    /// data.
    pub async fn campaign_counts(
        &self,
        external_id: &ExternalId,
    ) -> Result<(u64, u64), StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let campaign = self.campaign_in(&mut tx, external_id).await?;
        let (n, leads): (i64, i64) = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT COUNT(a.id), CAST(COALESCE(SUM(a.lead_count), 0) AS BIGINT) \
                 FROM campaign_activations a JOIN vendor_links l \
                   ON l.workspace_id = a.workspace_id AND l.vendor_id = a.vendor_id AND l.status = 'active' \
                 WHERE a.vendor_id = $1 AND a.campaign_id = $2",
            )
            .bind(self.v())
            .bind(campaign.id.as_uuid())
            .fetch_one(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok((
            u64::try_from(n).unwrap_or_default(),
            u64::try_from(leads).unwrap_or_default(),
        ))
    }

    // ---- assets ---------------------------------------------------------

    /// Publishes (creates or replaces) an asset.
    pub async fn publish_asset(
        &self,
        external_id: &ExternalId,
        content: &AssetContent,
    ) -> Result<PublishedAsset, StoreError> {
        let row: Option<PublishedAsset> = select!(
            optional,
            PublishedAssetRow,
            write(self),
            &format!(
                "INSERT INTO published_assets (vendor_id, id, external_id, kind, audience, content, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (vendor_id, external_id) DO UPDATE SET \
                   kind = excluded.kind, audience = excluded.audience, content = excluded.content, \
                   updated_at = excluded.updated_at \
                 RETURNING {PUBLISHED_ASSET_COLUMNS}"
            ),
            self.v(),
            AssetId::new().as_uuid(),
            external_id.as_str(),
            content.kind.as_str(),
            Json(&content.audience),
            Json(content),
            now()
        )?;
        row.ok_or_else(|| StoreError::not_found("asset", external_id))
    }

    /// A page of this vendor's assets by external id, after `after`.
    pub async fn assets_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PublishedAsset>, StoreError> {
        select!(
            all,
            PublishedAssetRow,
            read(self),
            &format!(
                "SELECT {PUBLISHED_ASSET_COLUMNS} FROM published_assets \
                 WHERE vendor_id = $1 AND ($2 IS NULL OR external_id > $2) \
                 ORDER BY external_id LIMIT $3"
            ),
            self.v(),
            after,
            i64::from(limit.min(MAX_PAGE))
        )
    }

    /// Every asset of this vendor, by external id.
    pub async fn assets(&self) -> Result<Vec<PublishedAsset>, StoreError> {
        self.all_pages(
            |after| async move { self.assets_page(after.as_deref(), MAX_PAGE).await },
            |a| a.external_id.to_string(),
        )
        .await
    }

    /// One asset of this vendor.
    pub async fn asset(&self, external_id: &ExternalId) -> Result<PublishedAsset, StoreError> {
        let row: Option<PublishedAsset> = select!(
            optional,
            PublishedAssetRow,
            read(self),
            &format!(
                "SELECT {PUBLISHED_ASSET_COLUMNS} FROM published_assets WHERE vendor_id = $1 AND external_id = $2"
            ),
            self.v(),
            external_id.as_str()
        )?;
        row.ok_or_else(|| StoreError::not_found("asset", external_id))
    }

    /// Withdraws an asset from every partner.
    pub async fn delete_asset(&self, external_id: &ExternalId) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query("DELETE FROM published_assets WHERE vendor_id = $1 AND external_id = $2")
                .bind(self.v())
                .bind(external_id.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::not_found("asset", external_id));
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- price lists ----------------------------------------------------

    /// Publishes a price list's terms and its complete set of items,
    /// atomically: items not in `items` are removed.
    pub async fn publish_price_list(
        &self,
        external_id: &ExternalId,
        terms: &PriceListTerms,
        items: &[PriceItemInput],
    ) -> Result<PublishedPriceList, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let list = self.upsert_list(&mut tx, external_id, terms).await?;
        self.replace_published_items(&mut tx, &list, items).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Creates or replaces a price list's terms, keeping its items
    /// (re-denominated when the currency changes).
    pub async fn put_price_list_terms(
        &self,
        external_id: &ExternalId,
        terms: &PriceListTerms,
    ) -> Result<PublishedPriceList, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let list = self.upsert_list(&mut tx, external_id, terms).await?;
        on_tx!(tx, c => {
            sqlx::query("UPDATE published_price_items SET currency = $3 WHERE vendor_id = $1 AND price_list_id = $2 AND currency <> $3")
                .bind(self.v())
                .bind(list.id.as_uuid())
                .bind(terms.currency.code())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await?;
        Ok(list)
    }

    /// Replaces the complete set of items of an existing price list,
    /// atomically. Returns how many items it holds.
    pub async fn put_price_list_items(
        &self,
        external_id: &ExternalId,
        items: &[PriceItemInput],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let list = self.list_in(&mut tx, external_id).await?;
        self.replace_published_items(&mut tx, &list, items).await?;
        tx.commit().await?;
        Ok(items.len() as u64)
    }

    /// Upserts and deletes items of an existing price list by SKU,
    /// atomically: all of `changes` or none. A SKU may appear once.
    pub async fn patch_price_list_items(
        &self,
        external_id: &ExternalId,
        changes: &[PriceItemChange],
    ) -> Result<ItemsChanged, StoreError> {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = changes.iter().find(|c| !seen.insert(c.sku().as_str())) {
            return Err(StoreError::Conflict(format!(
                "SKU {} appears twice in the changes",
                dup.sku()
            )));
        }
        let mut tx = self.begin(Access::Write).await?;
        let list = self.list_in(&mut tx, external_id).await?;
        let upserts: Vec<&PriceItemInput> = changes
            .iter()
            .filter_map(|c| match c {
                PriceItemChange::Upsert(i) => Some(i),
                PriceItemChange::Delete(_) => None,
            })
            .collect();
        let deletes: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                PriceItemChange::Delete(s) => Some(s.as_str()),
                PriceItemChange::Upsert(_) => None,
            })
            .collect();
        let mut out = ItemsChanged::default();
        for chunk in deletes.chunks(PRICE_ITEM_CHUNK) {
            let n = on_tx!(tx, c => {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "DELETE FROM published_price_items WHERE vendor_id = ",
                );
                q.push_bind(self.v())
                    .push(" AND price_list_id = ")
                    .push_bind(list.id.as_uuid())
                    .push(" AND sku IN (");
                let mut sep = q.separated(", ");
                for sku in chunk {
                    sep.push_bind(*sku);
                }
                q.push(")");
                q.build().execute(&mut *c).await?.rows_affected()
            });
            out.deleted += n;
        }
        self.insert_items(&mut tx, &list, &upserts, true).await?;
        out.upserted = upserts.len() as u64;
        self.touch_list(&mut tx, &list).await?;
        out.total = self.count_items(&mut tx, &list).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// This vendor's price list `external_id`, in `tx`.
    async fn list_in(
        &self,
        tx: &mut Tx,
        external_id: &ExternalId,
    ) -> Result<PublishedPriceList, StoreError> {
        let row: Option<PublishedPriceList> = select!(
            optional,
            PublishedListRow,
            *tx,
            &format!(
                "SELECT {PUBLISHED_LIST_COLUMNS} FROM published_price_lists WHERE vendor_id = $1 AND external_id = $2"
            ),
            self.v(),
            external_id.as_str()
        )?;
        row.ok_or_else(|| StoreError::not_found("price list", external_id))
    }

    /// Creates the price list or replaces its terms, in `tx`.
    async fn upsert_list(
        &self,
        tx: &mut Tx,
        external_id: &ExternalId,
        terms: &PriceListTerms,
    ) -> Result<PublishedPriceList, StoreError> {
        let row: Option<PublishedPriceList> = select!(
            optional,
            PublishedListRow,
            *tx,
            &format!(
                "INSERT INTO published_price_lists (vendor_id, id, external_id, currency, terms, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (vendor_id, external_id) DO UPDATE SET \
                   currency = excluded.currency, terms = excluded.terms, updated_at = excluded.updated_at \
                 RETURNING {PUBLISHED_LIST_COLUMNS}"
            ),
            self.v(),
            PriceListId::new().as_uuid(),
            external_id.as_str(),
            terms.currency.code(),
            Json(terms),
            now()
        )?;
        row.ok_or_else(|| StoreError::not_found("price list", external_id))
    }

    /// Moves the list's `updated_at`: partners' pricing caches key on it.
    async fn touch_list(&self, tx: &mut Tx, list: &PublishedPriceList) -> Result<(), StoreError> {
        on_tx!(*tx, c => {
            sqlx::query("UPDATE published_price_lists SET updated_at = $3 WHERE vendor_id = $1 AND id = $2")
                .bind(self.v())
                .bind(list.id.as_uuid())
                .bind(now())
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    async fn count_items(&self, tx: &mut Tx, list: &PublishedPriceList) -> Result<u64, StoreError> {
        let n: i64 = on_tx!(*tx, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM published_price_items WHERE vendor_id = $1 AND price_list_id = $2",
            )
            .bind(self.v())
            .bind(list.id.as_uuid())
            .fetch_one(&mut *c)
            .await?
        });
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn replace_published_items(
        &self,
        tx: &mut Tx,
        list: &PublishedPriceList,
        items: &[PriceItemInput],
    ) -> Result<(), StoreError> {
        on_tx!(*tx, c => {
            sqlx::query("DELETE FROM published_price_items WHERE vendor_id = $1 AND price_list_id = $2")
                .bind(self.v())
                .bind(list.id.as_uuid())
                .execute(&mut *c)
                .await?;
        });
        let refs: Vec<&PriceItemInput> = items.iter().collect();
        self.insert_items(tx, list, &refs, false).await?;
        self.touch_list(tx, list).await
    }

    /// Writes `items` into the list, a multi-row statement per chunk;
    /// `upsert` replaces items with the same SKU, otherwise a repeated SKU
    /// is a conflict.
    async fn insert_items(
        &self,
        tx: &mut Tx,
        list: &PublishedPriceList,
        items: &[&PriceItemInput],
        upsert: bool,
    ) -> Result<(), StoreError> {
        let currency = list.terms.currency;
        for chunk in items.chunks(PRICE_ITEM_CHUNK) {
            on_tx!(*tx, c => {
                let mut insert = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO published_price_items (vendor_id, price_list_id, sku, id, name, category, list_price, currency, item) ",
                );
                insert.push_values(chunk, |mut row, item| {
                    row.push_bind(self.v())
                        .push_bind(list.id.as_uuid())
                        .push_bind(item.sku.as_str())
                        .push_bind(PriceItemId::new().as_uuid())
                        .push_bind(item.name.as_str())
                        .push_bind(item.category.as_ref().map(|c| c.as_str()))
                        .push_bind(DbDecimal(item.list_price.value()))
                        .push_bind(currency.code())
                        .push_bind(Json(*item));
                });
                if upsert {
                    insert.push(
                        " ON CONFLICT (vendor_id, price_list_id, sku) DO UPDATE SET \
                         name = excluded.name, category = excluded.category, \
                         list_price = excluded.list_price, currency = excluded.currency, item = excluded.item",
                    );
                }
                insert
                    .build()
                    .execute(&mut *c)
                    .await
                    .map_err(|e| {
                        StoreError::conflict_on_unique(e, || {
                            let all: Vec<PriceItemInput> = items.iter().map(|i| (*i).clone()).collect();
                            let chunk: Vec<PriceItemInput> = chunk.iter().map(|i| (*i).clone()).collect();
                            duplicate_sku(&chunk, &all)
                        })
                    })?;
            });
        }
        Ok(())
    }

    /// A page of this vendor's price lists by external id, after `after`.
    pub async fn price_lists_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PublishedPriceList>, StoreError> {
        select!(
            all,
            PublishedListRow,
            read(self),
            &format!(
                "SELECT {PUBLISHED_LIST_COLUMNS} FROM published_price_lists \
                 WHERE vendor_id = $1 AND ($2 IS NULL OR external_id > $2) \
                 ORDER BY external_id LIMIT $3"
            ),
            self.v(),
            after,
            i64::from(limit.min(MAX_PAGE))
        )
    }

    /// Every price list of this vendor, by external id.
    pub async fn price_lists(&self) -> Result<Vec<PublishedPriceList>, StoreError> {
        self.all_pages(
            |after| async move { self.price_lists_page(after.as_deref(), MAX_PAGE).await },
            |l| l.external_id.to_string(),
        )
        .await
    }

    /// One price list of this vendor.
    pub async fn price_list(
        &self,
        external_id: &ExternalId,
    ) -> Result<PublishedPriceList, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let list = self.list_in(&mut tx, external_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// A page of one price list's items by SKU, after `after`.
    pub async fn price_list_items(
        &self,
        external_id: &ExternalId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PublishedPriceItem>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let list = self.list_in(&mut tx, external_id).await?;
        let rows: Vec<PublishedPriceItem> = select!(
            all,
            PublishedItemRow,
            tx,
            &format!(
                "SELECT {PUBLISHED_ITEM_COLUMNS} FROM published_price_items \
                 WHERE vendor_id = $1 AND price_list_id = $2 AND ($3 IS NULL OR sku > $3) \
                 ORDER BY sku LIMIT $4"
            ),
            self.v(),
            list.id.as_uuid(),
            after,
            i64::from(limit)
        )?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Every item of every price list of this vendor.
    pub async fn price_items(&self) -> Result<Vec<PublishedPriceItem>, StoreError> {
        select!(
            all,
            PublishedItemRow,
            read(self),
            &format!(
                "SELECT {PUBLISHED_ITEM_COLUMNS} FROM published_price_items \
                 WHERE vendor_id = $1 ORDER BY price_list_id, sku"
            ),
            self.v()
        )
    }

    /// Reads page after page with `page` (given the cursor of the last row
    /// so far, by `cursor`) until a short page.
    async fn all_pages<T, F, Fut>(
        &self,
        page: F,
        cursor: impl Fn(&T) -> String,
    ) -> Result<Vec<T>, StoreError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<Vec<T>, StoreError>>,
    {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let rows = page(after.clone()).await?;
            let done = rows.len() < MAX_PAGE as usize;
            after = rows.last().map(&cursor);
            all.extend(rows);
            if done || after.is_none() {
                return Ok(all);
            }
        }
    }
}

/// Whether a linked partner with `link` sees content for `audience`.
pub(crate) fn reaches(link: &VendorLink, audience: &Audience) -> bool {
    audience.includes(link.tier, link.partner_type, &link.regions)
}
