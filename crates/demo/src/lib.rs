//! `onepane demo`'s world: a partner workspace and three simulated vendors,
//! each a real HTTP server on loopback inside the demo process.
//!
//! - [`northwind`] (Northwind Networks, a vendor) has a paginated partner
//!   API that Onepane pulls through the `rest` connector.
//! - [`contoso`] (Contoso Security, a vendor) pushes its campaigns, assets,
//!   prices and leads through Onepane's connector API, and decides the deal
//!   registrations partners submit to it.
//! - [`fabrikam`] (Fabrikam Distribution, a distributor) has a CSV price
//!   list that the `csv` connector reads.
//!
//! Seeding is idempotent: the workspace, vendors, links and connections are
//! found by name and kind before anything is made, and what a partner may
//! have changed since (its profile, sell rules, exchange rates) is only set
//! while it is still empty. The logins live in `demo-login.txt` in the data
//! directory, so every start on it prints the same.

pub mod contoso;
pub mod fabrikam;
pub mod northwind;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use onepane_connector::{Credentials, Secret};
use onepane_domain::price::{ExchangeRate, Percent, SellMethod, SellRuleSelector};
use onepane_domain::text::{Category, Email, Locale};
use onepane_domain::workspace::{Connection, ConnectionStatus, ConnectionTarget, NewConnection};
use onepane_domain::{
    ConnectionId, Currency, PartnerType, Role, Tier, VendorId, VendorKind, WorkspaceId,
};
use onepane_store::{LeadFilter, Page, Store, StoreError, WorkspaceProfile};
use reqwest::Method;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use onepane_server::auth::credentials::{
    ACCESS_TOKEN_PREFIX, CLIENT_SECRET_PREFIX, ClientSecrets, hash_password, random_secret,
    token_digest,
};
use onepane_server::report::cause_chain;
use onepane_server::seal::Sealer;

/// The demo partner's workspace.
pub const WORKSPACE_NAME: &str = "Aurora IT Oy";
/// A second workspace the demo user belongs to, to switch to.
pub const SECOND_WORKSPACE_NAME: &str = "Borealis Solutions";
/// Who logs in.
pub const LOGIN_EMAIL: &str = "demo@onepane.example";
/// The file in the data directory that keeps the demo's logins.
pub const LOGIN_FILE: &str = "demo-login.txt";

/// A sales rep of the demo workspace (a member without a password).
const SALES_REP_EMAIL: &str = "aino.virtanen@aurora-it.example";
/// The owner of the second workspace.
const SECOND_OWNER_EMAIL: &str = "owner@borealis-solutions.example";
/// How long a first sync or publish may take before the demo says so.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file in the data directory could not be read or written.
    #[error("cannot {action} {}", path.display())]
    File {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The login file is not one the demo wrote.
    #[error("{} is not a demo login file ({message}); fix or remove it", path.display())]
    LoginFile {
        /// The file.
        path: PathBuf,
        /// What does not parse.
        message: String,
    },
    /// A simulated vendor's server could not listen.
    #[error("cannot start {vendor}'s server on loopback")]
    Bind {
        /// The vendor.
        vendor: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A secret could not be made, hashed or sealed.
    #[error("cannot make a secret")]
    Secret(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The demo's own data does not parse (a bug in the demo).
    #[error("the demo's {what} does not parse: {detail}")]
    Data {
        /// Which value.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// A connection the demo makes does not pass the connector's checks.
    #[error("{vendor}'s {connector} connection does not check: {detail}")]
    Connection {
        /// The vendor.
        vendor: &'static str,
        /// The connector kind.
        connector: &'static str,
        /// Why.
        detail: String,
    },
    /// A simulated vendor's request to Onepane did not go through.
    #[error("{vendor}: {action} failed")]
    Request {
        /// The vendor.
        vendor: &'static str,
        /// What it asked for.
        action: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// Onepane refused a simulated vendor's request.
    #[error("{vendor}: {action} answered {status}: {detail}")]
    Refused {
        /// The vendor.
        vendor: &'static str,
        /// What it asked for.
        action: String,
        /// The status.
        status: u16,
        /// The start of the answer.
        detail: String,
    },
}

impl DemoError {
    /// Whether the operator can fix this by correcting its input.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, DemoError::LoginFile { .. })
    }

    fn secret(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        DemoError::Secret(Box::new(e))
    }
}

/// Parses one of the demo's own values.
fn parse<T>(what: &'static str, value: &str) -> Result<T, DemoError>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    value.parse().map_err(|e: T::Err| DemoError::Data {
        what,
        detail: format!("`{value}`: {e}"),
    })
}

/// What the demo needs from the command line.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The data directory (holds the login file and Fabrikam's CSV).
    pub data_dir: PathBuf,
    /// Where the simulated vendors reach Onepane, e.g. `http://127.0.0.1:8080`.
    pub onepane_url: String,
    /// How long a simulated vendor waits before deciding a deal registration.
    pub decide_after: Duration,
    /// When the command started, for the time to "every vendor is in".
    pub started: Instant,
    /// The server's client-secret digester, for the vendors' API clients.
    pub client_secrets: ClientSecrets,
}

/// How one simulated vendor is plugged into the workspace.
#[derive(Debug, Clone)]
pub struct VendorSummary {
    /// Its name.
    pub name: &'static str,
    /// Vendor or distributor.
    pub kind: VendorKind,
    /// The workspace's tier with it.
    pub tier: Tier,
    /// How its data reaches the workspace, in a few words.
    pub plugged: String,
}

/// What the workspace holds once every vendor's first sync or publish is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// Since the command started.
    pub took: Duration,
    /// Campaigns the partner sees.
    pub campaigns: usize,
    /// Assets the partner sees.
    pub assets: usize,
    /// Price items across the vendors.
    pub price_items: usize,
    /// Leads.
    pub leads: usize,
}

