//! The API reference: an OpenAPI 3.1 document built from the handlers'
//! `#[utoipa::path]` annotations and the types' schemas, served as JSON at
//! `/api/openapi.json` and as a page at `/api/docs`. Both are made once, on
//! the first request, and kept.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::OnceLock;

use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::{
    ContentBuilder, Ref, RefOr, Required, ResponseBuilder, response::Response as OaResponse,
};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use super::ApiError;
use super::PROBLEM_JSON;
use super::oauth;

/// What the reference says before the operations.
const DESCRIPTION: &str = r#"Onepane is a channel-sales platform: vendors publish campaigns, assets and price lists to their partners; partners work the leads and register deals, every vendor in one pane.

The API has two audiences:

- **Vendors** use the connector API under `/api/v1/vendor`: their own systems publish campaigns, marketing assets and price lists, send leads, decide deal registrations and receive webhooks. A vendor reaches only the partner workspaces actively linked to it.
- **Partners** use the partner API under `/api/v1`: a workspace's scripts read its vendors, leads, campaigns, assets, priced items, deal registrations and notifications, and act on them. The workspace comes only from the token.

## Authentication

A vendor's API client uses OAuth 2.0 client credentials: it posts its client id and secret to `/oauth/token` (HTTP Basic, or form fields) and gets a short-lived access token, a JWT signed with EdDSA (the keys are at `/.well-known/jwks.json`). It sends the token as `Authorization: Bearer <token>`. Each vendor operation needs one scope; a token without it is answered 403, naming the scope.

A partner sends a member's personal access token (`oppat_...`) as `Authorization: Bearer <token>`.

A missing, expired or revoked token is answered 401 with a `WWW-Authenticate` challenge.

## Errors

Every error of the JSON API is an RFC 9457 problem document (`application/problem+json`): a stable `type` URI, a `title`, the `status` and a `detail` for people; invalid input also lists `errors`, each with a `pointer` (a JSON pointer into the body, or the name of a parameter or header) and a `detail`. The token endpoint answers with RFC 6749 errors instead.

## Idempotency keys

Every write (`POST`, `PUT`, `DELETE`) under `/api/v1` takes an optional `Idempotency-Key` header of 1 to 255 visible ASCII characters. Sending the same key with the same request again replays the first response, marked `Idempotent-Replayed: true`; the same key with a different request is answered 422; a retry while the first request is still running is answered 409. Keys belong to one client (an API client or an access token) and are kept for 24 hours. A first attempt that failed on the server's side (5xx) releases its key, so a retry runs again.

## Rate limits

Each client (an API client or an access token) may make a sustained number of requests per minute with a burst above it (by default 1,200 a minute and 100 at once). A request over the limit is answered 429 with `Retry-After`, the seconds to wait.

## Pagination

A listing answers `{"items": [...], "next_cursor": "..."}`. Pass `next_cursor` back as `cursor` to get the next page; it is absent on the last page. `limit` sets the page size: 50 by default, at most 500 (5,000 for price-list items). Listings that take no `cursor` return everything in one page.

## Webhooks

A vendor subscribes with `PUT /api/v1/vendor/webhooks` and is shown its `whsec_` signing secret once. Each event is one `POST` of `{"id", "type", "created_at", "data"}` to the subscription's URL, with these headers:

- `Onepane-Event`: the event's type, such as `deal-registration.submitted`.
- `Onepane-Delivery`: the delivery's id, equal to the body's `id` and the same on every retry, so a receiver can drop duplicates.
- `Onepane-Signature: t=<unix seconds>,v1=<signature>`: the signature is the lowercase hex HMAC-SHA256 of `<t>.<raw body>` keyed with the whole `whsec_...` secret. Accept a request when one `v1` equals it (compare in constant time) and `t` is within a few minutes of your clock.

Any 2xx answer means delivered. Anything else, a redirect, a timeout or a refused connection included, is retried with exponential backoff (30 s, doubling, at most an hour, shortened by up to half at random); after 8 attempts the delivery is dead, and the vendor can redeliver it. Delivery is at least once: the same event may arrive twice."#;

