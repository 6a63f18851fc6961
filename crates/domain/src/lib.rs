//! Onepane's domain: identifiers, money and the margin engine, the entities of
//! a partner's single pane and their state machines, and input types that
//! parse rather than validate. No I/O lives here.

pub mod activity;
pub mod campaign;
pub mod clock;
pub mod deal;
pub mod delivery;
pub mod ids;
pub mod lead;
pub mod mail;
pub mod margin;
pub mod money;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod price;
pub mod privacy;
pub mod program;
pub mod record;
pub mod scorecard;
pub mod text;
pub mod workspace;

pub use ids::*;
pub use money::{Currency, Money};
pub use program::{LinkStatus, PartnerType, Role, Tier, VendorKind};
