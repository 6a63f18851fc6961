//! Actions: what the partner sends to the vendor's own system (a deal
//! registration, an answer to a lead), each one request built from a
//! template, and the vendor's answer read back.
//!
//! An action's template is applied to a document Onepane builds (see the
//! crate's README): for `register_deal` the registration (`/id`, `/title`,
//! `/customer/name`, `/amount`, `/currency`, `/products`, `/fields/<name>`,
//! `/lead_external_id`, `/idempotency_key`), for `answer_lead` the answer
//! (`/external_id`, `/decision` (`accepted` or `declined`), `/accepted`,
//! `/reason`, `/lead_id`, `/idempotency_key`).

use onepane_connector::{ConnectorError, Delivered, Io, snippet};
use onepane_domain::deal::DealStatus;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::manifest::ManifestError;
use crate::pointer::{Pointer, scalar_text};
use crate::template::Template;

/// The actions a manifest may describe.
pub(crate) const ACTIONS: [&str; 2] = ["register_deal", "answer_lead"];

/// One action, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Action {
    method: Method,
    /// The base URL and the path with its `{/pointer}` placeholders.
    path: Vec<PathPart>,
    idempotency_header: Option<HeaderName>,
    body: Option<Template>,
    vendor_ref: Option<Pointer>,
    status: Option<Template>,
    refused_statuses: Vec<u16>,
    refused_message: Option<Pointer>,
}

#[derive(Debug, Clone, PartialEq)]
enum PathPart {
    Text(String),
    Value(Pointer),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAction {
    #[serde(default = "post")]
    method: String,
    path: String,
    #[serde(default)]
    idempotency_header: Option<String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    vendor_ref: Option<Pointer>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    refused: Option<RawRefused>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRefused {
    #[serde(default = "refused_statuses")]
    statuses: Vec<u16>,
    #[serde(default)]
    message: Option<Pointer>,
}

fn post() -> String {
    "POST".to_owned()
}

/// A vendor refusing what it was sent answers one of these by default.
fn refused_statuses() -> Vec<u16> {
    vec![400, 409, 422]
}

impl RawAction {
    pub(crate) fn check(self, name: &str, base: &Url) -> Result<Action, ManifestError> {
        let at = |field: &str| format!("actions.{name}.{field}");
        let method = match self.method.to_ascii_uppercase().as_str() {
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            other => {
                return Err(ManifestError::invalid(
                    at("method"),
                    format!("`{other}` is not POST, PUT or PATCH"),
                ));
            }
        };
        if !self.path.starts_with('/') || self.path.contains(['?', '#']) {
            return Err(ManifestError::invalid(
                at("path"),
                format!("`{}` is not a path starting with `/`", self.path),
            ));
        }
        let path = parse_path(&self.path).map_err(|m| ManifestError::invalid(at("path"), m))?;
        // The path with every placeholder filled stays on the base URL's host.
        let sample: String = path
            .iter()
            .map(|p| match p {
                PathPart::Text(t) => t.as_str(),
                PathPart::Value(_) => "x",
            })
            .collect();
        let joined = format!("{}{sample}", base.as_str().trim_end_matches('/'));
        if !Url::parse(&joined).is_ok_and(|u| u.origin() == base.origin()) {
            return Err(ManifestError::invalid(
                at("path"),
                format!("`{joined}` is not a URL on the base URL's host"),
            ));
        }
        let idempotency_header = match self.idempotency_header {
            None => None,
            Some(h) => Some(HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                ManifestError::invalid(
                    at("idempotency_header"),
                    format!("`{h}` is not a header name"),
                )
            })?),
        };
        let compile = |value: &Value, field: &str| {
            Template::compile(value, &at(field))
                .map_err(|(path, message)| ManifestError::invalid(path, message))
        };
        let body = self.body.as_ref().map(|b| compile(b, "body")).transpose()?;
        let status = self
            .status
            .as_ref()
            .map(|s| compile(s, "status"))
            .transpose()?;
        let (refused_statuses, refused_message) = match self.refused {
            None => (refused_statuses(), None),
            Some(r) => {
                if let Some(bad) = r.statuses.iter().find(|s| !(400..500).contains(*s)) {
                    return Err(ManifestError::invalid(
                        at("refused.statuses"),
                        format!(
                            "{bad} is not a 4xx status: a refusal is the vendor's answer to what it was sent"
                        ),
                    ));
                }
                (r.statuses, r.message)
            }
        };
        Ok(Action {
            method,
            path,
            idempotency_header,
            body,
            vendor_ref: self.vendor_ref,
            status,
            refused_statuses,
            refused_message,
        })
    }
}

