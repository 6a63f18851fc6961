//! Starting the server: the store opened and migrated (or checked), the key
//! loaded, the listener bound; then serving until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use onepane_store::{DatabaseUrl, Store, StoreError, StoreOptions};
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::secret_key::{self, KeyOrigin, SecretKey, SecretKeyError};
use crate::state::AppState;
use crate::telemetry::metrics::Metrics;

/// How often recorded latencies are folded into histogram buckets.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(10);

/// How long requests in flight may take to finish once shutdown starts.
/// Under Kubernetes' default 30 s grace period, so the server stops on its
/// own terms before it is killed.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// How long closing the store may take after the drain timed out: handlers
/// still running may hold connections that the close would wait for.
const STORE_CLOSE_AFTER_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the server (or a command that opens the store) could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The secret key is malformed or could not be created.
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
    /// The store refused to open, migrate or vouch for the server's role.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// PostgreSQL lacks migrations and this process may not apply them.
    #[error(
        "the database at {url} lacks migrations {versions}; run `onepane migrate` with the owner \
         role's URL (--migration-database-url or ONEPANE_MIGRATION_DATABASE_URL), or set \
         migration_database_url so the server applies them at start"
    )]
    PendingMigrations {
        /// The server's database, password redacted.
        url: String,
        /// The missing versions, comma-separated.
        versions: String,
    },
    /// The metrics registry could not be set up.
    #[error("cannot set up metrics")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The access-token signing keys could not be loaded.
    #[error("cannot load the access-token signing keys")]
    Keys(#[from] crate::auth::keys::KeyError),
    /// The webhook dispatcher could not be set up.
    #[error("cannot set up webhook delivery")]
    Webhooks(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The single sign-on client could not be set up.
    #[error("cannot set up single sign-on")]
    SingleSignOn(#[source] crate::auth::oidc::OidcError),
    /// The mail settings are unusable.
    #[error("cannot set up mail")]
    Mail(#[source] crate::mail::MailError),
    /// The server stopped with an error.
    #[error("the server stopped unexpectedly")]
    Serve(#[source] std::io::Error),
}

impl StartupError {
    /// Whether the operator can fix this by correcting the configuration.
    pub fn is_bad_input(&self) -> bool {
        match self {
            StartupError::SecretKey(e) => e.is_bad_input(),
            // A role that could read around row-level security is a wrong setting.
            StartupError::Store(StoreError::PrivilegedRole(_)) => true,
            _ => false,
        }
    }
}

/// Opens the server's store and brings its schema up to date where this
/// process may: always on SQLite, and on PostgreSQL only with the owner's
/// URL (`migration_database_url`). Otherwise it refuses to start on a stale
/// schema rather than fail later on a missing table.
#[tracing::instrument(skip_all, fields(db = %config.database_url().redacted()))]
pub async fn open_store(config: &Config) -> Result<Store, StartupError> {
    let url = config.database_url();
    let options = StoreOptions::default();
    let store = connect(&url, &options).await?;
    match prepare_schema(&store, config, &url, &options).await {
        Ok(()) => Ok(store),
        Err(e) => {
            store.close().await;
            Err(e)
        }
    }
}

async fn prepare_schema(
    store: &Store,
    config: &Config,
    url: &DatabaseUrl,
    options: &StoreOptions,
) -> Result<(), StartupError> {
    if let Some(owner_url) = &config.migration_database_url {
        let owner = connect(owner_url, options).await?;
        let migrated = owner.migrate().await;
        owner.close().await;
        migrated?;
    }
    if matches!(url, DatabaseUrl::Sqlite(_)) {
        store.migrate().await?;
        return Ok(());
    }
    // Checked even after migrating as the owner: the two URLs may name
    // different databases, and only the server's own counts.
    let pending = store.pending_migrations().await?;
    if pending.is_empty() {
        return Ok(());
    }
    Err(StartupError::PendingMigrations {
        url: url.redacted(),
        versions: pending
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Connects to the store; an SQLite file's missing directory is created
/// first, private to the owner (the store would create it world-readable).
pub async fn connect(url: &DatabaseUrl, options: &StoreOptions) -> Result<Store, StoreError> {
    if let DatabaseUrl::Sqlite(path) = url
        && let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        crate::data_dir::create_private_dir(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    Store::connect(url, options).await
}

/// The configured secret key, or the data directory's, created on first start.
pub fn resolve_secret_key(config: &Config) -> Result<SecretKey, SecretKeyError> {
    if let Some(key) = &config.secret_key {
        return Ok(key.clone());
    }
    let (key, origin) = secret_key::load_or_create(&config.data_dir)?;
    if let KeyOrigin::Generated(path) = origin {
        warn!(
            path = %path.display(),
            "no secret key configured, so one was generated at {}; back it up (secrets sealed \
             with it cannot be opened without it), and on several replicas set the same \
             ONEPANE_SECRET_KEY on each",
            path.display()
        );
    }
    Ok(key)
}

/// A server ready to run: store open, listener bound.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: AppState,
    drain_timeout: Duration,
    connections: ConnectionLimits,
}

/// What one client connection may hold.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    /// Most served at once.
    max: usize,
    /// For a request's headers, and for idling between requests.
    header_timeout: Duration,
}

/// Open files kept for everything but client connections: the database
/// pool, outbound requests, the log, the SQLite files.
const RESERVED_FILES: u64 = 256;

/// Raises the open-file limit to its hard limit, and gives the connection
/// limit that fits under it (at most `wanted`).
fn connection_limit(wanted: u32) -> usize {
    let wanted = u64::from(wanted);
    let max = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(open_files) => {
            let fits = open_files.saturating_sub(RESERVED_FILES).max(16);
            if fits < wanted {
                warn!(
                    open_files,
                    max_connections = fits,
                    "the open-file limit allows fewer connections than max_connections"
                );
            }
            wanted.min(fits)
        }
        Err(e) => {
            warn!(error = %e, "cannot raise the open-file limit");
            wanted
        }
    };
    usize::try_from(max).unwrap_or(usize::MAX)
}

impl Application {
    /// Prepares everything `serve` needs: metrics, the store (migrated or
    /// checked, and its role vetted), the secret key, and the bound listener.
    /// Port 0 picks a free port; see [`Application::local_addr`].
    pub async fn build(config: &Config) -> Result<Application, StartupError> {
        let metrics = Metrics::new()?;
        // The database first: a start refused for its role or schema leaves
        // no generated key behind.
        let store = open_store(config).await?;
        match Self::build_on(config, metrics, store.clone()).await {
            Ok(app) => Ok(app),
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    /// The rest of [`Application::build`] once the store is open; the
    /// caller closes the store if this fails.
    async fn build_on(
        config: &Config,
        metrics: Metrics,
        store: Store,
    ) -> Result<Application, StartupError> {
        onepane_store::postgres::check_server_role(&store).await?;
        let secret_key = resolve_secret_key(config)?;
        let bind_error = |source| StartupError::Bind {
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let sealer = crate::seal::Sealer::new(&secret_key);
        let base = config.public_base(local_addr);
        let policy = crate::auth::jwt::TokenPolicy::new(base.clone(), format!("{base}/api"));
        let keys = crate::auth::keys::Keys::load(store.clone(), sealer.clone(), policy).await?;
        let engine = sync_engine(&store, &sealer, &config.outbound_allow)?;
        let outbound = onepane_connector::AddressPolicy::new(config.outbound_allow.clone());
        let oidc = crate::auth::oidc::RelyingParty::new(outbound.clone())
            .map_err(StartupError::SingleSignOn)?;
        let mailer = match (&config.smtp_url, &config.mail_from) {
            (Some(url), Some(from)) => Some(Arc::new(
                crate::mail::Mailer::new(url, from).map_err(StartupError::Mail)?,
            )),
            _ => None,
        };
        let public_base: Arc<str> = Arc::from(base);
        let clock_mail = crate::services::clock_mail::ClockMail::new(
            store.clone(),
            mailer.clone(),
            public_base.clone(),
            crate::services::clock_mail::UnsubscribeLinks::new(&secret_key),
            Arc::new(crate::web::mail_text::FluentMail),
            config.digest_hour,
            config.mail_interval,
        );
        let state = AppState {
            store,
            metrics,
            client_secrets: crate::auth::credentials::ClientSecrets::new(&secret_key),
            sealer,
            keys: Arc::new(keys),
            rate_limiter: Arc::new(RateLimiter::new(RateLimit {
                per_minute: config.rate_limit_per_minute,
                burst: config.rate_limit_burst,
            })),
            public_base,
            webhook_retry_base: config.webhook_retry_base,
            pricing: Arc::default(),
            outbound,
            oidc: Arc::new(oidc),
            engine,
            sync_workers: config.sync_workers,
            audit_retention_days: config.audit_retention_days,
            lead_undo: config.lead_undo,
            trusted_proxies: Arc::from(config.trusted_proxies.clone()),
            mailer,
            readiness: crate::http::health::Readiness::new(),
            deliveries_due: Arc::new(tokio::sync::Notify::new()),
            clock_mail,
        };
        Ok(Application {
            listener,
            local_addr,
            state,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            connections: ConnectionLimits {
                max: connection_limit(config.max_connections),
                header_timeout: config.header_timeout,
            },
        })
    }

    /// Sets how long requests in flight may take to finish after shutdown
    /// starts (default [`DEFAULT_DRAIN_TIMEOUT`]).
    pub fn with_drain_timeout(mut self, drain_timeout: Duration) -> Self {
        self.drain_timeout = drain_timeout;
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The store the server answers from.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Serves until `shutdown` completes, then lets in-flight requests
    /// finish (for at most the drain timeout) and closes the store.
    pub async fn run_until<F>(self, shutdown: F) -> Result<(), StartupError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Application {
            listener,
            local_addr,
            state,
            drain_timeout,
            connections,
        } = self;
        let store = state.store.clone();
        let upkeep = tokio::spawn(metrics_upkeep(state.metrics.clone()));
        // Shutdown reaches the sync workers as it reaches the listener, so
        // they hand their jobs back while requests drain.
        let (stopping, stop) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            let _ = stopping.send(true);
        };
        let Background { workers, others } = spawn_background(&state, &stop)?;
        info!(address = %local_addr, backend = store.backend(), "listening on http://{local_addr}");
        let metrics = state.metrics.clone();
        let served = serve(
            listener,
            crate::router::router(state),
            shutdown,
            drain_timeout,
            connections,
            metrics,
        )
        .await;
        upkeep.abort();
        for task in others {
            task.abort();
        }
        let handed_back = async {
            for worker in workers {
                let _ = worker.await;
            }
        };
        if tokio::time::timeout(WORKERS_STOP_WITHIN, handed_back)
            .await
            .is_err()
        {
            warn!("sync workers still stopping; their jobs' leases will run out instead");
        }
        match served {
            Ok(Drained::Fully) => store.close().await,
            Ok(Drained::TimedOut) | Err(_) => {
                if tokio::time::timeout(STORE_CLOSE_AFTER_TIMEOUT, store.close())
                    .await
                    .is_err()
                {
                    warn!("database connections still in use; leaving them to the process exit");
                }
            }
        }
        info!("stopped");
        served.map(drop).map_err(StartupError::Serve)
    }
}

/// How serving ended after the shutdown signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drained {
    /// Every connection finished.
    Fully,
    /// The drain timeout passed with connections still open.
    TimedOut,
}

/// Serves `router` until `shutdown` completes, then waits at most `drain`
/// for open connections. Without that bound, one client that sends half a
/// request and stalls would keep the process alive forever.
///
/// Each connection must send a request's headers within the header
/// timeout, and may idle between requests no longer than that; past the
/// connection limit a new connection is closed as it arrives, so the
/// process never runs out of files (and `/healthz` keeps answering).
async fn serve<F>(
    listener: TcpListener,
    router: axum::Router,
    shutdown: F,
    drain: Duration,
    limits: ConnectionLimits,
    metrics: Metrics,
) -> std::io::Result<Drained>
where
    F: Future<Output = ()> + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service as _;

    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of files or a connection reset before it was
                    // taken: wait a moment rather than spin on it.
                    debug!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.connection_refused();
            drop(stream);
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let Ok(service) = make_service.call(remote).await;
        let connection = http.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        let metrics = metrics.clone();
        metrics.connection(1.0);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "connection ended with an error");
            }
            metrics.connection(-1.0);
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => Ok(Drained::Fully),
        () = tokio::time::sleep(drain) => {
            // The connections' tasks are left behind; they end with the process.
            warn!(
                waited_secs = drain.as_secs_f64(),
                "requests still in flight {} s after shutdown started; stopping without them",
                drain.as_secs_f64()
            );
            Ok(Drained::TimedOut)
        }
    }
}

/// How long the sync workers get to hand their jobs back at shutdown.
const WORKERS_STOP_WITHIN: Duration = Duration::from_secs(5);

/// The tasks beside request handling.
struct Background {
    /// The sync workers: told to stop, and waited for.
    workers: Vec<tokio::task::JoinHandle<()>>,
    /// The rest: aborted at shutdown.
    others: Vec<tokio::task::JoinHandle<()>>,
}

/// The server's own work beside requests: running sync jobs, delivering
/// webhooks, reloading signing keys, expiring idempotency records, mailing
/// members their deadlines, probing the database. At shutdown the sync workers hand their jobs back (see
/// [`onepane_sync::Worker::run`]); the rest is aborted, and a webhook cut
/// off mid-delivery is retried when its lease runs out.
fn spawn_background(
    state: &AppState,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<Background, StartupError> {
    let policy = crate::webhooks::RetryPolicy {
        base: state.webhook_retry_base,
        ..crate::webhooks::RetryPolicy::default()
    };
    let dispatcher = crate::webhooks::Dispatcher::new(
        state.store.clone(),
        state.sealer.clone(),
        policy,
        state.outbound.clone(),
    )
    .map_err(|e| StartupError::Webhooks(Box::new(e)))?;
    let keys = Arc::clone(&state.keys);
    let store = state.store.clone();
    let (workers, mut tasks) = spawn_sync(state, stop);
    tasks.extend([
        tokio::spawn(state.readiness.clone().probe(state.store.clone())),
        tokio::spawn(dispatcher.run(std::future::pending())),
        tokio::spawn(keys.reload_periodically(std::future::pending())),
        // Every replica looks for the clock's mail; the outbox sends each once.
        tokio::spawn(state.clock_mail.clone().run()),
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every.tick().await;
                if let Err(e) = store.system().expire_idempotency_keys().await {
                    warn!(error = %crate::report::cause_chain(&e), "cannot expire idempotency keys");
                }
            }
        }),
    ]);
    Ok(Background {
        workers,
        others: tasks,
    })
}

