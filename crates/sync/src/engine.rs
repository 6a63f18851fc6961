//! Running one connection: a source sync or a push to a CRM sink.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use onepane_connector::oauth::{OAuthAuthorizer, TokenClient};
use onepane_connector::{
    BoxFuture, ClientConfig, ConnectorError, Credentials, HttpClient, Io, Page, PageRead,
    PageRequest, PushOutcome, RateLimit, RateLimiter, Record, RecordError, SeenPage, Sink, Source,
    SourceRecord, Stream, StreamSpec, SyncMode,
};
use onepane_domain::activity::{NewNotification, NotificationKind};
use onepane_domain::record::cursor_cmp;
use onepane_domain::text::Name;
use onepane_domain::workspace::{Connection, ConnectionStatus};
use onepane_domain::{ConnectionId, JobId, VendorId};
use onepane_store::{
    CrmEntity, ErasureResult, Job, PageCounts, PageWrite, PushResult, Store, StoreError,
    StreamState, SyncRun, VendorStore,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::outbox::{Deals, Due, Leads, Outbox};
use crate::registry::Registry;
use crate::tokens::DbTokenStore;
use crate::vault::{Vault, secret_context};

/// How the engine behaves.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The shared HTTP client's settings (timeouts, retries, address policy).
    pub http: ClientConfig,
    /// Requests per second to one connection's provider, unless its source
    /// states its own (a `rest` manifest's `rate_limit`).
    pub requests_per_second: u32,
    /// Requests back to back before the rate applies (same exception).
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
            requests_per_second: 25,
            burst: 50,
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
    /// The run was stopped part-way (the process is shutting down): what
    /// it wrote is kept, the connection is free, and a later run goes on.
    #[error("the run was stopped: the server is shutting down")]
    Interrupted,
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        match e {
            // A source writes in its vendor's scope: the link is not active.
            StoreError::NotLinked(_) => RunError::Fatal(
                "the link with this vendor is not active (paused or ended); resume the vendor to sync"
                    .into(),
            ),
            StoreError::NotFound { .. } | StoreError::Rule(_) => RunError::Fatal(e.to_string()),
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

    /// The connection's client, credentials and rate limiter: `stated` when
    /// the source states the provider's rate, else the engine's default.
    /// The engine's settings.
    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// A connection's client, or why it cannot be had.
    pub(crate) async fn io_for(
        &self,
        conn: &Connection,
        stated: Option<RateLimit>,
    ) -> Result<Io, String> {
        self.io(conn, stated).await.map_err(|e| e.to_string())
    }

    async fn io(&self, conn: &Connection, stated: Option<RateLimit>) -> Result<Io, RunError> {
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
        let limit = stated
            .or_else(|| RateLimit::per_second(self.config.requests_per_second, self.config.burst));
        let limiter = limit.map(|limit| {
            let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
            match limiters.get(&conn.id) {
                // The bucket outlives runs, so back-to-back runs share it;
                // a changed limit starts a new one.
                Some(l) if l.limit() == limit => l.clone(),
                _ => {
                    let l = Arc::new(RateLimiter::new(limit));
                    limiters.insert(conn.id, l.clone());
                    l
                }
            }
        });
        Ok(Io::new(self.http.clone(), limiter, auth))
    }

    /// Runs a claimed job.
    pub async fn run_job(&self, job: &Job, progress: &dyn Progress) -> Result<SyncRun, RunError> {
        self.run_job_until(job, progress, std::future::pending())
            .await
    }

    /// As [`Engine::run_job`], stopped when `stop` completes: the run is
    /// marked interrupted and the connection freed at once, so another
    /// worker can go on with it ([`RunError::Interrupted`]).
    pub async fn run_job_until(
        &self,
        job: &Job,
        progress: &dyn Progress,
        stop: impl Future<Output = ()>,
    ) -> Result<SyncRun, RunError> {
        let conn = self
            .store
            .system()
            .connection(job.workspace_id, job.connection_id)
            .await?;
        self.run_with(&conn, Some(job.id), None, progress, stop)
            .await
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
        self.run_with(conn, job, None, progress, std::future::pending())
            .await
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
        self.run_with(conn, None, Some(&source), &(), std::future::pending())
            .await
            .map_err(ImportError::Run)
    }

    async fn run_with(
        &self,
        conn: &Connection,
        job: Option<JobId>,
        source: Option<&dyn Source>,
        progress: &dyn Progress,
        stop: impl Future<Output = ()>,
    ) -> Result<SyncRun, RunError> {
        let holder = self.hold(conn).await?;
        let outcome = tokio::select! {
            // Boxed: a run's state machine is large, and every caller's
            // future would carry it.
            outcome = Box::pin(self.run_held(conn, job, source, progress)) => outcome,
            () = self.keep_holding(conn, &holder) => Err(RunError::Retry {
                message: "the run lost its hold on the connection".into(),
                after: None,
            }),
            // Each page commits with its position, so cutting the run
            // between two loses nothing.
            () = stop => Err(RunError::Interrupted),
        };
        let system = self.store.system();
        if matches!(outcome, Err(RunError::Interrupted)) {
            system
                .interrupt_connection_runs(conn.workspace_id, conn.id)
                .await?;
        }
        let released = system
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
        let sync = SourceSync {
            conn,
            vendor_id,
            source,
            io: self.io(conn, source.rate_limit()).await?,
            vendor: self.store.vendor(vendor_id),
        };
        let specs = source.streams();
        // Streams are read in `Stream::ALL`'s order (price lists before
        // their items), whatever order the source lists them in.
        let mut read_before = 0u64;
        for stream in Stream::ALL {
            if let Some(spec) = specs.iter().find(|s| s.stream == stream) {
                read_before += self
                    .sync_stream(&sync, spec, read_before, run, progress)
                    .await?;
            }
        }
        Ok(())
    }

    /// Reads one stream to the end of its pass and finishes the pass;
    /// returns the records it read. `read_before` is what the run read of
    /// the streams before, for the run's total.
    async fn sync_stream(
        &self,
        sync: &SourceSync<'_>,
        spec: &StreamSpec,
        read_before: u64,
        run: &mut SyncRun,
        progress: &dyn Progress,
    ) -> Result<u64, RunError> {
        let (ws, conn) = (sync.conn.workspace_id, sync.conn.id);
        let stream = spec.stream;
        let system = self.store.system();
        let state = sync.vendor.stream_state(ws, conn, stream).await?;
        let mut pass = Pass::resume(state, spec.mode);
        let created_before = run.created;
        // A full pass over a stream it never deletes from need not see each
        // record: a page whose answer is the one last read whole is
        // counted as it was, its records not mapped again.
        let fingerprints = if spec.mode == SyncMode::FullRefresh
            && matches!(stream, Stream::Leads | Stream::Tier)
        {
            Some(sync.vendor.seen_pages(ws, conn, stream).await?)
        } else {
            None
        };
        let fingerprints = fingerprints.as_ref();
        // A pass that had read its last page when the run before stopped
        // only needs finishing. Otherwise the next page is fetched while
        // the current one is written: at most two pages in memory.
        let mut fetched = if pass.last_page_read {
            None
        } else {
            Some(self.read_page(sync, stream, &pass, fingerprints).await?)
        };
        while let Some((read, request)) = fetched.take() {
            let page = &read.page;
            let (records, failed) = pass.keyed_records(stream, page, run)?;
            // Kept for a page read whole without a failed record; a failed
            // one forgets what was kept, so it is read whole again.
            let seen_page = match (fingerprints, read.unchanged, &read.fingerprint) {
                (Some(_), None, Some(f)) => Some((
                    request,
                    (failed == 0).then(|| SeenPage {
                        fingerprint: f.clone(),
                        next: page.next.clone(),
                        total: page.total,
                        records: page.records.len() as u64,
                    }),
                )),
                _ => None,
            };
            let write = PageWrite {
                stream,
                pass_id: pass.id,
                records,
                next: page.next.clone(),
                pass_max: pass.max.clone(),
                seen_page,
            };
            // A source that gives the same next page twice has its page
            // written, then is stopped.
            let turned = pass.turn(stream, page.next.clone());
            let apply = sync
                .vendor
                .apply_page(sync.conn.workspace_id, sync.conn.id, &write);
            let (counts, next) = if turned.is_ok() && !pass.last_page_read {
                let (counts, next) =
                    tokio::join!(apply, self.read_page(sync, stream, &pass, fingerprints));
                (counts?, Some(next))
            } else {
                (apply.await?, None)
            };
            pass.count(stream, &read, failed, &counts, run);
            if let Some(total) = page.total {
                run.total = Some(read_before + total.max(pass.read));
            }
            system.update_run(run).await?;
            progress.update(run);
            turned?;
            fetched = next.transpose()?;
        }
        if stream == Stream::Leads && run.created > created_before {
            self.notify_new_leads(sync, run.created - created_before)
                .await?;
        }
        run.deleted += sync
            .vendor
            .finish_pass(ws, conn, stream, pass.id, pass.deletable())
            .await?;
        system.update_run(run).await?;
        progress.update(run);
        Ok(pass.read)
    }

    /// Reads the pass's next page, with the request it was (for its
    /// fingerprint); given the fingerprints kept, one whose answer is the
    /// same comes back unchanged, its records not mapped.
    async fn read_page(
        &self,
        sync: &SourceSync<'_>,
        stream: Stream,
        pass: &Pass,
        fingerprints: Option<&HashMap<String, SeenPage>>,
    ) -> Result<(PageRead, String), RunError> {
        let request = pass.request();
        let key = fingerprints
            .map(|_| json!([request.next, request.since]).to_string())
            .unwrap_or_default();
        let seen = fingerprints.and_then(|f| f.get(&key));
        let read = sync
            .source
            .read_unless_seen(&sync.io, stream, request, seen)
            .await
            .map_err(classify)?;
        Ok((read, key))
    }

    /// Tells the workspace that a source brought `n` new leads.
    async fn notify_new_leads(&self, sync: &SourceSync<'_>, n: u64) -> Result<(), RunError> {
        let conn = sync.conn;
        let title = format!(
            "{n} new {} from {}",
            if n == 1 { "lead" } else { "leads" },
            conn.name
        );
        self.store
            .system()
            .notify(
                conn.workspace_id,
                &NewNotification {
                    kind: NotificationKind::NewLead,
                    vendor_id: Some(sync.vendor_id),
                    title: Name::parse(&title).unwrap_or_else(|_| conn.name.clone()),
                    body: None,
                    link: Some("/leads".to_owned()),
                    args: json!({ "count": n, "connection": conn.name.as_str() }),
                },
            )
            .await?;
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
        system.fan_out_leads(conn.workspace_id).await?;
        let push = self.sink_push(conn).await?;
        self.erase_contacts(&push, run).await?;
        if push.sink.takes_deals() {
            self.push_outbox::<Leads>(&push, run, progress).await?;
            self.push_outbox::<Deals>(&push, run, progress).await
        } else {
            system.skip_deal_pushes(conn.workspace_id, conn.id).await?;
            self.push_outbox::<Leads>(&push, run, progress).await
        }
    }

    /// Deletes from the CRM, for good, the people erased in the workspace
    /// since the last run, where the CRM's API allows it; a CRM that
    /// cannot gets only the erased leads, on the push that follows.
    async fn erase_contacts(&self, push: &SinkPush<'_>, run: &mut SyncRun) -> Result<(), RunError> {
        let system = self.store.system();
        let (ws, conn) = (push.conn.workspace_id, push.conn.id);
        if !push.sink.erases() {
            system.drop_erasures(ws, conn).await?;
            return Ok(());
        }
        loop {
            let due = system.due_erasures(ws, conn, push.batch_size).await?;
            if due.is_empty() {
                return Ok(());
            }
            let emails: Vec<String> = due.iter().map(|d| d.email.clone()).collect();
            let outcomes = match push.sink.erase_contacts(&push.io, &emails).await {
                Ok(outcomes) => one_per_record(outcomes, due.len()),
                Err(e) => {
                    let e = classify(e);
                    if let RunError::Retry { after, .. } = &e {
                        let at = Utc::now()
                            + chrono::Duration::from_std(
                                after.unwrap_or(self.config.push_retry_base),
                            )
                            .unwrap_or_default();
                        let results: Vec<_> = due
                            .iter()
                            .map(|d| {
                                (
                                    d.id,
                                    ErasureResult::Retry {
                                        error: e.to_string(),
                                        at,
                                    },
                                )
                            })
                            .collect();
                        system.record_erasures(ws, conn, &results).await?;
                    }
                    return Err(e);
                }
            };
            let results: Vec<(Uuid, ErasureResult)> = due
                .iter()
                .zip(outcomes)
                .map(|(d, outcome)| {
                    let result = match outcome {
                        PushOutcome::Pushed { .. } => {
                            run.deleted += 1;
                            ErasureResult::Done
                        }
                        // The CRM's message may quote the address: the run
                        // keeps only that an erasure failed.
                        PushOutcome::Failed { retryable, .. } => {
                            run.failed += 1;
                            if retryable && d.attempts + 1 < self.config.push_max_attempts {
                                run.errors
                                    .push("an erasure failed; it is tried again later".into());
                                ErasureResult::Retry {
                                    error: "the CRM failed the erasure".into(),
                                    at: Utc::now() + self.push_backoff(d.attempts),
                                }
                            } else {
                                run.errors.push(
                                    "the CRM refused to erase a person; erase them there by hand"
                                        .into(),
                                );
                                ErasureResult::Refused
                            }
                        }
                    };
                    (d.id, result)
                })
                .collect();
            system.record_erasures(ws, conn, &results).await?;
            system.update_run(run).await?;
        }
    }

    /// The connection's sink, with its client and batch size.
    async fn sink_push<'a>(&self, conn: &'a Connection) -> Result<SinkPush<'a>, RunError> {
        let secret = self.secret(conn, "signing_secret").await?;
        let sink = self.registry.sink(conn, secret).map_err(classify)?;
        let io = self.io(conn, sink.rate_limit()).await?;
        let batch_size = u32::try_from(sink.batch_size().clamp(1, 1000)).unwrap_or(100);
        Ok(SinkPush {
            conn,
            sink,
            io,
            batch_size,
        })
    }

    /// Pushes everything due in one entity's outbox, a batch at a time,
    /// recording each record's result; leads and deal registrations both
    /// go this way.
    async fn push_outbox<O: Outbox>(
        &self,
        push: &SinkPush<'_>,
        run: &mut SyncRun,
        progress: &dyn Progress,
    ) -> Result<(), RunError> {
        let system = self.store.system();
        let (ws, conn) = (push.conn.workspace_id, push.conn.id);
        loop {
            let (due, batch): (Vec<Due>, Vec<O::Item>) = O::due(&system, ws, conn, push.batch_size)
                .await?
                .into_iter()
                .map(O::split)
                .unzip();
            if due.is_empty() {
                return Ok(());
            }
            run.read += due.len() as u64;
            let outcomes = match O::send(push.sink.as_ref(), &push.io, &batch).await {
                Ok(outcomes) => one_per_record(outcomes, due.len()),
                Err(e) => return Err(self.hold_back(push.conn, O::ENTITY, &due, e).await),
            };
            let results = self.push_results(&due, outcomes, run);
            system.record_pushes(ws, conn, O::ENTITY, &results).await?;
            system.update_run(run).await?;
            progress.update(run);
        }
    }

    /// Why a batch failed as a whole; when it may pass, every record of it
    /// first waits for a later run (after the wait the CRM asked for, else
    /// the first retry's), so the batch is not sent again at once.
    async fn hold_back(
        &self,
        conn: &Connection,
        entity: CrmEntity,
        due: &[Due],
        e: ConnectorError,
    ) -> RunError {
        let e = classify(e);
        if let RunError::Retry { after, .. } = &e {
            let retry_at = Utc::now()
                + chrono::Duration::from_std(after.unwrap_or(self.config.push_retry_base))
                    .unwrap_or_default();
            let results: Vec<_> = due
                .iter()
                .map(|d| {
                    (
                        d.id,
                        d.changed_at,
                        PushResult::Failed {
                            error: e.to_string(),
                            retry_at: Some(retry_at),
                        },
                    )
                })
                .collect();
            if let Err(stored) = self
                .store
                .system()
                .record_pushes(conn.workspace_id, conn.id, entity, &results)
                .await
            {
                return stored.into();
            }
        }
        e
    }

    /// Each record's result from its outcome, counted into the run; a
    /// retryable failure is retried with backoff until its last attempt.
    fn push_results(
        &self,
        due: &[Due],
        outcomes: Vec<PushOutcome>,
        run: &mut SyncRun,
    ) -> Vec<(Uuid, chrono::DateTime<Utc>, PushResult)> {
        due.iter()
            .zip(outcomes)
            .map(|(d, outcome)| {
                let result = match outcome {
                    PushOutcome::Pushed { remote_id } => {
                        run.created += 1;
                        PushResult::Pushed { remote_id }
                    }
                    PushOutcome::Failed { message, retryable } => {
                        run.failed += 1;
                        run.errors.push(format!("{}: {message}", d.what));
                        let retry_at = (retryable
                            && d.attempts + 1 < self.config.push_max_attempts)
                            .then(|| Utc::now() + self.push_backoff(d.attempts));
                        PushResult::Failed {
                            error: message,
                            retry_at,
                        }
                    }
                };
                (d.id, d.changed_at, result)
            })
            .collect()
    }

    pub(crate) fn push_backoff(&self, attempts: u32) -> chrono::Duration {
        let base = self.config.push_retry_base.as_millis();
        let wait = base
            .saturating_mul(1u128 << attempts.min(16))
            .min(3_600_000);
        chrono::Duration::milliseconds(i64::try_from(wait).unwrap_or(3_600_000))
    }
}