/// The demo partner's logins.
#[derive(Clone)]
pub struct Login {
    /// The login email.
    pub email: String,
    /// Its password.
    pub password: String,
    /// A personal access token for the partner API.
    pub api_token: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A running demo: its vendors' servers and tasks.
#[derive(Debug)]
pub struct Demo {
    /// The demo partner's logins.
    pub login: Login,
    /// Where they are kept.
    pub login_file: PathBuf,
    /// The demo partner's workspace.
    pub workspace_id: WorkspaceId,
    /// The three vendors, as plugged in.
    pub vendors: Vec<VendorSummary>,
    ready: Option<oneshot::Receiver<Ready>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Demo {
    /// Seeds the workspace (or finds it), starts the three vendors and
    /// plugs them in. The vendors' requests to Onepane wait until the
    /// server, whose listener is bound already, serves.
    pub async fn start(
        store: Store,
        sealer: Sealer,
        options: DemoOptions,
    ) -> Result<Demo, DemoError> {
        let login_file = options.data_dir.join(LOGIN_FILE);
        let mut saved = SavedLogins::read(&login_file)?;
        let mut tasks = Vec::new();
        let result = Self::start_with(&store, &sealer, &options, &mut saved, &mut tasks).await;
        // Kept even when the start failed part-way, so what was made (a
        // token, an API client) is found again rather than made twice.
        let written = saved.write(&login_file);
        let started = match (result, written) {
            (Ok(started), Ok(())) => started,
            (Err(e), _) | (Ok(_), Err(e)) => {
                for task in tasks {
                    task.abort();
                }
                return Err(e);
            }
        };
        Ok(Demo {
            login: Login {
                email: LOGIN_EMAIL.to_owned(),
                password: saved.password,
                api_token: started.api_token,
            },
            login_file,
            workspace_id: started.workspace_id,
            vendors: started.vendors,
            ready: Some(started.ready),
            tasks,
        })
    }

    async fn start_with(
        store: &Store,
        sealer: &Sealer,
        options: &DemoOptions,
        saved: &mut SavedLogins,
        tasks: &mut Vec<JoinHandle<()>>,
    ) -> Result<Started, DemoError> {
        let tenants = Tenants::seed(store, saved).await?;
        let ws = tenants.workspace;
        let (northwind_conn, api_base) =
            start_northwind(store, sealer, &tenants, options, tasks).await?;
        let (fabrikam_conn, fabrikam_addr, csv_path) =
            start_fabrikam(store, sealer, &tenants, options, tasks).await?;
        let (contoso_addr, published) =
            start_connector_api_vendors(store, &tenants, options, saved, tasks).await?;

        // The first syncs now, rather than at the schedules' next tick.
        let since = Utc::now();
        for conn in [northwind_conn, fabrikam_conn] {
            request_sync(store, ws, conn).await?;
        }
        let (ready_tx, ready_rx) = oneshot::channel();
        tasks.push(tokio::spawn(
            Watch {
                store: store.clone(),
                workspace_id: ws,
                sources: vec![
                    (northwind::NAME, northwind_conn),
                    (fabrikam::NAME, fabrikam_conn),
                ],
                published,
                since,
                started: options.started,
            }
            .run(ready_tx),
        ));

        let decide_after = options.decide_after.as_secs();
        let vendors = vec![
            VendorSummary {
                name: northwind::NAME,
                kind: VendorKind::Vendor,
                tier: northwind::TIER,
                plugged: format!(
                    "Onepane pulls its partner API at {api_base} and sends it deal registrations \
                     (rest connector with actions); its desk decides after {decide_after} s, read \
                     back on the next sync (every minute)"
                ),
            },
            VendorSummary {
                name: contoso::NAME,
                kind: VendorKind::Vendor,
                tier: contoso::TIER,
                plugged: format!(
                    "pushes through the connector API (files at http://{contoso_addr}); decides \
                     deal registrations after {decide_after} s"
                ),
            },
            VendorSummary {
                name: fabrikam::NAME,
                kind: VendorKind::Distributor,
                tier: fabrikam::TIER,
                plugged: format!(
                    "its CSV price list {} (csv connector; download at http://{fabrikam_addr}{})",
                    csv_path.display(),
                    fabrikam::CSV_ROUTE
                ),
            },
        ];
        Ok(Started {
            workspace_id: ws,
            vendors,
            api_token: tenants.api_token,
            ready: ready_rx,
        })
    }

    /// Completes when every vendor's first sync or publish is in (given
    /// out once).
    pub fn take_ready(&mut self) -> Option<oneshot::Receiver<Ready>> {
        self.ready.take()
    }

    /// Stops the vendors' servers and tasks.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// What [`Demo::start_with`] made.
struct Started {
    workspace_id: WorkspaceId,
    vendors: Vec<VendorSummary>,
    api_token: String,
    ready: oneshot::Receiver<Ready>,
}

// ---- the logins file -------------------------------------------------------

/// The demo's logins as kept in the data directory.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedLogins {
    email: String,
    password: String,
    #[serde(default)]
    api_token: Option<String>,
    #[serde(default)]
    contoso: Option<ClientLogin>,
    #[serde(default)]
    northwind: Option<ClientLogin>,
}

/// A simulated vendor's API client.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientLogin {
    client_id: String,
    client_secret: String,
}

impl SavedLogins {
    /// The file's logins, or a new password when there is no file yet.
    fn read(path: &Path) -> Result<Self, DemoError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    email: LOGIN_EMAIL.to_owned(),
                    password: new_password()?,
                    api_token: None,
                    contoso: None,
                    northwind: None,
                });
            }
            Err(source) => {
                return Err(DemoError::File {
                    action: "read",
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let bad = |message: String| DemoError::LoginFile {
            path: path.to_owned(),
            message,
        };
        let saved: SavedLogins =
            toml::from_str(&text).map_err(|e| bad(e.message().trim().replace('\n', " ")))?;
        if saved.email != LOGIN_EMAIL {
            return Err(bad(format!("its email is not {LOGIN_EMAIL}")));
        }
        if saved.password.trim().len() < 8 {
            return Err(bad("the password is shorter than 8 characters".into()));
        }
        Ok(saved)
    }

    /// Writes the file, readable by the owner only.
    fn write(&self, path: &Path) -> Result<(), DemoError> {
        let client = |name: &str, login: &Option<ClientLogin>| match login {
            Some(c) => format!(
                "\n# The API client {name} uses on Onepane's connector API.\n[{}]\nclient_id = {}\nclient_secret = {}\n",
                name.split_whitespace()
                    .next()
                    .unwrap_or(name)
                    .to_lowercase(),
                toml_string(&c.client_id),
                toml_string(&c.client_secret)
            ),
            None => String::new(),
        };
        let text = format!(
            "# `onepane demo`'s logins for this data directory, kept so every start prints the same.\n\
             # Keep this file private.\n\
             email = {}\n\
             password = {}\n\
             # A personal access token for the partner API: `Authorization: Bearer <token>`.\n\
             api_token = {}\n{}{}",
            toml_string(&self.email),
            toml_string(&self.password),
            toml_string(self.api_token.as_deref().unwrap_or_default()),
            client(contoso::NAME, &self.contoso),
            client(northwind::NAME, &self.northwind),
        );
        write_private(path, text.as_bytes())
    }
}

/// A TOML basic string. The demo's values are printable ASCII; anything
/// else is escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// A password to type: four groups of four from letters and digits that
/// are not easily mistaken for one another (about 79 bits).
fn new_password() -> Result<String, DemoError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(DemoError::secret)?;
    let mut password = String::with_capacity(19);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            password.push('-');
        }
        // 256 is not a multiple of the alphabet's 31 letters; the bias this
        // leaves is far too small to matter for a demo's password.
        password.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
    }
    Ok(password)
}

