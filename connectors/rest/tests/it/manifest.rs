//! Reading manifests: YAML and JSON alike, and clear errors naming the bad
//! field.

use onepane_connector::ConnectorError;
use onepane_connector_rest::{Manifest, ManifestError, RestSource};
use serde_json::json;

const EXAMPLE: &str = include_str!("../../examples/vendor.yaml");

/// A small valid manifest, with `{stream}` spliced into the leads stream.
fn with_stream(extra: &str) -> String {
    format!(
        r#"
version: 1
base_url: https://api.vendor.example/v1
auth: {{type: bearer}}
streams:
  leads:
    path: /leads
    records: /data
    map: {{external_id: /id, contact: {{name: /name}}}}
{extra}
"#
    )
}

fn invalid(text: &str) -> (String, String) {
    match Manifest::parse(text) {
        Err(ManifestError::Invalid { path, message }) => (path, message),
        other => panic!("{other:?}"),
    }
}

#[test]
fn yaml_and_json_read_as_the_same_manifest() {
    let from_yaml = Manifest::parse(EXAMPLE).unwrap();
    let as_json: serde_json::Value = serde_yaml_ng::from_str(EXAMPLE).unwrap();
    let from_json = Manifest::parse(&serde_json::to_string_pretty(&as_json).unwrap()).unwrap();
    assert_eq!(from_yaml, from_json);
    assert_eq!(Manifest::from_json(as_json).unwrap(), from_yaml);
}

#[test]
fn settings_hold_the_manifest_as_an_object_or_as_text() {
    let as_json: serde_json::Value = serde_yaml_ng::from_str(EXAMPLE).unwrap();
    let from_object = RestSource::from_settings(&json!({"manifest": as_json})).unwrap();
    let from_text = RestSource::from_settings(&json!({"manifest": EXAMPLE})).unwrap();
    assert_eq!(from_object.manifest(), from_text.manifest());

    let config = |settings: serde_json::Value| match RestSource::from_settings(&settings) {
        Err(ConnectorError::Config(message)) => message,
        other => panic!("{other:?}"),
    };
    assert!(config(json!({})).contains("needs a `manifest`"));
    assert!(config(json!({"manifest": EXAMPLE, "url": "x"})).contains("unknown setting `url`"));
    assert!(config(json!({"manifest": 3})).contains("not a number"));
    let message = config(json!({"manifest": {"version": 1}}));
    assert!(
        message.starts_with("the manifest is unusable:"),
        "{message}"
    );
}

#[test]
fn only_version_1_is_read() {
    let two = with_stream("").replace("version: 1", "version: 2");
    assert_eq!(
        Manifest::parse(&two).unwrap_err().to_string(),
        "manifest version 2 is not supported; this Onepane reads version 1"
    );
    let none = with_stream("").replace("version: 1", "");
    assert_eq!(
        Manifest::parse(&none).unwrap_err().to_string(),
        "the manifest has no `version`; write `version: 1`"
    );
    let text = with_stream("").replace("version: 1", "version: \"1\"");
    assert!(matches!(
        Manifest::parse(&text),
        Err(ManifestError::Version(_))
    ));
}

#[test]
fn unknown_fields_are_refused_by_path() {
    let (path, message) = invalid(&with_stream("").replace("base_url", "base_uri"));
    assert_eq!(path, "base_uri");
    assert!(message.contains("unknown field `base_uri`"), "{message}");

    let (path, message) = invalid(&with_stream("    limit: 10"));
    assert!(path.starts_with("streams.leads"), "{path}");
    assert!(message.contains("unknown field `limit`"), "{message}");

    let (path, message) = invalid(&with_stream(
        "    pagination: {type: offset, param: offset, page_size: 10, size: 3}",
    ));
    assert!(path.starts_with("streams.leads.pagination"), "{path}");
    assert!(message.contains("unknown field `size`"), "{message}");

    let (path, message) = invalid(&with_stream(
        "    pagination: {type: link_header, next: /x}",
    ));
    assert!(path.starts_with("streams.leads.pagination"), "{path}");
    assert!(message.contains("next"), "{message}");

    let (path, message) = invalid(&with_stream(
        "  users:\n    path: /users\n    records: /data\n    map: /x",
    ));
    assert_eq!(path, "streams.users");
    assert!(message.contains("`users` is not a stream"), "{message}");

    let (path, message) = invalid(&with_stream("    pagination: {type: scroll}"));
    assert!(path.starts_with("streams.leads.pagination"), "{path}");
    assert!(message.contains("unknown variant `scroll`"), "{message}");
}

