//! The leads a vendor sends and sees, and the deal registrations submitted to it.

use onepane_domain::activity::*;
use onepane_domain::deal::*;
use onepane_domain::lead::*;
use onepane_domain::text::*;
use onepane_domain::*;
use sqlx::types::Json;

use crate::codec::DbDecimal;
use crate::rows::select;
use crate::tables::deal_registrations::*;
use crate::tables::leads::*;
use crate::tables::notifications::*;
use crate::tables::outbox::*;
use crate::tables::prefixed;
use crate::tx::{Access, Tx, on_tx};
use crate::{StoreError, now};

use super::VendorStore;

impl VendorStore {
    /// Sends a lead to one linked workspace (sending the same external id
    /// again updates the lead while the partner has not responded).
    pub async fn send_lead(
        &self,
        ws: WorkspaceId,
        new: &NewVendorLead,
    ) -> Result<Lead, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        self.ensure_linked(&mut tx, ws).await?;
        let at = now();
        let fresh = vendor_lead(ws, self.vendor_id, new, at);
        // One statement on the unique key: a new external id inserts, a
        // known one updates the vendor's columns while the partner has not
        // acted. The conflict target is the key's own index, so the lookup
        // never depends on the planner's statistics.
        let written = write_lead(&mut tx, &fresh, VENDOR_LEAD_UPSERT).await;
        let acted = || {
            StoreError::Conflict(format!(
                "the partner already acted on lead {}; it can no longer be changed",
                new.external_id
            ))
        };
        let written = match written {
            // PostgreSQL checks the existing row against the vendor's update
            // policy (only new leads) before the upsert's WHERE, and refuses
            // it; the link was checked above, so this is the same answer.
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some("42501") =>
            {
                return Err(acted());
            }
            other => other?,
        };
        let Some(row) = written else {
            return Err(acted());
        };
        let lead = Lead::try_from(row)?;
        // The row keeps its first id: a different one means it was updated.
        if lead.id == fresh.id {
            let title = Name::parse(&format!("New lead: {}", lead.contact.name))
                .unwrap_or_else(|_| lead.contact.name.clone());
            insert_notification(
                &mut tx,
                ws,
                &NewNotification {
                    kind: NotificationKind::NewLead,
                    vendor_id: Some(self.vendor_id),
                    title,
                    body: None,
                    link: Some(format!("/leads/{}", lead.id)),
                    args: serde_json::json!({ "name": lead.contact.name.as_str() }),
                },
            )
            .await?;
        }
        self.wrote(&mut tx, ws, "lead.sent", "lead", lead.id)
            .await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// The leads this vendor may see: those it sent and those partners shared
    /// with it, newest first.
    pub async fn leads(&self) -> Result<Vec<Lead>, StoreError> {
        select!(
            all,
            LeadRow,
            read(self),
            &format!(
                "SELECT {} FROM leads x JOIN vendor_links l \
                   ON l.workspace_id = x.workspace_id AND l.vendor_id = x.vendor_id AND l.status = 'active' \
                 WHERE x.vendor_id = $1 AND (x.source = 'vendor' OR x.shared_with_vendor_at IS NOT NULL) \
                 ORDER BY x.id DESC",
                prefixed("x", LEAD_COLUMNS)
            ),
            self.v()
        )
    }

    /// Registrations submitted to this vendor, newest first.
    pub async fn deal_registrations(
        &self,
        status: Option<DealStatus>,
    ) -> Result<Vec<DealRegistration>, StoreError> {
        select!(
            all,
            DealRow,
            read(self),
            &format!(
                "SELECT {} FROM deal_registrations d JOIN vendor_links l \
                   ON l.workspace_id = d.workspace_id AND l.vendor_id = d.vendor_id AND l.status = 'active' \
                 WHERE d.vendor_id = $1 AND ($2 IS NULL OR d.status = $2) ORDER BY d.id DESC",
                prefixed("d", DEAL_COLUMNS)
            ),
            self.v(),
            status.map(|s| s.as_str())
        )
    }

    /// A page of the registrations submitted to this vendor, newest first:
    /// those older than `before`, with `status` when given, changed at or
    /// after `updated_since` when given.
    pub async fn deal_registrations_page(
        &self,
        status: Option<DealStatus>,
        updated_since: Option<chrono::DateTime<chrono::Utc>>,
        before: Option<DealRegistrationId>,
        limit: u32,
    ) -> Result<Vec<DealRegistration>, StoreError> {
        select!(
            all,
            DealRow,
            read(self),
            &format!(
                "SELECT {} FROM deal_registrations d JOIN vendor_links l \
                   ON l.workspace_id = d.workspace_id AND l.vendor_id = d.vendor_id AND l.status = 'active' \
                 WHERE d.vendor_id = $1 AND ($2 IS NULL OR d.status = $2) \
                   AND ($3 IS NULL OR d.updated_at >= $3) AND ($4 IS NULL OR d.id < $4) \
                 ORDER BY d.id DESC LIMIT $5",
                prefixed("d", DEAL_COLUMNS)
            ),
            self.v(),
            status.map(|s| s.as_str()),
            updated_since,
            before.map(|b| b.as_uuid()),
            i64::from(limit)
        )
    }

