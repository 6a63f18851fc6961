//! Home: what needs action now across every vendor (the start of the
//! clock, then what is new without a deadline), counts per vendor, and
//! charts of the pipeline, margins and campaign leads.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use onepane_domain::campaign::{Campaign, CampaignActivation};
use onepane_domain::clock::{ClockFilter, ClockHead, Deadline, DeadlineKind};
use onepane_domain::margin::PriceQuery;
use onepane_domain::workspace::{Connection, ConnectionStatus};
use onepane_domain::{CampaignId, VendorId};
use onepane_store::{LinkedVendor, VendorCounts};
use rust_decimal::prelude::ToPrimitive as _;

use crate::state::AppState;
use crate::web::charts::{self, Bar, BarChart, LineChart};
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::Viewer;
use crate::web::view::{VendorNames, locale_of};

/// The home page's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// One deadline from the clock, as the home page lists it.
#[derive(Debug, Clone)]
pub struct DueLine {
    /// What it concerns: lead, deal or connection (the tag's message and a
    /// CSS class).
    pub noun: &'static str,
    /// The clock's kind (a CSS class).
    pub kind: &'static str,
    /// The vendor it concerns.
    pub vendor: String,
    /// What it is about.
    pub title: String,
    /// The deadline, said as its kind says it ("answer by ...").
    pub due: String,
    /// Whether it has passed.
    pub overdue: bool,
    /// Where to act on it.
    pub href: String,
}

/// Something new to look at that has no deadline.
#[derive(Debug, Clone)]
pub struct Action {
    /// What kind: campaign or connection (the tag's message and a CSS class).
    pub kind: &'static str,
    /// The vendor it concerns.
    pub vendor: String,
    /// What it says.
    pub text: String,
    /// When a campaign ends, if it does: said, not a deadline.
    pub ends: Option<String>,
    /// Where to act on it.
    pub href: String,
}

/// A link to the rest of the clock: what it says, and where.
#[derive(Debug, Clone)]
pub struct MoreLink {
    /// What it says.
    pub text: String,
    /// The clock, filtered where that helps.
    pub href: String,
}

/// One vendor's counts.
#[derive(Debug, Clone)]
pub struct VendorLine {
    /// The vendor's name.
    pub name: String,
    /// Its id, for links.
    pub id: String,
    /// The workspace's tier.
    pub tier: String,
    /// New leads, as shown ("999+" past the count's cap).
    pub new_leads: String,
    /// Registrations waiting for the vendor.
    pub pending_deals: u64,
    /// Registrations approved.
    pub approved_deals: u64,
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    t: Tr,
    chrome: Chrome,
    /// The clock's first deadlines.
    deadlines: Vec<DueLine>,
    /// The rest of the clock when it holds more than is listed.
    more: Option<MoreLink>,
    /// The rest by kind, when it is of more than one kind.
    more_by_kind: Vec<MoreLink>,
    /// New campaigns and failing connections: no deadline.
    actions: Vec<Action>,
    vendors: Vec<VendorLine>,
    pipeline_chart: Option<BarChart>,
    margin_chart: Option<BarChart>,
    campaign_chart: Option<LineChart>,
}

/// Deadlines listed at most; the rest are on the clock.
const SHOWN: usize = 10;

/// How far back new campaigns count as news.
const RECENT: Duration = Duration::days(14);
/// New leads counted per vendor; more show as "999+".
const NEW_LEADS_COUNTED: u32 = 1000;

/// Weeks of campaign leads charted.
const WEEKS: i64 = 8;

/// A store read as a page's result.
async fn read<T>(
    f: impl Future<Output = Result<T, onepane_store::StoreError>>,
) -> Result<T, WebError> {
    Ok(f.await?)
}

