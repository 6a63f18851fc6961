//! Running one connection: a source sync or a push to a CRM sink.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use onepane_connector::oauth::{OAuthAuthorizer, TokenClient};
use onepane_connector::{
    BoxFuture, ClientConfig, ConnectorError, Credentials, DealPush, HttpClient, Io, LeadPush, Page,
    PageRequest, PushOutcome, RateLimit, RateLimiter, Record, RecordError, Source, SourceRecord,
    Stream, StreamSpec, SyncMode,
};
use onepane_domain::activity::{NewNotification, NotificationKind};
use onepane_domain::record::cursor_cmp;
use onepane_domain::text::Name;
use onepane_domain::workspace::{Connection, ConnectionStatus};
use onepane_domain::{ConnectionId, JobId};
use onepane_store::{CrmEntity, Job, PageWrite, PushResult, Store, StoreError, SyncRun};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::registry::Registry;
use crate::tokens::DbTokenStore;
use crate::vault::{Vault, secret_context};

/// How the engine behaves.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The shared HTTP client's settings (timeouts, retries, address policy).
    pub http: ClientConfig,
    /// Requests per second to one connection's provider.
    pub requests_per_second: u32,
    /// Requests back to back before the rate applies.
    pub burst: u32,
    /// The first wait before a failed push is retried; doubles per attempt.
    pub push_retry_base: Duration,
    /// Push attempts per lead before it is failed for good.
    pub push_max_attempts: u32,
    /// How long a run holds its connection without renewing (it renews
    /// every third of it); another run waits until then.
    pub run_lease: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            http: ClientConfig::default(),
            requests_per_second: 10,
            burst: 20,
            push_retry_base: Duration::from_secs(30),
            push_max_attempts: 8,
            run_lease: Duration::from_secs(30),
        }
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It may succeed later: retry (after `after`, when the provider said).
    #[error("{message}")]
    Retry {
        /// What happened.
        message: String,
        /// How long the provider asked to wait.
        after: Option<Duration>,
    },
    /// The provider refused the credentials: the partner must reconnect.
    #[error("{0}")]
    Reauthorize(String),
    /// Retrying will not help until someone changes the connection.
    #[error("{0}")]
    Fatal(String),
    /// Another run of the connection is under way.
    #[error("another run of this connection is under way ({holder}, held until {until})")]
    Busy {
        /// Who runs it.
        holder: String,
        /// Until when it holds the connection, unless it renews.
        until: chrono::DateTime<Utc>,
    },
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } | StoreError::NotLinked(_) | StoreError::Rule(_) => {
                RunError::Fatal(e.to_string())
            }
            other => RunError::Retry {
                message: format!("the database: {other}"),
                after: None,
            },
        }
    }
}

fn classify(e: ConnectorError) -> RunError {
    match e {
        ConnectorError::Unauthorized(m) => RunError::Reauthorize(m),
        e if e.is_transient() => RunError::Retry {
            after: e.retry_after(),
            message: e.to_string(),
        },
        e => RunError::Fatal(e.to_string()),
    }
}

/// A record due to be pushed: its id, the change pushed, attempts so far,
/// and its name in messages.
type Due = (Uuid, chrono::DateTime<Utc>, u32, String);

/// Why an upload was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows in error, by line; nothing was applied.
    #[error("{} rows are in error", .0.len())]
    Rows(Vec<RecordError>),
    /// The run failed.
    #[error(transparent)]
    Run(RunError),
}

/// An uploaded file's records, read as one page per stream.
#[derive(Debug)]
struct Uploaded {
    streams: Vec<StreamSpec>,
    records: Vec<Record>,
}

impl Source for Uploaded {
    fn streams(&self) -> Vec<StreamSpec> {
        self.streams.clone()
    }

    fn read<'a>(
        &'a self,
        _: &'a Io,
        stream: Stream,
        _: PageRequest<'a>,
    ) -> BoxFuture<'a, Result<Page, ConnectorError>> {
        let records: Vec<SourceRecord> = self
            .records
            .iter()
            .filter(|r| r.stream() == stream)
            .cloned()
            .map(SourceRecord::new)
            .collect();
        Box::pin(async move {
            Ok(Page {
                total: Some(records.len() as u64),
                records,
                ..Page::default()
            })
        })
    }
}

