//! Leads, and the writes every scope shares: a lead written anywhere marks the CRM outbox.

use chrono::{DateTime, Utc};
use onepane_domain::lead::*;
use onepane_domain::text::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::*;
use crate::tables::outbox::*;
use crate::tables::sources::LEAD_CHUNK;
use crate::tx::{Tx, on_tx};
use crate::{StoreError, micros};

pub(crate) const LEAD_COLUMNS: &str = "workspace_id, id, vendor_id, campaign_id, activation_id, \
    external_id, source, status, contact, company, message, respond_by, shared_with_vendor_at, \
    consent, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct LeadRow {
    workspace_id: Uuid,
    id: Uuid,
    vendor_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
    activation_id: Option<Uuid>,
    external_id: Option<String>,
    source: String,
    status: String,
    contact: Json<Contact>,
    company: Option<Json<Company>>,
    message: Option<String>,
    respond_by: Option<DateTime<Utc>>,
    shared_with_vendor_at: Option<DateTime<Utc>>,
    consent: Option<Json<LeadConsent>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl LeadRow {
    /// The lead's id, before conversion.
    pub(crate) fn id(&self) -> Uuid {
        self.id
    }

    /// When the lead last changed, before conversion.
    pub(crate) fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

impl TryFrom<LeadRow> for Lead {
    type Error = StoreError;
    fn try_from(r: LeadRow) -> Result<Self, StoreError> {
        Ok(Lead {
            id: LeadId::from_uuid(r.id),
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            vendor_id: r.vendor_id.map(VendorId::from_uuid),
            campaign_id: r.campaign_id.map(CampaignId::from_uuid),
            activation_id: r.activation_id.map(ActivationId::from_uuid),
            external_id: parse_opt("lead", r.external_id.as_deref())?,
            source: parse("lead", &r.source)?,
            status: parse("lead", &r.status)?,
            contact: r.contact.0,
            company: r.company.map(|c| c.0),
            message: parse_opt::<LongText>("lead", r.message.as_deref())?,
            respond_by: r.respond_by,
            shared_with_vendor_at: r.shared_with_vendor_at,
            consent: r.consent.map(|c| c.0),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The upsert of a vendor's lead: a known external id updates the vendor's
/// columns while the partner has not acted on it.
pub(crate) const VENDOR_LEAD_UPSERT: &str = "ON CONFLICT (workspace_id, vendor_id, external_id) DO UPDATE SET \
    contact = excluded.contact, company = excluded.company, message = excluded.message, \
    respond_by = excluded.respond_by, updated_at = excluded.updated_at, \
    search_text = excluded.search_text, source_hash = excluded.source_hash \
    WHERE leads.source = 'vendor' AND leads.status = 'new'";

/// `s` for a `LIKE ... ESCAPE '\'` pattern: its `%`, `_` and `\` match
/// only themselves.
pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A new lead as a vendor sends it (or a sync pulls it) at `at`.
pub(crate) fn vendor_lead(
    ws: WorkspaceId,
    vendor: VendorId,
    new: &NewVendorLead,
    at: DateTime<Utc>,
) -> Lead {
    Lead {
        id: LeadId::new(),
        workspace_id: ws,
        vendor_id: Some(vendor),
        campaign_id: None,
        activation_id: None,
        external_id: Some(new.external_id.clone()),
        source: LeadSource::Vendor,
        status: LeadStatus::New,
        contact: new.contact.clone(),
        company: new.company.clone(),
        message: new.message.clone(),
        respond_by: new.respond_by.map(micros),
        shared_with_vendor_at: None,
        consent: None,
        created_at: at,
        updated_at: at,
    }
}

/// Inserts a new lead (marking it in the CRM outbox).
pub(crate) async fn insert_lead(tx: &mut Tx, lead: &Lead) -> Result<(), StoreError> {
    write_lead(tx, lead, "").await.map(drop)
}

/// Inserts `lead`, with `on_conflict` appended (e.g. an upsert clause), and
/// returns the row written, if any.
pub(crate) async fn write_lead(
    tx: &mut Tx,
    lead: &Lead,
    on_conflict: &str,
) -> Result<Option<LeadRow>, StoreError> {
    Ok(write_leads(tx, std::slice::from_ref(lead), on_conflict)
        .await?
        .pop())
}

/// Inserts `leads` (of one workspace) in one statement, with `on_conflict`
/// appended, and returns the rows written; each is marked in the CRM
/// outbox in the same transaction.
pub(crate) async fn write_leads(
    tx: &mut Tx,
    leads: &[Lead],
    on_conflict: &str,
) -> Result<Vec<LeadRow>, StoreError> {
    let Some(first) = leads.first() else {
        return Ok(Vec::new());
    };
    let ws = first.workspace_id;
    let rows: Vec<LeadRow> = on_tx!(*tx, c => {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO leads (workspace_id, id, vendor_id, campaign_id, activation_id, external_id, \
               source, status, contact, company, message, respond_by, shared_with_vendor_at, \
               consent, created_at, updated_at, search_text) ",
        );
        insert.push_values(leads, |mut row, lead| {
            row.push_bind(lead.workspace_id.as_uuid())
                .push_bind(lead.id.as_uuid())
                .push_bind(lead.vendor_id.map(|v| v.as_uuid()))
                .push_bind(lead.campaign_id.map(|v| v.as_uuid()))
                .push_bind(lead.activation_id.map(|v| v.as_uuid()))
                .push_bind(lead.external_id.as_ref().map(|e| e.as_str()))
                .push_bind(lead.source.as_str())
                .push_bind(lead.status.as_str())
                .push_bind(Json(&lead.contact))
                .push_bind(lead.company.as_ref().map(Json))
                .push_bind(lead.message.as_ref().map(|m| m.as_str()))
                .push_bind(lead.respond_by)
                .push_bind(lead.shared_with_vendor_at)
                .push_bind(lead.consent.as_ref().map(Json))
                .push_bind(lead.created_at)
                .push_bind(lead.updated_at)
                .push_bind(search_text(lead));
        });
        insert.push(format!(" {on_conflict} RETURNING {LEAD_COLUMNS}"));
        insert
            .build_query_as()
            .fetch_all(&mut *c)
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, || "a lead with this external id exists".into()))?
    });
    // The CRM sinks hear of every lead written, in the same transaction.
    let marks: Vec<(Uuid, DateTime<Utc>)> = rows.iter().map(|r| (r.id(), r.updated_at())).collect();
    mark_all_changed(tx, ws, CrmEntity::Lead, &marks).await?;
    Ok(rows)
}

/// Upserts a vendor's new or changed leads of workspace `ws`, with their
/// content hashes, on SQLite, a chunk per statement, except those the
/// partner already acted on (the upsert's `WHERE` skips them). Returns the
/// id and external id of each written; the caller marks them in the
/// outbox.
pub(crate) async fn upsert_vendor_leads_sqlite(
    t: &mut sqlx::SqliteConnection,
    ws: WorkspaceId,
    leads: &[(Lead, &[u8])],
    at: DateTime<Utc>,
) -> Result<Vec<(Uuid, String)>, StoreError> {
    let mut written: Vec<(Uuid, String)> = Vec::with_capacity(leads.len());
    for chunk in leads.chunks(LEAD_CHUNK) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO leads (workspace_id, id, vendor_id, external_id, source, status, contact, \
               company, message, respond_by, created_at, updated_at, search_text, source_hash) ",
        );
        insert.push_values(chunk, |mut row, (lead, hash)| {
            row.push_bind(ws.as_uuid())
                .push_bind(lead.id.as_uuid())
                .push_bind(lead.vendor_id.map(|v| v.as_uuid()))
                .push_bind(lead.external_id.as_ref().map(|e| e.as_str()))
                .push_bind("vendor")
                .push_bind("new")
                .push_bind(Json(&lead.contact))
                .push_bind(lead.company.as_ref().map(Json))
                .push_bind(lead.message.as_ref().map(|m| m.as_str()))
                .push_bind(lead.respond_by)
                .push_bind(at)
                .push_bind(at)
                .push_bind(search_text(lead))
                .push_bind(*hash);
        });
        insert.push(format!(" {VENDOR_LEAD_UPSERT} RETURNING id, external_id"));
        written.extend(
            insert
                .build_query_as::<(Uuid, String)>()
                .fetch_all(&mut *t)
                .await?,
        );
    }
    Ok(written)
}