/// What the document says beside its operations: the description, the
/// shared schemas and answers, and the tags. [`document_model`] adds the
/// operations from the routes.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Onepane API",
        version = env!("CARGO_PKG_VERSION"),
        description = DESCRIPTION,
    ),
    components(
        schemas(ProblemDocument, ProblemField),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
        ),
    ),
    tags(
        (name = "OAuth", description = "Access tokens for vendors' API clients, and the keys that verify them."),
        (name = "Vendor: partners", description = "The partner workspaces linked to the vendor."),
        (name = "Vendor: campaigns", description = "Campaigns the vendor publishes; partners activate them as co-branded landing pages."),
        (name = "Vendor: assets", description = "Marketing assets the vendor publishes to partners."),
        (name = "Vendor: price lists", description = "Price lists with tier discounts, volume breaks and promotions; the margin engine prices partners' items from them."),
        (name = "Vendor: leads", description = "Leads the vendor sends to partners."),
        (name = "Vendor: deal registrations", description = "Deals partners register with the vendor, and the vendor's decisions."),
        (name = "Vendor: webhooks", description = "Events pushed to the vendor's systems, signed, with retries."),
        (name = "Partner: vendors", description = "The vendors a workspace works with."),
        (name = "Partner: leads", description = "The workspace's leads from every vendor and campaign."),
        (name = "Partner: campaigns", description = "Campaigns offered to the workspace, and their one-click activation."),
        (name = "Partner: assets", description = "The marketing asset library across vendors."),
        (name = "Partner: prices", description = "Every vendor's items with cost, sell price and margin."),
        (name = "Partner: deal registrations", description = "One form to register a deal with one vendor or several."),
        (name = "Partner: notifications", description = "What happened that the workspace should know."),
        (name = "Partner: connections", description = "Vendor sources and CRM sinks: create them with sealed credentials, run them now, follow their runs, upload CSV files, connect a CRM with OAuth."),
    ),
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`] with every routed operation, and what
/// the layers add to each.
pub fn document_model() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.merge(super::operations().into_openapi());
    for modifier in [
        &SecuritySchemes as &dyn Modify,
        &SharedAnswers,
        &FlattenedObjects,
    ] {
        modifier.modify(&mut document);
    }
    document
}

/// The `oauth2` scope each vendor operation names, by method and path.
pub fn vendor_scopes(
    document: &utoipa::openapi::OpenApi,
) -> HashMap<(Method, String), &'static str> {
    let mut scopes = HashMap::new();
    for (path, item) in &document.paths.paths {
        let operations = [
            (Method::GET, &item.get),
            (Method::PUT, &item.put),
            (Method::POST, &item.post),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ];
        for (method, operation) in operations {
            let named = operation
                .iter()
                .flat_map(|op| op.security.iter().flatten())
                .filter_map(|requirement| serde_json::to_value(requirement).ok())
                .find_map(|requirement| {
                    let scope = requirement.get(OAUTH2)?.get(0)?.as_str()?.to_owned();
                    oauth::SCOPES.iter().copied().find(|s| *s == scope)
                });
            if let Some(scope) = named {
                scopes.insert((method, path.clone()), scope);
            }
        }
    }
    scopes
}

// ---- errors --------------------------------------------------------------

/// An RFC 9457 problem document: how the JSON API tells every error.
#[derive(Debug, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDocument {
    /// A URI naming the problem type, stable forever, such as
    /// `https://onepane.dev/problems/not-found`.
    #[schema(rename = "type", format = "uri")]
    pub kind: String,
    /// The problem type's short summary, the same every time.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// Each invalid part of the request; present when the input is
    /// malformed (400) or invalid (422).
    #[schema(required = false)]
    pub errors: Vec<ProblemField>,
}

/// One invalid part of a request.
#[derive(Debug, ToSchema)]
#[schema(as = FieldError)]
pub struct ProblemField {
    /// A JSON pointer into the body (`#/customer/country`; for NDJSON it
    /// starts with the line), or the name of a query parameter or header.
    pub pointer: String,
    /// What is wrong there.
    pub detail: String,
}

fn problem_response(description: &str, headers: &[(&str, &str)]) -> OaResponse {
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(ProblemDocument::name())))
            .build(),
    );
    for (name, description) in headers {
        response = response.header(
            *name,
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some(*description))
                .build(),
        );
    }
    response.build()
}

macro_rules! problem_response {
    ($(#[doc = $doc:literal])* $name:ident, $description:literal $(, $header:literal => $header_doc:literal)* $(,)?) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<OaResponse>) {
                (
                    stringify!($name),
                    problem_response($description, &[$(($header, $header_doc)),*]).into(),
                )
            }
        }
    };
}