/// Writes a file readable by the owner only, replacing it whole.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DemoError> {
    use std::io::Write as _;
    let error = |source| DemoError::File {
        action: "write",
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".demo-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut file = builder.tempfile_in(dir).map_err(error)?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(error)?;
    file.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

/// The path made absolute, so a connection finds it whatever the server's
/// working directory.
fn absolute(path: &Path) -> Result<PathBuf, DemoError> {
    std::path::absolute(path).map_err(|source| DemoError::File {
        action: "resolve",
        path: path.to_owned(),
        source,
    })
}

// ---- seeding -----------------------------------------------------------------

/// The two workspaces the demo user belongs to.
struct Workspaces {
    aurora: WorkspaceId,
    borealis: WorkspaceId,
}

async fn seed_workspaces(store: &Store, password: &str) -> Result<Workspaces, DemoError> {
    let demo = parse::<Email>("login email", LOGIN_EMAIL)?;
    let aurora = ensure_workspace(store, WORKSPACE_NAME, Currency::EUR, "en", &demo).await?;
    ensure_member(store, aurora, &demo, Role::Owner).await?;
    let rep = parse::<Email>("sales rep's email", SALES_REP_EMAIL)?;
    ensure_member(store, aurora, &rep, Role::SalesRep).await?;
    let borealis_owner = parse::<Email>("second owner's email", SECOND_OWNER_EMAIL)?;
    let krona = parse("second workspace's currency", "SEK")?;
    let borealis =
        ensure_workspace(store, SECOND_WORKSPACE_NAME, krona, "en", &borealis_owner).await?;
    ensure_member(store, borealis, &demo, Role::Admin).await?;
    seed_rate(store, borealis, krona, "10.87").await?;

    let subject =
        store
            .system()
            .login_subject(&demo)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "user",
                id: LOGIN_EMAIL.to_owned(),
            })?;
    let phc = hash_password(password.to_owned())
        .await
        .map_err(DemoError::secret)?;
    store.system().set_password(subject.user_id, &phc).await?;

    put_profile_once(
        store,
        aurora,
        WorkspaceProfile {
            contact_name: Some("Aino Virtanen".into()),
            contact_email: Some("sales@aurora-it.example".into()),
            contact_phone: Some("+358 9 4242 1000".into()),
            website: Some("https://aurora-it.example".into()),
            logo_url: None,
            privacy_notice_url: Some("https://aurora-it.example/tietosuoja".into()),
            marketing_consent_text: Some(
                "Aurora IT saa lähettää minulle tarjouksia ja uutisia sähköpostilla. \
                 Voin perua luvan milloin tahansa."
                    .into(),
            ),
            marketing_consent_version: 0,
        },
    )
    .await?;
    put_profile_once(
        store,
        borealis,
        WorkspaceProfile {
            contact_name: Some("Lars Ekholm".into()),
            contact_email: Some("hello@borealis-solutions.example".into()),
            contact_phone: Some("+46 8 555 012 34".into()),
            website: Some("https://borealis-solutions.example".into()),
            logo_url: None,
            privacy_notice_url: Some("https://borealis-solutions.example/privacy".into()),
            marketing_consent_text: None,
            marketing_consent_version: 0,
        },
    )
    .await?;
    Ok(Workspaces { aurora, borealis })
}

/// The workspace of this name, made with its owner when there is none.
async fn ensure_workspace(
    store: &Store,
    name: &str,
    home_currency: Currency,
    locale: &str,
    owner: &Email,
) -> Result<WorkspaceId, DemoError> {
    let existing = store.operator().workspaces().await?;
    if let Some(ws) = existing.iter().find(|w| w.name.as_str() == name) {
        return Ok(ws.id);
    }
    let (ws, _) = store
        .operator()
        .create_workspace(&onepane_domain::workspace::NewWorkspace {
            name: parse("workspace name", name)?,
            home_currency,
            locale: parse::<Locale>("workspace locale", locale)?,
            owner_email: owner.clone(),
        })
        .await?;
    info!(workspace = %ws.id, "created the demo workspace {name}");
    Ok(ws.id)
}

