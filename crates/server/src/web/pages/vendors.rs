//! Vendors: every vendor the workspace works with, its tier and route to
//! market, and (for owners and admins) pausing, resuming and ending the
//! link. Ending asks for a confirmation: it cannot be undone here.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::VendorId;
use onepane_domain::program::LinkStatus;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{Posted, Viewer};

/// The vendor routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/vendors", get(list))
        .route("/vendors/{id}/status", post(set_status))
        .route("/vendors/{id}/contact", post(set_contact))
}

/// A vendor as a line.
#[derive(Debug, Clone)]
pub struct VendorLine {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Vendor or distributor.
    pub kind: String,
    /// The workspace's tier with it.
    pub tier: String,
    /// The route to market.
    pub partner_type: String,
    /// The link's status, as stored (`active`, `paused`, `ended`).
    pub status: String,
    /// The status, in words.
    pub status_text: String,
    /// Since when.
    pub since: String,
    /// How a deal registration reaches it.
    pub route: String,
    /// The channel contact registrations are mailed to, when named.
    pub contact: String,
}

#[derive(askama::Template)]
#[template(path = "vendors.html")]
struct VendorsPage {
    t: Tr,
    chrome: Chrome,
    vendors: Vec<VendorLine>,
    message: Option<String>,
    problem: Option<String>,
}

/// The query after a change: what was done.
#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
}

fn status_text(t: &Tr, s: LinkStatus) -> String {
    t.t(match s {
        LinkStatus::Invited => "link-invited",
        LinkStatus::Active => "link-active",
        LinkStatus::Paused => "link-paused",
        LinkStatus::Ended => "link-ended",
    })
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    message: Option<String>,
    problem: Option<String>,
) -> Result<VendorsPage, WebError> {
    let t = viewer.tr.clone();
    let chrome = Chrome::load(state, viewer, "vendors").await?;
    let store = viewer.store(state);
    let (linked, contacts, connections) = tokio::try_join!(
        store.vendors(),
        store.vendor_contacts(),
        store.connections(),
    )?;
    let vendors = linked
        .into_iter()
        .map(|v| VendorLine {
            route: match crate::services::connections::deal_route(state, &connections, v.vendor.id)
            {
                Some(c) => t.ts("deal-route-vendor-system", "connection", c.name.as_str()),
                None => match contacts.get(&v.vendor.id) {
                    Some(e) => t.ts("deal-route-email", "email", e.as_str()),
                    None => t.t("deal-route-onepane-api"),
                },
            },
            contact: contacts
                .get(&v.vendor.id)
                .map(ToString::to_string)
                .unwrap_or_default(),
            id: v.vendor.id.to_string(),
            name: v.vendor.name.to_string(),
            kind: t.t(&format!("vendor-kind-{}", v.vendor.kind)),
            tier: t.t(&format!("tier-{}", v.link.tier)),
            partner_type: v.link.partner_type.to_string(),
            status: v.link.status.to_string(),
            status_text: status_text(&t, v.link.status),
            since: t.datetime(&v.link.updated_at),
        })
        .collect();
    Ok(VendorsPage {
        t,
        chrome,
        vendors,
        message,
        problem,
    })
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Done>,
) -> Result<Response, WebError> {
    let message = match done.done.as_deref() {
        Some("paused") => Some(viewer.tr.t("vendor-paused")),
        Some("active") => Some(viewer.tr.t("vendor-resumed")),
        Some("ended") => Some(viewer.tr.t("vendor-ended")),
        Some("contact") => Some(viewer.tr.t("vendor-contact-saved")),
        _ => None,
    };
    render(&page(&state, &viewer, message, None).await?)
}

/// The fields of a status change.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: String,
    /// Ending must be confirmed.
    #[serde(default)]
    confirm: Option<String>,
}

async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<StatusForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let vendor: VendorId = id.parse().map_err(|_| WebError::NotFound)?;
    let status: LinkStatus = match form.status.parse() {
        Ok(s @ (LinkStatus::Active | LinkStatus::Paused | LinkStatus::Ended)) => s,
        _ => return Err(WebError::NotFound),
    };
    if status == LinkStatus::Ended && form.confirm.as_deref() != Some("yes") {
        let problem = Some(viewer.tr.t("vendor-end-unconfirmed"));
        let p = page(&state, &viewer, None, problem).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
    }
    match viewer
        .store(&state)
        .set_link_status(vendor, status, viewer.session.user.id)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/vendors?done={status}")).into_response()),
        Err(onepane_store::StoreError::Rule(_)) => {
            let problem = Some(viewer.tr.t("vendor-status-unchanged"));
            let p = page(&state, &viewer, None, problem).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The fields of a channel contact change: an email address, or empty to
/// forget it.
#[derive(Debug, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    email: String,
}

/// Names the vendor's channel contact, where registrations are mailed
/// when no connection reaches the vendor's own system.
async fn set_contact(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<ContactForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let vendor: VendorId = id.parse().map_err(|_| WebError::NotFound)?;
    let email = form.email.trim();
    let email = if email.is_empty() {
        None
    } else {
        match onepane_domain::text::Email::parse(email) {
            Ok(e) => Some(e),
            Err(_) => {
                let problem = Some(viewer.tr.t("vendor-contact-invalid"));
                let p = page(&state, &viewer, None, problem).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
            }
        }
    };
    viewer
        .store(&state)
        .set_vendor_contact(vendor, email.as_ref(), Some(viewer.session.user.id))
        .await?;
    Ok(Redirect::to("/vendors?done=contact").into_response())
}