async fn home(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let store = viewer.store(&state);
    let t = viewer.tr.clone();
    let now = Utc::now();
    let today = now.date_naive();
    let since = weeks_since(now);
    let everything = ClockFilter::default();
    // Every read at once: the page waits for the slowest, not their sum.
    let (
        chrome,
        vendors,
        campaigns,
        activations,
        clock,
        connections,
        counts,
        pipeline,
        weeks,
        priced,
    ) = tokio::try_join!(
        Chrome::load(&state, &viewer, "home"),
        read(store.vendors()),
        read(store.campaigns()),
        read(store.activations()),
        read(store.clock_head(&everything, SHOWN)),
        read(store.connections()),
        read(store.vendor_counts(NEW_LEADS_COUNTED)),
        read(store.pipeline()),
        read(store.campaign_weeks(since)),
        read(crate::services::pricing::priced_items_soon(
            &state.store,
            &state.pricing,
            viewer.session.workspace.id,
            today,
            PriceQuery::one(),
        )),
    )?;
    let names = VendorNames::new(&vendors);

    let (more, more_by_kind) = more_links(&clock, &t);
    let deadlines = clock
        .first
        .iter()
        .map(|d| due_line(d, &names, &t, now))
        .collect();
    let mut actions = campaign_actions(&campaigns, activations, &names, &t, now);
    actions.extend(connection_actions(connections, &names, &t));
    let lines = vendor_lines(&vendors, &counts, &t);

    let pipeline: Vec<Bar> = pipeline
        .into_iter()
        .map(|p| Bar {
            label: format!("{} ({})", names.name(&p.vendor_id), p.currency.code()),
            value: p.amount.to_f64().unwrap_or(0.0),
            shown: t.money(&onepane_domain::Money::new(p.amount, p.currency).rounded()),
        })
        .collect();
    let pipeline_chart =
        (!pipeline.is_empty()).then(|| charts::bars(&t.t("home-chart-pipeline"), &pipeline));

    let margin_chart = priced.and_then(|p| margin_chart(&p, &names, &t));
    let campaign_chart = campaign_chart(weeks, &campaigns, &t, now);

    let page = HomePage {
        t,
        chrome,
        deadlines,
        more,
        more_by_kind,
        actions,
        vendors: lines,
        pipeline_chart,
        margin_chart,
        campaign_chart,
    };
    render(&page)
}

/// New campaigns not activated yet.
fn campaign_actions(
    campaigns: &[Campaign],
    activations: Vec<CampaignActivation>,
    names: &VendorNames,
    t: &Tr,
    now: DateTime<Utc>,
) -> Vec<Action> {
    let locale = locale_of(t);
    let activated: HashSet<CampaignId> = activations.into_iter().map(|a| a.campaign_id).collect();
    campaigns
        .iter()
        .filter(|c| !activated.contains(&c.id) && now - c.created_at < RECENT)
        .map(|c| {
            let name = locale
                .as_ref()
                .map_or_else(|| c.content.variants.first(), |l| c.content.variant_for(l))
                .name
                .to_string();
            Action {
                kind: "campaign",
                vendor: names.name(&c.vendor_id),
                text: t.ts("home-action-campaign", "name", &name),
                ends: c.content.window.ends_on().map(|d| t.date(&d)),
                href: format!("/campaigns/{}", c.id),
            }
        })
        .collect()
}

/// What a deadline concerns, for its tag.
fn noun(d: &Deadline) -> &'static str {
    match d.kind {
        DeadlineKind::LeadAnswer => "lead",
        DeadlineKind::DecisionAwaited | DeadlineKind::ProtectionEnds => "deal",
        DeadlineKind::Reauthorize => "connection",
        DeadlineKind::DeliveryRefused if d.link.starts_with("/leads/") => "lead",
        DeadlineKind::DeliveryRefused => "deal",
    }
}

/// A deadline as listed, its time said as its kind says it.
fn due_line(d: &Deadline, names: &VendorNames, t: &Tr, now: DateTime<Utc>) -> DueLine {
    let kind = d.kind.as_str();
    // A protection ends with its last day: the date says it.
    let when = match d.kind {
        DeadlineKind::ProtectionEnds => t.date(&d.due.date_naive()),
        _ => t.datetime_zoned(&d.due),
    };
    DueLine {
        noun: noun(d),
        kind,
        vendor: names.name_opt(&d.vendor_id),
        title: if d.title.is_empty() {
            t.t(&format!("clock-kind-{kind}"))
        } else {
            d.title.clone()
        },
        due: t.ts(&format!("home-due-{kind}"), "when", &when),
        // A login is due the moment it is needed: not shown as late.
        overdue: d.due < now && d.kind != DeadlineKind::Reauthorize,
        href: d.link.clone(),
    }
}

/// The link to the rest of the clock, filtered to the one kind the rest
/// is of; and when it is of several, a link to each.
fn more_links(clock: &ClockHead, t: &Tr) -> (Option<MoreLink>, Vec<MoreLink>) {
    let rest = clock.rest();
    let count: u64 = rest.iter().map(|(_, n)| n).sum();
    if count == 0 {
        return (None, Vec::new());
    }
    let link = |kind: DeadlineKind| format!("/clock?kind={}", kind.as_str());
    let more = MoreLink {
        text: t.tn(
            "home-more",
            "count",
            i64::try_from(count).unwrap_or(i64::MAX),
        ),
        href: match rest.as_slice() {
            [(kind, _)] => link(*kind),
            _ => "/clock".to_owned(),
        },
    };
    let by_kind = if rest.len() > 1 {
        rest.iter()
            .map(|(kind, n)| MoreLink {
                text: t.targs(
                    "home-more-kind",
                    &[
                        ("kind", t.t(&format!("clock-kind-{}", kind.as_str()))),
                        ("count", n.to_string()),
                    ],
                ),
                href: link(*kind),
            })
            .collect()
    } else {
        Vec::new()
    };
    (Some(more), by_kind)
}

