//! The partner portal's accounts: passwords, browser sessions, throttles,
//! password resets, invitations, and the public landing pages.
//!
//! Logging in happens before a workspace is known, so most of this is the
//! system scope's; a workspace invites its own members and keeps its own
//! profile.

use chrono::{DateTime, Utc};
use onepane_domain::campaign::{Campaign, CampaignActivation, CampaignStatus};
use onepane_domain::text::{Email, Locale, Name};
use onepane_domain::workspace::{User, Workspace};
use onepane_domain::*;
use uuid::Uuid;

use crate::access::SystemStore;
use crate::partner::{ACTIVATION_COLUMNS, CAMPAIGN_COLUMNS, PartnerStore};
use crate::rows::*;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

/// A user as the login form finds it.
#[derive(Debug, Clone)]
pub struct LoginSubject {
    /// The user.
    pub user_id: UserId,
    /// Its argon2id PHC string, when it has set a password.
    pub phc: Option<String>,
}

/// A workspace a user is a member of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberOf {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Its name.
    pub name: Name,
    /// The user's role there.
    pub role: Role,
}

/// What a browser session is, as each request sees it.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// Who is logged in.
    pub user: User,
    /// The user's own language, when set.
    pub locale: Option<Locale>,
    /// The workspace the session acts in.
    pub workspace: Workspace,
    /// The user's role there.
    pub role: Role,
    /// The session's CSRF token, embedded in every form.
    pub csrf: String,
    /// When the session ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// A new browser session.
#[derive(Debug, Clone)]
pub struct NewWebSession<'a> {
    /// The digest of the cookie's token.
    pub digest: &'a [u8],
    /// Who logged in.
    pub user_id: UserId,
    /// The workspace it starts in.
    pub workspace_id: WorkspaceId,
    /// The CSRF token.
    pub csrf: &'a str,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// An invitation, as its link shows it.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The workspace invited to.
    pub workspace_id: WorkspaceId,
    /// Its name.
    pub workspace_name: Name,
    /// Who is invited.
    pub email: Email,
    /// With what role.
    pub role: Role,
    /// Whether a user with this email exists already (and logs in with
    /// its own password rather than choosing one).
    pub user_exists: bool,
    /// Until when the link works.
    pub expires_at: DateTime<Utc>,
}

/// A pending invitation, as the workspace lists it.
#[derive(Debug, Clone)]
pub struct PendingInvitation {
    /// Who is invited.
    pub email: Email,
    /// With what role.
    pub role: Role,
    /// Until when the link works.
    pub expires_at: DateTime<Utc>,
}

/// What a workspace's landing pages show of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceProfile {
    /// The person to contact.
    pub contact_name: Option<String>,
    /// The email to write to.
    pub contact_email: Option<String>,
    /// The phone to call.
    pub contact_phone: Option<String>,
    /// The partner's website.
    pub website: Option<String>,
    /// Its logo (an https URL).
    pub logo_url: Option<String>,
}

/// A public landing page: an activated campaign in its workspace.
#[derive(Debug, Clone)]
pub struct LandingPage {
    /// The activation (its slug is the page's address).
    pub activation: CampaignActivation,
    /// The vendor's campaign.
    pub campaign: Campaign,
    /// The vendor's name.
    pub vendor_name: Name,
    /// The partner's workspace.
    pub workspace: Workspace,
    /// The partner's public profile.
    pub profile: WorkspaceProfile,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: Uuid,
    email: String,
    display_name: Option<String>,
    user_created_at: DateTime<Utc>,
    user_locale: Option<String>,
    workspace_id: Uuid,
    name: String,
    home_currency: String,
    locale: String,
    created_at: DateTime<Utc>,
    role: String,
    csrf: String,
    seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    contact_name: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
    website: Option<String>,
    logo_url: Option<String>,
}

impl From<ProfileRow> for WorkspaceProfile {
    fn from(r: ProfileRow) -> Self {
        WorkspaceProfile {
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            contact_phone: r.contact_phone,
            website: r.website,
            logo_url: r.logo_url,
        }
    }
}

/// An invitation as read: workspace, its name, email, role, expiry, and
/// the user with that email if one exists.
type InvitationRow = (Uuid, String, String, String, DateTime<Utc>, Option<Uuid>);

/// How long an idle session lives: each request within it extends it.
const IDLE: chrono::Duration = chrono::Duration::hours(12);

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
                        u.locale AS user_locale, w.id AS workspace_id, w.name, w.home_currency, \
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
        let activation: Option<ActivationRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {ACTIVATION_COLUMNS} FROM campaign_activations WHERE slug = $1"
            ))
            .bind(slug)
            .fetch_optional(&mut *c)
            .await?
        });
        let Some(activation) = activation.map(CampaignActivation::try_from).transpose()? else {
            tx.commit().await?;
            return Ok(None);
        };
        let ws = activation.workspace_id.as_uuid();
        let campaign: Option<CampaignRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(ws)
            .bind(activation.campaign_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        let workspace: Option<WorkspaceRow> = on_tx!(tx, c => {
            sqlx::query_as("SELECT id, name, home_currency, locale, created_at FROM workspaces WHERE id = $1")
                .bind(ws)
                .fetch_optional(&mut *c)
                .await?
        });
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
        let campaign = Campaign::try_from(campaign)?;
        if campaign.status == CampaignStatus::Archived {
            return Ok(None);
        }
        Ok(Some(LandingPage {
            activation,
            campaign,
            vendor_name: parse("vendor", &vendor)?,
            workspace: workspace.try_into()?,
            profile,
        }))
    }
}

