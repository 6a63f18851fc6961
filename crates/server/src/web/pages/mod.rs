//! The pages of the pane, one module per section.

pub mod assets;
pub mod audit;
pub mod campaigns;
pub mod clock;
pub mod connect;
pub mod connections;
pub mod deals;
pub mod decide;
pub mod home;
pub mod landing;
pub mod leads;
pub mod notifications;
pub mod prices;
pub mod privacy;
pub mod scorecards;
pub mod settings;
pub mod unsubscribe;
pub mod vendors;

use crate::state::AppState;
use axum::Router;

/// Every page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(home::routes())
        .merge(clock::routes())
        .merge(leads::routes())
        .merge(deals::routes())
        .merge(campaigns::routes())
        .merge(landing::routes())
        .merge(decide::routes())
        .merge(assets::routes())
        .merge(prices::routes())
        .merge(connections::routes())
        .merge(connect::routes())
        .merge(notifications::routes())
        .merge(settings::routes())
        .merge(unsubscribe::routes())
        .merge(vendors::routes())
        .merge(scorecards::routes())
        .merge(audit::routes())
        .merge(privacy::routes())
}
