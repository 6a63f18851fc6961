//! The API reference against the server it describes: every route is in
//! the document and nothing else is, each vendor operation needs the scope
//! it names, every reference resolves, real answers have the shape their
//! schemas promise, and the page stands on its own.

use std::collections::{BTreeMap, BTreeSet};

use onepane_server::http::oauth::SCOPES;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestApp};
use crate::world::{World, read, token};

/// Every operation the reference documents.
const DOCUMENTED: &[(&str, &str)] = &[
    ("POST", "/oauth/token"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/api/v1/vendor/partners"),
    ("PUT", "/api/v1/vendor/partners/{workspace_id}/tier"),
    ("PUT", "/api/v1/vendor/partners/{workspace_id}/regions"),
    ("POST", "/api/v1/vendor/partners/{workspace_id}/leads"),
    ("GET", "/api/v1/vendor/campaigns"),
    ("PUT", "/api/v1/vendor/campaigns/{external_id}"),
    ("GET", "/api/v1/vendor/campaigns/{external_id}"),
    ("DELETE", "/api/v1/vendor/campaigns/{external_id}"),
    ("GET", "/api/v1/vendor/campaigns/{external_id}/stats"),
    ("GET", "/api/v1/vendor/assets"),
    ("PUT", "/api/v1/vendor/assets/{external_id}"),
    ("GET", "/api/v1/vendor/assets/{external_id}"),
    ("DELETE", "/api/v1/vendor/assets/{external_id}"),
    ("GET", "/api/v1/vendor/price-lists"),
    ("PUT", "/api/v1/vendor/price-lists/{external_id}"),
    ("GET", "/api/v1/vendor/price-lists/{external_id}"),
    ("PUT", "/api/v1/vendor/price-lists/{external_id}/items"),
    ("PATCH", "/api/v1/vendor/price-lists/{external_id}/items"),
    ("GET", "/api/v1/vendor/price-lists/{external_id}/items"),
    ("PUT", "/api/v1/vendor/deal-fields"),
    ("GET", "/api/v1/vendor/deal-fields"),
    ("PUT", "/api/v1/vendor/logo"),
    ("GET", "/api/v1/vendor/logo"),
    ("GET", "/api/v1/vendor/deal-registrations"),
    ("GET", "/api/v1/vendor/deal-registrations/{id}"),
    ("POST", "/api/v1/vendor/deal-registrations/{id}/decision"),
    ("PUT", "/api/v1/vendor/webhooks"),
    ("GET", "/api/v1/vendor/webhooks"),
    ("DELETE", "/api/v1/vendor/webhooks"),
    ("GET", "/api/v1/vendor/webhooks/deliveries"),
    ("POST", "/api/v1/vendor/webhooks/deliveries/{id}/redeliver"),
    ("GET", "/api/v1/vendors"),
    ("PUT", "/api/v1/vendors/{vendor_id}/status"),
    ("GET", "/api/v1/audit"),
    ("POST", "/api/v1/privacy/export"),
    ("POST", "/api/v1/privacy/erase"),
    ("GET", "/api/v1/leads"),
    ("GET", "/api/v1/leads/{id}"),
    ("POST", "/api/v1/leads/{id}/accept"),
    ("POST", "/api/v1/leads/{id}/decline"),
    ("GET", "/api/v1/campaigns"),
    ("POST", "/api/v1/campaigns/{id}/activate"),
    ("GET", "/api/v1/assets"),
    ("GET", "/api/v1/price-items"),
    ("GET", "/api/v1/deal-registrations"),
    ("POST", "/api/v1/deal-registrations"),
    ("GET", "/api/v1/deal-registrations/{id}"),
    ("GET", "/api/v1/deal-registrations/{id}/delivery"),
    ("GET", "/api/v1/clock"),
    ("GET", "/api/v1/scorecards"),
    ("GET", "/api/v1/vendor/scorecard"),
    ("POST", "/api/v1/deal-registrations/{id}/delivery/retry"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/{id}/read"),
    ("GET", "/api/v1/connections"),
    ("POST", "/api/v1/connections"),
    ("DELETE", "/api/v1/connections/{id}"),
    ("POST", "/api/v1/connections/{id}/sync"),
    ("GET", "/api/v1/connections/{id}/runs"),
    ("GET", "/api/v1/connections/{id}/jobs"),
    ("POST", "/api/v1/connections/{id}/jobs/{job_id}/retry"),
    ("POST", "/api/v1/connections/{id}/upload"),
    ("GET", "/api/v1/connections/{id}/authorize"),
    ("GET", "/oauth/connections/callback"),
];

/// Routes the router has that the reference leaves out, and why: health
/// and metrics are for operators, and the reference does not describe
/// itself.
const NOT_DOCUMENTED: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

async fn fetch_document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    response.json().await.unwrap()
}

/// Each operation of the document as (METHOD, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            out.push((method.to_uppercase(), path.clone(), op));
        }
    }
    out
}

