//! Notifications for a workspace's members.

use chrono::{DateTime, Utc};
use onepane_domain::activity::*;
use onepane_domain::text::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::*;
use crate::tx::{Tx, on_tx};
use crate::{StoreError, now};

pub(crate) const NOTIFICATION_COLUMNS: &str =
    "workspace_id, id, kind, vendor_id, title, body, link, args, read_at, created_at";

table_row! {
    NotificationRow => Notification {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        id: Uuid => NotificationId::from_uuid(id),
        kind: String => parse("notification", &kind)?,
        vendor_id: Option<Uuid> => vendor_id.map(VendorId::from_uuid),
        title: String => parse::<Name>("notification", &title)?,
        body: Option<String> => parse_opt::<LongText>("notification", body.as_deref())?,
        link: Option<String>,
        args: Option<Json<serde_json::Value>> => args.map_or_else(|| serde_json::json!({}), |a| a.0),
        read_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    }
}

/// Writes a notification for a workspace in `tx`.
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
        args: new.args.clone(),
        read_at: None,
        created_at: now(),
    };
    on_tx!(*tx, c => {
        sqlx::query(&format!(
            "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $9, NULL, $8)"
        ))
        .bind(ws.as_uuid())
        .bind(n.id.as_uuid())
        .bind(n.kind.as_str())
        .bind(n.vendor_id.map(|v| v.as_uuid()))
        .bind(n.title.as_str())
        .bind(n.body.as_ref().map(|b| b.as_str()))
        .bind(n.link.as_deref())
        .bind(n.created_at)
        .bind(Json(&n.args))
        .execute(&mut *c)
        .await?;
    });
    Ok(n)
}
