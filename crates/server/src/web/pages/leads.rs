//! Leads: one list across vendors with filters, one lead with accept,
//! decline and "Register deal".

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::lead::{Lead, LeadConsent, LeadSource, LeadStatus, MarketingConsent};
use onepane_domain::{CampaignId, LeadId, VendorId};
use onepane_store::{LeadFilter, Page};
use serde::Deserialize;

use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::{Choice, VendorNames, chosen, locale_of, urlencode};

/// Leads per page.
const PER_PAGE: u32 = 50;

/// The leads routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads", get(list))
        .route("/leads/{id}", get(show))
        .route("/leads/{id}/accept", post(accept))
        .route("/leads/{id}/decline", post(decline))
}

/// A lead as a row of the list.
#[derive(Debug, Clone)]
pub struct LeadLine {
    /// Its id.
    pub id: String,
    /// The contact's name.
    pub name: String,
    /// The company.
    pub company: String,
    /// The vendor's name.
    pub vendor: String,
    /// The status's message id.
    pub status: &'static str,
    /// The status's text.
    pub status_text: String,
    /// When it arrived.
    pub created: String,
    /// The answer deadline, when waiting for one.
    pub respond_by: Option<String>,
}

fn status_id(s: LeadStatus) -> &'static str {
    match s {
        LeadStatus::New => "lead-status-new",
        LeadStatus::Accepted => "lead-status-accepted",
        LeadStatus::Declined => "lead-status-declined",
        LeadStatus::Working => "lead-status-working",
        LeadStatus::Qualified => "lead-status-qualified",
        LeadStatus::Won => "lead-status-won",
        LeadStatus::Lost => "lead-status-lost",
    }
}

/// Every status, for the filter.
const STATUSES: [LeadStatus; 7] = [
    LeadStatus::New,
    LeadStatus::Accepted,
    LeadStatus::Declined,
    LeadStatus::Working,
    LeadStatus::Qualified,
    LeadStatus::Won,
    LeadStatus::Lost,
];

fn line(lead: &Lead, names: &VendorNames, t: &Tr) -> LeadLine {
    LeadLine {
        id: lead.id.to_string(),
        name: lead.contact.name.to_string(),
        company: lead
            .company
            .as_ref()
            .map(|c| c.name.to_string())
            .unwrap_or_default(),
        vendor: names.name_opt(&lead.vendor_id),
        status: status_id(lead.status),
        status_text: t.t(status_id(lead.status)),
        created: t.datetime(&lead.created_at),
        respond_by: (lead.status == LeadStatus::New)
            .then_some(lead.respond_by)
            .flatten()
            .map(|d| t.datetime(&d)),
    }
}

#[derive(askama::Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    t: Tr,
    chrome: Chrome,
    leads: Vec<LeadLine>,
    vendors: Vec<Choice>,
    statuses: Vec<Choice>,
    campaigns: Vec<Choice>,
    q: String,
    next: Option<String>,
    filtered: bool,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    vendor: Option<String>,
    status: Option<String>,
    campaign: Option<String>,
    q: Option<String>,
    after: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let bad = |_| WebError::BadRequest;
    let vendor: Option<VendorId> = chosen(&query.vendor)
        .map(str::parse)
        .transpose()
        .map_err(bad)?;
    let status: Option<LeadStatus> = chosen(&query.status)
        .map(str::parse)
        .transpose()
        .map_err(|_| WebError::BadRequest)?;
    let campaign: Option<CampaignId> = chosen(&query.campaign)
        .map(str::parse)
        .transpose()
        .map_err(|_| WebError::BadRequest)?;
    let after: Option<LeadId> = chosen(&query.after)
        .map(str::parse)
        .transpose()
        .map_err(|_| WebError::BadRequest)?;
    let text = chosen(&query.q).map(str::to_owned);
    let filter = LeadFilter {
        vendor_id: vendor,
        status,
        campaign_id: campaign,
        text: text.clone(),
    };
    let page = Page {
        after,
        limit: PER_PAGE + 1,
    };
    let (chrome, vendors, mut leads, campaigns) = tokio::try_join!(
        Chrome::load(&state, &viewer, "leads"),
        async { Ok(store.vendors().await?) },
        async { Ok(store.leads(&filter, page).await?) },
        async { Ok::<_, WebError>(store.campaigns().await?) },
    )?;
    let names = VendorNames::new(&vendors);
    let more = leads.len() > PER_PAGE as usize;
    leads.truncate(PER_PAGE as usize);
    let next = more.then(|| {
        let mut params = Vec::new();
        if let Some(v) = vendor {
            params.push(format!("vendor={v}"));
        }
        if let Some(s) = status {
            params.push(format!("status={}", s.as_str()));
        }
        if let Some(c) = campaign {
            params.push(format!("campaign={c}"));
        }
        if let Some(q) = &text {
            params.push(format!("q={}", urlencode(q)));
        }
        if let Some(last) = leads.last() {
            params.push(format!("after={}", last.id));
        }
        format!("/leads?{}", params.join("&"))
    });
    let locale = locale_of(&t);
    let campaigns = campaigns
        .into_iter()
        .map(|c| Choice {
            value: c.id.to_string(),
            label: locale
                .as_ref()
                .map_or_else(|| c.content.variants.first(), |l| c.content.variant_for(l))
                .name
                .to_string(),
            selected: campaign == Some(c.id),
        })
        .collect();
    let page = LeadsPage {
        leads: leads.iter().map(|l| line(l, &names, &t)).collect(),
        vendors: names
            .all()
            .iter()
            .map(|(id, name)| Choice {
                value: id.to_string(),
                label: name.clone(),
                selected: vendor == Some(*id),
            })
            .collect(),
        statuses: STATUSES
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: t.t(status_id(*s)),
                selected: status == Some(*s),
            })
            .collect(),
        campaigns,
        q: text.unwrap_or_default(),
        next,
        filtered: vendor.is_some() || status.is_some() || campaign.is_some() || query.q.is_some(),
        t,
        chrome,
    };
    render(&page)
}

