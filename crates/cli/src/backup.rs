//! `onepane admin backup` and `onepane admin restore`.
//!
//! SQLite: the backup is an online, consistent copy (`VACUUM INTO`) taken
//! while the server keeps serving; a restore copies the file next to the
//! database, checks it (`PRAGMA integrity_check`, migrations this binary
//! knows), syncs it and renames it into place, so the database is either
//! the old file or the whole new one. PostgreSQL: `pg_dump` in its custom
//! format, as the role of the database URL, which must bypass row-level
//! security; `pg_restore --clean --if-exists --no-owner` in one transaction
//! as the owner (the migration URL when set). Both run as child processes
//! with the password in `PGPASSWORD`. docs/backups.md tells the whole story.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use clap::Args;
use onepane_store::backup::{check_sqlite_file, versions};
use onepane_store::{DatabaseUrl, Store, StoreError, StoreOptions};

use super::{CliError, output};
use onepane_server::auth::keys::open_key;
use onepane_server::config::Config;
use onepane_server::seal::Sealer;
use onepane_server::secret_key::KEY_FILE;
use onepane_server::startup::{connect, resolve_secret_key};

/// `admin backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write: a copy of the SQLite database, or a `pg_dump`
    /// archive (custom format) on PostgreSQL.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace FILE when it exists.
    #[arg(long)]
    pub force: bool,
}

/// `admin restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup `admin backup` wrote.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace the database when it exists (stop every server using it first).
    #[arg(long)]
    pub force: bool,
}

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file to write exists.
    #[error("{} exists; choose another file or pass --force to replace it", .0.display())]
    BackupExists(PathBuf),
    /// The database a restore would replace exists.
    #[error("the database {0} exists; stop every server using it and pass --force to replace it")]
    DatabaseExists(String),
    /// There is no SQLite database to back up.
    #[error(
        "there is no SQLite database at {}; check --data-dir or --database-url",
        .0.display()
    )]
    NoDatabase(PathBuf),
    /// The backup to restore cannot be read.
    #[error("cannot read the backup {}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The backup is not one this binary can restore.
    #[error("the backup cannot be restored")]
    Rejected(#[source] StoreError),
    /// A file operation failed.
    #[error("cannot {action} {}", path.display())]
    File {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A PostgreSQL client program is not installed.
    #[error(
        "{0} is not installed or not on PATH; install the PostgreSQL client programs \
         (the server's major version or newer), e.g. `apt-get install postgresql-client`"
    )]
    ToolMissing(&'static str),
    /// A PostgreSQL client program failed.
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed {
        /// The program.
        tool: &'static str,
        /// How it exited.
        status: String,
        /// What it said, trimmed.
        stderr: String,
    },
    /// The role cannot read every row, so its dump would be refused or partial.
    #[error(
        "the role `{0}` cannot read past row-level security (forced on every table, for the \
         owner too), so pg_dump would be refused; back up as a role with BYPASSRLS or a \
         superuser, given with --database-url (see docs/backups.md)"
    )]
    RowSecurity(String),
}

impl BackupError {
    /// Whether the operator can fix this by changing the command line.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            BackupError::BackupExists(_)
                | BackupError::DatabaseExists(_)
                | BackupError::NoDatabase(_)
                | BackupError::Unreadable { .. }
                | BackupError::Rejected(_)
                | BackupError::RowSecurity(_)
        )
    }
}

/// `admin backup --to FILE`.
pub(crate) async fn backup(args: BackupArgs, config: &Config) -> Result<(), CliError> {
    if !args.force && args.to.exists() {
        return Err(BackupError::BackupExists(args.to).into());
    }
    match config.database_url() {
        DatabaseUrl::Sqlite(path) => backup_sqlite(&path, &args.to).await,
        // The database URL, not the owner's: row-level security is forced
        // on the owner too, and only a role that bypasses it dumps every row.
        url @ DatabaseUrl::Postgres(_) => backup_postgres(&url, &args.to).await,
    }
}

