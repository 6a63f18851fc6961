//! `onepane sync`: run a connection now, and see how runs went.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use onepane_domain::ConnectionId;
use onepane_store::SyncRun;
use onepane_sync::Progress;

use super::{CliError, output, parse_flag};
use onepane_server::config::Config;
use onepane_server::seal::Sealer;
use onepane_server::startup::{open_store, resolve_secret_key, sync_engine};

/// Connection syncs.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Run one connection now (a source's sync or a CRM's push), with a
    /// progress bar; a run stopped part-way resumes from its last page.
    Run(RunArgs),
    /// List the latest runs across workspaces.
    Status(StatusArgs),
}

/// `sync run`'s flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The connection's id.
    #[arg(long, value_name = "ID")]
    pub connection: String,
    /// Print the finished run as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// `sync status`'s flags.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(command: SyncCommand, config: &Config) -> Result<(), CliError> {
    match command {
        SyncCommand::Run(args) => {
            let id: ConnectionId = parse_flag("--connection", &args.connection)?;
            let key =
                resolve_secret_key(config).map_err(onepane_server::startup::StartupError::from)?;
            let store = open_store(config).await?;
            let result = async {
                let connection = store.system().find_connection(id).await?;
                let engine = sync_engine(&store, &Sealer::new(&key), &config.outbound_allow)?;
                let bar = Bar::new(!args.json);
                let outcome = engine.run(&connection, None, &bar).await;
                bar.finish();
                outcome.map_err(|e| CliError::Run(e.to_string()))
            }
            .await;
            store.close().await;
            let run = result?;
            if args.json {
                return output::json(&run);
            }
            output::line(&format!(
                "{} {} in {}: {} read, {} created, {} updated, {} unchanged, {} deleted, {} failed.",
                run.kind,
                run.status,
                elapsed(&run),
                run.read,
                run.created,
                run.updated,
                run.unchanged,
                run.deleted,
                run.failed
            ))
        }
        SyncCommand::Status(args) => {
            let store = open_store(config).await?;
            let runs = store.system().recent_runs(args.limit.clamp(1, 1000)).await;
            store.close().await;
            let runs = runs?;
            if args.json {
                return output::json(&runs);
            }
            if runs.is_empty() {
                return output::line("No runs yet.");
            }
            let mut table = format!(
                "{:<36}  {:<4}  {:<9}  {:<20}  {:>8}  {:>8}  {:>8}  {:>9}  {:>7}  {:>6}  {:>8}",
                "CONNECTION",
                "KIND",
                "STATUS",
                "STARTED",
                "READ",
                "CREATED",
                "UPDATED",
                "UNCHANGED",
                "DELETED",
                "FAILED",
                "TOOK"
            );
            for run in &runs {
                table.push_str(&format!(
                    "\n{:<36}  {:<4}  {:<9}  {:<20}  {:>8}  {:>8}  {:>8}  {:>9}  {:>7}  {:>6}  {:>8}",
                    run.connection_id,
                    run.kind,
                    run.status,
                    run.started_at.format("%Y-%m-%d %H:%M:%S"),
                    run.read,
                    run.created,
                    run.updated,
                    run.unchanged,
                    run.deleted,
                    run.failed,
                    elapsed(run)
                ));
                if let Some(first) = run.errors.first() {
                    table.push_str(&format!("\n    {first}"));
                }
            }
            output::line(&table)
        }
    }
}

fn elapsed(run: &SyncRun) -> String {
    let end = run.finished_at.unwrap_or_else(chrono::Utc::now);
    let ms = (end - run.started_at).num_milliseconds().max(0);
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// A progress bar on standard error: redrawn in place on a terminal, a
/// line every few seconds otherwise.
struct Bar {
    shown: bool,
    terminal: bool,
    last: Mutex<Option<Instant>>,
}

impl Bar {
    fn new(shown: bool) -> Self {
        Self {
            shown,
            terminal: std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }

    fn finish(&self) {
        if self.shown && self.terminal {
            let _ = writeln!(std::io::stderr());
        }
    }
}

impl Progress for Bar {
    fn update(&self, run: &SyncRun) {
        if !self.shown {
            return;
        }
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let done = run.finished_at.is_some();
            if last.is_some_and(|at| at.elapsed() < every) && !done {
                return;
            }
            *last = Some(Instant::now());
        }
        let counts = format!(
            "{} read · {} created · {} updated · {} unchanged · {} failed",
            run.read, run.created, run.updated, run.unchanged, run.failed
        );
        let line = match run.total.filter(|t| *t > 0) {
            Some(total) => {
                let width = 30u64;
                let filled = (run.read.min(total) * width / total) as usize;
                format!(
                    "[{}{}] {}/{} · {counts}",
                    "#".repeat(filled),
                    "-".repeat(width as usize - filled),
                    run.read,
                    total
                )
            }
            None => counts,
        };
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }
}
