//! The source: one request per page, built from the manifest; records
//! mapped onto Onepane's entities.

use onepane_connector::{
    BoxFuture, ConnectorError, Credentials, DealToRegister, Delivered, Io, KeyPlacement,
    LeadAnswer, Page, PageRead, PageRequest, Record, RecordError, SeenPage, Source, SourceRecord,
    Stream, StreamSpec, snippet,
};
use onepane_domain::Tier;
use onepane_domain::campaign::{AssetContent, CampaignContent};
use onepane_domain::deal::VendorDealStatus;
use onepane_domain::lead::NewVendorLead;
use onepane_domain::price::{PriceItemInput, PriceListTerms};
use onepane_domain::text::ExternalId;
use reqwest::header::{ACCEPT, HeaderValue, LINK, LOCATION};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::manifest::{Auth, Manifest, ManifestError, StreamManifest};
use crate::paging::{self, Answer, Position};
use crate::pointer::{kind, scalar_text};
use crate::template::Template;

/// A vendor source described by a [`Manifest`].
#[derive(Debug, Clone)]
pub struct RestSource {
    manifest: Manifest,
    /// A digest of the manifest as read: an answer's fingerprint includes
    /// it, so that a changed mapping maps every record again.
    manifest_digest: [u8; 32],
}

impl RestSource {
    /// A source reading what `manifest` describes.
    pub fn new(manifest: Manifest) -> Self {
        let manifest_digest = Sha256::digest(format!("{manifest:?}").as_bytes()).into();
        Self {
            manifest,
            manifest_digest,
        }
    }