/// Makes `email` a member with `role` unless it is a member already (with
/// whatever role it has now).
async fn ensure_member(
    store: &Store,
    ws: WorkspaceId,
    email: &Email,
    role: Role,
) -> Result<(), DemoError> {
    let members = store.partner(ws).members().await?;
    if !members.iter().any(|m| &m.email == email) {
        store.operator().add_member(ws, email, role).await?;
    }
    Ok(())
}

/// Sets the demo profile of a workspace that has none; one made before
/// privacy notices were asked for gets the demo's notice (its campaigns
/// cannot be activated without one) and keeps the rest.
async fn put_profile_once(
    store: &Store,
    ws: WorkspaceId,
    profile: WorkspaceProfile,
) -> Result<(), DemoError> {
    let partner = store.partner(ws);
    let current = partner.profile().await?;
    if current == WorkspaceProfile::default() {
        partner.put_profile(&profile).await?;
    } else if current.privacy_notice_url.is_none() {
        partner
            .put_profile(&WorkspaceProfile {
                privacy_notice_url: profile.privacy_notice_url,
                ..current
            })
            .await?;
    }
    Ok(())
}

/// The vendor of this name, made when there is none.
async fn ensure_vendor(store: &Store, name: &str, kind: VendorKind) -> Result<VendorId, DemoError> {
    let existing = store.operator().vendors().await?;
    if let Some(v) = existing.iter().find(|v| v.name.as_str() == name) {
        return Ok(v.id);
    }
    let vendor = store
        .operator()
        .create_vendor(&parse("vendor name", name)?, kind)
        .await?;
    Ok(vendor.id)
}

/// Links the workspace to the vendor unless it is actively linked already
/// (keeping the tier the vendor may have set since), and brings over what
/// the vendor published before.
async fn ensure_link(
    store: &Store,
    ws: WorkspaceId,
    vendor: VendorId,
    tier: Tier,
    partner_type: PartnerType,
) -> Result<(), DemoError> {
    let linked = store.partner(ws).vendors().await?;
    let active = linked.iter().any(|l| {
        l.vendor.id == vendor && l.link.status == onepane_domain::program::LinkStatus::Active
    });
    if !active {
        store
            .operator()
            .link(ws, vendor, tier, partner_type)
            .await?;
    }
    Ok(())
}

/// Sell rules and an exchange rate, while the workspace has none.
async fn seed_pricing(
    store: &Store,
    ws: WorkspaceId,
    northwind: VendorId,
    contoso: VendorId,
    fabrikam: VendorId,
) -> Result<(), DemoError> {
    let partner = store.partner(ws);
    if partner.sell_rules().await?.is_empty() {
        // What a reseller quotes: a discount off the vendor's list price,
        // deeper where the partner's tier leaves room (the cost is the list
        // less the tier's discount, so each of these keeps a margin).
        let off_list = |percent: &str| -> Result<SellMethod, DemoError> {
            let value = parse::<Decimal>("discount", percent)?;
            Percent::new(value)
                .map(SellMethod::DiscountOffList)
                .map_err(|e| DemoError::Data {
                    what: "discount",
                    detail: e.to_string(),
                })
        };
        let rules = [
            (None, None, off_list("2")?),
            (Some(northwind), None, off_list("5")?),
            (Some(contoso), None, off_list("4")?),
            (Some(fabrikam), None, off_list("1")?),
            (
                Some(northwind),
                Some(parse::<Category>("category", "licenses")?),
                off_list("8")?,
            ),
            (
                None,
                Some(parse::<Category>("category", "services")?),
                SellMethod::DiscountOffList(Percent::ZERO),
            ),
        ];
        for (vendor_id, category, method) in rules {
            partner
                .put_sell_rule(
                    &SellRuleSelector {
                        vendor_id,
                        category,
                    },
                    method,
                )
                .await?;
        }
    }
    seed_rate(store, ws, Currency::EUR, "0.9215").await
}

/// A rate from US dollars (Contoso's price list) to the home currency,
/// while the workspace has none.
async fn seed_rate(
    store: &Store,
    ws: WorkspaceId,
    home: Currency,
    per_dollar: &str,
) -> Result<(), DemoError> {
    let partner = store.partner(ws);
    if partner.exchange_rates().await?.is_empty() {
        let rate = ExchangeRate::new(
            Currency::USD,
            home,
            parse("exchange rate", per_dollar)?,
            Utc::now().date_naive(),
        )
        .map_err(|e| DemoError::Data {
            what: "exchange rate",
            detail: e.to_string(),
        })?;
        partner.put_exchange_rate(&rate).await?;
    }
    Ok(())
}

/// The saved personal access token when it still works, else a new one.
async fn ensure_api_token(
    store: &Store,
    ws: WorkspaceId,
    saved: Option<String>,
) -> Result<String, DemoError> {
    if let Some(token) = saved
        && let Some(found) = store.system().access_token(&token_digest(&token)).await?
        && found.workspace_id == ws
    {
        return Ok(token);
    }
    let token = random_secret(ACCESS_TOKEN_PREFIX).map_err(DemoError::secret)?;
    store
        .operator()
        .create_access_token(
            ws,
            &parse("login email", LOGIN_EMAIL)?,
            &parse("token name", "onepane demo")?,
            &token_digest(&token),
        )
        .await?;
    Ok(token)
}

