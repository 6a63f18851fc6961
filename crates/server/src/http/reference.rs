//! The API reference: the OpenAPI document as JSON at `/api/openapi.json`,
//! and as one page at `/api/docs`: a view of the OpenAPI
//! document (its sections, operations, parameters, bodies, answers and
//! schemas) drawn by the `api_docs*.html` templates, with no script and
//! nothing loaded from elsewhere. It is made once, on the first request,
//! and kept.

use std::fmt;
use std::sync::OnceLock;

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::openapi::{BEARER, CLIENT_BASIC, OAUTH2};
use super::operations;
use crate::http::error::ApiError;

// ---- serving -------------------------------------------------------------

/// The document as JSON, written once.
static GENERATED: OnceLock<Option<String>> = OnceLock::new();

fn generated() -> Result<&'static str, ApiError> {
    GENERATED
        .get_or_init(|| {
            serde_json::to_string_pretty(&operations::document())
                .map_err(|e| tracing::error!(error = %e, "cannot write the OpenAPI document"))
                .ok()
        })
        .as_deref()
        .ok_or_else(|| ApiError::Internal("the OpenAPI document could not be written".into()))
}

/// `GET /api/openapi.json`: the OpenAPI 3.1 document.
pub async fn document() -> Result<Response, ApiError> {
    Ok(([(header::CONTENT_TYPE, "application/json")], generated()?).into_response())
}

/// The page and the hash of its style, made once.
#[derive(Debug)]
struct Made {
    html: String,
    style_hash: String,
}

static MADE: OnceLock<Option<Made>> = OnceLock::new();

fn made() -> Result<&'static Made, ApiError> {
    MADE.get_or_init(|| {
        let document = serde_json::to_value(operations::document())
            .map_err(|e| tracing::error!(error = %e, "cannot write the OpenAPI document"))
            .ok()?;
        let html = ReferencePage::of(&document)
            .render()
            .map_err(|e| tracing::error!(error = %e, "cannot draw the API reference"))
            .ok()?;
        Some(Made {
            html,
            style_hash: STANDARD.encode(Sha256::digest(STYLE.as_bytes())),
        })
    })
    .as_ref()
    .ok_or_else(|| ApiError::Internal("the API reference could not be drawn".into()))
}

/// `GET /api/docs`: the reference as one page, with no script and nothing
/// loaded from elsewhere.
pub async fn page() -> Result<Response, ApiError> {
    let made = made()?;
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        made.html.as_str(),
    )
        .into_response();
    // The one inline style is allowed by its hash; nothing else may load.
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
        made.style_hash
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

/// The page's only style, inline so that nothing is loaded; the
/// Content-Security-Policy allows it by its SHA-256.
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

// ---- Markdown ------------------------------------------------------------

/// HTML made from a description's Markdown, safe to write as it is.
#[derive(Debug, Default)]
struct Markdown(String);

impl fmt::Display for Markdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Markdown {
    /// Blocks: paragraphs, lists and headings.
    fn block(text: &str) -> Self {
        Self::convert(text, false)
    }

    /// One run of text, without the paragraph around it, for a table cell
    /// or a line of its own.
    fn inline(text: &str) -> Self {
        Self::convert(text, true)
    }

    fn convert(text: &str, inline: bool) -> Self {
        let events = Parser::new_ext(text, Options::empty()).filter_map(|event| match event {
            // The descriptions are our own, but markup in them is shown as
            // text, never passed through. Text is escaped quotes and all,
            // as askama escapes the rest of the page (the writer's default
            // for text leaves quotes as they are).
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => {
                Some(Event::InlineHtml(escaped(&text).into()))
            }
            Event::Code(code) => Some(Event::InlineHtml(
                format!("<code>{}</code>", escaped(&code)).into(),
            )),
            // An image would be loaded from elsewhere; its alt text stays.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
            // A description's `##` sections sit under an `h2` of the page.
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => Some(Event::Start(Tag::Heading {
                level: one_down(level),
                id,
                classes,
                attrs,
            })),
            Event::End(TagEnd::Heading(level)) => {
                Some(Event::End(TagEnd::Heading(one_down(level))))
            }
            Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) if inline => None,
            other => Some(other),
        });
        let mut html = String::with_capacity(text.len() * 2);
        pulldown_cmark::html::push_html(&mut html, events);
        Self(html)
    }
}