/// What every step of a source sync needs.
#[derive(Debug)]
struct SourceSync<'a> {
    conn: &'a Connection,
    vendor_id: VendorId,
    source: &'a dyn Source,
    io: Io,
    vendor: VendorStore,
}

/// A record to write: its key, its content hash and the record.
type Keyed<'p> = (String, Vec<u8>, &'p Record);

/// One pass over a stream, as it stands between pages.
#[derive(Debug)]
struct Pass {
    /// The pass's id; a resumed pass keeps its own.
    id: Uuid,
    mode: SyncMode,
    /// For incremental streams, the highest cursor of the last complete
    /// pass.
    since: Option<serde_json::Value>,
    /// Where the next page starts.
    next: Option<serde_json::Value>,
    /// The highest cursor value the pass has seen.
    max: Option<serde_json::Value>,
    /// Whether the pass may delete what it did not see. Deletes follow only
    /// a pass read whole in this run without a failed record: a record that
    /// failed was not seen, not deleted.
    clean: bool,
    /// The keys this pass saw, for delete detection (kept only while the
    /// pass can still delete).
    seen: HashSet<String>,
    /// Records read of the stream in this run.
    read: u64,
    /// Whether the pass's last page has been read.
    last_page_read: bool,
}

impl Pass {
    /// The pass under way as the store left it, or a new one.
    fn resume(state: StreamState, mode: SyncMode) -> Self {
        let resumed = state.pass_id.is_some();
        Self {
            id: state.pass_id.unwrap_or_else(Uuid::now_v7),
            mode,
            since: match mode {
                SyncMode::Incremental => state.since,
                SyncMode::FullRefresh => None,
            },
            last_page_read: resumed && state.next.is_none(),
            next: state.next,
            max: state.pass_max,
            clean: !resumed,
            seen: HashSet::new(),
            read: 0,
        }
    }

