//! Deal registrations: one uniform form for every vendor, and the vendor's
//! decision on it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DealRegistrationId, LeadId, UserId, VendorId, WorkspaceId};
use crate::lead::Company;
use crate::money::Money;
use crate::price::Percent;
use crate::program::spelled_enum;
use crate::text::{LongText, Name, Sku};

spelled_enum!(
    /// Where a deal registration stands with its vendor.
    DealStatus, "deal registration status" {
        /// Sent to the vendor, not yet decided.
        Submitted => "submitted",
        /// The vendor protects the deal for the partner.
        Approved => "approved",
        /// The vendor refused it (with a reason).
        Rejected => "rejected",
        /// The protection (or the wait for a decision) ran out.
        Expired => "expired",
    }
);

/// A product line of a registered deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealProduct {
    /// The vendor's SKU.
    pub sku: Sku,
    /// How many.
    pub quantity: u32,
    /// The vendor whose product it is, when the deal names several vendors
    /// and the SKU alone does not say (only that vendor is sent the line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<VendorId>,
}

/// What the partner fills in: the same form for every vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealDetails {
    /// The opportunity's title.
    pub title: Name,
    /// The end customer.
    pub customer: Company,
    /// The expected deal value.
    pub amount: Money,
    /// The products.
    #[serde(default)]
    pub products: Vec<DealProduct>,
    /// The vendor's own required fields, by field name.
    #[serde(default)]
    pub fields: VendorFields,
}

/// A vendor's own deal-registration fields: at most 50, names of 1 to 64
/// visible ASCII characters, values of at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct VendorFields(BTreeMap<String, String>);

/// Vendor fields out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VendorFieldsError {
    /// More than 50 fields.
    #[error("at most {max} vendor fields are accepted (got {got})")]
    TooMany {
        /// The limit.
        max: usize,
        /// How many were given.
        got: usize,
    },
    /// A name that is empty, too long or not plain ASCII.
    #[error("vendor field name `{0}` must be 1 to 64 visible ASCII characters")]
    BadName(String),
    /// A value longer than 2,000 characters.
    #[error("vendor field `{0}` is longer than 2000 characters")]
    TooLong(String),
}

impl VendorFields {
    /// The fields by name.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl TryFrom<BTreeMap<String, String>> for VendorFields {
    type Error = VendorFieldsError;
    fn try_from(map: BTreeMap<String, String>) -> Result<Self, Self::Error> {
        if map.len() > 50 {
            return Err(VendorFieldsError::TooMany {
                max: 50,
                got: map.len(),
            });
        }
        for (name, value) in &map {
            if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_graphic()) {
                return Err(VendorFieldsError::BadName(name.chars().take(64).collect()));
            }
            if value.chars().count() > 2000 {
                return Err(VendorFieldsError::TooLong(name.clone()));
            }
        }
        Ok(Self(map))
    }
}

impl From<VendorFields> for BTreeMap<String, String> {
    fn from(f: VendorFields) -> Self {
        f.0
    }
}

/// The vendor's decision on a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum DealDecision {
    /// Protected until `protection_expires_on`, with an optional extra discount.
    Approved {
        /// Why, or conditions.
        reason: Option<LongText>,
        /// The last day of protection.
        protection_expires_on: NaiveDate,
        /// Extra discount on this deal's products.
        extra_discount: Option<Percent>,
    },
    /// Refused.
    Rejected {
        /// Why (a conflict, an existing registration, ...).
        reason: LongText,
    },
}

/// A decision that does not fit the registration's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DealDecisionError {
    /// Only submitted registrations can be decided.
    #[error("the registration is {0}; only a submitted registration can be decided")]
    NotSubmitted(DealStatus),
    /// Protection must end after the decision day.
    #[error("protection must end after {today} (got {expires_on})")]
    ExpiryInPast {
        /// The decision day.
        today: NaiveDate,
        /// The refused expiry.
        expires_on: NaiveDate,
    },
}