/// Text escaped for HTML: `&`, `<`, `>` and `"`.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, text);
    out
}

fn one_down(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => HeadingLevel::H6,
    }
}

// ---- the view ------------------------------------------------------------

/// The whole reference page.
#[derive(Debug, Template)]
#[template(path = "api_docs.html")]
struct ReferencePage {
    title: String,
    version: String,
    openapi: String,
    style: &'static str,
    introduction: Markdown,
    /// The document's security schemes, when it declares any.
    security_schemes: Option<Vec<SecuritySchemeView>>,
    sections: Vec<Section>,
    responses: Vec<SharedResponse>,
    schemas: Vec<NamedSchema>,
}

/// One way to authenticate, with the scopes of its client credentials.
#[derive(Debug)]
struct SecuritySchemeView {
    name: String,
    description: Markdown,
    client_credentials: Option<ClientCredentialsView>,
}

#[derive(Debug)]
struct ClientCredentialsView {
    token_url: String,
    scopes: Vec<(String, Markdown)>,
}

/// A tag: its description and the operations that carry it.
#[derive(Debug)]
struct Section {
    slug: String,
    name: String,
    description: Markdown,
    operations: Vec<OperationView>,
}

#[derive(Debug)]
struct OperationView {
    id: String,
    /// Lowercase, as in the document; also the method's CSS class.
    method: &'static str,
    path: String,
    summary: Option<Markdown>,
    description: Option<Markdown>,
    security: Security,
    /// `None` when the operation lists no parameters at all.
    parameters: Option<Vec<ParameterView>>,
    body: Option<BodyView>,
    responses: Vec<ResponseRow>,
}

/// Who may call an operation: no requirement at all, or any one of the
/// ways, each of which needs all of its schemes.
#[derive(Debug)]
enum Security {
    Nobody,
    Ways(Vec<Vec<Requirement>>),
}

/// One scheme of a way to authenticate, in words, with its scopes.
#[derive(Debug)]
struct Requirement {
    name: String,
    scopes: Vec<String>,
}

#[derive(Debug)]
struct ParameterView {
    name: String,
    location: String,
    ty: TypeView,
    required: bool,
    description: Markdown,
    constraints: Constraints,
}

#[derive(Debug)]
struct BodyView {
    description: Option<Markdown>,
    content: Vec<MediaView>,
}

/// A media type of a body, with its schema as a type.
#[derive(Debug)]
struct MediaView {
    media_type: String,
    ty: TypeView,
}

/// One answer of an operation; `shared` names the error response it is.
#[derive(Debug)]
struct ResponseRow {
    status: String,
    description: Markdown,
    shared: Option<String>,
    content: Vec<MediaView>,
}

/// An answer many operations share, with its headers.
#[derive(Debug)]
struct SharedResponse {
    name: String,
    description: Markdown,
    content: Vec<MediaView>,
    headers: Vec<(String, Markdown)>,
}

#[derive(Debug)]
struct NamedSchema {
    name: String,
    body: SchemaBody,
}

/// A schema's description and its properties, variants or type. A variant
/// can be a schema of its own, so this is a template that draws itself.
#[derive(Debug, Template)]
#[template(path = "api_docs_schema.html")]
struct SchemaBody {
    description: Description,
    shape: Shape,
}

/// A description with the limits the schema sets.
#[derive(Debug)]
struct Description {
    text: Markdown,
    constraints: Constraints,
}

#[derive(Debug)]
enum Shape {
    /// An object's table of properties; `closed` when no other is taken.
    Properties {
        rows: Vec<PropertyRow>,
        closed: bool,
    },
    OneOf(Vec<Variant>),
    /// A plain type; a map also says what each value is.
    Plain {
        ty: TypeView,
        each_value: Option<(TypeView, Description)>,
    },
}

#[derive(Debug)]
struct PropertyRow {
    name: String,
    ty: TypeView,
    required: bool,
    description: Description,
}

#[derive(Debug)]
enum Variant {
    Object(Box<SchemaBody>),
    Type(TypeView, Description),
}

/// A schema as a short type: a link to a component, `array of ...`,
/// `string (date-time)`, `A | null`, or an inline object's fields.
#[derive(Debug, Default, Template)]
#[template(path = "api_docs_type.html")]
struct TypeView {
    tokens: Vec<Token>,
}

