//! The command line: `serve`, `demo`, `migrate`, `admin` and `sync`.
//!
//! Exit codes: 0 on success; 2 when the command line, the configuration or
//! the data asked for is wrong (fix the input and retry); 1 when the
//! environment fails (a database that does not answer, a port in use).
//! Every failure is one `error: ...` line on standard error.

mod admin;
mod backup;
mod demo;
mod output;
mod sync;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory as _, Parser, Subcommand};
use onepane_store::{StoreError, StoreOptions};

use onepane_server::config::{Config, ConfigError, Environment, Overrides};
use onepane_server::report::cause_chain;
use onepane_server::startup::{self, Application, StartupError, shutdown_signal};
use onepane_server::telemetry;

pub use admin::AdminCommand;
pub use backup::{BackupArgs, BackupError, RestoreArgs};
pub use demo::DemoArgs;

/// Onepane: one workspace for a channel partner and every vendor it sells for.
#[derive(Debug, Parser)]
#[command(name = "onepane", version, propagate_version = true)]
pub struct Cli {
    /// Settings that apply to every command.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that override the config file and the environment.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Read settings from this TOML file [env: ONEPANE_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The database: sqlite://path or postgres://user@host/db [env: ONEPANE_DATABASE_URL]
    /// [default: sqlite in the data directory]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// The owner role's database URL, used to run migrations on PostgreSQL
    /// [env: ONEPANE_MIGRATION_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub migration_database_url: Option<String>,
    /// Where the SQLite database and the generated secret key live
    /// [env: ONEPANE_DATA_DIR] [default: ./onepane-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// Log line format: text or json [env: ONEPANE_LOG_FORMAT] [default: text]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log filter in env-filter syntax, e.g. info or onepane_server=debug [env: ONEPANE_LOG]
    /// [default: info]
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Run the server with a demo workspace and three simulated vendors,
    /// on SQLite in ./onepane-demo (or --data-dir), until Ctrl-C.
    ///
    /// The demo keeps to its own directory: the database URLs, the secret key
    /// and the data directory a real installation sets in the environment or
    /// a config file do not apply to it. It prints the URL, a login and an
    /// API token; a second start on the same directory reuses everything.
    Demo(DemoArgs),
    /// Apply pending database migrations (as the owner role on PostgreSQL).
    Migrate,
    /// Operator tasks: workspaces, vendors, links, PostgreSQL roles.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Connection syncs: run one now, list the latest runs.
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Ask a running server whether it is alive (`GET /healthz` at the
    /// listen address, or --url); exits 0 when it answers. For container
    /// health checks, whose images have no HTTP client.
    Healthcheck(HealthcheckArgs),
}

/// `healthcheck`'s flags.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The URL to ask [default: /healthz at the configured listen address]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// `serve`'s own flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on [env: ONEPANE_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line does not parse: an unknown command, a missing or
    /// unknown flag.
    #[error("{message} (see `{command} --help`)")]
    Usage {
        /// What clap found wrong.
        message: String,
        /// The command whose help tells the right usage.
        command: String,
    },
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A command-line value does not parse.
    #[error("invalid {flag}")]
    Argument {
        /// The flag.
        flag: &'static str,
        /// What is wrong with its value.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Startup failed.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sync run failed.
    #[error("the run failed: {0}")]
    Run(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// Standard output could not be written.
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    /// A secret could not be made.
    #[error("cannot make a secret")]
    Secret(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The demo could not start.
    #[error(transparent)]
    Demo(#[from] onepane_demo::DemoError),
    /// The server did not answer its health check.
    #[error("the server at {url} is not healthy: {why}")]
    Unhealthy {
        /// What was asked.
        url: String,
        /// What came back.
        why: String,
    },
    /// A backup or a restore failed.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The trace exporter could not be set up.
    #[error(transparent)]
    Traces(#[from] telemetry::TracesError),
}

impl CliError {
    /// 2 for input the operator can correct, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        let bad_input = match self {
            CliError::Usage { .. } | CliError::Config(_) | CliError::Argument { .. } => true,
            CliError::Startup(StartupError::Store(e)) | CliError::Store(e) => {
                store_refused_input(e)
            }
            CliError::Startup(e) => e.is_bad_input(),
            CliError::Demo(onepane_demo::DemoError::Store(e)) => store_refused_input(e),
            CliError::Demo(e) => e.is_bad_input(),
            CliError::Backup(e) => e.is_bad_input(),
            CliError::Traces(e) => e.is_bad_input(),
            CliError::Runtime(_)
            | CliError::Output(_)
            | CliError::Secret(_)
            | CliError::Run(_)
            | CliError::Unhealthy { .. } => false,
        };
        if bad_input { 2 } else { 1 }
    }
}

/// Whether the store refused what was asked (an unknown id, a duplicate, a
/// broken rule, a privileged role) rather than failed.
fn store_refused_input(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::NotFound { .. }
            | StoreError::NotLinked(_)
            | StoreError::Conflict(_)
            | StoreError::Rule(_)
            | StoreError::PrivilegedRole(_)
    )
}

/// Parses a flag's value into its domain type, naming the flag on failure.
pub(crate) fn parse_flag<T>(flag: &'static str, value: &str) -> Result<T, CliError>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value.parse().map_err(|e| CliError::Argument {
        flag,
        source: Box::new(e),
    })
}

/// Runs the command line of this process and says how it went.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut healthcheck = false;
    let result = match Cli::try_parse_from(&args) {
        Ok(cli) => {
            healthcheck = matches!(cli.command, Command::Healthcheck(_));
            run(cli)
        }
        Err(e) => match e.kind() {
            // Help and the version are output, not errors: clap prints them.
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => Err(usage_error(&e, &args)),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::report(&error);
            // A container runtime reads a health check's 0 or 1 only (it
            // reserves 2), so every failure of one is 1.
            if healthcheck {
                ExitCode::FAILURE
            } else {
                ExitCode::from(error.exit_code())
            }
        }
    }
}

