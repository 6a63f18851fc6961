//! `onepane admin`: the operator's tasks, run through the store's operator scope.

use clap::{Args, Subcommand};
use onepane_domain::text::{Email, Locale, Name};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{ApiClientId, Currency, PartnerType, Tier, VendorId, VendorKind, WorkspaceId};
use onepane_store::Store;
use serde::Serialize;

use super::backup::{self, BackupArgs, RestoreArgs};
use super::{CliError, output, parse_flag};
use onepane_server::auth::credentials::{
    ACCESS_TOKEN_PREFIX, CLIENT_SECRET_PREFIX, ClientSecrets, random_secret, token_digest,
};
use onepane_server::auth::jwt::TokenPolicy;
use onepane_server::auth::keys::new_stored_key;
use onepane_server::config::Config;
use onepane_server::http::oauth::SCOPES;
use onepane_server::seal::Sealer;
use onepane_server::startup::{StartupError, open_store, resolve_secret_key};

/// The operator's tasks.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a partner's workspace and its owner.
    CreateWorkspace(CreateWorkspaceArgs),
    /// Create a vendor or distributor organization, with an API client
    /// holding every scope (its secret is printed once).
    CreateVendor(CreateVendorArgs),
    /// Create another API client for a vendor (its secret is printed once).
    CreateApiClient(CreateApiClientArgs),
    /// Revoke an API client: it gets no new access tokens.
    RevokeApiClient(RevokeApiClientArgs),
    /// Create a personal access token for a member of a workspace (printed once).
    CreateToken(CreateTokenArgs),
    /// Print a one-time link with which a user sets a password (valid 24 hours).
    PasswordLink(PasswordLinkArgs),
    /// Make a new access-token signing key; the old one verifies until its tokens expire.
    RotateSigningKey,
    /// Link a workspace to a vendor with a program tier and partner type.
    Link(LinkArgs),
    /// Print the SQL that creates the PostgreSQL roles and database.
    PostgresRoles(PostgresRolesArgs),
    /// Write a backup of the database to a file while the server serves
    /// (SQLite: a consistent copy; PostgreSQL: a pg_dump archive).
    Backup(BackupArgs),
    /// Restore a backup into the configured database (stop the servers
    /// first); the secret key of the backed-up installation must be in place.
    Restore(RestoreArgs),
}

