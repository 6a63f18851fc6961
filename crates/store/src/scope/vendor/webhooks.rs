//! A vendor's webhook subscription and delivery log.

use onepane_domain::activity::*;
use onepane_domain::*;

use crate::rows::select;
use crate::tables::webhooks::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::VendorStore;

impl VendorStore {
    /// The vendor's webhook subscription, if any.
    pub async fn webhook(&self) -> Result<Option<WebhookSubscription>, StoreError> {
        select!(
            optional,
            SubscriptionRow,
            read(self),
            "SELECT url, events, created_at, updated_at FROM webhook_subscriptions WHERE vendor_id = $1",
            self.vendor_id().as_uuid()
        )
    }

    /// Creates or replaces the subscription. A new sealed secret replaces the
    /// old one; without one, the existing secret stays (and there must be one).
    pub async fn put_webhook(
        &self,
        url: &str,
        events: &[WebhookEvent],
        sealed_secret: Option<&[u8]>,
    ) -> Result<WebhookSubscription, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let events_text = event_list(events);
        let row: Option<SubscriptionRow> = on_tx!(tx, c => {
            match sealed_secret {
                Some(secret) => sqlx::query_as(
                    "INSERT INTO webhook_subscriptions (vendor_id, url, events, sealed_secret, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) \
                     ON CONFLICT (vendor_id) DO UPDATE SET url = excluded.url, events = excluded.events, \
                     sealed_secret = excluded.sealed_secret, updated_at = excluded.updated_at \
                     RETURNING url, events, created_at, updated_at",
                )
                .bind(self.vendor_id().as_uuid())
                .bind(url)
                .bind(&events_text)
                .bind(secret)
                .bind(at)
                .fetch_optional(&mut *c)
                .await?,
                None => sqlx::query_as(
                    "UPDATE webhook_subscriptions SET url = $2, events = $3, updated_at = $4 \
                     WHERE vendor_id = $1 RETURNING url, events, created_at, updated_at",
                )
                .bind(self.vendor_id().as_uuid())
                .bind(url)
                .bind(&events_text)
                .bind(at)
                .fetch_optional(&mut *c)
                .await?,
            }
        });
        let row =
            row.ok_or_else(|| StoreError::not_found("webhook subscription", self.vendor_id()))?;
        tx.commit().await?;
        row.try_into()
    }

    /// Removes the subscription; events stop being delivered.
    pub async fn delete_webhook(&self) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query("DELETE FROM webhook_subscriptions WHERE vendor_id = $1")
                .bind(self.vendor_id().as_uuid())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n > 0)
    }

    /// The delivery log, newest first.
    pub async fn webhook_deliveries(
        &self,
        filter: DeliveryFilter,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        select!(
            all,
            DeliveryRow,
            read(self),
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE vendor_id = $1 \
                 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3) \
                 ORDER BY id DESC LIMIT $4"
            ),
            self.vendor_id().as_uuid(),
            filter.status.map(DeliveryStatus::as_str),
            filter.before.map(|b| b.as_uuid()),
            i64::from(filter.limit)
        )
    }

    /// One delivery.
    pub async fn webhook_delivery(
        &self,
        id: WebhookDeliveryId,
    ) -> Result<WebhookDelivery, StoreError> {
        select!(
            optional,
            DeliveryRow,
            read(self),
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE vendor_id = $1 AND id = $2"
            ),
            self.vendor_id().as_uuid(),
            id.as_uuid()
        )?
        .ok_or_else(|| StoreError::not_found("webhook delivery", id))
    }

    /// Puts a dead delivery back in line for an attempt now.
    pub async fn redeliver(&self, id: WebhookDeliveryId) -> Result<WebhookDelivery, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<WebhookDelivery> = select!(
            optional,
            DeliveryRow,
            tx,
            &format!(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3 \
                 WHERE vendor_id = $1 AND id = $2 AND status = 'dead' RETURNING {DELIVERY_COLUMNS}"
            ),
            self.vendor_id().as_uuid(),
            id.as_uuid(),
            now()
        )?;
        tx.commit().await?;
        match row {
            Some(delivery) => Ok(delivery),
            None => {
                let existing = self.webhook_delivery(id).await?;
                Err(StoreError::Rule(format!(
                    "delivery {id} is {}; only a dead delivery can be redelivered",
                    existing.status.as_str()
                )))
            }
        }
    }
}
