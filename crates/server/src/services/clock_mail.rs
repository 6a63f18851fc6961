//! The clock, told before it passes: each member who chose it gets a daily
//! digest (what falls due in the next seven days, what was missed since
//! the last digest) once its local morning comes, and mail at once when a
//! vendor sends a lead to answer within 48 hours. Every replica runs the
//! sender; the store's `mail_outbox` lets exactly one of them send each
//! mail (see [`onepane_store::SystemStore::claim_mail`]).
//!
//! Every mail says times in the member's time zone, names the zone, is in
//! the member's language, and carries a signed one-click unsubscribe link
//! ([`UnsubscribeLinks`]) in its body and in the RFC 8058 headers.
//!
//! A digest with nothing in it (nothing missed, nothing due within the
//! week) is not sent: its day is still claimed and marked done, so the
//! member is not mailed "nothing to do" and not asked again that day.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Timelike as _, Utc};
use hmac::{Hmac, Mac as _};
use onepane_domain::clock::{ClockFilter, Deadline};
use onepane_domain::lead::{Lead, LeadStatus};
use onepane_domain::mail::{DIGEST_DAYS, MailKind};
use onepane_domain::{LeadId, UserId, VendorId, WorkspaceId};
use onepane_store::{MailClaim, MailMember, Store, StoreError};
use sha2::Sha256;
use uuid::Uuid;

use crate::mail::Mailer;
use crate::secret_key::SecretKey;

/// The local hour from which a member's digest goes out, by default.
pub const DEFAULT_DIGEST_HOUR: u32 = 7;

/// How often each replica looks for mail to send, by default.
pub const DEFAULT_INTERVAL: StdDuration = StdDuration::from_secs(60);

/// A claim not marked sent after this long is taken over (its replica
/// died, or sending failed and is tried again).
pub const STALE_CLAIM: Duration = Duration::minutes(10);

type HmacSha256 = Hmac<Sha256>;

/// The version byte a token starts with.
const TOKEN_VERSION: u8 = 1;

/// Version, workspace, member, kind, HMAC-SHA256 tag.
const TOKEN_LEN: usize = 1 + 16 + 16 + 1 + 32;

/// Makes and checks unsubscribe links: a stateless token, the HMAC-SHA256
/// (under a key derived from the server's secret key) of the workspace,
/// the member and the kind of mail. Every replica with the same secret
/// key checks every other's links; nothing is stored.
#[derive(Clone)]
pub struct UnsubscribeLinks {
    key: [u8; 32],
}

impl std::fmt::Debug for UnsubscribeLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsubscribeLinks(..)")
    }
}

/// What a valid unsubscribe token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The member.
    pub user_id: UserId,
    /// The mail to stop.
    pub kind: MailKind,
}

/// Why an unsubscribe token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefused {
    /// Not a token of this shape at all.
    #[error("not an unsubscribe token")]
    Malformed,
    /// The right shape, but not signed with this server's key (forged or
    /// altered).
    #[error("the unsubscribe token's signature does not match")]
    Forged,
}

fn mac_with(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    let Ok(mac) = HmacSha256::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of every length")
    };
    mac
}

fn kind_byte(kind: MailKind) -> u8 {
    match kind {
        MailKind::Digest => 0,
        MailKind::UrgentLead => 1,
    }
}

