//! The clock told by mail: who wants which mail, and the `mail_outbox`
//! that sends each mail once whatever the number of replicas.
//!
//! A replica claims a mail by inserting its key (a digest: the member's
//! local date; an urgent lead: the lead's id); only the replica whose
//! insert took the row sends it. A claim left unsent (its replica died, or
//! sending failed) is taken over once it is stale, atomically, by one
//! replica; after [`MAIL_ATTEMPTS`] tries the mail is given up, and the
//! row keeps the last error. A replica that dies after the SMTP server
//! took a mail but before marking it sent leaves it to be sent again: a
//! mail goes at least once, and exactly once unless a replica dies in
//! that moment.

use chrono::{DateTime, Duration, Utc};
use onepane_domain::lead::Lead;
use onepane_domain::mail::{MailKind, MailPreferences, TimeZone, URGENT_LEAD_HOURS, is_urgent};
use onepane_domain::text::{Email, Locale, Name};
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tables::leads::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

/// How many times a mail is tried before it is given up.
pub const MAIL_ATTEMPTS: i32 = 5;

/// A member who wants mail, with what the sender needs to write to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMember {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The workspace's name.
    pub workspace_name: Name,
    /// The member.
    pub user_id: UserId,
    /// Where its mail goes.
    pub email: Email,
    /// Its language: its own choice, else its workspace's.
    pub locale: Locale,
    /// Its time zone; UTC when it chose none.
    pub time_zone: TimeZone,
    /// What mail it wants.
    pub preferences: MailPreferences,
    /// When the urgent-lead choice last changed: urgent leads are those
    /// that arrived after it.
    pub since: DateTime<Utc>,
    /// The key of its latest digest, sent or not (its local date).
    pub last_digest_key: Option<String>,
    /// When its latest digest that went out went out.
    pub last_digest_sent: Option<DateTime<Utc>>,
}

/// A claimed mail: this replica sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailClaim {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The member.
    pub user_id: UserId,
    /// What mail.
    pub kind: MailKind,
    /// Which one: the local date of a digest, the id of an urgent lead.
    pub key: String,
    /// The how-manieth try this is.
    pub attempt: i32,
}

/// A new urgent lead a member wants mail about and has not had.
#[derive(Debug, Clone, PartialEq)]
pub struct UrgentLead {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The member to tell.
    pub user_id: UserId,
    /// The lead.
    pub lead: Lead,
}

type MemberRow = (
    Uuid,
    String,
    Uuid,
    String,
    Option<String>,
    String,
    Option<String>,
    bool,
    bool,
    DateTime<Utc>,
    Option<String>,
    Option<DateTime<Utc>>,
);

const MEMBER_SELECT: &str = "SELECT p.workspace_id, w.name, p.user_id, u.email, u.locale, w.locale, u.time_zone, \
        p.daily_digest, p.urgent_leads, p.updated_at, \
        (SELECT max(o.key) FROM mail_outbox o WHERE o.workspace_id = p.workspace_id \
            AND o.user_id = p.user_id AND o.kind = 'digest') AS last_key, \
        (SELECT max(o.sent_at) FROM mail_outbox o WHERE o.workspace_id = p.workspace_id \
            AND o.user_id = p.user_id AND o.kind = 'digest' AND o.sent_at IS NOT NULL) AS last_sent \
     FROM mail_preferences p \
     JOIN users u ON u.id = p.user_id \
     JOIN workspaces w ON w.id = p.workspace_id";

fn member(row: MemberRow) -> Result<MailMember, StoreError> {
    let (ws, name, user, email, own, workspace, zone, digest, urgent, since, last_key, last_sent) =
        row;
    Ok(MailMember {
        workspace_id: WorkspaceId::from_uuid(ws),
        workspace_name: parse("workspace", &name)?,
        user_id: UserId::from_uuid(user),
        email: parse("user", &email)?,
        locale: parse("user", own.as_deref().unwrap_or(&workspace))?,
        // A stored zone the database no longer knows tells times in UTC
        // rather than stopping the member's mail.
        time_zone: zone
            .as_deref()
            .and_then(|z| TimeZone::parse(z).ok())
            .unwrap_or(TimeZone::UTC),
        preferences: MailPreferences {
            daily_digest: digest,
            urgent_leads: urgent,
        },
        since,
        last_digest_key: last_key,
        last_digest_sent: last_sent,
    })
}

