//! A workspace's deal registrations, and the fields its vendors ask for on them.

use std::collections::HashMap;

use onepane_domain::activity::*;
use onepane_domain::deal::*;
use onepane_domain::delivery::{Delivery, DeliveryKind};
use onepane_domain::lead::{LeadSource, LeadStatus};
use onepane_domain::*;
use sqlx::types::Json;

use crate::rows::select;
use crate::tables::deal_fields::*;
use crate::tables::deal_registrations::*;
use crate::tables::deliveries::*;
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
        let parts = self
            .parts_for_vendors(&mut tx, vendor_ids, details, &asked)
            .await?;
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
        for (&vendor_id, details) in vendor_ids.iter().zip(parts) {
            let reg = DealRegistration {
                id: DealRegistrationId::new(),
                workspace_id: self.workspace_id,
                vendor_id,
                lead_id,
                details,
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
                    "INSERT INTO deal_registrations ({DEAL_COLUMNS}, title, customer_domain) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, $7, $8, NULL, $8, $9, $10)"
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
                .bind(reg.details.customer.domain_key())
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
            queue_delivery(
                &mut tx,
                self.workspace_id,
                vendor_id,
                DeliveryKind::Deal,
                reg.id.as_uuid(),
                None,
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

    /// What each vendor of a multi-vendor deal is sent: the shared form,
    /// the fields that vendor asks for and its own products, so that no
    /// vendor sees another's field names, values or SKUs. A deal with one
    /// vendor sends it everything. In a deal with several, a field some of
    /// them ask for goes to those that ask for it (one none of them asks
    /// for is the partner's note, sent to all), and a product to the
    /// vendor it names, else to the one vendor whose price lists have its
    /// SKU.
    async fn parts_for_vendors(
        &self,
        tx: &mut crate::tx::Tx,
        vendor_ids: &[VendorId],
        details: &DealDetails,
        asked: &HashMap<VendorId, Vec<DealFieldSpec>>,
    ) -> Result<Vec<DealDetails>, StoreError> {
        for product in &details.products {
            if let Some(v) = product.vendor_id
                && !vendor_ids.contains(&v)
            {
                return Err(StoreError::Rule(format!(
                    "product {} is for vendor {v}, which the deal does not name",
                    product.sku
                )));
            }
        }
        if let [only] = vendor_ids {
            let mut part = details.clone();
            for p in &mut part.products {
                p.vendor_id = Some(*only);
            }
            return Ok(vec![part]);
        }
        let asks = |v: &VendorId, name: &str| {
            asked
                .get(v)
                .is_some_and(|specs| specs.iter().any(|s| s.name == name))
        };
        // A field some vendor of the deal asks for is that vendor's; one
        // none of them asks for is the partner's note on the deal, for all.
        let asked_by_any = |name: &str| vendor_ids.iter().any(|v| asks(v, name));
        let mut owners = Vec::with_capacity(details.products.len());
        for product in &details.products {
            if let Some(v) = product.vendor_id {
                owners.push(v);
                continue;
            }
            let found: Vec<(uuid::Uuid,)> = on_tx!(*tx, c => {
                sqlx::query_as(
                    "SELECT DISTINCT vendor_id FROM workspace_price_items WHERE workspace_id = $1 AND sku = $2",
                )
                .bind(self.ws())
                .bind(product.sku.as_str())
                .fetch_all(&mut *c)
                .await?
            });
            let mut named = found
                .into_iter()
                .map(|(v,)| VendorId::from_uuid(v))
                .filter(|v| vendor_ids.contains(v));
            match (named.next(), named.next()) {
                (Some(v), None) => owners.push(v),
                (None, _) => {
                    return Err(StoreError::Rule(format!(
                        "say which vendor product {} is for: no price list of the deal's vendors has it",
                        product.sku
                    )));
                }
                (Some(_), Some(_)) => {
                    return Err(StoreError::Rule(format!(
                        "say which vendor product {} is for: several of the deal's vendors sell it",
                        product.sku
                    )));
                }
            }
        }
        Ok(vendor_ids
            .iter()
            .map(|v| {
                let fields: std::collections::BTreeMap<String, String> = details
                    .fields
                    .as_map()
                    .iter()
                    .filter(|(name, _)| asks(v, name) || !asked_by_any(name))
                    .map(|(k, val)| (k.clone(), val.clone()))
                    .collect();
                DealDetails {
                    title: details.title.clone(),
                    customer: details.customer.clone(),
                    amount: details.amount,
                    products: details
                        .products
                        .iter()
                        .zip(&owners)
                        .filter(|(_, owner)| *owner == v)
                        .map(|(p, owner)| DealProduct {
                            vendor_id: Some(*owner),
                            ..p.clone()
                        })
                        .collect(),
                    // A subset of valid fields is valid.
                    fields: VendorFields::try_from(fields).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Names (or, with `None`, forgets) the vendor's channel contact:
    /// registrations with a vendor that no connection reaches are mailed
    /// there, with links to decide them.
    pub async fn set_vendor_contact(
        &self,
        vendor: VendorId,
        email: Option<&text::Email>,
        by: Option<UserId>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        self.active_link(&mut tx, vendor).await?;
        let at = now();
        on_tx!(tx, c => {
            match email {
                Some(email) => sqlx::query(
                    "INSERT INTO vendor_contacts (workspace_id, vendor_id, email, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (workspace_id, vendor_id) DO UPDATE SET email = excluded.email, updated_at = excluded.updated_at",
                )
                .bind(self.ws())
                .bind(vendor.as_uuid())
                .bind(email.as_str())
                .bind(at)
                .execute(&mut *c)
                .await?,
                None => sqlx::query("DELETE FROM vendor_contacts WHERE workspace_id = $1 AND vendor_id = $2")
                    .bind(self.ws())
                    .bind(vendor.as_uuid())
                    .execute(&mut *c)
                    .await?,
            };
        });
        crate::tables::audit::insert_audit(
            &mut tx,
            &[AuditEvent::new(
                self.workspace_id,
                by.map_or(Actor::System, Actor::User),
                "link.contact-set",
                AuditAccess::Write,
            )
            .about("vendor", vendor)
            .with_detail(serde_json::json!({ "email": email.map(|e| e.as_str()) }))],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The channel contacts the workspace named, by vendor.
    pub async fn vendor_contacts(&self) -> Result<HashMap<VendorId, text::Email>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(uuid::Uuid, String)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT vendor_id, email FROM vendor_contacts WHERE workspace_id = $1")
                .bind(self.ws())
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(v, e)| {
                text::Email::parse(&e)
                    .map(|e| (VendorId::from_uuid(v), e))
                    .map_err(|e| StoreError::corrupt("vendor contact", e))
            })
            .collect()
    }

    /// How something the workspace submitted is being delivered to its
    /// vendor.
    pub async fn delivery(
        &self,
        kind: DeliveryKind,
        subject: uuid::Uuid,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<VendorDeliveryRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {VENDOR_DELIVERY_COLUMNS} FROM vendor_deliveries WHERE workspace_id = $1 AND kind = $2 AND subject_id = $3"
            ))
            .bind(self.ws())
            .bind(kind.as_str())
            .bind(subject)
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        row.map(Delivery::try_from).transpose()
    }

    /// Every delivery of one kind in the workspace, by subject.
    pub async fn deliveries(
        &self,
        kind: DeliveryKind,
    ) -> Result<HashMap<uuid::Uuid, Delivery>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<VendorDeliveryRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {VENDOR_DELIVERY_COLUMNS} FROM vendor_deliveries WHERE workspace_id = $1 AND kind = $2"
            ))
            .bind(self.ws())
            .bind(kind.as_str())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|r| Delivery::try_from(r).map(|d| (d.subject_id, d)))
            .collect()
    }

    /// Sends a refused or failed delivery again, now. A refused one goes
    /// as a new sending (a new idempotency key: the vendor's system
    /// remembers its refusal of the old one); a failed one as the same.
    pub async fn retry_delivery(
        &self,
        kind: DeliveryKind,
        subject: uuid::Uuid,
        by: Option<UserId>,
    ) -> Result<Delivery, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let row: Option<VendorDeliveryRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE vendor_deliveries SET status = 'pending', attempts = 0, due_at = $4,                    generation = generation + CASE WHEN status = 'refused' THEN 1 ELSE 0 END,                    route = NULL, connection_id = NULL, vendor_ref = NULL, leased_until = NULL, updated_at = $4                  WHERE workspace_id = $1 AND kind = $2 AND subject_id = $3 AND status IN ('refused', 'failed')                  RETURNING {VENDOR_DELIVERY_COLUMNS}"
            ))
            .bind(self.ws())
            .bind(kind.as_str())
            .bind(subject)
            .bind(at)
            .fetch_optional(&mut *c)
            .await?
        });
        let Some(row) = row else {
            return Err(StoreError::Rule(
                "only a refused or failed delivery can be sent again".into(),
            ));
        };
        let delivery = Delivery::try_from(row)?;
        let subject_kind = match kind {
            DeliveryKind::Deal => "deal-registration",
            DeliveryKind::LeadAnswer => "lead",
        };
        crate::tables::audit::insert_audit(
            &mut tx,
            &[AuditEvent::new(
                self.workspace_id,
                by.map_or(Actor::System, Actor::User),
                "delivery.retried",
                AuditAccess::Write,
            )
            .about(subject_kind, subject)
            .with_detail(serde_json::json!({ "vendor_id": delivery.vendor_id }))],
        )
        .await?;
        tx.commit().await?;
        Ok(delivery)
    }

    /// The workspace's registrations a new one for `customer` with
    /// `vendors` may clash with: the same customer (by web domain, else by
    /// name) registered with one of those vendors and still waiting or
    /// protected, or registered with another vendor and still waiting or
    /// protected. Newest first. Registrations of `lead` with one of those
    /// vendors are left out: registering it again is refused outright.
    pub async fn registration_conflicts(
        &self,
        vendors: &[VendorId],
        customer: &lead::Company,
        lead: Option<LeadId>,
    ) -> Result<Vec<RegistrationConflict>, StoreError> {
        let rows: Vec<DealRegistration> = select!(
            all,
            DealRow,
            read(self),
            &format!(
                "SELECT {DEAL_COLUMNS} FROM deal_registrations WHERE workspace_id = $1 \
                 AND status IN ('submitted', 'approved') ORDER BY id DESC LIMIT 10000"
            ),
            self.ws()
        )?;
        let today = now().date_naive();
        Ok(rows
            .into_iter()
            .filter(|r| {
                matches!(
                    r.status_on(today),
                    DealStatus::Submitted | DealStatus::Approved
                )
            })
            .filter(|r| customer.same_customer(&r.details.customer))
            .filter(|r| !(lead.is_some() && r.lead_id == lead && vendors.contains(&r.vendor_id)))
            .map(|r| RegistrationConflict {
                registration_id: r.id,
                vendor_id: r.vendor_id,
                title: r.details.title.clone(),
                status: r.status,
                protection_expires_on: r.protection_expires_on,
                same_vendor: vendors.contains(&r.vendor_id),
            })
            .collect())
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
