//! The workspace's uploaded logo: checked on the way in (PNG and JPEG by
//! their signatures, SVG parsed as XML and refused when it could run
//! script or load anything), stored in the database, and served to the
//! workspace's own members (the header) and to visitors of its landing
//! pages, each answer under a policy that lets the image do nothing but
//! be drawn.

use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onepane_store::{LOGO_MAX_BYTES, LogoType, WorkspaceLogo};
use sha2::{Digest, Sha256};

use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::session::{CSRF_FIELD, Viewer, from_this_site};

/// The largest upload the form takes; a logo under it but over
/// [`LOGO_MAX_BYTES`] is refused beside the field, above it the body is
/// not read to the end.
pub const UPLOAD_BODY_LIMIT: usize = 1 << 20;

/// The routes that serve logos.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/workspace/logo", get(own))
        .route("/l/{slug}/logo", get(landing))
}

/// Why a logo was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoRefusal {
    /// No file was chosen.
    Empty,
    /// Over [`LOGO_MAX_BYTES`].
    TooLarge,
    /// Neither PNG, JPEG nor SVG.
    NotAnImage,
    /// An SVG that could run script or load something from elsewhere.
    UnsafeSvg,
}

impl LogoRefusal {
    /// The message id saying so.
    pub fn message(self) -> &'static str {
        match self {
            LogoRefusal::Empty => "logo-empty",
            LogoRefusal::TooLarge => "logo-too-large",
            LogoRefusal::NotAnImage => "logo-not-an-image",
            LogoRefusal::UnsafeSvg => "logo-unsafe-svg",
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_SIGNATURE: &[u8] = b"\xff\xd8\xff";
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// What kind of logo `bytes` is, or why it is refused. The kind comes
/// from the bytes, never from the name or type the browser sent.
pub fn check_logo(bytes: &[u8]) -> Result<LogoType, LogoRefusal> {
    if bytes.is_empty() {
        return Err(LogoRefusal::Empty);
    }
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(LogoRefusal::TooLarge);
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        return Ok(LogoType::Png);
    }
    if bytes.starts_with(JPEG_SIGNATURE) {
        return Ok(LogoType::Jpeg);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(LogoRefusal::NotAnImage);
    };
    // roxmltree refuses a DTD by default, so no entity can expand or
    // reach outside.
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return Err(LogoRefusal::NotAnImage);
    };
    let root = doc.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some(SVG_NAMESPACE) {
        return Err(LogoRefusal::NotAnImage);
    }
    if safe_svg(&doc) {
        Ok(LogoType::Svg)
    } else {
        Err(LogoRefusal::UnsafeSvg)
    }
}

/// Elements that run script, embed other documents or change attributes
/// after loading (an animation can turn a harmless link into script).
const UNSAFE_ELEMENTS: &[&str] = &[
    "script",
    "foreignobject",
    "iframe",
    "embed",
    "object",
    "handler",
    "listener",
    "set",
    "animate",
    "animatemotion",
    "animatetransform",
    "a",
    "image",
    "feimage",
];

/// Whether an SVG can be drawn without running anything or loading
/// anything: no unsafe element, no event handler attribute, no processing
/// instruction (a stylesheet link), and every reference inside the image.
fn safe_svg(doc: &roxmltree::Document<'_>) -> bool {
    doc.descendants().all(|node| {
        if node.is_pi() {
            return false;
        }
        if node.is_text() {
            return node.text().is_none_or(references_inside);
        }
        if !node.is_element() {
            return true;
        }
        let name = node.tag_name().name().to_ascii_lowercase();
        if UNSAFE_ELEMENTS.contains(&name.as_str()) {
            return false;
        }
        node.attributes().all(|a| {
            let attribute = a.name().to_ascii_lowercase();
            if attribute.starts_with("on") {
                return false;
            }
            let value = a.value();
            if attribute == "href" || attribute == "src" {
                return value.trim_start().starts_with('#');
            }
            references_inside(value)
        })
    })
}

/// Whether every `url(...)` in a value or style points inside the image
/// (`url(#id)`), with no `@import` and no script address anywhere.
fn references_inside(value: &str) -> bool {
    let squeezed: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if ["@import", "javascript:", "image-set(", "@font-face"]
        .iter()
        .any(|bad| squeezed.contains(bad))
    {
        return false;
    }
    let mut rest = squeezed.as_str();
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let target = rest.trim_start_matches(['"', '\'']);
        if !target.starts_with('#') {
            return false;
        }
    }
    true
}

/// A logo's version, for links that may be cached long.
pub fn version(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The digest a logo is stored with.
pub fn digest(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// A logo as an answer: its own type, and a policy that lets an SVG be
/// drawn and nothing else, even when it is opened on its own.
fn answer(logo: WorkspaceLogo, cache: &'static str) -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static(logo.kind.content_type()),
            ),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        logo.bytes,
    )
        .into_response()
}

