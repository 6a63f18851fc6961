//! Salesforce's wire types (sObject Collections upsert, the error array)
//! and the mapping from Onepane's leads to Lead records.

use onepane_connector::{LeadPush, PushOutcome};
use onepane_domain::lead::LeadSource;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What `Company` (required on a Lead) holds when the lead names none;
/// the value Salesforce's own web-to-lead uses.
pub const NO_COMPANY: &str = "[not provided]";

/// The body of `PATCH .../composite/sobjects/Lead/{externalIdField}`.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionUpsert {
    /// Each record succeeds or fails on its own.
    #[serde(rename = "allOrNone")]
    pub all_or_none: bool,
    /// The records, each with `attributes.type`.
    pub records: Vec<Value>,
}

/// One entry of the per-record results, in the records' order.
#[derive(Debug, Clone, Deserialize)]
pub struct SaveResult {
    /// The record's Salesforce id (absent or null on failure).
    #[serde(default)]
    pub id: Option<String>,
    /// Whether the record was written.
    pub success: bool,
    /// Why not.
    #[serde(default)]
    pub errors: Vec<RecordError>,
}

/// An error of one record.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordError {
    /// `REQUIRED_FIELD_MISSING`, `DUPLICATE_VALUE`, ...
    #[serde(rename = "statusCode", default)]
    pub status_code: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// The fields concerned.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// An entry of the error array a refused request answers with.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// `INVALID_SESSION_ID`, `REQUEST_LIMIT_EXCEEDED`, ...
    #[serde(rename = "errorCode", default)]
    pub error_code: String,
    /// The fields concerned, when any.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// `CODE: message`, joined.
pub fn describe(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Codes after which the same record may succeed unchanged.
const PASSING: &[&str] = &[
    "UNABLE_TO_LOCK_ROW",
    "REQUEST_LIMIT_EXCEEDED",
    "SERVER_UNAVAILABLE",
];

impl SaveResult {
    /// The outcome of the record.
    pub fn outcome(&self) -> PushOutcome {
        if self.success {
            return PushOutcome::Pushed {
                remote_id: self.id.clone(),
            };
        }
        if self.errors.is_empty() {
            return PushOutcome::Failed {
                message: "Salesforce refused it without saying why".into(),
                retryable: false,
            };
        }
        let message = self
            .errors
            .iter()
            .map(|e| {
                let mut m = format!(
                    "{}: {}",
                    e.status_code.as_deref().unwrap_or("ERROR"),
                    e.message
                );
                if !e.fields.is_empty() {
                    m.push_str(&format!(" (fields: {})", e.fields.join(", ")));
                }
                m
            })
            .collect::<Vec<_>>()
            .join("; ");
        let retryable = self.errors.iter().all(|e| {
            e.status_code
                .as_deref()
                .is_some_and(|c| PASSING.contains(&c))
        });
        PushOutcome::Failed { message, retryable }
    }
}

/// Splits a full name at its first space into `FirstName` and `LastName`.
pub fn split_name(full: &str) -> (Option<&str>, &str) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((first, last)) if !last.trim().is_empty() => (Some(first), last.trim()),
        _ => (None, full),
    }
}

/// `LeadSource` from the standard picklist's values.
pub fn lead_source(source: LeadSource) -> &'static str {
    match source {
        LeadSource::Vendor => "Partner Referral",
        LeadSource::Campaign => "Web",
        LeadSource::Manual => "Other",
    }
}

/// At most `max` characters: Salesforce refuses longer text with
/// `STRING_TOO_LONG`, and a cut name is better than no lead.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A lead as a Lead record keyed by `external_id_field`. Only known values
/// are sent, so an upsert never blanks what the partner entered.
pub fn lead_record(push: &LeadPush, external_id_field: &str, country_field: &str) -> Value {
    let lead = &push.lead;
    let mut r = Map::new();
    r.insert("attributes".into(), serde_json::json!({ "type": "Lead" }));
    let mut set = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            r.insert(name.to_owned(), Value::String(v));
        }
    };
    let (first, last) = split_name(lead.contact.name.as_str());
    set("FirstName", first.map(|f| cut(f, 40)));
    set("LastName", Some(cut(last, 80)));
    let company = lead
        .company
        .as_ref()
        .map_or(NO_COMPANY, |c| c.name.as_str());
    set("Company", Some(cut(company, 255)));
    set(
        "Email",
        lead.contact.email.as_ref().map(|e| e.as_str().to_owned()),
    );
    set(
        "Phone",
        lead.contact.phone.as_ref().map(|v| v.as_str().to_owned()),
    );
    set(
        "Title",
        lead.contact.title.as_ref().map(|v| cut(v.as_str(), 128)),
    );
    if let Some(company) = &lead.company {
        set(
            "Website",
            company.domain.as_ref().map(|v| v.as_str().to_owned()),
        );
        set(
            country_field,
            company.country.as_ref().map(|v| v.as_str().to_owned()),
        );
    }
    set(
        "Description",
        lead.message.as_ref().map(|v| cut(v.as_str(), 32_000)),
    );
    set("LeadSource", Some(lead_source(lead.source).to_owned()));
    r.insert(
        external_id_field.to_owned(),
        Value::String(lead.id.to_string()),
    );
    Value::Object(r)
}