async fn backup_sqlite(database: &Path, to: &Path) -> Result<(), CliError> {
    if !database.is_file() {
        return Err(BackupError::NoDatabase(database.to_owned()).into());
    }
    let url = DatabaseUrl::Sqlite(database.to_owned());
    output::line(&format!(
        "Backing up {} to {} while it serves.",
        url.redacted(),
        to.display()
    ))?;
    let started = Instant::now();
    let partial = Partial::beside(to)?;
    let store = Store::connect(&url, &one_connection()).await?;
    let copied = store.backup_into(partial.path()).await;
    store.close().await;
    copied?;
    let check = check_sqlite_file(partial.path()).await?;
    let size = partial.finish(to)?;
    output::line(&format!(
        "Backed up {} to {}: {}, schema {}, integrity ok, in {:.1} s.",
        url.redacted(),
        to.display(),
        bytes(size),
        schema(&check.applied),
        started.elapsed().as_secs_f64()
    ))?;
    key_reminder()
}

async fn backup_postgres(url: &DatabaseUrl, to: &Path) -> Result<(), CliError> {
    let store = connect(url, &one_connection()).await?;
    let role = store.role_reads_every_row().await;
    let applied = store.applied_migrations().await;
    store.close().await;
    if let Some((role, false)) = role? {
        return Err(BackupError::RowSecurity(role).into());
    }
    let applied = applied?;
    output::line(&format!(
        "Backing up {} to {} with pg_dump (custom format).",
        url.redacted(),
        to.display()
    ))?;
    let started = Instant::now();
    let partial = Partial::beside(to)?;
    let mut args: Vec<OsString> = ["--format=custom", "--no-password", "--file"]
        .map(OsString::from)
        .into();
    args.push(partial.path().into());
    run_tool("pg_dump", url, args).await?;
    let size = partial.finish(to)?;
    output::line(&format!(
        "Backed up {} to {}: {}, schema {}, in {:.1} s.",
        url.redacted(),
        to.display(),
        bytes(size),
        schema(&applied),
        started.elapsed().as_secs_f64()
    ))?;
    key_reminder()
}

/// `admin restore --from FILE`.
pub(crate) async fn restore(args: RestoreArgs, config: &Config) -> Result<(), CliError> {
    std::fs::File::open(&args.from).map_err(|source| BackupError::Unreadable {
        path: args.from.clone(),
        source,
    })?;
    match config.database_url() {
        DatabaseUrl::Sqlite(path) => restore_sqlite(&args, &path).await?,
        DatabaseUrl::Postgres(_) => restore_postgres(&args, &config.migration_target()).await?,
    }
    check_secret_key(config).await
}

async fn restore_sqlite(args: &RestoreArgs, database: &Path) -> Result<(), CliError> {
    let url = DatabaseUrl::Sqlite(database.to_owned());
    if !args.force && database.exists() {
        return Err(BackupError::DatabaseExists(url.redacted()).into());
    }
    output::line(&format!(
        "Restoring {} into {}.",
        args.from.display(),
        url.redacted()
    ))?;
    if let Some(dir) = parent(database)
        && !dir.exists()
    {
        onepane_server::data_dir::create_private_dir(dir).map_err(|source| BackupError::File {
            action: "create the data directory",
            path: dir.to_owned(),
            source,
        })?;
    }
    let partial = Partial::beside(database)?;
    std::fs::copy(&args.from, partial.path()).map_err(|source| BackupError::File {
        action: "copy the backup to",
        path: partial.path().to_owned(),
        source,
    })?;
    let check = check_sqlite_file(partial.path())
        .await
        .map_err(BackupError::Rejected)?;
    // The old database's write-ahead log belongs to the old file: left
    // beside the new one, SQLite would replay it into the wrong database.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let stale = PathBuf::from(name);
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(BackupError::File {
                    action: "remove",
                    path: stale,
                    source,
                }
                .into());
            }
        }
    }
    partial.finish(database)?;
    output::line(&format!(
        "Restored {} into {}: schema {}, integrity ok.",
        args.from.display(),
        url.redacted(),
        schema(&check.applied)
    ))?;
    if !check.pending.is_empty() {
        output::line(&format!(
            "The backup lacks migrations {}; `onepane serve` applies them at its next start.",
            versions(&check.pending)
        ))?;
    }
    Ok(())
}