/// The saved API client when it still works for `vendor`, else a new one.
async fn ensure_api_client(
    store: &Store,
    secrets: &ClientSecrets,
    vendor: VendorId,
    name: &str,
    scopes: &[String],
    saved: Option<ClientLogin>,
) -> Result<ClientLogin, DemoError> {
    if let Some(saved) = saved
        && let Ok(id) = saved.client_id.parse()
        && let Some(client) = store.system().api_client(id).await?
        && client.vendor_id == vendor
        && client.revoked_at.is_none()
        && secrets
            .verify(&saved.client_secret, Some(&client.secret_hash))
            .await
    {
        return Ok(saved);
    }
    let secret = random_secret(CLIENT_SECRET_PREFIX).map_err(DemoError::secret)?;
    let hash = secrets.digest(&secret);
    let client = store
        .operator()
        .create_api_client(vendor, &parse("API client name", name)?, &hash, scopes)
        .await?;
    Ok(ClientLogin {
        client_id: client.id.to_string(),
        client_secret: secret,
    })
}

/// A vendor source the demo plugs in.
struct Source {
    vendor: &'static str,
    vendor_id: VendorId,
    connector: &'static str,
    name: &'static str,
    schedule: &'static str,
    settings: Value,
    credentials: Credentials,
}

/// The workspace's connection to the vendor with this connector, made or
/// brought up to date: its settings and credentials change with every
/// start (the vendor's loopback address and key do), its runs and stream
/// positions stay.
async fn ensure_source(
    store: &Store,
    sealer: &Sealer,
    ws: WorkspaceId,
    source: Source,
) -> Result<ConnectionId, DemoError> {
    let partner = store.partner(ws);
    let existing = partner.connections().await?.into_iter().find(|c| {
        c.target.vendor_id() == Some(source.vendor_id) && c.connector.as_str() == source.connector
    });
    let id = existing.as_ref().map_or_else(ConnectionId::new, |c| c.id);
    let new = NewConnection {
        target: ConnectionTarget::VendorSource {
            vendor_id: source.vendor_id,
        },
        connector: parse("connector", source.connector)?,
        name: parse("connection name", source.name)?,
        schedule: Some(source.schedule.to_owned()),
        settings: source.settings,
    };
    // The checks the partner API makes before it stores a connection.
    let draft = Connection {
        id,
        workspace_id: ws,
        target: new.target,
        connector: new.connector.clone(),
        name: new.name.clone(),
        schedule: new.schedule.clone(),
        status: ConnectionStatus::Active,
        settings: new.settings.clone(),
        created_at: Utc::now(),
    };
    let refused = |detail: String| DemoError::Connection {
        vendor: source.vendor,
        connector: source.connector,
        detail,
    };
    let registry = onepane_sync::Registry;
    registry.check(&draft).map_err(|e| refused(e.to_string()))?;
    onepane_sync::check_schedule(&onepane_sync::cron_for(&draft)).map_err(refused)?;
    registry
        .check_credentials(&draft, &source.credentials)
        .map_err(refused)?;
    let mut secrets = Vec::new();
    if !matches!(source.credentials, Credentials::None) {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&source.credentials).map_err(DemoError::secret)?,
        );
        let sealed = sealer
            .seal(&onepane_sync::secret_context(ws, id, "credentials"), &plain)
            .map_err(DemoError::secret)?;
        secrets.push(("credentials", sealed));
    }
    match existing {
        Some(_) => {
            partner.set_connection_settings(id, &new.settings).await?;
            for (field, sealed) in &secrets {
                partner.put_connection_secret(id, field, sealed).await?;
            }
        }
        None => {
            partner.create_connection_with(id, &new, &secrets).await?;
        }
    }
    Ok(id)
}

