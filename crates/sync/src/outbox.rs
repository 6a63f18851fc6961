//! The CRM outbox, one entity at a time. Leads and deal registrations are
//! pushed the same way (batches of the sink's size, each record's result
//! recorded against the change pushed); what differs is here: how the due
//! records are read, how a batch is sent, and which entity the results are
//! recorded under. The engine's one push path does the rest.

use std::future::Future;

use chrono::{DateTime, Utc};
use onepane_connector::{BoxFuture, ConnectorError, DealPush, Io, LeadPush, PushOutcome, Sink};
use onepane_domain::{ConnectionId, WorkspaceId};
use onepane_store::{CrmEntity, StoreError, SystemStore};
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

/// One entity's outbox: what the push path needs to know of it.
pub(crate) trait Outbox {
    /// What the sink is sent for each record.
    type Item: Send + Sync;

    /// The entity its results are recorded under.
    const ENTITY: CrmEntity;

    /// Up to `limit` due records of the connection, each with what the sink
    /// is sent for it.
    fn due(
        system: &SystemStore,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(Due, Self::Item)>, StoreError>> + Send;

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
    type Item = LeadPush;

    const ENTITY: CrmEntity = CrmEntity::Lead;

    async fn due(
        system: &SystemStore,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> Result<Vec<(Due, LeadPush)>, StoreError> {
        let due = system.due_pushes(ws, conn, limit).await?;
        Ok(due
            .into_iter()
            .map(|d| {
                let due = Due {
                    id: d.lead.id.as_uuid(),
                    changed_at: d.changed_at,
                    attempts: d.attempts,
                    what: format!("lead {}", d.lead.id),
                };
                let item = LeadPush {
                    lead: d.lead,
                    vendor: d.vendor,
                };
                (due, item)
            })
            .collect())
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
    type Item = DealPush;

    const ENTITY: CrmEntity = CrmEntity::Deal;

    async fn due(
        system: &SystemStore,
        ws: WorkspaceId,
        conn: ConnectionId,
        limit: u32,
    ) -> Result<Vec<(Due, DealPush)>, StoreError> {
        let due = system.due_deal_pushes(ws, conn, limit).await?;
        Ok(due
            .into_iter()
            .map(|d| {
                let due = Due {
                    id: d.deal.id.as_uuid(),
                    changed_at: d.changed_at,
                    attempts: d.attempts,
                    what: format!("deal registration {}", d.deal.id),
                };
                let item = DealPush {
                    deal: d.deal,
                    vendor: d.vendor,
                };
                (due, item)
            })
            .collect())
    }

    fn send<'a>(
        sink: &'a dyn Sink,
        io: &'a Io,
        batch: &'a [DealPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        sink.push_deals(io, batch)
    }
}
