//! Announcing what vendors publish: a new campaign is told to the partners
//! in its audience after the publishing transaction commits, a batch of
//! workspaces per transaction, from the `content_announcements` outbox.
//! Several servers may work it at once: each batch claims its
//! announcement (on PostgreSQL with `SKIP LOCKED`), and its cursor moves in
//! the same transaction as the notifications it wrote, so none is told
//! twice.

use onepane_domain::activity::*;
use onepane_domain::campaign::*;
use onepane_domain::text::*;
use onepane_domain::workspace::VendorLink;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::*;
use crate::scope::vendor::content::reaches;
use crate::tables::links::*;
use crate::tables::published::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

/// Workspaces looked at per announcement batch.
pub const ANNOUNCE_BATCH: u32 = 1_000;

impl SystemStore {
    /// Works one batch of the oldest pending announcement: notifies the
    /// next `batch` active partners of its vendor that are in the
    /// campaign's audience. Returns how many were notified, or `None` when
    /// nothing is pending.
    pub async fn announce_content(&self, batch: u32) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let lock = if tx.is_sqlite() {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        let due: Option<(Uuid, Uuid, Uuid, Option<Uuid>)> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT vendor_id, id, campaign_id, after FROM content_announcements \
                 ORDER BY created_at LIMIT 1{lock}"
            ))
            .fetch_optional(&mut *c)
            .await?
        });
        let Some((vendor, id, campaign_id, after)) = due else {
            tx.commit().await?;
            return Ok(None);
        };
        let campaign: Option<PublishedCampaign> = select!(
            optional,
            PublishedCampaignRow,
            tx,
            &format!(
                "SELECT {PUBLISHED_CAMPAIGN_COLUMNS} FROM published_campaigns WHERE vendor_id = $1 AND id = $2"
            ),
            vendor,
            campaign_id
        )?;
        let links: Vec<VendorLink> = match &campaign {
            Some(c) if c.status == CampaignStatus::Published => select!(
                all,
                LinkRow,
                tx,
                &format!(
                    "SELECT {LINK_COLUMNS} FROM vendor_links \
                     WHERE vendor_id = $1 AND status = 'active' AND ($2 IS NULL OR workspace_id > $2) \
                     ORDER BY workspace_id LIMIT $3"
                ),
                vendor,
                after,
                i64::from(batch)
            )?,
            _ => Vec::new(),
        };
        let mut told = 0;
        if let Some(c) = &campaign {
            let reached: Vec<&VendorLink> = links
                .iter()
                .filter(|l| reaches(l, &c.content.audience))
                .collect();
            let name = c.content.variants.first().name.clone();
            let title =
                Name::parse(&format!("New campaign: {name}")).unwrap_or_else(|_| name.clone());
            let link = format!("/campaigns/{}", c.id);
            let args = serde_json::json!({ "name": name.as_str() });
            let at = now();
            // 500 rows of 10 parameters stay under both backends' bind limits.
            for chunk in reached.chunks(500) {
                on_tx!(tx, conn => {
                    let mut insert = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO notifications (workspace_id, id, kind, vendor_id, title, body, link, args, read_at, created_at) ",
                    );
                    insert.push_values(chunk, |mut row, l| {
                        row.push_bind(l.workspace_id.as_uuid())
                            .push_bind(NotificationId::new().as_uuid())
                            .push_bind(NotificationKind::NewCampaign.as_str())
                            .push_bind(vendor)
                            .push_bind(title.as_str())
                            .push_bind(None::<String>)
                            .push_bind(link.as_str())
                            .push_bind(Json(&args))
                            .push_bind(None::<chrono::DateTime<chrono::Utc>>)
                            .push_bind(at);
                    });
                    insert.build().execute(&mut *conn).await?;
                });
                told += chunk.len() as u64;
            }
        }
        let done = (links.len() as u64) < u64::from(batch);
        on_tx!(tx, c => {
            if done {
                sqlx::query("DELETE FROM content_announcements WHERE vendor_id = $1 AND id = $2")
                    .bind(vendor)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
            } else {
                sqlx::query("UPDATE content_announcements SET after = $3 WHERE vendor_id = $1 AND id = $2")
                    .bind(vendor)
                    .bind(id)
                    .bind(links.last().map(|l| l.workspace_id.as_uuid()))
                    .execute(&mut *c)
                    .await?;
            }
        });
        tx.commit().await?;
        Ok(Some(told))
    }

    /// Works every pending announcement to the end; how many partners
    /// were notified.
    pub async fn announce_all(&self) -> Result<u64, StoreError> {
        let mut told = 0;
        while let Some(n) = self.announce_content(ANNOUNCE_BATCH).await? {
            told += n;
        }
        Ok(told)
    }
}
