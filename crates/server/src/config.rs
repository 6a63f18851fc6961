//! Settings, layered: defaults, then a TOML file, then `ONEPANE_*`
//! environment variables, then command-line flags (the highest).
//!
//! Every value is parsed here, once, and an error names the setting, the
//! place it came from and what is wrong with it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use onepane_store::DatabaseUrl;
use serde::Deserialize;

use crate::secret_key::{SecretKey, SecretKeyError};
pub use crate::telemetry::{LogFormat, LogFormatError};

/// The `service.name` traces carry when none is configured.
pub const DEFAULT_SERVICE_NAME: &str = "onepane";

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "ONEPANE_CONFIG";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read the config file {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML or holds an unknown key.
    #[error("{}:{line}:{column}: {message}", path.display())]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A value does not parse.
    #[error("invalid {setting} (from {origin})")]
    Invalid {
        /// The setting's name in the config file.
        setting: &'static str,
        /// Where the value came from.
        origin: Origin,
        /// What is wrong with it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An `ONEPANE_*` variable holds bytes that are not UTF-8.
    #[error("the environment variable {0} is not valid UTF-8")]
    NotUnicode(String),
    /// The file a `*_FILE` variable names could not be read.
    #[error("cannot read {variable} from {} (named by {variable}_FILE)", path.display())]
    SecretFile {
        /// The variable the file sets.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A variable is set both directly and from a file.
    #[error("both {0} and {0}_FILE are set; set one of them")]
    SetTwice(&'static str),
}

/// The variables that may also be read from a file (`ONEPANE_SECRET_KEY_FILE`
/// and so on), as container secrets are mounted: the secret ones.
pub const FROM_FILE: [&str; 4] = [
    "ONEPANE_SECRET_KEY",
    "ONEPANE_DATABASE_URL",
    "ONEPANE_MIGRATION_DATABASE_URL",
    "ONEPANE_SMTP_URL",
];

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The config file.
    File(PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// A command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => f.write_str(var),
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// A setting from the highest layer that has it: the flag, the
/// environment variable, the config file.
macro_rules! pick {
    ($layers:expr, $key:ident, $env:literal, $flag:literal) => {{
        let from_flag = $layers.flags.$key.clone().map(|v| (v, Origin::Flag($flag)));
        let from_env = $layers
            .env
            .get($env)
            .map(|v| (v.to_owned(), Origin::Env($env)));
        let from_file = $layers
            .file
            .as_ref()
            .and_then(|(f, path)| f.$key.clone().map(|v| (v, Origin::File(path.clone()))));
        from_flag.or(from_env).or(from_file)
    }};
}

/// A setting without a flag: the environment, else the config file.
macro_rules! env_or_file {
    ($layers:expr, $key:ident, $env:literal) => {{
        $layers
            .env
            .get($env)
            .map(|v| (v.to_owned(), Origin::Env($env)))
            .or_else(|| {
                let (f, path) = $layers.file.as_ref()?;
                Some((
                    f.$key.clone().map(String::from)?,
                    Origin::File(path.clone()),
                ))
            })
    }};
}

/// The resolved configuration.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// Where the data lives; `None` means SQLite in the data directory.
    pub database_url: Option<DatabaseUrl>,
    /// The owner role's URL for migrations on PostgreSQL.
    pub migration_database_url: Option<DatabaseUrl>,
    /// The address `serve` listens on.
    pub listen: SocketAddr,
    /// The directory for the SQLite database and the generated secret key.
    pub data_dir: PathBuf,
    /// The configured secret key; `None` means the key file in the data directory.
    pub secret_key: Option<SecretKey>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Which log lines are written, in env-filter syntax such as `info` or `onepane_server=debug`.
    pub log_filter: String,
    /// The URL clients reach this server at; `None` means `http://<listen>`.
    /// It is the access tokens' issuer and the base of landing-page links.
    pub public_url: Option<url::Url>,
    /// Requests per minute each API client (or token) may make.
    pub rate_limit_per_minute: u32,
    /// Requests an API client may make at once above that rate.
    pub rate_limit_burst: u32,
    /// The first webhook retry's delay; each later one doubles it.
    pub webhook_retry_base: std::time::Duration,
    /// Private networks outbound requests (webhooks, connections, single
    /// sign-on providers) may reach anyway.
    pub outbound_allow: Vec<onepane_connector::Cidr>,
    /// The load balancers and proxies in front of the server: a request
    /// from one of them is from the address it names in `X-Forwarded-For`
    /// (for the login and landing-page limits).
    pub trusted_proxies: Vec<onepane_connector::Cidr>,
    /// Sync workers this server runs (0: it runs no connection jobs, and
    /// schedules none).
    pub sync_workers: u32,
    /// How many days the audit log keeps an event (at least 30); servers
    /// with sync workers prune older events daily.
    pub audit_retention_days: u32,
    /// How long after moving a lead the member who moved it may undo the
    /// move.
    pub lead_undo: std::time::Duration,
    /// The SMTP server reset and invitation links are mailed through, as a
    /// URL (`smtps://user:password@host`, `smtp://host:25?tls=required`);
    /// without one they are written to the log.
    pub smtp_url: Option<String>,
    /// The sender of that mail (`Onepane <no-reply@example.com>`).
    pub mail_from: Option<String>,
    /// The hour (0 to 23, in each member's own time zone) from which the
    /// daily digest of deadlines goes out.
    pub digest_hour: u32,
    /// How often each server looks for the clock's mail to send (digests
    /// due, urgent leads).
    pub mail_interval: std::time::Duration,
    /// Most client connections served at once; more are closed as they
    /// arrive (and the limit stays below the open-file limit).
    pub max_connections: u32,
    /// How long a client may take to send a request's headers, and how long
    /// a kept-alive connection may sit idle before its next request.
    pub header_timeout: std::time::Duration,
    /// The OTLP/HTTP collector `serve` sends its traces to; `None` (the
    /// default) sends none.
    pub otlp_endpoint: Option<url::Url>,
    /// The `service.name` of those traces.
    pub otlp_service_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            migration_database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./onepane-data"),
            secret_key: None,
            log_format: LogFormat::Text,
            log_filter: crate::telemetry::DEFAULT_FILTER.to_owned(),
            public_url: None,
            rate_limit_per_minute: 1_200,
            rate_limit_burst: 100,
            webhook_retry_base: std::time::Duration::from_secs(30),
            outbound_allow: Vec::new(),
            trusted_proxies: Vec::new(),
            sync_workers: 2,
            audit_retention_days: 400,
            lead_undo: std::time::Duration::from_secs(30),
            smtp_url: None,
            mail_from: None,
            digest_hour: crate::services::clock_mail::DEFAULT_DIGEST_HOUR,
            mail_interval: crate::services::clock_mail::DEFAULT_INTERVAL,
            max_connections: 10_000,
            header_timeout: std::time::Duration::from_secs(10),
            otlp_endpoint: None,
            otlp_service_name: DEFAULT_SERVICE_NAME.to_owned(),
        }
    }
}

// Written by hand because a database URL may carry a password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url().redacted())
            .field(
                "migration_database_url",
                &self
                    .migration_database_url
                    .as_ref()
                    .map(DatabaseUrl::redacted),
            )
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("secret_key", &self.secret_key)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("public_url", &self.public_url)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("webhook_retry_base", &self.webhook_retry_base)
            .field("outbound_allow", &self.outbound_allow)
            .field("trusted_proxies", &self.trusted_proxies)
            // The URL may carry the SMTP password.
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("mail_from", &self.mail_from)
            .field("digest_hour", &self.digest_hour)
            .field("mail_interval", &self.mail_interval)
            .field("sync_workers", &self.sync_workers)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("lead_undo", &self.lead_undo)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("otlp_service_name", &self.otlp_service_name)
            .finish()
    }
}

