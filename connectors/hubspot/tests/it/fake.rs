//! A fake HubSpot that answers batch upserts as the published spec says,
//! and checks at the end that every request the connector sent, and every
//! answer the fake gave, follows the spec.

use std::collections::{BTreeSet, hash_map::DefaultHasher};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::openapi::Specs;

pub const CONTACTS_UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";
pub const DEALS_UPSERT: &str = "/crm/v3/objects/0-3/batch/upsert";
pub const TOKEN: &str = "/oauth/v3/token";

/// HubSpot's id for the record keyed `key` (stable, numeric like HubSpot's).
pub fn remote_id(key: &str) -> String {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % 1_000_000_000_000).to_string()
}

/// A fake HubSpot on a loopback port.
pub struct HubSpot {
    pub server: MockServer,
    specs: Arc<Specs>,
    answers: Arc<Mutex<Vec<(String, u16, Value)>>>,
}

impl HubSpot {
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
            specs: Arc::new(Specs::hubspot()),
            answers: Arc::default(),
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The sink's settings pointing at this fake.
    pub fn settings(&self) -> Value {
        json!({ "base_url": self.uri() })
    }

    /// A batch upsert answer that writes every input except those whose key
    /// is in `refuse`, answering 207 with errors when any is refused.
    pub fn upserts(&self, path: &'static str) -> Upserts {
        Upserts {
            path,
            refuse: BTreeSet::new(),
            refuse_by_message: BTreeSet::new(),
            reversed: false,
            answers: self.answers.clone(),
        }
    }

    /// Mounts `upserts` for every POST to its path.
    pub async fn mount(&self, upserts: Upserts) {
        Mock::given(method("POST"))
            .and(path(upserts.path))
            .respond_with(upserts)
            .mount(&self.server)
            .await;
    }

    /// Records an answer a test built by hand, to be checked with the rest.
    pub fn answer(&self, path: &str, status: u16, body: Value) -> ResponseTemplate {
        self.answers
            .lock()
            .unwrap()
            .push((path.to_owned(), status, body.clone()));
        ResponseTemplate::new(status).set_body_json(body)
    }

    /// The requests received, after checking each against the spec.
    pub async fn checked_requests(&self) -> Vec<Request> {
        let received = self.server.received_requests().await.unwrap();
        let mut problems = Vec::new();
        for request in &received {
            if let Err(e) = self.specs.check_received(request) {
                problems.extend(e);
            }
        }
        for (path, status, body) in self.answers.lock().unwrap().iter() {
            let spec = self.specs.for_path("POST", path).unwrap();
            if let Err(e) = spec.check_response("POST", path, *status, body) {
                problems.extend(e.into_iter().map(|e| format!("the fake's {status}: {e}")));
            }
        }
        assert!(
            problems.is_empty(),
            "requests or answers off the spec:\n{}",
            problems.join("\n")
        );
        received
    }

    /// The upsert bodies received on `path`, checked against the spec.
    pub async fn upsert_bodies(&self, path: &str) -> Vec<Value> {
        self.checked_requests()
            .await
            .iter()
            .filter(|r| r.url.path() == path)
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

/// What the fake does with a batch upsert.
#[derive(Clone)]
pub struct Upserts {
    path: &'static str,
    refuse: BTreeSet<String>,
    refuse_by_message: BTreeSet<String>,
    reversed: bool,
    answers: Arc<Mutex<Vec<(String, u16, Value)>>>,
}

impl Upserts {
    /// Refuses `key`, naming it in the error's context.
    pub fn refusing(mut self, key: &str) -> Self {
        self.refuse.insert(key.to_owned());
        self
    }

    /// Refuses `key`, naming it only in the error's message.
    pub fn refusing_in_message(mut self, key: &str) -> Self {
        self.refuse_by_message.insert(key.to_owned());
        self
    }

    /// Lists the results in the reverse of the inputs' order.
    pub fn reversed(mut self) -> Self {
        self.reversed = true;
        self
    }
}

impl Respond for Upserts {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        let now = "2026-03-01T10:00:00.000Z";
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for input in body["inputs"].as_array().into_iter().flatten() {
            let key = input["id"].as_str().unwrap_or_default().to_owned();
            let id_property = input["idProperty"].as_str().unwrap_or_default();
            if self.refuse.contains(&key) {
                errors.push(json!({
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": "Property values were not valid: email is not a valid email address",
                    "context": { "ids": [key] },
                    "errors": [{ "message": "INVALID_EMAIL", "in": "email" }],
                    "links": {}
                }));
                continue;
            }
            if self.refuse_by_message.contains(&key) {
                errors.push(json!({
                    "status": "error",
                    "category": "CONFLICT",
                    "message": format!("Duplicate value {key} for {id_property}"),
                    "context": {},
                    "errors": [],
                    "links": {}
                }));
                continue;
            }
            let mut properties = input["properties"].clone();
            properties[id_property] = json!(key);
            properties["hs_object_id"] = json!(remote_id(&key));
            properties["createdate"] = json!(now);
            properties["lastmodifieddate"] = json!(now);
            results.push(json!({
                "id": remote_id(&key),
                "properties": properties,
                "createdAt": now,
                "updatedAt": now,
                "archived": false,
                "new": true
            }));
        }
        if self.reversed {
            results.reverse();
        }
        let (status, answer) = if errors.is_empty() {
            (
                200,
                json!({
                    "status": "COMPLETE",
                    "results": results,
                    "startedAt": now,
                    "completedAt": now
                }),
            )
        } else {
            (
                207,
                json!({
                    "status": "COMPLETE",
                    "results": results,
                    "numErrors": errors.len(),
                    "errors": errors,
                    "startedAt": now,
                    "completedAt": now
                }),
            )
        };
        self.answers
            .lock()
            .unwrap()
            .push((self.path.to_owned(), status, answer.clone()));
        ResponseTemplate::new(status)
            .set_body_json(answer)
            .insert_header("x-hubspot-ratelimit-max", "190")
            .insert_header("x-hubspot-ratelimit-remaining", "189")
            .insert_header("x-hubspot-ratelimit-interval-milliseconds", "10000")
    }
}

/// HubSpot's 429 body for the ten-second burst limit.
pub fn burst_limit_body() -> Value {
    json!({
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c76d3c2c-4e0a-4a67-8c3e-2c1f7ae1d2a1",
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": "publicapi:oauth:12345:67890"
    })
}

/// HubSpot's 429 with its headers.
pub fn burst_limited() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .set_body_json(burst_limit_body())
        .insert_header("x-hubspot-ratelimit-max", "190")
        .insert_header("x-hubspot-ratelimit-remaining", "0")
        .insert_header("x-hubspot-ratelimit-interval-milliseconds", "10000")
}
