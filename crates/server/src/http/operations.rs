//! Every operation of the API, declared once: each handler's
//! `#[utoipa::path]` gives the method and path that route it and the
//! documentation the OpenAPI document shows. [`super::routes`] adds the
//! layers; [`super::openapi`] writes the document.

use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt as _};
use utoipa_axum::routes;

use crate::state::AppState;

/// The largest price-list items upload (50,000 items).
pub const ITEMS_BODY_LIMIT: usize = 64 << 20;

/// The routes that take bodies up to [`ITEMS_BODY_LIMIT`] (their
/// registrations below say so again, for the extractors).
const LARGE_BODY_ROUTES: [&str; 2] = [
    "/api/v1/vendor/price-lists/{external_id}/items",
    "/api/v1/connections/{id}/upload",
];

/// The largest body `route` takes. The idempotency middleware, which reads
/// a keyed request's body before the route's extractor does, applies it.
pub fn body_limit(route: &str) -> usize {
    if LARGE_BODY_ROUTES.contains(&route) {
        ITEMS_BODY_LIMIT
    } else {
        super::BODY_LIMIT
    }
}

/// Every operation of the API with its documentation, without the layers.
pub fn all() -> OpenApiRouter<AppState> {
    token().merge(vendor()).merge(partner())
}

/// The token endpoint, its metadata and keys, and where OAuth providers
/// send a connecting partner back.
pub fn token() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(super::oauth::token))
        .routes(routes!(super::oauth::jwks))
        .routes(routes!(super::oauth::metadata))
        .routes(routes!(super::api::connections::oauth_callback))
}

/// The connector API for vendors' API clients.
pub fn vendor() -> OpenApiRouter<AppState> {
    use super::api::vendor::*;
    OpenApiRouter::new()
        .routes(routes!(partners))
        .routes(routes!(set_tier))
        .routes(routes!(set_regions))
        .routes(routes!(send_lead))
        .routes(routes!(campaigns))
        .routes(routes!(put_campaign, campaign, archive_campaign))
        .routes(routes!(campaign_stats))
        .routes(routes!(assets))
        .routes(routes!(put_asset, asset, delete_asset))
        .routes(routes!(price_lists))
        .routes(routes!(put_price_list, price_list))
        .routes(
            routes!(put_price_items, patch_price_items, price_items)
                .layer(DefaultBodyLimit::max(ITEMS_BODY_LIMIT)),
        )
        .routes(routes!(put_deal_fields, deal_fields))
        .routes(routes!(put_logo, logo))
        .routes(routes!(deal_registrations))
        .routes(routes!(deal_registration))
        .routes(routes!(decide))
        .routes(routes!(put_webhook, webhook, delete_webhook))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(super::api::scorecards::vendor_scorecard))
}

/// The partner API for a workspace's members.
pub fn partner() -> OpenApiRouter<AppState> {
    use super::api::connections;
    use super::api::partner::*;
    OpenApiRouter::new()
        .routes(routes!(vendors))
        .routes(routes!(set_vendor_status))
        .routes(routes!(audit))
        .routes(routes!(export_personal_data))
        .routes(routes!(erase_personal_data))
        .routes(routes!(leads))
        .routes(routes!(lead))
        .routes(routes!(accept_lead))
        .routes(routes!(decline_lead))
        .routes(routes!(campaigns))
        .routes(routes!(activate_campaign))
        .routes(routes!(assets))
        .routes(routes!(price_items))
        .routes(routes!(deal_registrations, register_deal))
        .routes(routes!(deal_registration))
        .routes(routes!(deal_delivery))
        .routes(routes!(retry_deal_delivery))
        .routes(routes!(notifications))
        .routes(routes!(read_notification))
        .routes(routes!(clock))
        .routes(routes!(super::api::scorecards::partner_scorecards))
        .routes(routes!(
            connections::connections,
            connections::create_connection
        ))
        .routes(routes!(connections::delete_connection))
        .routes(routes!(connections::sync_now))
        .routes(routes!(connections::runs))
        .routes(routes!(connections::jobs))
        .routes(routes!(connections::retry_job))
        .routes(routes!(connections::authorize))
        .routes(routes!(connections::upload).layer(DefaultBodyLimit::max(ITEMS_BODY_LIMIT)))
}

/// The OpenAPI document of every operation, with what the layers add.
pub fn document() -> utoipa::openapi::OpenApi {
    super::openapi::document_with(all().into_openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_large_body_routes_exist_and_take_large_bodies() {
        let document = all().into_openapi();
        for route in LARGE_BODY_ROUTES {
            assert!(
                document.paths.paths.contains_key(route),
                "{route} is not a route of the API"
            );
            assert_eq!(body_limit(route), ITEMS_BODY_LIMIT);
        }
        assert_eq!(
            body_limit("/api/v1/deal-registrations"),
            super::super::BODY_LIMIT
        );
    }
}