/// A concrete path for a templated one.
fn concrete(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_1_about_this_build() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Onepane API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = doc["info"]["description"].as_str().unwrap();
    for topic in [
        "Idempotency-Key",
        "Idempotent-Replayed: true",
        "Retry-After",
        "next_cursor",
        "Onepane-Signature",
        "Onepane-Event",
        "Onepane-Delivery",
        "whsec_",
    ] {
        assert!(description.contains(topic), "the description lacks {topic}");
    }
    // Made once: the second answer is the same document.
    assert_eq!(fetch_document(&app).await, doc);
}

#[tokio::test]
async fn every_route_is_documented_and_only_routes_are() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    assert_eq!(documented, pairs(DOCUMENTED));

    // The routes the reference leaves out are served all the same: the
    // API's routes come from the documented operations, these are the
    // only ones added beside them.
    for (method, path) in NOT_DOCUMENTED {
        let status = status_without_credentials(&app, method, path).await;
        assert!(![404, 405].contains(&status), "{method} {path}: {status}");
    }

    // And each documented operation reaches a handler's route, not the
    // fallback: without credentials the API answers 401, not 404 or 405.
    for (method, path) in DOCUMENTED {
        let concrete = concrete(path, "0190a7c4-0000-7000-8000-000000000000");
        let status = status_without_credentials(&app, method, &concrete).await;
        if path.starts_with("/api/v1/") {
            assert_eq!(status, 401, "{method} {path}");
        } else {
            assert!(![404, 405].contains(&status), "{method} {path}: {status}");
        }
    }
}

/// The status `method path` is answered with when sent with no token.
async fn status_without_credentials(app: &TestApp, method: &str, path: &str) -> u16 {
    app.client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(path),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_reference_resolves() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 100, "{}", refs.len());
    for target in refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    // Each security requirement names a declared scheme.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for (method, path, op) in operations(&doc) {
        for requirement in op["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
            }
        }
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A body each vendor write accepts, so a request reaches its scope check
/// whether the scope is checked before or after the body is read.
fn vendor_body(operation_id: &str) -> Option<Value> {
    Some(match operation_id {
        "vendor_set_tier" => json!({"tier": "gold"}),
        "vendor_set_regions" => json!({"regions": ["nordics"]}),
        "vendor_patch_price_items" => json!([
            {"sku": "T-1", "name": "Toner", "category": "toner", "list_price": "35.90"},
            {"sku": "P-1", "delete": true},
        ]),
        "vendor_put_campaign" => json!({
            "audience": {"tiers": ["gold"]},
            "variants": [{"locale": "en", "name": "Spring print", "description": "Toner deals",
                "landing": {"headline": "Print smarter", "body": "Save on toner.", "call_to_action": "Contact me"}}],
        }),
        "vendor_put_asset" => json!({
            "kind": "document",
            "tags": ["Toner"],
            "variants": [{"locale": "en", "title": "Brochure", "body": {"url": "https://cdn.example.com/b.pdf"}}],
        }),
        "vendor_put_price_list" => json!({
            "name": "EU 2026",
            "currency": "EUR",
            "validity": {"starts_on": "2026-01-01"},
            "tier_discounts": [{"tier": "gold", "discount": "20"}],
            "promotions": [{"name": "Spring", "window": {"starts_on": "2026-03-01", "ends_on": "2099-05-31"}, "discount": "5", "category": "toner"}],
        }),
        "vendor_put_price_items" => json!([
            {"sku": "P-1", "name": "Printer", "category": "printers", "list_price": "400.00",
             "volume_breaks": [{"min_quantity": 10, "discount": "3"}]},
            {"sku": "T-1", "name": "Toner", "category": "toner", "list_price": "39.90"},
        ]),
        "vendor_send_lead" => json!({
            "external_id": "crm-1",
            "contact": {"name": "Maija Meikäläinen", "email": "maija@customer.example"},
            "company": {"name": "Customer Oy", "country": "fi"},
            "message": "Wants 20 printers",
        }),
        "vendor_decide_deal_registration" => {
            json!({"decision": "rejected", "reason": "Already registered"})
        }
        "vendor_put_deal_fields" => json!({
            "fields": [{"name": "reseller_id", "label": "Reseller id", "required": true}],
        }),
        "vendor_put_logo" => json!({"logo_url": "https://vendor.example/logo.svg"}),
        "vendor_put_webhook" => json!({
            "url": "https://hooks.example.com/onepane",
            "events": ["deal-registration.submitted", "lead.accepted"],
        }),
        _ => return None,
    })
}