problem_response!(
    /// The 400 answer.
    BadRequest,
    "The request is malformed: a path or query parameter, the JSON syntax, or the \
     `Idempotency-Key` header. `errors` names each place."
);
problem_response!(
    /// The 401 answer.
    Unauthorized,
    "No usable access token: it is missing, malformed, expired or revoked.",
    "WWW-Authenticate" => "A `Bearer` challenge; `error` says why a token was refused.",
);
problem_response!(
    /// The 403 answer.
    Forbidden,
    "The access token lacks the scope this operation needs.",
    "WWW-Authenticate" => "`Bearer error=\"insufficient_scope\", scope=\"...\"`, naming the scope.",
);
problem_response!(
    /// The 404 answer.
    NotFound,
    "There is nothing at this address that the caller may see."
);
problem_response!(
    /// The 409 answer.
    Conflict,
    "The request collides with the current state, or a request with the same \
     `Idempotency-Key` is still running."
);
problem_response!(
    /// The 413 answer.
    PayloadTooLarge,
    "The body is larger than this operation takes (1 MiB; 64 MiB for price-list items)."
);
problem_response!(
    /// The 415 answer.
    UnsupportedMediaType,
    "The body is not in a media type this operation takes."
);
problem_response!(
    /// The 422 answer.
    Unprocessable,
    "The input is well formed but a field is invalid (`errors` points at it), the request \
     breaks a rule of the product, or its `Idempotency-Key` was used with a different request."
);
problem_response!(
    /// The 429 answer.
    TooManyRequests,
    "Too many requests from this client.",
    "Retry-After" => "Seconds to wait before the next request.",
);

// ---- field schemas -------------------------------------------------------

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn one_of_strings(values: &[&str], description: &str) -> ObjectBuilder {
    string()
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
}

/// A webhook receiver's URL.
pub fn webhook_url() -> ObjectBuilder {
    string()
        .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into())))
        .max_length(Some(2048))
        .description(Some(
            "An `https://` or `http://` URL of at most 2048 characters, without credentials.",
        ))
}

/// A webhook delivery's status.
pub fn delivery_status() -> ObjectBuilder {
    one_of_strings(
        &["pending", "delivered", "dead"],
        "`pending` (waiting for its next attempt), `delivered` (the receiver answered 2xx) \
         or `dead` (every attempt failed; it can be redelivered).",
    )
}

/// How `GET /price-items` sorts.
pub fn price_sort() -> ObjectBuilder {
    one_of_strings(&["sku", "margin", "margin_percent"], "The sort key.")
}

/// A sort order.
pub fn sort_order() -> ObjectBuilder {
    one_of_strings(&["asc", "desc"], "The sort order.")
}

/// The error codes the token endpoint gives.
pub fn oauth_error_code() -> ObjectBuilder {
    one_of_strings(
        &[
            "invalid_request",
            "invalid_client",
            "unsupported_grant_type",
            "invalid_scope",
            "slow_down",
            "server_error",
            "temporarily_unavailable",
        ],
        "The RFC 6749 error code.",
    )
}

/// The token type the token endpoint issues.
pub fn bearer_token_type() -> ObjectBuilder {
    one_of_strings(&["Bearer"], "The token type.")
}

/// The one grant the token endpoint takes.
pub fn client_credentials_grant() -> ObjectBuilder {
    one_of_strings(&["client_credentials"], "The grant type.")
}

// ---- modifiers -----------------------------------------------------------

/// The scheme names operations refer to.
const OAUTH2: &str = "oauth2";
const BEARER: &str = "bearer";
const CLIENT_BASIC: &str = "clientBasic";

/// Declares the three ways to authenticate.
#[derive(Debug)]
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scopes = Scopes::from_iter(
            oauth::SCOPES
                .iter()
                .map(|s| (*s, oauth::scope_description(s).unwrap_or(*s))),
        );
        components.add_security_scheme(
            OAUTH2,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/oauth/token",
                    scopes,
                ))],
                "A vendor's API client: an access token from `/oauth/token` (client \
                 credentials), sent as `Authorization: Bearer`.",
            )),
        );
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("personal access token".into());
        bearer.description = Some(
            "A partner workspace member's personal access token (`oppat_...`), sent as \
             `Authorization: Bearer`."
                .into(),
        );
        components.add_security_scheme(BEARER, SecurityScheme::Http(bearer));
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description =
            Some("A vendor's API client id and secret, for the token endpoint only.".into());
        components.add_security_scheme(CLIENT_BASIC, SecurityScheme::Http(basic));
    }
}

