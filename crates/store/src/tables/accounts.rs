//! The people who log in to the portal: users, their memberships and
//! passwords, browser sessions, and invitations to a workspace.

use chrono::{DateTime, Utc};
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tx::{Tx, on_tx};
use crate::{StoreError, now};

table_row! {
    UserRow => User {
        id: Uuid => UserId::from_uuid(id),
        email: String => parse("user", &email)?,
        display_name: Option<String> => parse_opt("user", display_name.as_deref())?,
        created_at: DateTime<Utc>,
    }
}

table_row! {
    MembershipRow => Membership {
        workspace_id: Uuid => WorkspaceId::from_uuid(workspace_id),
        user_id: Uuid => UserId::from_uuid(user_id),
        email: String => parse("membership", &email)?,
        role: String => parse("membership", &role)?,
        created_at: DateTime<Utc>,
    }
}

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
    /// The user's time zone, when set (else times are told in UTC).
    pub time_zone: Option<mail::TimeZone>,
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

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) user_id: Uuid,
    pub(crate) email: String,
    pub(crate) display_name: Option<String>,
    pub(crate) user_created_at: DateTime<Utc>,
    pub(crate) user_locale: Option<String>,
    pub(crate) user_time_zone: Option<String>,
    pub(crate) workspace_id: Uuid,
    pub(crate) name: String,
    pub(crate) home_currency: String,
    pub(crate) locale: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) role: String,
    pub(crate) csrf: String,
    pub(crate) seen_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
}

/// An invitation as read: workspace, its name, email, role, expiry, and
/// the user with that email if one exists.
pub(crate) type InvitationRow = (Uuid, String, String, String, DateTime<Utc>, Option<Uuid>);

/// How long an idle session lives: each request within it extends it.
/// A web session ends after this long without a request.
pub(crate) const IDLE: chrono::Duration = chrono::Duration::hours(12);

/// The user with this email, created when new.
pub(crate) async fn upsert_user(tx: &mut Tx, email: &Email) -> Result<User, StoreError> {
    let row: UserRow = on_tx!(*tx, c => {
        sqlx::query_as(
            "INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (email) DO UPDATE SET email = excluded.email \
             RETURNING id, email, display_name, created_at",
        )
        .bind(UserId::new().as_uuid())
        .bind(email.as_str())
        .bind(now())
        .fetch_one(&mut *c)
        .await?
    });
    row.try_into()
}

/// Makes a user a member of a workspace with `role`, or changes the role.
pub(crate) async fn add_member(
    tx: &mut Tx,
    workspace_id: WorkspaceId,
    user_id: UserId,
    role: Role,
) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(workspace_id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(role.as_str())
        .bind(now())
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Sets a user's password hash (PHC string).
pub(crate) async fn put_password(
    tx: &mut Tx,
    user_id: UserId,
    phc: &str,
) -> Result<(), StoreError> {
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

/// A member's role, read in `tx`; not found when it is no member.
pub(crate) async fn member_role(
    tx: &mut Tx,
    ws: Uuid,
    user_id: UserId,
) -> Result<String, StoreError> {
    let role: Option<String> = on_tx!(*tx, c => {
        sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws)
            .bind(user_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
    });
    role.ok_or_else(|| StoreError::not_found("member", user_id))
}

/// Refuses when `user_id` is the workspace's only owner.
pub(crate) async fn ensure_another_owner(
    tx: &mut Tx,
    ws: Uuid,
    user_id: UserId,
) -> Result<(), StoreError> {
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
