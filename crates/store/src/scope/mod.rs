//! The scopes: who a unit of work acts for. Each scope type composes the
//! table modules in [`crate::tables`]; no scope reaches into another's.

pub(crate) mod operator;
pub(crate) mod partner;
pub(crate) mod system;
pub(crate) mod vendor;