impl Config {
    /// The database the server uses: the configured URL, or SQLite in the data directory.
    pub fn database_url(&self) -> DatabaseUrl {
        self.database_url
            .clone()
            .unwrap_or_else(|| DatabaseUrl::in_data_dir(&self.data_dir))
    }

    /// The URL clients reach this server at, without a trailing slash:
    /// the configured public URL, else `http://` and the address bound.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }

    /// The database migrations run against: the migration URL when set, else the server's.
    pub fn migration_target(&self) -> DatabaseUrl {
        self.migration_database_url
            .clone()
            .unwrap_or_else(|| self.database_url())
    }

    /// Where traces are exported, when they are.
    pub fn trace_export(&self) -> Option<crate::telemetry::TraceExport> {
        Some(crate::telemetry::TraceExport {
            endpoint: self.otlp_endpoint.clone()?,
            service_name: self.otlp_service_name.clone(),
        })
    }

    /// Loads the configuration from the file (when one is named), the
    /// environment and the flags.
    pub fn load(flags: &Overrides, env: &Environment) -> Result<Config, ConfigError> {
        let layers = Layers::read(flags, env)?;
        let mut config = Config::default();
        config.load_places(&layers)?;
        config.load_secret_key(&layers)?;
        config.load_logging(&layers)?;
        config.load_limits(&layers)?;
        config.load_mail(&layers)?;
        config.load_traces(&layers)?;
        if let Some((value, origin)) = env_or_file!(layers, sync_workers, "ONEPANE_SYNC_WORKERS") {
            config.sync_workers = parse("sync_workers", origin, value.trim())?;
        }
        if let Some((value, origin)) =
            env_or_file!(layers, audit_retention_days, "ONEPANE_AUDIT_RETENTION_DAYS")
        {
            let days = positive("audit_retention_days", origin.clone(), &value)?;
            if days < onepane_store::SystemStore::AUDIT_FLOOR_DAYS {
                return Err(invalid(
                    "audit_retention_days",
                    origin,
                    format!(
                        "the audit log keeps events at least {} days, not {days}",
                        onepane_store::SystemStore::AUDIT_FLOOR_DAYS
                    ),
                ));
            }
            config.audit_retention_days = days;
        }
        if let Some((value, origin)) =
            env_or_file!(layers, lead_undo_secs, "ONEPANE_LEAD_UNDO_SECS")
        {
            config.lead_undo = std::time::Duration::from_secs(u64::from(positive(
                "lead_undo_secs",
                origin,
                &value,
            )?));
        }
        Ok(config)
    }