/// Adds what the layers answer for every operation behind them, so each
/// handler's annotation lists only its own answers: authentication (401)
/// and the rate limit (429) for the whole API, the scope check (403) for
/// vendors, and `Idempotency-Key` (a header; 400, 409 and 422) for writes.
#[derive(Debug)]
struct SharedAnswers;

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let vendor = path.starts_with("/api/v1/vendor/");
            let reads = [&mut item.get];
            let writes = [
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in reads.into_iter().flatten() {
                shared_answers(op, vendor, false);
            }
            for op in writes.into_iter().flatten() {
                shared_answers(op, vendor, true);
            }
        }
    }
}

fn shared_answers(op: &mut Operation, vendor: bool, write: bool) {
    let mut answer = |status: &str, name: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| Ref::from_response_name(name).into());
    };
    answer("401", "Unauthorized");
    answer("429", "TooManyRequests");
    if vendor {
        answer("403", "Forbidden");
    }
    if write {
        answer("400", "BadRequest");
        answer("409", "Conflict");
        answer("422", "Unprocessable");
        op.parameters.get_or_insert_with(Vec::new).push(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes a retry safe: the same key with the same request replays the first \
                     answer (marked `Idempotent-Replayed: true`) for 24 hours.",
                ))
                .schema(Some(
                    string()
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[!-~]+$")),
                ))
                .build(),
        );
    }
}

/// Writes a struct with `#[serde(flatten)]` fields as the one object serde
/// sends, not as `allOf`: an `allOf` part with `additionalProperties: false`
/// would refuse the other parts' properties. utoipa inlines generic
/// arguments (the items of a `Listing`), so schemas are searched throughout.
#[derive(Debug)]
struct FlattenedObjects;

impl Modify for FlattenedObjects {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let snapshot = components.schemas.clone();
        for schema in components.schemas.values_mut() {
            flatten_all_of(schema, &snapshot);
        }
    }
}

fn flatten_all_of(schema: &mut RefOr<Schema>, schemas: &BTreeMap<String, RefOr<Schema>>) {
    let RefOr::T(inner) = schema else {
        return;
    };
    match inner {
        Schema::AllOf(all_of) => {
            if let Some(mut merged) = merge(&all_of.items, schemas) {
                if merged.description.is_none() {
                    merged.description = all_of.description.clone();
                }
                *inner = Schema::Object(merged);
            } else {
                for part in &mut all_of.items {
                    flatten_all_of(part, schemas);
                }
            }
        }
        Schema::Object(object) => {
            for property in object.properties.values_mut() {
                flatten_all_of(property, schemas);
            }
        }
        Schema::Array(array) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut array.items {
                flatten_all_of(items, schemas);
            }
        }
        Schema::OneOf(one_of) => {
            for part in &mut one_of.items {
                flatten_all_of(part, schemas);
            }
        }
        _ => {}
    }
}

/// The parts as one object, when each is an object (inline or referenced).
fn merge(
    parts: &[RefOr<Schema>],
    schemas: &BTreeMap<String, RefOr<Schema>>,
) -> Option<utoipa::openapi::schema::Object> {
    let mut merged = ObjectBuilder::new().schema_type(Type::Object).build();
    for part in parts {
        let object = match part {
            RefOr::T(Schema::Object(o)) => o,
            RefOr::Ref(r) => {
                let name = r.ref_location.strip_prefix("#/components/schemas/")?;
                match schemas.get(name)? {
                    RefOr::T(Schema::Object(o)) => o,
                    _ => return None,
                }
            }
            _ => return None,
        };
        for (name, property) in &object.properties {
            merged.properties.insert(name.clone(), property.clone());
        }
        for name in &object.required {
            if !merged.required.contains(name) {
                merged.required.push(name.clone());
            }
        }
    }
    Some(merged)
}

// ---- serving -------------------------------------------------------------

/// The document and its page, made once.
#[derive(Debug)]
struct Generated {
    json: String,
    html: String,
    style_hash: String,
}

static GENERATED: OnceLock<Option<Generated>> = OnceLock::new();

fn generated() -> Result<&'static Generated, ApiError> {
    GENERATED
        .get_or_init(|| {
            let document = serde_json::to_value(document_model())
                .map_err(|e| tracing::error!(error = %e, "cannot write the OpenAPI document"))
                .ok()?;
            let json = serde_json::to_string_pretty(&document).ok()?;
            let html = render(&document);
            let style_hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
            Some(Generated {
                json,
                html,
                style_hash,
            })
        })
        .as_ref()
        .ok_or_else(|| ApiError::Internal("the OpenAPI document could not be written".into()))
}