/// A deal registration submitted to one vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealRegistration {
    /// Its id.
    pub id: DealRegistrationId,
    /// The registering workspace.
    pub workspace_id: WorkspaceId,
    /// The vendor it is registered with.
    pub vendor_id: VendorId,
    /// The lead it came from, if any.
    pub lead_id: Option<LeadId>,
    /// The form.
    pub details: DealDetails,
    /// Where it stands.
    pub status: DealStatus,
    /// The vendor's reason (always given on rejection).
    pub reason: Option<LongText>,
    /// The last day of protection, once approved.
    pub protection_expires_on: Option<NaiveDate>,
    /// The extra discount the vendor granted, once approved.
    pub extra_discount: Option<Percent>,
    /// Who submitted it.
    pub submitted_by: Option<UserId>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When the vendor decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl DealRegistration {
    /// Applies a vendor's decision made on `today`.
    pub fn decide(
        &mut self,
        decision: DealDecision,
        now: DateTime<Utc>,
    ) -> Result<(), DealDecisionError> {
        if self.status != DealStatus::Submitted {
            return Err(DealDecisionError::NotSubmitted(self.status));
        }
        match decision {
            DealDecision::Approved {
                reason,
                protection_expires_on,
                extra_discount,
            } => {
                let today = now.date_naive();
                if protection_expires_on <= today {
                    return Err(DealDecisionError::ExpiryInPast {
                        today,
                        expires_on: protection_expires_on,
                    });
                }
                self.status = DealStatus::Approved;
                self.reason = reason;
                self.protection_expires_on = Some(protection_expires_on);
                self.extra_discount = extra_discount;
            }
            DealDecision::Rejected { reason } => {
                self.status = DealStatus::Rejected;
                self.reason = Some(reason);
            }
        }
        self.decided_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    /// The status as of `today`: an approved registration whose protection
    /// ended reads as expired.
    pub fn status_on(&self, today: NaiveDate) -> DealStatus {
        match (self.status, self.protection_expires_on) {
            (DealStatus::Approved, Some(end)) if end < today => DealStatus::Expired,
            (s, _) => s,
        }
    }

    /// The extra discount that applies to this deal's products on `today`.
    pub fn active_extra_discount(&self, today: NaiveDate) -> Option<Percent> {
        (self.status_on(today) == DealStatus::Approved)
            .then_some(self.extra_discount)
            .flatten()
    }
}

/// A registration's status as the vendor's own system reports it (a
/// `deal_status` stream): which registration, by Onepane's id as the
/// vendor echoes it or by the vendor's own id, and the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorDealStatus {
    /// Onepane's id of the registration, when the vendor keeps it.
    #[serde(default)]
    pub registration: Option<DealRegistrationId>,
    /// The vendor's own id of the registration.
    #[serde(default)]
    pub vendor_ref: Option<crate::text::ExternalId>,
    /// Where it stands: `submitted` (still waiting), `approved` or
    /// `rejected`.
    pub status: DealStatus,
    /// The vendor's reason or conditions.
    #[serde(default)]
    pub reason: Option<LongText>,
    /// The last day of protection, on approval.
    #[serde(default)]
    pub protection_expires_on: Option<NaiveDate>,
    /// An extra discount granted on approval.
    #[serde(default)]
    pub extra_discount: Option<Percent>,
}

impl VendorDealStatus {
    /// The key it is stored under within its stream: the vendor's id, else
    /// Onepane's.
    pub fn key(&self) -> String {
        match (&self.vendor_ref, self.registration) {
            (Some(r), _) => r.as_str().to_owned(),
            (None, Some(id)) => id.to_string(),
            (None, None) => String::new(),
        }
    }

    /// The decision it reports, if any: `None` while the vendor has not
    /// decided. An approval without a protection end, or a refusal without
    /// a reason, is an error naming what is missing.
    pub fn decision(&self) -> Result<Option<DealDecision>, String> {
        match self.status {
            DealStatus::Submitted | DealStatus::Expired => Ok(None),
            DealStatus::Approved => {
                let protection_expires_on = self.protection_expires_on.ok_or_else(|| {
                    "the vendor approved the registration without a protection end".to_owned()
                })?;
                Ok(Some(DealDecision::Approved {
                    reason: self.reason.clone(),
                    protection_expires_on,
                    extra_discount: self.extra_discount,
                }))
            }
            DealStatus::Rejected => Ok(Some(DealDecision::Rejected {
                reason: match &self.reason {
                    Some(r) => r.clone(),
                    None => {
                        LongText::parse("The vendor gave no reason.").map_err(|e| e.to_string())?
                    }
                },
            })),
        }
    }
}

