//! Who is calling: vendor API clients and their access tokens, partner
//! tokens, and sign-in through workspaces' OpenID Connect providers.

pub mod credentials;
pub mod jwt;
pub mod keys;
pub mod oidc;