    /// The data directory, the databases and the listen address.
    fn load_places(&mut self, layers: &Layers<'_>) -> Result<(), ConfigError> {
        if let Some((value, origin)) = pick!(layers, data_dir, "ONEPANE_DATA_DIR", "--data-dir") {
            if value.trim().is_empty() {
                return Err(invalid(
                    "data_dir",
                    origin,
                    "the data directory must not be empty",
                ));
            }
            self.data_dir = PathBuf::from(value);
        }
        if let Some((value, origin)) = pick!(
            layers,
            database_url,
            "ONEPANE_DATABASE_URL",
            "--database-url"
        ) {
            self.database_url = Some(parse("database_url", origin, &value)?);
        }
        if let Some((value, origin)) = pick!(
            layers,
            migration_database_url,
            "ONEPANE_MIGRATION_DATABASE_URL",
            "--migration-database-url"
        ) {
            self.migration_database_url = Some(parse("migration_database_url", origin, &value)?);
        }
        if let Some((value, origin)) = pick!(layers, listen, "ONEPANE_LISTEN", "--listen") {
            self.listen = value.trim().parse().map_err(|_| {
                invalid(
                    "listen",
                    origin,
                    format!("`{value}` is not an address like 127.0.0.1:8080 or [::]:8080"),
                )
            })?;
        }
        Ok(())
    }

    /// The secret key: no flag, as command lines are visible to every
    /// local user.
    fn load_secret_key(&mut self, layers: &Layers<'_>) -> Result<(), ConfigError> {
        if let Some((value, origin)) = env_or_file!(layers, secret_key, "ONEPANE_SECRET_KEY") {
            self.secret_key = Some(
                SecretKey::from_base64(&value)
                    .map_err(|e: SecretKeyError| invalid("secret_key", origin, e))?,
            );
        }
        Ok(())
    }