impl UnsubscribeLinks {
    /// The links of the server with this secret key.
    pub fn new(secret_key: &SecretKey) -> Self {
        let mut mac = mac_with(secret_key.expose());
        mac.update(b"onepane unsubscribe link v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn signer(&self, workspace_id: WorkspaceId, user_id: UserId, kind: u8) -> HmacSha256 {
        let mut mac = mac_with(&self.key);
        mac.update(&[TOKEN_VERSION]);
        mac.update(workspace_id.as_uuid().as_bytes());
        mac.update(user_id.as_uuid().as_bytes());
        mac.update(&[kind]);
        mac
    }

    /// The token for stopping `kind` for a member.
    pub fn token(&self, workspace_id: WorkspaceId, user_id: UserId, kind: MailKind) -> String {
        let tag = self
            .signer(workspace_id, user_id, kind_byte(kind))
            .finalize()
            .into_bytes();
        let mut raw = Vec::with_capacity(TOKEN_LEN);
        raw.push(TOKEN_VERSION);
        raw.extend_from_slice(workspace_id.as_uuid().as_bytes());
        raw.extend_from_slice(user_id.as_uuid().as_bytes());
        raw.push(kind_byte(kind));
        raw.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The link for stopping `kind` for a member, on `public_base`.
    pub fn url(
        &self,
        public_base: &str,
        workspace_id: WorkspaceId,
        user_id: UserId,
        kind: MailKind,
    ) -> String {
        format!(
            "{public_base}/unsubscribe/{}",
            self.token(workspace_id, user_id, kind)
        )
    }

    /// What a token names, if this server signed it (checked in constant
    /// time).
    pub fn check(&self, token: &str) -> Result<Unsubscribe, TokenRefused> {
        if token.len() > 2 * TOKEN_LEN {
            return Err(TokenRefused::Malformed);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenRefused::Malformed)?;
        if raw.len() != TOKEN_LEN || raw[0] != TOKEN_VERSION {
            return Err(TokenRefused::Malformed);
        }
        let uuid = |at: usize| {
            <[u8; 16]>::try_from(&raw[at..at + 16])
                .map(Uuid::from_bytes)
                .map_err(|_| TokenRefused::Malformed)
        };
        let workspace_id = WorkspaceId::from_uuid(uuid(1)?);
        let user_id = UserId::from_uuid(uuid(17)?);
        let kind = match raw[33] {
            0 => MailKind::Digest,
            1 => MailKind::UrgentLead,
            _ => return Err(TokenRefused::Malformed),
        };
        self.signer(workspace_id, user_id, raw[33])
            .verify_slice(&raw[34..])
            .map_err(|_| TokenRefused::Forged)?;
        Ok(Unsubscribe {
            workspace_id,
            user_id,
            kind,
        })
    }
}

/// A composed mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// Its subject.
    pub subject: String,
    /// Its plain-text body.
    pub body: String,
}

/// Sends the clock's mail. Cloned into the background task of every
/// replica.
#[derive(Debug, Clone)]
pub struct ClockMail {
    store: Store,
    mailer: Option<Arc<Mailer>>,
    public_base: Arc<str>,
    links: UnsubscribeLinks,
    writer: Arc<dyn MailWriter>,
    digest_hour: u32,
    every: StdDuration,
}

/// What one round sent (settled without sending counts as handled, not
/// sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Mail sent (or logged, without a mail server).
    pub sent: u32,
    /// Mail that failed, to be tried again.
    pub failed: u32,
}

impl ClockMail {
    /// A sender mailing through `mailer` (or logging, without one), making
    /// links on `public_base`, its mail written by `writer`; digests go out from `digest_hour` (0 to 23)
    /// in each member's time zone, and [`ClockMail::run`] looks for mail
    /// to send `every` so often.
    pub fn new(
        store: Store,
        mailer: Option<Arc<Mailer>>,
        public_base: Arc<str>,
        links: UnsubscribeLinks,
        writer: Arc<dyn MailWriter>,
        digest_hour: u32,
        every: StdDuration,
    ) -> Self {
        Self {
            store,
            mailer,
            public_base,
            links,
            writer,
            digest_hour: digest_hour.min(23),
            every,
        }
    }

    /// The unsubscribe links it makes (and the unsubscribe page checks).
    pub fn links(&self) -> &UnsubscribeLinks {
        &self.links
    }

    /// The local hour digests go out from.
    pub fn digest_hour(&self) -> u32 {
        self.digest_hour
    }

