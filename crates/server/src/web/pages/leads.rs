//! Leads: one list across vendors with filters, one lead with accept,
//! decline, its other moves (each undoable for a short while by the member
//! who made it) and "Register deal".

use crate::web::view::DeliveryView;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onepane_domain::delivery::DeliveryKind;
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
        .route("/leads/{id}/status", post(move_to))
        .route("/leads/{id}/undo", post(undo))
        .route("/leads/{id}/send-answer-again", post(send_answer_again))
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
            .map(|d| t.datetime_zoned(&d)),
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
    /// Where the lead may move next: status, label, whether a reason is asked.
    moves: Vec<(String, String, bool)>,
    /// What happened to it, newest first: when, who, what.
    history: Vec<(String, String, String)>,
    /// What was just done.
    notice: Option<String>,
    /// The move the viewer may undo from the notice: its id.
    undo: Option<String>,
    /// How long a move may be undone, in words.
    undo_for: String,
    /// Why the last action was refused.
    problem: Option<String>,
    /// How the answer to a vendor's lead reaches the vendor.
    delivery: Option<DeliveryView>,
    /// Where "send again" posts.
    retry_action: String,
}

/// The query after a move: where the lead went.
#[derive(Debug, Default, Deserialize)]
struct Moved {
    moved: Option<String>,
    resent: Option<String>,
    undone: Option<String>,
}

/// The fields of a move (and of a decline).
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

/// The lead's history as lines: when, who, what.
fn history_lines(
    events: &[onepane_domain::activity::AuditEvent],
    names: &VendorNames,
    members: &[(onepane_domain::UserId, String)],
    t: &Tr,
) -> Vec<(String, String, String)> {
    use onepane_domain::activity::Actor;
    events
        .iter()
        .map(|e| {
            let who = match &e.actor {
                Actor::User(u) => members
                    .iter()
                    .find(|(id, _)| id == u)
                    .map_or_else(|| t.t("lead-history-someone"), |(_, email)| email.clone()),
                Actor::Vendor(v) => names.name(v),
                Actor::System | Actor::Operator => t.t("audit-system"),
            };
            let what = match e.action.as_str() {
                onepane_domain::lead::LEAD_MOVED => {
                    let to = e.detail["to"]
                        .as_str()
                        .and_then(|s| s.parse::<LeadStatus>().ok())
                        .map(|s| t.t(status_id(s)))
                        .unwrap_or_default();
                    let moved = t.ts("lead-history-moved", "status", &to);
                    match e.detail["reason"].as_str() {
                        Some(reason) => format!("{moved}: {reason}"),
                        None => moved,
                    }
                }
                onepane_domain::lead::LEAD_MOVE_UNDONE => {
                    let to = e.detail["to"]
                        .as_str()
                        .and_then(|s| s.parse::<LeadStatus>().ok())
                        .map(|s| t.t(status_id(s)))
                        .unwrap_or_default();
                    t.ts("lead-history-undone", "status", &to)
                }
                "lead.sent" => t.t("lead-history-sent"),
                "webhook.delivered" => t.t("lead-history-told"),
                other => other.to_owned(),
            };
            (t.datetime(&e.at), who, what)
        })
        .collect()
}

/// The statuses a lead may move to from the page (accepting and declining
/// have their own buttons).
fn next_moves(lead: &Lead, t: &Tr) -> Vec<(String, String, bool)> {
    [
        LeadStatus::Working,
        LeadStatus::Qualified,
        LeadStatus::Won,
        LeadStatus::Lost,
    ]
    .into_iter()
    .filter(|to| lead.status.transition(lead.source, *to).is_ok())
    .map(|to| {
        (
            to.as_str().to_owned(),
            t.t(status_id(to)),
            to == LeadStatus::Lost,
        )
    })
    .collect()
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
    Query(moved): Query<Moved>,
) -> Result<Response, WebError> {
    let id: LeadId = id.parse().map_err(|_| WebError::NotFound)?;
    let t = &viewer.tr;
    let status = |s: &Option<String>| s.as_deref().and_then(|m| m.parse::<LeadStatus>().ok());
    let notice = if let Some(s) = status(&moved.moved) {
        Some(Notice::Moved(s))
    } else if let Some(s) = status(&moved.undone) {
        Some(Notice::Text(t.ts(
            "lead-undone",
            "status",
            &t.t(status_id(s)),
        )))
    } else {
        moved
            .resent
            .is_some()
            .then(|| Notice::Text(t.t("delivery-sent-again")))
    };
    render(&lead_page(&state, &viewer, id, notice, None).await?)
}