    /// The log lines' format and filter.
    fn load_logging(&mut self, layers: &Layers<'_>) -> Result<(), ConfigError> {
        if let Some((value, origin)) =
            pick!(layers, log_format, "ONEPANE_LOG_FORMAT", "--log-format")
        {
            self.log_format = parse("log_format", origin, &value)?;
        }
        if let Some((value, origin)) = pick!(layers, log, "ONEPANE_LOG", "--log") {
            if let Err(e) = tracing_subscriber::EnvFilter::try_new(&value) {
                return Err(invalid("log", origin, e));
            }
            self.log_filter = value;
        }
        Ok(())
    }

    /// The public URL, the request and retry limits, and which addresses
    /// outbound requests and forwarded client addresses may come from.
    fn load_limits(&mut self, layers: &Layers<'_>) -> Result<(), ConfigError> {
        if let Some((value, origin)) = env_or_file!(layers, public_url, "ONEPANE_PUBLIC_URL") {
            self.public_url = Some(http_url(
                "public_url",
                origin,
                &value,
                "the public URL must be an http or https URL without a query or fragment",
            )?);
        }
        if let Some((value, origin)) = env_or_file!(
            layers,
            rate_limit_per_minute,
            "ONEPANE_RATE_LIMIT_PER_MINUTE"
        ) {
            self.rate_limit_per_minute = positive("rate_limit_per_minute", origin, &value)?;
        }
        if let Some((value, origin)) =
            env_or_file!(layers, rate_limit_burst, "ONEPANE_RATE_LIMIT_BURST")
        {
            self.rate_limit_burst = positive("rate_limit_burst", origin, &value)?;
        }
        if let Some((value, origin)) =
            env_or_file!(layers, max_connections, "ONEPANE_MAX_CONNECTIONS")
        {
            self.max_connections = positive("max_connections", origin, &value)?;
        }
        if let Some((value, origin)) =
            env_or_file!(layers, header_timeout_secs, "ONEPANE_HEADER_TIMEOUT_SECS")
        {
            self.header_timeout = std::time::Duration::from_secs(u64::from(positive(
                "header_timeout_secs",
                origin,
                &value,
            )?));
        }
        if let Some((value, origin)) = env_or_file!(
            layers,
            webhook_retry_base_ms,
            "ONEPANE_WEBHOOK_RETRY_BASE_MS"
        ) {
            self.webhook_retry_base = std::time::Duration::from_millis(u64::from(positive(
                "webhook_retry_base_ms",
                origin,
                &value,
            )?));
        }
        if let Some((value, origin)) =
            env_or_file!(layers, outbound_allow, "ONEPANE_OUTBOUND_ALLOW")
        {
            self.outbound_allow = list("outbound_allow", origin, &value)?;
        }
        if let Some((value, origin)) =
            env_or_file!(layers, trusted_proxies, "ONEPANE_TRUSTED_PROXIES")
        {
            self.trusted_proxies = list("trusted_proxies", origin, &value)?;
        }
        Ok(())
    }