    /// Looks for mail to send, for ever. A round that fails (the database
    /// away) is logged and the next one tries again. A plain interval
    /// rather than a cron schedule: each member's morning comes at its own
    /// time, so the sender looks often and the outbox decides.
    pub async fn run(self) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = self.round(Utc::now()).await {
                tracing::warn!(error = %crate::report::cause_chain(&e), "cannot send the clock's mail");
            }
        }
    }

    /// One round at `now`: claims taken over, digests due, urgent leads.
    /// At DEBUG: a round a minute on every replica would bury the traces
    /// of requests (the mail sent is logged at INFO, its failures at WARN).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn round(&self, now: DateTime<Utc>) -> Result<Round, StoreError> {
        let mut round = Round::default();
        let system = self.store.system();
        for claim in system.take_over_mail(now - STALE_CLAIM).await? {
            self.send_claimed(&claim, now, &mut round).await?;
        }
        for member in system.mail_members(MailKind::Digest).await? {
            let key = self.digest_key(&member, now);
            let Some(key) = key else { continue };
            if system
                .claim_mail(member.workspace_id, member.user_id, MailKind::Digest, &key)
                .await?
            {
                let claim = MailClaim {
                    workspace_id: member.workspace_id,
                    user_id: member.user_id,
                    kind: MailKind::Digest,
                    key,
                    attempt: 1,
                };
                let outcome = self.send_digest(&member, now).await;
                self.settle(&claim, outcome, &mut round).await?;
            }
        }
        for urgent in system.urgent_leads(now).await? {
            let key = urgent.lead.id.to_string();
            if !system
                .claim_mail(
                    urgent.workspace_id,
                    urgent.user_id,
                    MailKind::UrgentLead,
                    &key,
                )
                .await?
            {
                continue;
            }
            let claim = MailClaim {
                workspace_id: urgent.workspace_id,
                user_id: urgent.user_id,
                kind: MailKind::UrgentLead,
                key,
                attempt: 1,
            };
            let outcome = match system
                .mail_member(urgent.workspace_id, urgent.user_id)
                .await?
            {
                Some(member) => self.send_urgent(&member, &urgent.lead, now).await,
                None => Ok(false),
            };
            self.settle(&claim, outcome, &mut round).await?;
        }
        Ok(round)
    }

    /// The key of the member's digest due at `now` (its local date), when
    /// its local morning has come and it has had none that day.
    fn digest_key(&self, member: &MailMember, now: DateTime<Utc>) -> Option<String> {
        let local = member.time_zone.local(now);
        if local.hour() < self.digest_hour {
            return None;
        }
        let key = local.date_naive().to_string();
        match &member.last_digest_key {
            Some(last) if *last >= key => None,
            _ => Some(key),
        }
    }

    /// Sends a mail claimed anew or taken over.
    async fn send_claimed(
        &self,
        claim: &MailClaim,
        now: DateTime<Utc>,
        round: &mut Round,
    ) -> Result<(), StoreError> {
        let system = self.store.system();
        let member = system
            .mail_member(claim.workspace_id, claim.user_id)
            .await?;
        let outcome = match (member, claim.kind) {
            (Some(m), MailKind::Digest) if m.preferences.daily_digest => {
                self.send_digest(&m, now).await
            }
            (Some(m), MailKind::UrgentLead) if m.preferences.urgent_leads => {
                match claim.key.parse::<LeadId>() {
                    Ok(id) => match system.lead_for_mail(claim.workspace_id, id).await? {
                        Some(lead) => self.send_urgent(&m, &lead, now).await,
                        None => Ok(false),
                    },
                    Err(_) => Ok(false),
                }
            }
            // The member turned the mail off, or left: nothing to send.
            _ => Ok(false),
        };
        self.settle(claim, outcome, round).await
    }

    /// Records how a claimed mail went: sent (or nothing to send), or
    /// failed (tried again once the claim is stale).
    async fn settle(
        &self,
        claim: &MailClaim,
        outcome: Result<bool, String>,
        round: &mut Round,
    ) -> Result<(), StoreError> {
        let system = self.store.system();
        match outcome {
            Ok(sent) => {
                round.sent += u32::from(sent);
                system
                    .mail_sent(claim.workspace_id, claim.user_id, claim.kind, &claim.key)
                    .await
            }
            Err(e) => {
                round.failed += 1;
                tracing::warn!(
                    workspace = %claim.workspace_id,
                    user = %claim.user_id,
                    kind = %claim.kind,
                    attempt = claim.attempt,
                    error = %e,
                    "cannot send the clock's mail; it is tried again later"
                );
                system
                    .mail_failed(
                        claim.workspace_id,
                        claim.user_id,
                        claim.kind,
                        &claim.key,
                        &e,
                    )
                    .await
            }
        }
    }

    /// Composes and sends a member's digest; `Ok(false)` when it is empty.
    async fn send_digest(&self, member: &MailMember, now: DateTime<Utc>) -> Result<bool, String> {
        let partner = self.store.partner(member.workspace_id);
        let deadlines = partner
            .clock(&ClockFilter::default())
            .await
            .map_err(|e| crate::report::cause_chain(&e))?;
        let vendors = vendor_names(&self.store, member.workspace_id).await?;
        let since = member
            .last_digest_sent
            .unwrap_or(now - Duration::days(1))
            .max(now - Duration::days(DIGEST_DAYS));
        let Some((missed, coming, older)) = digest_parts(&deadlines, since, now) else {
            tracing::debug!(workspace = %member.workspace_id, user = %member.user_id, "an empty digest is not sent");
            return Ok(false);
        };
        let unsubscribe = self.links.url(
            &self.public_base,
            member.workspace_id,
            member.user_id,
            MailKind::Digest,
        );
        let mail = self.writer.digest(&DigestInput {
            member,
            missed: &missed,
            coming: &coming,
            older,
            vendors: &vendors,
            now,
            public_base: &self.public_base,
            unsubscribe: &unsubscribe,
        });
        self.deliver(member, MailKind::Digest, &mail, &unsubscribe)
            .await
            .map(|()| true)
    }

    /// Composes and sends the mail about an urgent lead; `Ok(false)` when
    /// it no longer waits for an answer.
    async fn send_urgent(
        &self,
        member: &MailMember,
        lead: &Lead,
        now: DateTime<Utc>,
    ) -> Result<bool, String> {
        let Some(respond_by) = lead.respond_by.filter(|r| *r > now) else {
            return Ok(false);
        };
        if lead.status != LeadStatus::New {
            return Ok(false);
        }
        let vendors = vendor_names(&self.store, member.workspace_id).await?;
        let unsubscribe = self.links.url(
            &self.public_base,
            member.workspace_id,
            member.user_id,
            MailKind::UrgentLead,
        );
        let mail = self.writer.urgent_lead(&UrgentInput {
            member,
            lead,
            respond_by,
            vendor: lead
                .vendor_id
                .and_then(|v| vendors.get(&v))
                .map_or("", String::as_str),
            public_base: &self.public_base,
            unsubscribe: &unsubscribe,
        });
        self.deliver(member, MailKind::UrgentLead, &mail, &unsubscribe)
            .await
            .map(|()| true)
    }

    /// Sends through the mail server, or, with none configured, writes the
    /// mail to the log, as reset links are.
    async fn deliver(
        &self,
        member: &MailMember,
        kind: MailKind,
        mail: &Composed,
        unsubscribe: &str,
    ) -> Result<(), String> {
        match &self.mailer {
            Some(mailer) => {
                mailer
                    .send_chosen(&member.email, &mail.subject, mail.body.clone(), unsubscribe)
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(to = %member.email, kind = %kind, "deadline mail sent");
                Ok(())
            }
            None => {
                tracing::info!(
                    to = %member.email,
                    kind = %kind,
                    subject = %mail.subject,
                    unsubscribe = %unsubscribe,
                    "{kind} mail for {} (no mail server is configured; it is logged instead)",
                    member.email
                );
                Ok(())
            }
        }
    }
}

