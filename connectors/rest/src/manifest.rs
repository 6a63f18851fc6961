//! The manifest: one vendor's API described as data (see the crate's
//! README for the format).

use std::collections::BTreeMap;

use onepane_connector::{KeyPlacement, RateLimit, Stream, StreamSpec, SyncMode};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::actions::{ACTIONS, Action, RawAction};
use crate::pointer::{Pointer, kind, scalar_text};
use crate::template::Template;

/// The manifest version this crate reads.
pub const MANIFEST_VERSION: u64 = 1;

/// Why a manifest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The text is neither JSON nor YAML.
    #[error("the manifest is not valid {format}: {message}")]
    Syntax {
        /// `JSON` or `YAML`.
        format: &'static str,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// The `version` is missing or not one this crate reads.
    #[error("{0}")]
    Version(String),
    /// A field is unknown, missing or has a bad value.
    #[error("{}: {message}", if path.is_empty() { "the manifest".to_owned() } else { format!("`{path}`") })]
    Invalid {
        /// Where, such as `streams.leads.pagination.page_size`; empty for
        /// the manifest as a whole.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ManifestError {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ManifestError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The path of the bad field, when the error is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ManifestError::Invalid { path, .. } => Some(path),
            ManifestError::Syntax { .. } | ManifestError::Version(_) => None,
        }
    }
}

/// One vendor's API: where it is, what credentials it takes, and for each
/// stream how to page through it and map its records.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub(crate) base_url: Url,
    pub(crate) auth: Auth,
    pub(crate) headers: HeaderMap,
    pub(crate) streams: BTreeMap<Stream, StreamManifest>,
    pub(crate) rate_limit: Option<RateLimit>,
    /// What the partner sends to the vendor's system, by action name.
    pub(crate) actions: BTreeMap<String, Action>,
}

/// The request rate the vendor allows, as its manifest states it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    /// Requests per second, sustained.
    requests_per_second: u32,
    /// Requests that may go back to back (default: one second's worth).
    #[serde(default)]
    burst: Option<u32>,
}

/// The kind of credentials the vendor takes (the secrets themselves belong
/// to the connection).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
// Variants without fields are written `{}` so that serde refuses unknown
// fields in them too (an internally tagged unit variant ignores them).
pub(crate) enum Auth {
    None {},
    ApiKey {
        name: String,
        #[serde(default)]
        placement: KeyPlacement,
    },
    Bearer {},
    Basic {},
    Oauth2ClientCredentials {},
    Oauth2AuthorizationCode {},
}

impl Auth {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Auth::None {} => "none",
            Auth::ApiKey { .. } => "api_key",
            Auth::Bearer {} => "bearer",
            Auth::Basic {} => "basic",
            Auth::Oauth2ClientCredentials {} => "oauth2_client_credentials",
            Auth::Oauth2AuthorizationCode {} => "oauth2_authorization_code",
        }
    }
}

/// How one stream is read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StreamManifest {
    /// `base_url` + `path`, checked.
    pub(crate) url: Url,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) records: Pointer,
    pub(crate) total: Option<Pointer>,
    pub(crate) pagination: Pagination,
    pub(crate) incremental: Option<Incremental>,
    pub(crate) map: Template,
}

/// How a stream's pages follow one another.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Pagination {
    /// One page holds everything.
    None {},
    /// The body holds the next page's cursor; it goes back in `param`.
    Cursor { cursor: Pointer, param: String },
    /// The body holds the next page's URL.
    NextLink { next: Pointer },
    /// The `Link` header's `rel="next"` is the next page's URL.
    LinkHeader {},
    /// `param` counts records skipped.
    Offset {
        param: String,
        page_size: u64,
        #[serde(default)]
        page_size_param: Option<String>,
    },
    /// `param` numbers pages.
    PageNumber {
        param: String,
        #[serde(default = "first_page")]
        first_page: u64,
        page_size: u64,
        #[serde(default)]
        page_size_param: Option<String>,
    },
}

fn first_page() -> u64 {
    1
}

impl Pagination {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Pagination::None {} => "none",
            Pagination::Cursor { .. } => "cursor",
            Pagination::NextLink { .. } => "next_link",
            Pagination::LinkHeader {} => "link_header",
            Pagination::Offset { .. } => "offset",
            Pagination::PageNumber { .. } => "page_number",
        }
    }
}

