//! Partner-program vocabulary: tiers, routes to market, link status, roles.

use serde::{Deserialize, Serialize};

/// A word that is not one of an enumeration's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {what}; expected one of: {expected}")]
pub struct UnknownVariant {
    pub(crate) what: &'static str,
    pub(crate) input: String,
    pub(crate) expected: String,
}

macro_rules! spelled_enum {
    ($(#[doc = $doc:literal])* $name:ident, $what:literal { $($(#[doc = $vdoc:literal])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[doc = $vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling (used in the CLI, the API and storage).
            pub const fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::program::UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
                match wanted.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::program::UnknownVariant {
                        what: $what,
                        input: s.to_owned(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::spelled_schema(&[$($doc),*], &[$(($text, &[$($vdoc),*])),+])
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}
pub(crate) use spelled_enum;

spelled_enum!(
    /// A partner's program tier with a vendor, lowest to highest.
    Tier, "tier" {
        /// Entry level, free, limited benefits.
        Registered => "registered",
        /// Second tier.
        Silver => "silver",
        /// Third tier.
        Gold => "gold",
        /// Highest tier.
        Platinum => "platinum",
    }
);

spelled_enum!(
    /// A partner's route to market with a vendor.
    PartnerType, "partner type" {
        /// Agent.
        Agent => "agent",
        /// Concessionaire.
        Concessionaire => "concessionaire",
        /// Document technology partner.
        DocumentTechnologyPartner => "document-technology-partner",
        /// Solution provider.
        SolutionProvider => "solution-provider",
        /// Volume partner.
        VolumePartner => "volume-partner",
        /// Distributor (two-tier distribution).
        Distributor => "distributor",
        /// Value-added reseller.
        Var => "var",
        /// Managed service provider.
        Msp => "msp",
    }
);

spelled_enum!(
    /// The state of the relationship between a workspace and a vendor.
    LinkStatus, "link status" {
        /// The vendor invited the partner; nothing flows yet.
        Invited => "invited",
        /// Data flows both ways.
        Active => "active",
        /// The partner paused it: the vendor reaches nothing in the
        /// workspace until the partner resumes; its content stays, greyed.
        Paused => "paused",
        /// The relationship ended; history stays with the partner.
        Ended => "ended",
    }
);

spelled_enum!(
    /// What kind of organization publishes to partners.
    VendorKind, "vendor kind" {
        /// A vendor (manufacturer, software maker).
        Vendor => "vendor",
        /// A distributor carrying several brands.
        Distributor => "distributor",
    }
);

spelled_enum!(
    /// A member's role in a workspace.
    Role, "role" {
        /// Owns the workspace; can do everything.
        Owner => "owner",
        /// Manages settings, members and connections.
        Admin => "admin",
        /// Works leads, deals and campaigns.
        SalesRep => "sales-rep",
    }
);

impl Role {
    /// Whether this role may change workspace settings and members.
    pub fn can_administer(&self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_ordered_lowest_to_highest() {
        assert!(Tier::Registered < Tier::Silver);
        assert!(Tier::Silver < Tier::Gold);
        assert!(Tier::Gold < Tier::Platinum);
    }

    #[test]
    fn spellings_round_trip() {
        for t in PartnerType::ALL {
            assert_eq!(t.as_str().parse::<PartnerType>(), Ok(*t));
        }
        assert_eq!(
            "Document_Technology_Partner".parse::<PartnerType>(),
            Ok(PartnerType::DocumentTechnologyPartner)
        );
    }

    #[test]
    fn unknown_spelling_lists_the_valid_ones() {
        let err = "diamond".parse::<Tier>().unwrap_err().to_string();
        assert_eq!(
            err,
            "`diamond` is not a valid tier; expected one of: registered, silver, gold, platinum"
        );
    }
}
