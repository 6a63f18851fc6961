//! Deliveries to vendors: what a partner submitted (a deal registration,
//! an answer to a lead) goes to the vendor however the vendor is reached,
//! from the durable outbox the submission wrote.
//!
//! A [`Deliverer`] claims due deliveries with a lease and sends each: to
//! the vendor's own system when one of the workspace's connections to that
//! vendor takes it (a `rest` manifest's action), otherwise it is left for
//! the vendor on Onepane's connector API, where it already is, or mailed
//! to the vendor's channel contact when the partner named one. Every
//! attempt of one sending carries the same idempotency key, so a send that
//! was cut off after the vendor took it is not a second record there; a
//! transient failure is retried with backoff until the last attempt, a
//! refusal is kept with the vendor's message for the partner to read.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use onepane_connector::{BoxFuture, ConnectorError, DealToRegister, Delivered, LeadAnswer};
use onepane_domain::delivery::DeliveryRoute;
use onepane_domain::text::Email;
use onepane_store::{DeliveryOutcome, DeliverySubject, DueVendorDelivery, StoreError};

use crate::engine::Engine;

/// Mails a registration to a vendor's channel contact, with links to
/// decide it (the server's mail and public pages).
pub trait RegistrationMailer: Send + Sync + std::fmt::Debug {
    /// Mails `due`'s registration to `to`; an error is retried.
    fn mail_registration<'a>(
        &'a self,
        to: &'a Email,
        due: &'a DueVendorDelivery,
    ) -> BoxFuture<'a, Result<(), String>>;
}

impl Engine {
    /// Sends one claimed delivery and says how it went (the caller records
    /// it). A registration no connection takes goes by mail to the vendor's
    /// channel contact when the partner named one and `mailer` is given.
    pub async fn deliver(
        &self,
        due: &DueVendorDelivery,
        mailer: Option<&dyn RegistrationMailer>,
    ) -> DeliveryOutcome {
        let key = due.delivery.idempotency_key();
        for conn in &due.connections {
            let Ok(source) = self.registry().source(conn) else {
                continue;
            };
            let takes = match &due.subject {
                DeliverySubject::Deal { .. } => source.registers_deals(),
                DeliverySubject::LeadAnswer { .. } => source.answers_leads(),
            };
            if !takes {
                continue;
            }
            let io = match self.io_for(conn, source.rate_limit()).await {
                Ok(io) => io,
                Err(message) => return self.again_or_fail(due, message, None),
            };
            let sent = match &due.subject {
                DeliverySubject::Deal {
                    deal,
                    lead_external_id,
                } => {
                    let deal = DealToRegister {
                        deal: (**deal).clone(),
                        lead_external_id: lead_external_id.clone(),
                        idempotency_key: key.clone(),
                    };
                    source.register_deal(&io, &deal).await
                }
                DeliverySubject::LeadAnswer { lead, answer } => {
                    let answer = LeadAnswer {
                        lead: (**lead).clone(),
                        accepted: answer.accepted,
                        reason: answer.reason.clone(),
                        idempotency_key: key.clone(),
                    };
                    source.answer_lead(&io, &answer).await
                }
            };
            return match sent {
                Ok(Delivered::Sent { vendor_ref, .. }) => DeliveryOutcome::Sent {
                    route: DeliveryRoute::VendorSystem,
                    connection: Some(conn.id),
                    vendor_ref,
                },
                Ok(Delivered::Refused { message }) => DeliveryOutcome::Refused {
                    connection: Some(conn.id),
                    message,
                },
                Err(e) => self.failed_send(due, &e),
            };
        }
        if let (DeliverySubject::Deal { .. }, Some(to), Some(mailer)) =
            (&due.subject, &due.contact, mailer)
        {
            return match mailer.mail_registration(to, due).await {
                Ok(()) => DeliveryOutcome::Sent {
                    route: DeliveryRoute::Email,
                    connection: None,
                    vendor_ref: None,
                },
                Err(message) => self.again_or_fail(due, message, None),
            };
        }
        match &due.subject {
            // No connection reaches the vendor's system: the vendor reads
            // the registration on Onepane's connector API (and was told by
            // its webhook).
            DeliverySubject::Deal { .. } => DeliveryOutcome::Sent {
                route: DeliveryRoute::OnepaneApi,
                connection: None,
                vendor_ref: None,
            },
            // A lead pulled from the vendor's system whose system takes no
            // answers: the vendor cannot learn the answer through Onepane.
            DeliverySubject::LeadAnswer { .. } if !due.connections.is_empty() => {
                DeliveryOutcome::Unsupported {
                    message: "this vendor does not take answers through Onepane".into(),
                }
            }
            DeliverySubject::LeadAnswer { .. } => DeliveryOutcome::Sent {
                route: DeliveryRoute::OnepaneApi,
                connection: None,
                vendor_ref: None,
            },
        }
    }