/// A piece of a type as written.
#[derive(Debug)]
enum Token {
    Text(String),
    Code(String),
    /// A link to a schema of the document, by its name.
    Schema(String),
}

/// The limits a schema sets, in words, and the pattern it must match.
#[derive(Debug, Default)]
struct Constraints {
    words: Vec<String>,
    pattern: Option<String>,
}

impl Constraints {
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.pattern.is_none()
    }
}

// ---- from the document ---------------------------------------------------

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn object_of<'a>(value: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    value.get(key).and_then(Value::as_object)
}

/// The last segment of a `$ref`, the component's name.
fn ref_name(target: &str) -> &str {
    target.rsplit('/').next().unwrap_or(target)
}

impl ReferencePage {
    fn of(doc: &Value) -> Self {
        let at = |pointer: &str| doc.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        let tags: Vec<(&str, &str)> = doc
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| {
                        Some((str_of(t, "name")?, str_of(t, "description").unwrap_or("")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let paths = object_of(doc, "paths");
        let sections = tags
            .iter()
            .map(|(tag, description)| Section {
                slug: slug(tag),
                name: (*tag).to_owned(),
                description: Markdown::block(description),
                operations: paths
                    .into_iter()
                    .flatten()
                    .flat_map(|(path, item)| {
                        METHODS.into_iter().filter_map(move |method| {
                            let op = item.get(method)?;
                            let tagged = op
                                .get("tags")
                                .and_then(Value::as_array)
                                .is_some_and(|t| t.iter().any(|t| t.as_str() == Some(tag)));
                            tagged.then(|| OperationView::of(doc, path, method, op))
                        })
                    })
                    .collect(),
            })
            .collect();
        let responses = doc
            .pointer("/components/responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, response)| SharedResponse {
                name: name.clone(),
                description: str_of(response, "description")
                    .map(Markdown::block)
                    .unwrap_or_default(),
                content: MediaView::all(response),
                headers: object_of(response, "headers")
                    .into_iter()
                    .flatten()
                    .map(|(header, spec)| {
                        let description = str_of(spec, "description")
                            .map(Markdown::inline)
                            .unwrap_or_default();
                        (header.clone(), description)
                    })
                    .collect(),
            })
            .collect();
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, schema)| NamedSchema {
                name: name.clone(),
                body: SchemaBody::of(schema),
            })
            .collect();
        Self {
            title: doc
                .pointer("/info/title")
                .and_then(Value::as_str)
                .unwrap_or("API")
                .to_owned(),
            version: at("/info/version").to_owned(),
            openapi: at("/openapi").to_owned(),
            style: STYLE,
            introduction: Markdown::block(at("/info/description")),
            security_schemes: security_schemes(doc),
            sections,
            responses,
            schemas,
        }
    }
}

fn security_schemes(doc: &Value) -> Option<Vec<SecuritySchemeView>> {
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)?;
    let views = schemes
        .iter()
        .map(|(name, scheme)| SecuritySchemeView {
            name: name.clone(),
            description: str_of(scheme, "description")
                .map(Markdown::block)
                .unwrap_or_default(),
            client_credentials: scheme.pointer("/flows/clientCredentials").map(|flow| {
                ClientCredentialsView {
                    token_url: str_of(flow, "tokenUrl").unwrap_or("").to_owned(),
                    scopes: object_of(flow, "scopes")
                        .into_iter()
                        .flatten()
                        .map(|(scope, what)| {
                            (scope.clone(), Markdown::inline(what.as_str().unwrap_or("")))
                        })
                        .collect(),
                }
            }),
        })
        .collect();
    Some(views)
}