async fn restore_postgres(args: &RestoreArgs, url: &DatabaseUrl) -> Result<(), CliError> {
    // A file pg_restore cannot list is no archive of ours: say so before
    // anything is dropped.
    run_tool_plain(
        "pg_restore",
        [OsString::from("--list"), args.from.clone().into()],
    )
    .await?;
    let store = connect(url, &one_connection()).await?;
    let applied = store.applied_migrations().await;
    store.close().await;
    let applied = applied?;
    if !args.force && !applied.is_empty() {
        return Err(BackupError::DatabaseExists(format!(
            "{} (schema {})",
            url.redacted(),
            schema(&applied)
        ))
        .into());
    }
    output::line(&format!(
        "Restoring {} into {} with pg_restore --clean --if-exists --no-owner, in one transaction.",
        args.from.display(),
        url.redacted()
    ))?;
    let started = Instant::now();
    let mut tool_args: Vec<OsString> = [
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
    ]
    .map(OsString::from)
    .into();
    tool_args.push(args.from.clone().into());
    run_tool("pg_restore", url, tool_args).await?;
    let store = connect(url, &one_connection()).await?;
    let found = async {
        Ok::<_, StoreError>((
            store.applied_migrations().await?,
            store.unknown_migrations().await?,
            store.pending_migrations().await?,
        ))
    }
    .await;
    store.close().await;
    let (applied, unknown, pending) = found?;
    output::line(&format!(
        "Restored {} into {}: schema {}, in {:.1} s.",
        args.from.display(),
        url.redacted(),
        schema(&applied),
        started.elapsed().as_secs_f64()
    ))?;
    if !unknown.is_empty() {
        return Err(BackupError::Rejected(StoreError::Rule(format!(
            "it was written by a newer Onepane: this one does not know its migrations {}; \
             run that version (the data is restored)",
            versions(&unknown)
        )))
        .into());
    }
    if !pending.is_empty() {
        output::line(&format!(
            "The backup lacks migrations {}; run `onepane migrate` as the owner role before \
             `onepane serve`.",
            versions(&pending)
        ))?;
    }
    Ok(())
}

/// After a restore: whether the secret key in place opens the restored
/// database's sealed signing keys (the one sealed secret every
/// installation has).
async fn check_secret_key(config: &Config) -> Result<(), CliError> {
    let key_file = config.data_dir.join(KEY_FILE);
    if config.secret_key.is_none() && !key_file.exists() {
        return output::line(&format!(
            "No secret key is in place: copy the secret.key of the installation the backup \
             came from to {} (or set ONEPANE_SECRET_KEY) before `onepane serve`; a new key \
             opens none of the backup's sealed secrets.",
            key_file.display()
        ));
    }
    let sealer = Sealer::new(
        &resolve_secret_key(config)
            .map_err(|e| CliError::Startup(onepane_server::startup::StartupError::SecretKey(e)))?,
    );
    let store = connect(&config.database_url(), &one_connection()).await?;
    let keys = store
        .system()
        .signing_keys(chrono::Utc::now() - chrono::Duration::days(3650))
        .await;
    store.close().await;
    let keys = keys?;
    match keys.iter().find_map(|k| open_key(&sealer, k).err()) {
        None => output::line(
            "The secret key in place opens the backup's sealed secrets (signing keys checked).",
        ),
        Some(e) => output::line(&format!(
            "Warning: the secret key in place does not open the backup's sealed secrets ({}); \
             put the key of the installation the backup came from in place before \
             `onepane serve`.",
            onepane_server::report::cause_chain(&e)
        )),
    }
}

