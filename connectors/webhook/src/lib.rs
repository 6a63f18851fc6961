//! Webhook CRM sink: for CRMs without a connector, each lead change is one
//! signed JSON `POST` to a URL the partner configures.
//!
//! # What the receiver gets
//!
//! One `POST` per lead with these headers:
//!
//! - `Content-Type: application/json`
//! - `Onepane-Event: lead.changed`
//! - `Onepane-Delivery` and `Idempotency-Key`: the delivery id,
//!   `<lead id>:<updated_at>`; the same on every retry of the same change,
//!   so a receiver can drop duplicates with it
//! - `Onepane-Signature: t=<unix seconds>,v1=<hex>`, checked with [`verify`]
//!   (see [`onepane_connector::signature`] for the recipe in other languages)
//!
//! and a body like
//!
//! ```json
//! {"type": "lead.changed", "id": "<lead id>:<updated_at>", "occurred_at": "<updated_at>",
//!  "data": {"id": "...", "status": "accepted", "source": "vendor",
//!           "vendor": {"id": "...", "name": "Printers Inc"}, "campaign_id": null,
//!           "external_id": "L-1", "contact": {...}, "company": {...}, "message": "...",
//!           "respond_by": null, "created_at": "...", "updated_at": "..."}}
//! ```
//!
//! # What its answer means
//!
//! - 2xx: pushed. A JSON answer with a string `id` is kept as the CRM's id.
//! - 408, 429, 5xx, a timeout or a broken connection: failed, retryable
//!   (the SDK's client has already retried 429 and 5xx with backoff).
//! - 3xx: failed, not retried; redirects are never followed.
//! - 401: the receiver refuses Onepane itself (a wrong secret, most often),
//!   so the whole push fails; any other 4xx fails that one lead, not retried.
//!
//! Delivery is at least once: the same change may arrive twice.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use onepane_connector::{
    BoxFuture, ConnectorError, HttpError, Io, LeadPush, PushOutcome, Secret, Sink,
};
use onepane_domain::lead::{Company, Contact, Lead, LeadSource, LeadStatus};
use onepane_domain::text::{ExternalId, LongText};
use onepane_domain::{CampaignId, LeadId, VendorId};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};
use url::Url;

pub use onepane_connector::signature::{SIGNATURE_HEADER, sign, verify};

/// The header carrying the event's type.
pub const EVENT_HEADER: &str = "Onepane-Event";
/// The header carrying the delivery id.
pub const DELIVERY_HEADER: &str = "Onepane-Delivery";
/// The header carrying the delivery id again, under the name many
/// receivers already dedupe by.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The type of every event this sink sends.
pub const LEAD_CHANGED: &str = "lead.changed";

/// Leads per [`Sink::push_leads`] call: each is its own request, so this
/// only bounds how long one call takes.
const BATCH_SIZE: usize = 50;

/// The connection's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// Where to post; `http` or `https` (the address policy decides which
    /// hosts may be reached).
    url: Url,
}

/// The webhook CRM sink: one signed `POST` per lead change.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    url: Url,
    secret: Arc<Secret>,
}

