//! What the OpenAPI 3.1 document says beside the operations
//! ([`super::operations`] declares those): the description, the shared
//! problem answers, the security schemes, the schemas of query values, and
//! what the layers add to every operation. [`super::reference`] serves it.

use std::collections::{BTreeMap, HashMap};

use axum::http::Method;
use onepane_domain::openapi::one_of_strings;
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

use super::scopes;
use crate::http::error::PROBLEM_JSON;

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

Every write (`POST`, `PUT`, `DELETE`) under `/api/v1` takes an optional `Idempotency-Key` header of 1 to 255 visible ASCII characters. Sending the same key with the same request again replays the first response, marked `Idempotent-Replayed: true`; the same key with a different request is answered 422; a retry sent while the first request is still running waits for it and replays its response. Keys belong to one client (an API client or an access token) and are kept for 24 hours. The write and the record of its response commit in one transaction: if a server stops mid-request, a retry either runs the write (it never committed) or replays its response (it did), never both. A first attempt that failed on the server's side (5xx) keeps nothing, so a retry runs again. Send writes without a natural key (deal registrations, decisions) with a key.

## Rate limits

Each client (an API client or an access token) may make a sustained number of requests per minute with a burst above it (by default 1,200 a minute and 100 at once). A request over the limit is answered 429 with `Retry-After`, the seconds to wait.

## Pagination

A listing answers `{"items": [...], "next_cursor": "..."}`. Pass `next_cursor` back as `cursor` to get the next page; it is absent on the last page. `limit` sets the page size: 50 by default, at most 500 (5,000 for price-list items). Listings that take no `cursor` return everything in one page.

## Webhooks

A vendor subscribes with `PUT /api/v1/vendor/webhooks` and is shown its `whsec_` signing secret once. Each event is one `POST` of `{"id", "type", "created_at", "data"}` to the subscription's URL, with these headers:

- `Onepane-Event`: the event's type, such as `deal-registration.submitted`.
- `Onepane-Delivery`: the delivery's id, equal to the body's `id` and the same on every retry, so a receiver can drop duplicates.
- `Onepane-Signature: t=<unix seconds>,v1=<signature>`: the signature is the lowercase hex HMAC-SHA256 of `<t>.<raw body>` keyed with the whole `whsec_...` secret. Accept a request when one `v1` equals it (compare in constant time) and `t` is within a few minutes of your clock.

Any 2xx answer means delivered. Anything else, a redirect, a timeout or a refused connection included, is retried with exponential backoff (30 s, doubling, at most an hour, shortened by up to half at random); after 8 attempts the delivery is dead, and the vendor can redeliver it.

Delivery is **at least once**: the same event may arrive more than once, for instance when a server stops between sending an event and recording the answer (it is sent again about 15 seconds later, when its claim runs out), or when a receiver's 2xx is lost on the way back. Make receivers idempotent: keep the `Onepane-Delivery` ids seen in the last day and drop a repeat."#;

/// What the document says beside its operations: the description, the
/// shared schemas and answers, and the tags. [`document_with`] adds the
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
            Unavailable,
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
        (name = "Partner: privacy", description = "A person's data: everything the workspace holds about them, exported, or erased on their request."),
        (name = "Partner: audit", description = "The append-only log of what each vendor read and changed in the workspace, and of its admins' security-relevant actions."),
        (name = "Partner: connections", description = "Vendor sources and CRM sinks: create them with sealed credentials, run them now, follow their runs, upload CSV files, connect a CRM with OAuth."),
    ),
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`] with the routed `operations`
/// ([`super::operations::document`] gives them), and what the layers add to
/// each.
pub fn document_with(operations: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.merge(operations);
    for modifier in [
        &SecuritySchemes as &dyn Modify,
        &SharedAnswers,
        &FlattenedObjects,
    ] {
        modifier.modify(&mut document);
    }
    document
}

/// The `oauth2` scope each vendor operation names, by path, then method.
pub fn vendor_scopes(
    document: &utoipa::openapi::OpenApi,
) -> HashMap<String, Vec<(Method, &'static str)>> {
    let mut scopes: HashMap<String, Vec<(Method, &'static str)>> = HashMap::new();
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
                    scopes::SCOPES.iter().copied().find(|s| *s == scope)
                });
            if let Some(scope) = named {
                scopes
                    .entry(path.clone())
                    .or_default()
                    .push((method, scope));
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
problem_response!(
    /// The 503 answer.
    Unavailable,
    "The server cannot reach its database just now (a restart or a failover); nothing was \
     written. Retry, with the same `Idempotency-Key` for a write.",
    "Retry-After" => "Seconds to wait before retrying.",
);

// ---- field schemas -------------------------------------------------------

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
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

// ---- modifiers -----------------------------------------------------------

/// The scheme names operations refer to.
pub(super) const OAUTH2: &str = "oauth2";
pub(super) const BEARER: &str = "bearer";
pub(super) const CLIENT_BASIC: &str = "clientBasic";

/// Declares the three ways to authenticate.
#[derive(Debug)]
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scopes = Scopes::from_iter(
            scopes::SCOPES
                .iter()
                .map(|s| (*s, scopes::scope_description(s).unwrap_or(*s))),
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
/// handler's annotation lists only its own answers: authentication (401),
/// the rate limit (429) and a lost database (503) for the whole API, the
/// scope check (403) for vendors, and `Idempotency-Key` (a header; 400, 409
/// and 422) for writes.
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
    answer("503", "Unavailable");
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::to_value(crate::http::operations::document()).unwrap()
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        assert_eq!(document()["openapi"], "3.1.0");
    }

    #[test]
    fn every_scope_is_described() {
        for scope in scopes::SCOPES {
            assert!(scopes::scope_description(scope).is_some(), "{scope}");
        }
        let doc = document();
        let scopes =
            &doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"];
        assert_eq!(scopes.as_object().unwrap().len(), scopes::SCOPES.len());
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
}
