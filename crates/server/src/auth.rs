//! Who is calling: vendor API clients and their access tokens, partner tokens.

pub mod caller;
pub mod credentials;
pub mod jwt;
pub mod keys;
