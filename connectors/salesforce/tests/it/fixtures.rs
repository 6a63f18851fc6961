//! Connections and tokens for the tests; the doubles every connector
//! shares (leads, the token store, OAuth connections) are
//! onepane-connector's `testkit`.

use chrono::Utc;
use onepane_connector::credentials::Secret;
use onepane_connector::oauth::TokenSet;
use onepane_connector::{Io, testkit};

/// A connection with a fixed bearer token.
pub fn bearer_io() -> Io {
    testkit::bearer_io("00Dxx0000001gPL!session")
}

/// Tokens as the code exchange left them. Salesforce gives no expiry, so
/// the token is used until refused; `instance_url` as the exchange said.
pub fn tokens(access: &str, refresh: &str, instance_url: Option<&str>) -> TokenSet {
    TokenSet {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        expires_at: None,
        extra: instance_url
            .map(|u| [("instance_url".to_owned(), u.to_owned())].into())
            .unwrap_or_default(),
    }
}

/// Tokens whose access token has expired.
pub fn expired_tokens(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        expires_at: Some(Utc::now() - chrono::Duration::minutes(5)),
        ..tokens(access, refresh, None)
    }
}