    /// A source from a connection's settings: `{"manifest": {...}}` with
    /// the manifest as a JSON object, or `{"manifest": "..."}` with its
    /// YAML or JSON text.
    pub fn from_settings(settings: &Value) -> Result<RestSource, ConnectorError> {
        let config = |message: String| ConnectorError::Config(message);
        let Some(object) = settings.as_object() else {
            return Err(config(format!(
                "the REST connector's settings are an object with a `manifest`, not {}",
                kind(settings)
            )));
        };
        if let Some(unknown) = object.keys().find(|k| *k != "manifest") {
            return Err(config(format!(
                "unknown setting `{unknown}`: the REST connector takes only `manifest`"
            )));
        }
        let manifest = match object.get("manifest") {
            None => return Err(config("the REST connector needs a `manifest`".to_owned())),
            Some(Value::String(text)) => Manifest::parse(text),
            Some(value @ Value::Object(_)) => Manifest::from_json(value.clone()),
            Some(other) => {
                return Err(config(format!(
                    "the `manifest` setting is an object or its YAML/JSON text, not {}",
                    kind(other)
                )));
            }
        };
        manifest
            .map(RestSource::new)
            .map_err(|e: ManifestError| config(format!("the manifest is unusable: {e}")))
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Checks a connection's credentials are of the kind the manifest
    /// declares (and, for an API key, have its name and placement).
    pub fn check_credentials(&self, credentials: &Credentials) -> Result<(), String> {
        let expected = &self.manifest.auth;
        let fits = match (expected, credentials) {
            (
                Auth::ApiKey { name, placement },
                Credentials::ApiKey {
                    name: given,
                    placement: given_placement,
                    ..
                },
            ) => {
                if placement != given_placement {
                    return Err(format!(
                        "the vendor takes the API key in the {}, the credentials put it in the {}",
                        placement_name(*placement),
                        placement_name(*given_placement)
                    ));
                }
                let same = match placement {
                    KeyPlacement::Header => name.eq_ignore_ascii_case(given),
                    KeyPlacement::Query => name == given,
                };
                if !same {
                    return Err(format!(
                        "the vendor takes the API key as `{name}`, the credentials name it `{given}`"
                    ));
                }
                true
            }
            (Auth::None {}, Credentials::None)
            | (Auth::Bearer {}, Credentials::Bearer { .. })
            | (Auth::Basic {}, Credentials::Basic { .. })
            | (Auth::Oauth2ClientCredentials {}, Credentials::Oauth2ClientCredentials { .. })
            | (Auth::Oauth2AuthorizationCode {}, Credentials::Oauth2AuthorizationCode { .. }) => {
                true
            }
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "the vendor takes `{}` credentials, the connection has `{}`",
                expected.kind(),
                credentials.kind()
            ))
        }
    }

    /// The URL of the page at `position`.
    fn page_url(
        &self,
        spec: &StreamManifest,
        position: &Position,
        since: Option<&Value>,
    ) -> Result<Url, ConnectorError> {
        // A next link carries the vendor's own parameters, filters included.
        if let Position::Url(url) = position {
            return Ok(url.clone());
        }
        let mut pairs = spec.params.clone();
        if let (Some(incremental), Some(since)) = (&spec.incremental, since) {
            let text = scalar_text(since).ok_or_else(|| {
                ConnectorError::Config(format!(
                    "the incremental position {since} is not a text or number"
                ))
            })?;
            pairs.push((incremental.since_param.clone(), text));
        }
        pairs.extend(position.params(&spec.pagination));
        let mut url = spec.url.clone();
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        Ok(url)
    }

    /// Sends the manifest's action `name` for `document`.
    async fn act(
        &self,
        io: &Io,
        name: &str,
        document: Value,
        idempotency_key: &str,
    ) -> Result<Delivered, ConnectorError> {
        let action = self.manifest.actions.get(name).ok_or_else(|| {
            ConnectorError::Config(format!("the manifest has no `{name}` action"))
        })?;
        action
            .send(
                io,
                &self.manifest.base_url,
                &self.manifest.headers,
                &document,
                idempotency_key,
            )
            .await
    }

    #[tracing::instrument(name = "rest.read", skip(self, io, request), fields(stream = %stream))]
    async fn read_page(
        &self,
        io: &Io,
        stream: Stream,
        request: PageRequest<'_>,
        seen: Option<&SeenPage>,
    ) -> Result<PageRead, ConnectorError> {
        let spec = self.manifest.streams.get(&stream).ok_or_else(|| {
            ConnectorError::Config(format!("the manifest has no `{stream}` stream"))
        })?;
        let base = &self.manifest.base_url;
        let position =
            Position::read(&spec.pagination, request.next, base).map_err(ConnectorError::Config)?;
        let url = self.page_url(spec, &position, request.since)?;
        let shown = shown_url(&url);
        let headers = self.manifest.headers.clone();
        let fetched = io
            .send(|client| {
                client
                    .get(url.clone())
                    .header(ACCEPT, HeaderValue::from_static("application/json"))
                    .headers(headers.clone())
            })
            .await?;
        if !fetched.status.is_success() {
            let message = match fetched.headers.get(LOCATION) {
                Some(location) if fetched.status.is_redirection() => format!(
                    "redirects to {} are not followed",
                    snippet(location.as_bytes())
                ),
                _ => snippet(&fetched.body),
            };
            return Err(ConnectorError::Remote {
                url: shown,
                status: fetched.status.as_u16(),
                message,
            });
        }
        // What the page is made of: the manifest that maps it, the body and
        // the header a next link may come in. The same as when this page
        // was last read whole: the same records, next page and total, so
        // the body is not even parsed.
        let fingerprint = Sha256::new()
            .chain_update(self.manifest_digest)
            .chain_update(stream.as_str())
            .chain_update(fetched.headers.get(LINK).map_or(&[][..], |l| l.as_bytes()))
            .chain_update([0])
            .chain_update(&fetched.body)
            .finalize()[..16]
            .to_vec();
        if let Some(seen) = seen.filter(|s| s.fingerprint == fingerprint) {
            return Ok(PageRead {
                page: Page {
                    next: seen.next.clone(),
                    total: seen.total,
                    ..Page::default()
                },
                fingerprint: Some(fingerprint),
                unchanged: Some(seen.records),
            });
        }
        let malformed = |message: String| ConnectorError::Malformed {
            url: shown.clone(),
            message,
        };
        let body: Value = serde_json::from_slice(&fetched.body).map_err(|e| {
            if e.is_eof() {
                ConnectorError::unparsable(&shown, "the body", &e)
            } else {
                malformed(format!(
                    "the body is not JSON ({e}): {}",
                    snippet(&fetched.body)
                ))
            }
        })?;
        let selected = select(stream, spec, &body).map_err(malformed)?;
        let total = match spec
            .total
            .as_ref()
            .and_then(|p| p.find(&body).map(|v| (p, v)))
        {
            None => None,
            Some((pointer, value)) => Some(count(value).ok_or_else(|| {
                malformed(format!("the total at {pointer} is {value}, not a count"))
            })?),
        };
        let mut page = Page {
            total,
            ..Page::default()
        };
        for (at, raw) in &selected {
            match map_record(stream, &spec.map, raw) {
                Ok(record) => page.records.push(SourceRecord {
                    record,
                    cursor: spec
                        .incremental
                        .as_ref()
                        .and_then(|i| i.cursor_field.find(raw).cloned()),
                }),
                Err(message) => page.rejected.push(RecordError {
                    at: at.clone(),
                    key: record_key(stream, &spec.map, raw),
                    message,
                }),
            }
        }
        let answer = Answer {
            url: &url,
            headers: &fetched.headers,
            body: &body,
            count: selected.len() as u64,
            total,
        };
        page.next = paging::next(&spec.pagination, &position, &answer, base).map_err(malformed)?;
        tracing::debug!(
            records = page.records.len(),
            rejected = page.rejected.len(),
            last = page.next.is_none(),
            "page read"
        );
        Ok(PageRead {
            page,
            fingerprint: Some(fingerprint),
            unchanged: None,
        })
    }
}

