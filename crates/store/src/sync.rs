//! What the sync engine keeps: connections' sealed secrets, where each
//! source stream stands, what each source record last looked like, sync
//! runs, the CRM outbox (leads and deal registrations) and its pushes to
//! CRM sinks, and pending OAuth authorizations.
//!
//! - A source's page is written in its vendor's scope, into the
//!   connection's workspace only, together with the stream's new position,
//!   in one transaction: a sync that stops anywhere resumes from the last
//!   committed page with nothing lost and nothing doubled.
//! - A record whose content hash has not changed is not written at all.
//! - After a full-refresh pass read whole in one run, records the source
//!   gave before and not in the pass are deleted (campaigns archived);
//!   leads and the tier never are.
//! - A lead or deal registration written anywhere marks the outbox in the
//!   same transaction; the engine fans the outbox out to each CRM sink's
//!   pushes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use onepane_domain::activity::NewNotification;
use onepane_domain::lead::{Lead, LeadSource, LeadStatus};
use onepane_domain::record::{Record, RecordError, Stream};
use onepane_domain::workspace::{Connection, ConnectionStatus};
use onepane_domain::{ConnectionId, JobId, LeadId, PriceItemId, WorkspaceId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::access::SystemStore;
use crate::codec::DbDecimal;
use crate::partner::{LEAD_COLUMNS, PartnerStore, insert_notification, write_lead, write_leads};
use crate::rows::{ConnectionRow, LeadRow, parse};
use crate::tx::{Access, Tx, on_tx};
use crate::vendor::{CONNECTION_COLUMNS, VENDOR_LEAD_UPSERT, VendorStore};
use crate::{StoreError, now};

/// What a CRM sink receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrmEntity {
    /// A lead.
    Lead,
    /// A deal registration.
    Deal,
}

impl CrmEntity {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CrmEntity::Lead => "lead",
            CrmEntity::Deal => "deal",
        }
    }
}

/// Marks a lead created or changed, in the transaction that changed it.
pub(crate) async fn mark_lead_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    lead: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    mark_changed(tx, ws, CrmEntity::Lead, lead, at).await
}

/// Marks records created or changed, in one statement per 500.
pub(crate) async fn mark_all_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    entity: CrmEntity,
    changed: &[(Uuid, DateTime<Utc>)],
) -> Result<(), StoreError> {
    for chunk in changed.chunks(LOOKUP_CHUNK) {
        on_tx!(*tx, c => {
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO crm_outbox (workspace_id, entity, entity_id, changed_at) ",
            );
            insert.push_values(chunk, |mut row, (id, at)| {
                row.push_bind(ws.as_uuid())
                    .push_bind(entity.as_str())
                    .push_bind(*id)
                    .push_bind(*at);
            });
            insert.push(
                " ON CONFLICT (workspace_id, entity, entity_id) DO UPDATE SET changed_at = excluded.changed_at",
            );
            insert.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// Marks a lead or deal registration created or changed, in the
/// transaction that changed it.
pub(crate) async fn mark_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    entity: CrmEntity,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO crm_outbox (workspace_id, entity, entity_id, changed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, entity, entity_id) DO UPDATE SET changed_at = excluded.changed_at",
        )
        .bind(ws.as_uuid())
        .bind(entity.as_str())
        .bind(id)
        .bind(at)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Where a source stream stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    /// The page to resume from, when a pass is under way.
    pub next: Option<serde_json::Value>,
    /// The incremental cursor of the last complete pass.
    pub since: Option<serde_json::Value>,
    /// The pass under way.
    pub pass_id: Option<Uuid>,
    /// The highest cursor value the pass under way has seen.
    pub pass_max: Option<serde_json::Value>,
}

/// One page of a stream to write.
#[derive(Debug)]
pub struct PageWrite<'a> {
    /// The stream.
    pub stream: Stream,
    /// The pass it belongs to.
    pub pass_id: Uuid,
    /// The records with their keys and content hashes.
    pub records: Vec<(String, Vec<u8>, &'a Record)>,
    /// Where the next page starts (`None`: the pass is complete).
    pub next: Option<serde_json::Value>,
    /// The highest cursor value seen in the pass so far.
    pub pass_max: Option<serde_json::Value>,
}

/// What writing a page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Records new to the workspace.
    pub created: u64,
    /// Records that changed.
    pub updated: u64,
    /// Records whose content had not changed (or that the partner already
    /// acted on, for leads).
    pub unchanged: u64,
    /// Records refused (a price item of an unknown list).
    pub failed: Vec<RecordError>,
}

const STREAM_COLUMNS: &str = "next_page, since, pass_id, pass_max";

type StreamRow = (
    Option<Json<serde_json::Value>>,
    Option<Json<serde_json::Value>>,
    Option<Uuid>,
    Option<Json<serde_json::Value>>,
);

fn stream_state(row: StreamRow) -> StreamState {
    StreamState {
        next: row.0.map(|j| j.0),
        since: row.1.map(|j| j.0),
        pass_id: row.2,
        pass_max: row.3.map(|j| j.0),
    }
}

/// Records are looked up and written this many at a time.
const LOOKUP_CHUNK: usize = 500;
/// Leads are written this many at a time (19 values each).
const LEAD_CHUNK: usize = 200;