/// `GET /api/openapi.json`: the OpenAPI 3.1 document.
pub async fn document() -> Result<Response, ApiError> {
    let generated = generated()?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        generated.json.as_str(),
    )
        .into_response())
}

/// `GET /api/docs`: the reference as one page, with no script and nothing
/// loaded from elsewhere.
pub async fn reference() -> Result<Response, ApiError> {
    let generated = generated()?;
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        generated.html.as_str(),
    )
        .into_response();
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
        generated.style_hash
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

// ---- the page ------------------------------------------------------------

const STYLE: &str = "
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2330;margin:0;background:#fff}
header,main{max-width:70rem;margin:0 auto;padding:0 1.5rem}
header{padding-top:2rem;border-bottom:1px solid #dde2ea}
h1{margin:0 0 .25rem}h2{margin-top:3rem;border-bottom:2px solid #dde2ea;padding-bottom:.25rem}
h3{margin:2rem 0 .5rem;font-size:1.1rem}h4{margin:1rem 0 .25rem;font-size:.95rem}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f5f8;padding:0 .2em;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem;font-size:14px}
th,td{border:1px solid #dde2ea;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f7f8fa}
a{color:#1f5fbf}nav ul{columns:2;padding-left:1.2rem}
.op{border:1px solid #dde2ea;border-radius:6px;padding:0 1rem .5rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;color:#fff;font:bold 12px/1.8 ui-monospace,monospace;margin-right:.5em}
.get{background:#2f7d32}.post{background:#1f5fbf}.put{background:#a35c00}.delete{background:#b3261e}.patch{background:#6a3fb5}
.muted{color:#5b6475}.req{font-weight:bold}td p{margin:0 0 .25rem}
";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `code` spans and `**strong**` runs.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            for (j, run) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<strong>{}</strong>", escape(run));
                } else {
                    out.push_str(&escape(run));
                }
            }
        }
    }
    out
}

