//! HubSpot CRM sink: contacts and deals through CRM v3 batch upsert.
//!
//! Each lead becomes a contact and each deal registration a deal, upserted
//! with `idProperty` set to a unique custom property that holds Onepane's
//! id, so sending a batch twice changes nothing. Requests follow the
//! published OpenAPI specs (`crm-contacts-v3.json`, `crm-deals-v3.json`);
//! the wire types and mappings are in [`transformers`].

use std::collections::BTreeMap;
use std::time::Duration;

use onepane_connector::{
    BoxFuture, ConnectorError, DealPush, Fetched, HttpError, Io, LeadPush, PushOutcome, Sink,
    snippet,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

pub mod transformers;

use transformers::{BatchResponse, ErrorBody, Properties, RateLimitBody};

/// HubSpot's OAuth authorization endpoint (the partner approves the app there).
pub const AUTH_URL: &str = "https://app.hubspot.com/oauth/authorize";

/// HubSpot's OAuth token endpoint (`POST /oauth/v3/token` in `oauth-v3.json`).
pub const TOKEN_URL: &str = "https://api.hubapi.com/oauth/v3/token";

/// The scopes the app asks for: writing contacts and deals.
pub const SCOPES: &[&str] = &[
    "oauth",
    "crm.objects.contacts.write",
    "crm.objects.deals.write",
];

/// The most inputs one batch upsert takes.
pub const BATCH_SIZE: usize = 100;

/// HubSpot's object type id for deals, as the deals spec spells its paths.
const DEALS: &str = "0-3";
const CONTACTS: &str = "contacts";

/// How long to wait when HubSpot keeps answering 429 to a burst: its
/// shortest documented window is ten seconds.
const BURST_WAIT: Duration = Duration::from_secs(10);
/// How long to wait once the daily limit is spent: it resets at midnight in
/// the account's time zone, which the API does not tell, so look hourly.
const DAILY_WAIT: Duration = Duration::from_secs(3600);

/// Where HubSpot's API lives.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

fn default_id_property() -> String {
    "onepane_id".into()
}
fn default_deal_id_property() -> String {
    "onepane_deal_id".into()
}
fn default_pipeline() -> Option<String> {
    Some("default".into())
}
fn default_stage() -> Option<String> {
    Some("appointmentscheduled".into())
}
fn yes() -> bool {
    true
}

/// A HubSpot connection's settings, all optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default = "default_id_property")]
    id_property: String,
    #[serde(default = "default_deal_id_property")]
    deal_id_property: String,
    #[serde(default = "yes")]
    deals: bool,
    /// `null` leaves the pipeline to HubSpot.
    #[serde(default = "default_pipeline")]
    deal_pipeline: Option<String>,
    /// `null` leaves the stage to HubSpot (and to the partner).
    #[serde(default = "default_stage")]
    deal_stage: Option<String>,
}

/// The HubSpot CRM sink of one connection.
#[derive(Debug, Clone)]
pub struct HubSpotSink {
    base_url: url::Url,
    id_property: String,
    deal_id_property: String,
    deals: bool,
    deal_pipeline: Option<String>,
    deal_stage: Option<String>,
}

impl HubSpotSink {
    /// The sink for a connection's settings (`null` or `{}` for the defaults).
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, ConnectorError> {
        let settings: Settings = if settings.is_null() {
            serde_json::from_value(serde_json::json!({}))
        } else {
            serde_json::from_value(settings.clone())
        }
        .map_err(|e| ConnectorError::Config(format!("HubSpot settings: {e}")))?;
        let shown = settings.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base_url = url::Url::parse(shown).map_err(|e| {
            ConnectorError::Config(format!("HubSpot settings: base_url `{shown}`: {e}"))
        })?;
        if !matches!(base_url.scheme(), "https" | "http")
            || base_url.cannot_be_a_base()
            || base_url.host_str().is_none()
        {
            return Err(ConnectorError::Config(format!(
                "HubSpot settings: base_url `{base_url}` is not an http(s) URL"
            )));
        }
        for (name, value) in [
            ("id_property", &settings.id_property),
            ("deal_id_property", &settings.deal_id_property),
        ] {
            if !is_property_name(value) {
                return Err(ConnectorError::Config(format!(
                    "HubSpot settings: {name} `{value}` is not a property's internal name \
                     (lowercase letters, digits and `_`)"
                )));
            }
        }
        // The key must hold Onepane's id; `email` (the other unique contact
        // property) would be overwritten by the mapping.
        if transformers::CONTACT_PROPERTIES.contains(&settings.id_property.as_str()) {
            return Err(ConnectorError::Config(format!(
                "HubSpot settings: id_property `{}` is a property Onepane fills; \
                 use a unique custom property such as `onepane_id`",
                settings.id_property
            )));
        }
        if transformers::DEAL_PROPERTIES.contains(&settings.deal_id_property.as_str()) {
            return Err(ConnectorError::Config(format!(
                "HubSpot settings: deal_id_property `{}` is a property Onepane fills",
                settings.deal_id_property
            )));
        }
        Ok(Self {
            base_url,
            id_property: settings.id_property,
            deal_id_property: settings.deal_id_property,
            deals: settings.deals,
            deal_pipeline: settings.deal_pipeline,
            deal_stage: settings.deal_stage,
        })
    }

