//! A small OpenAPI 3 request validator over HubSpot's published specs: it
//! finds the operation by method and path template, checks the security,
//! query parameters and content type, and the body against the schema
//! (`$ref`, `type`, `required`, `properties`, `additionalProperties`,
//! `enum`, `items`, `oneOf`/`anyOf`/`allOf`, light string formats).
//!
//! Objects that list `properties` and say nothing of `additionalProperties`
//! are held closed on purpose: HubSpot ignores unknown fields, so a typo
//! such as `idproperty` would otherwise pass here and do nothing there.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One parsed spec.
pub struct Spec {
    name: &'static str,
    doc: Value,
}

/// The three HubSpot specs the connector's requests must follow.
pub struct Specs {
    all: Vec<Spec>,
}

impl Specs {
    /// Loads HubSpot's published contacts, deals and OAuth specs (kept
    /// unchanged in `tests/specs`).
    pub fn hubspot() -> Self {
        Self {
            all: vec![
                Spec::load("crm-contacts-v3.json"),
                Spec::load("crm-deals-v3.json"),
                Spec::load("oauth-v3.json"),
            ],
        }
    }

    /// The spec that defines `method path`.
    pub fn for_path(&self, method: &str, path: &str) -> Option<&Spec> {
        self.all
            .iter()
            .find(|s| s.operation(method, path).is_some())
    }

    /// Checks a request wiremock received against whichever spec defines it.
    pub fn check_received(&self, request: &wiremock::Request) -> Result<(), Vec<String>> {
        let method = request.method.as_str();
        let path = request.url.path();
        let Some(spec) = self.for_path(method, path) else {
            return Err(vec![format!("{method} {path}: no spec defines it")]);
        };
        let headers: BTreeMap<String, String> = request
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        spec.check_request(method, path, &headers, &query, &request.body)
    }
}