#[derive(askama::Template)]
#[template(path = "lead.html")]
struct LeadPage {
    t: Tr,
    chrome: Chrome,
    lead: LeadLine,
    email: String,
    phone: String,
    title: String,
    country: String,
    domain: String,
    message: String,
    source: String,
    campaign: Option<(String, String)>,
    consent: Option<ConsentView>,
    can_respond: bool,
    deals: Vec<(String, String, String)>,
}

/// A landing-page lead's consent record, as the lead page shows it.
struct ConsentView {
    /// The answer: given, declined or not asked.
    answer: String,
    /// Its style: the answer's spelling.
    marker: &'static str,
    /// The checkbox's text as shown (empty when not asked).
    text: String,
    /// Which version of the text that was.
    version: String,
    /// The landing page's address.
    page: String,
    /// The privacy notice the page linked to (empty: none).
    privacy_notice_url: String,
    /// When it was recorded.
    at: String,
}

fn consent_view(c: &LeadConsent, t: &Tr) -> ConsentView {
    let answer = match c.marketing {
        MarketingConsent::Given => "lead-consent-given",
        MarketingConsent::Declined => "lead-consent-declined",
        MarketingConsent::NotAsked => "lead-consent-not-asked",
    };
    ConsentView {
        answer: t.t(answer),
        marker: c.marketing.as_str(),
        text: c
            .marketing_text
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        version: c
            .marketing_text_version
            .map(|v| v.to_string())
            .unwrap_or_default(),
        page: format!("/l/{}", c.landing_page),
        privacy_notice_url: c
            .privacy_notice_url
            .as_ref()
            .map(|u| u.as_url().to_string())
            .unwrap_or_default(),
        at: t.datetime(&c.recorded_at),
    }
}

async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: LeadId = id.parse().map_err(|_| WebError::NotFound)?;
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let lead = store.lead(id).await?;
    let chrome = Chrome::load(&state, &viewer, "leads").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let campaign = match lead.campaign_id {
        Some(c) => {
            let campaign = store.campaign(c).await.ok();
            let locale = locale_of(&t);
            campaign.map(|c| {
                let name = locale
                    .as_ref()
                    .map_or_else(|| c.content.variants.first(), |l| c.content.variant_for(l))
                    .name
                    .to_string();
                (c.id.to_string(), name)
            })
        }
        None => None,
    };
    let deals = store
        .deal_registrations()
        .await?
        .into_iter()
        .filter(|d| d.lead_id == Some(lead.id))
        .map(|d| {
            (
                d.id.to_string(),
                names.name(&d.vendor_id),
                t.t(super::deals::status_id(d.status)),
            )
        })
        .collect();
    let source = match lead.source {
        LeadSource::Vendor => t.t("lead-source-vendor"),
        LeadSource::Campaign => t.t("lead-source-campaign"),
        LeadSource::Manual => t.t("lead-source-manual"),
    };
    let page = LeadPage {
        lead: line(&lead, &names, &t),
        email: lead
            .contact
            .email
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        phone: lead
            .contact
            .phone
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        title: lead
            .contact
            .title
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        country: lead
            .company
            .as_ref()
            .and_then(|c| c.country.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
        domain: lead
            .company
            .as_ref()
            .and_then(|c| c.domain.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
        message: lead
            .message
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        source,
        campaign,
        consent: lead.consent.as_ref().map(|c| consent_view(c, &t)),
        can_respond: lead.source == LeadSource::Vendor && lead.status == LeadStatus::New,
        deals,
        t,
        chrome,
    };
    render(&page)
}

async fn respond(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    to: LeadStatus,
) -> Result<Response, WebError> {
    let id: LeadId = id.parse().map_err(|_| WebError::NotFound)?;
    viewer.store(state).set_lead_status(id, to).await?;
    Ok(Redirect::to(&format!("/leads/{id}")).into_response())
}

async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    respond(&state, &viewer, &id, LeadStatus::Accepted).await
}

async fn decline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    respond(&state, &viewer, &id, LeadStatus::Declined).await
}