impl VendorStore {
    /// Where `stream` of connection `conn` in `ws` stands.
    pub async fn stream_state(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        stream: Stream,
    ) -> Result<StreamState, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<StreamRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {STREAM_COLUMNS} FROM sync_streams \
                 WHERE workspace_id = $1 AND connection_id = $2 AND stream = $3 AND vendor_id = $4"
            ))
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(stream.as_str())
            .bind(self.v())
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(row.map(stream_state).unwrap_or_default())
    }

    /// Writes one page of a source stream into `ws`, with the stream's new
    /// position, in one transaction.
    pub async fn apply_page(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        page: &PageWrite<'_>,
    ) -> Result<PageCounts, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let link = self.ensure_linked(&mut tx, ws).await?;
        let stream = page.stream.as_str();
        let known = self
            .known_hashes(
                &mut tx,
                ws,
                conn,
                stream,
                page.records.iter().map(|r| r.0.as_str()),
            )
            .await?;
        let mut counts = PageCounts::default();
        let mut unchanged = Vec::new();
        let mut lists: HashMap<String, Option<(Uuid, String)>> = HashMap::new();
        let mut touched_lists = Vec::new();
        let at = now();
        // What changed, with whether the source gave it before.
        let mut changed = Vec::new();
        for (i, (key, hash, record)) in page.records.iter().enumerate() {
            let before = known.get(key.as_str());
            if before == Some(hash) {
                unchanged.push(key.as_str());
            } else {
                changed.push((i, key, hash, *record, before.is_some()));
            }
        }
        // Written: (key, hash, given before). Leads and price items, the
        // streams that run to hundreds of thousands, are written a chunk
        // per statement; the rest one by one.
        let mut written: Vec<(&str, &[u8], bool)> = Vec::with_capacity(changed.len());
        match page.stream {
            Stream::Leads => {
                let leads: Vec<(&String, &onepane_domain::lead::NewVendorLead)> = changed
                    .iter()
                    .filter_map(|(_, key, _, record, _)| match record {
                        Record::Lead(new) => Some((*key, new)),
                        _ => None,
                    })
                    .collect();
                let done = self.pull_leads(&mut tx, ws, &leads).await?;
                for (_, key, hash, _, before) in &changed {
                    if done.contains(key.as_str()) {
                        written.push((key.as_str(), hash.as_slice(), *before));
                    } else {
                        unchanged.push(key.as_str());
                    }
                }
            }
            Stream::PriceItems => {
                let mut rows = Vec::new();
                for (i, key, hash, record, before) in &changed {
                    let Record::PriceItem { price_list, item } = record else {
                        continue;
                    };
                    if !lists.contains_key(price_list.as_str()) {
                        let found: Option<(Uuid, String)> = on_tx!(tx, c => {
                            sqlx::query_as("SELECT id, currency FROM price_lists WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3")
                                .bind(ws.as_uuid())
                                .bind(self.v())
                                .bind(price_list.as_str())
                                .fetch_optional(&mut *c)
                                .await?
                        });
                        lists.insert(price_list.as_str().to_owned(), found);
                    }
                    let Some(Some((list_id, currency))) = lists.get(price_list.as_str()) else {
                        counts.failed.push(RecordError {
                            at: format!("record {i}"),
                            key: Some((*key).clone()),
                            message: format!("price list `{price_list}` is unknown: the source has not given its terms"),
                        });
                        continue;
                    };
                    if !touched_lists.contains(list_id) {
                        touched_lists.push(*list_id);
                    }
                    rows.push((*list_id, currency.clone(), item));
                    written.push((key.as_str(), hash.as_slice(), *before));
                }
                for chunk in rows.chunks(LOOKUP_CHUNK) {
                    on_tx!(tx, c => {
                        let mut insert = sqlx::QueryBuilder::<Db>::new(
                            "INSERT INTO price_items (workspace_id, id, vendor_id, price_list_id, sku, name, category, list_price, currency, item) ",
                        );
                        insert.push_values(chunk, |mut row, (list_id, currency, item)| {
                            row.push_bind(ws.as_uuid())
                                .push_bind(PriceItemId::new().as_uuid())
                                .push_bind(self.v())
                                .push_bind(*list_id)
                                .push_bind(item.sku.as_str())
                                .push_bind(item.name.as_str())
                                .push_bind(item.category.as_ref().map(|c| c.as_str()))
                                .push_bind(DbDecimal(item.list_price.value()))
                                .push_bind(currency.as_str())
                                .push_bind(Json(*item));
                        });
                        insert.push(
                            " ON CONFLICT (workspace_id, price_list_id, sku) DO UPDATE SET \
                               name = excluded.name, category = excluded.category, list_price = excluded.list_price, \
                               currency = excluded.currency, item = excluded.item",
                        );
                        insert.build().execute(&mut *c).await?;
                    });
                }
            }
            _ => {
                for (_, key, hash, record, before) in &changed {
                    match record {
                        Record::Campaign {
                            external_id,
                            content,
                        } => {
                            self.put_campaign_in(&mut tx, &link, external_id, content)
                                .await?;
                        }
                        Record::Asset {
                            external_id,
                            content,
                        } => {
                            self.put_asset_in(&mut tx, ws, external_id, content).await?;
                        }
                        Record::PriceList { external_id, terms } => {
                            let list = self.upsert_terms(&mut tx, ws, external_id, terms).await?;
                            on_tx!(tx, c => {
                                sqlx::query("UPDATE price_items SET currency = $3 WHERE workspace_id = $1 AND price_list_id = $2 AND currency <> $3")
                                    .bind(ws.as_uuid())
                                    .bind(list.id.as_uuid())
                                    .bind(list.terms.currency.code())
                                    .execute(&mut *c)
                                    .await?;
                            });
                        }
                        Record::Tier(tier) => {
                            on_tx!(tx, c => {
                                sqlx::query("UPDATE vendor_links SET tier = $3, updated_at = $4 WHERE workspace_id = $1 AND vendor_id = $2 AND tier <> $3")
                                    .bind(ws.as_uuid())
                                    .bind(self.v())
                                    .bind(tier.as_str())
                                    .bind(at)
                                    .execute(&mut *c)
                                    .await?;
                            });
                        }
                        // The engine gives a page one stream's records only.
                        Record::Lead(_) | Record::PriceItem { .. } => {
                            unchanged.push(key.as_str());
                            continue;
                        }
                    }
                    written.push((key.as_str(), hash.as_slice(), *before));
                }
            }
        }
        for (_, _, before) in &written {
            if *before {
                counts.updated += 1;
            } else {
                counts.created += 1;
            }
        }
        for chunk in written.chunks(LOOKUP_CHUNK) {
            on_tx!(tx, c => {
                let mut insert = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO source_records (workspace_id, connection_id, vendor_id, stream, key, content_hash, seen_pass, updated_at) ",
                );
                insert.push_values(chunk, |mut row, (key, hash, _)| {
                    row.push_bind(ws.as_uuid())
                        .push_bind(conn.as_uuid())
                        .push_bind(self.v())
                        .push_bind(stream)
                        .push_bind(*key)
                        .push_bind(*hash)
                        .push_bind(page.pass_id)
                        .push_bind(at);
                });
                insert.push(
                    " ON CONFLICT (workspace_id, connection_id, stream, key) DO UPDATE SET \
                       content_hash = excluded.content_hash, seen_pass = excluded.seen_pass, updated_at = excluded.updated_at",
                );
                insert.build().execute(&mut *c).await?;
            });
        }
        counts.unchanged = unchanged.len() as u64;
        // Pricing caches key on the list's updated_at.
        for list in touched_lists {
            on_tx!(tx, c => {
                sqlx::query("UPDATE price_lists SET updated_at = $3 WHERE workspace_id = $1 AND id = $2")
                    .bind(ws.as_uuid())
                    .bind(list)
                    .bind(at)
                    .execute(&mut *c)
                    .await?;
            });
        }
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO sync_streams (workspace_id, connection_id, vendor_id, stream, next_page, since, pass_id, pass_max, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8) \
                 ON CONFLICT (workspace_id, connection_id, stream) DO UPDATE SET \
                   next_page = excluded.next_page, pass_id = excluded.pass_id, pass_max = excluded.pass_max, \
                   updated_at = excluded.updated_at",
            )
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(self.v())
            .bind(stream)
            .bind(page.next.as_ref().map(Json))
            .bind(page.pass_id)
            .bind(page.pass_max.as_ref().map(Json))
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(counts)
    }

    async fn known_hashes<'k>(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        conn: ConnectionId,
        stream: &str,
        keys: impl Iterator<Item = &'k str>,
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let keys: Vec<&str> = keys.collect();
        let mut known = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, Vec<u8>)> = on_tx!(*tx, c => {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT key, content_hash FROM source_records WHERE workspace_id = ",
                );
                q.push_bind(ws.as_uuid())
                    .push(" AND connection_id = ")
                    .push_bind(conn.as_uuid())
                    .push(" AND stream = ")
                    .push_bind(stream)
                    .push(" AND key IN (");
                let mut list = q.separated(", ");
                for key in chunk {
                    list.push_bind(*key);
                }
                q.push(")");
                q.build_query_as().fetch_all(&mut *c).await?
            });
            known.extend(rows);
        }
        Ok(known)
    }

    /// Writes pulled leads, a chunk per statement, except those the partner
    /// already acted on; returns the keys written. On PostgreSQL a chunk
    /// holding an acted-on lead is refused whole (the vendor's update
    /// policy), so that chunk is written again one lead at a time.
    async fn pull_leads(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        leads: &[(&String, &onepane_domain::lead::NewVendorLead)],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut done = std::collections::HashSet::with_capacity(leads.len());
        let postgres = matches!(tx, Tx::Postgres(_));
        for chunk in leads.chunks(LEAD_CHUNK) {
            let fresh: Vec<Lead> = chunk
                .iter()
                .map(|(_, new)| self.fresh_lead(ws, new))
                .collect();
            if postgres {
                on_tx!(*tx, c => { sqlx::query("SAVEPOINT pull_leads").execute(&mut *c).await?; });
            }
            match write_leads(tx, &fresh, VENDOR_LEAD_UPSERT).await {
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if postgres && e.code().as_deref() == Some("42501") =>
                {
                    on_tx!(*tx, c => { sqlx::query("ROLLBACK TO SAVEPOINT pull_leads").execute(&mut *c).await?; });
                    for (key, new) in chunk {
                        if self.pull_lead(tx, ws, new).await? {
                            done.insert((*key).clone());
                        }
                    }
                }
                Err(e) => return Err(e),
                Ok(rows) => {
                    if postgres {
                        on_tx!(*tx, c => { sqlx::query("RELEASE SAVEPOINT pull_leads").execute(&mut *c).await?; });
                    }
                    for row in rows {
                        let lead = Lead::try_from(row)?;
                        if let Some(external_id) = lead.external_id {
                            done.insert(external_id.as_str().to_owned());
                        }
                    }
                }
            }
        }
        Ok(done)
    }

    fn fresh_lead(&self, ws: WorkspaceId, new: &onepane_domain::lead::NewVendorLead) -> Lead {
        let at = now();
        Lead {
            id: LeadId::new(),
            workspace_id: ws,
            vendor_id: Some(self.vendor_id()),
            campaign_id: None,
            activation_id: None,
            external_id: Some(new.external_id.clone()),
            source: LeadSource::Vendor,
            status: LeadStatus::New,
            contact: new.contact.clone(),
            company: new.company.clone(),
            message: new.message.clone(),
            respond_by: new.respond_by.map(crate::vendor::micros),
            shared_with_vendor_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// Writes a pulled lead unless the partner already acted on it; returns
    /// whether it was written. One upsert on the unique key (so the lookup
    /// never depends on the planner's statistics); the partner is told of
    /// new leads once per run, by the engine, not once per lead.
    async fn pull_lead(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        new: &onepane_domain::lead::NewVendorLead,
    ) -> Result<bool, StoreError> {
        let fresh = self.fresh_lead(ws, new);
        // PostgreSQL refuses the upsert of a lead the partner acted on (the
        // vendor's update policy fails before the upsert's WHERE), and an
        // error would end the page's transaction: a savepoint keeps it.
        let postgres = matches!(tx, Tx::Postgres(_));
        if postgres {
            on_tx!(*tx, c => { sqlx::query("SAVEPOINT pull_lead").execute(&mut *c).await?; });
        }
        match write_lead(tx, &fresh, VENDOR_LEAD_UPSERT).await {
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if postgres && e.code().as_deref() == Some("42501") =>
            {
                on_tx!(*tx, c => { sqlx::query("ROLLBACK TO SAVEPOINT pull_lead").execute(&mut *c).await?; });
                Ok(false)
            }
            Err(e) => Err(e),
            Ok(written) => {
                if postgres {
                    on_tx!(*tx, c => { sqlx::query("RELEASE SAVEPOINT pull_lead").execute(&mut *c).await?; });
                }
                Ok(written.is_some())
            }
        }
    }

    /// Ends pass `pass_id` of `stream` after its last page. Given the keys
    /// the pass saw (a full-refresh stream read whole in one run), what the
    /// source gave before and not in this pass is deleted: assets, price
    /// lists and items removed, campaigns archived.
    /// The highest cursor value becomes the next pass's `since`. Returns
    /// how many records were deleted.
    pub async fn finish_pass(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        stream: Stream,
        pass_id: Uuid,
        seen: Option<&std::collections::HashSet<String>>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        self.ensure_linked(&mut tx, ws).await?;
        let name = stream.as_str();
        let mut deleted = 0;
        if let Some(seen) = seen.filter(|_| !matches!(stream, Stream::Leads | Stream::Tier)) {
            let stored: Vec<String> = on_tx!(tx, c => {
                sqlx::query_scalar(
                    "SELECT key FROM source_records WHERE workspace_id = $1 AND connection_id = $2 AND stream = $3",
                )
                .bind(ws.as_uuid())
                .bind(conn.as_uuid())
                .bind(name)
                .fetch_all(&mut *c)
                .await?
            });
            let gone: Vec<String> = stored.into_iter().filter(|k| !seen.contains(k)).collect();
            let at = now();
            for key in &gone {
                // A price item's key is its list's external id, a space and its SKU.
                let (first, sku) = match stream {
                    Stream::PriceItems => key.split_once(' ').unwrap_or((key.as_str(), "")),
                    _ => (key.as_str(), ""),
                };
                let sql = match stream {
                    Stream::Campaigns => {
                        "UPDATE campaigns SET status = 'archived', updated_at = $5 WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3 AND status <> 'archived' AND $4 IS NOT NULL"
                    }
                    Stream::Assets => {
                        "DELETE FROM assets WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3 AND $4 IS NOT NULL AND $5 IS NOT NULL"
                    }
                    Stream::PriceLists => {
                        "DELETE FROM price_lists WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3 AND $4 IS NOT NULL AND $5 IS NOT NULL"
                    }
                    Stream::PriceItems => {
                        "DELETE FROM price_items WHERE workspace_id = $1 AND vendor_id = $2 AND sku = $4 \
                        AND price_list_id IN (SELECT id FROM price_lists WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3) \
                        AND $5 IS NOT NULL"
                    }
                    Stream::Leads | Stream::Tier => continue,
                };
                let n = on_tx!(tx, c => {
                    sqlx::query(sql)
                        .bind(ws.as_uuid())
                        .bind(self.v())
                        .bind(first)
                        .bind(sku)
                        .bind(at)
                        .execute(&mut *c)
                        .await?
                        .rows_affected()
                });
                if stream == Stream::PriceItems && n > 0 {
                    // Pricing caches key on the list's updated_at: an item
                    // gone must move it as an item changed does.
                    on_tx!(tx, c => {
                        sqlx::query("UPDATE price_lists SET updated_at = $4 WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3")
                            .bind(ws.as_uuid())
                            .bind(self.v())
                            .bind(first)
                            .bind(at)
                            .execute(&mut *c)
                            .await?;
                    });
                }
                deleted += n;
            }
            for key in &gone {
                on_tx!(tx, c => {
                    sqlx::query("DELETE FROM source_records WHERE workspace_id = $1 AND connection_id = $2 AND stream = $3 AND key = $4")
                        .bind(ws.as_uuid())
                        .bind(conn.as_uuid())
                        .bind(name)
                        .bind(key.as_str())
                        .execute(&mut *c)
                        .await?;
                });
            }
        }
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE sync_streams SET since = COALESCE(pass_max, since), pass_max = NULL, pass_id = NULL, \
                   next_page = NULL, updated_at = $5 \
                 WHERE workspace_id = $1 AND connection_id = $2 AND stream = $3 AND pass_id = $4",
            )
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(name)
            .bind(pass_id)
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(deleted)
    }
}

