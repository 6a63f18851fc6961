//! The request validator itself must be able to say no.

use std::collections::BTreeMap;

use serde_json::json;

use crate::openapi::Spec;

fn json_headers() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("content-type".into(), "application/json".into()),
        ("authorization".into(), "Bearer t".into()),
    ])
}

fn check(spec: &Spec, path: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> Vec<String> {
    spec.check_request("POST", path, headers, &[], body)
        .err()
        .unwrap_or_default()
}

#[test]
fn a_good_upsert_passes() {
    let spec = Spec::load("crm-contacts-v3.json");
    let body = json!({ "inputs": [{ "id": "k1", "idProperty": "onepane_id", "properties": { "email": "a@b.example" } }] });
    let errors = check(
        &spec,
        "/crm/v3/objects/contacts/batch/upsert",
        &json_headers(),
        body.to_string().as_bytes(),
    );
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_wrong_upsert_body_is_rejected() {
    let spec = Spec::load("crm-contacts-v3.json");
    let path = "/crm/v3/objects/contacts/batch/upsert";
    let body = json!({ "inputs": [{ "idproperty": "onepane_id", "properties": { "email": 5 } }] });

    let errors = check(&spec, path, &json_headers(), body.to_string().as_bytes());

    let all = errors.join("\n");
    assert!(all.contains("$.inputs[0]: `id` is required"), "{all}");
    assert!(
        all.contains("$.inputs[0].properties.email: expected string"),
        "{all}"
    );
    assert!(
        all.contains("$.inputs[0].idproperty: not a known property"),
        "{all}"
    );
    let errors = check(&spec, path, &json_headers(), br#"{"input":[]}"#);
    assert!(
        errors.join("\n").contains("`inputs` is required"),
        "{errors:?}"
    );
    let errors = check(&spec, path, &json_headers(), br#"{"inputs":{}}"#);
    assert!(errors.join("\n").contains("expected array"), "{errors:?}");
}

#[test]
fn a_request_off_the_spec_is_rejected() {
    let spec = Spec::load("crm-contacts-v3.json");
    let body = br#"{"inputs":[]}"#;
    assert!(
        !check(
            &spec,
            "/crm/v3/objects/contacts/batch/upsertt",
            &json_headers(),
            body
        )
        .is_empty()
    );
    let mut no_token = json_headers();
    no_token.remove("authorization");
    let errors = check(
        &spec,
        "/crm/v3/objects/contacts/batch/upsert",
        &no_token,
        body,
    );
    assert!(errors.join("\n").contains("Bearer"), "{errors:?}");
    let mut form = json_headers();
    form.insert("content-type".into(), "text/plain".into());
    assert!(!check(&spec, "/crm/v3/objects/contacts/batch/upsert", &form, body).is_empty());
    let query = [("hapikey".to_owned(), "x".to_owned())];
    assert!(
        spec.check_request(
            "POST",
            "/crm/v3/objects/contacts/batch/upsert",
            &json_headers(),
            &query,
            body
        )
        .is_err()
    );
}

#[test]
fn a_wrong_token_form_is_rejected() {
    let spec = Spec::load("oauth-v3.json");
    let headers = BTreeMap::from([(
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    )]);
    let good = b"grant_type=refresh_token&refresh_token=r1&client_id=c&client_secret=s";
    assert!(check(&spec, "/oauth/v3/token", &headers, good).is_empty());
    let errors = check(
        &spec,
        "/oauth/v3/token",
        &headers,
        b"grant_type=password&username=u",
    );
    let all = errors.join("\n");
    assert!(
        all.contains("$.grant_type: \"password\" is not one of"),
        "{all}"
    );
    assert!(all.contains("$.username: not a known property"), "{all}");
}

#[test]
fn formats_and_references_are_checked() {
    let spec = Spec::load("crm-contacts-v3.json");
    let schema = json!({ "$ref": "#/components/schemas/BatchResponseSimplePublicUpsertObject" });
    let bad = json!({ "status": "DONE", "results": [], "startedAt": "yesterday", "completedAt": "2026-03-01T10:00:00Z" });
    let all = spec.check(&schema, &bad).join("\n");
    assert!(all.contains("$.status"), "{all}");
    assert!(all.contains("$.startedAt"), "{all}");
}