    /// The SMTP server and the sender, which go together.
    fn load_mail(&mut self, layers: &Layers<'_>) -> Result<(), ConfigError> {
        let smtp_origin = if let Some((value, origin)) =
            env_or_file!(layers, smtp_url, "ONEPANE_SMTP_URL")
        {
            let value = value.trim().to_owned();
            crate::mail::check_url(&value).map_err(|e| invalid("smtp_url", origin.clone(), e))?;
            self.smtp_url = Some(value);
            Some(origin)
        } else {
            None
        };
        if let Some((value, origin)) = env_or_file!(layers, mail_from, "ONEPANE_MAIL_FROM") {
            let value = value.trim().to_owned();
            crate::mail::check_sender(&value).map_err(|e| invalid("mail_from", origin, e))?;
            self.mail_from = Some(value);
        }
        if let Some((value, origin)) = env_or_file!(layers, digest_hour, "ONEPANE_DIGEST_HOUR") {
            self.digest_hour = value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|h| *h < 24)
                .ok_or_else(|| {
                    invalid(
                        "digest_hour",
                        origin,
                        format!("`{value}` is not an hour from 0 to 23"),
                    )
                })?;
        }
        if let Some((value, origin)) =
            env_or_file!(layers, mail_interval_ms, "ONEPANE_MAIL_INTERVAL_MS")
        {
            self.mail_interval = std::time::Duration::from_millis(u64::from(positive(
                "mail_interval_ms",
                origin,
                &value,
            )?));
        }
        if let (Some(origin), None) = (smtp_origin, &self.mail_from) {
            return Err(invalid(
                "mail_from",
                origin,
                "a sender is needed with smtp_url (ONEPANE_MAIL_FROM or mail_from)",
            ));
        }
        Ok(())
    }

    /// The trace collector and the service name traces carry.
    fn load_traces(&mut self, layers: &Layers<'_>) -> Result<(), ConfigError> {
        if let Some((value, origin)) = env_or_file!(layers, otlp_endpoint, "ONEPANE_OTLP_ENDPOINT")
        {
            let url = http_url(
                "otlp_endpoint",
                origin.clone(),
                &value,
                "the OTLP endpoint must be an http or https URL without a query or fragment, \
                 such as http://collector:4318",
            )?;
            if !url.username().is_empty() || url.password().is_some() {
                return Err(invalid(
                    "otlp_endpoint",
                    origin,
                    "the OTLP endpoint must not carry credentials; give the collector's headers \
                     in OTEL_EXPORTER_OTLP_HEADERS",
                ));
            }
            self.otlp_endpoint = Some(url);
        }
        if let Some((value, origin)) =
            env_or_file!(layers, otlp_service_name, "ONEPANE_OTLP_SERVICE_NAME")
        {
            let value = value.trim();
            if value.is_empty() {
                return Err(invalid(
                    "otlp_service_name",
                    origin,
                    "the service name must not be empty",
                ));
            }
            self.otlp_service_name = value.to_owned();
        }
        Ok(())
    }
}

/// Where settings come from, highest first: the command line, the
/// environment, the config file.
struct Layers<'a> {
    flags: &'a Overrides,
    env: &'a Environment,
    file: Option<(FileSettings, PathBuf)>,
}

impl<'a> Layers<'a> {
    fn read(flags: &'a Overrides, env: &'a Environment) -> Result<Self, ConfigError> {
        let file_path = match &flags.config {
            Some(path) => Some(path.clone()),
            None => env.get(CONFIG_ENV).map(PathBuf::from),
        };
        let file = match &file_path {
            Some(path) => Some((FileSettings::read(path)?, path.clone())),
            None => None,
        };
        Ok(Layers { flags, env, file })
    }
}

/// An http or https URL without a query or fragment; `rule` says so when
/// it is not one.
fn http_url(
    setting: &'static str,
    origin: Origin,
    value: &str,
    rule: &'static str,
) -> Result<url::Url, ConfigError> {
    let url: url::Url = value
        .trim()
        .parse()
        .map_err(|e| invalid(setting, origin.clone(), e))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid(setting, origin, rule));
    }
    Ok(url)
}

/// A whole number above zero.
fn positive(setting: &'static str, origin: Origin, value: &str) -> Result<u32, ConfigError> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            invalid(
                setting,
                origin,
                format!("`{value}` is not a whole number above zero"),
            )
        })
}

/// A list separated by commas or spaces.
fn list<T>(setting: &'static str, origin: Origin, value: &str) -> Result<Vec<T>, ConfigError>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value
        .split([',', ' '])
        .filter(|n| !n.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(setting, origin, e))
}