impl OperationView {
    fn of(doc: &Value, path: &str, method: &'static str, op: &Value) -> Self {
        let parameters = op.get("parameters").and_then(Value::as_array).map(|ps| {
            ps.iter()
                .map(|p| {
                    let schema = p.get("schema").unwrap_or(&Value::Null);
                    ParameterView {
                        name: str_of(p, "name").unwrap_or("").to_owned(),
                        location: str_of(p, "in").unwrap_or("").to_owned(),
                        ty: TypeView::of(schema),
                        required: p.get("required") == Some(&Value::Bool(true)),
                        description: str_of(p, "description")
                            .map(Markdown::inline)
                            .unwrap_or_default(),
                        constraints: Constraints::of(schema),
                    }
                })
                .collect()
        });
        let body = op.get("requestBody").map(|body| BodyView {
            description: str_of(body, "description").map(Markdown::block),
            content: MediaView::all(body),
        });
        let responses = object_of(op, "responses")
            .into_iter()
            .flatten()
            .map(|(status, response)| {
                // A shared answer is described once, under its name.
                let (response, shared) = match str_of(response, "$ref") {
                    Some(target) => {
                        let name = ref_name(target);
                        (
                            doc.pointer(&format!("/components/responses/{name}"))
                                .unwrap_or(&Value::Null),
                            Some(name.to_owned()),
                        )
                    }
                    None => (response, None),
                };
                ResponseRow {
                    status: status.clone(),
                    description: str_of(response, "description")
                        .map(Markdown::inline)
                        .unwrap_or_default(),
                    shared,
                    content: MediaView::all(response),
                }
            })
            .collect();
        Self {
            id: str_of(op, "operationId").unwrap_or(method).to_owned(),
            method,
            path: path.to_owned(),
            summary: str_of(op, "summary").map(Markdown::inline),
            description: str_of(op, "description").map(Markdown::block),
            security: Security::of(op),
            parameters,
            body,
            responses,
        }
    }
}

impl Security {
    fn of(op: &Value) -> Self {
        let Some(requirements) = op.get("security").and_then(Value::as_array) else {
            return Self::Nobody;
        };
        let ways = requirements
            .iter()
            .filter_map(Value::as_object)
            .map(|requirement| {
                requirement
                    .iter()
                    .map(|(scheme, scopes)| Requirement {
                        name: match scheme.as_str() {
                            OAUTH2 => "vendor access token (OAuth 2)".to_owned(),
                            BEARER => "partner personal access token".to_owned(),
                            CLIENT_BASIC => "HTTP Basic with the client id and secret".to_owned(),
                            other => other.to_owned(),
                        },
                        scopes: scopes
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    })
                    .collect()
            })
            .collect();
        Self::Ways(ways)
    }
}

impl MediaView {
    /// Each media type of a request or response with its schema.
    fn all(holder: &Value) -> Vec<Self> {
        object_of(holder, "content")
            .into_iter()
            .flatten()
            .map(|(media_type, media)| Self {
                media_type: media_type.clone(),
                ty: media
                    .get("schema")
                    .map(TypeView::of)
                    .unwrap_or_else(TypeView::any),
            })
            .collect()
    }
}

impl SchemaBody {
    fn of(schema: &Value) -> Self {
        let shape = if let Some(properties) = object_of(schema, "properties") {
            let required = required_names(schema);
            Shape::Properties {
                rows: properties
                    .iter()
                    .map(|(name, property)| PropertyRow {
                        name: name.clone(),
                        ty: TypeView::of(property),
                        required: required.contains(&name.as_str()),
                        description: Description::of(property),
                    })
                    .collect(),
                closed: schema.get("additionalProperties") == Some(&Value::Bool(false)),
            }
        } else if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
            Shape::OneOf(
                variants
                    .iter()
                    .map(|variant| {
                        if variant.get("properties").is_some() {
                            Variant::Object(Box::new(Self::of(variant)))
                        } else {
                            Variant::Type(TypeView::of(variant), Description::of(variant))
                        }
                    })
                    .collect(),
            )
        } else {
            Shape::Plain {
                ty: TypeView::of(schema),
                each_value: match schema.get("additionalProperties") {
                    Some(extra @ Value::Object(_)) => {
                        Some((TypeView::of(extra), Description::of(extra)))
                    }
                    _ => None,
                },
            }
        };
        Self {
            description: Description::of(schema),
            shape,
        }
    }
}

impl Description {
    fn of(schema: &Value) -> Self {
        // utoipa puts an optional reference's description beside the
        // `$ref`, inside `oneOf`.
        let text = str_of(schema, "description").or_else(|| {
            schema
                .get("oneOf")
                .and_then(Value::as_array)
                .and_then(|parts| parts.iter().find_map(|p| str_of(p, "description")))
        });
        Self {
            text: text.map(Markdown::block).unwrap_or_default(),
            constraints: Constraints::of(schema),
        }
    }
}

