//! A workspace's deal registrations, and the fields its vendors ask for on them.

use std::collections::HashMap;

use onepane_domain::activity::*;
use onepane_domain::deal::*;
use onepane_domain::lead::{LeadSource, LeadStatus};
use onepane_domain::*;
use sqlx::types::Json;

use crate::rows::select;
use crate::tables::deal_fields::*;
use crate::tables::deal_registrations::*;
use crate::tables::leads::*;
use crate::tables::outbox::*;
use crate::tables::webhooks::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::PartnerStore;

impl PartnerStore {
    /// Registers a deal with one vendor. A lead it comes from is shared with
    /// that vendor (the vendor now sees its details).
    pub async fn register_deal(
        &self,
        vendor_id: VendorId,
        details: &DealDetails,
        lead_id: Option<LeadId>,
        by: Option<UserId>,
    ) -> Result<DealRegistration, StoreError> {
        let mut regs = self
            .register_deals(&[vendor_id], details, lead_id, by)
            .await?;
        regs.pop()
            .ok_or_else(|| StoreError::Rule("no vendor to register the deal with".into()))
    }

    /// Registers one opportunity with several vendors at once (a
    /// multi-vendor deal): one registration each, all or none. A lead it
    /// comes from is shared with the vendor it belongs to, or, when it
    /// belongs to none, with the first vendor named.
    pub async fn register_deals(
        &self,
        vendor_ids: &[VendorId],
        details: &DealDetails,
        lead_id: Option<LeadId>,
        by: Option<UserId>,
    ) -> Result<Vec<DealRegistration>, StoreError> {
        let Some(&first) = vendor_ids.first() else {
            return Err(StoreError::Rule("name at least one vendor".into()));
        };
        let mut unique = std::collections::HashSet::new();
        if let Some(dup) = vendor_ids.iter().find(|v| !unique.insert(**v)) {
            return Err(StoreError::Rule(format!("vendor {dup} is named twice")));
        }
        let mut tx = self.begin(Access::Write).await?;
        for &vendor_id in vendor_ids {
            self.active_link(&mut tx, vendor_id).await?;
        }
        // Each vendor's own required fields must be filled in.
        let asked = linked_deal_fields(&mut tx, self.workspace_id).await?;
        for vendor_id in vendor_ids {
            let specs = asked.get(vendor_id).map_or(&[][..], Vec::as_slice);
            if let Some(missing) = missing_fields(specs, &details.fields).first() {
                return Err(StoreError::Rule(format!(
                    "vendor {vendor_id} requires the field `{}` ({})",
                    missing.name, missing.label
                )));
            }
        }
        let at = now();
        if let Some(lead_id) = lead_id {
            let lead = fetch_lead(&mut tx, self.workspace_id, lead_id).await?;
            let owner = match lead.vendor_id {
                Some(v) if vendor_ids.contains(&v) => v,
                Some(_) => {
                    return Err(StoreError::Rule(format!(
                        "lead {lead_id} belongs to another vendor; register the deal with that vendor"
                    )));
                }
                None => first,
            };
            // One registration of a lead per vendor at a time.
            for &vendor_id in vendor_ids {
                let existing: Option<(uuid::Uuid,)> = on_tx!(tx, c => {
                    sqlx::query_as(
                        "SELECT id FROM deal_registrations WHERE workspace_id = $1 AND lead_id = $2 \
                         AND vendor_id = $3 AND status IN ('submitted', 'approved') LIMIT 1",
                    )
                    .bind(self.ws())
                    .bind(lead_id.as_uuid())
                    .bind(vendor_id.as_uuid())
                    .fetch_optional(&mut *c)
                    .await?
                });
                if let Some((id,)) = existing {
                    return Err(StoreError::Conflict(format!(
                        "this lead is already registered with vendor {vendor_id}: deal registration {}",
                        DealRegistrationId::from_uuid(id)
                    )));
                }
            }
            share(&mut tx, self.workspace_id, lead_id, owner, at).await?;
            // A registered deal is a qualified opportunity: the lead moves on
            // (a vendor's new lead is accepted on the way).
            let lead = fetch_lead(&mut tx, self.workspace_id, lead_id).await?;
            let lead = if lead.status == LeadStatus::New && lead.source == LeadSource::Vendor {
                self.move_lead_in(&mut tx, lead, LeadStatus::Accepted, None, by)
                    .await?
            } else {
                lead
            };
            if matches!(
                lead.status,
                LeadStatus::New | LeadStatus::Accepted | LeadStatus::Working
            ) {
                self.move_lead_in(&mut tx, lead, LeadStatus::Qualified, None, by)
                    .await?;
            }
        }
        let mut regs = Vec::with_capacity(vendor_ids.len());
        for &vendor_id in vendor_ids {
            let reg = DealRegistration {
                id: DealRegistrationId::new(),
                workspace_id: self.workspace_id,
                vendor_id,
                lead_id,
                details: details.clone(),
                status: DealStatus::Submitted,
                reason: None,
                protection_expires_on: None,
                extra_discount: None,
                submitted_by: by,
                submitted_at: at,
                decided_at: None,
                updated_at: at,
            };
            on_tx!(tx, c => {
                sqlx::query(&format!(
                    "INSERT INTO deal_registrations ({DEAL_COLUMNS}, title) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, $7, $8, NULL, $8, $9)"
                ))
                .bind(self.ws())
                .bind(reg.id.as_uuid())
                .bind(vendor_id.as_uuid())
                .bind(lead_id.map(|l| l.as_uuid()))
                .bind(Json(&reg.details))
                .bind(reg.status.as_str())
                .bind(by.map(|u| u.as_uuid()))
                .bind(at)
                .bind(reg.details.title.as_str())
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
            emit(
                &mut tx,
                vendor_id,
                WebhookEvent::DealRegistrationSubmitted,
                self.workspace_id,
                ("deal-registration", reg.id.to_string()),
                serde_json::to_value(&reg)
                    .map_err(|e| StoreError::corrupt("deal registration", e))?,
            )
            .await?;
            regs.push(reg);
        }
        tx.commit().await?;
        Ok(regs)
    }

    /// The workspace's deal registrations, newest first.
    pub async fn deal_registrations(&self) -> Result<Vec<DealRegistration>, StoreError> {
        select!(
            all,
            DealRow,
            read(self),
            &format!(
                "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 ORDER BY id DESC"
            ),
            self.ws()
        )
    }

    /// One deal registration.
    pub async fn deal_registration(
        &self,
        id: DealRegistrationId,
    ) -> Result<DealRegistration, StoreError> {
        select!(
            optional,
            DealRow,
            read(self),
            &format!(
                "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 AND id = $2"
            ),
            self.ws(),
            id.as_uuid()
        )?
        .ok_or_else(|| StoreError::not_found("deal registration", id))
    }

    /// What each linked vendor asks for on a deal registration.
    pub async fn deal_fields(&self) -> Result<HashMap<VendorId, Vec<DealFieldSpec>>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let fields = linked_deal_fields(&mut tx, self.workspace_id()).await?;
        tx.commit().await?;
        Ok(fields)
    }
}