    /// `{base}/crm/v3/objects/{object}/batch/upsert`.
    fn upsert_url(&self, object: &str) -> Result<url::Url, ConnectorError> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| ConnectorError::Config("HubSpot base_url cannot take a path".into()))?
            .pop_if_empty()
            .extend(["crm", "v3", "objects", object, "batch", "upsert"]);
        Ok(url)
    }

    /// `{base}/crm/v3/objects/contacts/gdpr-delete`.
    fn gdpr_delete_url(&self) -> Result<url::Url, ConnectorError> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| ConnectorError::Config("HubSpot base_url cannot take a path".into()))?
            .pop_if_empty()
            .extend(["crm", "v3", "objects", CONTACTS, "gdpr-delete"]);
        Ok(url)
    }

    /// Deletes each contact for good by email, with HubSpot's GDPR delete
    /// (`idProperty: email`; an address HubSpot does not hold is blocked
    /// from future use, which is what an erasure asks).
    #[tracing::instrument(name = "hubspot.erase_contacts", skip_all, fields(count = emails.len()))]
    async fn erase(&self, io: &Io, emails: &[String]) -> Result<Vec<PushOutcome>, ConnectorError> {
        let url = self.gdpr_delete_url()?;
        let shown = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.path()
        );
        let mut outcomes = Vec::with_capacity(emails.len());
        for email in emails {
            let body = transformers::GdprDelete {
                object_id: email.clone(),
                id_property: "email".to_owned(),
            };
            let fetched = io
                .send(|client| client.post(url.clone()).json(&body))
                .await
                .map_err(throttled)?;
            let describe = || {
                serde_json::from_slice::<ErrorBody>(&fetched.body)
                    .map(|e| e.describe())
                    .unwrap_or_else(|_| snippet(&fetched.body))
            };
            outcomes.push(match fetched.status.as_u16() {
                200..=299 | 404 => PushOutcome::Pushed { remote_id: None },
                429 => {
                    let (message, after) = rate_limit_wait(&fetched.headers, &fetched.body);
                    return Err(ConnectorError::Throttled { message, after });
                }
                401 | 403 => {
                    return Err(ConnectorError::Remote {
                        url: shown,
                        status: fetched.status.as_u16(),
                        message: describe(),
                    });
                }
                status @ 400..=499 => PushOutcome::Failed {
                    message: format!("HubSpot refused the erasure ({status}): {}", describe()),
                    retryable: false,
                },
                status => PushOutcome::Failed {
                    message: format!("HubSpot failed the erasure ({status}): {}", describe()),
                    retryable: true,
                },
            });
        }
        Ok(outcomes)
    }

    #[tracing::instrument(name = "hubspot.push_leads", skip_all, fields(count = leads.len()))]
    async fn leads(&self, io: &Io, leads: &[LeadPush]) -> Result<Vec<PushOutcome>, ConnectorError> {
        let inputs = leads
            .iter()
            .map(|push| {
                (
                    push.lead.id.to_string(),
                    transformers::contact_properties(push, &self.id_property),
                )
            })
            .collect();
        self.upsert(io, CONTACTS, &self.id_property, inputs).await
    }

    #[tracing::instrument(name = "hubspot.push_deals", skip_all, fields(count = deals.len()))]
    async fn deals(&self, io: &Io, deals: &[DealPush]) -> Result<Vec<PushOutcome>, ConnectorError> {
        if !self.deals {
            return Err(ConnectorError::Config(
                "this HubSpot connection does not take deals".into(),
            ));
        }
        let inputs = deals
            .iter()
            .map(|push| {
                (
                    push.deal.id.to_string(),
                    transformers::deal_properties(
                        push,
                        &self.deal_id_property,
                        self.deal_pipeline.as_deref(),
                        self.deal_stage.as_deref(),
                    ),
                )
            })
            .collect();
        self.upsert(io, DEALS, &self.deal_id_property, inputs).await
    }

    /// Upserts `inputs` (Onepane's id, properties) in batches of at most
    /// [`BATCH_SIZE`]; the outcomes in the inputs' order.
    async fn upsert(
        &self,
        io: &Io,
        object: &str,
        id_property: &str,
        inputs: Vec<(String, Properties)>,
    ) -> Result<Vec<PushOutcome>, ConnectorError> {
        let url = self.upsert_url(object)?;
        // HubSpot refuses a batch naming the same record twice; the later
        // copy is the newer one.
        let order: Vec<String> = inputs.iter().map(|(key, _)| key.clone()).collect();
        let mut latest: BTreeMap<String, Properties> = BTreeMap::new();
        let mut unique: Vec<String> = Vec::new();
        for (key, properties) in inputs {
            if latest.insert(key.clone(), properties).is_none() {
                unique.push(key);
            }
        }
        let mut outcomes: BTreeMap<String, PushOutcome> = BTreeMap::new();
        let chunks: Vec<&[String]> = unique.chunks(BATCH_SIZE).collect();
        for (n, keys) in chunks.iter().enumerate() {
            let batch = transformers::BatchUpsert {
                inputs: keys
                    .iter()
                    .map(|key| transformers::UpsertInput {
                        id: key.clone(),
                        id_property: id_property.to_owned(),
                        properties: latest.remove(key).unwrap_or_default(),
                    })
                    .collect(),
            };
            let fetched = io
                .send(|client| client.post(url.clone()).json(&batch))
                .await
                .map_err(throttled)?;
            outcomes.extend(answer(&url, &fetched, id_property, keys)?);
            let more = n + 1 < chunks.len();
            if more && daily_limit_spent(&fetched.headers) {
                return Err(ConnectorError::Throttled {
                    message: "HubSpot's daily API limit is spent".into(),
                    after: DAILY_WAIT,
                });
            }
        }
        Ok(order
            .iter()
            .map(|key| {
                outcomes.get(key).cloned().unwrap_or(PushOutcome::Failed {
                    message: "HubSpot returned no result for it".into(),
                    retryable: true,
                })
            })
            .collect())
    }
}

