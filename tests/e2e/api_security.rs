//! Attacks on the API: tokens and cross-tenant access.
