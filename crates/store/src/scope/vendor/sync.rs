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

use chrono::{DateTime, Utc};

use onepane_domain::lead::*;
use onepane_domain::record::*;
use onepane_domain::workspace::VendorLink;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::codec::DbDecimal;
use crate::tables::LOOKUP_CHUNK;
use crate::tables::leads::*;
use crate::tables::outbox::{CrmEntity, has_crm_sink, lock_crm_sinks, mark_all_changed};
use crate::tables::sources::*;
use crate::tx::{Access, Conn, Tx, on_tx};
use crate::{StoreError, now};

use super::VendorStore;

/// A record of a page that differs from what the source gave before.
struct Changed<'r> {
    /// Its place in the page.
    index: usize,
    /// Its key in the stream.
    key: &'r str,
    /// Its content hash.
    hash: &'r [u8],
    /// The record.
    record: &'r Record,
    /// Whether the source gave it before.
    before: bool,
}

/// A record written: its key, its content hash, and whether the source
/// gave it before.
type Written<'r> = (&'r str, &'r [u8], bool);

/// Sorts a page's records into those that changed and the keys of those
/// that did not (by their content hashes).
fn sort_out_changed<'r>(
    records: &'r [(String, Vec<u8>, &'r Record)],
    known: &HashMap<String, Vec<u8>>,
) -> (Vec<Changed<'r>>, Vec<&'r str>) {
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    for (index, (key, hash, record)) in records.iter().enumerate() {
        let before = known.get(key.as_str());
        if before == Some(hash) {
            unchanged.push(key.as_str());
        } else {
            changed.push(Changed {
                index,
                key,
                hash,
                record,
                before: before.is_some(),
            });
        }
    }
    (changed, unchanged)
}

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
        let link = self.work_in(&mut tx, ws).await?;
        let (changed, mut unchanged) = if page.records.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.changed_records(&mut tx, ws, conn, page).await?
        };
        let mut counts = PageCounts::default();
        let at = now();
        // Leads and price items, the streams that run to hundreds of
        // thousands, are written a chunk per statement; the rest one by one.
        let written = match page.stream {
            Stream::Leads => {
                self.write_lead_records(&mut tx, ws, &changed, &mut unchanged)
                    .await?
            }
            Stream::PriceItems => {
                self.write_price_item_records(&mut tx, ws, &changed, &mut counts.failed, at)
                    .await?
            }
            Stream::DealStatus => {
                self.write_deal_status_records(
                    &mut tx,
                    ws,
                    &changed,
                    &mut unchanged,
                    &mut counts.failed,
                )
                .await?
            }
            _ => {
                self.write_content_records(&mut tx, &link, &changed, &mut unchanged, at)
                    .await?
            }
        };
        for (_, _, before) in &written {
            if *before {
                counts.updated += 1;
            } else {
                counts.created += 1;
            }
        }
        // A lead keeps its own hash (written with it).
        if page.stream != Stream::Leads {
            self.remember_records(&mut tx, ws, conn, page, &written)
                .await?;
        }
        counts.unchanged = unchanged.len() as u64;
        if let Some((request, seen)) = &page.seen_page {
            self.keep_seen_page(&mut tx, ws, conn, page.stream, request, seen.as_ref())
                .await?;
        }
        self.save_position(&mut tx, ws, conn, page, at).await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Writes a page's changed leads, except those the partner already
    /// acted on (which count as unchanged).
    async fn write_lead_records<'r>(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        changed: &[Changed<'r>],
        unchanged: &mut Vec<&'r str>,
    ) -> Result<Vec<Written<'r>>, StoreError> {
        let leads: Vec<(&NewVendorLead, &[u8])> = changed
            .iter()
            .filter_map(|c| match c.record {
                Record::Lead(new) => Some((new, c.hash)),
                _ => None,
            })
            .collect();
        let done = self.pull_leads(tx, ws, &leads).await?;
        let mut written = Vec::with_capacity(changed.len());
        for c in changed {
            if done.contains(c.key) {
                written.push((c.key, c.hash, c.before));
            } else {
                unchanged.push(c.key);
            }
        }
        Ok(written)
    }

    /// Writes a page's changed price items into their lists, a chunk per
    /// statement; an item of a list the source has not given is refused.
    async fn write_price_item_records<'r>(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        changed: &[Changed<'r>],
        failed: &mut Vec<RecordError>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Written<'r>>, StoreError> {
        let mut lists: HashMap<&str, Option<(Uuid, String)>> = HashMap::new();
        let mut touched_lists = Vec::new();
        let mut rows = Vec::new();
        let mut written = Vec::with_capacity(changed.len());
        for c in changed {
            let Record::PriceItem { price_list, item } = c.record else {
                continue;
            };
            if !lists.contains_key(price_list.as_str()) {
                let found: Option<(Uuid, String)> = on_tx!(*tx, c => {
                    sqlx::query_as("SELECT id, currency FROM price_lists WHERE workspace_id = $1 AND vendor_id = $2 AND external_id = $3")
                        .bind(ws.as_uuid())
                        .bind(self.v())
                        .bind(price_list.as_str())
                        .fetch_optional(&mut *c)
                        .await?
                });
                lists.insert(price_list.as_str(), found);
            }
            let Some(Some((list_id, currency))) = lists.get(price_list.as_str()) else {
                failed.push(RecordError {
                    at: format!("record {}", c.index),
                    key: Some(c.key.to_owned()),
                    message: format!(
                        "price list `{price_list}` is unknown: the source has not given its terms"
                    ),
                });
                continue;
            };
            if !touched_lists.contains(list_id) {
                touched_lists.push(*list_id);
            }
            rows.push((*list_id, currency.clone(), item));
            written.push((c.key, c.hash, c.before));
        }
        for chunk in rows.chunks(LOOKUP_CHUNK) {
            on_tx!(*tx, c => {
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
        // Pricing caches key on the list's updated_at.
        for list in touched_lists {
            on_tx!(*tx, c => {
                sqlx::query("UPDATE price_lists SET updated_at = $3 WHERE workspace_id = $1 AND id = $2")
                    .bind(ws.as_uuid())
                    .bind(list)
                    .bind(at)
                    .execute(&mut *c)
                    .await?;
            });
        }
        Ok(written)
    }

    /// Applies a page of the vendor's decisions read back from its own
    /// system: each names a registration of this workspace by Onepane's id
    /// or by the vendor's own (as its answer to the registration gave it),
    /// and decides it as a decision through the connector API would. A
    /// status for a registration the workspace does not have (one made
    /// elsewhere) is passed over; one already decided is left as it is.
    async fn write_deal_status_records<'r>(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        changed: &[Changed<'r>],
        unchanged: &mut Vec<&'r str>,
        failed: &mut Vec<RecordError>,
    ) -> Result<Vec<Written<'r>>, StoreError> {
        let mut written = Vec::with_capacity(changed.len());
        for c in changed {
            let Record::DealStatus(status) = c.record else {
                unchanged.push(c.key);
                continue;
            };
            let by_ref: Option<(Uuid,)> = match &status.vendor_ref {
                Some(vendor_ref) => on_tx!(*tx, c => {
                    sqlx::query_as(
                        "SELECT subject_id FROM vendor_deliveries WHERE workspace_id = $1 AND vendor_id = $2 \
                         AND vendor_ref = $3 AND kind = 'deal' LIMIT 1",
                    )
                    .bind(ws.as_uuid())
                    .bind(self.v())
                    .bind(vendor_ref.as_str())
                    .fetch_optional(&mut *c)
                    .await?
                }),
                None => None,
            };
            let id = by_ref
                .map(|(id,)| DealRegistrationId::from_uuid(id))
                .or(status.registration);
            let reg = match id {
                Some(id) => match self.fetch_deal(tx, id).await {
                    Ok(reg) if reg.workspace_id == ws => Some(reg),
                    Ok(_) | Err(StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let Some(reg) = reg else {
                unchanged.push(c.key);
                continue;
            };
            let reject = |message: String| RecordError {
                at: format!("record {}", c.index),
                key: Some(c.key.to_owned()),
                message,
            };
            if reg.status == deal::DealStatus::Submitted {
                match status.decision() {
                    Ok(None) => {}
                    Ok(Some(decision)) => match self.decide_in(tx, reg.id, decision).await {
                        Ok(_) => {}
                        Err(StoreError::Rule(message)) => {
                            failed.push(reject(message));
                            continue;
                        }
                        Err(e) => return Err(e),
                    },
                    Err(message) => {
                        failed.push(reject(message));
                        continue;
                    }
                }
            }
            written.push((c.key, c.hash, c.before));
        }
        Ok(written)
    }

    /// Writes a page's changed campaigns, assets, price lists' terms or
    /// tier, one by one.
    async fn write_content_records<'r>(
        &self,
        tx: &mut Tx,
        link: &VendorLink,
        changed: &[Changed<'r>],
        unchanged: &mut Vec<&'r str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Written<'r>>, StoreError> {
        let ws = link.workspace_id;
        let mut written = Vec::with_capacity(changed.len());
        for c in changed {
            match c.record {
                Record::Campaign {
                    external_id,
                    content,
                } => {
                    self.put_campaign_in(tx, link, external_id, content).await?;
                }
                Record::Asset {
                    external_id,
                    content,
                } => {
                    self.put_asset_in(tx, ws, external_id, content).await?;
                }
                Record::PriceList { external_id, terms } => {
                    let list = self.upsert_terms(tx, ws, external_id, terms).await?;
                    on_tx!(*tx, c => {
                        sqlx::query("UPDATE price_items SET currency = $3 WHERE workspace_id = $1 AND price_list_id = $2 AND currency <> $3")
                            .bind(ws.as_uuid())
                            .bind(list.id.as_uuid())
                            .bind(list.terms.currency.code())
                            .execute(&mut *c)
                            .await?;
                    });
                }
                Record::Tier(tier) => {
                    on_tx!(*tx, c => {
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
                Record::Lead(_) | Record::PriceItem { .. } | Record::DealStatus(_) => {
                    unchanged.push(c.key);
                    continue;
                }
            }
            written.push((c.key, c.hash, c.before));
        }
        Ok(written)
    }

    /// Remembers the content hash of each record written, so an unchanged
    /// record is skipped next time and a full pass knows what it had.
    async fn remember_records(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        conn: ConnectionId,
        page: &PageWrite<'_>,
        written: &[Written<'_>],
    ) -> Result<(), StoreError> {
        const UPSERT: &str = " ON CONFLICT (workspace_id, connection_id, stream, key) DO UPDATE SET \
               content_hash = excluded.content_hash";
        match tx.conn() {
            // One statement for the page, its rows as arrays.
            Conn::Postgres(t) => {
                let keys: Vec<&str> = written.iter().map(|w| w.0).collect();
                let hashes: Vec<&[u8]> = written.iter().map(|w| w.1).collect();
                sqlx::query(&format!(
                    "INSERT INTO source_records (workspace_id, connection_id, vendor_id, stream, key, content_hash) \
                     SELECT $1, $2, $3, $4, k.key, k.hash FROM unnest($5::text[], $6::bytea[]) AS k(key, hash){UPSERT}"
                ))
                .bind(ws.as_uuid())
                .bind(conn.as_uuid())
                .bind(self.v())
                .bind(page.stream.as_str())
                .bind(&keys)
                .bind(&hashes)
                .execute(&mut **t)
                .await?;
            }
            Conn::Sqlite(t, _) => {
                for chunk in written.chunks(LOOKUP_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                        "INSERT INTO source_records (workspace_id, connection_id, vendor_id, stream, key, content_hash) ",
                    );
                    insert.push_values(chunk, |mut row, (key, hash, _)| {
                        row.push_bind(ws.as_uuid())
                            .push_bind(conn.as_uuid())
                            .push_bind(self.v())
                            .push_bind(page.stream.as_str())
                            .push_bind(*key)
                            .push_bind(*hash);
                    });
                    insert.push(UPSERT);
                    insert.build().execute(&mut **t).await?;
                }
            }
        }
        Ok(())
    }

    /// What the answers to `stream`'s requests were when last read whole,
    /// by request.
    pub async fn seen_pages(
        &self,
        ws: WorkspaceId,
        conn: ConnectionId,
        stream: Stream,
    ) -> Result<HashMap<String, SeenPage>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        self.work_in(&mut tx, ws).await?;
        type SeenRow = (
            String,
            Vec<u8>,
            Option<Json<serde_json::Value>>,
            Option<i64>,
            i64,
        );
        let rows: Vec<SeenRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT request, fingerprint, next_page, total, records FROM source_pages \
                 WHERE workspace_id = $1 AND connection_id = $2 AND stream = $3",
            )
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(stream.as_str())
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(request, fingerprint, next, total, records)| {
                let seen = SeenPage {
                    fingerprint,
                    next: next.map(|n| n.0),
                    total: total.and_then(|t| u64::try_from(t).ok()),
                    records: u64::try_from(records).unwrap_or_default(),
                };
                (request, seen)
            })
            .collect())
    }

    /// Keeps (or, given none, forgets) what a page's answer was.
    async fn keep_seen_page(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        conn: ConnectionId,
        stream: Stream,
        request: &str,
        seen: Option<&SeenPage>,
    ) -> Result<(), StoreError> {
        on_tx!(*tx, c => {
            match seen {
                Some(seen) => sqlx::query(
                    "INSERT INTO source_pages (workspace_id, connection_id, vendor_id, stream, request, fingerprint, next_page, total, records) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (workspace_id, connection_id, stream, request) DO UPDATE SET \
                       fingerprint = excluded.fingerprint, next_page = excluded.next_page, \
                       total = excluded.total, records = excluded.records",
                )
                .bind(ws.as_uuid())
                .bind(conn.as_uuid())
                .bind(self.v())
                .bind(stream.as_str())
                .bind(request)
                .bind(seen.fingerprint.as_slice())
                .bind(seen.next.as_ref().map(Json))
                .bind(seen.total.and_then(|t| i64::try_from(t).ok()))
                .bind(i64::try_from(seen.records).unwrap_or(i64::MAX))
                .execute(&mut *c)
                .await?,
                None => sqlx::query(
                    "DELETE FROM source_pages WHERE workspace_id = $1 AND connection_id = $2 AND stream = $3 AND request = $4",
                )
                .bind(ws.as_uuid())
                .bind(conn.as_uuid())
                .bind(stream.as_str())
                .bind(request)
                .execute(&mut *c)
                .await?,
            };
        });
        Ok(())
    }

    /// Saves where the stream stands after the page: the next page, the
    /// pass and its highest cursor value.
    async fn save_position(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        conn: ConnectionId,
        page: &PageWrite<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(*tx, c => {
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
            .bind(page.stream.as_str())
            .bind(page.next.as_ref().map(Json))
            .bind(page.pass_id)
            .bind(page.pass_max.as_ref().map(Json))
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// The active link to `ws`. On PostgreSQL the transaction also names
    /// `ws` as the one workspace it works in, so that the vendor policies
    /// check the link once per statement rather than once per row (the
    /// database checks the link itself: naming a workspace grants nothing).
    async fn work_in(&self, tx: &mut Tx, ws: WorkspaceId) -> Result<VendorLink, StoreError> {
        let link = self.ensure_linked(tx, ws).await?;
        if let Conn::Postgres(t) = tx.conn() {
            sqlx::query("SELECT set_config('onepane.vendor_workspace', $1, true)")
                .bind(ws.as_uuid().to_string())
                .execute(&mut **t)
                .await?;
        }
        Ok(link)
    }

    /// Sorts a page's records into those whose content differs from what
    /// the source gave before (by content hash) and the keys of the rest.
    /// On PostgreSQL the hashes are compared in the database, in one
    /// statement, and only the changed records come back.
    async fn changed_records<'r>(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        conn: ConnectionId,
        page: &'r PageWrite<'r>,
    ) -> Result<(Vec<Changed<'r>>, Vec<&'r str>), StoreError> {
        let stream = page.stream.as_str();
        let leads = page.stream == Stream::Leads;
        let t = match tx.conn() {
            Conn::Postgres(t) => t,
            Conn::Sqlite(..) => {
                let keys = page.records.iter().map(|r| r.0.as_str());
                let known = self.known_hashes(tx, ws, conn, page.stream, keys).await?;
                return Ok(sort_out_changed(&page.records, &known));
            }
        };
        let keys: Vec<&str> = page.records.iter().map(|r| r.0.as_str()).collect();
        let hashes: Vec<&[u8]> = page.records.iter().map(|r| r.1.as_slice()).collect();
        // One lookup by a unique key per record (a lateral join): the plan
        // stays the same however big the table has grown and whatever its
        // statistics say. Each row: the record's place, whether the source
        // gave it before, and whether the vendor may write it (a lead the
        // partner has acted on is not the vendor's to change: unchanged).
        let rows: Vec<(i64, bool, bool)> = if leads {
            sqlx::query_as(
                "SELECT k.i, l.id IS NOT NULL, COALESCE(l.source = 'vendor' AND l.status = 'new', true) \
                 FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS k(key, hash, i) \
                 LEFT JOIN LATERAL (SELECT r.id, r.source, r.status, r.source_hash FROM leads r \
                   WHERE r.workspace_id = $1 AND r.external_id = k.key AND r.vendor_id = $2 LIMIT 1) l ON true \
                 WHERE l.source_hash IS DISTINCT FROM k.hash",
            )
            .bind(ws.as_uuid())
            .bind(self.v())
            .bind(&keys)
            .bind(&hashes)
            .fetch_all(&mut **t)
            .await?
        } else {
            sqlx::query_as(
                "SELECT k.i, s.content_hash IS NOT NULL, true \
                 FROM unnest($4::text[], $5::bytea[]) WITH ORDINALITY AS k(key, hash, i) \
                 LEFT JOIN LATERAL (SELECT r.content_hash FROM source_records r \
                   WHERE r.workspace_id = $1 AND r.connection_id = $2 AND r.stream = $3 AND r.key = k.key \
                   LIMIT 1) s ON true \
                 WHERE s.content_hash IS DISTINCT FROM k.hash",
            )
            .bind(ws.as_uuid())
            .bind(conn.as_uuid())
            .bind(stream)
            .bind(&keys)
            .bind(&hashes)
            .fetch_all(&mut **t)
            .await?
        };
        let mut is_changed = vec![None; page.records.len()];
        for (i, before, writable) in rows {
            // Ordinality counts from 1.
            if let Some(slot) = usize::try_from(i - 1)
                .ok()
                .and_then(|i| is_changed.get_mut(i))
                && writable
            {
                *slot = Some(before);
            }
        }
        let mut changed = Vec::with_capacity(is_changed.iter().flatten().count());
        let mut unchanged = Vec::new();
        for (index, ((key, hash, record), before)) in
            page.records.iter().zip(is_changed).enumerate()
        {
            match before {
                Some(before) => changed.push(Changed {
                    index,
                    key,
                    hash,
                    record,
                    before,
                }),
                None => unchanged.push(key.as_str()),
            }
        }
        Ok((changed, unchanged))
    }

    /// The stored content hashes of `keys` (SQLite, where reading them back
    /// costs no round trip): a lead's on the lead itself (none when it was
    /// written otherwise; one the partner acted on is left alone by the
    /// upsert, which counts it unchanged), other records' in
    /// `source_records`.
    async fn known_hashes<'k>(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        conn: ConnectionId,
        stream: Stream,
        keys: impl Iterator<Item = &'k str>,
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let keys: Vec<&str> = keys.collect();
        let mut known = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(LOOKUP_CHUNK) {
            let rows: Vec<(String, Option<Vec<u8>>)> = on_tx!(*tx, c => {
                let mut q = sqlx::QueryBuilder::<Db>::new("");
                if stream == Stream::Leads {
                    q.push("SELECT external_id, source_hash FROM leads WHERE workspace_id = ")
                        .push_bind(ws.as_uuid())
                        .push(" AND vendor_id = ")
                        .push_bind(self.v())
                        .push(" AND external_id IN (");
                } else {
                    q.push("SELECT key, content_hash FROM source_records WHERE workspace_id = ")
                        .push_bind(ws.as_uuid())
                        .push(" AND connection_id = ")
                        .push_bind(conn.as_uuid())
                        .push(" AND stream = ")
                        .push_bind(stream.as_str())
                        .push(" AND key IN (");
                }
                let mut list = q.separated(", ");
                for key in chunk {
                    list.push_bind(*key);
                }
                q.push(")");
                q.build_query_as().fetch_all(&mut *c).await?
            });
            known.extend(
                rows.into_iter()
                    .map(|(key, hash)| (key, hash.unwrap_or_default())),
            );
        }
        Ok(known)
    }

    /// Writes pulled leads with their content hashes, except those the
    /// partner already acted on, marking them in the outbox when the
    /// workspace has a CRM sink; returns the keys written. On PostgreSQL
    /// the page is one statement; on SQLite a chunk per statement.
    async fn pull_leads(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        leads: &[(&NewVendorLead, &[u8])],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if leads.is_empty() {
            return Ok(Default::default());
        }
        let at = now();
        let fresh: Vec<(Lead, &[u8])> = leads
            .iter()
            .map(|(new, hash)| (vendor_lead(ws, self.vendor_id(), new, at), *hash))
            .collect();
        let written = match tx.conn() {
            Conn::Postgres(t) => self.pull_leads_pg(t, ws, fresh, at).await?,
            Conn::Sqlite(t, _) => upsert_vendor_leads_sqlite(t, ws, &fresh, at).await?,
        };
        lock_crm_sinks(tx, ws, true).await?;
        if has_crm_sink(tx, ws).await? {
            let marks: Vec<(Uuid, DateTime<Utc>)> = written.iter().map(|w| (w.0, at)).collect();
            mark_all_changed(tx, ws, CrmEntity::Lead, &marks).await?;
        }
        Ok(written.into_iter().map(|w| w.1).collect())
    }

    /// The page's leads in one upsert. PostgreSQL refuses the whole
    /// statement when one of them is a lead the partner acted on (the
    /// vendor's update policy fails before the upsert's `WHERE`), so then
    /// those are looked up and left out, and the rest written.
    async fn pull_leads_pg(
        &self,
        t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        ws: WorkspaceId,
        mut fresh: Vec<(Lead, &[u8])>,
        at: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        sqlx::query("SAVEPOINT pull_leads")
            .execute(&mut **t)
            .await?;
        let written = match upsert_vendor_leads_pg(t, ws, self.vendor_id(), &fresh, at).await {
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some("42501") =>
            {
                sqlx::query("ROLLBACK TO SAVEPOINT pull_leads")
                    .execute(&mut **t)
                    .await?;
                let keys: Vec<&str> = fresh
                    .iter()
                    .filter_map(|(l, _)| l.external_id.as_ref().map(|e| e.as_str()))
                    .collect();
                let acted: std::collections::HashSet<String> = sqlx::query_scalar(
                    "SELECT external_id FROM leads WHERE workspace_id = $1 AND vendor_id = $2 \
                     AND external_id = ANY($3) AND NOT (source = 'vendor' AND status = 'new')",
                )
                .bind(ws.as_uuid())
                .bind(self.v())
                .bind(&keys)
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .collect();
                fresh.retain(|(l, _)| {
                    l.external_id
                        .as_ref()
                        .is_none_or(|e| !acted.contains(e.as_str()))
                });
                upsert_vendor_leads_pg(t, ws, self.vendor_id(), &fresh, at).await?
            }
            Err(e) => return Err(e),
            Ok(written) => written,
        };
        sqlx::query("RELEASE SAVEPOINT pull_leads")
            .execute(&mut **t)
            .await?;
        Ok(written)
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
        self.work_in(&mut tx, ws).await?;
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
                    Stream::Leads | Stream::Tier | Stream::DealStatus => continue,
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