    /// Where to read the next page from.
    fn request(&self) -> PageRequest<'_> {
        PageRequest {
            next: self.next.as_ref(),
            since: self.since.as_ref(),
        }
    }

    /// A page's records to write, keyed and hashed, and how many of the
    /// page failed. Within a page the last copy of a key wins; records of
    /// another stream are refused. Failures are told in the run's errors.
    fn keyed_records<'p>(
        &mut self,
        stream: Stream,
        page: &'p Page,
        run: &mut SyncRun,
    ) -> Result<(Vec<Keyed<'p>>, u64), RunError> {
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
                && self
                    .max
                    .as_ref()
                    .is_none_or(|max| cursor_cmp(value, max).is_gt())
            {
                self.max = Some(value.clone());
            }
            let key = r.record.key();
            // Leads and the tier are never deleted by a pass: their keys
            // need not be kept.
            if self.mode == SyncMode::FullRefresh
                && self.clean
                && !matches!(stream, Stream::Leads | Stream::Tier)
            {
                self.seen.insert(key.clone());
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
        Ok((records, failed))
    }

    /// Counts a written page into the pass and the run: `failed` records
    /// of the page were refused before writing, `counts` is what the store
    /// did with the rest; an answer the same as last time counts its
    /// records unchanged.
    fn count(
        &mut self,
        stream: Stream,
        read: &PageRead,
        mut failed: u64,
        counts: &PageCounts,
        run: &mut SyncRun,
    ) {
        let page = &read.page;
        failed += counts.failed.len() as u64;
        for e in &counts.failed {
            run.errors.push(format!(
                "{stream} {}: {}",
                e.key.as_deref().unwrap_or(&e.at),
                e.message
            ));
        }
        if failed > 0 {
            self.clean = false;
        }
        let skipped = read.unchanged.unwrap_or_default();
        let n = (page.records.len() + page.rejected.len()) as u64 + skipped;
        self.read += n;
        run.read += n;
        run.created += counts.created;
        run.updated += counts.updated;
        run.unchanged += counts.unchanged + skipped;
        run.failed += failed;
    }

    /// Moves to the page after, or marks the last page read. A source that
    /// gives the same next page twice is stopped instead of looping.
    fn turn(&mut self, stream: Stream, next: Option<serde_json::Value>) -> Result<(), RunError> {
        match next {
            None => self.last_page_read = true,
            Some(n) if self.next.as_ref() == Some(&n) => {
                return Err(RunError::Fatal(format!(
                    "the {stream} stream gave the same next page twice; stopping instead of looping"
                )));
            }
            Some(n) => self.next = Some(n),
        }
        Ok(())
    }

    /// The keys seen, when the pass may delete what it did not see.
    fn deletable(&self) -> Option<&HashSet<String>> {
        (self.mode == SyncMode::FullRefresh && self.clean).then_some(&self.seen)
    }
}

/// What every batch of a push needs.
#[derive(Debug)]
struct SinkPush<'a> {
    conn: &'a Connection,
    sink: Box<dyn Sink>,
    io: Io,
    /// Records per call, within what the sink takes.
    batch_size: u32,
}

/// The sink's outcomes, one per record sent; a sink that answers for a
/// different number of records fails them all, to be retried, since its
/// outcomes cannot be matched to the records.
fn one_per_record(outcomes: Vec<PushOutcome>, sent: usize) -> Vec<PushOutcome> {
    if outcomes.len() == sent {
        return outcomes;
    }
    let message = format!(
        "the sink answered {} results for {sent} records",
        outcomes.len()
    );
    (0..sent)
        .map(|_| PushOutcome::Failed {
            message: message.clone(),
            retryable: true,
        })
        .collect()
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

/// The record's JSON's SHA-256, its first 128 bits: equal content, equal
/// hash (a chance change going unseen is 2^-128).
fn content_hash(record: &Record) -> Result<Vec<u8>, RunError> {
    let json = serde_json::to_vec(record)
        .map_err(|e| RunError::Fatal(format!("cannot hash a record: {e}")))?;
    Ok(Sha256::digest(&json)[..16].to_vec())
}
