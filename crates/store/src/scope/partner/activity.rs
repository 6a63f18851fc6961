//! A workspace's notifications and audit log.

use onepane_domain::activity::*;
use onepane_domain::*;

use crate::AuditFilter;
use crate::rows::select;
use crate::tables::audit::*;
use crate::tables::notifications::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

impl PartnerStore {
    /// Adds a notification for the workspace's members.
    pub async fn notify(&self, new: &NewNotification) -> Result<Notification, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = insert_notification(&mut tx, self.workspace_id, new).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Notifications, newest first.
    pub async fn notifications(&self, unread_only: bool) -> Result<Vec<Notification>, StoreError> {
        select!(
            all,
            NotificationRow,
            read(self),
            &format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE workspace_id = $1 \
                 AND (NOT $2 OR read_at IS NULL) ORDER BY id DESC LIMIT 200"
            ),
            self.ws(),
            unread_only
        )
    }

    /// Marks a notification read.
    pub async fn mark_notification_read(&self, id: NotificationId) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let done = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE workspace_id = $1 AND id = $2",
            )
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::not_found("notification", id));
        }
        tx.commit().await
    }

    /// Appends to the audit log. A workspace records what its own people
    /// and Onepane did; vendors and the operator write their entries
    /// through their own scopes.
    pub async fn record(&self, event: AuditEvent) -> Result<AuditEvent, StoreError> {
        if !matches!(event.actor, Actor::User(_) | Actor::System) {
            return Err(StoreError::Rule(
                "a workspace records only its users' and the system's actions".into(),
            ));
        }
        if event.workspace_id != self.workspace_id {
            return Err(StoreError::not_found("workspace", event.workspace_id));
        }
        let mut tx = self.begin(Access::Write).await?;
        insert_audit(&mut tx, std::slice::from_ref(&event)).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// A page of the audit log, newest first.
    pub async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let limit = i64::from(filter.limit.clamp(1, 1000));
        select!(
            all,
            AuditRow,
            read(self),
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE workspace_id = $1 \
                 AND ($2 IS NULL OR (actor_type = 'vendor' AND actor_id = $2)) \
                 AND ($3 IS NULL OR subject_kind = $3) \
                 AND ($4 IS NULL OR id < $4) \
                 ORDER BY id DESC LIMIT $5"
            ),
            self.ws(),
            filter.vendor.map(|v| v.as_uuid()),
            filter.subject_kind.as_deref(),
            filter.before.map(|b| b.as_uuid()),
            limit
        )
    }
}