/// The sync engine, sending through the configured address policy.
pub fn sync_engine(
    store: &Store,
    sealer: &crate::seal::Sealer,
    allow: &[onepane_connector::Cidr],
) -> Result<onepane_sync::Engine, StartupError> {
    let config = onepane_sync::EngineConfig {
        http: onepane_connector::ClientConfig {
            addresses: onepane_connector::AddressPolicy::new(allow.to_vec()),
            ..onepane_connector::ClientConfig::default()
        },
        ..onepane_sync::EngineConfig::default()
    };
    let owner = format!("{}:{}", onepane_sync::this_host(), std::process::id());
    onepane_sync::Engine::new(store.clone(), Arc::new(sealer.clone()), config, owner)
        .map_err(|e| StartupError::Webhooks(Box::new(e)))
}

/// Sync workers and the scheduler that feeds them: the scheduler follows
/// connections as they change (every 30 seconds).
fn spawn_sync(
    state: &AppState,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    if state.sync_workers == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut workers = Vec::new();
    for n in 0..state.sync_workers {
        let owner = format!("{}:{}:{n}", onepane_sync::this_host(), std::process::id());
        let worker =
            onepane_sync::Worker::new(state.engine.clone(), owner, Duration::from_secs(60));
        let mut stop = stop.clone();
        workers.push(tokio::spawn(worker.run(
            Duration::from_secs(1),
            async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            },
        )));
    }
    // What partners submit to vendors goes out from the outbox.
    let deliverer = onepane_sync::Deliverer::new(state.engine.clone(), Duration::from_secs(60))
        .with_mailer(Arc::new(crate::services::decisions::DecisionMailer::new(
            state.store.clone(),
            state.mailer.clone(),
            state.public_base.clone(),
        )));
    let mut stop_delivering = stop.clone();
    workers.push(tokio::spawn(deliverer.run(
        Duration::from_secs(1),
        state.deliveries_due.clone(),
        async move {
            let _ = stop_delivering.wait_for(|stopping| *stopping).await;
        },
    )));
    let store = state.store.clone();
    let keep_days = state.audit_retention_days;
    let scheduler = tokio::spawn(async move {
        let scheduler = match onepane_sync::Scheduler::start(store).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %crate::report::cause_chain(&e), "the sync scheduler did not start");
                return;
            }
        };
        if let Err(e) = scheduler.prune_audit_daily(keep_days).await {
            warn!(error = %crate::report::cause_chain(&e), "cannot schedule pruning the audit log");
        }
        let mut every = tokio::time::interval(Duration::from_secs(30));
        loop {
            every.tick().await;
            if let Err(e) = scheduler.reload().await {
                warn!(error = %crate::report::cause_chain(&e), "cannot reload the sync schedule");
            }
        }
    });
    (workers, vec![scheduler])
}

