//! Connections: a workspace's vendor sources and CRM sinks, their runs,
//! "sync now", CSV uploads, and the OAuth connect flow for CRMs.
//!
//! Credentials are sealed with the workspace, connection and field as
//! associated data before they are stored, and never returned. The connect
//! flow itself is [`crate::services::connections`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use onepane_connector::Credentials;
use onepane_domain::text::Name;
use onepane_domain::workspace::{Connection, ConnectionStatus, ConnectionTarget};
use onepane_domain::{ConnectionId, JobId, VendorId};
use onepane_store::SyncRun;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::caller::PartnerCaller;
use crate::http::error::{ApiError, FieldError};
use crate::http::json::ApiJson;
use crate::http::openapi::{
    BadRequest, Conflict, NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType,
};
use crate::http::params::{ApiPath, ApiPaths};
use crate::services::connections::{self, ProviderAnswer};
use crate::state::AppState;

/// A connection as the partner sees it (never its secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    /// Its id.
    id: ConnectionId,
    /// `vendor-source` or `crm-sink`.
    purpose: String,
    /// The vendor a source pulls from.
    vendor_id: Option<VendorId>,
    /// The connector kind.
    connector: String,
    /// Its name.
    name: Name,
    /// The cron expression it runs on (a default when it names none).
    schedule: String,
    /// `active`, `paused`, `needs-reauthorization` or `failing`.
    status: String,
    /// Non-secret settings.
    #[schema(value_type = Object)]
    settings: serde_json::Value,
    /// When it was created.
    created_at: DateTime<Utc>,
}

impl From<Connection> for ConnectionView {
    fn from(c: Connection) -> Self {
        Self {
            schedule: onepane_sync::cron_for(&c),
            id: c.id,
            purpose: c.target.purpose().to_owned(),
            vendor_id: c.target.vendor_id(),
            connector: c.connector.as_str().to_owned(),
            name: c.name,
            status: c.status.as_str().to_owned(),
            settings: c.settings,
            created_at: c.created_at,
        }
    }
}

/// List the workspace's connections.
#[utoipa::path(
    get, path = "/api/v1/connections", operation_id = "partner_connections",
    tag = "Partner: connections", security(("bearer" = [])),
    responses((status = 200, description = "The connections.", body = Vec<ConnectionView>))
)]
pub async fn connections(
    State(state): State<AppState>,
    caller: PartnerCaller,
) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    let all = state
        .store
        .partner(caller.workspace_id)
        .connections()
        .await?;
    Ok(Json(all.into_iter().map(ConnectionView::from).collect()))
}

/// A new connection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    /// `{"purpose": "vendor-source", "vendor_id": ...}` or `{"purpose": "crm-sink"}`.
    #[schema(value_type = Object)]
    target: ConnectionTarget,
    /// `rest`, `csv`, `hubspot`, `salesforce` or `webhook`.
    connector: Name,
    /// A name the partner recognises.
    name: Name,
    /// A cron expression (five fields, or six with seconds first); default
    /// every 15 minutes for sources, every minute for sinks.
    #[serde(default)]
    schedule: Option<String>,
    /// The connector's settings (a manifest, a column mapping, a URL, ...).
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: serde_json::Value,
    /// Credentials (`{"type": "api_key" | "bearer" | "basic" |
    /// "oauth2_client_credentials" | "oauth2_authorization_code" |
    /// "aws_access_key", ...}`);
    /// stored sealed and never shown again.
    #[serde(default)]
    #[schema(schema_with = credentials_schema)]
    credentials: Option<Credentials>,
}

/// The credentials object: its `type` is required and names the kind; the
/// other fields are the kind's (see the connector's documentation).
fn credentials_schema() -> utoipa::openapi::schema::ObjectBuilder {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([
                    "none",
                    "api_key",
                    "bearer",
                    "basic",
                    "oauth2_client_credentials",
                    "oauth2_authorization_code",
                    "aws_access_key",
                ])),
        )
        .required("type")
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
}

/// A connection just made.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedConnection {
    /// The connection.
    connection: ConnectionView,
    /// For a webhook sink: the secret its requests are signed with, shown
    /// this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
}

/// Add a connection.
///
/// Checks the connector's settings, schedule and credentials before
/// storing anything.
#[utoipa::path(
    post, path = "/api/v1/connections", operation_id = "partner_create_connection",
    tag = "Partner: connections", security(("bearer" = [])),
    request_body = CreateConnection,
    responses(
        (status = 201, description = "The connection.", body = CreatedConnection),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn create_connection(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiJson(body): ApiJson<CreateConnection>,
) -> Result<(StatusCode, Json<CreatedConnection>), ApiError> {
    let created = connections::create(
        &state,
        caller.workspace_id,
        caller.user_id,
        connections::ConnectionRequest {
            target: body.target,
            connector: body.connector,
            name: body.name,
            schedule: body.schedule,
            settings: body.settings,
            credentials: body.credentials.unwrap_or(Credentials::None),
        },
        "api",
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedConnection {
            connection: created.connection.into(),
            signing_secret: created.signing_secret,
        }),
    ))
}

