//! Salesforce CRM sink: Lead upsert by external id through sObject Collections.
//!
//! Each lead becomes a Lead record upserted by an external id field that
//! holds Onepane's id (`PATCH /services/data/{version}/composite/sobjects/
//! Lead/{field}`, 200 records a call, `allOrNone: false`), so sending a
//! batch twice changes nothing. The org's API host is the token's
//! `instance_url`. The wire types and the mapping are in [`transformers`].

use std::collections::BTreeMap;
use std::time::Duration;

use onepane_connector::{BoxFuture, ConnectorError, Io, LeadPush, PushOutcome, Sink, snippet};
use serde::Deserialize;

pub mod transformers;

use transformers::{ApiError, CollectionUpsert, SaveResult};

/// Salesforce's OAuth authorization endpoint (web-server flow with PKCE).
pub const AUTH_URL: &str = "https://login.salesforce.com/services/oauth2/authorize";

/// Salesforce's OAuth token endpoint.
pub const TOKEN_URL: &str = "https://login.salesforce.com/services/oauth2/token";

/// The scopes the connected app asks for: the REST API and a refresh token.
pub const SCOPES: &[&str] = &["api", "refresh_token"];

/// The most records one sObject Collections call takes.
pub const BATCH_SIZE: usize = 200;

/// The default API version.
pub const DEFAULT_API_VERSION: &str = "v62.0";

/// The default external id field on Lead.
pub const DEFAULT_EXTERNAL_ID_FIELD: &str = "Onepane_Id__c";

/// The org's API request allowance is a rolling 24 hours: look again in an hour.
const LIMIT_WAIT: Duration = Duration::from_secs(3600);

fn default_api_version() -> String {
    DEFAULT_API_VERSION.into()
}
fn default_external_id_field() -> String {
    DEFAULT_EXTERNAL_ID_FIELD.into()
}

/// Where a lead's country goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
enum CountryField {
    /// The text field (orgs without State and Country/Territory Picklists).
    #[default]
    Country,
    /// The ISO code field of orgs with State and Country/Territory Picklists.
    CountryCode,
}

/// A Salesforce connection's settings, all optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_api_version")]
    api_version: String,
    #[serde(default = "default_external_id_field")]
    external_id_field: String,
    #[serde(default)]
    instance_url: Option<String>,
    #[serde(default)]
    country_field: CountryField,
}

/// The Salesforce CRM sink of one connection.
#[derive(Debug, Clone)]
pub struct SalesforceSink {
    api_version: String,
    external_id_field: String,
    instance_url: Option<url::Url>,
    country_field: CountryField,
}

impl SalesforceSink {
    /// The sink for a connection's settings (`null` or `{}` for the defaults).
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, ConnectorError> {
        let settings: Settings = if settings.is_null() {
            serde_json::from_value(serde_json::json!({}))
        } else {
            serde_json::from_value(settings.clone())
        }
        .map_err(|e| ConnectorError::Config(format!("Salesforce settings: {e}")))?;
        if !is_api_version(&settings.api_version) {
            return Err(ConnectorError::Config(format!(
                "Salesforce settings: api_version `{}` is not like `v62.0`",
                settings.api_version
            )));
        }
        if !is_field_name(&settings.external_id_field) {
            return Err(ConnectorError::Config(format!(
                "Salesforce settings: external_id_field `{}` is not a field's API name",
                settings.external_id_field
            )));
        }
        let instance_url = settings
            .instance_url
            .as_deref()
            .map(|u| instance(u, "the instance_url setting"))
            .transpose()?;
        Ok(Self {
            api_version: settings.api_version,
            external_id_field: settings.external_id_field,
            instance_url,
            country_field: settings.country_field,
        })
    }

    /// `{instance}/services/data/{version}/composite/sobjects/Lead/{field}`,
    /// on the setting's instance or else the token's `instance_url`.
    async fn upsert_url(&self, io: &Io) -> Result<url::Url, ConnectorError> {
        let mut url = match &self.instance_url {
            Some(url) => url.clone(),
            None => {
                let field = io.auth().token_field("instance_url").await?;
                let Some(field) = field else {
                    return Err(ConnectorError::Config(
                        "the Salesforce token has no instance_url; set the instance_url setting"
                            .into(),
                    ));
                };
                instance(&field, "the token's instance_url")?
            }
        };
        url.path_segments_mut()
            .map_err(|()| ConnectorError::Config("the instance URL cannot take a path".into()))?
            .pop_if_empty()
            .extend([
                "services",
                "data",
                &self.api_version,
                "composite",
                "sobjects",
                "Lead",
                &self.external_id_field,
            ]);
        Ok(url)
    }

