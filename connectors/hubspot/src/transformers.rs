//! HubSpot's wire types (CRM v3 batch upsert and its errors) and the
//! mappings from Onepane's leads and deal registrations.

use std::collections::{BTreeMap, BTreeSet};

use onepane_connector::{DealPush, LeadPush, PushOutcome};
use onepane_domain::lead::LeadStatus;
use serde::{Deserialize, Serialize};

/// A record's properties by internal name; HubSpot takes every value as a string.
pub type Properties = BTreeMap<String, String>;

/// The contact properties Onepane fills (all HubSpot defaults).
pub const CONTACT_PROPERTIES: &[&str] = &[
    "email",
    "firstname",
    "lastname",
    "phone",
    "jobtitle",
    "company",
    "website",
    "country",
    "message",
    "hs_lead_status",
];

/// The deal properties Onepane fills (all HubSpot defaults).
pub const DEAL_PROPERTIES: &[&str] = &[
    "dealname",
    "amount",
    "deal_currency_code",
    "pipeline",
    "dealstage",
    "description",
];

/// `PublicGdprDeleteInput`: the contact to delete for good, by a unique
/// property's value.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprDelete {
    /// The value (an email address).
    pub object_id: String,
    /// The property it is a value of (`email`).
    pub id_property: String,
}

/// `BatchInputSimplePublicObjectBatchInputUpsert`.
#[derive(Debug, Clone, Serialize)]
pub struct BatchUpsert {
    /// The records.
    pub inputs: Vec<UpsertInput>,
}

/// `SimplePublicObjectBatchInputUpsert`: a record keyed by a unique property.
#[derive(Debug, Clone, Serialize)]
pub struct UpsertInput {
    /// The unique property's value (Onepane's id).
    pub id: String,
    /// The unique property's name.
    #[serde(rename = "idProperty")]
    pub id_property: String,
    /// The values to set.
    pub properties: Properties,
}

/// `BatchResponseSimplePublicUpsertObject(WithErrors)`: 200, or 207 with errors.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchResponse {
    /// The records written.
    pub results: Vec<UpsertResult>,
    /// The records refused (207 only).
    #[serde(default)]
    pub errors: Vec<ErrorBody>,
}

/// `SimplePublicUpsertObject`.
#[derive(Debug, Clone, Deserialize)]
pub struct UpsertResult {
    /// HubSpot's id of the record.
    pub id: String,
    /// Its properties, the unique one included.
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
}

/// `Error` (a refused request) or `StandardError` (a refused record).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub message: String,
    /// `VALIDATION_ERROR`, `CONFLICT`, `RATE_LIMITS`, ...
    #[serde(default)]
    pub category: Option<String>,
    /// Values the error is about, by name (`ids`, property names, ...).
    #[serde(default)]
    pub context: BTreeMap<String, serde_json::Value>,
    /// Details.
    #[serde(default)]
    pub errors: Vec<ErrorDetail>,
}

/// `ErrorDetail`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    /// What went wrong.
    pub message: String,
    /// Values the detail is about.
    #[serde(default)]
    pub context: BTreeMap<String, serde_json::Value>,
}

/// HubSpot's 429 body (not in the CRM specs; documented with the limits).
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitBody {
    /// What HubSpot said.
    #[serde(default)]
    pub message: Option<String>,
    /// `TEN_SECONDLY_ROLLING`, `SECONDLY` or `DAILY`.
    #[serde(default, rename = "policyName")]
    pub policy_name: Option<String>,
}

impl ErrorBody {
    /// `CATEGORY: message`, for a failed record.
    pub fn describe(&self) -> String {
        let mut out = match &self.category {
            Some(c) => format!("{c}: {}", self.message),
            None => self.message.clone(),
        };
        for detail in &self.errors {
            if detail.message != self.message {
                out.push_str("; ");
                out.push_str(&detail.message);
            }
        }
        out
    }

    /// Whether the same record may be accepted later unchanged.
    fn retryable(&self) -> bool {
        self.category.as_deref() == Some("RATE_LIMITS")
    }

    /// The batch's keys this error names, in its context or its messages.
    fn names<'k>(&self, keys: &'k [String]) -> BTreeSet<&'k str> {
        let mut said = Vec::new();
        strings(&self.context, &mut said);
        said.push(self.message.as_str());
        for detail in &self.errors {
            strings(&detail.context, &mut said);
            said.push(detail.message.as_str());
        }
        // Keys are UUIDs, so finding one inside a message is no accident.
        keys.iter()
            .filter(|key| said.iter().any(|s| s.contains(key.as_str())))
            .map(String::as_str)
            .collect()
    }
}

fn strings<'a>(context: &'a BTreeMap<String, serde_json::Value>, out: &mut Vec<&'a str>) {
    fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    context.values().for_each(|v| walk(v, out));
}

