//! The vendor scorecards: a partner's of its vendors, and a vendor's of
//! itself as its partners see it.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use onepane_domain::scorecard::{Period, PeriodError, Scorecard, VendorScorecard};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::caller::{PartnerCaller, VendorCaller};
use crate::http::error::ApiError;
use crate::http::json::ApiQuery;
use crate::http::openapi::BadRequest;
use crate::services::scorecards;
use crate::state::AppState;

/// The period of a scorecard.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// The first day, `YYYY-MM-DD` (default: 89 days before `to`).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default)]
    from: Option<NaiveDate>,
    /// The last day, `YYYY-MM-DD` (default: today, UTC).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default)]
    to: Option<NaiveDate>,
}

impl PeriodQuery {
    fn period(&self) -> Result<Period, ApiError> {
        scorecards::period(self.from, self.to).map_err(|e| {
            let at = match e {
                PeriodError::Backwards { .. } => "to",
                PeriodError::TooLong => "from",
            };
            ApiError::bad_request(at, e.to_string())
        })
    }
}

/// The workspace's scorecards.
#[derive(Debug, Serialize, ToSchema)]
pub struct Scorecards {
    /// The period measured.
    pub period: Period,
    /// One per vendor the workspace is linked to.
    pub items: Vec<Scorecard>,
}

/// Score each vendor.
///
/// Per vendor, from the workspace's own data over the period: the time
/// to decide a registration (median and 90th percentile, in hours), the
/// approval rate, protections granted, leads sent, accepted and won,
/// answer-by windows given, sync health, and the members' ratings on the
/// seven partner-experience areas in the quarters the period touches.
#[utoipa::path(
    get, path = "/api/v1/scorecards", operation_id = "partner_scorecards",
    tag = "Partner: vendors", security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "A scorecard per vendor.", body = Scorecards),
        (status = 400, response = BadRequest),
    )
)]
pub async fn partner_scorecards(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Json<Scorecards>, ApiError> {
    let period = q.period()?;
    let store = state.store.partner(caller.workspace_id);
    let (_, items) = scorecards::for_partner(&store, &period).await?;
    Ok(Json(Scorecards { period, items }))
}

/// How the vendor's partners score it.
///
/// The vendor's figures over all its linked partners, each shown only when
/// at least five partners contributed to it (never per partner), beside
/// the same figures for the median vendor (over vendors whose figure is
/// shown, when at least three are).
#[utoipa::path(
    get, path = "/api/v1/vendor/scorecard", operation_id = "vendor_scorecard",
    tag = "Vendor: partners", security(("oauth2" = ["partners:read"])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "The vendor's scorecard and the median vendor's.", body = VendorScorecard),
        (status = 400, response = BadRequest),
    )
)]
pub async fn vendor_scorecard(
    State(state): State<AppState>,
    caller: VendorCaller,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Json<VendorScorecard>, ApiError> {
    let period = q.period()?;
    let card = scorecards::for_vendor(&state.store.system(), caller.vendor_id, &period).await?;
    Ok(Json(card))
}