impl SystemStore {
    /// The members who want mail of `kind`.
    pub async fn mail_members(&self, kind: MailKind) -> Result<Vec<MailMember>, StoreError> {
        let column = match kind {
            MailKind::Digest => "p.daily_digest",
            MailKind::UrgentLead => "p.urgent_leads",
        };
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<MemberRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("{MEMBER_SELECT} WHERE {column} ORDER BY p.workspace_id, p.user_id"))
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        rows.into_iter().map(member).collect()
    }

    /// One member, whatever it wants (`None`: it never chose, or is no
    /// longer a member).
    pub async fn mail_member(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
    ) -> Result<Option<MailMember>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<MemberRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("{MEMBER_SELECT} WHERE p.workspace_id = $1 AND p.user_id = $2"))
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        row.map(member).transpose()
    }

    /// Claims a mail: true when this call's insert took it (and so this
    /// replica sends it), false when it was claimed already.
    pub async fn claim_mail(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        kind: MailKind,
        key: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let taken = on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO mail_outbox (workspace_id, user_id, kind, key, claimed_at, attempts) \
                 VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT DO NOTHING",
            )
            .bind(workspace_id.as_uuid())
            .bind(user_id.as_uuid())
            .bind(kind.as_str())
            .bind(key)
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(taken == 1)
    }

    /// Takes over the claims left unsent since before `stale_before` that
    /// have tries left: each goes to exactly one caller, its try counted.
    pub async fn take_over_mail(
        &self,
        stale_before: DateTime<Utc>,
    ) -> Result<Vec<MailClaim>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let rows: Vec<(Uuid, Uuid, String, String, i32)> = on_tx!(tx, c => {
            sqlx::query_as(
                "UPDATE mail_outbox SET claimed_at = $1, attempts = attempts + 1 \
                 WHERE sent_at IS NULL AND claimed_at < $2 AND attempts < $3 \
                 RETURNING workspace_id, user_id, kind, key, attempts",
            )
            .bind(now())
            .bind(stale_before)
            .bind(MAIL_ATTEMPTS)
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(ws, user, kind, key, attempt)| {
                Ok(MailClaim {
                    workspace_id: WorkspaceId::from_uuid(ws),
                    user_id: UserId::from_uuid(user),
                    kind: parse("mail", &kind)?,
                    key,
                    attempt,
                })
            })
            .collect()
    }

    /// Marks a claimed mail sent (or settled without sending: an empty
    /// digest, a lead answered meanwhile).
    pub async fn mail_sent(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        kind: MailKind,
        key: &str,
    ) -> Result<(), StoreError> {
        self.settle_mail(workspace_id, user_id, kind, key, None)
            .await
    }

    /// Records why a claimed mail was not sent; it is tried again once its
    /// claim is stale, until its tries run out.
    pub async fn mail_failed(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        kind: MailKind,
        key: &str,
        error: &str,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(1_000).collect();
        self.settle_mail(workspace_id, user_id, kind, key, Some(&error))
            .await
    }

    async fn settle_mail(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        kind: MailKind,
        key: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE mail_outbox SET sent_at = $5, error = $6 \
                 WHERE workspace_id = $1 AND user_id = $2 AND kind = $3 AND key = $4",
            )
            .bind(workspace_id.as_uuid())
            .bind(user_id.as_uuid())
            .bind(kind.as_str())
            .bind(key)
            .bind(error.is_none().then(now))
            .bind(error)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// The new urgent leads not yet mailed to the members who want them:
    /// vendors' leads still new whose answer-by time is under 48 hours
    /// after they arrived and still ahead at `at`, that arrived after the
    /// member turned the choice on.
    pub async fn urgent_leads(&self, at: DateTime<Utc>) -> Result<Vec<UrgentLead>, StoreError> {
        let members = self.mail_members(MailKind::UrgentLead).await?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        // An urgent lead still ahead arrived under 48 hours ago.
        let window = at - Duration::hours(URGENT_LEAD_HOURS);
        let mut tx = self.begin(Access::Read).await?;
        let leads: Vec<Lead> = select!(
            all,
            LeadRow,
            tx,
            &format!(
                "SELECT {LEAD_COLUMNS} FROM leads l WHERE status = 'new' AND respond_by IS NOT NULL \
                 AND respond_by > $1 AND created_at > $2 \
                 AND EXISTS (SELECT 1 FROM mail_preferences p WHERE p.workspace_id = l.workspace_id \
                             AND p.urgent_leads) \
                 ORDER BY created_at LIMIT 5000"
            ),
            at,
            window
        )?;
        let told: Vec<(Uuid, Uuid, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT workspace_id, user_id, key FROM mail_outbox \
                 WHERE kind = 'urgent-lead' AND claimed_at > $1",
            )
            .bind(window)
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        let told: std::collections::HashSet<(Uuid, Uuid, String)> = told.into_iter().collect();
        let mut out = Vec::new();
        for lead in leads {
            let Some(respond_by) = lead.respond_by else {
                continue;
            };
            if !is_urgent(lead.created_at, respond_by) {
                continue;
            }
            for m in members.iter().filter(|m| {
                m.workspace_id == lead.workspace_id
                    && lead.created_at >= m.since
                    && !told.contains(&(
                        m.workspace_id.as_uuid(),
                        m.user_id.as_uuid(),
                        lead.id.to_string(),
                    ))
            }) {
                out.push(UrgentLead {
                    workspace_id: m.workspace_id,
                    user_id: m.user_id,
                    lead: lead.clone(),
                });
            }
        }
        Ok(out)
    }

    /// A lead, for the mail about it.
    pub async fn lead_for_mail(
        &self,
        workspace_id: WorkspaceId,
        lead_id: LeadId,
    ) -> Result<Option<Lead>, StoreError> {
        select!(
            optional,
            LeadRow,
            read(self),
            &format!("SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND id = $2"),
            workspace_id.as_uuid(),
            lead_id.as_uuid()
        )
    }

    /// Turns one kind of mail off for a member (a signed unsubscribe link
    /// was used); false when the member has no choices (any more).
    pub async fn unsubscribe(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        kind: MailKind,
    ) -> Result<bool, StoreError> {
        // As in the member's own settings, `updated_at` follows the
        // urgent-lead choice.
        let set = match kind {
            MailKind::Digest => "daily_digest = $3",
            MailKind::UrgentLead => "urgent_leads = $3, updated_at = $4",
        };
        let mut tx = self.begin(Access::Write).await?;
        let changed = on_tx!(tx, c => {
            sqlx::query(&format!(
                "UPDATE mail_preferences SET {set} WHERE workspace_id = $1 AND user_id = $2"
            ))
            .bind(workspace_id.as_uuid())
            .bind(user_id.as_uuid())
            .bind(false)
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(changed == 1)
    }
}