impl Source for RestSource {
    fn streams(&self) -> Vec<StreamSpec> {
        self.manifest.streams()
    }

    fn read<'a>(
        &'a self,
        io: &'a Io,
        stream: Stream,
        request: PageRequest<'a>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>> {
        Box::pin(async move { Ok(self.read_page(io, stream, request, None).await?.page) })
    }

    fn read_unless_seen<'a>(
        &'a self,
        io: &'a Io,
        stream: Stream,
        request: PageRequest<'a>,
        seen: Option<&'a SeenPage>,
    ) -> BoxFuture<'a, Result<PageRead, ConnectorError>> {
        Box::pin(self.read_page(io, stream, request, seen))
    }

    fn rate_limit(&self) -> Option<onepane_connector::RateLimit> {
        self.manifest.rate_limit()
    }

    fn registers_deals(&self) -> bool {
        self.manifest.actions.contains_key("register_deal")
    }

    fn register_deal<'a>(
        &'a self,
        io: &'a Io,
        deal: &'a DealToRegister,
    ) -> BoxFuture<'a, Result<Delivered, ConnectorError>> {
        Box::pin(self.act(
            io,
            "register_deal",
            registration_document(deal),
            &deal.idempotency_key,
        ))
    }

    fn answers_leads(&self) -> bool {
        self.manifest.actions.contains_key("answer_lead")
    }

    fn answer_lead<'a>(
        &'a self,
        io: &'a Io,
        answer: &'a LeadAnswer,
    ) -> BoxFuture<'a, Result<Delivered, ConnectorError>> {
        let document = serde_json::json!({
            "lead_id": answer.lead.id,
            "external_id": answer.lead.external_id,
            "accepted": answer.accepted,
            "decision": if answer.accepted { "accepted" } else { "declined" },
            "reason": answer.reason,
            "idempotency_key": answer.idempotency_key,
        });
        Box::pin(self.act(io, "answer_lead", document, &answer.idempotency_key))
    }
}

/// The document a `register_deal` action's templates read (the crate's
/// README lists its fields).
fn registration_document(deal: &DealToRegister) -> Value {
    let d = &deal.deal.details;
    serde_json::json!({
        "id": deal.deal.id,
        "title": d.title,
        "customer": {
            "name": d.customer.name,
            "domain": d.customer.domain,
            "country": d.customer.country,
        },
        "amount": d.amount.amount.to_string(),
        "currency": d.amount.currency.code(),
        "products": d.products.iter().map(|p| serde_json::json!({
            "sku": p.sku,
            "quantity": p.quantity,
        })).collect::<Vec<_>>(),
        "fields": d.fields,
        "lead_external_id": deal.lead_external_id,
        "submitted_at": deal.deal.submitted_at,
        "idempotency_key": deal.idempotency_key,
    })
}