fn invalid(
    setting: &'static str,
    origin: Origin,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> ConfigError {
    ConfigError::Invalid {
        setting,
        origin,
        source: source.into(),
    }
}

fn parse<T>(setting: &'static str, origin: Origin, value: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value.parse().map_err(|e| invalid(setting, origin, e))
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--migration-database-url`.
    pub migration_database_url: Option<String>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--log-format`.
    pub log_format: Option<String>,
    /// `--log`.
    pub log: Option<String>,
}

/// A snapshot of the `ONEPANE_*` environment variables.
#[derive(Debug, Clone, Default)]
pub struct Environment(BTreeMap<String, String>);

impl Environment {
    /// Reads the process environment.
    pub fn from_process() -> Result<Self, ConfigError> {
        let mut vars = BTreeMap::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str().filter(|n| n.starts_with("ONEPANE_")) else {
                continue;
            };
            let value = value
                .into_string()
                .map_err(|_| ConfigError::NotUnicode(name.to_owned()))?;
            vars.insert(name.to_owned(), value);
        }
        Self(vars).with_files()
    }

    /// Reads each `X_FILE` of [`FROM_FILE`] into `X` (the file's text,
    /// without its final line break). Setting both is an error.
    pub fn with_files(mut self) -> Result<Self, ConfigError> {
        for variable in FROM_FILE {
            let Some(path) = self.0.remove(&format!("{variable}_FILE")) else {
                continue;
            };
            if path.is_empty() {
                continue;
            }
            if self.get(variable).is_some() {
                return Err(ConfigError::SetTwice(variable));
            }
            let path = PathBuf::from(path);
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
                    variable,
                    path: path.clone(),
                    source,
                })?;
            let value = text.strip_suffix('\n').unwrap_or(&text);
            let value = value.strip_suffix('\r').unwrap_or(value);
            self.0.insert(variable.to_owned(), value.to_owned());
        }
        Ok(self)
    }

    /// The value of one variable; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Environment {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// The config file's shape. Unknown keys are refused, so a typo is an error
/// rather than a setting silently left at its default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    migration_database_url: Option<String>,
    listen: Option<String>,
    data_dir: Option<String>,
    secret_key: Option<String>,
    log_format: Option<String>,
    log: Option<String>,
    public_url: Option<String>,
    rate_limit_per_minute: Option<TomlNumber>,
    rate_limit_burst: Option<TomlNumber>,
    max_connections: Option<TomlNumber>,
    header_timeout_secs: Option<TomlNumber>,
    webhook_retry_base_ms: Option<TomlNumber>,
    outbound_allow: Option<String>,
    trusted_proxies: Option<String>,
    sync_workers: Option<TomlNumber>,
    audit_retention_days: Option<TomlNumber>,
    lead_undo_secs: Option<TomlNumber>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    digest_hour: Option<TomlNumber>,
    mail_interval_ms: Option<TomlNumber>,
    otlp_endpoint: Option<String>,
    otlp_service_name: Option<String>,
}

/// A number in the file, written as a number or a string.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
enum TomlNumber {
    Number(u64),
    Text(String),
}

impl From<TomlNumber> for String {
    fn from(n: TomlNumber) -> String {
        match n {
            TomlNumber::Number(n) => n.to_string(),
            TomlNumber::Text(t) => t,
        }
    }
}