async fn metrics_upkeep(metrics: Metrics) {
    let mut every = tokio::time::interval(METRICS_UPKEEP_EVERY);
    loop {
        every.tick().await;
        metrics.run_upkeep();
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM, whichever comes first. The
/// handlers are installed when this is called, not when the future is first
/// polled, so a signal that arrives right after "listening" is not lost to
/// the default action (which would kill the process mid-request).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match streams {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    warn!(error = %e, "cannot listen for shutdown signals");
                    std::future::pending::<()>().await;
                }
            }
            info!("shutdown requested; finishing requests in flight");
        }
    }
    #[cfg(not(unix))]
    async move {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        info!("shutdown requested; finishing requests in flight");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::routing::get;
    use tokio::sync::{Notify, oneshot};

    use super::*;

    #[tokio::test]
    async fn a_request_in_flight_when_shutdown_starts_still_completes() {
        let entered = Arc::new(Notify::new());
        let release = Arc::new(Notify::new());
        // A route that holds its request until the test lets go, so the
        // request is certainly in flight when shutdown starts.
        let slow = {
            let (entered, release) = (Arc::clone(&entered), Arc::clone(&release));
            move || async move {
                entered.notify_one();
                release.notified().await;
                "done"
            }
        };
        let router = axum::Router::new().route("/slow", get(slow));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router,
            async {
                let _ = stopped.await;
            },
            Duration::from_secs(30),
            ConnectionLimits {
                max: 100,
                header_timeout: Duration::from_secs(10),
            },
            Metrics::new().unwrap(),
        ));
        let request = tokio::spawn(async move {
            let response = reqwest::get(format!("http://{addr}/slow")).await?;
            Ok::<_, reqwest::Error>((response.status(), response.text().await?))
        });

        entered.notified().await;
        stop.send(()).unwrap();
        // Shutdown has begun once the listener is gone.
        tokio::time::timeout(Duration::from_secs(5), async {
            while tokio::net::TcpStream::connect(addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the listener stayed open after the shutdown signal");
        release.notify_one();

        let (status, body) = request.await.unwrap().unwrap();
        assert_eq!((status.as_u16(), body.as_str()), (200, "done"));
        let drained = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("serve did not return once the request finished")
            .unwrap()
            .unwrap();
        assert_eq!(drained, Drained::Fully);
    }

    /// Serves a one-route router with `limits` until the test ends.
    async fn serving(limits: ConnectionLimits) -> (SocketAddr, Metrics) {
        let router = axum::Router::new().route("/", get(|| async { "ok" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Metrics::new().unwrap();
        tokio::spawn(serve(
            listener,
            router,
            std::future::pending(),
            Duration::from_secs(1),
            limits,
            metrics.clone(),
        ));
        (addr, metrics)
    }

    /// Reads until the server closes the connection; `None` if it is still
    /// open after `within`.
    async fn closed_within(
        stream: &mut tokio::net::TcpStream,
        within: Duration,
    ) -> Option<Vec<u8>> {
        use tokio::io::AsyncReadExt as _;
        let mut got = Vec::new();
        tokio::time::timeout(within, stream.read_to_end(&mut got))
            .await
            .ok()
            .map(|_| got)
    }

    #[tokio::test]
    async fn a_client_slow_with_its_headers_or_idle_between_requests_is_cut_off() {
        use tokio::io::AsyncWriteExt as _;
        let (addr, _) = serving(ConnectionLimits {
            max: 100,
            header_timeout: Duration::from_millis(300),
        })
        .await;
        // Half a request, never finished.
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        assert!(
            closed_within(&mut slow, Duration::from_secs(3))
                .await
                .is_some(),
            "a connection that never finished its headers stayed open"
        );
        // A whole request, answered, then silence on the kept-alive connection.
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = closed_within(&mut idle, Duration::from_secs(3))
            .await
            .expect("an idle kept-alive connection stayed open");
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }

    #[tokio::test]
    async fn connections_past_the_limit_are_closed_as_they_arrive() {
        let (addr, metrics) = serving(ConnectionLimits {
            max: 3,
            header_timeout: Duration::from_secs(30),
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let mut over = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(
            closed_within(&mut over, Duration::from_secs(3))
                .await
                .is_some(),
            "a fourth connection was held past the limit of three"
        );
        let shown = metrics.render();
        assert!(
            shown.contains("http_connections_refused_total 1"),
            "{shown}"
        );
        assert!(shown.contains("http_connections_open 3"), "{shown}");
        // A slot freed is a slot served.
        drop(held.pop());
        let served = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match reqwest::get(format!("http://{addr}/")).await {
                    Ok(r) if r.status() == 200 => break,
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
        .await;
        assert!(served.is_ok(), "no request was served once a slot was free");
    }
}