/// The little Markdown the descriptions use: paragraphs, `- ` lists and
/// `## ` headings.
fn markdown(text: &str) -> String {
    let mut out = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    let flush = |out: &mut String, paragraph: &mut Vec<&str>, list: &mut Vec<String>| {
        if !paragraph.is_empty() {
            let _ = write!(out, "<p>{}</p>", inline(&paragraph.join(" ")));
            paragraph.clear();
        }
        if !list.is_empty() {
            out.push_str("<ul>");
            for item in list.iter() {
                let _ = write!(out, "<li>{}</li>", inline(item));
            }
            out.push_str("</ul>");
            list.clear();
        }
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            flush(&mut out, &mut paragraph, &mut list);
        } else if let Some(heading) = line.strip_prefix("## ") {
            flush(&mut out, &mut paragraph, &mut list);
            let _ = write!(out, "<h3>{}</h3>", inline(heading));
        } else if let Some(item) = line.strip_prefix("- ") {
            if !paragraph.is_empty() {
                flush(&mut out, &mut paragraph, &mut Vec::new());
            }
            list.push(item.to_owned());
        } else if let Some(last) = list.last_mut() {
            // A list item's continuation line.
            last.push(' ');
            last.push_str(line);
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut out, &mut paragraph, &mut list);
    out
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A schema as a short type: a link to a component, `array of ...`,
/// `string (date-time)`, `A | null`, or an inline object's fields.
fn type_html(schema: &Value) -> String {
    if let Some(target) = str_of(schema, "$ref") {
        let name = target.rsplit('/').next().unwrap_or(target);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    for (key, joiner) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " &amp; ")] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            return parts.iter().map(type_html).collect::<Vec<_>>().join(joiner);
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.is_empty() {
        return "any".to_owned();
    }
    types
        .iter()
        .map(|t| match *t {
            "array" => format!(
                "array of {}",
                schema
                    .get("items")
                    .map_or_else(|| "any".to_owned(), type_html)
            ),
            "object" => match schema.get("properties").and_then(Value::as_object) {
                Some(properties) if !properties.is_empty() => {
                    let required = required_names(schema);
                    let fields: Vec<String> = properties
                        .iter()
                        .map(|(name, property)| {
                            let optional = if required.contains(&name.as_str()) {
                                ""
                            } else {
                                "?"
                            };
                            format!("{}{optional}: {}", escape(name), type_html(property))
                        })
                        .collect();
                    format!("object {{ {} }}", fields.join(", "))
                }
                _ => match schema.get("additionalProperties") {
                    Some(v @ Value::Object(_)) => format!("map of {}", type_html(v)),
                    _ => "object".to_owned(),
                },
            },
            other => match str_of(schema, "format") {
                Some(format) => format!("{} ({})", escape(other), escape(format)),
                None => escape(other),
            },
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn required_names(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The limits a schema sets, in words.
fn constraints(schema: &Value) -> String {
    let mut parts = Vec::new();
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    for (key, bound, one, many) in [
        ("minLength", "at least", "character", "characters"),
        ("maxLength", "at most", "character", "characters"),
        ("minItems", "at least", "item", "items"),
        ("maxItems", "at most", "item", "items"),
        ("maxProperties", "at most", "entry", "entries"),
        ("minimum", "at least", "", ""),
        ("maximum", "at most", "", ""),
    ] {
        if let Some(n) = number(key) {
            let unit = if n == 1.0 { one } else { many };
            parts.push(format!("{bound} {n} {unit}").trim_end().to_owned());
        }
    }
    if let Some(pattern) = str_of(schema, "pattern") {
        parts.push(format!("matches <code>{}</code>", escape(pattern)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" <span class=\"muted\">{}.</span>", parts.join("; "))
    }
}

fn description_html(schema: &Value) -> String {
    // utoipa puts an optional reference's description beside the `$ref`,
    // inside `oneOf`.
    let description = str_of(schema, "description").or_else(|| {
        schema
            .get("oneOf")
            .and_then(Value::as_array)
            .and_then(|parts| parts.iter().find_map(|p| str_of(p, "description")))
    });
    let mut out = description.map(markdown).unwrap_or_default();
    out.push_str(&constraints(schema));
    out
}

fn properties_table(out: &mut String, schema: &Value) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required = required_names(schema);
    out.push_str(
        "<table><tr><th>Property</th><th>Type</th><th>Required</th><th>Description</th></tr>",
    );
    for (name, property) in properties {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            type_html(property),
            if required.contains(&name.as_str()) {
                "<span class=\"req\">yes</span>"
            } else {
                "no"
            },
            description_html(property),
        );
    }
    out.push_str("</table>");
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        out.push_str("<p class=\"muted\">No other property is accepted.</p>");
    }
}

fn schema_html(out: &mut String, schema: &Value) {
    out.push_str(&description_html(schema));
    if schema.get("properties").is_some() {
        properties_table(out, schema);
    } else if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        out.push_str("<p>One of:</p><ul>");
        for variant in variants {
            out.push_str("<li>");
            if variant.get("properties").is_some() {
                schema_html(out, variant);
            } else {
                let _ = write!(out, "{} {}", type_html(variant), description_html(variant));
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    } else {
        let _ = write!(out, "<p>Type: {}</p>", type_html(schema));
        if let Some(extra @ Value::Object(_)) = schema.get("additionalProperties") {
            let _ = write!(
                out,
                "<p>Each value: {} {}</p>",
                type_html(extra),
                description_html(extra)
            );
        }
    }
}

/// Who may call an operation, in words.
fn security_html(op: &Value) -> String {
    let Some(requirements) = op.get("security").and_then(Value::as_array) else {
        return "none".to_owned();
    };
    let ways: Vec<String> = requirements
        .iter()
        .filter_map(Value::as_object)
        .map(|requirement| {
            if requirement.is_empty() {
                return "none (form fields)".to_owned();
            }
            requirement
                .iter()
                .map(|(scheme, scopes)| {
                    let scopes: Vec<String> = scopes
                        .as_array()
                        .map(|s| {
                            s.iter()
                                .filter_map(Value::as_str)
                                .map(|s| format!("<code>{}</code>", escape(s)))
                                .collect()
                        })
                        .unwrap_or_default();
                    let name = match scheme.as_str() {
                        OAUTH2 => "vendor access token (OAuth 2)".to_owned(),
                        BEARER => "partner personal access token".to_owned(),
                        CLIENT_BASIC => "HTTP Basic with the client id and secret".to_owned(),
                        other => escape(other),
                    };
                    if scopes.is_empty() {
                        name
                    } else {
                        format!("{name} with scope {}", scopes.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect();
    ways.join("; or ")
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn operation_html(out: &mut String, doc: &Value, path: &str, method: &str, op: &Value) {
    let id = str_of(op, "operationId").unwrap_or(method);
    let _ = write!(
        out,
        "<article class=\"op\" id=\"op-{}\"><h3><span class=\"method {method}\">{}</span><code>{}</code></h3>",
        escape(id),
        method.to_uppercase(),
        escape(path)
    );
    if let Some(summary) = str_of(op, "summary") {
        let _ = write!(out, "<p><strong>{}</strong></p>", inline(summary));
    }
    if let Some(description) = str_of(op, "description") {
        out.push_str(&markdown(description));
    }
    let _ = write!(out, "<p>Authentication: {}</p>", security_html(op));
    if let Some(parameters) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr>");
        for p in parameters {
            let schema = p.get("schema").unwrap_or(&Value::Null);
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                escape(str_of(p, "name").unwrap_or("")),
                escape(str_of(p, "in").unwrap_or("")),
                type_html(schema),
                if p.get("required") == Some(&Value::Bool(true)) {
                    "<span class=\"req\">yes</span>"
                } else {
                    "no"
                },
                str_of(p, "description").map(inline).unwrap_or_default(),
                constraints(schema),
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = op.get("requestBody") {
        out.push_str("<h4>Request body</h4>");
        if let Some(description) = str_of(body, "description") {
            out.push_str(&markdown(description));
        }
        content_html(out, body);
    }
    out.push_str(
        "<h4>Responses</h4><table><tr><th>Status</th><th>Description</th><th>Body</th></tr>",
    );
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        for (status, response) in responses {
            let (response, link) = match str_of(response, "$ref") {
                Some(target) => {
                    let name = target.rsplit('/').next().unwrap_or(target);
                    (
                        doc.pointer(&format!("/components/responses/{name}"))
                            .unwrap_or(&Value::Null),
                        format!(" (<a href=\"#response-{0}\">{0}</a>)", escape(name)),
                    )
                }
                None => (response, String::new()),
            };
            let mut body = String::new();
            content_html(&mut body, response);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}{link}</td><td>{body}</td></tr>",
                escape(status),
                str_of(response, "description")
                    .map(inline)
                    .unwrap_or_default(),
            );
        }
    }
    out.push_str("</table></article>");
}

/// Each media type of a request or response with its schema.
fn content_html(out: &mut String, holder: &Value) {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return;
    };
    for (media_type, media) in content {
        let _ = write!(
            out,
            "<p><code>{}</code>: {}</p>",
            escape(media_type),
            media
                .get("schema")
                .map_or_else(|| "any".to_owned(), type_html)
        );
    }
}

fn security_schemes_html(out: &mut String, doc: &Value) {
    let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    else {
        return;
    };
    out.push_str("<section id=\"security\"><h2>Security schemes</h2>");
    for (name, scheme) in schemes {
        let _ = write!(
            out,
            "<h3 id=\"security-{0}\"><code>{0}</code></h3>{1}",
            escape(name),
            str_of(scheme, "description")
                .map(markdown)
                .unwrap_or_default()
        );
        if let Some(flow) = scheme.pointer("/flows/clientCredentials") {
            let _ = write!(
                out,
                "<p>Client credentials; token URL <code>{}</code>.</p>",
                escape(str_of(flow, "tokenUrl").unwrap_or(""))
            );
            out.push_str("<table><tr><th>Scope</th><th>Allows</th></tr>");
            if let Some(scopes) = flow.get("scopes").and_then(Value::as_object) {
                for (scope, what) in scopes {
                    let _ = write!(
                        out,
                        "<tr><td><code>{}</code></td><td>{}</td></tr>",
                        escape(scope),
                        inline(what.as_str().unwrap_or(""))
                    );
                }
            }
            out.push_str("</table>");
        }
    }
    out.push_str("</section>");
}

/// The whole reference page.
fn render(doc: &Value) -> String {
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let version = doc
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = String::with_capacity(512 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} {v}</title><style>{STYLE}</style></head><body><header><h1>{t}</h1>\
         <p class=\"muted\">Version {v} · OpenAPI {o} · <a href=\"/api/openapi.json\">openapi.json</a></p>",
        t = escape(title),
        v = escape(version),
        o = escape(str_of(doc, "openapi").unwrap_or("")),
    );
    let tags: Vec<(&str, &str)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| Some((str_of(t, "name")?, str_of(t, "description").unwrap_or(""))))
                .collect()
        })
        .unwrap_or_default();
    out.push_str("<nav><ul><li><a href=\"#security\">Security schemes</a></li>");
    for (name, _) in &tags {
        let _ = write!(
            out,
            "<li><a href=\"#tag-{}\">{}</a></li>",
            slug(name),
            escape(name)
        );
    }
    out.push_str("<li><a href=\"#responses\">Error responses</a></li><li><a href=\"#schemas\">Schemas</a></li></ul></nav></header><main>");
    out.push_str(
        &doc.pointer("/info/description")
            .and_then(Value::as_str)
            .map(markdown)
            .unwrap_or_default(),
    );
    security_schemes_html(&mut out, doc);
    let paths = doc.get("paths").and_then(Value::as_object);
    for (tag, description) in &tags {
        let _ = write!(
            out,
            "<section id=\"tag-{}\"><h2>{}</h2>{}",
            slug(tag),
            escape(tag),
            markdown(description)
        );
        for (path, item) in paths.into_iter().flatten() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let tagged = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|t| t.as_str() == Some(tag)));
                if tagged {
                    operation_html(&mut out, doc, path, method, op);
                }
            }
        }
        out.push_str("</section>");
    }
    out.push_str("<section id=\"responses\"><h2>Error responses</h2>");
    if let Some(responses) = doc
        .pointer("/components/responses")
        .and_then(Value::as_object)
    {
        for (name, response) in responses {
            let _ = write!(
                out,
                "<h3 id=\"response-{0}\">{0}</h3>{1}",
                escape(name),
                str_of(response, "description")
                    .map(markdown)
                    .unwrap_or_default()
            );
            content_html(&mut out, response);
            if let Some(headers) = response.get("headers").and_then(Value::as_object) {
                for (header, spec) in headers {
                    let _ = write!(
                        out,
                        "<p>Header <code>{}</code>: {}</p>",
                        escape(header),
                        str_of(spec, "description").map(inline).unwrap_or_default()
                    );
                }
            }
        }
    }
    out.push_str("</section><section id=\"schemas\"><h2>Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            let _ = write!(out, "<article id=\"schema-{0}\"><h3>{0}</h3>", escape(name));
            schema_html(&mut out, schema);
            out.push_str("</article>");
        }
    }
    out.push_str("</section></main></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        serde_json::to_value(document_model()).unwrap()
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        assert_eq!(document()["openapi"], "3.1.0");
    }

    #[test]
    fn every_scope_is_described() {
        for scope in oauth::SCOPES {
            assert!(oauth::scope_description(scope).is_some(), "{scope}");
        }
        let doc = document();
        let scopes =
            &doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"];
        assert_eq!(scopes.as_object().unwrap().len(), oauth::SCOPES.len());
    }

    #[test]
    fn every_operation_has_a_listed_tag_and_a_unique_id() {
        let doc = document();
        let tags: Vec<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let mut ids = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let tag = op["tags"][0].as_str().unwrap();
                assert!(tags.contains(&tag), "{method} {path}: {tag}");
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
            }
        }
    }

    #[test]
    fn page_limits_match_the_code() {
        let doc = document();
        let limit = |path: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "limit")
                .unwrap()["schema"]["maximum"]
                .as_u64()
                .unwrap()
        };
        let max = u64::from(super::super::api::MAX_PAGE);
        assert_eq!(limit("/api/v1/leads"), max);
        assert_eq!(limit("/api/v1/price-items"), max);
        assert_eq!(limit("/api/v1/vendor/deal-registrations"), max);
        assert_eq!(limit("/api/v1/vendor/webhooks/deliveries"), max);
        assert_eq!(
            limit("/api/v1/vendor/price-lists/{external_id}/items"),
            u64::from(super::super::api::MAX_ITEM_PAGE)
        );
    }

    #[test]
    fn flattened_views_are_one_object() {
        let doc = document();
        let view = &doc["components"]["schemas"]["CampaignView"];
        assert!(view.get("allOf").is_none(), "{view}");
        let properties = view["properties"].as_object().unwrap();
        for name in [
            "external_id",
            "status",
            "variants",
            "audience",
            "workspaces",
        ] {
            assert!(properties.contains_key(name), "{name}");
        }
    }

    #[test]
    fn markdown_escapes_everything() {
        let html = markdown("a <script>alert(1)</script> `<b>` **\"x\"**\n\n- one & two");
        assert_eq!(
            html,
            "<p>a &lt;script&gt;alert(1)&lt;/script&gt; <code>&lt;b&gt;</code> \
             <strong>&quot;x&quot;</strong></p><ul><li>one &amp; two</li></ul>"
        );
    }

    #[test]
    fn types_link_to_their_schemas() {
        let schema = serde_json::json!({
            "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Email"}]
        });
        assert_eq!(
            type_html(&schema),
            "null | <a href=\"#schema-Email\">Email</a>"
        );
        let array =
            serde_json::json!({"type": "array", "items": {"type": "string", "format": "date"}});
        assert_eq!(type_html(&array), "array of string (date)");
    }
}
