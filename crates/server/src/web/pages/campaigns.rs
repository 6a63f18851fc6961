//! Campaigns: every vendor campaign this workspace may run (by tier and
//! audience), activated in one click into a co-branded landing page.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::campaign::{Campaign, CampaignActivation, CampaignStatus};
use onepane_domain::{CampaignId, VendorId};
use onepane_store::StoreError;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::{VendorNames, locale_of};

/// The campaign routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list))
        .route("/campaigns/{id}", get(show))
        .route("/campaigns/{id}/activate", post(activate))
}

/// A campaign as a card.
#[derive(Debug, Clone)]
pub struct CampaignCard {
    /// Its id.
    pub id: String,
    /// The vendor.
    pub vendor: String,
    /// Whether the partner paused the vendor (shown greyed).
    pub paused: bool,
    /// Its name in the viewer's language.
    pub name: String,
    /// Its description.
    pub description: String,
    /// When it runs, as text.
    pub window: String,
    /// The landing page's address, once activated.
    pub landing: Option<String>,
    /// Whether it has ended.
    pub archived: bool,
    /// The languages it comes in.
    pub languages: String,
    /// The vendor's logo, when it set one.
    pub vendor_logo: Option<String>,
}

/// The logo a vendor set, when it is an https address.
pub fn vendor_logo(logos: &[(VendorId, String)], vendor: &VendorId) -> Option<String> {
    logos
        .iter()
        .find(|(v, _)| v == vendor)
        .map(|(_, url)| url.clone())
        .filter(|u| u.starts_with("https://"))
}

fn card(
    c: &Campaign,
    activation: Option<&CampaignActivation>,
    names: &VendorNames,
    logos: &[(VendorId, String)],
    t: &Tr,
    base: &str,
) -> CampaignCard {
    let locale = locale_of(t);
    let variant = locale
        .as_ref()
        .map_or_else(|| c.content.variants.first(), |l| c.content.variant_for(l));
    let w = &c.content.window;
    let window = match (w.starts_on(), w.ends_on()) {
        (Some(s), Some(e)) => t.targs(
            "campaign-window",
            &[("from", t.date(&s)), ("to", t.date(&e))],
        ),
        (None, Some(e)) => t.ts("campaign-until", "to", &t.date(&e)),
        (Some(s), None) => t.ts("campaign-from", "from", &t.date(&s)),
        (None, None) => t.t("campaign-always"),
    };
    CampaignCard {
        id: c.id.to_string(),
        vendor: names.name(&c.vendor_id),
        vendor_logo: vendor_logo(logos, &c.vendor_id),
        paused: names.paused(&c.vendor_id),
        name: variant.name.to_string(),
        description: variant
            .description
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        window,
        landing: activation.map(|a| format!("{base}/l/{}", a.slug)),
        archived: c.status == CampaignStatus::Archived,
        languages: c
            .content
            .variants
            .as_slice()
            .iter()
            .map(|v| v.locale.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[derive(askama::Template)]
#[template(path = "campaigns.html")]
struct CampaignsPage {
    t: Tr,
    chrome: Chrome,
    campaigns: Vec<CampaignCard>,
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let chrome = Chrome::load(&state, &viewer, "campaigns").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let activations: HashMap<CampaignId, CampaignActivation> = store
        .activations()
        .await?
        .into_iter()
        .map(|a| (a.campaign_id, a))
        .collect();
    let logos = store.vendor_logos().await?;
    let mut campaigns = store.campaigns().await?;
    // Not yet activated first, then newest.
    campaigns.sort_by_key(|c| {
        (
            activations.contains_key(&c.id),
            std::cmp::Reverse(c.created_at),
        )
    });
    let cards = campaigns
        .iter()
        .map(|c| {
            card(
                c,
                activations.get(&c.id),
                &names,
                &logos,
                &t,
                &state.public_base,
            )
        })
        .collect();
    render(&CampaignsPage {
        t,
        chrome,
        campaigns: cards,
    })
}

#[derive(askama::Template)]
#[template(path = "campaign.html")]
struct CampaignPage {
    t: Tr,
    chrome: Chrome,
    campaign: CampaignCard,
    headline: String,
    body: String,
    call_to_action: String,
    leads_link: String,
    /// What was just done.
    notice: Option<String>,
    /// Whether the workspace has a privacy notice (no activation without one).
    has_privacy_notice: bool,
    /// Why the last activation was refused.
    error: Option<String>,
}

/// The query after an activation.
#[derive(Debug, Default, Deserialize)]
pub struct Activated {
    activated: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(activated): Query<Activated>,
) -> Result<Response, WebError> {
    let id: CampaignId = id.parse().map_err(|_| WebError::NotFound)?;
    let mut page = campaign_page(&state, &viewer, id, None).await?;
    if activated.activated.is_some() && page.campaign.landing.is_some() {
        page.notice = Some(viewer.tr.t("campaign-activated"));
    }
    render(&page)
}

async fn campaign_page(
    state: &AppState,
    viewer: &Viewer,
    id: CampaignId,
    error: Option<String>,
) -> Result<CampaignPage, WebError> {
    let store = viewer.store(state);
    let t = viewer.tr.clone();
    let campaign = store.campaign(id).await?;
    let chrome = Chrome::load(state, viewer, "campaigns").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let activation = store
        .activations()
        .await?
        .into_iter()
        .find(|a| a.campaign_id == id);
    let has_privacy_notice = store.profile().await?.privacy_notice_url.is_some();
    let logos = store.vendor_logos().await?;
    let locale = locale_of(&t);
    let variant = locale.as_ref().map_or_else(
        || campaign.content.variants.first(),
        |l| campaign.content.variant_for(l),
    );
    Ok(CampaignPage {
        headline: variant.landing.headline.to_string(),
        body: variant.landing.body.to_string(),
        call_to_action: variant.landing.call_to_action.to_string(),
        leads_link: format!("/leads?campaign={id}"),
        campaign: card(
            &campaign,
            activation.as_ref(),
            &names,
            &logos,
            &t,
            &state.public_base,
        ),
        has_privacy_notice,
        error,
        notice: None,
        t,
        chrome,
    })
}

async fn activate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let id: CampaignId = id.parse().map_err(|_| WebError::NotFound)?;
    let activated = viewer
        .store(&state)
        .activate_campaign(id, Some(viewer.session.user.id))
        .await;
    match activated {
        Ok(_) => Ok(Redirect::to(&format!("/campaigns/{id}?activated")).into_response()),
        // The page says why (no privacy notice, or the campaign is not
        // running) and what to do about it.
        Err(StoreError::Rule(_)) => {
            let has_notice = viewer
                .store(&state)
                .profile()
                .await?
                .privacy_notice_url
                .is_some();
            let why = if has_notice {
                "campaign-not-activated"
            } else {
                "campaign-needs-privacy-notice"
            };
            let page = campaign_page(&state, &viewer, id, Some(viewer.tr.t(why))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
