//! Prices in a workspace: linked vendors' price lists, and its own sell rules and exchange rates.

use onepane_domain::price::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::StoreError;
use crate::codec::DbDecimal;
use crate::rows::select;
use crate::tables::prefixed;
use crate::tables::prices::*;
use crate::tables::workspaces::*;
use crate::tx::{Access, Tx, on_tx};

use super::{PartnerStore, PricingData};

impl PartnerStore {
    /// Price lists of actively linked vendors.
    pub async fn price_lists(&self) -> Result<Vec<PriceList>, StoreError> {
        select!(
            all,
            PriceListRow,
            read(self),
            &format!(
                "SELECT {} FROM workspace_price_lists p JOIN vendor_links l \
                   ON l.workspace_id = p.workspace_id AND l.vendor_id = p.vendor_id AND l.status IN ('active', 'paused') \
                 WHERE p.workspace_id = $1 ORDER BY p.id",
                prefixed("p", PRICE_LIST_COLUMNS)
            ),
            self.ws()
        )
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
        let links = self.visible_links(tx).await?;
        let list_rows: Vec<PriceList> = select!(
            all,
            PriceListRow,
            *tx,
            &format!(
                "SELECT {PRICE_LIST_COLUMNS} FROM workspace_price_lists WHERE workspace_id = $1 ORDER BY id"
            ),
            self.ws()
        )?;
        let sell_rules = self.sell_rules_in(tx).await?;
        let rates = self.rates_in(tx).await?;
        let lists: Vec<PriceList> = list_rows;
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
        let item_rows: Vec<PriceItem> = select!(
            all,
            PriceItemRow,
            tx,
            &format!(
                "SELECT {PRICE_ITEM_COLUMNS} FROM workspace_price_items WHERE workspace_id = $1 ORDER BY sku, id"
            ),
            self.ws()
        )?;
        tx.commit().await?;
        let items: Vec<PriceItem> = item_rows;
        data.items = items
            .into_iter()
            .filter(|i| data.tiers.contains_key(&i.vendor_id))
            .collect();
        Ok(data)
    }

    /// The items of the price lists `lists` (of actively linked vendors),
    /// by SKU: what pricing reads again when only those lists changed.
    pub async fn pricing_items(&self, lists: &[PriceListId]) -> Result<Vec<PriceItem>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let tiers = self.visible_links(&mut tx).await?;
        let mut out = Vec::new();
        for chunk in lists.chunks(crate::tables::LOOKUP_CHUNK) {
            let rows: Vec<PriceItemRow> = on_tx!(tx, c => {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "SELECT {PRICE_ITEM_COLUMNS} FROM workspace_price_items WHERE workspace_id = "
                ));
                q.push_bind(self.ws()).push(" AND price_list_id IN (");
                let mut sep = q.separated(", ");
                for l in chunk {
                    sep.push_bind(l.as_uuid());
                }
                q.push(") ORDER BY sku, id");
                q.build_query_as().fetch_all(&mut *c).await?
            });
            for row in rows {
                let item = PriceItem::try_from(row)?;
                if tiers.contains_key(&item.vendor_id) {
                    out.push(item);
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The items of one price list, by SKU.
    pub async fn price_items(
        &self,
        price_list_id: PriceListId,
    ) -> Result<Vec<PriceItem>, StoreError> {
        select!(
            all,
            PriceItemRow,
            read(self),
            &format!(
                "SELECT {PRICE_ITEM_COLUMNS} FROM workspace_price_items WHERE workspace_id = $1 AND price_list_id = $2 ORDER BY sku"
            ),
            self.ws(),
            price_list_id.as_uuid()
        )
    }

    /// The workspace's sell rules.
    pub async fn sell_rules(&self) -> Result<Vec<SellRule>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rules = self.sell_rules_in(&mut tx).await?;
        tx.commit().await?;
        Ok(rules)
    }

    async fn sell_rules_in(&self, tx: &mut Tx) -> Result<Vec<SellRule>, StoreError> {
        let rows: Vec<SellRule> = select!(
            all,
            SellRuleRow,
            *tx,
            "SELECT workspace_id, id, vendor_id, category, method, percent FROM sell_rules \
                 WHERE workspace_id = $1 ORDER BY id",
            self.ws()
        )?;
        Ok(rows)
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
        let rows: Vec<ExchangeRate> = select!(
            all,
            RateRow,
            *tx,
            "SELECT base, quote, as_of, rate FROM exchange_rates WHERE workspace_id = $1 \
                 ORDER BY as_of DESC, base, quote",
            self.ws()
        )?;
        Ok(rows)
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
}