/// A sync run (or a push run) of a connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncRun {
    /// Its id.
    pub id: Uuid,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The connection.
    pub connection_id: ConnectionId,
    /// The job it runs for, if any.
    pub job_id: Option<JobId>,
    /// `sync` or `push`.
    pub kind: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records read.
    pub read: u64,
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Records unchanged.
    pub unchanged: u64,
    /// Records deleted.
    pub deleted: u64,
    /// Records that failed.
    pub failed: u64,
    /// Records in all, when the source says.
    pub total: Option<u64>,
    /// What went wrong (the first 50 messages).
    pub errors: Vec<String>,
}

/// The most error messages a run keeps.
pub const RUN_ERRORS_KEPT: usize = 50;

const RUN_COLUMNS: &str = "workspace_id, id, connection_id, job_id, kind, status, started_at, finished_at, \
    read, created, updated, unchanged, deleted, failed, total, errors";

#[derive(sqlx::FromRow)]
struct RunRow {
    workspace_id: Uuid,
    id: Uuid,
    connection_id: Uuid,
    job_id: Option<Uuid>,
    kind: String,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    read: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    deleted: i64,
    failed: i64,
    total: Option<i64>,
    errors: Json<Vec<String>>,
}

impl From<RunRow> for SyncRun {
    fn from(r: RunRow) -> Self {
        let n = |v: i64| u64::try_from(v).unwrap_or_default();
        SyncRun {
            id: r.id,
            workspace_id: WorkspaceId::from_uuid(r.workspace_id),
            connection_id: ConnectionId::from_uuid(r.connection_id),
            job_id: r.job_id.map(JobId::from_uuid),
            kind: r.kind,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            read: n(r.read),
            created: n(r.created),
            updated: n(r.updated),
            unchanged: n(r.unchanged),
            deleted: n(r.deleted),
            failed: n(r.failed),
            total: r.total.map(n),
            errors: r.errors.0,
        }
    }
}

