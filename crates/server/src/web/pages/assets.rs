//! Assets: the marketing library across vendors, searchable and filtered
//! by vendor, kind, language and tag, with a preview and a download.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use onepane_domain::AssetId;
use onepane_domain::campaign::{Asset, AssetBody, AssetKind, AssetVariant};
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::view::Choice;
use crate::web::view::{VendorNames, chosen, locale_of};

/// The asset routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets", get(list))
        .route("/assets/{id}/download", get(download))
}

const KINDS: [AssetKind; 7] = [
    AssetKind::Document,
    AssetKind::Image,
    AssetKind::Video,
    AssetKind::Presentation,
    AssetKind::EmailTemplate,
    AssetKind::SocialPost,
    AssetKind::Link,
];

fn kind_id(k: AssetKind) -> &'static str {
    match k {
        AssetKind::Document => "asset-kind-document",
        AssetKind::Image => "asset-kind-image",
        AssetKind::Video => "asset-kind-video",
        AssetKind::Presentation => "asset-kind-presentation",
        AssetKind::EmailTemplate => "asset-kind-email-template",
        AssetKind::SocialPost => "asset-kind-social-post",
        AssetKind::Link => "asset-kind-link",
    }
}

/// An asset as a card.
#[derive(Debug, Clone)]
pub struct AssetCard {
    /// Its id.
    pub id: String,
    /// The vendor.
    pub vendor: String,
    /// Whether the partner paused the vendor (shown greyed).
    pub paused: bool,
    /// Its title in the chosen language.
    pub title: String,
    /// What kind it is.
    pub kind: String,
    /// The language shown.
    pub language: String,
    /// Every language it comes in.
    pub languages: String,
    /// Its tags.
    pub tags: String,
    /// Inline text, previewed.
    pub text: Option<String>,
    /// An image to preview.
    pub image: Option<String>,
    /// Where it downloads from.
    pub download: String,
}

#[derive(askama::Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    t: Tr,
    chrome: Chrome,
    assets: Vec<AssetCard>,
    vendors: Vec<Choice>,
    kinds: Vec<Choice>,
    languages: Vec<Choice>,
    tags: Vec<Choice>,
    q: String,
    filtered: bool,
}

#[derive(Debug, Deserialize)]
struct Filters {
    vendor: Option<String>,
    kind: Option<String>,
    language: Option<String>,
    tag: Option<String>,
    q: Option<String>,
}

/// The variant to show: the chosen language's, else the viewer's, else the first.
fn variant<'a>(a: &'a Asset, language: Option<&str>, t: &Tr) -> &'a AssetVariant {
    let all = a.content.variants.as_slice();
    language
        .and_then(|l| all.iter().find(|v| v.locale.as_str() == l))
        .or_else(|| {
            locale_of(t).and_then(|l| all.iter().find(|v| v.locale.language() == l.language()))
        })
        .unwrap_or(a.content.variants.first())
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Response, WebError> {
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let chrome = Chrome::load(&state, &viewer, "assets").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let all = store.assets().await?;
    let vendor = chosen(&f.vendor);
    let kind = chosen(&f.kind);
    let language = chosen(&f.language);
    let tag = chosen(&f.tag);
    let q = chosen(&f.q).map(str::to_lowercase);

    let mut languages: Vec<String> = all
        .iter()
        .flat_map(|a| {
            a.content
                .variants
                .as_slice()
                .iter()
                .map(|v| v.locale.as_str().to_owned())
        })
        .collect();
    languages.sort();
    languages.dedup();
    let mut tags: Vec<String> = all
        .iter()
        .flat_map(|a| a.content.tags.iter().map(|t| t.as_str().to_owned()))
        .collect();
    tags.sort();
    tags.dedup();

    let filter = AssetFilter {
        vendor,
        kind,
        language,
        tag,
        q: q.as_deref(),
    };
    let assets: Vec<AssetCard> = all
        .iter()
        .filter(|a| filter.matches(a))
        .map(|a| asset_card(a, language, &names, &t))
        .collect();
    let choices = Choice::list;
    let page = AssetsPage {
        vendors: choices(
            names
                .all()
                .iter()
                .map(|(id, n)| (id.to_string(), n.clone()))
                .collect(),
            vendor,
        ),
        kinds: choices(
            KINDS
                .iter()
                .map(|k| (k.as_str().to_owned(), t.t(kind_id(*k))))
                .collect(),
            kind,
        ),
        languages: choices(
            languages.into_iter().map(|l| (l.clone(), l)).collect(),
            language,
        ),
        tags: choices(tags.into_iter().map(|l| (l.clone(), l)).collect(), tag),
        q: f.q.clone().unwrap_or_default(),
        filtered: vendor.is_some()
            || kind.is_some()
            || language.is_some()
            || tag.is_some()
            || q.is_some(),
        assets,
        t,
        chrome,
    };
    render(&page)
}