/// `admin create-workspace`.
#[derive(Debug, Args)]
pub struct CreateWorkspaceArgs {
    /// The partner organization's name.
    #[arg(long)]
    pub name: String,
    /// The first owner's login email.
    #[arg(long)]
    pub owner_email: String,
    /// The currency margins are reported in (ISO 4217).
    #[arg(long, default_value = "EUR")]
    pub currency: String,
    /// The workspace's default language, e.g. en, fi or en-GB.
    #[arg(long, default_value = "en")]
    pub locale: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `admin create-vendor`.
#[derive(Debug, Args)]
pub struct CreateVendorArgs {
    /// The organization's name.
    #[arg(long)]
    pub name: String,
    /// vendor or distributor.
    #[arg(long, default_value = "vendor")]
    pub kind: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `admin create-api-client`.
#[derive(Debug, Args)]
pub struct CreateApiClientArgs {
    /// The vendor id.
    #[arg(long)]
    pub vendor: String,
    /// The scopes, comma- or space-separated (default: all of them).
    #[arg(long)]
    pub scopes: Option<String>,
    /// What to call the client.
    #[arg(long, default_value = "API client")]
    pub name: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `admin revoke-api-client`.
#[derive(Debug, Args)]
pub struct RevokeApiClientArgs {
    /// The client id.
    #[arg(long)]
    pub client_id: String,
}

/// `admin create-token`.
#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    /// The workspace id.
    #[arg(long)]
    pub workspace: String,
    /// The member's login email.
    #[arg(long)]
    pub email: String,
    /// What to call the token.
    #[arg(long, default_value = "API token")]
    pub name: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `admin password-link`.
#[derive(Debug, Args)]
pub struct PasswordLinkArgs {
    /// The user's login email.
    #[arg(long)]
    pub email: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `admin password-link --json` prints.
#[derive(Debug, serde::Serialize)]
struct PasswordLink {
    user_id: onepane_domain::UserId,
    link: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// `admin link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The workspace id.
    #[arg(long)]
    pub workspace: String,
    /// The vendor id.
    #[arg(long)]
    pub vendor: String,
    /// registered, silver, gold or platinum.
    #[arg(long)]
    pub tier: String,
    /// agent, concessionaire, document-technology-partner, solution-provider,
    /// volume-partner, distributor, var or msp.
    #[arg(long)]
    pub partner_type: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `admin postgres-roles`.
#[derive(Debug, Args)]
pub struct PostgresRolesArgs {
    /// The role that owns the schema and runs migrations.
    #[arg(long, default_value = "onepane_owner")]
    pub owner: String,
    /// The role `onepane serve` connects as.
    #[arg(long, default_value = "onepane_app")]
    pub server: String,
    /// The database.
    #[arg(long, default_value = "onepane")]
    pub database: String,
}

#[derive(Debug, Serialize)]
struct WorkspaceCreated {
    workspace_id: WorkspaceId,
    owner_user_id: onepane_domain::UserId,
}

#[derive(Debug, Serialize)]
struct VendorCreated {
    vendor_id: VendorId,
    client_id: ApiClientId,
    client_secret: String,
}

#[derive(Debug, Serialize)]
struct ClientCreated {
    vendor_id: VendorId,
    client_id: ApiClientId,
    client_secret: String,
    scopes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct TokenCreated {
    token_id: onepane_domain::AccessTokenId,
    workspace_id: WorkspaceId,
    user_id: onepane_domain::UserId,
    token: String,
}

/// The scopes asked for: every scope when none are named; an unknown one is refused.
fn parse_scopes(raw: Option<&str>) -> Result<Vec<String>, CliError> {
    let Some(raw) = raw else {
        return Ok(SCOPES.iter().map(|s| (*s).to_owned()).collect());
    };
    let scopes: Vec<String> = raw
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err(CliError::Argument {
            flag: "--scopes",
            source: "names no scope".into(),
        });
    }
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(CliError::Argument {
            flag: "--scopes",
            source: format!(
                "`{bad}` is not a scope; the scopes are {}",
                SCOPES.join(", ")
            )
            .into(),
        });
    }
    Ok(scopes)
}

/// A new client secret and its digest under the server's secret key.
fn new_client_secret(config: &Config) -> Result<(String, String), CliError> {
    let key = resolve_secret_key(config).map_err(StartupError::from)?;
    let secret = random_secret(CLIENT_SECRET_PREFIX).map_err(|e| CliError::Secret(Box::new(e)))?;
    let digest = ClientSecrets::new(&key).digest(&secret);
    Ok((secret, digest))
}

#[derive(Debug, Serialize)]
struct Linked {
    workspace_id: WorkspaceId,
    vendor_id: VendorId,
    tier: &'static str,
    partner_type: &'static str,
    status: &'static str,
    sees: Sees,
}

/// What the workspace sees of the vendor's published content once linked.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
struct Sees {
    campaigns: usize,
    assets: usize,
    price_lists: usize,
    price_items: usize,
}

/// Runs an admin command that needs the store. Every value is parsed before
/// the store is opened, so bad input never touches the database.
pub(crate) async fn run(command: AdminCommand, config: &Config) -> Result<(), CliError> {
    match command {
        AdminCommand::CreateWorkspace(args) => create_workspace(args, config).await,
        AdminCommand::CreateVendor(args) => create_vendor(args, config).await,
        AdminCommand::CreateApiClient(args) => create_api_client(args, config).await,
        AdminCommand::RevokeApiClient(args) => revoke_api_client(args, config).await,
        AdminCommand::CreateToken(args) => create_token(args, config).await,
        AdminCommand::PasswordLink(args) => password_link(args, config).await,
        AdminCommand::RotateSigningKey => rotate_signing_key(config).await,
        AdminCommand::Link(args) => link(args, config).await,
        AdminCommand::PostgresRoles(args) => postgres_roles(&args),
        AdminCommand::Backup(args) => backup::backup(args, config).await,
        AdminCommand::Restore(args) => backup::restore(args, config).await,
    }
}

/// `admin create-workspace`: a partner's workspace and its owner.
async fn create_workspace(args: CreateWorkspaceArgs, config: &Config) -> Result<(), CliError> {
    let new = NewWorkspace {
        name: parse_flag::<Name>("--name", &args.name)?,
        home_currency: parse_flag::<Currency>("--currency", &args.currency)?,
        locale: parse_flag::<Locale>("--locale", &args.locale)?,
        owner_email: parse_flag::<Email>("--owner-email", &args.owner_email)?,
    };
    let (workspace, owner) = in_store(config, async |store| {
        Ok(store.operator().create_workspace(&new).await?)
    })
    .await?;
    if args.json {
        return output::json(&WorkspaceCreated {
            workspace_id: workspace.id,
            owner_user_id: owner.id,
        });
    }
    output::line(&format!(
        "Created workspace \"{}\" with id {} (home currency {}, locale {}).\n\
         Owner: {} (user id {}).",
        workspace.name,
        workspace.id,
        workspace.home_currency,
        workspace.locale,
        owner.email,
        owner.id
    ))
}

/// `admin create-vendor`: a vendor with an API client holding every scope.
async fn create_vendor(args: CreateVendorArgs, config: &Config) -> Result<(), CliError> {
    let name = parse_flag::<Name>("--name", &args.name)?;
    let kind = parse_flag::<VendorKind>("--kind", &args.kind)?;
    let (secret, hash) = new_client_secret(config)?;
    let scopes = parse_scopes(None)?;
    let (vendor, client) = in_store(config, async |store| {
        let vendor = store.operator().create_vendor(&name, kind).await?;
        let client_name = parse_flag::<Name>("--name", "API client")?;
        let client = store
            .operator()
            .create_api_client(vendor.id, &client_name, &hash, &scopes)
            .await?;
        Ok((vendor, client))
    })
    .await?;
    if args.json {
        return output::json(&VendorCreated {
            vendor_id: vendor.id,
            client_id: client.id,
            client_secret: secret,
        });
    }
    output::line(&format!(
        "Created {} \"{}\" with id {}.\n\
         API client id: {}\n\
         API client secret: {secret}\n\
         The secret is shown only now; store it safely.",
        vendor.kind, vendor.name, vendor.id, client.id
    ))
}

/// `admin create-api-client`: another API client for a vendor.
async fn create_api_client(args: CreateApiClientArgs, config: &Config) -> Result<(), CliError> {
    let vendor_id = parse_flag::<VendorId>("--vendor", &args.vendor)?;
    let name = parse_flag::<Name>("--name", &args.name)?;
    let scopes = parse_scopes(args.scopes.as_deref())?;
    let (secret, hash) = new_client_secret(config)?;
    let client = in_store(config, async |store| {
        Ok(store
            .operator()
            .create_api_client(vendor_id, &name, &hash, &scopes)
            .await?)
    })
    .await?;
    if args.json {
        return output::json(&ClientCreated {
            vendor_id,
            client_id: client.id,
            client_secret: secret,
            scopes,
        });
    }
    output::line(&format!(
        "Created API client {} for vendor {vendor_id} with scopes {}.\n\
         API client secret: {secret}\n\
         The secret is shown only now; store it safely.",
        client.id,
        scopes.join(" ")
    ))
}

/// `admin revoke-api-client`.
async fn revoke_api_client(args: RevokeApiClientArgs, config: &Config) -> Result<(), CliError> {
    let id = parse_flag::<ApiClientId>("--client-id", &args.client_id)?;
    let client = in_store(config, async |store| {
        Ok(store.operator().revoke_api_client(id).await?)
    })
    .await?;
    output::line(&format!(
        "Revoked API client {} of vendor {}: it gets no new access tokens; tokens \
         already issued expire within {} minutes.",
        client.id,
        client.vendor_id,
        TokenPolicy::DEFAULT_TTL.as_secs() / 60
    ))
}

/// `admin create-token`: a personal access token for a member.
async fn create_token(args: CreateTokenArgs, config: &Config) -> Result<(), CliError> {
    let workspace_id = parse_flag::<WorkspaceId>("--workspace", &args.workspace)?;
    let email = parse_flag::<Email>("--email", &args.email)?;
    let name = parse_flag::<Name>("--name", &args.name)?;
    let token = random_secret(ACCESS_TOKEN_PREFIX).map_err(|e| CliError::Secret(Box::new(e)))?;
    let created = in_store(config, async |store| {
        Ok(store
            .operator()
            .create_access_token(workspace_id, &email, &name, &token_digest(&token))
            .await?)
    })
    .await?;
    if args.json {
        return output::json(&TokenCreated {
            token_id: created.id,
            workspace_id,
            user_id: created.user_id,
            token,
        });
    }
    output::line(&format!(
        "Created access token {} for {email} in workspace {workspace_id}.\n\
         Token: {token}\n\
         The token is shown only now; send it as `Authorization: Bearer <token>`.",
        created.id
    ))
}

/// `admin password-link`: a one-time link to choose a password.
async fn password_link(args: PasswordLinkArgs, config: &Config) -> Result<(), CliError> {
    let email = parse_flag::<Email>("--email", &args.email)?;
    let token = random_secret("").map_err(|e| CliError::Secret(Box::new(e)))?;
    let expires_at = chrono::Utc::now() + chrono::Duration::hours(24);
    let made = in_store(config, async |store| {
        Ok(store
            .system()
            .create_password_reset(&email, &token_digest(&token), expires_at)
            .await?)
    })
    .await?;
    let Some(user_id) = made else {
        return Err(onepane_store::StoreError::NotFound {
            what: "user",
            id: email.to_string(),
        }
        .into());
    };
    // The address the server is reached at (public_url), else the
    // default listen address.
    let base = config.public_base(config.listen);
    let link = format!("{base}/login/reset/{token}");
    if args.json {
        return output::json(&PasswordLink {
            user_id,
            link,
            expires_at,
        });
    }
    output::line(&format!(
        "Open this link to choose a password for {email} (it works once, for 24 hours):\n{link}"
    ))
}

/// `admin rotate-signing-key`.
async fn rotate_signing_key(config: &Config) -> Result<(), CliError> {
    let sealer = Sealer::new(&resolve_secret_key(config).map_err(StartupError::from)?);
    let key = new_stored_key(&sealer).map_err(StartupError::from)?;
    in_store(config, async |store| {
        Ok(store.operator().rotate_signing_key(&key).await?)
    })
    .await?;
    output::line(&format!(
        "Made signing key {}. Servers sign with it within a minute; the previous key \
         keeps verifying until its tokens expire.",
        key.kid
    ))
}

/// `admin link`: a workspace to a vendor, with what the vendor published.
async fn link(args: LinkArgs, config: &Config) -> Result<(), CliError> {
    let workspace_id = parse_flag::<WorkspaceId>("--workspace", &args.workspace)?;
    let vendor_id = parse_flag::<VendorId>("--vendor", &args.vendor)?;
    let tier = parse_flag::<Tier>("--tier", &args.tier)?;
    let partner_type = parse_flag::<PartnerType>("--partner-type", &args.partner_type)?;
    // What the vendor published is stored once: the link alone makes
    // what is meant for the partner visible to it.
    let (link, sees) = in_store(config, async |store| {
        let link = store
            .operator()
            .link(workspace_id, vendor_id, tier, partner_type)
            .await?;
        let partner = store.partner(workspace_id);
        let mut sees = Sees {
            campaigns: partner
                .campaigns()
                .await?
                .iter()
                .filter(|c| c.vendor_id == vendor_id)
                .count(),
            assets: partner
                .assets()
                .await?
                .iter()
                .filter(|a| a.vendor_id == vendor_id)
                .count(),
            ..Sees::default()
        };
        for list in partner
            .price_lists()
            .await?
            .iter()
            .filter(|l| l.vendor_id == vendor_id)
        {
            sees.price_lists += 1;
            sees.price_items += partner.price_items(list.id).await?.len();
        }
        Ok((link, sees))
    })
    .await?;
    if args.json {
        return output::json(&Linked {
            workspace_id: link.workspace_id,
            vendor_id: link.vendor_id,
            tier: link.tier.as_str(),
            partner_type: link.partner_type.as_str(),
            status: link.status.as_str(),
            sees,
        });
    }
    let extra = if sees == Sees::default() {
        String::new()
    } else {
        format!(
            " It sees what the vendor published for it: {} campaigns, {} assets, \
             {} price lists ({} items).",
            sees.campaigns, sees.assets, sees.price_lists, sees.price_items
        )
    };
    output::line(&format!(
        "Linked workspace {} to vendor {}: tier {}, partner type {}, {}.{extra}",
        link.workspace_id, link.vendor_id, link.tier, link.partner_type, link.status
    ))
}

/// Opens the store, runs `work` in it and closes it again, whatever `work`
/// gave.
async fn in_store<T>(
    config: &Config,
    work: impl AsyncFnOnce(&Store) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let store = open_store(config).await?;
    let done = work(&store).await;
    store.close().await;
    done
}

/// Prints the roles SQL. Its text is also kept as `deploy/postgres/roles.sql`.
pub(crate) fn postgres_roles(args: &PostgresRolesArgs) -> Result<(), CliError> {
    let sql = onepane_store::postgres::roles_sql(&args.owner, &args.server, &args.database)?;
    // The SQL ends with a newline already; `line` would add a second.
    output::line(sql.trim_end_matches('\n'))
}