#[tokio::test]
async fn each_vendor_operation_needs_the_scope_it_names() {
    let Some(w) = World::new(Backend::Sqlite).await else {
        return;
    };
    let doc = fetch_document(&w.app).await;
    let mut without: BTreeMap<&str, String> = BTreeMap::new();
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        let security = &op["security"];
        if !path.starts_with("/api/v1/vendor/") {
            if path.starts_with("/api/v1/") {
                assert_eq!(security, &json!([{"bearer": []}]), "{method} {path}");
            }
            continue;
        }
        let scopes = security[0]["oauth2"].as_array().unwrap_or_else(|| {
            panic!("{method} {path} names no oauth2 scope: {security}");
        });
        assert_eq!(security.as_array().unwrap().len(), 1, "{method} {path}");
        assert_eq!(scopes.len(), 1, "{method} {path}");
        let scope = SCOPES
            .iter()
            .copied()
            .find(|s| scopes[0] == *s)
            .unwrap_or_else(|| panic!("{method} {path}: {} is not a scope", scopes[0]));

        // A token with every other scope is refused, naming this one.
        if !without.contains_key(scope) {
            let others: Vec<&str> = SCOPES.iter().copied().filter(|s| *s != scope).collect();
            let t = token(
                &w.app,
                &w.v1.client_id,
                &w.v1.secret,
                Some(others.as_slice()),
            )
            .await;
            without.insert(scope, t);
        }
        let url = concrete(&path, &w.gold.id.to_string());
        let mut request = w.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            &url,
            &without[scope],
        );
        let operation_id = op["operationId"].as_str().unwrap();
        if let Some(body) = vendor_body(operation_id) {
            request_schema_accepts(&doc, &method, &path, &body);
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let (status, body) = read(response).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(
            challenge.contains(&format!("scope=\"{scope}\"")),
            "{method} {path}: {challenge}"
        );
        checked += 1;
    }
    assert_eq!(checked, 32);
}

#[tokio::test]
async fn the_reference_page_is_html_that_loads_nothing_from_elsewhere() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let response = app.get("/api/docs").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    for forbidden in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(forbidden), "the page contains {forbidden}");
    }
    for (method, path, op) in operations(&doc) {
        assert!(html.contains(&format!("<code>{path}</code>")), "{path}");
        let id = op["operationId"].as_str().unwrap();
        assert!(html.contains(&format!("id=\"op-{id}\"")), "{method} {path}");
        if let Some(scope) = op["security"][0]["oauth2"][0].as_str() {
            assert!(html.contains(&format!("<code>{scope}</code>")), "{scope}");
        }
    }
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(html.contains(&format!("id=\"schema-{name}\"")), "{name}");
    }
    // Every link within the page lands somewhere.
    for (at, _) in html.match_indices("href=\"#") {
        let target = &html[at + 7..];
        let target = &target[..target.find('"').unwrap()];
        assert!(
            html.contains(&format!("id=\"{target}\"")),
            "#{target} goes nowhere"
        );
    }
    // Text from the document is escaped, not markup.
    assert!(html.contains("&quot;id&quot;"));
}

// ---- real answers against their schemas ----------------------------------