/// Told after every page or batch, for progress bars.
pub trait Progress: Send + Sync {
    /// The run as it stands.
    fn update(&self, run: &SyncRun);
}

impl Progress for () {
    fn update(&self, _: &SyncRun) {}
}

/// Runs connections.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Store,
    vault: Arc<dyn Vault>,
    registry: Arc<Registry>,
    http: HttpClient,
    tokens: TokenClient,
    config: EngineConfig,
    limiters: Arc<Mutex<HashMap<ConnectionId, Arc<RateLimiter>>>>,
    owner: String,
}

impl Engine {
    /// An engine over `store`, opening secrets with `vault`; `owner` names
    /// this process in claims.
    pub fn new(
        store: Store,
        vault: Arc<dyn Vault>,
        config: EngineConfig,
        owner: String,
    ) -> Result<Self, ConnectorError> {
        let http = HttpClient::new(config.http.clone())?;
        let tokens = TokenClient::new(config.http.addresses.clone(), config.http.timeout)?;
        Ok(Self {
            store,
            vault,
            registry: Arc::new(Registry),
            http,
            tokens,
            config,
            limiters: Arc::default(),
            owner,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The connector registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The token client (for the OAuth connect flow).
    pub fn token_client(&self) -> &TokenClient {
        &self.tokens
    }

    /// Opens a connection's sealed secret.
    pub async fn secret(
        &self,
        conn: &Connection,
        field: &str,
    ) -> Result<Option<Vec<u8>>, RunError> {
        let stored = self
            .store
            .system()
            .connection_secret(conn.workspace_id, conn.id, field)
            .await?;
        match stored {
            Some((sealed, version)) if version > 0 && !sealed.is_empty() => self
                .vault
                .open(&secret_context(conn.workspace_id, conn.id, field), &sealed)
                .map(Some)
                .map_err(RunError::Fatal),
            _ => Ok(None),
        }
    }

    /// The connection's credentials (none when it has none).
    pub async fn credentials(&self, conn: &Connection) -> Result<Credentials, RunError> {
        match self.secret(conn, "credentials").await? {
            Some(plain) => serde_json::from_slice(&plain)
                .map_err(|e| RunError::Fatal(format!("the stored credentials do not parse: {e}"))),
            None => Ok(Credentials::None),
        }
    }

    async fn io(&self, conn: &Connection) -> Result<Io, RunError> {
        let credentials = self.credentials(conn).await?;
        let auth = match credentials.static_authorizer().map_err(classify)? {
            Some(auth) => auth,
            None => {
                let store = DbTokenStore::new(
                    self.store.clone(),
                    self.vault.clone(),
                    conn.workspace_id,
                    conn.id,
                    self.owner.clone(),
                );
                let auth = OAuthAuthorizer::new(&credentials, self.tokens.clone(), Arc::new(store))
                    .ok_or_else(|| RunError::Fatal("unusable OAuth credentials".into()))?;
                Arc::new(auth)
            }
        };
        let limiter = {
            let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
            match limiters.get(&conn.id) {
                Some(l) => Some(l.clone()),
                None => RateLimit::per_second(self.config.requests_per_second, self.config.burst)
                    .map(|limit| {
                        let l = Arc::new(RateLimiter::new(limit));
                        limiters.insert(conn.id, l.clone());
                        l
                    }),
            }
        };
        Ok(Io::new(self.http.clone(), limiter, auth))
    }

    /// Runs a claimed job.
    pub async fn run_job(&self, job: &Job, progress: &dyn Progress) -> Result<SyncRun, RunError> {
        let conn = self
            .store
            .system()
            .connection(job.workspace_id, job.connection_id)
            .await?;
        self.run(&conn, Some(job.id), progress).await
    }

    /// Runs a connection now: a sync for a source, a push for a sink. The
    /// run is recorded whatever happens; the connection is marked failing
    /// or in need of re-authorization when that is why it stopped.
    pub async fn run(
        &self,
        conn: &Connection,
        job: Option<JobId>,
        progress: &dyn Progress,
    ) -> Result<SyncRun, RunError> {
        self.run_with(conn, job, None, progress).await
    }

    /// Applies an uploaded CSV file to a `csv` connection: every row or
    /// none, as one run.
    pub async fn import_csv(&self, conn: &Connection, file: &[u8]) -> Result<SyncRun, ImportError> {
        let csv = onepane_connector_csv::CsvSource::from_settings(&conn.settings)
            .map_err(|e| ImportError::Run(classify(e)))?;
        let rows = csv.parse(file).map_err(ImportError::Rows)?;
        let mut records: Vec<Record> = csv.price_list().into_iter().collect();
        records.extend(rows);
        let source = Uploaded {
            streams: csv.streams(),
            records,
        };
        self.run_with(conn, None, Some(&source), &())
            .await
            .map_err(ImportError::Run)
    }

    async fn run_with(
        &self,
        conn: &Connection,
        job: Option<JobId>,
        source: Option<&dyn Source>,
        progress: &dyn Progress,
    ) -> Result<SyncRun, RunError> {
        let holder = self.hold(conn).await?;
        let outcome = tokio::select! {
            outcome = self.run_held(conn, job, source, progress) => outcome,
            () = self.keep_holding(conn, &holder) => Err(RunError::Retry {
                message: "the run lost its hold on the connection".into(),
                after: None,
            }),
        };
        let released = self
            .store
            .system()
            .release_connection_run(conn.workspace_id, conn.id, &holder)
            .await;
        let run = outcome?;
        released?;
        Ok(run)
    }

    /// Takes the connection for this run; a holder that was a process on
    /// this host that no longer exists (killed) is taken over at once.
    async fn hold(&self, conn: &Connection) -> Result<String, RunError> {
        let system = self.store.system();
        let me = format!("{}/{}", self.owner, Uuid::now_v7());
        let ttl = chrono::Duration::from_std(self.config.run_lease)
            .unwrap_or(chrono::Duration::seconds(30));
        let mut steal: Option<String> = None;
        loop {
            match system
                .claim_connection_run(conn.workspace_id, conn.id, &me, ttl, steal.as_deref())
                .await?
            {
                Ok(()) => return Ok(me),
                Err((holder, until)) => {
                    if steal.is_none() && gone_from_this_host(&holder) {
                        tracing::info!(connection = %conn.id, %holder, "taking over from a process that is gone");
                        steal = Some(holder);
                        continue;
                    }
                    return Err(RunError::Busy { holder, until });
                }
            }
        }
    }

    /// Renews the hold every third of its lease; returns when it is lost.
    async fn keep_holding(&self, conn: &Connection, holder: &str) {
        let system = self.store.system();
        let ttl = chrono::Duration::from_std(self.config.run_lease)
            .unwrap_or(chrono::Duration::seconds(30));
        loop {
            tokio::time::sleep(self.config.run_lease / 3).await;
            match system
                .renew_connection_run(conn.workspace_id, conn.id, holder, ttl)
                .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(connection = %conn.id, error = %e, "cannot renew the hold on the connection")
                }
            }
        }
    }

    async fn run_held(
        &self,
        conn: &Connection,
        job: Option<JobId>,
        source: Option<&dyn Source>,
        progress: &dyn Progress,
    ) -> Result<SyncRun, RunError> {
        let system = self.store.system();
        let kind = if conn.target.vendor_id().is_some() {
            "sync"
        } else {
            "push"
        };
        let mut run = system
            .start_run(conn.workspace_id, conn.id, job, kind)
            .await?;
        progress.update(&run);
        let outcome = if kind == "sync" {
            match source {
                Some(source) => self.sync_source(conn, source, &mut run, progress).await,
                None => match self.registry.source(conn) {
                    Ok(source) => {
                        self.sync_source(conn, source.as_ref(), &mut run, progress)
                            .await
                    }
                    Err(e) => Err(classify(e)),
                },
            }
        } else {
            self.push_sink(conn, &mut run, progress).await
        };
        run.finished_at = Some(micros(Utc::now()));
        run.status = if outcome.is_ok() {
            "succeeded"
        } else {
            "failed"
        }
        .to_owned();
        if let Err(e) = &outcome {
            run.errors.insert(0, e.to_string());
        }
        system.update_run(&run).await?;
        progress.update(&run);
        let status = match &outcome {
            Ok(()) => ConnectionStatus::Active,
            Err(RunError::Reauthorize(_)) => ConnectionStatus::NeedsReauthorization,
            Err(_) => ConnectionStatus::Failing,
        };
        let reason = outcome
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        // A passing failure that will be retried does not alarm the partner.
        if !matches!(outcome, Err(RunError::Retry { .. } | RunError::Busy { .. })) {
            system
                .set_connection_status(conn.workspace_id, conn.id, status, &reason)
                .await?;
        }
        outcome.map(|()| run)
    }

    /// Reads every stream of a source, page by page; see the crate docs.
    pub async fn sync_source(
        &self,
        conn: &Connection,
        source: &dyn Source,
        run: &mut SyncRun,
        progress: &dyn Progress,
    ) -> Result<(), RunError> {
        let vendor_id = conn
            .target
            .vendor_id()
            .ok_or_else(|| RunError::Fatal("not a vendor source".into()))?;
        let io = self.io(conn).await?;
        let vendor = self.store.vendor(vendor_id);
        let system = self.store.system();
        let ws = conn.workspace_id;
        let specs = source.streams();
        let mut total_before = 0u64;
        for stream in Stream::ALL {
            let Some(spec) = specs.iter().find(|s| s.stream == stream) else {
                continue;
            };
            let state = vendor.stream_state(ws, conn.id, stream).await?;
            let resumed = state.pass_id.is_some();
            let pass_id = state.pass_id.unwrap_or_else(Uuid::now_v7);
            let since = match spec.mode {
                SyncMode::Incremental => state.since.clone(),
                SyncMode::FullRefresh => None,
            };
            let mut next = state.next.clone();
            let mut pass_max = state.pass_max.clone();
            // Deletes follow only a pass read whole in this run without a
            // failed record: a record that failed was not seen, not deleted.
            let mut clean = !resumed;
            let mut stream_read = 0u64;
            // The keys this pass saw, for delete detection (kept only while
            // the pass can still delete).
            let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
            let created_before = run.created;
            let complete_before = resumed && next.is_none();
            let mut done = false;
            while !complete_before && !done {
                let page = source
                    .read(
                        &io,
                        stream,
                        PageRequest {
                            next: next.as_ref(),
                            since: since.as_ref(),
                        },
                    )
                    .await
                    .map_err(classify)?;
                // Within a page the last copy of a key wins; records of
                // another stream are refused.
                let mut order: Vec<String> = Vec::with_capacity(page.records.len());
                let mut by_key = HashMap::with_capacity(page.records.len());
                let mut failed = page.rejected.len() as u64;
                for (i, r) in page.records.iter().enumerate() {
                    if r.record.stream() != stream {
                        failed += 1;
                        run.errors.push(format!(
                            "{stream} record {i}: a {} record in the {stream} stream",
                            r.record.stream()
                        ));
                        continue;
                    }
                    if let Some(value) = &r.cursor
                        && pass_max
                            .as_ref()
                            .is_none_or(|max| cursor_cmp(value, max).is_gt())
                    {
                        pass_max = Some(value.clone());
                    }
                    let key = r.record.key();
                    if spec.mode == SyncMode::FullRefresh && clean {
                        seen.insert(key.clone());
                    }
                    if by_key.insert(key.clone(), &r.record).is_none() {
                        order.push(key);
                    }
                }
                for e in &page.rejected {
                    run.errors.push(format!("{stream} {}: {}", e.at, e.message));
                }
                let mut records = Vec::with_capacity(order.len());
                for key in order {
                    if let Some(record) = by_key.get(&key) {
                        let hash = content_hash(record)?;
                        records.push((key, hash, *record));
                    }
                }
                let counts = vendor
                    .apply_page(
                        ws,
                        conn.id,
                        &PageWrite {
                            stream,
                            pass_id,
                            records,
                            next: page.next.clone(),
                            pass_max: pass_max.clone(),
                        },
                    )
                    .await?;
                failed += counts.failed.len() as u64;
                for e in &counts.failed {
                    run.errors.push(format!(
                        "{stream} {}: {}",
                        e.key.as_deref().unwrap_or(&e.at),
                        e.message
                    ));
                }
                if failed > 0 {
                    clean = false;
                }
                let read = (page.records.len() + page.rejected.len()) as u64;
                stream_read += read;
                run.read += read;
                run.created += counts.created;
                run.updated += counts.updated;
                run.unchanged += counts.unchanged;
                run.failed += failed;
                if let Some(total) = page.total {
                    run.total = Some(total_before + total.max(stream_read));
                }
                system.update_run(run).await?;
                progress.update(run);
                match page.next {
                    None => done = true,
                    Some(n) if next.as_ref() == Some(&n) => {
                        return Err(RunError::Fatal(format!(
                            "the {stream} stream gave the same next page twice; stopping instead of looping"
                        )));
                    }
                    Some(n) => next = Some(n),
                }
            }
            if stream == Stream::Leads && run.created > created_before {
                let n = run.created - created_before;
                let title = format!(
                    "{n} new {} from {}",
                    if n == 1 { "lead" } else { "leads" },
                    conn.name
                );
                system
                    .notify(
                        ws,
                        &NewNotification {
                            kind: NotificationKind::NewLead,
                            vendor_id: Some(vendor_id),
                            title: Name::parse(&title).unwrap_or_else(|_| conn.name.clone()),
                            body: None,
                            link: Some("/leads".to_owned()),
                        },
                    )
                    .await?;
            }
            let delete = spec.mode == SyncMode::FullRefresh && clean;
            run.deleted += vendor
                .finish_pass(ws, conn.id, stream, pass_id, delete.then_some(&seen))
                .await?;
            total_before += stream_read;
            system.update_run(run).await?;
            progress.update(run);
        }
        Ok(())
    }

    /// Pushes a sink's due leads, then its due deal registrations (when the
    /// CRM takes deals), in batches; see the crate docs.
    pub async fn push_sink(
        &self,
        conn: &Connection,
        run: &mut SyncRun,
        progress: &dyn Progress,
    ) -> Result<(), RunError> {
        let system = self.store.system();
        let ws = conn.workspace_id;
        system.fan_out_leads(ws).await?;
        let secret = self.secret(conn, "signing_secret").await?;
        let sink = self.registry.sink(conn, secret).map_err(classify)?;
        let io = self.io(conn).await?;
        let size = u32::try_from(sink.batch_size().clamp(1, 1000)).unwrap_or(100);
        if !sink.takes_deals() {
            system.skip_deal_pushes(ws, conn.id).await?;
        }
        let entities: &[CrmEntity] = if sink.takes_deals() {
            &[CrmEntity::Lead, CrmEntity::Deal]
        } else {
            &[CrmEntity::Lead]
        };
        for &entity in entities {
            loop {
                // (id, change pushed, attempts so far, name in messages)
                let (due, sent): (Vec<Due>, _) = match entity {
                    CrmEntity::Lead => {
                        let due = system.due_pushes(ws, conn.id, size).await?;
                        let batch: Vec<LeadPush> = due
                            .iter()
                            .map(|d| LeadPush {
                                lead: d.lead.clone(),
                                vendor: d.vendor.clone(),
                            })
                            .collect();
                        let keys = due
                            .iter()
                            .map(|d| {
                                (
                                    d.lead.id.as_uuid(),
                                    d.changed_at,
                                    d.attempts,
                                    format!("lead {}", d.lead.id),
                                )
                            })
                            .collect();
                        let sent = if batch.is_empty() {
                            Ok(Vec::new())
                        } else {
                            sink.push_leads(&io, &batch).await
                        };
                        (keys, sent)
                    }
                    CrmEntity::Deal => {
                        let due = system.due_deal_pushes(ws, conn.id, size).await?;
                        let batch: Vec<DealPush> = due
                            .iter()
                            .map(|d| DealPush {
                                deal: d.deal.clone(),
                                vendor: d.vendor.clone(),
                            })
                            .collect();
                        let keys = due
                            .iter()
                            .map(|d| {
                                (
                                    d.deal.id.as_uuid(),
                                    d.changed_at,
                                    d.attempts,
                                    format!("deal registration {}", d.deal.id),
                                )
                            })
                            .collect();
                        let sent = if batch.is_empty() {
                            Ok(Vec::new())
                        } else {
                            sink.push_deals(&io, &batch).await
                        };
                        (keys, sent)
                    }
                };
                if due.is_empty() {
                    break;
                }
                run.read += due.len() as u64;
                let outcomes = match sent {
                    Ok(outcomes) if outcomes.len() == due.len() => outcomes,
                    Ok(outcomes) => {
                        let message = format!(
                            "the sink answered {} results for {} records",
                            outcomes.len(),
                            due.len()
                        );
                        due.iter()
                            .map(|_| PushOutcome::Failed {
                                message: message.clone(),
                                retryable: true,
                            })
                            .collect()
                    }
                    Err(e) => {
                        let e = classify(e);
                        if let RunError::Retry { after, .. } = &e {
                            // The whole batch waits for the next run.
                            let retry_at = Utc::now()
                                + chrono::Duration::from_std(
                                    after.unwrap_or(self.config.push_retry_base),
                                )
                                .unwrap_or_default();
                            let results: Vec<_> = due
                                .iter()
                                .map(|(id, changed_at, _, _)| {
                                    (
                                        *id,
                                        *changed_at,
                                        PushResult::Failed {
                                            error: e.to_string(),
                                            retry_at: Some(retry_at),
                                        },
                                    )
                                })
                                .collect();
                            system.record_pushes(ws, conn.id, entity, &results).await?;
                        }
                        return Err(e);
                    }
                };
                let mut results = Vec::with_capacity(due.len());
                for ((id, changed_at, attempts, what), outcome) in due.iter().zip(outcomes) {
                    let result = match outcome {
                        PushOutcome::Pushed { remote_id } => {
                            run.created += 1;
                            PushResult::Pushed { remote_id }
                        }
                        PushOutcome::Failed { message, retryable } => {
                            run.failed += 1;
                            run.errors.push(format!("{what}: {message}"));
                            let retry_at = (retryable
                                && attempts + 1 < self.config.push_max_attempts)
                                .then(|| Utc::now() + self.push_backoff(*attempts));
                            PushResult::Failed {
                                error: message,
                                retry_at,
                            }
                        }
                    };
                    results.push((*id, *changed_at, result));
                }
                system.record_pushes(ws, conn.id, entity, &results).await?;
                system.update_run(run).await?;
                progress.update(run);
            }
        }
        Ok(())
    }

    fn push_backoff(&self, attempts: u32) -> chrono::Duration {
        let base = self.config.push_retry_base.as_millis();
        let wait = base
            .saturating_mul(1u128 << attempts.min(16))
            .min(3_600_000);
        chrono::Duration::milliseconds(i64::try_from(wait).unwrap_or(3_600_000))
    }
}

/// Whether `holder` (`host:pid/...`) names a process on this host that no
/// longer exists. Only Linux's `/proc` is consulted; elsewhere a holder is
/// waited out.
fn gone_from_this_host(holder: &str) -> bool {
    let process = holder.split('/').next().unwrap_or_default();
    let Some((host, pid)) = process.rsplit_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == this_host()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// This host's name (`/etc/hostname`), for naming who holds what.
pub fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "onepane".to_owned())
}

/// `at` to the microsecond, as the store keeps times.
fn micros(at: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    use chrono::DurationRound as _;
    at.duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(at)
}

/// SHA-256 of the record's JSON: equal content, equal hash.
fn content_hash(record: &Record) -> Result<Vec<u8>, RunError> {
    let json = serde_json::to_vec(record)
        .map_err(|e| RunError::Fatal(format!("cannot hash a record: {e}")))?;
    Ok(Sha256::digest(&json).to_vec())
}