    #[tracing::instrument(name = "salesforce.push_leads", skip_all, fields(count = leads.len()))]
    async fn leads(&self, io: &Io, leads: &[LeadPush]) -> Result<Vec<PushOutcome>, ConnectorError> {
        if leads.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.upsert_url(io).await?;
        let country = match self.country_field {
            CountryField::Country => "Country",
            CountryField::CountryCode => "CountryCode",
        };
        // Salesforce refuses a call naming one external id twice; the later
        // copy is the newer one.
        let mut latest: BTreeMap<String, &LeadPush> = BTreeMap::new();
        let mut unique: Vec<String> = Vec::new();
        for push in leads {
            let key = push.lead.id.to_string();
            if latest.insert(key.clone(), push).is_none() {
                unique.push(key);
            }
        }
        let mut outcomes: BTreeMap<String, PushOutcome> = BTreeMap::new();
        for keys in unique.chunks(BATCH_SIZE) {
            let body = CollectionUpsert {
                all_or_none: false,
                records: keys
                    .iter()
                    .filter_map(|key| latest.get(key))
                    .map(|push| transformers::lead_record(push, &self.external_id_field, country))
                    .collect(),
            };
            let fetched = io
                .send(|client| client.patch(url.clone()).json(&body))
                .await?;
            let results = answer(&url, fetched.status.as_u16(), &fetched.body, keys.len())?;
            outcomes.extend(keys.iter().cloned().zip(results));
        }
        Ok(leads
            .iter()
            .map(|push| {
                outcomes
                    .get(&push.lead.id.to_string())
                    .cloned()
                    .unwrap_or(PushOutcome::Failed {
                        message: "Salesforce returned no result for it".into(),
                        retryable: true,
                    })
            })
            .collect())
    }
}

impl Sink for SalesforceSink {
    fn batch_size(&self) -> usize {
        BATCH_SIZE
    }

    fn push_leads<'a>(
        &'a self,
        io: &'a Io,
        leads: &'a [LeadPush],
    ) -> BoxFuture<'a, Result<Vec<PushOutcome>, ConnectorError>> {
        Box::pin(self.leads(io, leads))
    }
}

/// An instance URL: http(s) with a host.
fn instance(text: &str, what: &str) -> Result<url::Url, ConnectorError> {
    let url = url::Url::parse(text)
        .map_err(|e| ConnectorError::Config(format!("{what} `{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(ConnectorError::Config(format!(
            "{what} `{text}` is not an http(s) URL"
        )));
    }
    Ok(url)
}

/// `v62.0`.
fn is_api_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.chars().all(|c| c.is_ascii_digit())
                && minor.chars().all(|c| c.is_ascii_digit())
        })
}

/// A field's API name: letters, digits and `_`, starting with a letter.
fn is_field_name(name: &str) -> bool {
    name.len() <= 80
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The outcomes of one call, in the records' order.
fn answer(
    url: &url::Url,
    status: u16,
    body: &[u8],
    count: usize,
) -> Result<Vec<PushOutcome>, ConnectorError> {
    let shown = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    );
    if (200..300).contains(&status) {
        let results: Vec<SaveResult> = serde_json::from_slice(body)
            .map_err(|e| ConnectorError::unparsable(&shown, "the per-record results", &e))?;
        if results.len() != count {
            return Err(ConnectorError::Malformed {
                url: shown,
                message: format!("{} results for {count} records", results.len()),
            });
        }
        return Ok(results.iter().map(SaveResult::outcome).collect());
    }
    let errors: Option<Vec<ApiError>> = serde_json::from_slice(body).ok();
    let message = match &errors {
        Some(e) if !e.is_empty() => transformers::describe(e),
        _ => snippet(body),
    };
    let code = |c: &str| errors.iter().flatten().any(|e| e.error_code == c);
    if status == 403 && code("REQUEST_LIMIT_EXCEEDED") {
        return Err(ConnectorError::Throttled {
            message,
            after: LIMIT_WAIT,
        });
    }
    // A request refused for its content refuses every record the same way.
    if status == 400 {
        return Ok((0..count)
            .map(|_| PushOutcome::Failed {
                message: format!("Salesforce refused the call: {message}"),
                retryable: false,
            })
            .collect());
    }
    Err(ConnectorError::Remote {
        url: shown,
        status,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_are_checked() {
        assert!(is_api_version("v62.0"));
        assert!(!is_api_version("62.0"));
        assert!(!is_api_version("v62"));
        assert!(is_field_name("Onepane_Id__c"));
        assert!(!is_field_name("Onepane Id"));
        assert!(!is_field_name("../Contact"));
    }
}
