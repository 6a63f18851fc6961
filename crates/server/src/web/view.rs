//! What several pages show: vendors by name, the choices of a filter or a
//! form, the filters a query chose, and the viewer's locale.

use onepane_domain::VendorId;
use onepane_domain::text::Locale;
use onepane_store::LinkedVendor;

use super::i18n::Tr;

/// An option of a filter.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Its value.
    pub value: String,
    /// What it shows.
    pub label: String,
    /// Whether it is chosen.
    pub selected: bool,
}

/// A query parameter's value, when it says something (not empty or blank).
pub fn chosen(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The locale of the viewer's language, for picking content variants.
pub fn locale_of(t: &Tr) -> Option<Locale> {
    t.tag().parse().ok()
}

impl Choice {
    /// `(value, label)` pairs as choices, `current` selected.
    pub fn list(values: Vec<(String, String)>, current: Option<&str>) -> Vec<Choice> {
        values
            .into_iter()
            .map(|(value, label)| Choice {
                selected: current == Some(value.as_str()),
                value,
                label,
            })
            .collect()
    }
}

/// Vendors by id, for naming rows.
#[derive(Debug, Clone, Default)]
pub struct VendorNames(Vec<(VendorId, String)>, Vec<VendorId>);

impl VendorNames {
    /// From the workspace's vendors.
    pub fn new(vendors: &[LinkedVendor]) -> Self {
        VendorNames(
            vendors
                .iter()
                .map(|v| (v.vendor.id, v.vendor.name.to_string()))
                .collect(),
            vendors
                .iter()
                .filter(|v| v.link.status == onepane_domain::LinkStatus::Paused)
                .map(|v| v.vendor.id)
                .collect(),
        )
    }

    /// Whether the partner paused this vendor (its content shows greyed).
    pub fn paused(&self, id: &VendorId) -> bool {
        self.1.contains(id)
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

/// Percent-encodes a query parameter's value.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