fn placement_name(placement: KeyPlacement) -> &'static str {
    match placement {
        KeyPlacement::Header => "header",
        KeyPlacement::Query => "query",
    }
}

/// `scheme://host[:port]/path`: the query may hold an API key.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.into()
}

/// The records the page holds, each with its JSON pointer in the body. A
/// list is required, so that an error object answered with 200 is not
/// taken for an empty pass; only the tier stream may select one object.
fn select<'b>(
    stream: Stream,
    spec: &StreamManifest,
    body: &'b Value,
) -> Result<Vec<(String, &'b Value)>, String> {
    let pointer = &spec.records;
    match pointer.find(body) {
        Some(Value::Array(items)) => Ok(items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{}/{i}", pointer.as_str()), item))
            .collect()),
        Some(record @ Value::Object(_)) if stream == Stream::Tier => {
            Ok(vec![(pointer.as_str().to_owned(), record)])
        }
        Some(other) => Err(format!(
            "the records at {pointer} are {}, not a list",
            kind(other)
        )),
        None => Err(format!(
            "the body has no records at {pointer}: {}",
            snippet(body.to_string().as_bytes())
        )),
    }
}

/// A count: a non-negative integer, or one written as text.
fn count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Maps one vendor record onto the record its stream yields.
fn map_record(stream: Stream, map: &Template, raw: &Value) -> Result<Record, String> {
    let mapped = map
        .apply(raw)?
        .ok_or_else(|| "none of the map's pointers found a value in the record".to_owned())?;
    Ok(match stream {
        Stream::Leads => Record::Lead(entity::<NewVendorLead>(mapped)?),
        Stream::Campaigns => {
            let wire: CampaignWire = entity(mapped)?;
            Record::Campaign {
                external_id: wire.external_id,
                content: wire.content,
            }
        }
        Stream::Assets => {
            let wire: AssetWire = entity(mapped)?;
            Record::Asset {
                external_id: wire.external_id,
                content: wire.content,
            }
        }
        Stream::PriceLists => {
            let wire: PriceListWire = entity(mapped)?;
            Record::PriceList {
                external_id: wire.external_id,
                terms: wire.terms,
            }
        }
        Stream::PriceItems => {
            let wire: PriceItemWire = entity(mapped)?;
            Record::PriceItem {
                price_list: wire.price_list,
                item: wire.item,
            }
        }
        Stream::Tier => Record::Tier(entity::<Tier>(mapped)?),
        Stream::DealStatus => Record::DealStatus(entity::<VendorDealStatus>(mapped)?),
    })
}

/// The key a rejected record would have been stored under, when the map's
/// key fields can be read on their own.
fn record_key(stream: Stream, map: &Template, raw: &Value) -> Option<String> {
    let text = |path: &[&str]| {
        map.field(path)
            .and_then(|t| t.apply(raw).ok().flatten())
            .and_then(|v| scalar_text(&v))
    };
    match stream {
        Stream::Leads | Stream::Campaigns | Stream::Assets | Stream::PriceLists => {
            text(&["external_id"])
        }
        // As `Record::key` spells it: external ids have no spaces.
        Stream::PriceItems => Some(format!(
            "{} {}",
            text(&["price_list"])?,
            text(&["item", "sku"])?
        )),
        Stream::Tier => Some("tier".to_owned()),
        Stream::DealStatus => text(&["vendor_ref"]).or_else(|| text(&["registration"])),
    }
}

/// Deserializes a mapped value; the message names the bad field's path.
fn entity<T: DeserializeOwned>(mapped: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(mapped).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            format!("{path}: {}", e.into_inner())
        }
    })
}

/// A campaign as its map must shape it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignWire {
    external_id: ExternalId,
    content: CampaignContent,
}

/// An asset as its map must shape it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetWire {
    external_id: ExternalId,
    content: AssetContent,
}

/// A price list as its map must shape it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceListWire {
    external_id: ExternalId,
    terms: PriceListTerms,
}

/// A price item as its map must shape it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceItemWire {
    price_list: ExternalId,
    item: PriceItemInput,
}
