//! What the server's benchmarks share: a served application on each
//! backend, a vendor's access token, and the scale knobs.

use std::future::Future;
use std::net::SocketAddr;

use onepane_domain::VendorId;
use onepane_domain::text::Name;
use onepane_server::auth::credentials::{CLIENT_SECRET_PREFIX, ClientSecrets, random_secret};
use onepane_server::http::oauth::SCOPES;
use onepane_server::secret_key::SecretKey;
use onepane_server::{Application, Config, StartupError};
use onepane_store::testing::{TEST_SERVER_ROLE, TestDb};
use onepane_store::{DatabaseUrl, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The secret key every benchmarked server runs with, so that the API
/// clients made here digest their secrets as the server does.
fn bench_key() -> &'static SecretKey {
    static KEY: std::sync::OnceLock<SecretKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| SecretKey::generate().unwrap())
}

/// A size from the environment (to scale a run down), else `default`.
pub fn scale(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `run` on SQLite, then on PostgreSQL when a server answers at
/// ONEPANE_TEST_DATABASE_URL (saying so when none does), after printing
/// the table's `header` lines. `base` is the configuration both share.
pub fn on_each_backend<F, Fut>(header: &[&str], base: Config, run: F)
where
    F: Fn(&'static str, Config, Option<TestDb>) -> Fut,
    Fut: Future<Output = ()>,
{
    // `cargo bench` passes --bench; nothing else is taken.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for line in header {
            println!("{line}");
        }
        let dir = tempfile::tempdir().unwrap();
        let base = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rate_limit_per_minute: u32::MAX / 2,
            rate_limit_burst: 1_000_000,
            secret_key: Some(bench_key().clone()),
            ..base
        };
        run(
            "SQLite",
            Config {
                data_dir: dir.path().join("data"),
                ..base.clone()
            },
            None,
        )
        .await;
        match TestDb::postgres().await {
            Some(db) => {
                let url = db.postgres_url_as(TEST_SERVER_ROLE).unwrap();
                let pg_dir = tempfile::tempdir().unwrap();
                run(
                    "PostgreSQL",
                    Config {
                        data_dir: pg_dir.path().join("data"),
                        database_url: Some(DatabaseUrl::Postgres(url)),
                        ..base
                    },
                    Some(db),
                )
                .await;
            }
            None => {
                println!("\nPostgreSQL skipped: no server answers at ONEPANE_TEST_DATABASE_URL.")
            }
        }
    });
}

/// A served application until [`Served::stop`].
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its store, to seed.
    pub store: Store,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<(), StartupError>>,
}

impl Served {
    /// Builds and serves the application.
    pub async fn start(config: &Config) -> Served {
        let app = Application::build(config).await.unwrap();
        let addr = app.local_addr();
        let store = app.store().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Served {
            addr,
            store,
            stop,
            server,
        }
    }

    /// Stops it and waits until it has.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// A new API client of `vendor` with every scope, and an access token for it.
pub async fn vendor_token(
    store: &Store,
    client: &reqwest::Client,
    addr: SocketAddr,
    vendor: VendorId,
) -> String {
    let secret = random_secret(CLIENT_SECRET_PREFIX).unwrap();
    let scopes: Vec<String> = SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let api = store
        .operator()
        .create_api_client(
            vendor,
            &Name::parse("bench").unwrap(),
            &ClientSecrets::new(bench_key()).digest(&secret),
            &scopes,
        )
        .await
        .unwrap();
    let token: serde_json::Value = client
        .post(format!("http://{addr}/oauth/token"))
        .basic_auth(api.id.to_string(), Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}
