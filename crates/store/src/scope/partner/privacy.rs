//! A person's data rights: every record about one person found by email,
//! exported, and erased (personal fields removed or replaced while counts
//! and amounts stay). The vendors that received the person's data are told
//! (`lead.erased`), and the erasure is recorded.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use onepane_domain::activity::*;
use onepane_domain::deal::*;
use onepane_domain::lead::*;
use onepane_domain::privacy::*;
use onepane_domain::text::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::select;
use crate::tables::audit::insert_audit;
use crate::tables::deal_registrations::*;
use crate::tables::leads::*;
use crate::tables::outbox::*;
use crate::tables::webhooks::emit;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

/// The name an erased contact keeps.
pub const ERASED: &str = "Erased person";
/// What replaces personal text in a registration.
pub const ERASED_TEXT: &str = "[erased]";

#[derive(sqlx::FromRow)]
struct PushRow {
    connection_id: Uuid,
    entity: String,
    entity_id: Uuid,
    status: String,
    remote_id: Option<String>,
    pushed_at: Option<DateTime<Utc>>,
}

impl PartnerStore {
    /// The person's leads and registrations, in `tx`.
    async fn person_in(
        &self,
        tx: &mut Tx,
        email: &Email,
    ) -> Result<(Vec<Lead>, Vec<DealRegistration>), StoreError> {
        let by_email = if tx.is_sqlite() {
            "lower(json_extract(contact, '$.email'))"
        } else {
            "lower(contact ->> 'email')"
        };
        let leads: Vec<Lead> = select!(
            all,
            LeadRow,
            *tx,
            &format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND {by_email} = $2 ORDER BY id"
            ),
            self.ws(),
            email.as_str()
        )?;
        let mut regs = Vec::new();
        for lead in &leads {
            let found: Vec<DealRegistration> = select!(
                all,
                DealRow,
                *tx,
                &format!(
                    "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 AND lead_id = $2 ORDER BY id"
                ),
                self.ws(),
                lead.id.as_uuid()
            )?;
            regs.extend(found);
        }
        Ok((leads, regs))
    }

    /// Every record the workspace holds about the person with `email`.
    pub async fn personal_data(&self, email: &Email) -> Result<PersonalData, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let (leads, deal_registrations) = self.person_in(&mut tx, email).await?;
        let mut crm_pushes = Vec::new();
        let records = leads
            .iter()
            .map(|l| ("lead", l.id.as_uuid()))
            .chain(deal_registrations.iter().map(|d| ("deal", d.id.as_uuid())));
        for (entity, id) in records {
            let rows: Vec<PushRow> = on_tx!(tx, c => {
                sqlx::query_as(
                    "SELECT connection_id, entity, entity_id, status, remote_id, pushed_at FROM crm_pushes \
                     WHERE workspace_id = $1 AND entity = $2 AND entity_id = $3 ORDER BY connection_id",
                )
                .bind(self.ws())
                .bind(entity)
                .bind(id)
                .fetch_all(&mut *c)
                .await?
            });
            crm_pushes.extend(rows.into_iter().map(|r| CrmPushRecord {
                connection_id: ConnectionId::from_uuid(r.connection_id),
                entity: r.entity,
                entity_id: r.entity_id,
                status: r.status,
                remote_id: r.remote_id,
                pushed_at: r.pushed_at,
            }));
        }
        tx.commit().await?;
        Ok(PersonalData {
            email: email.clone(),
            leads,
            deal_registrations,
            crm_pushes,
        })
    }

    /// Every record about the person with `email`, exported by `by`: the
    /// export is recorded (which records, not the address).
    pub async fn export_personal_data(
        &self,
        email: &Email,
        by: UserId,
    ) -> Result<PersonalData, StoreError> {
        let data = self.personal_data(email).await?;
        let mut tx = self.begin(Access::Write).await?;
        insert_audit(
            &mut tx,
            &[AuditEvent::new(self.workspace_id, Actor::User(by), "person.exported", AuditAccess::Read)
                .with_detail(serde_json::json!({
                    "leads": data.leads.iter().map(|l| l.id).collect::<Vec<_>>(),
                    "deal_registrations": data.deal_registrations.iter().map(|d| d.id).collect::<Vec<_>>(),
                }))],
        )
        .await?;
        tx.commit().await?;
        Ok(data)
    }

    /// Erases the person with `email`, as `by`: each of their leads loses
    /// its contact's name (replaced), email, phone, title and message; the
    /// registrations made from them lose any vendor field or title text
    /// naming the person. Statuses, amounts, products and dates stay, so
    /// counts and reports do not change. Every vendor that received one of
    /// the leads (it sent it, or a registration shared it) and is still
    /// actively linked is told with `lead.erased`; the CRMs get the erased
    /// lead on their next push. Recorded in the audit log without the
    /// address.
    pub async fn erase_person(&self, email: &Email, by: UserId) -> Result<Erasure, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let (leads, regs) = self.person_in(&mut tx, email).await?;
        let at = now();
        let erased_name = Name::parse(ERASED).map_err(|e| StoreError::corrupt("lead", e))?;
        let mut names: BTreeSet<String> = BTreeSet::new();
        names.insert(email.as_str().to_lowercase());
        let mut told: BTreeMap<(VendorId, LeadId), Option<ExternalId>> = BTreeMap::new();
        for lead in &leads {
            if lead.contact.name.as_str() != ERASED {
                names.insert(lead.contact.name.as_str().to_lowercase());
            }
            let mut erased = lead.clone();
            erased.contact = Contact {
                name: erased_name.clone(),
                email: None,
                phone: None,
                title: None,
            };
            erased.message = None;
            erased.updated_at = at;
            on_tx!(tx, c => {
                sqlx::query(
                    "UPDATE leads SET contact = $3, message = NULL, search_text = $4, erased_at = $5, updated_at = $5 \
                     WHERE workspace_id = $1 AND id = $2",
                )
                .bind(self.ws())
                .bind(lead.id.as_uuid())
                .bind(Json(&erased.contact))
                .bind(search_text(&erased))
                .bind(at)
                .execute(&mut *c)
                .await?;
            });
            mark_lead_changed(&mut tx, self.workspace_id, lead.id.as_uuid(), at).await?;
            if let Some(v) = lead.vendor_id
                && (lead.source == LeadSource::Vendor || lead.shared_with_vendor_at.is_some())
            {
                told.insert((v, lead.id), lead.external_id.clone());
            }
        }
        // Each CRM sink deletes the person for good where its API can; the
        // address waits here only until it confirms.
        if !leads.is_empty() {
            on_tx!(tx, c => {
                sqlx::query(
                    "INSERT INTO crm_erasures (workspace_id, connection_id, id, email, attempts, due_at, created_at) \
                     SELECT workspace_id, id, $2, $3, 0, $4, $4 FROM connections \
                     WHERE workspace_id = $1 AND purpose = 'crm-sink'",
                )
                .bind(self.ws())
                .bind(Uuid::now_v7())
                .bind(email.as_str())
                .bind(at)
                .execute(&mut *c)
                .await?;
            });
        }
        for reg in &regs {
            let mut details = reg.details.clone();
            let fields: BTreeMap<String, String> = details
                .fields
                .as_map()
                .iter()
                .map(|(k, v)| {
                    let lower = v.to_lowercase();
                    let personal = names.iter().any(|n| lower.contains(n.as_str()));
                    (
                        k.clone(),
                        if personal {
                            ERASED_TEXT.to_owned()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect();
            details.fields = VendorFields::try_from(fields)
                .map_err(|e| StoreError::corrupt("deal registration", e))?;
            let title_lower = details.title.as_str().to_lowercase();
            if names.iter().any(|n| title_lower.contains(n.as_str())) {
                details.title = Name::parse(ERASED_TEXT)
                    .map_err(|e| StoreError::corrupt("deal registration", e))?;
            }
            on_tx!(tx, c => {
                sqlx::query(
                    "UPDATE deal_registrations SET title = $3, details = $4, erased_at = $5, updated_at = $5 \
                     WHERE workspace_id = $1 AND id = $2",
                )
                .bind(self.ws())
                .bind(reg.id.as_uuid())
                .bind(details.title.as_str())
                .bind(Json(&details))
                .bind(at)
                .execute(&mut *c)
                .await?;
            });
            mark_changed(
                &mut tx,
                self.workspace_id,
                CrmEntity::Deal,
                reg.id.as_uuid(),
                at,
            )
            .await?;
            if let Some(lead) = reg.lead_id {
                let external = leads
                    .iter()
                    .find(|l| l.id == lead)
                    .and_then(|l| l.external_id.clone());
                told.entry((reg.vendor_id, lead)).or_insert(external);
            }
        }
        let active = self.visible_links(&mut tx).await?;
        let mut vendors_told = 0;
        for ((vendor, lead), external_id) in &told {
            if active
                .get(vendor)
                .is_some_and(|l| l.status == LinkStatus::Active)
            {
                emit(
                    &mut tx,
                    *vendor,
                    WebhookEvent::LeadErased,
                    self.workspace_id,
                    ("lead", lead.to_string()),
                    serde_json::json!({
                        "workspace_id": self.workspace_id,
                        "lead_id": lead,
                        "external_id": external_id,
                        "erased_at": at,
                    }),
                )
                .await?;
                vendors_told += 1;
            }
        }
        let erasure = Erasure {
            leads: leads.len(),
            deal_registrations: regs.len(),
            vendors_told,
        };
        insert_audit(
            &mut tx,
            &[AuditEvent::new(
                self.workspace_id,
                Actor::User(by),
                "person.erased",
                AuditAccess::Write,
            )
            .with_detail(serde_json::json!({
                "leads": leads.iter().map(|l| l.id).collect::<Vec<_>>(),
                "deal_registrations": regs.iter().map(|d| d.id).collect::<Vec<_>>(),
                "vendors_told": vendors_told,
            }))],
        )
        .await?;
        tx.commit().await?;
        Ok(erasure)
    }
}
