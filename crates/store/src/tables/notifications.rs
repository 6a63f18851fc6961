//! Notifications for a workspace's members.

use chrono::{DateTime, Utc};
use onepane_domain::activity::*;
use onepane_domain::text::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tx::{Tx, on_tx};
use crate::{StoreError, now};

pub(crate) const NOTIFICATION_COLUMNS: &str =
    "workspace_id, id, kind, vendor_id, title, body, link, read_at, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    workspace_id: Uuid,
    id: Uuid,
    kind: String,
    vendor_id: Option<Uuid>,
    title: String,
    body: Option<String>,
    link: Option<String>,
    read_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;
    fn try_from(r: NotificationRow) -> Result<Self, StoreError> {
        Ok(Notification {
            id: NotificationId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            kind: parse("notification", &r.kind)?,
            vendor_id: r.vendor_id.map(VendorId::from_uuid),
            title: parse::<Name>("notification", &r.title)?,
            body: parse_opt::<LongText>("notification", r.body.as_deref())?,
            link: r.link,
            read_at: r.read_at,
            created_at: r.created_at,
        })
    }
}

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
        read_at: None,
        created_at: now(),
    };
    on_tx!(*tx, c => {
        sqlx::query(&format!(
            "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)"
        ))
        .bind(ws.as_uuid())
        .bind(n.id.as_uuid())
        .bind(n.kind.as_str())
        .bind(n.vendor_id.map(|v| v.as_uuid()))
        .bind(n.title.as_str())
        .bind(n.body.as_ref().map(|b| b.as_str()))
        .bind(n.link.as_deref())
        .bind(n.created_at)
        .execute(&mut *c)
        .await?;
    });
    Ok(n)
}