/// What the lead's page says was just done.
enum Notice {
    /// The lead was moved to this status: the page offers to undo the
    /// move while the viewer may.
    Moved(LeadStatus),
    /// Anything else, in words.
    Text(String),
}

/// The viewer's move of `lead` that may still be undone: the lead's
/// latest move, when it is the viewer's, recent and not overtaken.
fn undoable(
    state: &AppState,
    viewer: &Viewer,
    lead: &Lead,
    history: &[onepane_domain::activity::AuditEvent],
) -> Option<onepane_domain::AuditEventId> {
    let latest = history
        .iter()
        .find(|e| e.action == onepane_domain::lead::LEAD_MOVED)?;
    let window = chrono::Duration::from_std(state.lead_undo).ok()?;
    onepane_domain::lead::undoable_move(
        lead,
        latest,
        viewer.session.user.id,
        chrono::Utc::now(),
        window,
    )
    .ok()
    .map(|_| latest.id)
}

async fn lead_page(
    state: &AppState,
    viewer: &Viewer,
    id: LeadId,
    notice: Option<Notice>,
    problem: Option<String>,
) -> Result<LeadPage, WebError> {
    let store = viewer.store(state);
    let t = viewer.tr.clone();
    let lead = store.lead(id).await?;
    let chrome = Chrome::load(state, viewer, "leads").await?;
    let names = VendorNames::new(&store.vendors().await?);
    let (history, delivery, connections) = tokio::try_join!(
        store.lead_history(lead.id),
        store.delivery(DeliveryKind::LeadAnswer, lead.id.as_uuid()),
        store.connections(),
    )?;
    let members: Vec<(onepane_domain::UserId, String)> = store
        .members()
        .await?
        .into_iter()
        .map(|m| (m.user_id, m.email.to_string()))
        .collect();
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
    let (notice, undo) = match notice {
        Some(Notice::Moved(to)) => {
            let undo = undoable(state, viewer, &lead, &history);
            let mut text = t.ts("lead-moved", "status", &t.t(status_id(to)));
            if lead.source.move_answers_vendor(to) {
                text = format!("{text} {}", t.t("lead-moved-vendor-told"));
            }
            (Some(text), undo.map(|id| id.to_string()))
        }
        Some(Notice::Text(text)) => (Some(text), None),
        None => (None, None),
    };
    let source = match lead.source {
        LeadSource::Vendor => t.t("lead-source-vendor"),
        LeadSource::Campaign => t.t("lead-source-campaign"),
        LeadSource::Manual => t.t("lead-source-manual"),
    };
    let page = LeadPage {
        delivery: delivery.map(|d| DeliveryView::new(&d, &connections, &t)),
        retry_action: format!("/leads/{}/send-answer-again", lead.id),
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
        moves: next_moves(&lead, &t),
        history: history_lines(&history, &names, &members, &t),
        notice,
        undo,
        undo_for: t.tn(
            "lead-undo-for",
            "seconds",
            i64::try_from(state.lead_undo.as_secs()).unwrap_or(i64::MAX),
        ),
        problem,
        t,
        chrome,
    };
    Ok(page)
}