fn db_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A lead due to be pushed to a CRM sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePush {
    /// The lead as it stands.
    pub lead: Lead,
    /// Its vendor's name.
    pub vendor: Option<String>,
    /// The change being pushed (a newer change keeps the push pending).
    pub changed_at: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
}

/// A deal registration due to be pushed to a CRM sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDealPush {
    /// The registration as it stands.
    pub deal: onepane_domain::deal::DealRegistration,
    /// Its vendor's name.
    pub vendor: String,
    /// The change being pushed.
    pub changed_at: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
}

/// What became of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushResult {
    /// The CRM has it.
    Pushed {
        /// The CRM's id.
        remote_id: Option<String>,
    },
    /// Retry at `retry_at`, or never (`None`: failed for good).
    Failed {
        /// Why.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// How a connection's lead pushes stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PushCounts {
    /// Waiting to be pushed (or retried).
    pub pending: u64,
    /// In the CRM.
    pub pushed: u64,
    /// Failed for good.
    pub failed: u64,
}

/// An authorization the partner started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The connection being authorized.
    pub connection_id: ConnectionId,
    /// The PKCE verifier, sealed.
    pub sealed_verifier: Vec<u8>,
    /// The redirect URI sent to the provider.
    pub redirect_uri: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

impl SystemStore {
    /// A connection in any workspace.
    pub async fn connection(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
    ) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<ConnectionRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 AND id = $2"))
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        row.ok_or_else(|| StoreError::not_found("connection", id))?
            .try_into()
    }

    /// A connection by its id alone (for operators).
    pub async fn find_connection(&self, id: ConnectionId) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<ConnectionRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        row.ok_or_else(|| StoreError::not_found("connection", id))?
            .try_into()
    }

    /// Every connection that runs on its schedule, across workspaces: not
    /// paused, and not waiting for the partner to authorize it again.
    pub async fn active_connections(&self) -> Result<Vec<Connection>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<ConnectionRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections WHERE status IN ('active', 'failing') \
                 ORDER BY workspace_id, id"
            ))
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        rows.into_iter().map(Connection::try_from).collect()
    }

    /// Takes connection `id` for one run until `ttl` from now, as `owner`:
    /// when nobody holds it, the holder's lease ran out, or the holder is
    /// `steal_from` (a process known to be gone). Runs left `running` by an
    /// earlier holder are marked interrupted. Otherwise returns the holder
    /// and until when it holds the connection.
    pub async fn claim_connection_run(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        owner: &str,
        ttl: Duration,
        steal_from: Option<&str>,
    ) -> Result<Result<(), (String, DateTime<Utc>)>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let taken = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE connections SET run_owner = $3, run_until = $4 \
                 WHERE workspace_id = $1 AND id = $2 \
                   AND (run_owner IS NULL OR run_until <= $5 OR run_owner = $6)",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(owner)
            .bind(at + ttl)
            .bind(at)
            .bind(steal_from)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if taken == 0 {
            let holder: Option<(Option<String>, Option<DateTime<Utc>>)> = on_tx!(tx, c => {
                sqlx::query_as("SELECT run_owner, run_until FROM connections WHERE workspace_id = $1 AND id = $2")
                    .bind(ws.as_uuid())
                    .bind(id.as_uuid())
                    .fetch_optional(&mut *c)
                    .await?
            });
            tx.commit().await?;
            return match holder {
                None => Err(StoreError::not_found("connection", id)),
                Some((owner, until)) => Ok(Err((owner.unwrap_or_default(), until.unwrap_or(at)))),
            };
        }
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE sync_runs SET status = 'interrupted', finished_at = $3, updated_at = $3 \
                 WHERE workspace_id = $1 AND connection_id = $2 AND status = 'running'",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Extends `owner`'s hold on connection `id`; false when it lost it.
    pub async fn renew_connection_run(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query("UPDATE connections SET run_until = $4 WHERE workspace_id = $1 AND id = $2 AND run_owner = $3")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(owner)
                .bind(now() + ttl)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Ends `owner`'s hold on connection `id`.
    pub async fn release_connection_run(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        owner: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("UPDATE connections SET run_owner = NULL, run_until = NULL WHERE workspace_id = $1 AND id = $2 AND run_owner = $3")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(owner)
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// Tells a workspace something (a sync brought new leads).
    pub async fn notify(&self, ws: WorkspaceId, new: &NewNotification) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        insert_notification(&mut tx, ws, new).await?;
        tx.commit().await
    }

    /// Sets a connection's status; a change to needs-reauthorization or
    /// failing notifies the partner.
    pub async fn set_connection_status(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        status: ConnectionStatus,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let changed = on_tx!(tx, c => {
            sqlx::query("UPDATE connections SET status = $3 WHERE workspace_id = $1 AND id = $2 AND status <> $3 AND status <> 'paused'")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(status.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if changed > 0 && status != ConnectionStatus::Active {
            let title = match status {
                ConnectionStatus::NeedsReauthorization => {
                    "A connection needs to be authorized again"
                }
                _ => "A connection is failing",
            };
            insert_notification(
                &mut tx,
                ws,
                &NewNotification {
                    kind: onepane_domain::activity::NotificationKind::ConnectionAttention,
                    vendor_id: None,
                    title: parse("title", title)?,
                    body: onepane_domain::text::LongText::parse(reason).ok(),
                    link: Some(format!("/connections/{id}")),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A sealed secret of a connection and its version.
    pub async fn connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
    ) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<(Vec<u8>, i64)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT sealed, version FROM connection_secrets WHERE workspace_id = $1 AND connection_id = $2 AND field = $3")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(field)
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(row)
    }

    /// Claims the right to replace version `version` of a secret (0: none
    /// stored yet) for `ttl`; false when it moved on or another holds it.
    pub async fn claim_connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
        version: i64,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let claimed = on_tx!(tx, c => {
            if version == 0 {
                // Nothing stored yet: the first to insert the placeholder claims it.
                sqlx::query(
                    "INSERT INTO connection_secrets (workspace_id, connection_id, field, sealed, version, claimed_by, claimed_until, updated_at) \
                     VALUES ($1, $2, $3, $4, 0, $5, $6, $7) \
                     ON CONFLICT (workspace_id, connection_id, field) DO UPDATE SET claimed_by = excluded.claimed_by, \
                       claimed_until = excluded.claimed_until \
                     WHERE connection_secrets.version = 0 AND (connection_secrets.claimed_until IS NULL OR connection_secrets.claimed_until <= excluded.updated_at)",
                )
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(field)
                .bind(Vec::<u8>::new())
                .bind(owner)
                .bind(at + ttl)
                .bind(at)
                .execute(&mut *c)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "UPDATE connection_secrets SET claimed_by = $5, claimed_until = $6 \
                     WHERE workspace_id = $1 AND connection_id = $2 AND field = $3 AND version = $4 \
                       AND (claimed_until IS NULL OR claimed_until <= $7)",
                )
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(field)
                .bind(version)
                .bind(owner)
                .bind(at + ttl)
                .bind(at)
                .execute(&mut *c)
                .await?
                .rows_affected()
            }
        });
        tx.commit().await?;
        Ok(claimed == 1)
    }

    /// Stores a new sealed secret as the version after `version` and ends
    /// the claim. Returns the new version.
    pub async fn save_connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
        version: i64,
        sealed: &[u8],
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE connection_secrets SET sealed = $5, version = version + 1, claimed_by = NULL, \
                   claimed_until = NULL, updated_at = $6 \
                 WHERE workspace_id = $1 AND connection_id = $2 AND field = $3 AND version = $4",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(field)
            .bind(version)
            .bind(sealed)
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "the connection's {field} changed while it was being renewed"
            )));
        }
        tx.commit().await?;
        Ok(version + 1)
    }

    /// Ends a claim without a new secret.
    pub async fn release_connection_secret(
        &self,
        ws: WorkspaceId,
        id: ConnectionId,
        field: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE connection_secrets SET claimed_by = NULL, claimed_until = NULL \
                 WHERE workspace_id = $1 AND connection_id = $2 AND field = $3 AND version = $4",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(field)
            .bind(version)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Starts a run.
    pub async fn start_run(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        job: Option<JobId>,
        kind: &str,
    ) -> Result<SyncRun, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let row: RunRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO sync_runs (workspace_id, id, connection_id, job_id, kind, status, started_at, \
                   read, created, updated, unchanged, deleted, failed, errors, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'running', $6, 0, 0, 0, 0, 0, 0, $7, $6) RETURNING {RUN_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(Uuid::now_v7())
            .bind(conn.as_uuid())
            .bind(job.map(|j| j.as_uuid()))
            .bind(kind)
            .bind(at)
            .bind(Json(Vec::<String>::new()))
            .fetch_one(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(row.into())
    }

    /// Records a run's progress, or its end when `status` is not `running`.
    pub async fn update_run(&self, run: &SyncRun) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let errors: Vec<&String> = run.errors.iter().take(RUN_ERRORS_KEPT).collect();
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE sync_runs SET status = $3, finished_at = $4, read = $5, created = $6, updated = $7, \
                   unchanged = $8, deleted = $9, failed = $10, total = $11, errors = $12, updated_at = $13 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(run.workspace_id.as_uuid())
            .bind(run.id)
            .bind(run.status.as_str())
            .bind(run.finished_at)
            .bind(db_count(run.read))
            .bind(db_count(run.created))
            .bind(db_count(run.updated))
            .bind(db_count(run.unchanged))
            .bind(db_count(run.deleted))
            .bind(db_count(run.failed))
            .bind(run.total.map(db_count))
            .bind(Json(errors))
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// The latest runs across workspaces, newest first.
    pub async fn recent_runs(&self, limit: u32) -> Result<Vec<SyncRun>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<RunRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY started_at DESC, id DESC LIMIT $1"))
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(rows.into_iter().map(SyncRun::from).collect())
    }

    /// Moves a workspace's outbox (leads and deal registrations) into each
    /// CRM sink's pushes; what has no sink to go to is simply taken off. Returns how many
    /// outbox entries were taken.
    pub async fn fan_out_leads(&self, ws: WorkspaceId) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let upsert = "ON CONFLICT (workspace_id, connection_id, entity, entity_id) DO UPDATE SET status = 'pending', \
              changed_at = excluded.changed_at, attempts = 0, due_at = excluded.due_at, updated_at = excluded.updated_at \
            WHERE crm_pushes.changed_at < excluded.changed_at";
        let taken = match &mut tx {
            // One statement: an entry changed again meanwhile is taken with
            // its newest time or stays for the next round.
            Tx::Postgres(t) => sqlx::query(&format!(
                "WITH taken AS (DELETE FROM crm_outbox WHERE workspace_id = $1 RETURNING entity, entity_id, changed_at), \
                   pushed AS (INSERT INTO crm_pushes (workspace_id, connection_id, entity, entity_id, status, changed_at, attempts, due_at, updated_at) \
                     SELECT $1, c.id, t.entity, t.entity_id, 'pending', t.changed_at, 0, $2, $2 FROM taken t \
                     JOIN connections c ON c.workspace_id = $1 AND c.purpose = 'crm-sink' AND c.status <> 'paused' \
                     {upsert} RETURNING 1) \
                 SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM pushed)"
            ))
            .bind(ws.as_uuid())
            .bind(at)
            .fetch_one(&mut **t)
            .await
            .and_then(|r| sqlx::Row::try_get::<i64, _>(&r, 0))?,
            // SQLite writes one at a time: two statements are as good as one.
            Tx::Sqlite(t, _) => {
                sqlx::query(&format!(
                    "INSERT INTO crm_pushes (workspace_id, connection_id, entity, entity_id, status, changed_at, attempts, due_at, updated_at) \
                     SELECT $1, c.id, o.entity, o.entity_id, 'pending', o.changed_at, 0, $2, $2 FROM crm_outbox o \
                     JOIN connections c ON c.workspace_id = $1 AND c.purpose = 'crm-sink' AND c.status <> 'paused' \
                     WHERE o.workspace_id = $1 {upsert}"
                ))
                .bind(ws.as_uuid())
                .bind(at)
                .execute(&mut **t)
                .await?;
                let n = sqlx::query("DELETE FROM crm_outbox WHERE workspace_id = $1")
                    .bind(ws.as_uuid())
                    .execute(&mut **t)
                    .await?
                    .rows_affected();
                i64::try_from(n).unwrap_or(i64::MAX)
            }
        };
        tx.commit().await?;
        Ok(u64::try_from(taken).unwrap_or_default())
    }

    /// Up to `limit` leads due to be pushed to CRM sink `conn`.
    pub async fn due_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> Result<Vec<DuePush>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows = on_tx!(tx, c => {
            let rows = sqlx::query(&format!(
                "SELECT {}, p.changed_at AS push_changed_at, p.attempts AS push_attempts, v.name AS vendor_name \
                 FROM crm_pushes p JOIN leads x ON x.workspace_id = p.workspace_id AND x.id = p.entity_id \
                 LEFT JOIN vendors v ON v.id = x.vendor_id \
                 WHERE p.workspace_id = $1 AND p.connection_id = $2 AND p.entity = 'lead' \
                   AND p.status = 'pending' AND p.due_at <= $3 \
                 ORDER BY p.due_at, p.entity_id LIMIT $4",
                crate::partner::prefixed("x", LEAD_COLUMNS)
            ))
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(now())
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                use sqlx::{FromRow, Row};
                let lead = LeadRow::from_row(r)?;
                let changed_at: DateTime<Utc> = r.try_get("push_changed_at")?;
                let attempts: i32 = r.try_get("push_attempts")?;
                let vendor: Option<String> = r.try_get("vendor_name")?;
                out.push((lead, changed_at, attempts, vendor));
            }
            out
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(lead, changed_at, attempts, vendor)| {
                Ok(DuePush {
                    lead: Lead::try_from(lead)?,
                    vendor,
                    changed_at,
                    attempts: u32::try_from(attempts).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Records what became of pushes; a push whose lead or registration
    /// changed again meanwhile stays pending.
    pub async fn record_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        entity: CrmEntity,
        results: &[(Uuid, DateTime<Utc>, PushResult)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        for (id, changed_at, result) in results {
            let (status, remote, error, due) = match result {
                PushResult::Pushed { remote_id } => ("pushed", remote_id.clone(), None, at),
                PushResult::Failed { error, retry_at } => match retry_at {
                    Some(when) => ("pending", None, Some(error.clone()), *when),
                    None => ("failed", None, Some(error.clone()), at),
                },
            };
            on_tx!(tx, c => {
                sqlx::query(
                    "UPDATE crm_pushes SET status = $5, attempts = attempts + 1, due_at = $6, \
                       remote_id = COALESCE($7, remote_id), last_error = $8, \
                       pushed_at = CASE WHEN $5 = 'pushed' THEN $9 ELSE pushed_at END, updated_at = $9 \
                     WHERE workspace_id = $1 AND connection_id = $2 AND entity = $10 AND entity_id = $3 AND changed_at = $4",
                )
                .bind(ws.as_uuid())
                .bind(conn.as_uuid())
                .bind(*id)
                .bind(*changed_at)
                .bind(status)
                .bind(due)
                .bind(remote)
                .bind(error)
                .bind(at)
                .bind(entity.as_str())
                .execute(&mut *c)
                .await?;
            });
        }
        tx.commit().await
    }

    /// Deal registrations waiting for a sink that takes no deals are let go.
    pub async fn skip_deal_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE crm_pushes SET status = 'skipped', updated_at = $3 \
                 WHERE workspace_id = $1 AND connection_id = $2 AND entity = 'deal' AND status = 'pending'",
            )
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(now())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(n)
    }

    /// Up to `limit` deal registrations due to be pushed to CRM sink `conn`.
    pub async fn due_deal_pushes(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> Result<Vec<DueDealPush>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows = on_tx!(tx, c => {
            let rows = sqlx::query(&format!(
                "SELECT {}, p.changed_at AS push_changed_at, p.attempts AS push_attempts, v.name AS vendor_name \
                 FROM crm_pushes p JOIN deal_registrations x ON x.workspace_id = p.workspace_id AND x.id = p.entity_id \
                 JOIN vendors v ON v.id = x.vendor_id \
                 WHERE p.workspace_id = $1 AND p.connection_id = $2 AND p.entity = 'deal' \
                   AND p.status = 'pending' AND p.due_at <= $3 \
                 ORDER BY p.due_at, p.entity_id LIMIT $4",
                crate::partner::prefixed("x", crate::partner::DEAL_COLUMNS)
            ))
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(now())
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                use sqlx::{FromRow, Row};
                let deal = crate::rows::DealRow::from_row(r)?;
                let changed_at: DateTime<Utc> = r.try_get("push_changed_at")?;
                let attempts: i32 = r.try_get("push_attempts")?;
                let vendor: String = r.try_get("vendor_name")?;
                out.push((deal, changed_at, attempts, vendor));
            }
            out
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(deal, changed_at, attempts, vendor)| {
                Ok(DueDealPush {
                    deal: onepane_domain::deal::DealRegistration::try_from(deal)?,
                    vendor,
                    changed_at,
                    attempts: u32::try_from(attempts).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Takes a pending authorization by its state's digest, once; `None`
    /// when unknown, used or expired.
    pub async fn take_oauth_state(&self, digest: &[u8]) -> Result<Option<OAuthState>, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        type Row = (Uuid, Uuid, Vec<u8>, String, DateTime<Utc>);
        let row: Option<Row> = on_tx!(tx, c => {
            sqlx::query_as(
                "DELETE FROM oauth_states WHERE digest = $1 \
                 RETURNING workspace_id, connection_id, sealed_verifier, redirect_uri, expires_at",
            )
            .bind(digest)
            .fetch_optional(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(row.filter(|r| r.4 > now()).map(
            |(ws, conn, sealed_verifier, redirect_uri, expires_at)| OAuthState {
                workspace_id: WorkspaceId::from_uuid(ws),
                connection_id: ConnectionId::from_uuid(conn),
                sealed_verifier,
                redirect_uri,
                expires_at,
            },
        ))
    }
}

impl PartnerStore {
    /// One of the workspace's connections.
    pub async fn connection(&self, id: ConnectionId) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<ConnectionRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE workspace_id = $1 AND id = $2"))
                .bind(self.workspace_id().as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        row.ok_or_else(|| StoreError::not_found("connection", id))?
            .try_into()
    }

    /// Replaces a connection's settings (checked by the caller, as when it
    /// was made); its secrets, runs and stream positions stay.
    pub async fn set_connection_settings(
        &self,
        id: ConnectionId,
        settings: &serde_json::Value,
    ) -> Result<Connection, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<ConnectionRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE connections SET settings = $3 WHERE workspace_id = $1 AND id = $2 \
                 RETURNING {CONNECTION_COLUMNS}"
            ))
            .bind(self.workspace_id().as_uuid())
            .bind(id.as_uuid())
            .bind(Json(settings))
            .fetch_optional(&mut *c)
            .await?
        });
        let row = row.ok_or_else(|| StoreError::not_found("connection", id))?;
        tx.commit().await?;
        row.try_into()
    }

    /// Stores (or replaces) a sealed secret of a connection.
    pub async fn put_connection_secret(
        &self,
        id: ConnectionId,
        field: &str,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO connection_secrets (workspace_id, connection_id, field, sealed, version, updated_at) \
                 VALUES ($1, $2, $3, $4, 1, $5) \
                 ON CONFLICT (workspace_id, connection_id, field) DO UPDATE SET sealed = excluded.sealed, \
                   version = connection_secrets.version + 1, claimed_by = NULL, claimed_until = NULL, \
                   updated_at = excluded.updated_at",
            )
            .bind(self.workspace_id().as_uuid())
            .bind(id.as_uuid())
            .bind(field)
            .bind(sealed)
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// Starts an authorization of a connection: its state's digest and
    /// sealed PKCE verifier, until `expires_at`.
    pub async fn start_oauth(
        &self,
        id: ConnectionId,
        digest: &[u8],
        sealed_verifier: &[u8],
        redirect_uri: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO oauth_states (digest, workspace_id, connection_id, sealed_verifier, redirect_uri, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(digest)
            .bind(self.workspace_id().as_uuid())
            .bind(id.as_uuid())
            .bind(sealed_verifier)
            .bind(redirect_uri)
            .bind(expires_at)
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// A connection's runs, newest first.
    pub async fn sync_runs(
        &self,
        id: ConnectionId,
        limit: u32,
    ) -> Result<Vec<SyncRun>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<RunRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "SELECT {RUN_COLUMNS} FROM sync_runs WHERE workspace_id = $1 AND connection_id = $2 \
                 ORDER BY started_at DESC, id DESC LIMIT $3"
            ))
            .bind(self.workspace_id().as_uuid())
            .bind(id.as_uuid())
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(rows.into_iter().map(SyncRun::from).collect())
    }

    /// How a CRM sink's pushes stand.
    pub async fn push_counts(&self, id: ConnectionId) -> Result<PushCounts, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<(String, i64)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT status, count(*) FROM crm_pushes WHERE workspace_id = $1 AND connection_id = $2 AND entity = 'lead' GROUP BY status")
                .bind(self.workspace_id().as_uuid())
                .bind(id.as_uuid())
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        let mut counts = PushCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or_default();
            match status.as_str() {
                "pending" => counts.pending = n,
                "pushed" => counts.pushed = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// Seeds a new CRM sink with every lead and deal registration of its
/// workspace.
pub(crate) async fn seed_pushes(
    tx: &mut Tx,
    ws: WorkspaceId,
    conn: ConnectionId,
) -> Result<(), StoreError> {
    let at = now();
    for (entity, table) in [("lead", "leads"), ("deal", "deal_registrations")] {
        on_tx!(*tx, c => {
            sqlx::query(&format!(
                "INSERT INTO crm_pushes (workspace_id, connection_id, entity, entity_id, status, changed_at, attempts, due_at, updated_at) \
                 SELECT workspace_id, $2, $4, id, 'pending', updated_at, 0, $3, $3 FROM {table} WHERE workspace_id = $1"
            ))
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(at)
            .bind(entity)
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(())
}