impl FileSettings {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| {
            let offset = e.span().map_or(0, |span| span.start);
            let (line, column) = line_and_column(&text, offset);
            ConfigError::ParseFile {
                path: path.to_owned(),
                line,
                column,
                // The error's own rendering spans several lines with a
                // source excerpt; the bare message keeps ours to one.
                message: e.message().trim().replace('\n', " "),
            }
        })
    }
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_file(dir: &Path, content: &str) -> PathBuf {
        let path = dir.join("onepane.toml");
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn nothing_configured_gives_the_documented_defaults() {
        let config = Config::load(&Overrides::default(), &Environment::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("./onepane-data"));
        assert_eq!(
            config.database_url(),
            DatabaseUrl::in_data_dir(Path::new("./onepane-data"))
        );
        assert_eq!(config.migration_target(), config.database_url());
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.secret_key.is_none());
        assert_eq!(config.log_filter, "info");
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            dir.path(),
            "listen = \"127.0.0.1:1001\"\ndata_dir = \"from-file\"\nlog_format = \"json\"\n",
        );
        let env: Environment = [
            ("ONEPANE_CONFIG", path.to_str().unwrap()),
            ("ONEPANE_LISTEN", "127.0.0.1:1002"),
            ("ONEPANE_DATA_DIR", "from-env"),
        ]
        .into_iter()
        .collect();
        let flags = Overrides {
            listen: Some("127.0.0.1:1003".into()),
            ..Overrides::default()
        };
        let config = Config::load(&flags, &env).unwrap();
        assert_eq!(config.listen.port(), 1003, "flag wins over env and file");
        assert_eq!(
            config.data_dir,
            PathBuf::from("from-env"),
            "env wins over file"
        );
        assert_eq!(config.log_format, LogFormat::Json, "file wins over default");
        assert_eq!(
            config.database_url(),
            DatabaseUrl::in_data_dir(Path::new("from-env"))
        );
    }

    #[test]
    fn secrets_are_read_from_the_files_their_file_variables_name() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::generate().unwrap().to_base64();
        let key_file = dir.path().join("secret-key");
        std::fs::write(&key_file, format!("{key}\n")).unwrap();
        let url_file = dir.path().join("database-url");
        std::fs::write(&url_file, "postgres://app:pw@db/onepane").unwrap();
        let env: Environment = [
            ("ONEPANE_SECRET_KEY_FILE", key_file.to_str().unwrap()),
            ("ONEPANE_DATABASE_URL_FILE", url_file.to_str().unwrap()),
        ]
        .into_iter()
        .collect();
        let config = Config::load(&Overrides::default(), &env.with_files().unwrap()).unwrap();
        assert_eq!(config.secret_key.as_ref().unwrap().to_base64(), key);
        assert_eq!(
            config.database_url(),
            DatabaseUrl::Postgres("postgres://app:pw@db/onepane".into())
        );

        let both: Environment = [
            ("ONEPANE_SECRET_KEY", key.as_str()),
            ("ONEPANE_SECRET_KEY_FILE", key_file.to_str().unwrap()),
        ]
        .into_iter()
        .collect();
        let e = both.with_files().unwrap_err();
        assert_eq!(
            e.to_string(),
            "both ONEPANE_SECRET_KEY and ONEPANE_SECRET_KEY_FILE are set; set one of them"
        );
        let missing: Environment = [("ONEPANE_SMTP_URL_FILE", "/nonexistent/smtp")]
            .into_iter()
            .collect();
        let e = missing.with_files().unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read ONEPANE_SMTP_URL from /nonexistent/smtp (named by ONEPANE_SMTP_URL_FILE)"
        );
    }

    #[test]
    fn config_flag_beats_config_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "data_dir = \"chosen\"\n");
        let env: Environment = [("ONEPANE_CONFIG", "/nonexistent/onepane.toml")]
            .into_iter()
            .collect();
        let flags = Overrides {
            config: Some(path),
            ..Overrides::default()
        };
        assert_eq!(
            Config::load(&flags, &env).unwrap().data_dir,
            PathBuf::from("chosen")
        );
    }

    #[test]
    fn unknown_key_in_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            dir.path(),
            "listen = \"127.0.0.1:9\"\ndatabse_url = \"sqlite://x\"\n",
        );
        let flags = Overrides {
            config: Some(path.clone()),
            ..Overrides::default()
        };
        let err = Config::load(&flags, &Environment::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("databse_url"), "{text}");
        assert!(
            text.starts_with(&format!("{}:2:", path.display())),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn malformed_values_name_setting_and_origin() {
        let cases = [
            (
                "ONEPANE_DATABASE_URL",
                "mysql://u:hunter2@db/x",
                "database_url",
            ),
            (
                "ONEPANE_MIGRATION_DATABASE_URL",
                "sqlite://",
                "migration_database_url",
            ),
            ("ONEPANE_LISTEN", "localhost", "listen"),
            ("ONEPANE_SECRET_KEY", "c2hvcnQ=", "secret_key"),
            ("ONEPANE_LOG_FORMAT", "xml", "log_format"),
            ("ONEPANE_LOG", "onepane=loud", "log"),
            ("ONEPANE_OTLP_ENDPOINT", "collector:4318", "otlp_endpoint"),
            (
                "ONEPANE_OTLP_ENDPOINT",
                "http://user:hunter2@collector:4318",
                "otlp_endpoint",
            ),
            ("ONEPANE_OTLP_SERVICE_NAME", " ", "otlp_service_name"),
        ];
        for (var, value, setting) in cases {
            let env: Environment = [(var, value)].into_iter().collect();
            let err = Config::load(&Overrides::default(), &env).unwrap_err();
            let ConfigError::Invalid {
                setting: named,
                origin,
                ..
            } = &err
            else {
                panic!("{var}: unexpected {err:?}");
            };
            assert_eq!(*named, setting);
            assert_eq!(*origin, Origin::Env(var));
            assert!(
                !format!("{err:?}").contains("hunter2"),
                "password leaked: {err:?}"
            );
        }
    }

    #[test]
    fn debug_hides_passwords_and_the_secret_key() {
        let key = SecretKey::generate().unwrap();
        let config = Config {
            database_url: Some("postgres://app:hunter2@db/onepane".parse().unwrap()),
            migration_database_url: Some("postgres://owner:swordfish@db/onepane".parse().unwrap()),
            secret_key: Some(key.clone()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        for secret in ["hunter2", "swordfish", key.to_base64().as_str()] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }

    #[test]
    fn the_example_file_documents_every_key_with_the_defaults() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/onepane.example.toml");
        let flags = Overrides {
            config: Some(example.clone()),
            ..Overrides::default()
        };
        let loaded = Config::load(&flags, &Environment::default()).unwrap();
        assert_eq!(
            loaded,
            Config::default(),
            "the example's values are the defaults"
        );

        let text = std::fs::read_to_string(&example).unwrap();
        let documented: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim_start_matches("# ").split_once(" = ").map(|(k, _)| k))
            .filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        let known = [
            "database_url",
            "migration_database_url",
            "listen",
            "data_dir",
            "secret_key",
            "log_format",
            "log",
            "public_url",
            "rate_limit_per_minute",
            "rate_limit_burst",
            "webhook_retry_base_ms",
            "outbound_allow",
            "trusted_proxies",
            "sync_workers",
            "audit_retention_days",
            "lead_undo_secs",
            "smtp_url",
            "mail_from",
            "digest_hour",
            "mail_interval_ms",
            "otlp_endpoint",
            "otlp_service_name",
        ];
        for key in known {
            assert!(
                documented.contains(&key),
                "{key} is not in the example file"
            );
        }
        for key in documented {
            let probe = format!("{key} = \"x\"");
            let parsed = toml::from_str::<FileSettings>(&probe);
            assert!(
                parsed.is_ok(),
                "the example documents unknown key {key}: {parsed:?}"
            );
        }
    }

    #[test]
    fn traces_are_off_unless_an_otlp_endpoint_is_configured() {
        let config = Config::load(&Overrides::default(), &Environment::default()).unwrap();
        assert_eq!(config.trace_export(), None);

        let env: Environment = [
            ("ONEPANE_OTLP_ENDPOINT", "http://collector:4318"),
            ("ONEPANE_OTLP_SERVICE_NAME", "onepane-eu"),
        ]
        .into_iter()
        .collect();
        let export = Config::load(&Overrides::default(), &env)
            .unwrap()
            .trace_export()
            .unwrap();
        assert_eq!(export.traces_url(), "http://collector:4318/v1/traces");
        assert_eq!(export.service_name, "onepane-eu");

        let env: Environment = [("ONEPANE_OTLP_ENDPOINT", "https://otel.example.com")]
            .into_iter()
            .collect();
        let export = Config::load(&Overrides::default(), &env)
            .unwrap()
            .trace_export()
            .unwrap();
        assert_eq!(export.service_name, "onepane");
    }

    #[test]
    fn empty_environment_values_count_as_unset() {
        let env: Environment = [("ONEPANE_LISTEN", "")].into_iter().collect();
        assert_eq!(
            Config::load(&Overrides::default(), &env)
                .unwrap()
                .listen
                .port(),
            8080
        );
    }
}