/// Connections failing (a login needed is on the clock).
fn connection_actions(connections: Vec<Connection>, names: &VendorNames, t: &Tr) -> Vec<Action> {
    connections
        .into_iter()
        .filter_map(|conn| {
            if conn.status != ConnectionStatus::Failing {
                return None;
            }
            Some(Action {
                kind: "connection",
                vendor: conn
                    .target
                    .vendor_id()
                    .map(|v| names.name(&v))
                    .unwrap_or_default(),
                text: t.ts("home-action-connection-failing", "name", conn.name.as_str()),
                ends: None,
                href: format!("/connections#connection-{}", conn.id),
            })
        })
        .collect()
}

/// Each vendor's tier and counts.
fn vendor_lines(
    vendors: &[LinkedVendor],
    counts: &HashMap<VendorId, VendorCounts>,
    t: &Tr,
) -> Vec<VendorLine> {
    vendors
        .iter()
        .map(|v| {
            let c = counts.get(&v.vendor.id).cloned().unwrap_or_default();
            VendorLine {
                name: v.vendor.name.to_string(),
                id: v.vendor.id.to_string(),
                tier: t.t(&format!("tier-{}", v.link.tier.as_str())),
                new_leads: if c.new_leads >= u64::from(NEW_LEADS_COUNTED) {
                    format!("{}+", NEW_LEADS_COUNTED - 1)
                } else {
                    c.new_leads.to_string()
                },
                pending_deals: c.pending_deals,
                approved_deals: c.approved_deals,
            }
        })
        .collect()
}

/// The average margin % of each vendor's price items, in home currency.
fn margin_chart(
    items: &[crate::services::pricing::PricedItem],
    names: &VendorNames,
    t: &Tr,
) -> Option<BarChart> {
    let mut sums: BTreeMap<VendorId, (rust_decimal::Decimal, u32)> = BTreeMap::new();
    for item in items.iter() {
        if let Some(p) = item.sort_percent {
            let e = sums.entry(item.vendor_id).or_default();
            e.0 += p;
            e.1 += 1;
        }
    }
    let bars: Vec<Bar> = sums
        .into_iter()
        .map(|(v, (sum, n))| {
            let avg = sum / rust_decimal::Decimal::from(n.max(1));
            Bar {
                label: names.name(&v),
                value: avg.to_f64().unwrap_or(0.0),
                shown: format!("{} %", t.decimal(&avg)),
            }
        })
        .collect();
    (!bars.is_empty()).then(|| charts::bars(&t.t("home-chart-margin"), &bars))
}

/// The Monday of the first week charted.
fn first_week(now: DateTime<Utc>) -> NaiveDate {
    let monday = now.date_naive() - Duration::days(i64::from(now.weekday().num_days_from_monday()));
    monday - Duration::weeks(WEEKS - 1)
}

/// When the first week charted starts.
fn weeks_since(now: DateTime<Utc>) -> DateTime<Utc> {
    first_week(now)
        .and_hms_opt(0, 0, 0)
        .map_or(now, |d| d.and_utc())
}

/// Leads per campaign per week, for the five campaigns with the most.
fn campaign_chart(
    rows: Vec<onepane_store::CampaignWeek>,
    campaigns: &[Campaign],
    t: &Tr,
    now: DateTime<Utc>,
) -> Option<LineChart> {
    let first = first_week(now);
    let weeks: Vec<NaiveDate> = (0..WEEKS).map(|i| first + Duration::weeks(i)).collect();
    if rows.is_empty() {
        return None;
    }
    let mut per: BTreeMap<CampaignId, Vec<u64>> = BTreeMap::new();
    for r in rows {
        if let Some(i) = weeks.iter().position(|w| *w == r.week) {
            per.entry(r.campaign_id)
                .or_insert_with(|| vec![0; weeks.len()])[i] += r.leads;
        }
    }
    let mut series: Vec<(CampaignId, Vec<u64>)> = per.into_iter().collect();
    series.sort_by_key(|(_, v)| std::cmp::Reverse(v.iter().sum::<u64>()));
    series.truncate(5);
    let locale = locale_of(t);
    let named: Vec<(String, Vec<u64>)> = series
        .into_iter()
        .map(|(id, v)| {
            let name = campaigns
                .iter()
                .find(|c| c.id == id)
                .map(|c| {
                    locale
                        .as_ref()
                        .map_or_else(|| c.content.variants.first(), |l| c.content.variant_for(l))
                        .name
                        .to_string()
                })
                .unwrap_or_else(|| id.to_string());
            (name, v)
        })
        .collect();
    let labels: Vec<String> = weeks.iter().map(|w| t.day_month(w)).collect();
    Some(charts::lines(&t.t("home-chart-campaigns"), &labels, &named))
}