/// The outcomes of a 200 or 207 batch answer, keyed by Onepane's id: a
/// result is matched by its unique property's value, never by position.
pub fn batch_outcomes(
    batch: &BatchResponse,
    id_property: &str,
    keys: &[String],
) -> BTreeMap<String, PushOutcome> {
    let mut out = BTreeMap::new();
    for result in &batch.results {
        let Some(key) = result
            .properties
            .get(id_property)
            .and_then(|v| v.as_str())
            .filter(|k| keys.iter().any(|key| key == k))
        else {
            continue;
        };
        out.insert(
            key.to_owned(),
            PushOutcome::Pushed {
                remote_id: Some(result.id.clone()),
            },
        );
    }
    let mut unattributed = Vec::new();
    for error in &batch.errors {
        let named = error.names(keys);
        if named.is_empty() {
            unattributed.push(error);
        }
        for key in named {
            out.entry(key.to_owned()).or_insert(PushOutcome::Failed {
                message: error.describe(),
                retryable: error.retryable(),
            });
        }
    }
    // Errors that name no record belong to the records without a result.
    if !unattributed.is_empty() {
        let message = unattributed
            .iter()
            .map(|e| e.describe())
            .collect::<Vec<_>>()
            .join("; ");
        let retryable = unattributed.iter().all(|e| e.retryable());
        for key in keys {
            out.entry(key.clone()).or_insert(PushOutcome::Failed {
                message: message.clone(),
                retryable,
            });
        }
    }
    out
}

/// The outcomes of a batch HubSpot refused as a whole (400, 409, 422):
/// the records it names failed; when it names some, the others were only
/// caught up in the refusal and may go again.
pub fn refused_batch(
    error: Option<&ErrorBody>,
    message: &str,
    keys: &[String],
    status: u16,
) -> BTreeMap<String, PushOutcome> {
    let named = error.map(|e| e.names(keys)).unwrap_or_default();
    keys.iter()
        .map(|key| {
            let outcome = if named.is_empty() || named.contains(key.as_str()) {
                PushOutcome::Failed {
                    message: format!("HubSpot refused it ({status}): {message}"),
                    retryable: false,
                }
            } else {
                PushOutcome::Failed {
                    message: format!(
                        "not written: HubSpot refused the batch for other records ({message})"
                    ),
                    retryable: true,
                }
            };
            (key.clone(), outcome)
        })
        .collect()
}

/// Splits a full name at its first space: HubSpot and most address books
/// keep the given name first.
pub fn split_name(full: &str) -> (Option<&str>, &str) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((first, last)) if !last.trim().is_empty() => (Some(first), last.trim()),
        _ => (None, full),
    }
}

/// `hs_lead_status` (its default options) for a lead's status; a won lead
/// has no lead status of its own, so it keeps the last one sent.
pub fn lead_status(status: LeadStatus) -> Option<&'static str> {
    match status {
        LeadStatus::New => Some("NEW"),
        LeadStatus::Accepted => Some("OPEN"),
        LeadStatus::Working => Some("IN_PROGRESS"),
        LeadStatus::Qualified => Some("OPEN_DEAL"),
        LeadStatus::Declined | LeadStatus::Lost => Some("UNQUALIFIED"),
        LeadStatus::Won => None,
    }
}

/// A lead's contact properties. Only known values are sent, so an upsert
/// never blanks what the partner entered in HubSpot.
pub fn contact_properties(push: &LeadPush, id_property: &str) -> Properties {
    let lead = &push.lead;
    let mut p = Properties::new();
    let mut set = |name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            p.insert(name.to_owned(), v.to_owned());
        }
    };
    let (first, last) = split_name(lead.contact.name.as_str());
    set("firstname", first);
    set("lastname", Some(last));
    set("email", lead.contact.email.as_ref().map(|e| e.as_str()));
    set("phone", lead.contact.phone.as_ref().map(|v| v.as_str()));
    set("jobtitle", lead.contact.title.as_ref().map(|v| v.as_str()));
    if let Some(company) = &lead.company {
        set("company", Some(company.name.as_str()));
        set("website", company.domain.as_ref().map(|v| v.as_str()));
        set("country", company.country.as_ref().map(|v| v.as_str()));
    }
    set("message", lead.message.as_ref().map(|v| v.as_str()));
    set("hs_lead_status", lead_status(lead.status));
    p.insert(id_property.to_owned(), lead.id.to_string());
    p
}

/// A deal registration's deal properties.
pub fn deal_properties(
    push: &DealPush,
    id_property: &str,
    pipeline: Option<&str>,
    stage: Option<&str>,
) -> Properties {
    let deal = &push.deal;
    let details = &deal.details;
    let mut p = Properties::new();
    p.insert("dealname".into(), details.title.as_str().to_owned());
    p.insert("amount".into(), details.amount.amount.to_string());
    p.insert(
        "deal_currency_code".into(),
        details.amount.currency.code().to_owned(),
    );
    if let Some(pipeline) = pipeline {
        p.insert("pipeline".into(), pipeline.to_owned());
    }
    if let Some(stage) = stage {
        p.insert("dealstage".into(), stage.to_owned());
    }
    let mut description = format!(
        "Deal registration with {} for {} ({}).",
        push.vendor,
        details.customer.name.as_str(),
        deal.status.as_str()
    );
    for product in &details.products {
        description.push_str(&format!(
            "\n{} × {}",
            product.sku.as_str(),
            product.quantity
        ));
    }
    p.insert("description".into(), description);
    p.insert(id_property.to_owned(), deal.id.to_string());
    p
}
