//! The portal's logins: passwords, browser sessions, throttles, password
//! resets, invitations and the public landing pages. Logging in happens
//! before a workspace is known, so this is the system scope's.

use chrono::{DateTime, Utc};
use onepane_domain::campaign::*;
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tables::accounts::*;
use crate::tables::campaigns::*;
use crate::tables::workspaces::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

impl SystemStore {
    /// The user with this email, for the login form.
    pub async fn login_subject(&self, email: &Email) -> Result<Option<LoginSubject>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<(Uuid, Option<String>)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT u.id, p.phc FROM users u LEFT JOIN user_passwords p ON p.user_id = u.id \
                 WHERE u.email = $1",
            )
            .bind(email.as_str())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(row.map(|(id, phc)| LoginSubject {
            user_id: UserId::from_uuid(id),
            phc,
        }))
    }

    /// Sets a user's password (an argon2id PHC string).
    pub async fn set_password(&self, user_id: UserId, phc: &str) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        put_password(&mut tx, user_id, phc).await?;
        tx.commit().await
    }

    /// The workspaces a user is a member of, by name.
    pub async fn memberships_of(&self, user_id: UserId) -> Result<Vec<MemberOf>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(Uuid, String, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT w.id, w.name, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
                 WHERE m.user_id = $1 ORDER BY w.name, w.id",
            )
            .bind(user_id.as_uuid())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(id, name, role)| {
                Ok(MemberOf {
                    workspace_id: WorkspaceId::from_uuid(id),
                    name: parse("workspace", &name)?,
                    role: parse("membership", &role)?,
                })
            })
            .collect()
    }

    /// Starts a session (the user must be a member of the workspace).
    pub async fn create_session(&self, new: &NewWebSession<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 AND expires_at <= $2")
                .bind(new.user_id.as_uuid())
                .bind(at)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO web_sessions (digest, user_id, workspace_id, csrf, created_at, seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6)",
            )
            .bind(new.digest)
            .bind(new.user_id.as_uuid())
            .bind(new.workspace_id.as_uuid())
            .bind(new.csrf)
            .bind(at)
            .bind(new.expires_at)
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, || "the session exists".to_owned()))?;
        });
        tx.commit().await
    }

    /// The live session with this digest. A session idle for longer than
    /// twelve hours, or past its end, is gone. Its use is noted at most once
    /// a minute.
    pub async fn session(&self, digest: &[u8]) -> Result<Option<WebSession>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let at = now();
        let row: Option<SessionRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT s.user_id, u.email, u.display_name, u.created_at AS user_created_at, \
                        u.locale AS user_locale, u.time_zone AS user_time_zone, w.id AS workspace_id, w.name, w.home_currency, \
                        w.locale, w.created_at, m.role, s.csrf, s.seen_at, s.expires_at \
                 FROM web_sessions s \
                 JOIN users u ON u.id = s.user_id \
                 JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id \
                 JOIN workspaces w ON w.id = s.workspace_id \
                 WHERE s.digest = $1 AND s.expires_at > $2 AND s.seen_at > $3",
            )
            .bind(digest)
            .bind(at)
            .bind(at - IDLE)
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        let Some(r) = row else { return Ok(None) };
        if at - r.seen_at > chrono::Duration::minutes(1) {
            let mut tx = self.begin(Access::Write).await?;
            on_tx!(tx, c => {
                sqlx::query("UPDATE web_sessions SET seen_at = $2 WHERE digest = $1")
                    .bind(digest)
                    .bind(at)
                    .execute(&mut *c)
                    .await?;
            });
            tx.commit().await?;
        }
        Ok(Some(WebSession {
            user: User {
                id: UserId::from_uuid(r.user_id),
                email: parse("user", &r.email)?,
                display_name: r
                    .display_name
                    .as_deref()
                    .map(|n| parse("user", n))
                    .transpose()?,
                created_at: r.user_created_at,
            },
            locale: r
                .user_locale
                .as_deref()
                .map(|l| parse("user", l))
                .transpose()?,
            // A zone this build no longer knows is told as UTC rather than
            // locking the member out.
            time_zone: r
                .user_time_zone
                .as_deref()
                .and_then(|z| mail::TimeZone::parse(z).ok()),
            workspace: Workspace {
                id: WorkspaceId::from_uuid(r.workspace_id),
                name: parse("workspace", &r.name)?,
                home_currency: parse("workspace", &r.home_currency)?,
                locale: parse("workspace", &r.locale)?,
                created_at: r.created_at,
            },
            role: parse("membership", &r.role)?,
            csrf: r.csrf,
            expires_at: r.expires_at,
        }))
    }

    /// Moves a session to another of its user's workspaces; false when the
    /// user is not a member there (or the session is gone).
    pub async fn switch_workspace(
        &self,
        digest: &[u8],
        workspace_id: WorkspaceId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let moved = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE web_sessions SET workspace_id = $2 WHERE digest = $1 AND EXISTS \
                 (SELECT 1 FROM memberships m WHERE m.workspace_id = $2 AND m.user_id = web_sessions.user_id)",
            )
            .bind(digest)
            .bind(workspace_id.as_uuid())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(moved == 1)
    }

    /// Ends a session.
    pub async fn end_session(&self, digest: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM web_sessions WHERE digest = $1")
                .bind(digest)
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// How many events each key had since `since`.
    pub async fn throttle_counts(
        &self,
        keys: &[&str],
        since: DateTime<Utc>,
    ) -> Result<Vec<u64>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let mut counts = Vec::with_capacity(keys.len());
        for key in keys {
            let n: i64 = on_tx!(tx, c => {
                sqlx::query_scalar("SELECT COUNT(*) FROM throttle_events WHERE key = $1 AND at > $2")
                    .bind(*key)
                    .bind(since)
                    .fetch_one(&mut *c)
                    .await?
            });
            counts.push(u64::try_from(n).unwrap_or(0));
        }
        tx.commit().await?;
        Ok(counts)
    }

    /// Records an event under each key, and forgets events older than
    /// `keep_since` under them.
    pub async fn throttle_record(
        &self,
        keys: &[&str],
        keep_since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        for key in keys {
            on_tx!(tx, c => {
                sqlx::query("DELETE FROM throttle_events WHERE key = $1 AND at <= $2")
                    .bind(*key)
                    .bind(keep_since)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("INSERT INTO throttle_events (key, at) VALUES ($1, $2)")
                    .bind(*key)
                    .bind(at)
                    .execute(&mut *c)
                    .await?;
            });
        }
        tx.commit().await
    }

    /// Forgets the events under a key (an account's failures, once it logs in).
    pub async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM throttle_events WHERE key = $1")
                .bind(key)
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// Stores a password-reset link for the user with this email; `None`
    /// when there is no such user (the caller says the same either way).
    pub async fn create_password_reset(
        &self,
        email: &Email,
        digest: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let user: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(email.as_str())
                .fetch_optional(&mut *c)
                .await?
        });
        let Some(user) = user else {
            tx.commit().await?;
            return Ok(None);
        };
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO password_resets (digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(digest)
            .bind(user)
            .bind(now())
            .bind(expires_at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(Some(UserId::from_uuid(user)))
    }

    /// Whether a password-reset link is live (unused, unexpired).
    pub async fn password_reset_live(&self, digest: &[u8]) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let found: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT user_id FROM password_resets WHERE digest = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(digest)
            .bind(now())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(found.is_some())
    }

    /// Uses a password-reset link once: sets the password, ends every
    /// session of the user and forgets its login failures. `None` when the
    /// link is used, expired or unknown.
    pub async fn use_password_reset(
        &self,
        digest: &[u8],
        phc: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let user: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar(
                "UPDATE password_resets SET used_at = $2 \
                 WHERE digest = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
            )
            .bind(digest)
            .bind(at)
            .fetch_optional(&mut *c)
            .await?
        });
        let Some(user) = user.map(UserId::from_uuid) else {
            tx.commit().await?;
            return Ok(None);
        };
        put_password(&mut tx, user, phc).await?;
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
                .bind(user.as_uuid())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await?;
        Ok(Some(user))
    }

    /// The live invitation behind a link.
    pub async fn invitation(&self, digest: &[u8]) -> Result<Option<Invitation>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<InvitationRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT i.workspace_id, w.name, i.email, i.role, i.expires_at, u.id \
                 FROM invitations i JOIN workspaces w ON w.id = i.workspace_id \
                 LEFT JOIN users u ON u.email = i.email \
                 WHERE i.digest = $1 AND i.accepted_at IS NULL AND i.expires_at > $2",
            )
            .bind(digest)
            .bind(now())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.map(|(ws, name, email, role, expires_at, user)| {
            Ok(Invitation {
                workspace_id: WorkspaceId::from_uuid(ws),
                workspace_name: parse("workspace", &name)?,
                email: parse("invitation", &email)?,
                role: parse("invitation", &role)?,
                user_exists: user.is_some(),
                expires_at,
            })
        })
        .transpose()
    }

    /// Accepts an invitation once: the user (created when new, with
    /// `new_password` as its password) becomes a member with the role.
    /// `None` when the link is used, expired or unknown.
    pub async fn accept_invitation(
        &self,
        digest: &[u8],
        new_password: Option<&str>,
        display_name: Option<&Name>,
    ) -> Result<Option<(UserId, WorkspaceId)>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let row: Option<(Uuid, String, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "UPDATE invitations SET accepted_at = $2 \
                 WHERE digest = $1 AND accepted_at IS NULL AND expires_at > $2 \
                 RETURNING workspace_id, email, role",
            )
            .bind(digest)
            .bind(at)
            .fetch_optional(&mut *c)
            .await?
        });
        let Some((ws, email, role)) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let user: Uuid = on_tx!(tx, c => {
            sqlx::query_scalar(
                "INSERT INTO users (id, email, display_name, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id",
            )
            .bind(UserId::new().as_uuid())
            .bind(&email)
            .bind(display_name.map(Name::as_str))
            .bind(at)
            .fetch_one(&mut *c)
            .await?
        });
        let user = UserId::from_uuid(user);
        if let Some(phc) = new_password {
            put_password(&mut tx, user, phc).await?;
        }
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, user_id) DO NOTHING",
            )
            .bind(ws)
            .bind(user.as_uuid())
            .bind(&role)
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(Some((user, WorkspaceId::from_uuid(ws))))
    }

    /// The landing page at a slug: an activated campaign that is still
    /// live (an archived campaign's page is gone).
    pub async fn landing_page(&self, slug: &str) -> Result<Option<LandingPage>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let activation: Option<CampaignActivation> = select!(
            optional,
            ActivationRow,
            tx,
            &format!("SELECT {ACTIVATION_COLUMNS} FROM campaign_activations WHERE slug = $1"),
            slug
        )?;
        let Some(activation) = activation else {
            tx.commit().await?;
            return Ok(None);
        };
        let ws = activation.workspace_id.as_uuid();
        let campaign: Option<Campaign> = select!(
            optional,
            CampaignRow,
            tx,
            &format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM workspace_campaigns WHERE workspace_id = $1 AND id = $2"
            ),
            ws,
            activation.campaign_id.as_uuid()
        )?;
        let workspace: Option<Workspace> = select!(
            optional,
            WorkspaceRow,
            tx,
            "SELECT id, name, home_currency, locale, created_at FROM workspaces WHERE id = $1",
            ws
        )?;
        let vendor: Option<String> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT name FROM vendors WHERE id = $1")
                .bind(activation.vendor_id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        let profile = read_profile(&mut tx, activation.workspace_id).await?;
        tx.commit().await?;
        let (Some(campaign), Some(workspace), Some(vendor)) = (campaign, workspace, vendor) else {
            return Ok(None);
        };
        if campaign.status == CampaignStatus::Archived {
            return Ok(None);
        }
        Ok(Some(LandingPage {
            activation,
            campaign,
            vendor_name: parse("vendor", &vendor)?,
            workspace,
            profile,
        }))
    }
}
