//! The pages of the pane, one module per section.

pub mod assets;
pub mod campaigns;
pub mod connections;
pub mod deals;
pub mod home;
pub mod landing;
pub mod leads;
pub mod notifications;
pub mod prices;
pub mod settings;

use axum::Router;
use onepane_domain::VendorId;
use onepane_domain::text::Locale;
use onepane_store::LinkedVendor;

use super::i18n::Tr;
use crate::state::AppState;

/// Every page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(home::routes())
        .merge(leads::routes())
        .merge(deals::routes())
        .merge(campaigns::routes())
        .merge(landing::routes())
        .merge(assets::routes())
        .merge(prices::routes())
        .merge(connections::routes())
        .merge(notifications::routes())
        .merge(settings::routes())
}

/// A query parameter's value, when it says something (not empty or blank).
pub fn chosen(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The locale of the viewer's language, for picking content variants.
pub fn locale_of(t: &Tr) -> Option<Locale> {
    t.tag().parse().ok()
}

/// Vendors by id, for naming rows.
#[derive(Debug, Clone, Default)]
pub struct VendorNames(Vec<(VendorId, String)>);

impl VendorNames {
    /// From the workspace's vendors.
    pub fn new(vendors: &[LinkedVendor]) -> Self {
        VendorNames(
            vendors
                .iter()
                .map(|v| (v.vendor.id, v.vendor.name.to_string()))
                .collect(),
        )
    }

    /// A vendor's name (or its id when it is no longer linked).
    pub fn name(&self, id: &VendorId) -> String {
        self.0
            .iter()
            .find(|(v, _)| v == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    }

    /// The name of an optional vendor.
    pub fn name_opt(&self, id: &Option<VendorId>) -> String {
        id.as_ref().map(|v| self.name(v)).unwrap_or_default()
    }

    /// Every vendor, for filters.
    pub fn all(&self) -> &[(VendorId, String)] {
        &self.0
    }
}
