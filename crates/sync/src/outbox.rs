//! The CRM outbox, one entity at a time. Leads and deal registrations are
//! pushed the same way (batches of the sink's size, each record's result
//! recorded against the change pushed); what differs is here: how the due
//! records are read, how a batch is sent, and which entity the results are
//! recorded under. The engine's one push path does the rest.

use std::future::Future;

use chrono::{DateTime, Utc};
use onepane_connector::{BoxFuture, ConnectorError, DealPush, Io, LeadPush, PushOutcome, Sink};
use onepane_domain::{ConnectionId, WorkspaceId};
use onepane_store::{CrmEntity, DueDealPush, DuePush, StoreError, SystemStore};
use uuid::Uuid;

/// A record due to be pushed, as the push path records its result.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    /// The record's id (the lead's or the registration's).
    pub(crate) id: Uuid,
    /// The change pushed: its result is recorded against it, so a newer
    /// change stays pending.
    pub(crate) changed_at: DateTime<Utc>,
    /// Attempts so far.
    pub(crate) attempts: u32,
    /// Its name in the run's messages.
    pub(crate) what: String,
}

impl Due {
    fn new(id: Uuid, changed_at: DateTime<Utc>, attempts: u32, what: String) -> Self {
        Self {
            id,
            changed_at,
            attempts,
            what,
        }
    }
}

/// One entity's outbox: what the push path needs to know of it.
pub(crate) trait Outbox {
    /// A due record as the store reads it.
    type Row: Send;
    /// What the sink is sent for each record.
    type Item: Send + Sync;

    /// The entity its results are recorded under.
    const ENTITY: CrmEntity;

    /// Up to `limit` due records of the connection.
    fn due(
        system: &SystemStore,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;

    /// A due record as the push path records it, and what the sink is sent.
    fn split(row: Self::Row) -> (Due, Self::Item);

    /// Sends a batch; the outcomes come back in the batch's order.
    fn send<'a>(
        sink: &'a dyn Sink,
        io: &'a Io,
        batch: &'a [Self::Item],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>>;
}

/// The workspace's leads, pushed to every CRM sink.
#[derive(Debug)]
pub(crate) struct Leads;

impl Outbox for Leads {
    type Row = DuePush;
    type Item = LeadPush;

    const ENTITY: CrmEntity = CrmEntity::Lead;

    fn due(
        system: &SystemStore,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DuePush>, StoreError>> + Send {
        system.due_pushes(ws, conn, limit)
    }

    fn split(row: DuePush) -> (Due, LeadPush) {
        let what = format!("lead {}", row.lead.id);
        let due = Due::new(row.lead.id.as_uuid(), row.changed_at, row.attempts, what);
        let item = LeadPush {
            lead: row.lead,
            vendor: row.vendor,
        };
        (due, item)
    }

    fn send<'a>(
        sink: &'a dyn Sink,
        io: &'a Io,
        batch: &'a [LeadPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        sink.push_leads(io, batch)
    }
}

/// The workspace's deal registrations, pushed to the CRM sinks that take
/// deals.
#[derive(Debug)]
pub(crate) struct Deals;

impl Outbox for Deals {
    type Row = DueDealPush;
    type Item = DealPush;

    const ENTITY: CrmEntity = CrmEntity::Deal;

    fn due(
        system: &SystemStore,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDealPush>, StoreError>> + Send {
        system.due_deal_pushes(ws, conn, limit)
    }

    fn split(row: DueDealPush) -> (Due, DealPush) {
        let what = format!("deal registration {}", row.deal.id);
        let due = Due::new(row.deal.id.as_uuid(), row.changed_at, row.attempts, what);
        let item = DealPush {
            deal: row.deal,
            vendor: row.vendor,
        };
        (due, item)
    }

    fn send<'a>(
        sink: &'a dyn Sink,
        io: &'a Io,
        batch: &'a [DealPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        sink.push_deals(io, batch)
    }
}