/// `/leads/{/external_id}/answer` into its texts and placeholders.
fn parse_path(path: &str) -> Result<Vec<PathPart>, String> {
    let mut parts = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(PathPart::Text(rest[..open].to_owned()));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("`{path}` opens a `{{` it does not close"));
        };
        let pointer = Pointer::parse(&rest[open + 1..open + close])?;
        parts.push(PathPart::Value(pointer));
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`{path}` closes a `}}` it did not open"));
    }
    if !rest.is_empty() {
        parts.push(PathPart::Text(rest.to_owned()));
    }
    Ok(parts)
}

impl Action {
    /// The URL for `document`: each placeholder's value, percent-encoded as
    /// one path segment.
    fn url(&self, base: &Url, document: &Value) -> Result<Url, ConnectorError> {
        let mut path = String::new();
        for part in &self.path {
            match part {
                PathPart::Text(t) => path.push_str(t),
                PathPart::Value(pointer) => {
                    let value = pointer
                        .find(document)
                        .and_then(scalar_text)
                        .ok_or_else(|| {
                            ConnectorError::Input(format!(
                                "the action's path needs {pointer}, which this record does not have"
                            ))
                        })?;
                    path.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
                }
            }
        }
        let joined = format!("{}{path}", base.as_str().trim_end_matches('/'));
        match Url::parse(&joined) {
            Ok(url) if url.origin() == base.origin() => Ok(url),
            _ => Err(ConnectorError::Input(format!(
                "`{joined}` is not a URL on the vendor's host"
            ))),
        }
    }

    /// Sends the action for `document` and reads the vendor's answer.
    pub(crate) async fn send(
        &self,
        io: &Io,
        base: &Url,
        headers: &HeaderMap,
        document: &Value,
        idempotency_key: &str,
    ) -> Result<Delivered, ConnectorError> {
        let url = self.url(base, document)?;
        let shown = {
            let mut u = url.clone();
            u.set_query(None);
            u.to_string()
        };
        let body = match &self.body {
            Some(t) => Some(
                t.apply(document)
                    .map_err(ConnectorError::Input)?
                    .unwrap_or(Value::Object(serde_json::Map::new())),
            ),
            None => None,
        };
        let body = body
            .map(|b| serde_json::to_vec(&b))
            .transpose()
            .map_err(|e| {
                ConnectorError::Input(format!("the request body cannot be written: {e}"))
            })?;
        let key = HeaderValue::from_str(idempotency_key).map_err(|_| {
            ConnectorError::Input("the idempotency key is not a header value".into())
        })?;
        let fetched = io
            .send(|client| {
                let mut request = client
                    .request(self.method.clone(), url.clone())
                    .header(ACCEPT, HeaderValue::from_static("application/json"))
                    .headers(headers.clone());
                if let Some(name) = &self.idempotency_header {
                    request = request.header(name.clone(), key.clone());
                }
                if let Some(body) = &body {
                    request = request
                        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                        .body(body.clone());
                }
                request
            })
            .await?;
        let answer: Option<Value> = serde_json::from_slice(&fetched.body).ok();
        let status = fetched.status.as_u16();
        if fetched.status.is_success() {
            let answer = answer.unwrap_or(Value::Null);
            let vendor_ref = self
                .vendor_ref
                .as_ref()
                .and_then(|p| p.find(&answer))
                .and_then(scalar_text);
            if self.vendor_ref.is_some() && vendor_ref.is_none() {
                return Err(ConnectorError::Malformed {
                    url: shown,
                    message: format!(
                        "the answer has no id where the manifest says: {}",
                        snippet(&fetched.body)
                    ),
                });
            }
            // A status the vendor spells in a way the manifest does not map
            // is no decision: the registration stays submitted.
            let status = self
                .status
                .as_ref()
                .and_then(|t| t.apply(&answer).ok().flatten())
                .and_then(|v| v.as_str().and_then(|s| s.parse::<DealStatus>().ok()));
            return Ok(Delivered::Sent { vendor_ref, status });
        }
        if self.refused_statuses.contains(&status) {
            let message = self
                .refused_message
                .as_ref()
                .and_then(|p| answer.as_ref().and_then(|a| p.find(a)))
                .and_then(scalar_text)
                .unwrap_or_else(|| snippet(&fetched.body));
            let message = if message.is_empty() {
                format!("the vendor refused it ({status})")
            } else {
                message
            };
            return Ok(Delivered::Refused { message });
        }
        Err(ConnectorError::Remote {
            url: shown,
            status,
            message: snippet(&fetched.body),
        })
    }
}