/// Delete a connection.
///
/// For owners and admins. Its credentials, jobs, runs and CRM pushes go
/// with it; what it synced (leads, campaigns, prices, ...) stays the
/// workspace's. Refused with 409 while one of its runs is under way: pause
/// it and delete it when the run has ended. Recorded in the audit log.
#[utoipa::path(
    delete, path = "/api/v1/connections/{id}", operation_id = "partner_delete_connection",
    tag = "Partner: connections", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 403, description = "The member is not an owner or admin."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn delete_connection(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    super::partner::administrator(&store, &caller).await?;
    connections::delete(&state, caller.workspace_id, caller.user_id, id, "api").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A job asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Its id.
    id: JobId,
    /// `sync` (a source) or `push` (a sink).
    kind: String,
    /// `pending` until a worker takes it.
    status: String,
}

/// Run a connection now.
///
/// Queues a sync (a source) or a push (a CRM sink); a worker takes it at
/// once. Follow it with the connection's runs.
#[utoipa::path(
    post, path = "/api/v1/connections/{id}/sync", operation_id = "partner_sync_connection",
    tag = "Partner: connections", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection.")),
    responses(
        (status = 202, description = "The job queued.", body = JobView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn sync_now(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let job = connections::request_sync(&state, caller.workspace_id, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(JobView {
            id: job.id,
            kind: job.kind,
            status: job.status.as_str().to_owned(),
        }),
    ))
}

/// A job of a connection: one scheduled tick or one "sync now".
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    /// Its id.
    id: JobId,
    /// `sync` or `push`.
    kind: String,
    /// The tick it was scheduled for (or when it was asked for).
    scheduled_for: DateTime<Utc>,
    /// `pending`, `running`, `succeeded` or `dead`.
    status: String,
    /// Attempts started.
    attempts: u32,
    /// Attempts allowed.
    max_attempts: u32,
    /// When it is due (again).
    run_after: DateTime<Utc>,
    /// Why the last attempt failed.
    last_error: Option<String>,
}

impl From<onepane_store::Job> for JobDetail {
    fn from(j: onepane_store::Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            scheduled_for: j.scheduled_for,
            status: j.status.as_str().to_owned(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_after: j.run_after,
            last_error: j.last_error,
        }
    }
}

