//! A workspace's leads.

use crate::tables::deliveries::queue_delivery;
use onepane_domain::activity::*;
use onepane_domain::campaign::*;
use onepane_domain::delivery::{AnswerToSend, DeliveryKind};
use onepane_domain::lead::*;
use onepane_domain::text::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::{parse, parse_opt, select};
use crate::tables::audit::*;
use crate::tables::campaigns::*;
use crate::tables::leads::*;
use crate::tables::notifications::*;
use crate::tables::outbox::*;
use crate::tables::webhooks::*;
use crate::tables::workspaces::{WorkspaceProfile, read_profile};
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::{LeadFilter, Page, PartnerStore};

/// What a landing page's visitor consented to, from their answer and the
/// page and profile they answered: a broken rule when the answer is to
/// another version of the marketing text than the profile's.
fn consent_record(
    new: &NewCampaignLead,
    profile: &WorkspaceProfile,
    slug: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<LeadConsent, StoreError> {
    let current = profile
        .marketing_consent_text
        .as_deref()
        .map(|t| parse::<LongText>("workspace profile", t))
        .transpose()?;
    let version = profile.marketing_consent_version;
    let (marketing, marketing_text, marketing_text_version) = match (new.consent, current) {
        (ConsentAnswer::NotAsked, None) => (MarketingConsent::NotAsked, None, None),
        (
            ConsentAnswer::Answered {
                given,
                text_version,
            },
            Some(text),
        ) if text_version == version => {
            let answer = if given {
                MarketingConsent::Given
            } else {
                MarketingConsent::Declined
            };
            (answer, Some(text), Some(version))
        }
        _ => {
            return Err(StoreError::Rule(
                "the marketing consent text changed since the page was shown".into(),
            ));
        }
    };
    Ok(LeadConsent {
        marketing,
        marketing_text,
        marketing_text_version,
        landing_page: parse("activation", slug)?,
        activation_id: new.activation_id,
        privacy_notice_url: parse_opt::<WebUrl>(
            "workspace profile",
            profile.privacy_notice_url.as_deref(),
        )?,
        recorded_at: at,
    })
}

impl PartnerStore {
    /// A new lead of this workspace from `source`, made now: no vendor,
    /// campaign or external id until the caller sets them.
    fn new_lead(
        &self,
        source: LeadSource,
        contact: &Contact,
        company: &Option<Company>,
        message: &Option<LongText>,
    ) -> Lead {
        let at = now();
        Lead {
            id: LeadId::new(),
            workspace_id: self.workspace_id,
            vendor_id: None,
            campaign_id: None,
            activation_id: None,
            external_id: None,
            source,
            status: LeadStatus::New,
            contact: contact.clone(),
            company: company.clone(),
            message: message.clone(),
            respond_by: None,
            shared_with_vendor_at: None,
            consent: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// Enters a lead by hand.
    pub async fn create_manual_lead(&self, new: &NewManualLead) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        if let Some(v) = new.vendor_id {
            self.active_link(&mut tx, v).await?;
        }
        let lead = Lead {
            vendor_id: new.vendor_id,
            ..self.new_lead(LeadSource::Manual, &new.contact, &new.company, &new.message)
        };
        insert_lead(&mut tx, &lead).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Records a lead captured by an activation's landing page, attributed
    /// to the campaign and its vendor, with what its visitor consented to,
    /// and notifies the workspace. The consent record is built here, from
    /// the page and the profile as they are in this transaction: a broken
    /// rule when the visitor answered another version of the consent text
    /// than the current one (the page changed under them; show it again).
    pub async fn capture_campaign_lead(&self, new: &NewCampaignLead) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<(Uuid, Uuid, String, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT a.campaign_id, a.vendor_id, c.status, a.slug FROM campaign_activations a \
                 JOIN workspace_campaigns c ON c.workspace_id = a.workspace_id AND c.id = a.campaign_id \
                 WHERE a.workspace_id = $1 AND a.id = $2",
            )
            .bind(self.ws())
            .bind(new.activation_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
        });
        let (campaign_id, vendor_id, status, slug) =
            row.ok_or_else(|| StoreError::not_found("activation", new.activation_id))?;
        if status != CampaignStatus::Published.as_str() {
            return Err(StoreError::Rule(
                "the campaign has ended and takes no more leads".into(),
            ));
        }
        let campaign = self
            .campaign_in(&mut tx, CampaignId::from_uuid(campaign_id))
            .await?;
        ensure_running(&campaign)?;
        let profile = read_profile(&mut tx, self.workspace_id).await?;
        let lead = self.new_lead(
            LeadSource::Campaign,
            &new.contact,
            &new.company,
            &new.message,
        );
        let consent = consent_record(new, &profile, &slug, lead.created_at)?;
        let lead = Lead {
            vendor_id: Some(VendorId::from_uuid(vendor_id)),
            campaign_id: Some(CampaignId::from_uuid(campaign_id)),
            activation_id: Some(new.activation_id),
            consent: Some(consent),
            ..lead
        };
        insert_lead(&mut tx, &lead).await?;
        // The vendor reads counts, never the leads: keep the count beside
        // the activation it can see.
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE campaign_activations SET lead_count = lead_count + 1 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(self.ws())
            .bind(new.activation_id.as_uuid())
            .execute(&mut *c)
            .await?;
        });
        let title = Name::parse(&format!("New lead: {}", lead.contact.name))
            .unwrap_or_else(|_| lead.contact.name.clone());
        insert_notification(
            &mut tx,
            self.workspace_id,
            &NewNotification {
                kind: NotificationKind::NewLead,
                vendor_id: lead.vendor_id,
                title,
                body: None,
                link: Some(format!("/leads/{}", lead.id)),
                args: serde_json::json!({ "name": lead.contact.name.as_str() }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Leads, newest first, filtered.
    pub async fn leads(
        &self,
        filter: &LeadFilter,
        page: Page<LeadId>,
    ) -> Result<Vec<Lead>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let text = filter
            .text
            .as_ref()
            .map(|t| format!("%{}%", escape_like(&t.to_lowercase())));
        let rows: Vec<Lead> = select!(
            all,
            LeadRow,
            tx,
            &format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 \
                 AND ($2 IS NULL OR vendor_id = $2) \
                 AND ($3 IS NULL OR status = $3) \
                 AND ($4 IS NULL OR campaign_id = $4) \
                 AND ($5 IS NULL OR search_text LIKE $5 ESCAPE '\\') \
                 AND ($6 IS NULL OR id < $6) \
                 ORDER BY id DESC LIMIT $7"
            ),
            self.ws(),
            filter.vendor_id.map(|v| v.as_uuid()),
            filter.status.map(|s| s.as_str()),
            filter.campaign_id.map(|v| v.as_uuid()),
            text.as_deref(),
            page.after.map(|v| v.as_uuid()),
            page.limit()
        )?;
        tx.commit().await?;
        Ok(rows)
    }

    /// One lead.
    pub async fn lead(&self, id: LeadId) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let lead = fetch_lead(&mut tx, self.workspace_id, id).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Moves a lead to a new status, as the lead state machine allows.
    pub async fn set_lead_status(&self, id: LeadId, to: LeadStatus) -> Result<Lead, StoreError> {
        self.move_lead(id, to, None, None).await
    }

    /// Moves a lead to a new status as `by`, with a reason (required to
    /// decline or lose a lead when a person moves it: `by` set), and
    /// records the move in the lead's history (the audit log).
    pub async fn move_lead(
        &self,
        id: LeadId,
        to: LeadStatus,
        reason: Option<&LongText>,
        by: Option<UserId>,
    ) -> Result<Lead, StoreError> {
        if by.is_some() && reason.is_none() && matches!(to, LeadStatus::Declined | LeadStatus::Lost)
        {
            return Err(StoreError::Rule(format!("say why the lead is {to}")));
        }
        let mut tx = self.begin(Access::Write).await?;
        let lead = fetch_lead(&mut tx, self.workspace_id, id).await?;
        let lead = self.move_lead_in(&mut tx, lead, to, reason, by).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Moves `lead` to `to` in `tx`, as the lead state machine allows.
    pub(super) async fn move_lead_in(
        &self,
        tx: &mut crate::tx::Tx,
        mut lead: Lead,
        to: LeadStatus,
        reason: Option<&LongText>,
        by: Option<UserId>,
    ) -> Result<Lead, StoreError> {
        let id = lead.id;
        let from = lead.status;
        lead.status = from
            .transition(lead.source, to)
            .map_err(|e| StoreError::Rule(e.to_string()))?;
        lead.updated_at = now();
        // Only from the status just read: a concurrent change (PostgreSQL
        // reads committed data, so it can slip in) makes this a conflict.
        let moved = on_tx!(*tx, c => {
            sqlx::query(
                "UPDATE leads SET status = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND id = $2 AND status = $5",
            )
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(lead.status.as_str())
            .bind(lead.updated_at)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if moved == 0 {
            return Err(StoreError::Conflict(format!(
                "lead {id} changed while it was being updated; reload it and try again"
            )));
        }
        mark_lead_changed(tx, self.workspace_id, id.as_uuid(), lead.updated_at).await?;
        // A vendor's lead taken on or turned down: the answer goes back to
        // the vendor, however it is reached.
        if let (LeadSource::Vendor, Some(vendor), LeadStatus::Accepted | LeadStatus::Declined) =
            (lead.source, lead.vendor_id, lead.status)
        {
            let answer = AnswerToSend {
                accepted: lead.status == LeadStatus::Accepted,
                reason: reason.map(|r| r.as_str().to_owned()),
            };
            queue_delivery(
                tx,
                self.workspace_id,
                vendor,
                DeliveryKind::LeadAnswer,
                id.as_uuid(),
                Some(&answer),
                lead.updated_at,
            )
            .await?;
        }
        let actor = by.map_or(Actor::System, Actor::User);
        // Recorded at the lead's new `updated_at`: while the two agree,
        // nothing has changed the lead since, and the move may be undone.
        let mut event = AuditEvent::new(self.workspace_id, actor, LEAD_MOVED, AuditAccess::Write)
            .about("lead", id)
            .with_detail(serde_json::json!({
                "from": from.as_str(),
                "to": lead.status.as_str(),
                "reason": reason.map(LongText::as_str),
            }));
        event.at = lead.updated_at;
        insert_audit(tx, &[event]).await?;
        // The vendor is told only while the link is active: a paused or
        // ended link's vendor learns nothing more about the workspace.
        if let (LeadSource::Vendor, Some(vendor), LeadStatus::Accepted) =
            (lead.source, lead.vendor_id, lead.status)
            && self
                .visible_links(tx)
                .await?
                .get(&vendor)
                .is_some_and(|l| l.status == LinkStatus::Active)
        {
            emit(
                tx,
                vendor,
                WebhookEvent::LeadAccepted,
                self.workspace_id,
                ("lead", lead.id.to_string()),
                serde_json::json!({
                    "workspace_id": self.workspace_id,
                    "lead_id": lead.id,
                    "external_id": lead.external_id,
                    "accepted_at": lead.updated_at,
                }),
            )
            .await?;
        }
        Ok(lead)
    }

    /// Undoes the move recorded as `move_id` of lead `id`, for `by`, at most
    /// `window` after it: the lead goes back to the status it moved from,
    /// the CRM sinks are told (the lead is marked changed, as any move
    /// does), and the undoing is recorded beside the move. Refused (the
    /// inner error) unless `by` made the move, it is still the lead's
    /// latest change, it is within the window and it did not answer the
    /// vendor (see [`undoable_move`]).
    pub async fn undo_lead_move(
        &self,
        id: LeadId,
        move_id: AuditEventId,
        by: UserId,
        window: chrono::Duration,
    ) -> Result<Result<Lead, UndoRefused>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut lead = fetch_lead(&mut tx, self.workspace_id, id).await?;
        let event: Option<AuditEvent> = select!(
            optional,
            AuditRow,
            tx,
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE workspace_id = $1 AND id = $2"
            ),
            self.ws(),
            move_id.as_uuid()
        )?;
        let Some(event) = event else {
            return Ok(Err(UndoRefused::Unknown));
        };
        let at = now();
        let (from, to) = match undoable_move(&lead, &event, by, at, window) {
            Ok(change) => change,
            Err(refused) => return Ok(Err(refused)),
        };
        // Only from the lead as the move left it: a change committed
        // since (PostgreSQL reads committed data) makes this a refusal.
        let undone = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE leads SET status = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND id = $2 AND status = $5 AND updated_at = $6",
            )
            .bind(self.ws())
            .bind(id.as_uuid())
            .bind(from.as_str())
            .bind(at)
            .bind(to.as_str())
            .bind(event.at)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if undone == 0 {
            return Ok(Err(UndoRefused::ChangedSince));
        }
        lead.status = from;
        lead.updated_at = at;
        mark_lead_changed(&mut tx, self.workspace_id, id.as_uuid(), at).await?;
        let mut record = AuditEvent::new(
            self.workspace_id,
            Actor::User(by),
            LEAD_MOVE_UNDONE,
            AuditAccess::Write,
        )
        .about("lead", id)
        .with_detail(serde_json::json!({
            "from": to.as_str(),
            "to": from.as_str(),
            "undoes": event.id,
        }));
        record.at = at;
        insert_audit(&mut tx, &[record]).await?;
        tx.commit().await?;
        Ok(Ok(lead))
    }

    /// What happened to a lead, newest first: its moves, who sent it, what
    /// vendors were told.
    pub async fn lead_history(&self, id: LeadId) -> Result<Vec<AuditEvent>, StoreError> {
        select!(
            all,
            AuditRow,
            read(self),
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE workspace_id = $1 \
                 AND subject_kind = 'lead' AND subject = $2 ORDER BY id DESC LIMIT 200"
            ),
            self.ws(),
            id.to_string()
        )
    }

    /// Shares a lead's details with its vendor.
    pub async fn share_lead(&self, id: LeadId) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let mut lead = fetch_lead(&mut tx, self.workspace_id, id).await?;
        let Some(vendor) = lead.vendor_id else {
            return Err(StoreError::Rule(
                "the lead is not attributed to a vendor".into(),
            ));
        };
        let at = now();
        lead.shared_with_vendor_at = Some(lead.shared_with_vendor_at.unwrap_or(at));
        lead.updated_at = at;
        share(&mut tx, self.workspace_id, id, vendor, at).await?;
        tx.commit().await?;
        Ok(lead)
    }
}
