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

/// How something the partner submitted is being delivered to its vendor,
/// as the registration and lead pages show it.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    /// The status's spelling, for styling and tests.
    pub status: &'static str,
    /// The status in words.
    pub status_text: String,
    /// How it reaches (or reached) the vendor.
    pub route: String,
    /// The vendor's own id for it.
    pub vendor_ref: Option<String>,
    /// The label of `message`.
    pub message_label: String,
    /// The vendor's message, or the last error.
    pub message: Option<String>,
    /// When it last changed.
    pub when: String,
    /// Whether the partner may send it again.
    pub can_retry: bool,
}

impl DeliveryView {
    /// The view of `d`; `connections` names the partner's connections.
    pub fn new(
        d: &onepane_domain::delivery::Delivery,
        connections: &[onepane_domain::workspace::Connection],
        t: &Tr,
    ) -> Self {
        use onepane_domain::delivery::{DeliveryRoute, SendStatus};
        let status_text = match d.status {
            SendStatus::Pending if d.attempts > 0 => t.ts(
                "delivery-status-pending-retry",
                "attempts",
                &d.attempts.to_string(),
            ),
            SendStatus::Pending => t.t("delivery-status-pending"),
            SendStatus::Sent => t.t("delivery-status-sent"),
            SendStatus::Refused => t.t("delivery-status-refused"),
            SendStatus::Failed => t.t("delivery-status-failed"),
            SendStatus::Unsupported => t.t("delivery-status-unsupported"),
        };
        let route = match (d.route, d.connection_id) {
            (Some(DeliveryRoute::VendorSystem), Some(c)) => {
                let name = connections
                    .iter()
                    .find(|conn| conn.id == c)
                    .map_or_else(|| c.to_string(), |conn| conn.name.to_string());
                t.ts("delivery-route-vendor-system", "connection", &name)
            }
            (Some(DeliveryRoute::VendorSystem), None) => t.t("delivery-route-vendor-system-gone"),
            (Some(DeliveryRoute::OnepaneApi), _) => t.t("delivery-route-onepane-api"),
            (Some(DeliveryRoute::Email), _) => t.t("delivery-route-email"),
            (None, _) => t.t("delivery-route-unknown"),
        };
        Self {
            status: d.status.as_str(),
            status_text,
            route,
            vendor_ref: d.vendor_ref.clone(),
            message_label: t.t(if d.status == SendStatus::Refused {
                "delivery-message"
            } else {
                "delivery-last-error"
            }),
            message: d.message.clone(),
            when: t.datetime(&d.updated_at),
            can_retry: matches!(d.status, SendStatus::Refused | SendStatus::Failed),
        }
    }
}
