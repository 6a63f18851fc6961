//! Test doubles for connectors' tests, behind the `testkit` feature: a
//! token store in memory, connections to local fakes, and leads to push.
//! Connector crates enable it in their `[dev-dependencies]` only, so none of
//! this is ever built into the product.
//!
//! A double that cannot be made panics: it fails the test that asked for
//! it, which is what a test wants, and what it parses is fixed here.
#![allow(clippy::expect_used)]

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use onepane_domain::ids::{LeadId, WorkspaceId};
use onepane_domain::lead::{Company, Contact, Lead, LeadSource, LeadStatus};
use onepane_domain::text::{CountryCode, Email, LongText, Name};

use crate::credentials::{Credentials, Secret};
use crate::http::{ClientConfig, HttpClient};
use crate::io::{BoxFuture, ConnectorError, Io};
use crate::net::AddressPolicy;
use crate::oauth::{OAuthAuthorizer, StoredTokens, TokenClient, TokenSet, TokenStore};
use crate::sink::LeadPush;

/// An address policy that lets loopback through, where local fakes listen.
pub fn loopback() -> AddressPolicy {
    AddressPolicy::new(vec!["127.0.0.0/8".parse().expect("a loopback network")])
}

/// The shared client with loopback allowed and tiny backoffs, so retries
/// do not slow the tests.
pub fn loopback_client() -> HttpClient {
    HttpClient::new(ClientConfig {
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_secs(2),
        max_response_bytes: 1024 * 1024,
        addresses: loopback(),
    })
    .expect("a loopback client")
}

/// A connection with a fixed bearer `token`.
pub fn bearer_io(token: &str) -> Io {
    let credentials = Credentials::Bearer {
        token: Secret::new(token),
    };
    let auth = credentials
        .static_authorizer()
        .expect("bearer credentials")
        .expect("a static authorizer");
    Io::new(loopback_client(), None, auth)
}

/// A connection authorized with OAuth (authorization code) against
/// `token_url`, its tokens kept in `store`.
pub fn oauth_io(
    auth_url: &str,
    token_url: &str,
    scopes: &[&str],
    store: Arc<dyn TokenStore>,
) -> Io {
    let credentials = Credentials::Oauth2AuthorizationCode {
        auth_url: auth_url.parse().expect("an authorization URL"),
        token_url: token_url.parse().expect("a token URL"),
        client_id: "onepane-app".into(),
        client_secret: Some(Secret::new("app-secret")),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    };
    let client = TokenClient::new(loopback(), Duration::from_secs(5)).expect("a token client");
    let authorizer = OAuthAuthorizer::new(&credentials, client, store)
        .expect("OAuth credentials")
        .with_wait(Duration::from_secs(5));
    Io::new(loopback_client(), None, Arc::new(authorizer))
}

/// A lead as Onepane holds it, with its vendor's name; `n` makes its
/// contact distinct.
pub fn lead(n: usize) -> LeadPush {
    let now = Utc::now();
    let name = |s: &str| Name::parse(s).expect("a name");
    LeadPush {
        lead: Lead {
            id: LeadId::new(),
            workspace_id: WorkspaceId::new(),
            vendor_id: None,
            campaign_id: None,
            activation_id: None,
            external_id: None,
            source: LeadSource::Campaign,
            status: LeadStatus::New,
            contact: Contact {
                name: name(&format!("Ada{n} King Lovelace")),
                email: Some(Email::parse(&format!("ada{n}@example.com")).expect("an email")),
                phone: Some(name("+358 40 123 4567")),
                title: Some(name("Head of IT")),
            },
            company: Some(Company {
                name: name("Analytical Engines Oy"),
                domain: Some(name("engines.example")),
                country: Some(CountryCode::parse("fi").expect("a country")),
            }),
            message: Some(LongText::parse("Needs 40 laptops by May.").expect("a message")),
            respond_by: None,
            shared_with_vendor_at: None,
            consent: None,
            created_at: now,
            updated_at: now,
        },
        vendor: Some("Lenovo".into()),
    }
}

/// `count` distinct leads.
pub fn leads(count: usize) -> Vec<LeadPush> {
    (0..count).map(lead).collect()
}

/// Tokens kept in memory, with the claim a database store would keep, so
/// that one renewal among concurrent callers can be tested.
#[derive(Debug, Default)]
pub struct MemoryTokens {
    state: Mutex<TokenState>,
}

#[derive(Debug, Default)]
struct TokenState {
    stored: Option<StoredTokens>,
    claimed: Option<i64>,
    refused: Option<String>,
}

impl MemoryTokens {
    /// A store holding `tokens` as version 1.
    pub fn holding(tokens: TokenSet) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(TokenState {
                stored: Some(StoredTokens { tokens, version: 1 }),
                ..TokenState::default()
            }),
        })
    }

    /// The tokens stored now.
    pub fn current(&self) -> Option<StoredTokens> {
        self.state().stored.clone()
    }

    /// Why the provider refused the tokens, when it did.
    pub fn refused_reason(&self) -> Option<String> {
        self.state().refused.clone()
    }

    // A test that panicked while holding the lock has failed already; the
    // state is still worth reading.
    fn state(&self) -> MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStore for MemoryTokens {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredTokens>, ConnectorError>> {
        let stored = self.state().stored.clone();
        Box::pin(async move { Ok(stored) })
    }

    fn claim(&self, version: i64) -> BoxFuture<'_, Result<bool, ConnectorError>> {
        let mut state = self.state();
        let current = state.stored.as_ref().map_or(0, |t| t.version);
        let won = current == version && state.claimed.is_none();
        if won {
            state.claimed = Some(version);
        }
        Box::pin(async move { Ok(won) })
    }

    fn save<'a>(
        &'a self,
        version: i64,
        tokens: &'a TokenSet,
    ) -> BoxFuture<'a, Result<i64, ConnectorError>> {
        let mut state = self.state();
        let next = version + 1;
        state.stored = Some(StoredTokens {
            tokens: tokens.clone(),
            version: next,
        });
        state.claimed = None;
        Box::pin(async move { Ok(next) })
    }

    fn release(&self, _version: i64) -> BoxFuture<'_, Result<(), ConnectorError>> {
        self.state().claimed = None;
        Box::pin(async { Ok(()) })
    }

    fn refused<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>> {
        let mut state = self.state();
        state.claimed = None;
        state.refused = Some(reason.to_owned());
        Box::pin(async { Ok(()) })
    }
}
