//! `onepane demo`: the real server on an embedded SQLite database, with a
//! demo workspace and three simulated vendors (see [`onepane_demo`]), until
//! Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use clap::Args;
use tracing::warn;

use super::{CliError, output};
use onepane_demo::{Demo, DemoOptions, Ready, WORKSPACE_NAME};
use onepane_server::auth::credentials::ClientSecrets;
use onepane_server::config::Config;
use onepane_server::seal::Sealer;
use onepane_server::startup::{Application, StartupError, resolve_secret_key, shutdown_signal};

/// Where the demo keeps its data unless `--data-dir` says otherwise: apart
/// from `serve`'s, so a demo never seeds a real installation.
pub(crate) const DEFAULT_DATA_DIR: &str = "./onepane-demo";

/// What the demo logs unless `--log` or `ONEPANE_LOG` says otherwise: its
/// own doings, the server starting and stopping, and the sync runs, but not
/// every request.
pub(crate) const DEFAULT_LOG_FILTER: &str =
    "warn,onepane_server::startup=info,onepane_demo=info,onepane_sync=info";

/// `demo`'s own flags (`--data-dir` is the global one, defaulting to
/// `./onepane-demo` here).
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The address to listen on; port 0 picks a free one [env: ONEPANE_LISTEN]
    /// [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Seconds the simulated vendors wait before deciding a deal registration
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub decide_after: u64,
}

/// Runs the demo until SIGINT or SIGTERM.
pub(crate) async fn run(args: DemoArgs, config: Config) -> Result<(), CliError> {
    let started = Instant::now();
    let shutdown = shutdown_signal();
    let loopback: onepane_connector::Cidr =
        "127.0.0.1/32"
            .parse()
            .map_err(|e: onepane_connector::CidrError| CliError::Argument {
                flag: "outbound_allow",
                source: Box::new(e),
            })?;
    let mut outbound_allow = config.outbound_allow.clone();
    // The simulated vendors listen on loopback, which Onepane's connectors
    // refuse unless allowed.
    outbound_allow.push(loopback);
    let config = Config {
        // Always the embedded database and the key in the demo's own
        // directory, whatever the environment names for a real installation.
        database_url: None,
        migration_database_url: None,
        secret_key: None,
        outbound_allow,
        sync_workers: config.sync_workers.max(1),
        ..config
    };
    let app = Application::build(&config).await?;
    let bound = app.local_addr();
    let reachable = reachable(bound);
    let (sealer, client_secrets) = match resolve_secret_key(&config) {
        Ok(key) => (Sealer::new(&key), ClientSecrets::new(&key)),
        Err(e) => {
            app.store().close().await;
            return Err(StartupError::from(e).into());
        }
    };
    let options = DemoOptions {
        data_dir: config.data_dir.clone(),
        onepane_url: format!("http://{reachable}"),
        decide_after: Duration::from_secs(args.decide_after),
        started,
        client_secrets,
    };
    let mut demo = match Demo::start(app.store().clone(), sealer, options).await {
        Ok(demo) => demo,
        Err(e) => {
            app.store().close().await;
            return Err(e.into());
        }
    };
    let url = config.public_base(reachable);
    let mut text = format!(
        "Onepane demo: workspace \"{WORKSPACE_NAME}\" with three simulated vendors (data in {}).",
        config.data_dir.display()
    );
    for v in &demo.vendors {
        text.push_str(&format!(
            "\n  {} ({}, {}): {}",
            v.name, v.kind, v.tier, v.plugged
        ));
    }
    text.push_str(&format!(
        "\nPartner API token: {} (send `Authorization: Bearer <token>` to {url}/api/v1; API \
         reference at {url}/api/docs).\nThe logins are kept in {}.\n\n\
         Open {url}  Log in as {} / {}\n\
         Press Ctrl-C to stop.",
        demo.login.api_token,
        demo.login_file.display(),
        demo.login.email,
        demo.login.password,
    ));
    if let Err(e) = output::line(&text) {
        demo.stop();
        app.store().close().await;
        return Err(e);
    }
    let announce = demo.take_ready().map(|ready| tokio::spawn(announce(ready)));
    let served = app.run_until(shutdown).await;
    if let Some(task) = announce {
        task.abort();
    }
    demo.stop();
    served?;
    Ok(())
}

/// The address to reach a server bound to `bound` at: itself, or loopback
/// when it listens on every address.
fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    }
}

/// Says when every vendor's first sync or publish is in.
async fn announce(ready: tokio::sync::oneshot::Receiver<Ready>) {
    let Ok(ready) = ready.await else {
        return;
    };
    let line = format!(
        "All three vendors are in after {:.1} s: {} campaigns, {} assets, {} price items and {} \
         leads in {WORKSPACE_NAME}.",
        ready.took.as_secs_f64(),
        ready.campaigns,
        ready.assets,
        ready.price_items,
        ready.leads
    );
    if let Err(e) = output::line(&line) {
        warn!(error = %onepane_server::report::cause_chain(&e), "cannot write to standard output");
    }
}