/// An earlier registration of the same customer that a new one may clash
/// with: one with the same vendor still waiting or protected, or one with
/// another vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationConflict {
    /// The earlier registration.
    pub registration_id: DealRegistrationId,
    /// Its vendor.
    pub vendor_id: VendorId,
    /// Its title.
    pub title: Name,
    /// Where it stands (`submitted` or `approved`).
    pub status: DealStatus,
    /// The last day of its protection, when approved.
    pub protection_expires_on: Option<NaiveDate>,
    /// Whether it is with a vendor the new registration names (else with
    /// another, perhaps competing, vendor).
    pub same_vendor: bool,
}

impl Company {
    /// The customer's web domain as registrations are compared by it
    /// (lower case, without `www.`), when it has one.
    pub fn domain_key(&self) -> Option<String> {
        self.domain.as_ref().map(|d| {
            let d = d.as_str().trim().to_ascii_lowercase();
            d.strip_prefix("www.").map_or(d.clone(), str::to_owned)
        })
    }

    /// The name as registrations are compared by it when a domain is
    /// missing (lower case, spaces collapsed).
    pub fn name_key(&self) -> String {
        self.name
            .as_str()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    /// Whether `other` is the same customer: by web domain when both have
    /// one, else by name.
    pub fn same_customer(&self, other: &Company) -> bool {
        match (self.domain_key(), other.domain_key()) {
            (Some(a), Some(b)) => a == b,
            _ => self.name_key() == other.name_key(),
        }
    }
}

/// A field a vendor asks for on every deal registration, beyond the form
/// every vendor shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealFieldSpec {
    /// The field's name in a registration's `fields` (1 to 64 visible
    /// ASCII characters).
    pub name: String,
    /// What the form calls it.
    pub label: Name,
    /// Whether a registration with this vendor must fill it in.
    #[serde(default)]
    pub required: bool,
}

/// The most fields a vendor asks for.
pub const MAX_DEAL_FIELDS: usize = 20;