/// Moves the lead as the viewer, with a reason when one is given; back to
/// the lead's page saying what was done, or again with the problem.
async fn move_lead(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    to: LeadStatus,
    reason: &str,
) -> Result<Response, WebError> {
    let id: LeadId = id.parse().map_err(|_| WebError::NotFound)?;
    let reason = reason.trim();
    let reason: Option<onepane_domain::text::LongText> = if reason.is_empty() {
        None
    } else {
        match reason.parse() {
            Ok(r) => Some(r),
            Err(_) => {
                let problem = Some(viewer.tr.t("lead-reason-invalid"));
                let page = lead_page(state, viewer, id, None, problem).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
            }
        }
    };
    let moved = viewer
        .store(state)
        .move_lead(id, to, reason.as_ref(), Some(viewer.session.user.id))
        .await;
    match moved {
        Ok(_) => {
            state.deliveries_queued();
            Ok(Redirect::to(&format!("/leads/{id}?moved={to}")).into_response())
        }
        Err(onepane_store::StoreError::Rule(_)) => {
            let problem = Some(
                if reason.is_none() && matches!(to, LeadStatus::Declined | LeadStatus::Lost) {
                    viewer.tr.t("lead-reason-needed")
                } else {
                    viewer.tr.t("lead-move-refused")
                },
            );
            let page = lead_page(state, viewer, id, None, problem).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    move_lead(&state, &viewer, &id, LeadStatus::Accepted, "").await
}

async fn decline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<MoveForm>,
) -> Result<Response, WebError> {
    move_lead(&state, &viewer, &id, LeadStatus::Declined, &form.reason).await
}

async fn move_to(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<MoveForm>,
) -> Result<Response, WebError> {
    let to: LeadStatus = form.status.parse().map_err(|_| WebError::BadRequest)?;
    move_lead(&state, &viewer, &id, to, &form.reason).await
}

/// The fields of an undo: which move.
#[derive(Debug, Deserialize)]
pub struct UndoForm {
    #[serde(default, rename = "move")]
    move_id: String,
}

/// Undoes the viewer's latest move of the lead, while the server allows
/// it; back to the lead saying so, or with why not.
async fn undo(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<UndoForm>,
) -> Result<Response, WebError> {
    use onepane_domain::lead::UndoRefused;
    let id: LeadId = id.parse().map_err(|_| WebError::NotFound)?;
    let move_id: onepane_domain::AuditEventId =
        form.move_id.parse().map_err(|_| WebError::BadRequest)?;
    let window =
        chrono::Duration::from_std(state.lead_undo).map_err(|e| WebError::Internal(Box::new(e)))?;
    let undone = viewer
        .store(&state)
        .undo_lead_move(id, move_id, viewer.session.user.id, window)
        .await?;
    let refused = match undone {
        Ok(lead) => {
            return Ok(Redirect::to(&format!("/leads/{id}?undone={}", lead.status)).into_response());
        }
        Err(refused) => refused,
    };
    let (status, key) = match refused {
        UndoRefused::Unknown => (StatusCode::NOT_FOUND, "lead-undo-unknown"),
        UndoRefused::NotYours => (StatusCode::FORBIDDEN, "lead-undo-not-yours"),
        UndoRefused::TooLate => (StatusCode::CONFLICT, "lead-undo-too-late"),
        UndoRefused::ChangedSince => (StatusCode::CONFLICT, "lead-undo-changed"),
        UndoRefused::VendorTold => (StatusCode::CONFLICT, "lead-undo-vendor-told"),
    };
    let page = lead_page(&state, &viewer, id, None, Some(viewer.tr.t(key))).await?;
    Ok((status, render(&page)?).into_response())
}

/// Sends a refused or failed answer to the vendor again.
async fn send_answer_again(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    let id: LeadId = id.parse().map_err(|_| WebError::NotFound)?;
    viewer
        .store(&state)
        .retry_delivery(
            DeliveryKind::LeadAnswer,
            id.as_uuid(),
            Some(viewer.session.user.id),
        )
        .await?;
    state.deliveries_queued();
    Ok(Redirect::to(&format!("/leads/{id}?resent")).into_response())
}