impl Constraints {
    fn of(schema: &Value) -> Self {
        let number = |key: &str| schema.get(key).and_then(Value::as_f64);
        let mut words = Vec::new();
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
                words.push(format!("{bound} {n} {unit}").trim_end().to_owned());
            }
        }
        Self {
            words,
            pattern: str_of(schema, "pattern").map(str::to_owned),
        }
    }
}

fn required_names(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl TypeView {
    fn of(schema: &Value) -> Self {
        let mut view = Self::default();
        view.push(schema);
        view
    }

    fn any() -> Self {
        Self {
            tokens: vec![Token::Text("any".to_owned())],
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(Token::Text(last)) = self.tokens.last_mut() {
            last.push_str(text);
        } else {
            self.tokens.push(Token::Text(text.to_owned()));
        }
    }

    fn joined<'a>(&mut self, parts: impl IntoIterator<Item = &'a Value>, joiner: &str) {
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                self.text(joiner);
            }
            self.push(part);
        }
    }

    fn push(&mut self, schema: &Value) {
        if let Some(target) = str_of(schema, "$ref") {
            self.tokens.push(Token::Schema(ref_name(target).to_owned()));
            return;
        }
        for (key, joiner) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")] {
            if let Some(parts) = schema.get(key).and_then(Value::as_array) {
                self.joined(parts, joiner);
                return;
            }
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    self.text(" | ");
                }
                self.tokens.push(Token::Code(value.to_string()));
            }
            return;
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if types.is_empty() {
            self.text("any");
            return;
        }
        for (i, kind) in types.into_iter().enumerate() {
            if i > 0 {
                self.text(" | ");
            }
            self.one_type(schema, kind);
        }
    }

    fn one_type(&mut self, schema: &Value, kind: &str) {
        match kind {
            "array" => {
                self.text("array of ");
                match schema.get("items") {
                    Some(items) => self.push(items),
                    None => self.text("any"),
                }
            }
            "object" => match object_of(schema, "properties") {
                Some(properties) if !properties.is_empty() => {
                    let required = required_names(schema);
                    self.text("object { ");
                    for (i, (name, property)) in properties.iter().enumerate() {
                        if i > 0 {
                            self.text(", ");
                        }
                        let optional = if required.contains(&name.as_str()) {
                            ""
                        } else {
                            "?"
                        };
                        self.text(&format!("{name}{optional}: "));
                        self.push(property);
                    }
                    self.text(" }");
                }
                _ => match schema.get("additionalProperties") {
                    Some(extra @ Value::Object(_)) => {
                        self.text("map of ");
                        self.push(extra);
                    }
                    _ => self.text("object"),
                },
            },
            other => match str_of(schema, "format") {
                Some(format) => self.text(&format!("{other} ({format})")),
                None => self.text(other),
            },
        }
    }
}

/// A tag's name as an anchor: lowercase letters and digits between
/// single hyphens.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_everything() {
        let html = Markdown::block(
            "a <script>alert(1)</script> `<b>` **\"x\"**\n\n- one & two\n\n<div onclick=\"x\">raw</div>\n\n![pixel](https://example.com/p.png)",
        )
        .0;
        assert_eq!(
            html,
            "<p>a &lt;script&gt;alert(1)&lt;/script&gt; <code>&lt;b&gt;</code> \
             <strong>&quot;x&quot;</strong></p>\n<ul>\n<li>one &amp; two</li>\n</ul>\n\
             &lt;div onclick=&quot;x&quot;&gt;raw&lt;/div&gt;\n<p>pixel</p>\n"
        );
        assert_eq!(
            Markdown::inline("`a` **b** <i>c</i>").0,
            "<code>a</code> <strong>b</strong> &lt;i&gt;c&lt;/i&gt;"
        );
    }

    #[test]
    fn types_link_to_their_schemas() {
        let schema = serde_json::json!({
            "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Email"}]
        });
        assert_eq!(
            TypeView::of(&schema).render().unwrap(),
            "null | <a href=\"#schema-Email\">Email</a>"
        );
        let array =
            serde_json::json!({"type": "array", "items": {"type": "string", "format": "date"}});
        assert_eq!(
            TypeView::of(&array).render().unwrap(),
            "array of string (date)"
        );
    }

    #[test]
    fn tags_become_anchors() {
        assert_eq!(
            slug("Vendor: deal registrations"),
            "vendor-deal-registrations"
        );
        assert_eq!(slug("OAuth"), "oauth");
    }
}
