//! A member's own mail choices (the daily digest, urgent leads) and the
//! time zone mail and pages tell it times in.

use chrono::{DateTime, Utc};
use onepane_domain::mail::{MailPreferences, TimeZone};
use onepane_domain::*;

use crate::rows::parse_opt;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

/// What mail a member wants, and its time zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailSettings {
    /// The mail it wants.
    pub preferences: MailPreferences,
    /// Its time zone; `None`: not chosen yet (times are told in UTC).
    pub time_zone: Option<TimeZone>,
}

impl PartnerStore {
    /// A member's mail choices and time zone (nothing chosen: no mail).
    pub async fn mail_settings(&self, user: UserId) -> Result<MailSettings, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let prefs: Option<(bool, bool)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT daily_digest, urgent_leads FROM mail_preferences \
                 WHERE workspace_id = $1 AND user_id = $2",
            )
            .bind(self.ws())
            .bind(user.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        let zone: Option<(Option<String>,)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT u.time_zone FROM users u JOIN memberships m ON m.user_id = u.id \
                 WHERE m.workspace_id = $1 AND u.id = $2",
            )
            .bind(self.ws())
            .bind(user.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        let Some((time_zone,)) = zone else {
            return Err(StoreError::not_found("member", user));
        };
        Ok(MailSettings {
            preferences: prefs
                .map(|(daily_digest, urgent_leads)| MailPreferences {
                    daily_digest,
                    urgent_leads,
                })
                .unwrap_or_default(),
            time_zone: parse_opt("user", time_zone.as_deref())?,
        })
    }

    /// Sets a member's mail choices and time zone. The choices' `updated_at`
    /// moves only when the urgent-lead choice changes: urgent leads are
    /// those that arrive after it was turned on, so saving the digest
    /// choice loses none that arrived in between.
    pub async fn set_mail_settings(
        &self,
        user: UserId,
        settings: &MailSettings,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at: DateTime<Utc> = now();
        let updated = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE users SET time_zone = $2 WHERE id = $1 AND EXISTS \
                 (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.workspace_id = $3)",
            )
            .bind(user.as_uuid())
            .bind(settings.time_zone.map(|z| z.as_str()))
            .bind(self.ws())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if updated != 1 {
            return Err(StoreError::not_found("member", user));
        }
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO mail_preferences (workspace_id, user_id, daily_digest, urgent_leads, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (workspace_id, user_id) DO UPDATE SET \
                 daily_digest = excluded.daily_digest, urgent_leads = excluded.urgent_leads, \
                 updated_at = CASE WHEN mail_preferences.urgent_leads = excluded.urgent_leads \
                                   THEN mail_preferences.updated_at ELSE excluded.updated_at END",
            )
            .bind(self.ws())
            .bind(user.as_uuid())
            .bind(settings.preferences.daily_digest)
            .bind(settings.preferences.urgent_leads)
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }
}