#[test]
fn bad_pointers_are_refused_by_path() {
    let (path, message) = invalid(&with_stream("").replace("records: /data", "records: data"));
    assert_eq!(path, "streams.leads.records");
    assert!(
        message.contains("`data` is not a JSON pointer: it must start with `/`"),
        "{message}"
    );

    let (path, message) = invalid(&with_stream("").replace("name: /name", "name: full_name"));
    assert_eq!(path, "streams.leads.map.contact.name");
    assert!(message.contains("`{$const: ...}`"), "{message}");

    let (path, _) = invalid(&with_stream(
        "    incremental: {cursor_field: /updated~2at, since_param: since}",
    ));
    assert_eq!(path, "streams.leads.incremental.cursor_field");

    let (path, message) =
        invalid(&with_stream("").replace("external_id: /id", "external_id: {$pointr: /id}"));
    assert_eq!(path, "streams.leads.map.external_id.$pointr");
    assert!(message.contains("not an operator"), "{message}");
}

#[test]
fn urls_headers_and_parameters_are_checked() {
    let base = |url: &str| invalid(&with_stream("").replace("https://api.vendor.example/v1", url));
    assert!(base("ftp://files.vendor.example").1.contains("http(s)"));
    assert!(
        base("https://user:pw@api.vendor.example")
            .1
            .contains("credentials")
    );
    assert!(
        base("https://api.vendor.example/v1?key=1")
            .1
            .contains("params")
    );
    assert_eq!(base("not a url").0, "base_url");

    let (path, message) = invalid(&with_stream("headers: {Authorization: Bearer abc}"));
    assert_eq!(path, "headers.Authorization");
    assert!(
        message.contains("credentials belong to the connection"),
        "{message}"
    );

    let (path, _) = invalid(&with_stream("").replace("path: /leads", "path: leads?x=1"));
    assert_eq!(path, "streams.leads.path");

    let (path, message) = invalid(&with_stream(
        "    params: {cursor: x}\n    pagination: {type: cursor, cursor: /next, param: cursor}",
    ));
    assert_eq!(path, "streams.leads.pagination.param");
    assert!(message.contains("set twice"), "{message}");

    let (path, _) = invalid(&with_stream(
        "    pagination: {type: page_number, param: page, page_size: 0}",
    ));
    assert_eq!(path, "streams.leads.pagination.page_size");

    let (path, _) = invalid(&with_stream("    params: {filter: {a: 1}}"));
    assert_eq!(path, "streams.leads.params.filter");
}

#[test]
fn syntax_errors_say_which_format_and_where() {
    let err = Manifest::parse("{\"version\": 1,").unwrap_err().to_string();
    assert!(err.starts_with("the manifest is not valid JSON"), "{err}");
    let err = Manifest::parse("version: 1\nstreams: [unclosed")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("the manifest is not valid YAML"), "{err}");
    assert!(err.contains("line"), "{err}");
}

#[test]
fn a_stated_rate_limit_is_read_and_checked() {
    let with_rate = |rate: &str| format!("rate_limit: {rate}\n{}", with_stream(""));
    assert_eq!(
        Manifest::parse(&with_stream("")).unwrap().rate_limit(),
        None
    );
    let limit = Manifest::parse(&with_rate("{requests_per_second: 50, burst: 5}"))
        .unwrap()
        .rate_limit()
        .unwrap();
    assert_eq!(
        (limit.interval(), limit.burst()),
        (std::time::Duration::from_millis(20), 5)
    );
    // The burst defaults to one second's worth.
    let limit = Manifest::parse(&with_rate("{requests_per_second: 8}"))
        .unwrap()
        .rate_limit()
        .unwrap();
    assert_eq!(limit.burst(), 8);
    for (rate, path) in [
        ("{requests_per_second: 0}", "rate_limit.requests_per_second"),
        (
            "{requests_per_second: 20000}",
            "rate_limit.requests_per_second",
        ),
        ("{requests_per_second: 5, burst: 0}", "rate_limit.burst"),
    ] {
        let (at, message) = invalid(&with_rate(rate));
        assert_eq!(at, path, "{rate}: {message}");
        assert!(message.contains("between 1 and 10000"), "{message}");
    }
    let (at, message) = invalid(&with_rate("{requests_per_second: 5, concurrency: 2}"));
    assert!(at.starts_with("rate_limit"), "{at}");
    assert!(message.contains("unknown field `concurrency`"), "{message}");
}