    fn failed_send(&self, due: &DueVendorDelivery, e: &ConnectorError) -> DeliveryOutcome {
        if e.is_transient() {
            self.again_or_fail(due, e.to_string(), e.retry_after())
        } else {
            DeliveryOutcome::Failed {
                message: e.to_string(),
            }
        }
    }

    /// Tried again later (after the wait the vendor asked for, else with
    /// backoff), until the last attempt.
    fn again_or_fail(
        &self,
        due: &DueVendorDelivery,
        message: String,
        after: Option<Duration>,
    ) -> DeliveryOutcome {
        if due.delivery.attempts + 1 >= self.config().push_max_attempts {
            return DeliveryOutcome::Failed { message };
        }
        let wait = after
            .and_then(|a| chrono::Duration::from_std(a).ok())
            .unwrap_or_else(|| self.push_backoff(due.delivery.attempts));
        DeliveryOutcome::Retry {
            message,
            at: Utc::now() + wait,
        }
    }
}

/// Claims due deliveries and sends them, a batch at a time.
#[derive(Debug, Clone)]
pub struct Deliverer {
    engine: Engine,
    lease: chrono::Duration,
    batch: u32,
    mailer: Option<Arc<dyn RegistrationMailer>>,
}

impl Deliverer {
    /// A deliverer that holds each claimed delivery for `lease` (another
    /// takes it over after that if this one died).
    pub fn new(engine: Engine, lease: Duration) -> Self {
        Self {
            engine,
            lease: chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60)),
            batch: 50,
            mailer: None,
        }
    }

    /// Mails registrations for vendors with no system to their channel
    /// contacts through `mailer`.
    pub fn with_mailer(mut self, mailer: Arc<dyn RegistrationMailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Claims what is due and sends it, up to eight at once; returns how
    /// many it sent.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let system = self.engine.store().system();
        let due = system
            .claim_vendor_deliveries(self.batch, self.lease)
            .await?;
        let n = due.len();
        let mut tasks = tokio::task::JoinSet::new();
        let mut due = due.into_iter();
        loop {
            while tasks.len() < 8 {
                let Some(d) = due.next() else { break };
                let engine = self.engine.clone();
                let mailer = self.mailer.clone();
                tasks.spawn(async move {
                    let outcome = engine.deliver(&d, mailer.as_deref()).await;
                    tracing::info!(
                        delivery = %d.delivery.id,
                        kind = %d.delivery.kind,
                        vendor = %d.delivery.vendor_id,
                        outcome = ?outcome,
                        "delivery attempted"
                    );
                    engine
                        .store()
                        .system()
                        .record_vendor_delivery(&d.delivery, &outcome)
                        .await
                });
            }
            match tasks.join_next().await {
                Some(Ok(recorded)) => recorded?,
                Some(Err(e)) => tracing::warn!(error = %e, "a delivery task failed"),
                None => break,
            }
        }
        Ok(n)
    }

    /// Delivers (and announces what vendors newly published) until
    /// `shutdown` resolves: when nothing is due it waits
    /// for `wake` (notified by this process as it queues a delivery), or
    /// `idle` at most (what another replica queued).
    pub async fn run(
        self,
        idle: Duration,
        wake: Arc<tokio::sync::Notify>,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let mut idle_now = match self.run_once().await {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim deliveries to vendors");
                    true
                }
            };
            // New content vendors published, told to their partners a
            // batch at a time.
            match self
                .engine
                .store()
                .system()
                .announce_content(onepane_store::ANNOUNCE_BATCH)
                .await
            {
                Ok(Some(told)) => {
                    tracing::debug!(told, "announced new content");
                    idle_now = false;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot announce new content"),
            }
            if idle_now {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(idle) => {}
                }
            }
        }
    }
}