    /// For each customer web domain (as `Company::domain_key` gives it),
    /// the registrations of it submitted to this vendor since `since`: the
    /// workspace and the time of each. Read from an index on the vendor and
    /// the domain, never by loading every registration.
    pub async fn registrations_by_domain(
        &self,
        domains: &[String],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, WorkspaceId, chrono::DateTime<chrono::Utc>)>, StoreError> {
        if domains.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin(Access::Read).await?;
        let mut out = Vec::new();
        for chunk in domains.chunks(crate::tables::LOOKUP_CHUNK) {
            let rows: Vec<(String, uuid::Uuid, chrono::DateTime<chrono::Utc>)> = on_tx!(tx, c => {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT d.customer_domain, d.workspace_id, d.submitted_at FROM deal_registrations d \
                     JOIN vendor_links l ON l.workspace_id = d.workspace_id AND l.vendor_id = d.vendor_id \
                       AND l.status = 'active' WHERE d.vendor_id = ",
                );
                q.push_bind(self.v())
                    .push(" AND d.submitted_at >= ")
                    .push_bind(since)
                    .push(" AND d.customer_domain IN (");
                let mut sep = q.separated(", ");
                for d in chunk {
                    sep.push_bind(d.as_str());
                }
                q.push(")");
                q.build_query_as().fetch_all(&mut *c).await?
            });
            out.extend(
                rows.into_iter()
                    .map(|(d, w, at)| (d, WorkspaceId::from_uuid(w), at)),
            );
        }
        tx.commit().await?;
        Ok(out)
    }

    pub(crate) async fn fetch_deal(
        &self,
        tx: &mut Tx,
        id: DealRegistrationId,
    ) -> Result<DealRegistration, StoreError> {
        let row: Option<DealRegistration> = select!(
            optional,
            DealRow,
            *tx,
            &format!(
                "SELECT {} FROM deal_registrations d JOIN vendor_links l \
                   ON l.workspace_id = d.workspace_id AND l.vendor_id = d.vendor_id AND l.status = 'active' \
                 WHERE d.vendor_id = $1 AND d.id = $2",
                prefixed("d", DEAL_COLUMNS)
            ),
            self.v(),
            id.as_uuid()
        )?;
        row.ok_or_else(|| StoreError::not_found("deal registration", id))
    }

    /// One registration submitted to this vendor.
    pub async fn deal_registration(
        &self,
        id: DealRegistrationId,
    ) -> Result<DealRegistration, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let d = self.fetch_deal(&mut tx, id).await?;
        tx.commit().await?;
        self.record_reads(
            "deal-registration.read",
            "deal-registration",
            [(d.workspace_id, d.id.to_string())],
        )
        .await?;
        Ok(d)
    }

    /// Approves or rejects a registration and notifies the partner.
    pub async fn decide(
        &self,
        id: DealRegistrationId,
        decision: DealDecision,
    ) -> Result<DealRegistration, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let reg = self.decide_in(&mut tx, id, decision).await?;
        tx.commit().await?;
        Ok(reg)
    }

    /// [`VendorStore::decide`] in `tx` (a decision read back from the
    /// vendor's own system is applied in its source page's transaction).
    pub(crate) async fn decide_in(
        &self,
        tx: &mut Tx,
        id: DealRegistrationId,
        decision: DealDecision,
    ) -> Result<DealRegistration, StoreError> {
        let mut reg = self.fetch_deal(tx, id).await?;
        reg.decide(decision, now())
            .map_err(|e| StoreError::Rule(e.to_string()))?;
        // Decided once: a concurrent decision that committed first wins.
        let decided = on_tx!(*tx, c => {
            sqlx::query(
                "UPDATE deal_registrations SET status = $4, reason = $5, protection_expires_on = $6, \
                   extra_discount = $7, decided_at = $8, updated_at = $8 \
                 WHERE workspace_id = $1 AND id = $2 AND vendor_id = $3 AND status = 'submitted'",
            )
            .bind(reg.workspace_id.as_uuid())
            .bind(id.as_uuid())
            .bind(self.v())
            .bind(reg.status.as_str())
            .bind(reg.reason.as_ref().map(|r| r.as_str()))
            .bind(reg.protection_expires_on)
            .bind(reg.extra_discount.map(|p| DbDecimal(p.value())))
            .bind(reg.decided_at)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if decided == 0 {
            return Err(StoreError::Rule(format!(
                "deal registration {id} was decided meanwhile; only a submitted registration can be decided"
            )));
        }
        if let Some(at) = reg.decided_at {
            mark_changed(tx, reg.workspace_id, CrmEntity::Deal, id.as_uuid(), at).await?;
        }
        let title = Name::parse(&format!("Deal {}: {}", reg.status, reg.details.title))
            .unwrap_or_else(|_| reg.details.title.clone());
        insert_notification(
            tx,
            reg.workspace_id,
            &NewNotification {
                kind: NotificationKind::DealDecided,
                vendor_id: Some(self.vendor_id),
                title,
                body: reg.reason.clone(),
                link: Some(format!("/deal-registrations/{id}")),
                args: serde_json::json!({ "status": reg.status.as_str(), "title": reg.details.title.as_str() }),
            },
        )
        .await?;
        self.wrote(
            tx,
            reg.workspace_id,
            "deal-registration.decided",
            "deal-registration",
            id,
        )
        .await?;
        Ok(reg)
    }

    /// Replaces the fields this vendor asks for.
    pub async fn put_deal_fields(&self, fields: &[DealFieldSpec]) -> Result<(), StoreError> {
        check_deal_fields(fields).map_err(StoreError::Rule)?;
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO vendor_deal_fields (vendor_id, fields, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (vendor_id) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
            )
            .bind(self.vendor_id().as_uuid())
            .bind(Json(fields))
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// The fields this vendor asks for.
    pub async fn deal_fields(&self) -> Result<Vec<DealFieldSpec>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<Json<Vec<DealFieldSpec>>> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT fields FROM vendor_deal_fields WHERE vendor_id = $1")
                .bind(self.vendor_id().as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(row.map(|j| j.0).unwrap_or_default())
    }
}