/// Upserts a vendor's new or changed leads of workspace `ws`, with their
/// content hashes, on PostgreSQL in one statement (their columns bound as
/// arrays, so one plan whatever the count). A lead the partner already
/// acted on is not updated: the vendor's update policy refuses the
/// statement (the caller leaves such leads out). Returns the id and
/// external id of each written; the caller marks them in the outbox.
pub(crate) async fn upsert_vendor_leads_pg(
    t: &mut sqlx::PgConnection,
    ws: WorkspaceId,
    vendor: VendorId,
    pulled: &[(Lead, &[u8])],
    at: DateTime<Utc>,
) -> Result<Vec<(Uuid, String)>, StoreError> {
    if pulled.is_empty() {
        return Ok(Vec::new());
    }
    let hashes: Vec<&[u8]> = pulled.iter().map(|p| p.1).collect();
    let leads: Vec<&Lead> = pulled.iter().map(|p| &p.0).collect();
    let ids: Vec<Uuid> = leads.iter().map(|l| l.id.as_uuid()).collect();
    let external: Vec<Option<&str>> = leads
        .iter()
        .map(|l| l.external_id.as_ref().map(|e| e.as_str()))
        .collect();
    let contacts: Vec<Json<&Contact>> = leads.iter().map(|l| Json(&l.contact)).collect();
    let company_docs: Vec<Option<Json<&Company>>> =
        leads.iter().map(|l| l.company.as_ref().map(Json)).collect();
    let messages: Vec<Option<&str>> = leads
        .iter()
        .map(|l| l.message.as_ref().map(|m| m.as_str()))
        .collect();
    let respond_by: Vec<Option<DateTime<Utc>>> = leads.iter().map(|l| l.respond_by).collect();
    let search: Vec<String> = leads.iter().map(|l| search_text(l)).collect();
    let written: Vec<(Uuid, String)> = sqlx::query_as(&format!(
        "INSERT INTO leads (workspace_id, id, vendor_id, campaign_id, activation_id, external_id, \
           source, status, contact, company, message, respond_by, shared_with_vendor_at, \
           created_at, updated_at, search_text, source_hash) \
         SELECT $1, u.id, $2, NULL, NULL, u.external_id, 'vendor', 'new', u.contact, u.company, \
           u.message, u.respond_by, NULL, $3, $3, u.search, u.hash \
         FROM unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], \
           $9::timestamptz[], $10::text[], $11::bytea[]) \
           AS u(id, external_id, contact, company, message, respond_by, search, hash) \
         {VENDOR_LEAD_UPSERT} RETURNING id, external_id"
    ))
    .bind(ws.as_uuid())
    .bind(vendor.as_uuid())
    .bind(at)
    .bind(&ids)
    .bind(&external)
    .bind(&contacts)
    .bind(&company_docs)
    .bind(&messages)
    .bind(&respond_by)
    .bind(&search)
    .bind(&hashes)
    .fetch_all(&mut *t)
    .await?;
    Ok(written)
}