async fn put_password(tx: &mut Tx, user_id: UserId, phc: &str) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO user_passwords (user_id, phc, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET phc = excluded.phc, updated_at = excluded.updated_at",
        )
        .bind(user_id.as_uuid())
        .bind(phc)
        .bind(now())
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

async fn read_profile(tx: &mut Tx, ws: WorkspaceId) -> Result<WorkspaceProfile, StoreError> {
    let row: Option<ProfileRow> = on_tx!(*tx, c => {
        sqlx::query_as(
            "SELECT contact_name, contact_email, contact_phone, website, logo_url \
             FROM workspace_profiles WHERE workspace_id = $1",
        )
        .bind(ws.as_uuid())
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(row.map(Into::into).unwrap_or_default())
}

impl PartnerStore {
    /// Invites someone to the workspace by a link (the digest of its token).
    pub async fn invite(
        &self,
        email: &Email,
        role: Role,
        digest: &[u8],
        invited_by: Option<UserId>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO invitations (workspace_id, digest, email, role, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(digest)
            .bind(email.as_str())
            .bind(role.as_str())
            .bind(invited_by.map(|u| u.as_uuid()))
            .bind(now())
            .bind(expires_at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Invitations not yet accepted and not expired.
    pub async fn pending_invitations(&self) -> Result<Vec<PendingInvitation>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(String, String, DateTime<Utc>)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT email, role, expires_at FROM invitations \
                 WHERE workspace_id = $1 AND accepted_at IS NULL AND expires_at > $2 ORDER BY email",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(now())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(email, role, expires_at)| {
                Ok(PendingInvitation {
                    email: parse("invitation", &email)?,
                    role: parse("invitation", &role)?,
                    expires_at,
                })
            })
            .collect()
    }

    /// The workspace's public profile.
    pub async fn profile(&self) -> Result<WorkspaceProfile, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let profile = read_profile(&mut tx, self.workspace_id()).await?;
        tx.commit().await?;
        Ok(profile)
    }

    /// Replaces the workspace's public profile.
    pub async fn put_profile(&self, profile: &WorkspaceProfile) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO workspace_profiles \
                 (workspace_id, contact_name, contact_email, contact_phone, website, logo_url, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (workspace_id) DO UPDATE SET contact_name = excluded.contact_name, \
                 contact_email = excluded.contact_email, contact_phone = excluded.contact_phone, \
                 website = excluded.website, logo_url = excluded.logo_url, updated_at = excluded.updated_at",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(profile.contact_name.as_deref())
            .bind(profile.contact_email.as_deref())
            .bind(profile.contact_phone.as_deref())
            .bind(profile.website.as_deref())
            .bind(profile.logo_url.as_deref())
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Sets a member's own language (`None`: follow the browser).
    pub async fn set_user_locale(
        &self,
        user_id: UserId,
        locale: Option<&Locale>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE users SET locale = $2 WHERE id = $1 AND EXISTS \
                 (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.workspace_id = $3)",
            )
            .bind(user_id.as_uuid())
            .bind(locale.map(Locale::as_str))
            .bind(self.workspace_id().as_uuid())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }
}

impl PartnerStore {
    /// Changes a member's role. The workspace keeps at least one owner.
    pub async fn set_member_role(&self, user_id: UserId, role: Role) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let ws = self.workspace_id().as_uuid();
        let current = member_role(&mut tx, ws, user_id).await?;
        if current == Role::Owner.as_str() && role != Role::Owner {
            ensure_another_owner(&mut tx, ws, user_id).await?;
        }
        on_tx!(tx, c => {
            sqlx::query("UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws)
                .bind(user_id.as_uuid())
                .bind(role.as_str())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// Removes a member: its access tokens and sessions in this workspace
    /// go with it. The workspace keeps at least one owner.
    pub async fn remove_member(&self, user_id: UserId) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let ws = self.workspace_id().as_uuid();
        let current = member_role(&mut tx, ws, user_id).await?;
        if current == Role::Owner.as_str() {
            ensure_another_owner(&mut tx, ws, user_id).await?;
        }
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM access_tokens WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws)
                .bind(user_id.as_uuid())
                .execute(&mut *c)
                .await?;
            sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws)
                .bind(user_id.as_uuid())
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }
}

/// A member's role, read in `tx`; not found when it is no member.
async fn member_role(tx: &mut Tx, ws: Uuid, user_id: UserId) -> Result<String, StoreError> {
    let role: Option<String> = on_tx!(*tx, c => {
        sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws)
            .bind(user_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
    });
    role.ok_or_else(|| StoreError::not_found("member", user_id))
}

async fn ensure_another_owner(tx: &mut Tx, ws: Uuid, user_id: UserId) -> Result<(), StoreError> {
    let others: i64 = on_tx!(*tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND role = 'owner' AND user_id <> $2",
        )
        .bind(ws)
        .bind(user_id.as_uuid())
        .fetch_one(&mut *c)
        .await?
    });
    if others == 0 {
        return Err(StoreError::Rule(
            "the workspace needs another owner first".to_owned(),
        ));
    }
    Ok(())
}