/// Queues a sync of the connection now; one queued this very second is as good.
async fn request_sync(
    store: &Store,
    ws: WorkspaceId,
    connection: ConnectionId,
) -> Result<(), DemoError> {
    match store
        .partner(ws)
        .request_job(connection, "sync", onepane_sync::JOB_ATTEMPTS)
        .await
    {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

// ---- waiting for the first syncs ---------------------------------------------

/// Watches the first syncs and Contoso's first publish, then counts what
/// the workspace holds.
struct Watch {
    store: Store,
    workspace_id: WorkspaceId,
    sources: Vec<(&'static str, ConnectionId)>,
    published: watch::Receiver<bool>,
    since: DateTime<Utc>,
    started: Instant,
}

impl Watch {
    async fn run(self, ready: oneshot::Sender<Ready>) {
        let deadline = Instant::now() + READY_WITHIN;
        let mut told_failed: Vec<ConnectionId> = Vec::new();
        loop {
            match self.check(&mut told_failed).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => warn!(error = %cause_chain(&e), "cannot read the demo's first syncs"),
            }
            if Instant::now() > deadline {
                warn!(
                    "the demo's vendors are not all in after {} s; see the connections' runs",
                    READY_WITHIN.as_secs()
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match self.count().await {
            Ok(counts) => {
                let _ = ready.send(counts);
            }
            Err(e) => warn!(error = %cause_chain(&e), "cannot count the demo's data"),
        }
    }

    /// Whether every source has a successful run since the demo started and
    /// Contoso has published.
    async fn check(&self, told_failed: &mut Vec<ConnectionId>) -> Result<bool, StoreError> {
        let partner = self.store.partner(self.workspace_id);
        let mut all = *self.published.borrow();
        for (vendor, id) in &self.sources {
            let runs = partner.sync_runs(*id, 5).await?;
            let recent: Vec<_> = runs.iter().filter(|r| r.started_at >= self.since).collect();
            if recent.iter().any(|r| r.status == "succeeded") {
                continue;
            }
            all = false;
            if let Some(failed) = recent.iter().find(|r| r.status == "failed")
                && !told_failed.contains(id)
            {
                told_failed.push(*id);
                warn!(
                    vendor,
                    errors = ?failed.errors,
                    "{vendor}'s first sync failed; see the connection's runs and jobs"
                );
            }
        }
        Ok(all)
    }

    async fn count(&self) -> Result<Ready, StoreError> {
        let partner = self.store.partner(self.workspace_id);
        let leads = partner
            .leads(
                &LeadFilter::default(),
                Page {
                    after: None,
                    limit: 500,
                },
            )
            .await?;
        Ok(Ready {
            took: self.started.elapsed(),
            campaigns: partner.campaigns().await?.len(),
            assets: partner.assets().await?.len(),
            price_items: partner.pricing().await?.items.len(),
            leads: leads.len(),
        })
    }
}

// ---- simulated vendors speaking to Onepane -------------------------------------

/// A simulated vendor's client of Onepane's connector API: an access token
/// from the client-credentials grant, then bearer requests.
struct ConnectorApi {
    vendor: &'static str,
    http: reqwest::Client,
    base: String,
    login: ClientLogin,
    token: Mutex<Option<(String, Instant)>>,
}

impl ConnectorApi {
    fn new(vendor: &'static str, http: reqwest::Client, base: &str, login: ClientLogin) -> Self {
        Self {
            vendor,
            http,
            base: base.trim_end_matches('/').to_owned(),
            login,
            token: Mutex::new(None),
        }
    }

    /// A token that is good for a while yet; a new one when `renew`.
    async fn access_token(&self, renew: bool) -> Result<String, DemoError> {
        let mut held = self.token.lock().await;
        if !renew
            && let Some((token, until)) = held.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let action = "getting an access token".to_owned();
        let response = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .basic_auth(&self.login.client_id, Some(&self.login.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|source| DemoError::Request {
                vendor: self.vendor,
                action: action.clone(),
                source,
            })?;
        let (status, body) = read_json(self.vendor, &action, response).await?;
        if !status.is_success() {
            return Err(refused(self.vendor, action, status, &body));
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| refused(self.vendor, action, status, &body))?
            .to_owned();
        let lifetime = body
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(300);
        // Renewed a minute early, so a request never carries one about to lapse.
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(10));
        *held = Some((token.clone(), until));
        Ok(token)
    }

    /// Sends a request; a 401 renews the token once and repeats it.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), DemoError> {
        let action = format!("{method} {path}");
        let mut renew = false;
        loop {
            let token = self.access_token(renew).await?;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|source| DemoError::Request {
                vendor: self.vendor,
                action: action.clone(),
                source,
            })?;
            let (status, body) = read_json(self.vendor, &action, response).await?;
            if status == StatusCode::UNAUTHORIZED && !renew {
                renew = true;
                continue;
            }
            return Ok((status, body));
        }
    }

    /// Sends a request that must succeed.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, DemoError> {
        let (status, answer) = self.send(method.clone(), path, body).await?;
        if status.is_success() {
            Ok(answer)
        } else {
            Err(refused(
                self.vendor,
                format!("{method} {path}"),
                status,
                &answer,
            ))
        }
    }
}

async fn read_json(
    vendor: &'static str,
    action: &str,
    response: reqwest::Response,
) -> Result<(StatusCode, Value), DemoError> {
    let status = StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = response
        .bytes()
        .await
        .map_err(|source| DemoError::Request {
            vendor,
            action: action.to_owned(),
            source,
        })?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok((status, body))
}

fn refused(vendor: &'static str, action: String, status: StatusCode, body: &Value) -> DemoError {
    let detail = body
        .get("detail")
        .and_then(Value::as_str)
        .map_or_else(|| body.to_string(), str::to_owned);
    DemoError::Refused {
        vendor,
        action,
        status: status.as_u16(),
        detail: detail.chars().take(300).collect(),
    }
}

/// A vendor's channel desk: polls the deal registrations submitted to it
/// and decides each once it has waited `decide_after`. A title with
/// "reject" in it is rejected with a reason; the rest are approved with 90
/// days of protection and an extra discount.
struct DealDesk {
    api: Arc<ConnectorApi>,
    decide_after: Duration,
    extra_discount: &'static str,
}

/// How often a deal desk looks at its registrations, at most.
const DEAL_POLL: Duration = Duration::from_secs(2);

impl DealDesk {
    async fn run(self) {
        let every = DEAL_POLL.min(self.decide_after.max(Duration::from_millis(500)));
        let mut failing = false;
        loop {
            tokio::time::sleep(every).await;
            match self.decide_due().await {
                Ok(_) => failing = false,
                // Said once per stretch of failures: a server shutting down
                // or still starting is not worth a line a second.
                Err(e) if !failing => {
                    failing = true;
                    warn!(vendor = self.api.vendor, error = %cause_chain(&e), "cannot read deal registrations");
                }
                Err(_) => {}
            }
        }
    }

    /// Decides the submitted registrations that have waited long enough.
    async fn decide_due(&self) -> Result<usize, DemoError> {
        let page = self
            .api
            .ok(
                Method::GET,
                "/api/v1/vendor/deal-registrations?status=submitted&limit=100",
                None,
            )
            .await?;
        let now = Utc::now();
        let wait = chrono::Duration::from_std(self.decide_after).unwrap_or(chrono::Duration::MAX);
        let mut decided = 0;
        for registration in page
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = registration.get("id").and_then(Value::as_str);
            let submitted_at = registration
                .get("submitted_at")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            let (Some(id), Some(submitted_at)) = (id, submitted_at) else {
                warn!(
                    vendor = self.api.vendor,
                    "skipping a deal registration without an id or submission time"
                );
                continue;
            };
            if now.signed_duration_since(submitted_at) < wait {
                continue;
            }
            let title = registration
                .pointer("/details/title")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let decision = self.decision(title, now);
            let path = format!("/api/v1/vendor/deal-registrations/{id}/decision");
            let (status, answer) = self.api.send(Method::POST, &path, Some(&decision)).await?;
            match status.as_u16() {
                200..=299 => {
                    decided += 1;
                    let outcome = decision
                        .get("decision")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    info!(
                        vendor = self.api.vendor,
                        registration = id,
                        outcome,
                        "decided a deal registration"
                    );
                }
                // Decided meanwhile (by an earlier poll still in flight).
                422 => {}
                _ => {
                    return Err(refused(
                        self.api.vendor,
                        format!("POST {path}"),
                        status,
                        &answer,
                    ));
                }
            }
        }
        Ok(decided)
    }

    fn decision(&self, title: &str, now: DateTime<Utc>) -> Value {
        if title.to_lowercase().contains("reject") {
            serde_json::json!({
                "decision": "rejected",
                "reason": format!(
                    "{} already protects this opportunity for another partner (registered first). \
                     Talk to your channel manager if you think this is wrong.",
                    self.api.vendor
                ),
            })
        } else {
            let expires = now.date_naive() + chrono::Days::new(90);
            serde_json::json!({
                "decision": "approved",
                "reason": format!(
                    "Approved by the {} channel desk: protected for 90 days, with an extra {} % \
                     discount on the registered products.",
                    self.api.vendor, self.extra_discount
                ),
                "protection_expires_on": expires.to_string(),
                "extra_discount": self.extra_discount,
            })
        }
    }
}

// ---- the vendors' own web servers ------------------------------------------------

/// Binds a loopback port for a vendor's server.
async fn bind_loopback(vendor: &'static str) -> Result<(TcpListener, SocketAddr), DemoError> {
    let bind = |source| DemoError::Bind { vendor, source };
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    Ok((listener, addr))
}

/// Serves a vendor's router until the task is aborted.
fn serve(vendor: &'static str, listener: TcpListener, router: Router) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            warn!(vendor, error = %e, "{vendor}'s server stopped");
        }
    })
}