fn key_reminder() -> Result<(), CliError> {
    output::line(
        "Keep the secret key (secret.key in the data directory, or ONEPANE_SECRET_KEY) with the \
         backup: its sealed credentials and signing keys open only with that key.",
    )
}

/// Runs a PostgreSQL client program against `url`, the password in
/// `PGPASSWORD` rather than on its command line.
async fn run_tool(
    tool: &'static str,
    url: &DatabaseUrl,
    args: Vec<OsString>,
) -> Result<(), CliError> {
    let Some((target, password)) = url.for_libpq() else {
        return Ok(());
    };
    let mut command = tokio::process::Command::new(tool);
    command.args(args).arg(format!("--dbname={target}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    finish_tool(tool, command).await
}

async fn run_tool_plain<const N: usize>(
    tool: &'static str,
    args: [OsString; N],
) -> Result<(), CliError> {
    let mut command = tokio::process::Command::new(tool);
    command.args(args);
    finish_tool(tool, command).await
}

async fn finish_tool(
    tool: &'static str,
    mut command: tokio::process::Command,
) -> Result<(), CliError> {
    let done = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BackupError::ToolMissing(tool),
            _ => BackupError::ToolFailed {
                tool,
                status: "did not start".to_owned(),
                stderr: e.to_string(),
            },
        })?;
    if done.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&done.stderr);
    let lines: Vec<&str> = said
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Err(BackupError::ToolFailed {
        tool,
        status: done.status.to_string(),
        stderr: lines[lines.len().saturating_sub(3)..].join(" / "),
    }
    .into())
}

/// A file being written beside its final name, removed unless finished.
struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    /// `.NAME.partial-PID` in FILE's directory, so the rename stays on one
    /// file system.
    fn beside(file: &Path) -> Result<Partial, BackupError> {
        let name = file.file_name().ok_or_else(|| BackupError::File {
            action: "write",
            path: file.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
        })?;
        let mut partial = OsString::from(".");
        partial.push(name);
        partial.push(format!(".partial-{}", std::process::id()));
        let path = parent(file).unwrap_or(Path::new(".")).join(partial);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(BackupError::File {
                    action: "remove",
                    path,
                    source,
                });
            }
        }
        Ok(Partial { path, done: false })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the file private, syncs it, renames it to `file` and syncs the
    /// directory, so a crash leaves the old file or the whole new one.
    /// Returns its size.
    fn finish(mut self, file: &Path) -> Result<u64, BackupError> {
        let fail = |action, path: &Path| {
            let path = path.to_owned();
            move |source| BackupError::File {
                action,
                path,
                source,
            }
        };
        let written = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(fail("open", &self.path))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            written
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(fail("make private", &self.path))?;
        }
        written.sync_all().map_err(fail("sync", &self.path))?;
        let size = written.metadata().map_err(fail("read", &self.path))?.len();
        drop(written);
        std::fs::rename(&self.path, file).map_err(fail("rename into place", file))?;
        self.done = true;
        let dir = parent(file).unwrap_or(Path::new("."));
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail("sync", dir))?;
        Ok(size)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn parent(file: &Path) -> Option<&Path> {
    file.parent().filter(|d| !d.as_os_str().is_empty())
}

/// A pool of one connection: the commands here do one thing at a time.
fn one_connection() -> StoreOptions {
    StoreOptions {
        max_connections: 1,
        ..StoreOptions::default()
    }
}

fn schema(applied: &[i64]) -> String {
    applied
        .last()
        .map_or_else(|| "empty".to_owned(), |v| format!("{v:04}"))
}

fn bytes(size: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = size as f64 / (1024.0 * 1024.0);
    if mib >= 1.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.1} KiB", size as f64 / 1024.0)
    }
}
