//! Pricing: the home currency margins are reported in, the sell rules
//! that set sell prices, and the exchange rates into the home currency.
//! Owners and admins only.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use onepane_domain::price::{ExchangeRate, Markup, Percent, SellMethod, SellRuleSelector};
use onepane_domain::{Currency, SellRuleId, VendorId};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{Fields, Frame, Section, kept};
use crate::state::AppState;
use crate::web::chrome::{Chrome, render};
use crate::web::error::WebError;
use crate::web::i18n::Tr;
use crate::web::session::{NoFields, Posted, Viewer};
use crate::web::view::{Choice, VendorNames};

/// The section's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(Section::Pricing.path(), get(show))
        .route("/settings/sell-rules", post(add_sell_rule))
        .route("/settings/sell-rules/{id}/delete", post(delete_sell_rule))
        .route("/settings/exchange-rates", post(add_rate))
        .route("/settings/currency", post(home_currency))
}

#[derive(askama::Template)]
#[template(path = "settings_pricing.html")]
struct PricingPage {
    t: Tr,
    chrome: Chrome,
    frame: Frame,
    /// id, vendor, category, method.
    rules: Vec<(String, String, String, String)>,
    /// pair, rate, date.
    rates: Vec<(String, String, String)>,
    vendors: Vec<Choice>,
    home_currency: String,
    /// The home currency form: `currency`.
    currency: Fields,
    /// The sell rule form: `vendor`, `category`, `method`, `percent`.
    rule: Fields,
    /// The exchange rate form: `base`, `rate`, `as_of`.
    rate: Fields,
}

async fn page(state: &AppState, viewer: &Viewer) -> Result<PricingPage, WebError> {
    let frame = Frame::new(viewer, Section::Pricing)?;
    let chrome = Chrome::load(state, viewer, "settings").await?;
    let t = viewer.tr.clone();
    let store = viewer.store(state);
    let names = VendorNames::new(&store.vendors().await?);
    let rules = store
        .sell_rules()
        .await?
        .into_iter()
        .map(|r| {
            let method = match &r.method {
                SellMethod::MarkupOnCost(m) => {
                    t.ts("sell-markup", "percent", &t.decimal(&m.value()))
                }
                SellMethod::DiscountOffList(p) => {
                    t.ts("sell-discount", "percent", &t.decimal(&p.value()))
                }
            };
            (
                r.id.to_string(),
                r.selector
                    .vendor_id
                    .map_or_else(|| t.t("all"), |v| names.name(&v)),
                r.selector
                    .category
                    .as_ref()
                    .map_or_else(|| t.t("all"), ToString::to_string),
                method,
            )
        })
        .collect();
    let rates = store
        .exchange_rates()
        .await?
        .into_iter()
        .map(|r| {
            (
                format!("{}/{}", r.base().code(), r.quote().code()),
                t.number(&r.rate()),
                t.date(&r.as_of()),
            )
        })
        .collect();
    let home_currency = viewer.session.workspace.home_currency.code().to_owned();
    let mut currency = Fields::default();
    currency.keep("currency", home_currency.clone());
    let mut rule = Fields::default();
    rule.keep("method", "markup");
    Ok(PricingPage {
        rules,
        rates,
        vendors: names
            .all()
            .iter()
            .map(|(id, n)| Choice {
                value: id.to_string(),
                label: n.clone(),
                selected: false,
            })
            .collect(),
        home_currency,
        currency,
        rule,
        rate: Fields::default(),
        frame,
        chrome,
        t,
    })
}

async fn show(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    render(&page(&state, &viewer).await?)
}

/// The page with "saved" shown.
async fn saved(state: &AppState, viewer: &Viewer) -> Result<Response, WebError> {
    let mut p = page(state, viewer).await?;
    p.frame.message = Some(viewer.tr.t("settings-saved"));
    render(&p)
}

/// The page with a refused form shown again.
fn refused(mut p: PricingPage) -> Result<Response, WebError> {
    p.frame.has_field_errors = true;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
}

#[derive(Debug, Deserialize)]
struct SellRuleForm {
    vendor: String,
    category: String,
    method: String,
    percent: String,
}

fn decimal(s: &str) -> Option<Decimal> {
    s.trim()
        .trim_end_matches('%')
        .trim()
        .replace(',', ".")
        .parse()
        .ok()
}