/// What the library's filters ask for; `None` lets everything through.
#[derive(Debug, Clone, Copy)]
struct AssetFilter<'a> {
    vendor: Option<&'a str>,
    kind: Option<&'a str>,
    language: Option<&'a str>,
    tag: Option<&'a str>,
    /// Lowercase text to find in a title or a tag.
    q: Option<&'a str>,
}

impl AssetFilter<'_> {
    fn matches(&self, a: &Asset) -> bool {
        let variants = a.content.variants.as_slice();
        self.vendor.is_none_or(|v| a.vendor_id.to_string() == v)
            && self.kind.is_none_or(|k| a.content.kind.as_str() == k)
            && self
                .language
                .is_none_or(|l| variants.iter().any(|v| v.locale.as_str() == l))
            && self
                .tag
                .is_none_or(|tg| a.content.tags.iter().any(|x| x.as_str() == tg))
            && self.q.is_none_or(|q| {
                variants
                    .iter()
                    .any(|v| v.title.as_str().to_lowercase().contains(q))
                    || a.content
                        .tags
                        .iter()
                        .any(|x| x.as_str().to_lowercase().contains(q))
            })
    }
}

/// An asset as a card, in the chosen language when it has it.
fn asset_card(a: &Asset, language: Option<&str>, names: &VendorNames, t: &Tr) -> AssetCard {
    let v = variant(a, language, t);
    let (text, image) = match &v.body {
        AssetBody::Text(text) => (Some(text.to_string()), None),
        AssetBody::Url(url) if a.content.kind == AssetKind::Image => (
            None,
            Some(url.as_url().to_string()).filter(|u| u.starts_with("https://")),
        ),
        AssetBody::Url(_) => (None, None),
    };
    AssetCard {
        id: a.id.to_string(),
        vendor: names.name(&a.vendor_id),
        paused: names.paused(&a.vendor_id),
        title: v.title.to_string(),
        kind: t.t(kind_id(a.content.kind)),
        language: v.locale.as_str().to_owned(),
        languages: a
            .content
            .variants
            .as_slice()
            .iter()
            .map(|v| v.locale.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
        tags: a
            .content
            .tags
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
        text,
        image,
        download: format!("/assets/{}/download?language={}", a.id, v.locale.as_str()),
    }
}

#[derive(Debug, Deserialize)]
struct DownloadQuery {
    language: Option<String>,
}

/// A file name from a title: letters, digits and dashes.
fn file_name(title: &str) -> String {
    let name: String = title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-');
    if name.is_empty() {
        "asset".to_owned()
    } else {
        name.chars().take(80).collect()
    }
}

async fn download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, WebError> {
    let id: AssetId = id.parse().map_err(|_| WebError::NotFound)?;
    // Only an asset this workspace may see (by tier and audience).
    let asset = viewer
        .store(&state)
        .assets()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(WebError::NotFound)?;
    let v = variant(&asset, chosen(&q.language), &viewer.tr);
    match &v.body {
        AssetBody::Url(url) => Ok(Redirect::to(url.as_url().as_str()).into_response()),
        AssetBody::Text(text) => {
            let disposition = format!(
                "attachment; filename=\"{}.txt\"",
                file_name(v.title.as_str())
            );
            Ok((
                [
                    (
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    ),
                    (
                        CONTENT_DISPOSITION,
                        HeaderValue::from_str(&disposition)
                            .map_err(|e| WebError::Internal(e.into()))?,
                    ),
                ],
                text.to_string(),
            )
                .into_response())
        }
    }
}