/// A downloadable file of a vendor's (a datasheet, a brochure), as a page.
#[derive(Debug, Clone, Copy)]
struct VendorFile {
    slug: &'static str,
    title: &'static str,
    text: &'static str,
}

/// The routes that serve a vendor's files at `/files/{slug}`, and its
/// home page at `/`.
fn file_routes(vendor: &'static str, blurb: &'static str, files: &'static [VendorFile]) -> Router {
    #[derive(Clone)]
    struct Files {
        vendor: &'static str,
        blurb: &'static str,
        by_slug: Arc<HashMap<&'static str, VendorFile>>,
    }
    async fn home(State(files): State<Files>) -> Response {
        let mut all: Vec<&VendorFile> = files.by_slug.values().collect();
        all.sort_by_key(|f| f.title);
        VendorPage {
            vendor: files.vendor,
            title: files.vendor,
            text: files.blurb,
            files: Some(all),
        }
        .respond()
    }
    async fn file(State(files): State<Files>, UrlPath(slug): UrlPath<String>) -> Response {
        match files.by_slug.get(slug.as_str()) {
            Some(f) => VendorPage {
                vendor: files.vendor,
                title: f.title,
                text: f.text,
                files: None,
            }
            .respond(),
            None => (StatusCode::NOT_FOUND, "no such file").into_response(),
        }
    }
    let by_slug = files.iter().map(|f| (f.slug, *f)).collect();
    Router::new()
        .route("/", axum::routing::get(home))
        .route("/files/{slug}", axum::routing::get(file))
        .with_state(Files {
            vendor,
            blurb,
            by_slug: Arc::new(by_slug),
        })
}

/// A page of a vendor's site: its home page, which lists its files, or
/// one file.
#[derive(Debug, askama::Template)]
#[template(path = "vendor_page.html")]
struct VendorPage<'a> {
    vendor: &'a str,
    title: &'a str,
    text: &'a str,
    /// The files listed on the home page.
    files: Option<Vec<&'a VendorFile>>,
}