/// Turns clap's several-line report into [`CliError::Usage`], which prints
/// as one line like every other error.
fn usage_error(error: &clap::Error, args: &[OsString]) -> CliError {
    let text = error.render().to_string();
    // The report is paragraphs: the message, perhaps tips ("a similar
    // subcommand exists"), the usage and a pointer to --help. The message
    // and the tips are worth the line; the help hint is given our way.
    let mut paragraphs = text.split("\n\n").map(str::trim);
    let first = paragraphs.next().unwrap_or_default();
    let mut message = first.strip_prefix("error:").unwrap_or(first).to_owned();
    for tip in paragraphs.filter(|p| p.starts_with("tip:")) {
        message.push_str("; ");
        message.push_str(tip);
    }
    CliError::Usage {
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        command: command_path(args),
    }
}

/// The subcommands named on the command line, e.g. `onepane admin link`.
fn command_path(args: &[OsString]) -> String {
    let root = Cli::command();
    let mut command = &root;
    let mut path = vec![root.get_name()];
    for arg in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if let Some(sub) = command.find_subcommand(arg) {
            path.push(sub.get_name());
            command = sub;
        }
    }
    path.join(" ")
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let Cli { settings, command } = cli;
    if let Command::Admin(AdminCommand::PostgresRoles(args)) = &command {
        // Pure text generation: no configuration needed, so a broken one
        // does not stand in the way of setting up the database.
        return admin::postgres_roles(args);
    }
    let listen = match &command {
        Command::Serve(args) => args.listen.clone(),
        Command::Demo(args) => args.listen.clone(),
        _ => None,
    };
    let data_dir = match &command {
        Command::Demo(_) => {
            if let Some(flag) = [
                ("--database-url", &settings.database_url),
                ("--migration-database-url", &settings.migration_database_url),
            ]
            .into_iter()
            .find_map(|(flag, value)| value.is_some().then_some(flag))
            {
                return Err(CliError::Argument {
                    flag,
                    source: "the demo runs on SQLite in its data directory; choose that with \
                             --data-dir"
                        .into(),
                });
            }
            // The demo's own directory, not the one a real installation
            // may name in the environment or the config file.
            Some(
                settings
                    .data_dir
                    .unwrap_or_else(|| demo::DEFAULT_DATA_DIR.to_owned()),
            )
        }
        _ => settings.data_dir,
    };
    let env = Environment::from_process()?;
    let log = match &command {
        // A request log scrolling past would bury the login the demo
        // prints; it says what happens in the demo itself unless asked
        // for more.
        Command::Demo(_) if settings.log.is_none() && env.get("ONEPANE_LOG").is_none() => {
            Some(demo::DEFAULT_LOG_FILTER.to_owned())
        }
        _ => settings.log,
    };
    let overrides = Overrides {
        config: settings.config,
        database_url: settings.database_url,
        migration_database_url: settings.migration_database_url,
        listen,
        data_dir,
        log_format: settings.log_format,
        log,
    };
    let config = Config::load(&overrides, &env)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    // Only the server exports traces: a one-off command (a container's
    // health check every few seconds) would wait on the collector as it exits.
    let traces = match &command {
        Command::Serve(_) => config.trace_export(),
        _ => None,
    };
    let exporting = {
        let _entered = runtime.enter();
        telemetry::init(config.log_format, &config.log_filter, traces.as_ref())?
    };
    runtime.block_on(async move {
        let result = match command {
            Command::Serve(_) => serve(&config).await,
            Command::Demo(args) => demo::run(args, config).await,
            Command::Migrate => migrate(&config).await,
            Command::Admin(admin) => admin::run(admin, &config).await,
            Command::Sync(command) => sync::run(command, &config).await,
            Command::Healthcheck(args) => healthcheck(args, &config).await,
        };
        if let Some(exporting) = exporting {
            exporting.shutdown().await;
        }
        result
    })
}

/// `healthcheck`: a wildcard listen address is asked on loopback.
async fn healthcheck(args: HealthcheckArgs, config: &Config) -> Result<(), CliError> {
    let url = args.url.unwrap_or_else(|| {
        let mut addr = config.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}/healthz")
    });
    let unhealthy = |why: String| CliError::Unhealthy {
        url: url.clone(),
        why,
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| unhealthy(e.to_string()))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| unhealthy(cause_chain(&e)))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(unhealthy(format!("it answered {}", response.status())))
    }
}

async fn serve(config: &Config) -> Result<(), CliError> {
    let app = Application::build(config).await?;
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

async fn migrate(config: &Config) -> Result<(), CliError> {
    let url = config.migration_target();
    let store = startup::connect(&url, &StoreOptions::default()).await?;
    let result = async {
        let pending = store.pending_migrations().await?;
        store.migrate().await?;
        Ok::<_, StoreError>(pending)
    }
    .await;
    store.close().await;
    let applied = result?;
    let line = if applied.is_empty() {
        format!(
            "The schema at {} is current; no migrations to apply.",
            url.redacted()
        )
    } else {
        let versions: Vec<String> = applied.iter().map(|v| format!("{v:04}")).collect();
        let noun = if applied.len() == 1 {
            "migration"
        } else {
            "migrations"
        };
        format!(
            "Applied {} {noun} ({}) to {}.",
            applied.len(),
            versions.join(", "),
            url.redacted()
        )
    };
    output::line(&line)
}

/// The error as the one line `main` prints.
pub fn error_line(error: &CliError) -> String {
    format!("error: {}", cause_chain(error))
}