async fn vendor_names(
    store: &Store,
    workspace_id: WorkspaceId,
) -> Result<HashMap<VendorId, String>, String> {
    Ok(store
        .partner(workspace_id)
        .vendors()
        .await
        .map_err(|e| crate::report::cause_chain(&e))?
        .into_iter()
        .map(|v| (v.vendor.id, v.vendor.name.to_string()))
        .collect())
}

/// What a digest tells, chosen from the workspace's clock.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// Who it is for.
    pub member: &'a MailMember,
    /// What fell due since the last digest, and was missed.
    pub missed: &'a [&'a Deadline],
    /// What falls due in the next [`DIGEST_DAYS`] days.
    pub coming: &'a [&'a Deadline],
    /// How many older deadlines are still overdue.
    pub older: usize,
    /// The workspace's vendors' names.
    pub vendors: &'a HashMap<VendorId, String>,
    /// Now.
    pub now: DateTime<Utc>,
    /// Where links point.
    pub public_base: &'a str,
    /// The link that stops the digest.
    pub unsubscribe: &'a str,
}

/// What the mail about an urgent lead tells.
#[derive(Debug, Clone, Copy)]
pub struct UrgentInput<'a> {
    /// Who it is for.
    pub member: &'a MailMember,
    /// The lead.
    pub lead: &'a Lead,
    /// Its answer-by time.
    pub respond_by: DateTime<Utc>,
    /// Its vendor's name (empty when it has none).
    pub vendor: &'a str,
    /// Where links point.
    pub public_base: &'a str,
    /// The link that stops urgent-lead mail.
    pub unsubscribe: &'a str,
}