/// A connection's jobs, newest first (the last 200): a dead one shows why.
#[utoipa::path(
    get, path = "/api/v1/connections/{id}/jobs", operation_id = "partner_connection_jobs",
    tag = "Partner: connections", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection.")),
    responses(
        (status = 200, description = "The jobs.", body = Vec<JobDetail>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn jobs(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<Vec<JobDetail>>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    store.connection(id).await?;
    let jobs = store.jobs(id).await?;
    Ok(Json(jobs.into_iter().map(JobDetail::from).collect()))
}

/// Retry a dead job now, its attempts counted afresh.
#[utoipa::path(
    post, path = "/api/v1/connections/{id}/jobs/{job_id}/retry", operation_id = "partner_retry_job",
    tag = "Partner: connections", security(("bearer" = [])),
    params(
        ("id" = ConnectionId, Path, description = "The connection."),
        ("job_id" = JobId, Path, description = "The dead job."),
    ),
    responses(
        (status = 200, description = "The job, pending again.", body = JobDetail),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn retry_job(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPaths(id, job_id): ApiPaths<ConnectionId, JobId>,
) -> Result<Json<JobDetail>, ApiError> {
    // The connection through the partner's scope first: the job is looked
    // for only under a connection of this workspace.
    state
        .store
        .partner(caller.workspace_id)
        .connection(id)
        .await?;
    let job = state
        .store
        .system()
        .retry_dead_job(caller.workspace_id, id, job_id)
        .await?;
    Ok(Json(job.into()))
}

/// A run of a connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    /// Its id.
    #[schema(value_type = String)]
    id: uuid::Uuid,
    /// The job it ran for.
    job_id: Option<JobId>,
    /// `sync` or `push`.
    kind: String,
    /// `running`, `succeeded` or `failed`.
    status: String,
    /// When it started.
    started_at: DateTime<Utc>,
    /// When it ended.
    finished_at: Option<DateTime<Utc>>,
    /// How long it took (so far), in milliseconds.
    duration_ms: i64,
    /// Records read (leads sent, for a push).
    read: u64,
    /// Records created (leads pushed, for a push).
    created: u64,
    /// Records updated.
    updated: u64,
    /// Records unchanged.
    unchanged: u64,
    /// Records deleted.
    deleted: u64,
    /// Records that failed.
    failed: u64,
    /// Records in all, when the source says.
    total: Option<u64>,
    /// What went wrong.
    errors: Vec<String>,
}

impl From<SyncRun> for RunView {
    fn from(r: SyncRun) -> Self {
        let end = r.finished_at.unwrap_or_else(Utc::now);
        Self {
            duration_ms: (end - r.started_at).num_milliseconds(),
            id: r.id,
            job_id: r.job_id,
            kind: r.kind,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            read: r.read,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            deleted: r.deleted,
            failed: r.failed,
            total: r.total,
            errors: r.errors,
        }
    }
}

/// A connection's runs, newest first (the last 50).
#[utoipa::path(
    get, path = "/api/v1/connections/{id}/runs", operation_id = "partner_connection_runs",
    tag = "Partner: connections", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection.")),
    responses(
        (status = 200, description = "The runs.", body = Vec<RunView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn runs(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let store = state.store.partner(caller.workspace_id);
    store.connection(id).await?;
    let runs = store.sync_runs(id, 50).await?;
    Ok(Json(runs.into_iter().map(RunView::from).collect()))
}

/// Upload a CSV file to a `csv` connection.
///
/// The whole file or nothing: rows in error are listed by line number and
/// nothing is applied. Items missing from a new price-list file are
/// removed.
#[utoipa::path(
    post, path = "/api/v1/connections/{id}/upload", operation_id = "partner_upload_csv",
    tag = "Partner: connections", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection.")),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "The run that applied the file.", body = RunView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<ConnectionId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RunView>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::UnsupportedMediaType(
            "upload the file as text/csv".into(),
        ));
    }
    let connection = state
        .store
        .partner(caller.workspace_id)
        .connection(id)
        .await?;
    if connection.connector.as_str() != "csv" {
        return Err(ApiError::Unprocessable(
            "only `csv` connections take uploads".into(),
        ));
    }
    let run = state
        .engine
        .import_csv(&connection, &body)
        .await
        .map_err(|e| match e {
            onepane_sync::ImportError::Rows(rows) => ApiError::Invalid {
                detail: format!(
                    "{} rows of the file are in error; nothing was applied",
                    rows.len()
                ),
                errors: rows
                    .into_iter()
                    .take(100)
                    .map(|r| FieldError {
                        pointer: r.at,
                        detail: r.message,
                    })
                    .collect(),
            },
            onepane_sync::ImportError::Run(e @ onepane_sync::RunError::Busy { .. }) => {
                ApiError::Conflict(e.to_string())
            }
            onepane_sync::ImportError::Run(e) => ApiError::Unprocessable(e.to_string()),
        })?;
    Ok(Json(run.into()))
}

/// Start connecting a CRM: redirects to the provider's authorization page
/// (state and PKCE), which sends the browser back to
/// `/oauth/connections/callback`.
#[utoipa::path(
    get, path = "/api/v1/connections/{id}/authorize", operation_id = "partner_authorize_connection",
    tag = "Partner: connections", security(("bearer" = [])),
    params(("id" = ConnectionId, Path, description = "The connection.")),
    responses(
        (status = 303, description = "To the provider's authorization page."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn authorize(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<Response, ApiError> {
    let url = connections::start_authorization(&state, caller.workspace_id, id).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// What the provider sends the browser back with. Unknown parameters are
/// let through: providers add their own (`scope`, `session_state`, ...).
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The connection, authorized.
#[derive(Debug, Serialize, ToSchema)]
pub struct Authorized {
    /// The connection.
    connection_id: ConnectionId,
    /// `active`.
    status: String,
}

/// Where the provider sends the browser back: checks the state (once, in
/// time, for the workspace and connection it was issued for), exchanges
/// the code with the PKCE verifier and stores the tokens sealed.
#[utoipa::path(
    get, path = "/oauth/connections/callback", operation_id = "oauth_connection_callback",
    tag = "Partner: connections",
    params(
        ("code" = Option<String>, Query, description = "The authorization code."),
        ("state" = Option<String>, Query, description = "The state sent."),
        ("error" = Option<String>, Query, description = "The provider's refusal."),
    ),
    responses(
        (status = 200, description = "The connection is authorized.", body = Authorized),
        (status = 303, description = "The connection is authorized; a browser (`Accept: text/html`) is sent to the portal's connections page."),
        (status = 400, response = BadRequest),
        (status = 422, response = Unprocessable),
    )
)]
pub async fn oauth_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Result<Response, ApiError> {
    let answer = ProviderAnswer {
        code: query.code,
        state: query.state,
        error: query.error,
        error_description: query.error_description,
    };
    let connection = connections::complete_authorization(&state, answer).await?;
    // A person in a browser goes back to the portal's connections page.
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if browser {
        return Ok(
            Redirect::to(&format!("/connections?connected={}", connection.id)).into_response(),
        );
    }
    Ok(Json(Authorized {
        connection_id: connection.id,
        status: ConnectionStatus::Active.as_str().to_owned(),
    })
    .into_response())
}