impl Sink for HubSpotSink {
    fn batch_size(&self) -> usize {
        BATCH_SIZE
    }

    /// HubSpot's lowest burst limit: 100 requests per 10 seconds for a
    /// private app (higher tiers allow more; a 429 is waited out anyway).
    fn rate_limit(&self) -> Option<onepane_connector::RateLimit> {
        onepane_connector::RateLimit::new(100, Duration::from_secs(10), 10)
    }

    fn push_leads<'a>(
        &'a self,
        io: &'a Io,
        leads: &'a [LeadPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        Box::pin(self.leads(io, leads))
    }

    fn takes_deals(&self) -> bool {
        self.deals
    }

    fn push_deals<'a>(
        &'a self,
        io: &'a Io,
        deals: &'a [DealPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        Box::pin(self.deals(io, deals))
    }

    fn erases(&self) -> bool {
        true
    }

    fn erase_contacts<'a>(
        &'a self,
        io: &'a Io,
        emails: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        Box::pin(self.erase(io, emails))
    }
}

/// A HubSpot property's internal name: lowercase letters, digits and `_`,
/// starting with a letter.
fn is_property_name(name: &str) -> bool {
    name.len() <= 100
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The shared client retries 429 itself; one that outlasts its retries
/// becomes a wait for the sync engine.
fn throttled(e: ConnectorError) -> ConnectorError {
    match e {
        ConnectorError::Http(HttpError::Exhausted {
            url,
            attempts,
            last,
        }) => match *last {
            HttpError::Status { status, .. } if status == StatusCode::TOO_MANY_REQUESTS => {
                ConnectorError::Throttled {
                    message: format!("{url} still answered 429 after {attempts} attempts"),
                    after: BURST_WAIT,
                }
            }
            last => ConnectorError::Http(HttpError::Exhausted {
                url,
                attempts,
                last: Box::new(last),
            }),
        },
        other => other,
    }
}

/// Whether HubSpot says no calls are left today
/// (`X-HubSpot-RateLimit-Daily-Remaining: 0`).
fn daily_limit_spent(headers: &HeaderMap) -> bool {
    headers
        .get("x-hubspot-ratelimit-daily-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .is_some_and(|left| left <= 0)
}

/// The wait a 429 asks for, from HubSpot's body (`policyName`) and headers.
fn rate_limit_wait(headers: &HeaderMap, body: &[u8]) -> (String, Duration) {
    let parsed: Option<RateLimitBody> = serde_json::from_slice(body).ok();
    let policy = parsed
        .as_ref()
        .and_then(|b| b.policy_name.clone())
        .unwrap_or_default();
    let message = parsed
        .and_then(|b| b.message)
        .unwrap_or_else(|| "HubSpot's rate limit".into());
    if policy.eq_ignore_ascii_case("DAILY") || daily_limit_spent(headers) {
        return (message, DAILY_WAIT);
    }
    let interval = headers
        .get("x-hubspot-ratelimit-interval-milliseconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .filter(|d| !d.is_zero() && *d <= DAILY_WAIT);
    let wait = match policy.to_ascii_uppercase().as_str() {
        "SECONDLY" => Duration::from_secs(1),
        _ => interval.unwrap_or(BURST_WAIT),
    };
    (message, wait)
}

/// The outcomes of one batch, keyed by Onepane's id.
fn answer(
    url: &url::Url,
    fetched: &Fetched,
    id_property: &str,
    keys: &[String],
) -> Result<BTreeMap<String, PushOutcome>, ConnectorError> {
    let shown = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    );
    let status = fetched.status;
    match status.as_u16() {
        200 | 201 | 207 => {
            let batch: BatchResponse = serde_json::from_slice(&fetched.body)
                .map_err(|e| ConnectorError::unparsable(&shown, "the batch answer", &e))?;
            Ok(transformers::batch_outcomes(&batch, id_property, keys))
        }
        429 => {
            let (message, after) = rate_limit_wait(&fetched.headers, &fetched.body);
            Err(ConnectorError::Throttled { message, after })
        }
        // The batch as a whole was refused; nothing of it was written.
        400 | 409 | 422 => {
            let error: Option<ErrorBody> = serde_json::from_slice(&fetched.body).ok();
            let message = match &error {
                Some(e) => e.describe(),
                None => snippet(&fetched.body),
            };
            Ok(transformers::refused_batch(
                error.as_ref(),
                &message,
                keys,
                status.as_u16(),
            ))
        }
        _ => {
            let message = serde_json::from_slice::<ErrorBody>(&fetched.body)
                .map(|e| e.describe())
                .unwrap_or_else(|_| snippet(&fetched.body));
            Err(ConnectorError::Remote {
                url: shown,
                status: status.as_u16(),
                message,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_daily_429_waits_long_and_a_burst_429_waits_its_window() {
        let daily = br#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c0b2a1de-0000-4000-8000-000000000000","policyName":"DAILY","groupName":"publicapi:oauth:1:2"}"#;
        assert_eq!(rate_limit_wait(&HeaderMap::new(), daily).1, DAILY_WAIT);
        let burst = br#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c0b2a1de-0000-4000-8000-000000000000","policyName":"TEN_SECONDLY_ROLLING","groupName":"publicapi:oauth:1:2"}"#;
        let h = headers(&[
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
            ("x-hubspot-ratelimit-remaining", "0"),
        ]);
        let (message, wait) = rate_limit_wait(&h, burst);
        assert_eq!(wait, Duration::from_secs(10));
        assert!(message.contains("ten_secondly_rolling"));
        let spent = headers(&[("x-hubspot-ratelimit-daily-remaining", "0")]);
        assert_eq!(rate_limit_wait(&spent, b"not json").1, DAILY_WAIT);
    }

    #[test]
    fn property_names_are_internal_names() {
        assert!(is_property_name("onepane_id"));
        assert!(!is_property_name("Onepane Id"));
        assert!(!is_property_name(""));
        assert!(!is_property_name("1abc"));
    }
}