async fn add_sell_rule(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<SellRuleForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let t = &viewer.tr;
    let mut fields = Fields::default();
    fields.keep("vendor", kept(&form.vendor, 64));
    fields.keep("category", kept(&form.category, 300));
    fields.keep("method", kept(&form.method, 20));
    fields.keep("percent", kept(&form.percent, 40));
    let vendor: Result<Option<VendorId>, _> = match form.vendor.trim() {
        "" => Ok(None),
        v => v.parse().map(Some),
    };
    if vendor.is_err() {
        fields.refuse("vendor", t.t("sell-rule-vendor-invalid"));
    }
    let category = match form.category.trim() {
        "" => Ok(None),
        c => c.parse().map(Some),
    };
    if category.is_err() {
        fields.refuse("category", t.t("sell-rule-category-invalid"));
    }
    let method = match form.method.as_str() {
        "markup" | "discount" => Some(form.method.as_str()),
        _ => {
            fields.refuse("method", t.t("sell-rule-method-invalid"));
            None
        }
    };
    let method = method.and_then(|m| {
        let p = decimal(&form.percent);
        let parsed = p.and_then(|p| match m {
            "markup" => Markup::new(p).ok().map(SellMethod::MarkupOnCost),
            _ => Percent::new(p).ok().map(SellMethod::DiscountOffList),
        });
        if parsed.is_none() {
            fields.refuse("percent", t.t("sell-rule-invalid"));
        }
        parsed
    });
    let (Ok(vendor_id), Ok(category), Some(method)) = (vendor, category, method) else {
        let mut p = page(&state, &viewer).await?;
        for v in &mut p.vendors {
            v.selected = v.value == form.vendor;
        }
        p.rule = fields;
        return refused(p);
    };
    viewer
        .store(&state)
        .put_sell_rule(
            &SellRuleSelector {
                vendor_id,
                category,
            },
            method,
        )
        .await?;
    saved(&state, &viewer).await
}

async fn delete_sell_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<NoFields>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let id: SellRuleId = id.parse().map_err(|_| WebError::NotFound)?;
    viewer.store(&state).delete_sell_rule(id).await?;
    saved(&state, &viewer).await
}

#[derive(Debug, Deserialize)]
struct RateForm {
    base: String,
    rate: String,
    as_of: String,
}

async fn add_rate(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<RateForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let t = &viewer.tr;
    let home = viewer.session.workspace.home_currency;
    let mut fields = Fields::default();
    fields.keep("base", kept(&form.base, 10));
    fields.keep("rate", kept(&form.rate, 40));
    fields.keep("as_of", kept(&form.as_of, 20));
    let base = form
        .base
        .trim()
        .to_uppercase()
        .parse::<Currency>()
        .ok()
        .filter(|c| *c != home);
    if base.is_none() {
        fields.refuse("base", t.t("rate-base-invalid"));
    }
    let value = decimal(&form.rate).filter(|v| *v > Decimal::ZERO);
    if value.is_none() {
        fields.refuse("rate", t.t("rate-value-invalid"));
    }
    let as_of = form.as_of.trim().parse::<NaiveDate>().ok();
    if as_of.is_none() {
        fields.refuse("as_of", t.t("rate-as-of-invalid"));
    }
    let rate = match (base, value, as_of) {
        (Some(base), Some(value), Some(as_of)) => match ExchangeRate::new(base, home, value, as_of)
        {
            Ok(rate) => Some(rate),
            Err(_) => {
                fields.refuse("rate", t.t("rate-value-invalid"));
                None
            }
        },
        _ => None,
    };
    let Some(rate) = rate else {
        let mut p = page(&state, &viewer).await?;
        p.rate = fields;
        return refused(p);
    };
    viewer.store(&state).put_exchange_rate(&rate).await?;
    saved(&state, &viewer).await
}

#[derive(Debug, Deserialize)]
struct CurrencyForm {
    currency: String,
}

async fn home_currency(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<CurrencyForm>,
) -> Result<Response, WebError> {
    viewer.require_admin()?;
    let Ok(currency) = form.currency.trim().to_uppercase().parse::<Currency>() else {
        let mut p = page(&state, &viewer).await?;
        p.currency.keep("currency", kept(&form.currency, 10));
        p.currency
            .refuse("currency", viewer.tr.t("currency-invalid"));
        return refused(p);
    };
    viewer.store(&state).set_home_currency(currency).await?;
    // The session's copy of the workspace is read on the next request.
    Ok(Redirect::to(Section::Pricing.path()).into_response())
}