impl Spec {
    /// Loads `file` from the crate's copy of the published specs.
    pub fn load(file: &str) -> Self {
        let path = format!("{}/tests/specs/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read the spec at {path}: {e}"));
        let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let name = match file {
            "crm-contacts-v3.json" => "contacts",
            "crm-deals-v3.json" => "deals",
            _ => "oauth",
        };
        Self { name, doc }
    }

    /// The spec's document.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The operation for `method path`: its template and definition.
    pub fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let method = method.to_ascii_lowercase();
        let paths = self.doc.get("paths")?.as_object()?;
        paths.iter().find_map(|(template, item)| {
            if matches_template(template, path) {
                item.get(method.as_str()).map(|op| (template.as_str(), op))
            } else {
                None
            }
        })
    }

    /// Checks one request: `headers` by lowercase name.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        headers: &BTreeMap<String, String>,
        query: &[(String, String)],
        body: &[u8],
    ) -> Result<(), Vec<String>> {
        let at = format!("{} {method} {path}", self.name);
        let Some((_, op)) = self.operation(method, path) else {
            return Err(vec![format!("{at}: not in the spec")]);
        };
        let mut errors = Vec::new();

        // Security: an operation that takes OAuth needs a bearer token.
        let security = op.get("security").or_else(|| self.doc.get("security"));
        let wants_oauth = security
            .and_then(Value::as_array)
            .is_some_and(|alts| alts.iter().any(|alt| alt.get("oauth2").is_some()));
        if wants_oauth
            && !headers
                .get("authorization")
                .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7)
        {
            errors.push(format!("{at}: no `Authorization: Bearer` token"));
        }

        // Query parameters must be declared.
        let declared: Vec<String> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        for (name, _) in query {
            if !declared.contains(name) {
                errors.push(format!("{at}: undeclared query parameter `{name}`"));
            }
        }

        // The body.
        match op.get("requestBody").map(|b| self.resolve(b)) {
            None => {
                if !body.is_empty() {
                    errors.push(format!("{at}: a body where the spec takes none"));
                }
            }
            Some(request_body) => {
                let required = request_body
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let content_type = headers
                    .get("content-type")
                    .map(|v| {
                        v.split(';')
                            .next()
                            .unwrap_or_default()
                            .trim()
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default();
                if body.is_empty() {
                    if required {
                        errors.push(format!("{at}: the body is required"));
                    }
                } else if let Some(media) = request_body
                    .get("content")
                    .and_then(|c| c.get(content_type.as_str()))
                {
                    let schema = media.get("schema").cloned().unwrap_or(Value::Bool(true));
                    let value = match content_type.as_str() {
                        "application/json" => serde_json::from_slice(body)
                            .map_err(|e| format!("{at}: the body is not JSON: {e}")),
                        "application/x-www-form-urlencoded" => form(body),
                        other => Err(format!("{at}: cannot check a `{other}` body")),
                    };
                    match value {
                        Ok(value) => self.validate(&schema, &value, "$", &mut errors),
                        Err(e) => errors.push(e),
                    }
                } else {
                    errors.push(format!(
                        "{at}: content type `{content_type}` is not one the spec takes"
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks a response a fake sends: `status` or the `default` answer.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let Some((_, op)) = self.operation(method, path) else {
            return Err(vec![format!("{method} {path}: not in the spec")]);
        };
        let responses = &op["responses"];
        let Some(answer) = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
        else {
            return Err(vec![format!("{method} {path}: no {status} answer")]);
        };
        let answer = self.resolve(answer);
        let schema = answer["content"]["application/json"]["schema"].clone();
        let mut errors = Vec::new();
        self.validate(&schema, body, "$", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks `value` against a schema of this spec.
    pub fn check(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.validate(schema, value, "$", &mut errors);
        errors
    }

    /// Follows `$ref`s within the document.
    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
                return node;
            };
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local $refs are supported: {reference}"));
            node = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        panic!("a $ref cycle");
    }

    fn validate(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let Some(s) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                errors.push(format!("{at}: not allowed"));
            }
            return;
        };
        if value.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.validate(sub, value, at, errors);
            }
        }
        for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            if let Some(alternatives) = s.get(key).and_then(Value::as_array) {
                let fits = alternatives
                    .iter()
                    .filter(|alt| self.check(alt, value).is_empty())
                    .count();
                if fits == 0 || (exactly_one && fits > 1) {
                    errors.push(format!("{at}: fits {fits} of the {key} alternatives"));
                }
            }
        }
        if let Some(t) = s.get("type").and_then(Value::as_str) {
            let fits = match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "null" => value.is_null(),
                _ => true,
            };
            if !fits {
                errors.push(format!("{at}: expected {t}, got {value}"));
                return;
            }
        }
        if let Some(allowed) = s.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        match value {
            Value::String(text) => check_string(s, text, at, errors),
            Value::Number(n)
                if s.get("format").and_then(Value::as_str) == Some("int32")
                    && n.as_i64().is_none_or(|i| i32::try_from(i).is_err()) =>
            {
                errors.push(format!("{at}: {n} is not an int32"));
            }
            Value::Array(items) => {
                if let Some(item) = s.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.validate(item, v, &format!("{at}[{i}]"), errors);
                    }
                }
                if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    errors.push(format!("{at}: fewer than {min} items"));
                }
                if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                    && (items.len() as u64) > max
                {
                    errors.push(format!("{at}: more than {max} items"));
                }
            }
            Value::Object(fields) => self.check_object(s, fields, at, errors),
            _ => {}
        }
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        fields: &Map<String, Value>,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !fields.contains_key(name) {
                errors.push(format!("{at}: `{name}` is required"));
            }
        }
        let properties = s.get("properties").and_then(Value::as_object);
        for (name, v) in fields {
            let here = format!("{at}.{name}");
            if let Some(p) = properties.and_then(|p| p.get(name)) {
                self.validate(p, v, &here, errors);
                continue;
            }
            match s.get("additionalProperties") {
                Some(Value::Bool(false)) => errors.push(format!("{here}: not a known property")),
                Some(Value::Bool(true)) => {}
                Some(extra) => self.validate(extra, v, &here, errors),
                // Closed on purpose; see the module's doc.
                None if properties.is_some_and(|p| !p.is_empty()) => {
                    errors.push(format!("{here}: not a known property"))
                }
                None => {}
            }
        }
    }
}

fn check_string(s: &Map<String, Value>, text: &str, at: &str, errors: &mut Vec<String>) {
    let len = text.chars().count() as u64;
    if let Some(min) = s.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        errors.push(format!("{at}: shorter than {min}"));
    }
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        errors.push(format!("{at}: longer than {max}"));
    }
    let fits = match s.get("format").and_then(Value::as_str) {
        Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        Some("date") => text.parse::<chrono::NaiveDate>().is_ok(),
        Some("uuid") => is_uuid(text),
        Some("int64") => text.parse::<i64>().is_ok(),
        Some("int32") => text.parse::<i32>().is_ok(),
        _ => true,
    };
    if !fits {
        errors.push(format!(
            "{at}: `{text}` does not have the format {:?}",
            s["format"]
        ));
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `/crm/v3/objects/{objectType}` matches `/crm/v3/objects/contacts`.
fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// A form body as an object of strings; a repeated field is an error.
fn form(body: &[u8]) -> Result<Value, String> {
    let mut out = Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if out
            .insert(k.clone().into_owned(), Value::String(v.into_owned()))
            .is_some()
        {
            return Err(format!("the form repeats `{k}`"));
        }
    }
    Ok(Value::Object(out))
}
