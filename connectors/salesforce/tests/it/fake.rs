//! A fake Salesforce org: sObject Collections upsert with per-record
//! results, the error array, and the OAuth token endpoint.

use std::collections::{BTreeMap, hash_map::DefaultHasher};
use std::hash::{Hash, Hasher};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const UPSERT: &str = "/services/data/v62.0/composite/sobjects/Lead/Onepane_Id__c";
pub const TOKEN: &str = "/services/oauth2/token";

/// The Lead id Salesforce gives the record keyed `key`.
pub fn lead_id(key: &str) -> String {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    format!("00Q{:015X}", h.finish() % 0xFFF_FFFF_FFFF_FFFF)
}

/// An org answering upserts: every record is written unless `refuse` holds
/// its external id, with the error to answer.
#[derive(Clone, Default)]
pub struct Upserts {
    refuse: BTreeMap<String, Value>,
}

impl Upserts {
    pub fn refusing(
        mut self,
        key: &str,
        status_code: &str,
        message: &str,
        fields: &[&str],
    ) -> Self {
        self.refuse.insert(
            key.to_owned(),
            json!({ "statusCode": status_code, "message": message, "fields": fields }),
        );
        self
    }
}

impl Respond for Upserts {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let field = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return error(400, "JSON_PARSER_ERROR", "The request body is not JSON");
        };
        let Some(records) = body["records"].as_array() else {
            return error(400, "JSON_PARSER_ERROR", "records is required");
        };
        if records.len() > 200 {
            return error(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            );
        }
        let results: Vec<Value> = records
            .iter()
            .map(|record| {
                let key = record[&field].as_str().unwrap_or_default();
                if record["attributes"]["type"] != "Lead" {
                    return json!({ "success": false, "errors": [{ "statusCode": "INVALID_TYPE", "message": "attributes.type must be Lead", "fields": [] }] });
                }
                if let Some(e) = self.refuse.get(key) {
                    return json!({ "success": false, "errors": [e] });
                }
                if record.get("LastName").is_none() || record.get("Company").is_none() {
                    return json!({ "success": false, "errors": [{ "statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName, Company]", "fields": ["LastName", "Company"] }] });
                }
                json!({ "id": lead_id(key), "success": true, "errors": [], "created": true })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(results)
    }
}

/// Salesforce's error array.
pub fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!([{ "message": message, "errorCode": code }]))
}

/// A fake org on a loopback port.
pub struct Org {
    pub server: MockServer,
}

impl Org {
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Settings that name this org's instance.
    pub fn settings(&self) -> Value {
        json!({ "instance_url": self.uri() })
    }

    pub async fn mount(&self, upserts: Upserts) {
        Mock::given(method("PATCH"))
            .and(path(UPSERT))
            .respond_with(upserts)
            .mount(&self.server)
            .await;
    }

    /// The upsert bodies received, after checking each is a documented
    /// sObject Collections upsert.
    pub async fn upsert_bodies(&self) -> Vec<Value> {
        let received = self.server.received_requests().await.unwrap();
        received
            .iter()
            .filter(|r| r.url.path() == UPSERT)
            .map(|r| {
                assert_eq!(r.method.as_str(), "PATCH");
                assert!(
                    r.headers["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("application/json")
                );
                assert!(
                    r.headers["authorization"]
                        .to_str()
                        .unwrap()
                        .starts_with("Bearer ")
                );
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["allOrNone"], false, "{body}");
                assert_eq!(
                    body.as_object().unwrap().len(),
                    2,
                    "only allOrNone and records"
                );
                let records = body["records"].as_array().unwrap();
                assert!((1..=200).contains(&records.len()));
                for record in records {
                    assert_eq!(record["attributes"], json!({ "type": "Lead" }));
                    assert!(record["Onepane_Id__c"].is_string(), "{record}");
                    assert!(record["LastName"].is_string(), "{record}");
                    assert!(record["Company"].is_string(), "{record}");
                }
                body
            })
            .collect()
    }
}

/// A token answer as Salesforce gives it (no `expires_in`).
pub fn token_answer(access: &str, refresh: Option<&str>, instance_url: &str) -> Value {
    let mut answer = json!({
        "access_token": access,
        "signature": "d6Zq3d3Jj3ZP3x6kR3cCq+KdQe1+9cT6bL3mM7qXyZk=",
        "scope": "api refresh_token",
        "instance_url": instance_url,
        "id": "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6eAAC",
        "token_type": "Bearer",
        "issued_at": "1767225600000"
    });
    if let Some(refresh) = refresh {
        answer["refresh_token"] = json!(refresh);
    }
    answer
}

/// The form fields of a token request.
pub fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
