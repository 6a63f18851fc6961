//! A workspace's notifications and audit log.

use onepane_domain::activity::*;
use onepane_domain::*;

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

    /// Appends to the audit log.
    pub async fn record(
        &self,
        actor: Actor,
        action: &str,
        subject: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<AuditEvent, StoreError> {
        // A workspace records what its own people and Onepane did; vendors
        // and the operator write their entries through their own scopes.
        if !matches!(actor, Actor::User(_) | Actor::System) {
            return Err(StoreError::Rule(
                "a workspace records only its users' and the system's actions".into(),
            ));
        }
        let mut tx = self.begin(Access::Write).await?;
        let event = AuditEvent {
            id: AuditEventId::new(),
            workspace_id: self.workspace_id,
            actor,
            action: action.to_owned(),
            subject: subject.map(str::to_owned),
            detail,
            at: now(),
        };
        insert_audit(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(event)
    }

    /// The audit log, newest first.
    pub async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        select!(
            all,
            AuditRow,
            read(self),
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE workspace_id = $1 ORDER BY id DESC LIMIT 500"
            ),
            self.ws()
        )
    }
}
