//! Acting on a workspace's connections: asking for a sync now, deleting
//! one, and the OAuth connect flow for CRMs (start it, finish it when the
//! provider sends the browser back). The JSON API and the portal both call
//! these.
//!
//! The connect flow's state is 256 random bits, kept as a digest with the
//! sealed PKCE verifier, bound to the workspace and connection, good for 10
//! minutes and once.

use chrono::Utc;
use onepane_connector::oauth::{OAuthApp, authorization};
use onepane_connector::{Credentials, Secret};
use onepane_domain::activity::{Actor, AuditAccess, AuditEvent};
use onepane_domain::text::Name;
use onepane_domain::workspace::{Connection, ConnectionStatus, ConnectionTarget, NewConnection};
use onepane_domain::{ConnectionId, UserId, WorkspaceId};
use onepane_store::{Job, StoreError};
use onepane_sync::{Connector, JOB_ATTEMPTS, secret_context};

use crate::auth::credentials::token_digest;
use crate::state::AppState;

/// How long a started authorization may take.
const AUTHORIZE_FOR: chrono::Duration = chrono::Duration::minutes(10);

/// Why an action on a connection did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The store refused or failed (not found, not linked, unavailable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The connection is paused.
    #[error("the connection is paused")]
    Paused,
    /// The request back from the provider is missing something or is not
    /// one this server started.
    #[error("{0}")]
    BadCallback(&'static str),
    /// The connection or the provider's answer does not allow it.
    #[error("{0}")]
    Unprocessable(String),
    /// A new connection's field is wrong: where (a JSON pointer into the
    /// API's body) and why.
    #[error("{detail}")]
    Invalid {
        /// `#/settings`, `#/schedule`, `#/credentials`, `#/connector`, ...
        pointer: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Something failed on our side.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> ConnectionError {
    ConnectionError::Internal(Box::new(e))
}

/// A connection to make, as the API's body or the portal's form says it.
#[derive(Debug)]
pub struct ConnectionRequest {
    /// A vendor's source or the CRM.
    pub target: ConnectionTarget,
    /// The connector's name.
    pub connector: Name,
    /// A name the partner recognises.
    pub name: Name,
    /// A cron expression, or the default.
    pub schedule: Option<String>,
    /// The connector's settings.
    pub settings: serde_json::Value,
    /// The credentials, sealed before they are stored.
    pub credentials: Credentials,
}

/// A connection just made.
#[derive(Debug)]
pub struct Created {
    /// The connection.
    pub connection: Connection,
    /// A webhook sink's signing secret, shown this once.
    pub signing_secret: Option<String>,
}

fn invalid(pointer: &'static str, detail: impl ToString) -> ConnectionError {
    ConnectionError::Invalid {
        pointer,
        detail: detail.to_string(),
    }
}

/// Makes a connection for `by` in workspace `ws`: the connector's settings,
/// schedule and credentials are checked before anything is stored, the
/// credentials (and a webhook sink's new signing secret) are sealed, and
/// the making is recorded in the access log, saying `through` what.
pub async fn create(
    state: &AppState,
    ws: WorkspaceId,
    by: UserId,
    request: ConnectionRequest,
    through: &str,
) -> Result<Created, ConnectionError> {
    let id = ConnectionId::new();
    let settings = if request.settings.is_null() {
        serde_json::json!({})
    } else {
        request.settings
    };
    let draft = Connection {
        id,
        workspace_id: ws,
        target: request.target,
        connector: request.connector.clone(),
        name: request.name.clone(),
        schedule: request.schedule.clone(),
        status: ConnectionStatus::Active,
        settings: settings.clone(),
        created_at: Utc::now(),
    };
    let kind =
        Connector::named(request.connector.as_str()).map_err(|e| invalid("#/connector", e))?;
    // A file on the server is the operator's to name: a partner could
    // otherwise read any file the server can.
    if kind == Connector::Csv && settings.get("path").is_some() {
        return Err(invalid(
            "#/settings/path",
            "a csv connection made by a partner takes uploads; a file path is set by the operator",
        ));
    }
    let registry = state.engine.registry();
    registry
        .check(&draft)
        .map_err(|e| invalid("#/settings", e))?;
    if let Some(schedule) = &request.schedule {
        onepane_sync::check_schedule(&onepane_sync::cron_for(&draft))
            .map_err(|e| invalid("#/schedule", format!("`{schedule}`: {e}")))?;
    }
    let credentials = request.credentials;
    registry
        .check_credentials(&draft, &credentials)
        .map_err(|e| invalid("#/credentials", e))?;
    let mut secrets = Vec::new();
    if !matches!(credentials, Credentials::None) {
        let plain = serde_json::to_vec(&credentials).map_err(internal)?;
        secrets.push(("credentials", seal(state, &draft, "credentials", &plain)?));
    }
    let signing_secret = if kind == Connector::Webhook {
        let secret = crate::webhooks::generate_secret().map_err(internal)?;
        secrets.push((
            "signing_secret",
            seal(state, &draft, "signing_secret", secret.as_bytes())?,
        ));
        Some(secret)
    } else {
        None
    };
    let new = NewConnection {
        target: request.target,
        connector: request.connector,
        name: request.name,
        schedule: request.schedule,
        settings,
    };
    let store = state.store.partner(ws);
    let connection = store.create_connection_with(id, &new, &secrets).await?;
    store
        .record(
            AuditEvent::new(
                ws,
                Actor::User(by),
                "connection.created",
                AuditAccess::Write,
            )
            .about("connection", connection.id)
            .with_detail(serde_json::json!({
                "connector": connection.connector.as_str(),
                "through": through,
            })),
        )
        .await?;
    Ok(Created {
        connection,
        signing_secret,
    })
}

/// Puts a "sync now" job of a workspace's connection in line: a sync for a
/// source, a push for a CRM.
pub async fn request_sync(
    state: &AppState,
    ws: WorkspaceId,
    id: ConnectionId,
) -> Result<Job, ConnectionError> {
    let store = state.store.partner(ws);
    let connection = store.connection(id).await?;
    if connection.status == ConnectionStatus::Paused {
        return Err(ConnectionError::Paused);
    }
    let kind = if connection.target.vendor_id().is_some() {
        "sync"
    } else {
        "push"
    };
    Ok(store.request_job(id, kind, JOB_ATTEMPTS).await?)
}

/// Deletes a workspace's connection for `by` (the caller checks that `by`
/// may), recorded in the audit log saying `through` what. Its secrets,
/// jobs, runs and CRM pushes go with it; what it synced stays the
/// workspace's. A conflict while one of its runs is under way.
pub async fn delete(
    state: &AppState,
    ws: WorkspaceId,
    by: UserId,
    id: ConnectionId,
    through: &str,
) -> Result<Connection, ConnectionError> {
    Ok(state
        .store
        .partner(ws)
        .delete_connection(id, by, through)
        .await?)
}

/// Starts authorizing a workspace's connection with its provider: the
/// state and PKCE verifier are kept, the provider's address returned.
pub async fn start_authorization(
    state: &AppState,
    ws: WorkspaceId,
    id: ConnectionId,
) -> Result<url::Url, ConnectionError> {
    let store = state.store.partner(ws);
    let connection = store.connection(id).await?;
    let app = oauth_app(state, &connection).await?;
    let redirect = url::Url::parse(&format!("{}/oauth/connections/callback", state.public_base))
        .map_err(internal)?;
    let started = authorization(&app, &redirect)
        .map_err(|e| ConnectionError::Unprocessable(e.to_string()))?;
    let sealed_verifier = seal(
        state,
        &connection,
        "pkce",
        started.verifier.expose().as_bytes(),
    )?;
    store
        .start_oauth(
            id,
            &token_digest(started.state.expose()),
            &sealed_verifier,
            redirect.as_str(),
            Utc::now() + AUTHORIZE_FOR,
        )
        .await?;
    Ok(started.url)
}

/// What the provider sends the browser back with.
#[derive(Debug, Default)]
pub struct ProviderAnswer {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent.
    pub state: Option<String>,
    /// The provider's refusal.
    pub error: Option<String>,
    /// The refusal's explanation.
    pub error_description: Option<String>,
}

/// Finishes an authorization: checks the state (once, in time, for the
/// workspace and connection it was issued for), exchanges the code with
/// the PKCE verifier, stores the tokens sealed and marks the connection
/// active.
pub async fn complete_authorization(
    state: &AppState,
    answer: ProviderAnswer,
) -> Result<Connection, ConnectionError> {
    let Some(sent) = answer.state.filter(|s| !s.is_empty()) else {
        return Err(ConnectionError::BadCallback("the state is missing"));
    };
    let system = state.store.system();
    let Some(pending) = system.take_oauth_state(&token_digest(&sent)).await? else {
        return Err(ConnectionError::BadCallback(
            "this authorization is unknown, used or expired; start again",
        ));
    };
    if let Some(error) = answer.error {
        return Err(ConnectionError::Unprocessable(format!(
            "the provider refused: {error}{}",
            answer
                .error_description
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )));
    }
    let Some(code) = answer.code.filter(|c| !c.is_empty()) else {
        return Err(ConnectionError::BadCallback("the code is missing"));
    };
    let connection = system
        .connection(pending.workspace_id, pending.connection_id)
        .await?;
    let verifier = state
        .sealer
        .open(
            &secret_context(connection.workspace_id, connection.id, "pkce"),
            &pending.sealed_verifier,
        )
        .map_err(internal)?;
    let verifier = Secret::new(String::from_utf8_lossy(&verifier).into_owned());
    let app = oauth_app(state, &connection).await?;
    let redirect = url::Url::parse(&pending.redirect_uri).map_err(internal)?;
    let tokens = state
        .engine
        .token_client()
        .exchange_code(&app, &redirect, &code, &verifier)
        .await
        .map_err(|e| ConnectionError::Unprocessable(format!("the code exchange failed: {e}")))?;
    let plain = serde_json::to_vec(&tokens).map_err(internal)?;
    let sealed = seal(state, &connection, "tokens", &plain)?;
    state
        .store
        .partner(connection.workspace_id)
        .put_connection_secret(connection.id, "tokens", &sealed)
        .await?;
    system
        .set_connection_status(
            connection.workspace_id,
            connection.id,
            ConnectionStatus::Active,
            "",
        )
        .await?;
    Ok(connection)
}

/// Seals a connection's secret field, bound to its workspace, connection
/// and field.
pub fn seal(
    state: &AppState,
    conn: &Connection,
    field: &str,
    plain: &[u8],
) -> Result<Vec<u8>, ConnectionError> {
    state
        .sealer
        .seal(&secret_context(conn.workspace_id, conn.id, field), plain)
        .map_err(internal)
}

async fn oauth_app(state: &AppState, connection: &Connection) -> Result<OAuthApp, ConnectionError> {
    let credentials = state
        .engine
        .credentials(connection)
        .await
        .map_err(|e| ConnectionError::Unprocessable(e.to_string()))?;
    match credentials {
        Credentials::Oauth2AuthorizationCode { .. } => OAuthApp::from_credentials(&credentials)
            .ok_or_else(|| ConnectionError::Unprocessable("unusable credentials".into())),
        other => Err(ConnectionError::Unprocessable(format!(
            "the connection's credentials are `{}`, not `oauth2_authorization_code`: there is nothing to authorize",
            other.kind()
        ))),
    }
}

/// The connection that takes the workspace's deal registrations to
/// `vendor`'s own system, if any: the first of its sources for that vendor
/// whose connector registers deals (a `rest` manifest with a
/// `register_deal` action, AWS Partner Central). Without one, the vendor
/// reads registrations on Onepane's connector API.
pub fn deal_route<'a>(
    state: &AppState,
    connections: &'a [Connection],
    vendor: onepane_domain::VendorId,
) -> Option<&'a Connection> {
    connections.iter().find(|c| {
        c.target.vendor_id() == Some(vendor)
            && c.status != ConnectionStatus::Paused
            && state
                .engine
                .registry()
                .source(c)
                .is_ok_and(|s| s.registers_deals())
    })
}