/// What lead search matches: name, email and company, lowercased here
/// (SQLite's `lower()` folds ASCII only, PostgreSQL's folds everything).
pub(crate) fn search_text(lead: &Lead) -> String {
    let mut text = lead.contact.name.as_str().to_lowercase();
    for part in [
        lead.contact.email.as_ref().map(|e| e.as_str()),
        lead.company.as_ref().map(|c| c.name.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        text.push('\n');
        text.push_str(&part.to_lowercase());
    }
    text
}

/// A workspace's lead, read in `tx`; not found when it has none by that id.
pub(crate) async fn fetch_lead(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: LeadId,
) -> Result<Lead, StoreError> {
    let row: Option<Lead> = select!(
        optional,
        LeadRow,
        *tx,
        &format!("SELECT {LEAD_COLUMNS} FROM leads WHERE workspace_id = $1 AND id = $2"),
        ws.as_uuid(),
        id.as_uuid()
    )?;
    row.ok_or_else(|| StoreError::not_found("lead", id))
}

/// Shares a lead with `vendor`, attributing it to that vendor when it had
/// none (so the vendor can read what it was shared).
pub(crate) async fn share(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: LeadId,
    vendor: VendorId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "UPDATE leads SET shared_with_vendor_at = COALESCE(shared_with_vendor_at, $3), \
               vendor_id = COALESCE(vendor_id, $4), updated_at = $3 \
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(ws.as_uuid())
        .bind(id.as_uuid())
        .bind(at)
        .bind(vendor.as_uuid())
        .execute(&mut *c)
        .await?;
    });
    mark_lead_changed(tx, ws, id.as_uuid(), at).await
}