/// Checks a vendor's field list: names valid and distinct, at most
/// [`MAX_DEAL_FIELDS`]. The error names the first problem.
pub fn check_deal_fields(fields: &[DealFieldSpec]) -> Result<(), String> {
    if fields.len() > MAX_DEAL_FIELDS {
        return Err(format!(
            "at most {MAX_DEAL_FIELDS} fields are accepted (got {})",
            fields.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in fields {
        if f.name.is_empty() || f.name.len() > 64 || !f.name.chars().all(|c| c.is_ascii_graphic()) {
            return Err(format!(
                "field name `{}` must be 1 to 64 visible ASCII characters",
                f.name.chars().take(64).collect::<String>()
            ));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(format!("field `{}` is named twice", f.name));
        }
    }
    Ok(())
}

/// The required fields of `specs` that `fields` leaves empty.
pub fn missing_fields<'a>(
    specs: &'a [DealFieldSpec],
    fields: &VendorFields,
) -> Vec<&'a DealFieldSpec> {
    specs
        .iter()
        .filter(|s| s.required)
        .filter(|s| {
            fields
                .as_map()
                .get(&s.name)
                .is_none_or(|v| v.trim().is_empty())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use rust_decimal::dec;

    fn registration() -> DealRegistration {
        let now = Utc::now();
        DealRegistration {
            id: DealRegistrationId::new(),
            workspace_id: WorkspaceId::new(),
            vendor_id: VendorId::new(),
            lead_id: None,
            details: DealDetails {
                title: Name::parse("Printers for Kesko").unwrap(),
                customer: Company {
                    name: Name::parse("Kesko").unwrap(),
                    domain: None,
                    country: None,
                },
                amount: Money::new(dec!(12000), Currency::EUR),
                products: vec![],
                fields: VendorFields::default(),
            },
            status: DealStatus::Submitted,
            reason: None,
            protection_expires_on: None,
            extra_discount: None,
            submitted_by: None,
            submitted_at: now,
            decided_at: None,
            updated_at: now,
        }
    }

    #[test]
    fn approval_protects_until_expiry_then_expires() {
        let now: DateTime<Utc> = "2026-03-01T10:00:00Z".parse().unwrap();
        let mut r = registration();
        let end: NaiveDate = "2026-06-01".parse().unwrap();
        let extra = Percent::new(dec!(5)).unwrap();
        r.decide(
            DealDecision::Approved {
                reason: None,
                protection_expires_on: end,
                extra_discount: Some(extra),
            },
            now,
        )
        .unwrap();
        assert_eq!(r.status_on(end), DealStatus::Approved);
        assert_eq!(r.active_extra_discount(end), Some(extra));
        let after = end.succ_opt().unwrap();
        assert_eq!(r.status_on(after), DealStatus::Expired);
        assert_eq!(r.active_extra_discount(after), None);
    }

    #[test]
    fn decided_registrations_cannot_be_decided_again() {
        let now = Utc::now();
        let mut r = registration();
        r.decide(
            DealDecision::Rejected {
                reason: LongText::parse("conflict").unwrap(),
            },
            now,
        )
        .unwrap();
        assert_eq!(r.reason.as_ref().map(LongText::as_str), Some("conflict"));
        let again = r.decide(
            DealDecision::Rejected {
                reason: LongText::parse("x").unwrap(),
            },
            now,
        );
        assert_eq!(
            again,
            Err(DealDecisionError::NotSubmitted(DealStatus::Rejected))
        );
    }

    #[test]
    fn vendor_fields_are_bounded() {
        let ok: Result<VendorFields, _> = serde_json::from_str(r#"{"reseller_account":"R-1"}"#);
        assert_eq!(ok.unwrap().as_map()["reseller_account"], "R-1");
        let bad_name: Result<VendorFields, _> = serde_json::from_str(r#"{"":"x"}"#);
        assert!(bad_name.is_err());
        let many: BTreeMap<String, String> =
            (0..51).map(|i| (format!("f{i}"), String::new())).collect();
        assert_eq!(
            VendorFields::try_from(many),
            Err(VendorFieldsError::TooMany { max: 50, got: 51 })
        );
        let long = BTreeMap::from([("notes".to_owned(), "x".repeat(2001))]);
        assert!(VendorFields::try_from(long).is_err());
    }

    #[test]
    fn protection_must_end_in_the_future() {
        let now: DateTime<Utc> = "2026-03-01T10:00:00Z".parse().unwrap();
        let mut r = registration();
        let err = r.decide(
            DealDecision::Approved {
                reason: None,
                protection_expires_on: "2026-03-01".parse().unwrap(),
                extra_discount: None,
            },
            now,
        );
        assert!(matches!(err, Err(DealDecisionError::ExpiryInPast { .. })));
        assert_eq!(r.status, DealStatus::Submitted);
    }

    #[test]
    fn a_vendors_fields_are_checked_and_required_ones_found_missing() {
        let spec = |name: &str, required| DealFieldSpec {
            name: name.into(),
            label: Name::parse("Label").unwrap(),
            required,
        };
        assert!(check_deal_fields(&[spec("reseller_id", true), spec("po", false)]).is_ok());
        assert!(
            check_deal_fields(&[spec("a b", true)])
                .unwrap_err()
                .contains("a b")
        );
        assert!(
            check_deal_fields(&[spec("x", true), spec("x", false)])
                .unwrap_err()
                .contains("twice")
        );
        let many: Vec<_> = (0..21).map(|i| spec(&format!("f{i}"), false)).collect();
        assert!(check_deal_fields(&many).is_err());
        let specs = [
            spec("reseller_id", true),
            spec("po", false),
            spec("region", true),
        ];
        let filled = VendorFields::try_from(BTreeMap::from([
            ("reseller_id".to_owned(), "R-1".to_owned()),
            ("region".to_owned(), "  ".to_owned()),
        ]))
        .unwrap();
        let missing: Vec<&str> = missing_fields(&specs, &filled)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            missing,
            ["region"],
            "blank counts as missing, optional ones never do"
        );
    }
}