impl WebhookSink {
    /// A sink from the connection's settings (`{"url": "https://..."}`) and
    /// the signing secret the partner's receiver checks with.
    pub fn from_settings(
        settings: &serde_json::Value,
        secret: Secret,
    ) -> Result<Self, ConnectorError> {
        let settings: Settings = serde_json::from_value(settings.clone())
            .map_err(|e| ConnectorError::Config(format!("webhook settings: {e}")))?;
        let url = settings.url;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ConnectorError::Config(format!(
                "the webhook URL must be https (or http), not `{}`",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConnectorError::Config(
                "the webhook URL must name a host".into(),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Credentials in a URL end up in logs; the signature is the
            // receiver's proof of who is calling.
            return Err(ConnectorError::Config(
                "the webhook URL must not carry a user name or password".into(),
            ));
        }
        if secret.expose().trim().is_empty() {
            return Err(ConnectorError::Config(
                "the webhook needs a signing secret".into(),
            ));
        }
        Ok(Self {
            url,
            secret: Arc::new(secret),
        })
    }

    /// The URL leads are posted to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    #[tracing::instrument(name = "webhook.push_leads", skip_all, fields(leads = leads.len()))]
    async fn push(&self, io: &Io, leads: &[LeadPush]) -> Result<Vec<PushOutcome>, ConnectorError> {
        let mut outcomes = Vec::with_capacity(leads.len());
        let mut unavailable: Option<String> = None;
        for push in leads {
            if let Some(reason) = &unavailable {
                outcomes.push(PushOutcome::Failed {
                    message: format!(
                        "not sent: the receiver was unavailable for an earlier lead of the batch ({reason})"
                    ),
                    retryable: true,
                });
                continue;
            }
            let outcome = match self.deliver(io, push).await {
                Delivered::Outcome(outcome) => outcome,
                Delivered::Unavailable(message) => {
                    unavailable = Some(message.clone());
                    PushOutcome::Failed {
                        message,
                        retryable: true,
                    }
                }
                Delivered::Stop(e) => return Err(e),
            };
            if let PushOutcome::Failed { message, retryable } = &outcome {
                tracing::info!(lead = %push.lead.id, %message, retryable, "webhook push failed");
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn deliver(&self, io: &Io, push: &LeadPush) -> Delivered {
        let event = Event::of(push);
        let body = match serde_json::to_vec(&event) {
            Ok(body) => body,
            Err(e) => {
                return Delivered::Outcome(PushOutcome::Failed {
                    message: format!("the lead cannot be written as JSON: {e}"),
                    retryable: false,
                });
            }
        };
        let sent = io
            .send(|client| {
                // Signed per attempt, so a retry's timestamp is fresh.
                let signature = sign(
                    self.secret.expose().as_bytes(),
                    Utc::now().timestamp(),
                    &body,
                );
                client
                    .post(self.url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .header(EVENT_HEADER, LEAD_CHANGED)
                    .header(DELIVERY_HEADER, &event.id)
                    .header(IDEMPOTENCY_HEADER, &event.id)
                    .header(SIGNATURE_HEADER, signature)
                    .body(body.clone())
            })
            .await;
        match sent {
            Ok(fetched) => Delivered::Outcome(answer(fetched.status, &fetched.body)),
            Err(ConnectorError::Http(e)) => transport(e),
            // A 401 twice: the receiver refuses Onepane, not this lead.
            Err(e) => Delivered::Stop(e),
        }
    }
}

impl Sink for WebhookSink {
    fn batch_size(&self) -> usize {
        BATCH_SIZE
    }

    fn push_leads<'a>(
        &'a self,
        io: &'a Io,
        leads: &'a [LeadPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        Box::pin(self.push(io, leads))
    }
}

/// How sending one lead went.
enum Delivered {
    /// The lead's outcome; go on with the next.
    Outcome(PushOutcome),
    /// The receiver could not be reached, or asked to wait: the lead failed
    /// (retryable) and the rest of the batch is not sent now.
    Unavailable(String),
    /// Nothing can be sent with these settings.
    Stop(ConnectorError),
}

/// The outcome of a lead the receiver answered (after the SDK's retries).
fn answer(status: StatusCode, body: &[u8]) -> PushOutcome {
    if status.is_success() {
        return PushOutcome::Pushed {
            remote_id: remote_id(body),
        };
    }
    let code = status.as_u16();
    if status.is_redirection() {
        return PushOutcome::Failed {
            message: format!("the receiver answered {code}; redirects are not followed"),
            retryable: false,
        };
    }
    let retryable = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    let detail = onepane_connector::snippet(body);
    let message = if detail.is_empty() {
        format!("the receiver answered {code}")
    } else {
        format!("the receiver answered {code}: {detail}")
    };
    PushOutcome::Failed { message, retryable }
}

/// The CRM's id, when the receiver answered JSON with a string `id`.
fn remote_id(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Created {
        id: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Created>(body).ok()?.id? {
        serde_json::Value::String(id) if !id.trim().is_empty() => Some(id),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The outcome of a lead that got no usable answer.
fn transport(e: HttpError) -> Delivered {
    match e {
        // The address policy or the client concern every lead alike.
        HttpError::Refused { .. } | HttpError::Client(_) | HttpError::Request { .. } => {
            Delivered::Stop(ConnectorError::Http(e))
        }
        HttpError::TooLarge { .. } => Delivered::Outcome(PushOutcome::Failed {
            message: e.to_string(),
            retryable: false,
        }),
        HttpError::Exhausted { ref last, .. } => match **last {
            // Unreachable: the next lead would wait through the same retries.
            HttpError::Connect { .. } => Delivered::Unavailable(format!("{e}: {last}")),
            // A 5xx or a timeout may be this lead's doing; try the others.
            _ => Delivered::Outcome(PushOutcome::Failed {
                message: format!("{e}: {last}"),
                retryable: true,
            }),
        },
        HttpError::RetryLater { .. } => Delivered::Unavailable(e.to_string()),
        HttpError::Connect { .. } | HttpError::Timeout { .. } | HttpError::Status { .. } => {
            Delivered::Outcome(PushOutcome::Failed {
                message: e.to_string(),
                retryable: true,
            })
        }
    }
}

/// The body of one delivery.
#[derive(Debug, Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    occurred_at: DateTime<Utc>,
    data: LeadData<'a>,
}

/// The lead as a receiver sees it.
#[derive(Debug, Serialize)]
struct LeadData<'a> {
    id: LeadId,
    status: LeadStatus,
    source: LeadSource,
    vendor: Option<VendorRef<'a>>,
    campaign_id: Option<CampaignId>,
    external_id: Option<&'a ExternalId>,
    contact: &'a Contact,
    company: Option<&'a Company>,
    message: Option<&'a LongText>,
    respond_by: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The vendor a lead is attributed to.
#[derive(Debug, Serialize)]
struct VendorRef<'a> {
    id: VendorId,
    name: Option<&'a str>,
}

impl<'a> Event<'a> {
    fn of(push: &'a LeadPush) -> Self {
        let lead: &Lead = &push.lead;
        Event {
            kind: LEAD_CHANGED,
            id: delivery_id(lead),
            occurred_at: lead.updated_at,
            data: LeadData {
                id: lead.id,
                status: lead.status,
                source: lead.source,
                vendor: lead.vendor_id.map(|id| VendorRef {
                    id,
                    name: push.vendor.as_deref(),
                }),
                campaign_id: lead.campaign_id,
                external_id: lead.external_id.as_ref(),
                contact: &lead.contact,
                company: lead.company.as_ref(),
                message: lead.message.as_ref(),
                respond_by: lead.respond_by,
                created_at: lead.created_at,
                updated_at: lead.updated_at,
            },
        }
    }
}

/// `<lead id>:<updated_at>`: the same for every send of one change, new for
/// the next change.
pub fn delivery_id(lead: &Lead) -> String {
    format!(
        "{}:{}",
        lead.id,
        lead.updated_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}