/// An incremental stream's cursor field and how to ask for what changed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Incremental {
    /// Where each record's cursor value is.
    pub(crate) cursor_field: Pointer,
    /// The query parameter that takes the last pass's highest value.
    pub(crate) since_param: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[allow(dead_code)] // checked before, for a clearer message
    version: u64,
    base_url: String,
    auth: Auth,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    rate_limit: Option<RawRateLimit>,
    /// By name, so that errors can name the stream.
    streams: BTreeMap<String, RawStream>,
    /// By name: `register_deal`, `answer_lead`.
    #[serde(default)]
    actions: BTreeMap<String, RawAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    path: String,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    records: Pointer,
    #[serde(default)]
    total: Option<Pointer>,
    #[serde(default = "no_pagination")]
    pagination: Pagination,
    #[serde(default)]
    incremental: Option<Incremental>,
    map: Value,
}

fn no_pagination() -> Pagination {
    Pagination::None {}
}

/// Headers a manifest may not set: credentials belong to the connection.
const SECRET_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

impl Manifest {
    /// Reads a manifest written in JSON (text starting with `{`) or YAML.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let value: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| ManifestError::Syntax {
                format: "JSON",
                message: e.to_string(),
            })?
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ManifestError::Syntax {
                format: "YAML",
                message: e.to_string(),
            })?
        };
        Manifest::from_json(value)
    }

    /// Reads a manifest already parsed as JSON.
    pub fn from_json(value: Value) -> Result<Manifest, ManifestError> {
        let Some(object) = value.as_object() else {
            return Err(ManifestError::invalid(
                "",
                format!("a manifest is a mapping, not {}", kind(&value)),
            ));
        };
        match object.get("version") {
            None => {
                return Err(ManifestError::Version(format!(
                    "the manifest has no `version`; write `version: {MANIFEST_VERSION}`"
                )));
            }
            Some(v) if v.as_u64() == Some(MANIFEST_VERSION) => {}
            Some(v) => {
                return Err(ManifestError::Version(format!(
                    "manifest version {v} is not supported; this Onepane reads version {MANIFEST_VERSION}"
                )));
            }
        }
        let raw: RawManifest = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            ManifestError::invalid(path, e.into_inner().to_string())
        })?;
        raw.check()
    }

    /// The streams the manifest describes and how each is read:
    /// incremental when it names a cursor field, else full refresh.
    pub fn streams(&self) -> Vec<StreamSpec> {
        Stream::ALL
            .into_iter()
            .filter_map(|stream| {
                self.streams.get(&stream).map(|s| StreamSpec {
                    stream,
                    mode: if s.incremental.is_some() {
                        SyncMode::Incremental
                    } else {
                        SyncMode::FullRefresh
                    },
                })
            })
            .collect()
    }

    /// The vendor's API base URL; every request and next link stays on its
    /// origin.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The kind of credentials the vendor takes (`api_key`, `bearer`, ...),
    /// spelled as in [`onepane_connector::Credentials::kind`].
    pub fn auth_kind(&self) -> &'static str {
        self.auth.kind()
    }

    /// The request rate the vendor allows, when the manifest states it.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// The actions the manifest describes (`register_deal`, `answer_lead`).
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }
}

impl RawManifest {
    fn check(self) -> Result<Manifest, ManifestError> {
        let base_url = base_url(&self.base_url)?;
        if let Auth::ApiKey { name, placement } = &self.auth {
            if name.trim().is_empty() {
                return Err(ManifestError::invalid(
                    "auth.name",
                    "the key's name is empty",
                ));
            }
            if *placement == KeyPlacement::Header
                && HeaderName::from_bytes(name.as_bytes()).is_err()
            {
                return Err(ManifestError::invalid(
                    "auth.name",
                    format!("`{name}` is not a header name"),
                ));
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let path = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                ManifestError::invalid(&path, format!("`{name}` is not a header name"))
            })?;
            let key_header = matches!(&self.auth, Auth::ApiKey { name: key, placement: KeyPlacement::Header } if key.eq_ignore_ascii_case(name));
            if SECRET_HEADERS.contains(&header.as_str()) || key_header {
                return Err(ManifestError::invalid(
                    path,
                    "credentials belong to the connection, not the manifest: declare their kind under `auth`",
                ));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                ManifestError::invalid(&path, "the value holds characters a header cannot carry")
            })?;
            headers.insert(header, value);
        }
        let mut streams = BTreeMap::new();
        for (name, raw) in self.streams {
            let stream: Stream = name
                .parse()
                .map_err(|e: String| ManifestError::invalid(format!("streams.{name}"), e))?;
            streams.insert(stream, raw.check(stream, &base_url)?);
        }
        if streams.is_empty() {
            return Err(ManifestError::invalid(
                "streams",
                "the manifest describes no stream",
            ));
        }
        let rate_limit = match self.rate_limit {
            None => None,
            Some(raw) => Some(rate_limit(raw)?),
        };
        let mut actions = BTreeMap::new();
        for (name, raw) in self.actions {
            if !ACTIONS.contains(&name.as_str()) {
                return Err(ManifestError::invalid(
                    format!("actions.{name}"),
                    format!("`{name}` is not an action ({})", ACTIONS.join(", ")),
                ));
            }
            let action = raw.check(&name, &base_url)?;
            actions.insert(name, action);
        }
        Ok(Manifest {
            base_url,
            auth: self.auth,
            headers,
            streams,
            rate_limit,
            actions,
        })
    }
}