/// The viewer's workspace's logo (a member never names another's).
async fn own(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let logo = viewer
        .store(&state)
        .logo()
        .await?
        .ok_or(WebError::NotFound)?;
    // Links carry the version, so a new logo is a new address.
    Ok(answer(logo, "private, max-age=86400"))
}

/// The logo of the workspace whose landing page this is: as public as
/// the page.
async fn landing(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let page = state
        .store
        .system()
        .landing_page(&slug)
        .await?
        .ok_or(WebError::NotFound)?;
    let logo = state
        .store
        .partner(page.workspace.id)
        .logo()
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(answer(logo, "public, max-age=86400"))
}

/// What an upload form carried.
#[derive(Debug)]
pub struct Upload {
    /// The logo's bytes, or why they could not be read.
    pub logo: Result<Vec<u8>, LogoRefusal>,
}

/// Reads the upload form: checks that it comes from this site with the
/// session's CSRF token, then takes the `logo` file. A file too large to
/// read to the end is refused as too large; a form whose token was not
/// read before that is refused as forged.
pub async fn read_upload(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    mut multipart: Multipart,
) -> Result<Upload, WebError> {
    if !from_this_site(headers, &state.public_base) {
        return Err(WebError::Csrf);
    }
    let mut token_ok = false;
    let mut logo = Err(LogoRefusal::Empty);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) if token_ok => {
                logo = Err(LogoRefusal::TooLarge);
                break;
            }
            Err(_) => return Err(WebError::BadRequest),
        };
        match field.name() {
            Some(CSRF_FIELD) => {
                let sent = field.text().await.map_err(|_| WebError::BadRequest)?;
                token_ok = crate::auth::credentials::same_token(&sent, &viewer.session.csrf);
            }
            Some("logo") => {
                logo = match field.bytes().await {
                    Ok(bytes) if bytes.is_empty() => Err(LogoRefusal::Empty),
                    Ok(bytes) => Ok(bytes.to_vec()),
                    Err(_) => Err(LogoRefusal::TooLarge),
                };
                if logo == Err(LogoRefusal::TooLarge) {
                    break;
                }
            }
            _ => {}
        }
    }
    if !token_ok {
        return Err(WebError::Csrf);
    }
    Ok(Upload { logo })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(inner: &str) -> Vec<u8> {
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">{inner}</svg>"#)
            .into_bytes()
    }

    #[test]
    fn png_and_jpeg_are_known_by_their_signatures() {
        assert_eq!(check_logo(b"\x89PNG\r\n\x1a\n rest"), Ok(LogoType::Png));
        assert_eq!(check_logo(b"\xff\xd8\xff\xe0 rest"), Ok(LogoType::Jpeg));
        assert_eq!(check_logo(b"GIF89a"), Err(LogoRefusal::NotAnImage));
        assert_eq!(check_logo(b""), Err(LogoRefusal::Empty));
        assert_eq!(
            check_logo(&vec![0x89; LOGO_MAX_BYTES + 1]),
            Err(LogoRefusal::TooLarge)
        );
    }

    #[test]
    fn a_plain_svg_is_taken() {
        let ok = svg(
            r##"<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs>
            <rect width="10" height="10" fill="url(#g)" style="fill: url('#g')"/><use href="#g"/>"##,
        );
        assert_eq!(check_logo(&ok), Ok(LogoType::Svg));
    }

    #[test]
    fn an_svg_that_could_run_or_load_anything_is_refused() {
        for bad in [
            r#"<script>alert(1)</script>"#,
            r#"<rect onload="alert(1)"/>"#,
            r#"<rect ONCLICK="alert(1)"/>"#,
            r#"<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>"#,
            r#"<image href="https://evil.example/x.png"/>"#,
            r#"<use href="https://evil.example/x.svg#a"/>"#,
            r#"<use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="data:image/svg+xml,x"/>"#,
            r#"<rect fill="url(https://evil.example/p)"/>"#,
            r#"<rect style="fill: url( 'http://evil.example/p' )"/>"#,
            r#"<style>@import url(https://evil.example/s.css);</style>"#,
            r#"<rect style="fill: image-set('https://evil.example/p.png' 1x)"/>"#,
            r#"<a href="javascript:alert(1)"><rect/></a>"#,
            r#"<set attributeName="href" to="javascript:alert(1)"/>"#,
        ] {
            assert_eq!(check_logo(&svg(bad)), Err(LogoRefusal::UnsafeSvg), "{bad}");
        }
        // A stylesheet by processing instruction, and entities by DTD.
        let pi = br#"<?xml-stylesheet href="https://evil.example/s.css"?><svg xmlns="http://www.w3.org/2000/svg"/>"#;
        assert_ne!(check_logo(pi), Ok(LogoType::Svg));
        let dtd = br#"<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>"#;
        assert_ne!(check_logo(dtd), Ok(LogoType::Svg));
        // Not SVG at all.
        assert_eq!(
            check_logo(b"<html><body>hi</body></html>"),
            Err(LogoRefusal::NotAnImage)
        );
    }
}
