//! Leads, deal registrations, connections and token stores for the tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use onepane_connector::LeadPush;
use onepane_connector::credentials::{Credentials, Secret};
use onepane_connector::oauth::{OAuthAuthorizer, StoredTokens, TokenClient, TokenSet, TokenStore};
use onepane_connector::{AddressPolicy, BoxFuture, ClientConfig, ConnectorError, HttpClient, Io};
use onepane_domain::ids::{LeadId, WorkspaceId};
use onepane_domain::lead::{Company, Contact, Lead, LeadSource, LeadStatus};
use onepane_domain::text::{CountryCode, Email, LongText, Name};

pub fn loopback() -> AddressPolicy {
    AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()])
}

/// The shared client with loopback allowed and tiny backoffs.
pub fn http() -> HttpClient {
    HttpClient::new(ClientConfig {
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_secs(2),
        max_response_bytes: 1024 * 1024,
        addresses: loopback(),
    })
    .unwrap()
}

/// A connection with a fixed bearer token.
pub fn bearer_io() -> Io {
    let credentials = Credentials::Bearer {
        token: Secret::new("00Dxx0000001gPL!session"),
    };
    Io::new(
        http(),
        None,
        credentials.static_authorizer().unwrap().unwrap(),
    )
}

/// A lead as Onepane holds it; `n` makes its contact distinct.
pub fn lead(n: usize) -> LeadPush {
    let now = Utc::now();
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
                name: Name::parse(&format!("Ada{n} King Lovelace")).unwrap(),
                email: Some(Email::parse(&format!("ada{n}@example.com")).unwrap()),
                phone: Some(Name::parse("+358 40 123 4567").unwrap()),
                title: Some(Name::parse("Head of IT").unwrap()),
            },
            company: Some(Company {
                name: Name::parse("Analytical Engines Oy").unwrap(),
                domain: Some(Name::parse("engines.example").unwrap()),
                country: Some(CountryCode::parse("fi").unwrap()),
            }),
            message: Some(LongText::parse("Needs 40 laptops by May.").unwrap()),
            respond_by: None,
            shared_with_vendor_at: None,
            created_at: now,
            updated_at: now,
        },
        vendor: Some("Lenovo".into()),
    }
}

pub fn leads(count: usize) -> Vec<LeadPush> {
    (0..count).map(lead).collect()
}

/// Tokens kept in memory, with the claim a database store would keep.
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
    pub fn holding(tokens: TokenSet) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(TokenState {
                stored: Some(StoredTokens { tokens, version: 1 }),
                ..TokenState::default()
            }),
        })
    }

    pub fn current(&self) -> Option<StoredTokens> {
        self.state.lock().unwrap().stored.clone()
    }

    pub fn refused_reason(&self) -> Option<String> {
        self.state.lock().unwrap().refused.clone()
    }
}

impl TokenStore for MemoryTokens {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredTokens>, ConnectorError>> {
        let stored = self.state.lock().unwrap().stored.clone();
        Box::pin(async move { Ok(stored) })
    }
    fn claim(&self, version: i64) -> BoxFuture<'_, Result<bool, ConnectorError>> {
        let mut state = self.state.lock().unwrap();
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
        let mut state = self.state.lock().unwrap();
        let next = version + 1;
        state.stored = Some(StoredTokens {
            tokens: tokens.clone(),
            version: next,
        });
        state.claimed = None;
        Box::pin(async move { Ok(next) })
    }
    fn release(&self, _version: i64) -> BoxFuture<'_, Result<(), ConnectorError>> {
        self.state.lock().unwrap().claimed = None;
        Box::pin(async { Ok(()) })
    }
    fn refused<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>> {
        let mut state = self.state.lock().unwrap();
        state.claimed = None;
        state.refused = Some(reason.to_owned());
        Box::pin(async { Ok(()) })
    }
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

/// A connection authorized with OAuth against `token_url`.
pub fn oauth_io(auth_url: &str, token_url: &str, scopes: &[&str], store: Arc<MemoryTokens>) -> Io {
    let credentials = Credentials::Oauth2AuthorizationCode {
        auth_url: auth_url.parse().unwrap(),
        token_url: token_url.parse().unwrap(),
        client_id: "onepane-app".into(),
        client_secret: Some(Secret::new("app-secret")),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    };
    let client = TokenClient::new(loopback(), Duration::from_secs(5)).unwrap();
    let authorizer = OAuthAuthorizer::new(&credentials, client, store)
        .unwrap()
        .with_wait(Duration::from_secs(5));
    Io::new(http(), None, Arc::new(authorizer))
}