/// Checks `value` against a schema of the document, with the keywords the
/// document uses (`format` and `pattern` aside), and lists each mismatch.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let resolved = doc
            .pointer(target.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{target} does not resolve"));
        validate(doc, resolved, value, at, errors);
    }
    if let Some(parts) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = parts
            .iter()
            .filter(|part| {
                let mut e = Vec::new();
                validate(doc, part, value, at, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{at}: {value} matches {matching} of oneOf"));
        }
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(doc, part, value, at, errors);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = types.iter().any(|t| match *t {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {values:?}"));
    }
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    match value {
        Value::Object(map) => {
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = name.as_str().unwrap();
                if !map.contains_key(name) {
                    errors.push(format!("{at}: `{name}` is required but missing"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (name, v) in map {
                let here = format!("{at}/{name}");
                match (
                    properties.and_then(|p| p.get(name)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(property), _) => validate(doc, property, v, &here, errors),
                    (None, Some(Value::Bool(false))) => {
                        errors.push(format!("{here}: not a property of the schema"));
                    }
                    (None, Some(extra @ Value::Object(_))) => {
                        validate(doc, extra, v, &here, errors)
                    }
                    _ => {}
                }
            }
            if let Some(max) = number("maxProperties")
                && map.len() as f64 > max
            {
                errors.push(format!("{at}: more than {max} properties"));
            }
        }
        Value::Array(items) => {
            if number("minItems").is_some_and(|min| (items.len() as f64) < min)
                || number("maxItems").is_some_and(|max| items.len() as f64 > max)
            {
                errors.push(format!("{at}: {} items is out of bounds", items.len()));
            }
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    validate(doc, item, v, &format!("{at}/{i}"), errors);
                }
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as f64;
            if number("minLength").is_some_and(|min| len < min)
                || number("maxLength").is_some_and(|max| len > max)
            {
                errors.push(format!("{at}: {s:?} has a length out of bounds"));
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap();
            if number("minimum").is_some_and(|min| n < min)
                || number("maximum").is_some_and(|max| n > max)
            {
                errors.push(format!("{at}: {n} is out of bounds"));
            }
        }
        _ => {}
    }
}

fn assert_valid(doc: &Value, schema: &Value, value: &Value, what: &str) {
    let mut errors = Vec::new();
    validate(doc, schema, value, "#", &mut errors);
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{value:#}");
}

/// The documented request body schema of an operation accepts `body`.
fn request_schema_accepts(doc: &Value, method: &str, path: &str, body: &Value) {
    let op = &doc["paths"][path][method.to_lowercase()];
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} documents no JSON body");
    assert_valid(doc, schema, body, &format!("request of {method} {path}"));
}

/// The documented answer of an operation for `status` describes `body`.
fn answer_matches(
    doc: &Value,
    method: &str,
    path: &str,
    status: u16,
    media_type: &str,
    body: &Value,
) {
    let op = &doc["paths"][path][method.to_lowercase()];
    let mut response = &op["responses"][status.to_string()];
    if let Some(target) = response["$ref"].as_str() {
        response = doc.pointer(target.trim_start_matches('#')).unwrap();
    }
    let schema = &response["content"][media_type]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no {media_type} answer for {status}"
    );
    assert_valid(doc, schema, body, &format!("{status} of {method} {path}"));
}

/// Calls the API and checks the request and the answer against the
/// document; returns the answer.
async fn exchange(
    w: &World,
    doc: &Value,
    method: Method,
    template: &str,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    if let Some(body) = &body {
        request_schema_accepts(doc, method.as_str(), template, body);
    }
    let mut request = w.request(method.clone(), path, bearer);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let media_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).to_owned())
        .unwrap_or_default();
    let (status, value) = read(response).await;
    if status != 204 {
        answer_matches(doc, method.as_str(), template, status, &media_type, &value);
    }
    (status, value)
}

#[tokio::test]
async fn real_answers_have_the_shape_their_schemas_promise() {
    let Some(w) = World::new(Backend::Sqlite).await else {
        return;
    };
    let doc = fetch_document(&w.app).await;
    let v1 = w.v1.token.clone();
    let gold = w.gold.token.clone();
    let ws = w.gold.id.to_string();
    let (world, document) = (&w, &doc);
    let call = move |method: Method,
                     template: &'static str,
                     path: String,
                     bearer: String,
                     body: Option<Value>| async move {
        exchange(world, document, method, template, &path, &bearer, body).await
    };

    // The vendor publishes.
    let (s, _) = call(
        Method::GET,
        "/api/v1/vendor/partners",
        "/api/v1/vendor/partners".into(),
        v1.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        Method::PUT,
        "/api/v1/vendor/partners/{workspace_id}/tier",
        format!("/api/v1/vendor/partners/{ws}/tier"),
        v1.clone(),
        vendor_body("vendor_set_tier"),
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = call(
        Method::PUT,
        "/api/v1/vendor/partners/{workspace_id}/regions",
        format!("/api/v1/vendor/partners/{ws}/regions"),
        v1.clone(),
        vendor_body("vendor_set_regions"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    for (template, path, operation) in [
        (
            "/api/v1/vendor/campaigns/{external_id}",
            "/api/v1/vendor/campaigns/spring",
            "vendor_put_campaign",
        ),
        (
            "/api/v1/vendor/assets/{external_id}",
            "/api/v1/vendor/assets/brochure",
            "vendor_put_asset",
        ),
        (
            "/api/v1/vendor/price-lists/{external_id}",
            "/api/v1/vendor/price-lists/eu",
            "vendor_put_price_list",
        ),
        (
            "/api/v1/vendor/price-lists/{external_id}/items",
            "/api/v1/vendor/price-lists/eu/items",
            "vendor_put_price_items",
        ),
        (
            "/api/v1/vendor/webhooks",
            "/api/v1/vendor/webhooks",
            "vendor_put_webhook",
        ),
    ] {
        let (s, body) = call(
            Method::PUT,
            template,
            path.into(),
            v1.clone(),
            vendor_body(operation),
        )
        .await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    let (s, body) = call(
        Method::PATCH,
        "/api/v1/vendor/price-lists/{external_id}/items",
        "/api/v1/vendor/price-lists/eu/items".into(),
        v1.clone(),
        vendor_body("vendor_patch_price_items"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = call(
        Method::POST,
        "/api/v1/vendor/partners/{workspace_id}/leads",
        format!("/api/v1/vendor/partners/{ws}/leads"),
        v1.clone(),
        vendor_body("vendor_send_lead"),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let lead_id = body["id"].as_str().unwrap().to_owned();
    for (template, path) in [
        ("/api/v1/vendor/campaigns", "/api/v1/vendor/campaigns"),
        (
            "/api/v1/vendor/campaigns/{external_id}/stats",
            "/api/v1/vendor/campaigns/spring/stats",
        ),
        (
            "/api/v1/vendor/assets/{external_id}",
            "/api/v1/vendor/assets/brochure",
        ),
        ("/api/v1/vendor/price-lists", "/api/v1/vendor/price-lists"),
        (
            "/api/v1/vendor/price-lists/{external_id}/items",
            "/api/v1/vendor/price-lists/eu/items?limit=1",
        ),
        ("/api/v1/vendor/webhooks", "/api/v1/vendor/webhooks"),
    ] {
        let (s, body) = call(Method::GET, template, path.into(), v1.clone(), None).await;
        assert_eq!(s, 200, "{path}: {body}");
    }

    // The partner works with it.
    for (template, path) in [
        ("/api/v1/vendors", "/api/v1/vendors"),
        ("/api/v1/assets", "/api/v1/assets?q=toner"),
        (
            "/api/v1/price-items",
            "/api/v1/price-items?sort=margin&quantity=10",
        ),
        ("/api/v1/leads", "/api/v1/leads"),
    ] {
        let (s, body) = call(Method::GET, template, path.into(), gold.clone(), None).await;
        assert_eq!(s, 200, "{path}: {body}");
        assert!(
            !body["items"].as_array().unwrap().is_empty(),
            "{path}: {body}"
        );
    }
    let (s, body) = call(
        Method::POST,
        "/api/v1/leads/{id}/accept",
        format!("/api/v1/leads/{lead_id}/accept"),
        gold.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, campaigns) = call(
        Method::GET,
        "/api/v1/campaigns",
        "/api/v1/campaigns".into(),
        gold.clone(),
        None,
    )
    .await;
    let campaign_id = campaigns["items"][0]["id"].as_str().unwrap().to_owned();
    let (s, body) = call(
        Method::POST,
        "/api/v1/campaigns/{id}/activate",
        format!("/api/v1/campaigns/{campaign_id}/activate"),
        gold.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // A lead from the landing page, with consent given to the partner's
    // text: its consent record is in the shape the schema describes.
    w.app
        .store
        .partner(w.gold.id)
        .put_profile(&onepane_store::WorkspaceProfile {
            privacy_notice_url: Some("https://gold.example/privacy".into()),
            marketing_consent_text: Some("Offers by email, please.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let sent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(w.app.url(&format!("/l/{}", body["slug"].as_str().unwrap())))
        .form(&[
            ("name", "Lena Landing"),
            ("email", "lena@visitor.example"),
            ("consent_version", "1"),
            ("marketing_consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let (_, leads) = call(
        Method::GET,
        "/api/v1/leads",
        "/api/v1/leads?status=new".into(),
        gold.clone(),
        None,
    )
    .await;
    let landed = leads["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["source"] == "campaign")
        .expect("the landing page's lead")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, landed) = call(
        Method::GET,
        "/api/v1/leads/{id}",
        format!("/api/v1/leads/{landed}"),
        gold.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{landed}");
    assert_eq!(landed["consent"]["marketing"], "given", "{landed}");
    assert_eq!(
        landed["consent"]["marketing_text"],
        "Offers by email, please."
    );
    let deal = json!({
        "vendor_ids": [w.v1.id.to_string()],
        "title": "Printers for Customer Oy",
        "customer": {"name": "Customer Oy", "domain": "customer.example", "country": "FI"},
        "amount": {"value": "12500.50", "currency": "EUR"},
        "products": [{"sku": "P-1", "quantity": 20}],
        "fields": {"reseller_account": "R-1"},
        "lead_id": lead_id,
    });
    let (s, body) = call(
        Method::POST,
        "/api/v1/deal-registrations",
        "/api/v1/deal-registrations".into(),
        gold.clone(),
        Some(deal),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let deal_id = body["registrations"][0]["id"].as_str().unwrap().to_owned();

    // The vendor decides; deliveries and notifications follow.
    let expires = (chrono::Utc::now().date_naive() + chrono::Days::new(90)).to_string();
    let (s, body) = call(
        Method::POST,
        "/api/v1/vendor/deal-registrations/{id}/decision",
        format!("/api/v1/vendor/deal-registrations/{deal_id}/decision"),
        v1.clone(),
        Some(json!({"decision": "approved", "protection_expires_on": expires, "extra_discount": "5"})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = call(
        Method::GET,
        "/api/v1/vendor/webhooks/deliveries",
        "/api/v1/vendor/webhooks/deliveries".into(),
        v1.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(!body["items"].as_array().unwrap().is_empty(), "{body}");
    let (s, body) = call(
        Method::GET,
        "/api/v1/notifications",
        "/api/v1/notifications".into(),
        gold.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(!body["items"].as_array().unwrap().is_empty(), "{body}");
    let (s, _) = call(
        Method::GET,
        "/api/v1/deal-registrations/{id}",
        format!("/api/v1/deal-registrations/{deal_id}"),
        gold.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = call(
        Method::GET,
        "/api/v1/deal-registrations/{id}/delivery",
        format!("/api/v1/deal-registrations/{deal_id}/delivery"),
        gold.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["kind"], "deal", "{body}");
    // Only a refused or failed delivery is sent again.
    let (s, body) = call(
        Method::POST,
        "/api/v1/deal-registrations/{id}/delivery/retry",
        format!("/api/v1/deal-registrations/{deal_id}/delivery/retry"),
        gold.clone(),
        None,
    )
    .await;
    assert_eq!(s, 422, "{body}");

    // Problems are the documented problem document.
    let response = w
        .request(Method::PUT, "/api/v1/vendor/campaigns/spring", &v1)
        .json(&json!({"variants": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (s, problem) = read(response).await;
    assert_eq!(s, 422);
    assert!(problem["errors"].is_array(), "{problem}");
    answer_matches(
        &doc,
        "PUT",
        "/api/v1/vendor/campaigns/{external_id}",
        s,
        "application/problem+json",
        &problem,
    );
    let (s, problem) = read(w.app.get("/api/v1/vendors").await).await;
    answer_matches(
        &doc,
        "GET",
        "/api/v1/vendors",
        s,
        "application/problem+json",
        &problem,
    );

    // The token endpoint and the keys.
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "deals:read"),
    ];
    let response = w
        .app
        .client
        .post(w.app.url("/oauth/token"))
        .basic_auth(w.v1.client_id.to_string(), Some(&w.v1.secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (s, body) = read(response).await;
    answer_matches(&doc, "POST", "/oauth/token", s, "application/json", &body);
    let response = w
        .app
        .client
        .post(w.app.url("/oauth/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    let (s, body) = read(response).await;
    assert_eq!(s, 400);
    answer_matches(&doc, "POST", "/oauth/token", s, "application/json", &body);
    for path in [
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
    ] {
        let (s, body) = read(w.app.get(path).await).await;
        answer_matches(&doc, "GET", path, s, "application/json", &body);
    }
}