/// The most a manifest may ask for: beyond it the limit is no limit.
const MAX_REQUESTS_PER_SECOND: u32 = 10_000;

fn rate_limit(raw: RawRateLimit) -> Result<RateLimit, ManifestError> {
    let rps = raw.requests_per_second;
    if !(1..=MAX_REQUESTS_PER_SECOND).contains(&rps) {
        return Err(ManifestError::invalid(
            "rate_limit.requests_per_second",
            format!("{rps} is not between 1 and {MAX_REQUESTS_PER_SECOND}"),
        ));
    }
    let burst = raw.burst.unwrap_or(rps);
    if !(1..=MAX_REQUESTS_PER_SECOND).contains(&burst) {
        return Err(ManifestError::invalid(
            "rate_limit.burst",
            format!("{burst} is not between 1 and {MAX_REQUESTS_PER_SECOND}"),
        ));
    }
    RateLimit::per_second(rps, burst)
        .ok_or_else(|| ManifestError::invalid("rate_limit.requests_per_second", "the rate is zero"))
}

fn base_url(text: &str) -> Result<Url, ManifestError> {
    let fail = |message: String| Err(ManifestError::invalid("base_url", message));
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(e) => return fail(format!("`{text}` is not a URL: {e}")),
    };
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return fail(format!("`{text}` is not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return fail("credentials belong to the connection, not the URL".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return fail(
            "the base URL takes no query or fragment: put parameters under a stream's `params`"
                .to_owned(),
        );
    }
    Ok(url)
}

impl RawStream {
    fn check(self, stream: Stream, base: &Url) -> Result<StreamManifest, ManifestError> {
        let at = |field: &str| format!("streams.{stream}.{field}");
        if !self.path.starts_with('/') || self.path.contains(['?', '#']) {
            return Err(ManifestError::invalid(
                at("path"),
                format!(
                    "`{}` is not a path: it starts with `/`, and query parameters go under `params`",
                    self.path
                ),
            ));
        }
        let joined = format!("{}{}", base.as_str().trim_end_matches('/'), self.path);
        let url = match Url::parse(&joined) {
            Ok(url) if url.origin() == base.origin() => url,
            _ => {
                return Err(ManifestError::invalid(
                    at("path"),
                    format!("`{joined}` is not a URL on the base URL's host"),
                ));
            }
        };
        let mut params = Vec::new();
        for (name, value) in &self.params {
            let Some(text) = scalar_text(value) else {
                return Err(ManifestError::invalid(
                    at(&format!("params.{name}")),
                    format!(
                        "a parameter is a text, number or boolean, not {}",
                        kind(value)
                    ),
                ));
            };
            params.push((name.clone(), text));
        }
        let mut reserved: Vec<(&str, &str)> = Vec::new();
        match &self.pagination {
            Pagination::None {} | Pagination::NextLink { .. } | Pagination::LinkHeader {} => {}
            Pagination::Cursor { param, .. } => reserved.push((param, "pagination.param")),
            Pagination::Offset {
                param,
                page_size,
                page_size_param,
            }
            | Pagination::PageNumber {
                param,
                page_size,
                page_size_param,
                ..
            } => {
                if *page_size == 0 {
                    return Err(ManifestError::invalid(
                        at("pagination.page_size"),
                        "the page size is at least 1",
                    ));
                }
                reserved.push((param, "pagination.param"));
                if let Some(size) = page_size_param {
                    reserved.push((size, "pagination.page_size_param"));
                }
            }
        }
        if let Some(incremental) = &self.incremental {
            reserved.push((&incremental.since_param, "incremental.since_param"));
        }
        for (i, (name, field)) in reserved.iter().enumerate() {
            if name.is_empty() {
                return Err(ManifestError::invalid(
                    at(field),
                    "the parameter name is empty",
                ));
            }
            let twice = reserved[..i].iter().any(|(other, _)| other == name)
                || self.params.contains_key(*name);
            if twice {
                return Err(ManifestError::invalid(
                    at(field),
                    format!("the parameter `{name}` is set twice in this stream"),
                ));
            }
        }
        let map = Template::compile(&self.map, &at("map"))
            .map_err(|(path, message)| ManifestError::invalid(path, message))?;
        Ok(StreamManifest {
            url,
            params,
            records: self.records,
            total: self.total,
            pagination: self.pagination,
            incremental: self.incremental,
            map,
        })
    }
}