impl VendorPage<'_> {
    fn respond(&self) -> Response {
        match askama::Template::render(self) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                warn!(error = %e, "cannot draw a vendor's page");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// A day relative to today, as `YYYY-MM-DD`.
fn day(offset_days: i64) -> String {
    (Utc::now().date_naive() + chrono::Duration::days(offset_days)).to_string()
}

/// The demo's workspaces, vendors and links, as ids.
#[derive(Debug)]
struct Tenants {
    /// The demo partner's workspace.
    workspace: WorkspaceId,
    northwind: VendorId,
    contoso: VendorId,
    fabrikam: VendorId,
    /// The partner API token printed for the demo's user.
    api_token: String,
}

impl Tenants {
    /// Makes (or finds) both workspaces, the three vendors, their links and
    /// the partner's pricing, and the partner API token.
    async fn seed(store: &Store, saved: &mut SavedLogins) -> Result<Tenants, DemoError> {
        let seeded = seed_workspaces(store, &saved.password).await?;
        let ws = seeded.aurora;
        let northwind = ensure_vendor(store, northwind::NAME, VendorKind::Vendor).await?;
        let contoso = ensure_vendor(store, contoso::NAME, VendorKind::Vendor).await?;
        let fabrikam = ensure_vendor(store, fabrikam::NAME, VendorKind::Distributor).await?;
        ensure_link(
            store,
            ws,
            northwind,
            northwind::TIER,
            PartnerType::SolutionProvider,
        )
        .await?;
        ensure_link(store, ws, contoso, contoso::TIER, PartnerType::Var).await?;
        ensure_link(store, ws, fabrikam, fabrikam::TIER, PartnerType::Var).await?;
        ensure_link(
            store,
            seeded.borealis,
            contoso,
            contoso::SECOND_WORKSPACE_TIER,
            PartnerType::Msp,
        )
        .await?;
        seed_pricing(store, ws, northwind, contoso, fabrikam).await?;
        let api_token = ensure_api_token(store, ws, saved.api_token.take()).await?;
        saved.api_token = Some(api_token.clone());
        Ok(Tenants {
            workspace: ws,
            northwind,
            contoso,
            fabrikam,
            api_token,
        })
    }
}

/// Northwind: its API on loopback, pulled by a `rest` connection. Gives
/// the connection and the API's base URL.
async fn start_northwind(
    store: &Store,
    sealer: &Sealer,
    tenants: &Tenants,
    options: &DemoOptions,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(ConnectionId, String), DemoError> {
    let key = random_secret("nwk_").map_err(DemoError::secret)?;
    let (addr, task) = northwind::start(key.clone(), options.decide_after).await?;
    tasks.push(task);
    let api_base = northwind::api_base(addr);
    let conn = ensure_source(
        store,
        sealer,
        tenants.workspace,
        Source {
            vendor: northwind::NAME,
            vendor_id: tenants.northwind,
            connector: "rest",
            name: "Northwind partner API",
            schedule: northwind::SCHEDULE,
            settings: serde_json::json!({ "manifest": northwind::manifest(&api_base) }),
            credentials: Credentials::ApiKey {
                name: northwind::API_KEY_HEADER.to_owned(),
                value: Secret::new(key),
                placement: onepane_connector::KeyPlacement::Header,
            },
        },
    )
    .await?;
    Ok((conn, api_base))
}

/// Fabrikam: its price list as a CSV file, read by a `csv` connection, and
/// served for download. Gives the connection, the server's address and
/// the file.
async fn start_fabrikam(
    store: &Store,
    sealer: &Sealer,
    tenants: &Tenants,
    options: &DemoOptions,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(ConnectionId, SocketAddr, PathBuf), DemoError> {
    let csv = fabrikam::price_list_csv();
    let (addr, task) = fabrikam::start(csv.clone()).await?;
    tasks.push(task);
    let csv_path = absolute(&options.data_dir.join(fabrikam::CSV_FILE))?;
    write_private(&csv_path, csv.as_bytes())?;
    let conn = ensure_source(
        store,
        sealer,
        tenants.workspace,
        Source {
            vendor: fabrikam::NAME,
            vendor_id: tenants.fabrikam,
            connector: "csv",
            name: "Fabrikam price list (CSV)",
            schedule: fabrikam::SCHEDULE,
            settings: fabrikam::settings(&csv_path)?,
            credentials: Credentials::None,
        },
    )
    .await?;
    Ok((conn, addr, csv_path))
}

/// Contoso, a vendor of its own speaking to Onepane's connector API, and
/// its deal desk, which decides registrations through it. Gives
/// Contoso's file server and word of its first publish.
async fn start_connector_api_vendors(
    store: &Store,
    tenants: &Tenants,
    options: &DemoOptions,
    saved: &mut SavedLogins,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(SocketAddr, watch::Receiver<bool>), DemoError> {
    let (contoso_addr, task) = contoso::start().await?;
    tasks.push(task);
    let all_scopes: Vec<String> = onepane_server::http::oauth::SCOPES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let contoso_login = ensure_api_client(
        store,
        &options.client_secrets,
        tenants.contoso,
        "Contoso partner platform",
        &all_scopes,
        saved.contoso.take(),
    )
    .await?;
    saved.contoso = Some(contoso_login.clone());
    // Straight to loopback, whatever proxy the environment names.
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|source| DemoError::Request {
            vendor: contoso::NAME,
            action: "making an HTTP client".into(),
            source,
        })?;
    let contoso_api = Arc::new(ConnectorApi::new(
        contoso::NAME,
        http.clone(),
        &options.onepane_url,
        contoso_login,
    ));
    let (published_tx, published_rx) = watch::channel(false);
    tasks.push(tokio::spawn(contoso::run(
        Arc::clone(&contoso_api),
        contoso::files_base(contoso_addr),
        published_tx,
    )));
    // Contoso decides its deal registrations through the connector API;
    // Northwind's desk decides in its own system.
    tasks.push(tokio::spawn(
        DealDesk {
            api: contoso_api,
            decide_after: options.decide_after,
            extra_discount: contoso::DEAL_DISCOUNT,
        }
        .run(),
    ));
    Ok((contoso_addr, published_rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_four_groups_of_four_and_differ() {
        let a = new_password().unwrap();
        let b = new_password().unwrap();
        assert_eq!(a.len(), 19, "{a}");
        assert_eq!(a.split('-').count(), 4, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_login_file_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOGIN_FILE);
        let saved = SavedLogins {
            email: LOGIN_EMAIL.into(),
            password: "abcd-efgh-jkmn-pqrs".into(),
            api_token: Some("oppat_x\"y".into()),
            contoso: Some(ClientLogin {
                client_id: "c1".into(),
                client_secret: "opcs_s".into(),
            }),
            northwind: None,
        };
        saved.write(&path).unwrap();
        let back = SavedLogins::read(&path).unwrap();
        assert_eq!(back.password, saved.password);
        assert_eq!(back.api_token, saved.api_token);
        assert_eq!(back.contoso.map(|c| c.client_secret), Some("opcs_s".into()));
        assert!(back.northwind.is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_login_file_not_written_by_the_demo_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOGIN_FILE);
        std::fs::write(&path, "password = 3\n").unwrap();
        let err = SavedLogins::read(&path).err().unwrap();
        assert!(err.is_bad_input());
        assert!(err.to_string().contains(LOGIN_FILE), "{err}");
    }

    #[test]
    fn rejects_say_why_and_approvals_protect_with_a_discount() {
        let desk = DealDesk {
            api: Arc::new(ConnectorApi::new(
                "Vendor",
                reqwest::Client::new(),
                "http://127.0.0.1:1",
                ClientLogin {
                    client_id: "c".into(),
                    client_secret: "s".into(),
                },
            )),
            decide_after: Duration::from_secs(1),
            extra_discount: "5",
        };
        let now = Utc::now();
        let rejected = desk.decision("Please REJECT this one", now);
        assert_eq!(rejected["decision"], "rejected");
        assert!(
            rejected["reason"]
                .as_str()
                .unwrap()
                .contains("another partner")
        );
        let approved = desk.decision("Firewalls for Kaleva", now);
        assert_eq!(approved["decision"], "approved");
        assert_eq!(approved["extra_discount"], "5");
        assert_eq!(
            approved["protection_expires_on"],
            (now.date_naive() + chrono::Days::new(90)).to_string()
        );
    }
}