/// Writes the clock's mail in the member's language, with times in its
/// zone. The portal's messages provide it ([`crate::web::mail_text`]):
/// a service does not read a front end's text, it is handed a writer.
pub trait MailWriter: std::fmt::Debug + Send + Sync {
    /// A digest.
    fn digest(&self, input: &DigestInput<'_>) -> Composed;
    /// The mail about an urgent lead.
    fn urgent_lead(&self, input: &UrgentInput<'_>) -> Composed;
}

/// Splits the workspace's clock at `since` and `now`: what was missed
/// since `since`, what falls due in the next [`DIGEST_DAYS`] days, and how
/// many older deadlines are still overdue. `None` when nothing was missed
/// and nothing falls due within the week: no digest is sent.
pub fn digest_parts(
    deadlines: &[Deadline],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(Vec<&Deadline>, Vec<&Deadline>, usize)> {
    let horizon = now + Duration::days(DIGEST_DAYS);
    let missed: Vec<&Deadline> = deadlines
        .iter()
        .filter(|d| d.due >= since && d.due < now)
        .collect();
    let coming: Vec<&Deadline> = deadlines
        .iter()
        .filter(|d| d.due >= now && d.due <= horizon)
        .collect();
    if missed.is_empty() && coming.is_empty() {
        return None;
    }
    let older = deadlines.iter().filter(|d| d.due < since).count();
    Some((missed, coming, older))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use onepane_domain::clock::DeadlineKind;

    use super::*;

    fn links() -> UnsubscribeLinks {
        UnsubscribeLinks::new(&SecretKey::generate().unwrap())
    }

    #[test]
    fn an_unsubscribe_token_names_what_it_was_made_for_and_nothing_else() {
        let links = links();
        let (ws, user) = (WorkspaceId::new(), UserId::new());
        let token = links.token(ws, user, MailKind::Digest);
        assert_eq!(
            links.check(&token),
            Ok(Unsubscribe {
                workspace_id: ws,
                user_id: user,
                kind: MailKind::Digest
            })
        );
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        // Any byte changed (another member, another kind) breaks the seal.
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for at in [1, 17, 33, 40] {
            raw[at] ^= 1;
            let altered = URL_SAFE_NO_PAD.encode(&raw);
            assert!(links.check(&altered).is_err(), "byte {at}");
            raw[at] ^= 1;
        }
        // Another server's key signs other tokens.
        assert_eq!(self::links().check(&token), Err(TokenRefused::Forged));
        for junk in ["", "x", "not base64 at all!", &"A".repeat(500)] {
            assert_eq!(links.check(junk), Err(TokenRefused::Malformed), "{junk}");
        }
    }

    fn deadline(title: &str, due: DateTime<Utc>) -> Deadline {
        Deadline {
            kind: DeadlineKind::LeadAnswer,
            due,
            vendor_id: None,
            person: None,
            title: title.to_owned(),
            link: "/leads/x".to_owned(),
        }
    }

    #[test]
    fn a_digest_tells_what_was_missed_since_the_last_and_what_comes_within_the_week() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 6, 0, 0).unwrap();
        let deadlines = [
            deadline("Long ago", now - Duration::days(3)),
            deadline("Missed", now - Duration::hours(5)),
            deadline("Coming", now + Duration::days(2)),
            deadline("Far", now + Duration::days(20)),
        ];
        let (missed, coming, older) =
            digest_parts(&deadlines, now - Duration::days(1), now).unwrap();
        let titles = |d: &[&Deadline]| d.iter().map(|d| d.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&missed), ["Missed"]);
        assert_eq!(titles(&coming), ["Coming"]);
        assert_eq!(older, 1);
        // Nothing missed, nothing coming: no digest, however much is old.
        let quiet = [
            deadline("Long ago", now - Duration::days(3)),
            deadline("Far", now + Duration::days(20)),
        ];
        assert!(digest_parts(&quiet, now - Duration::days(1), now).is_none());
    }
}
