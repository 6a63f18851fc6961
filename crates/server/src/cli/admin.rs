//! `onepane admin`: the operator's tasks, run through the store's operator scope.

use clap::{Args, Subcommand};
use onepane_domain::text::{Email, Locale, Name};
use onepane_domain::workspace::NewWorkspace;
use onepane_domain::{Currency, PartnerType, Tier, VendorId, VendorKind, WorkspaceId};
use serde::Serialize;

use super::{CliError, output, parse_flag};
use crate::config::Config;
use crate::startup::open_store;

/// The operator's tasks.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a partner's workspace and its owner.
    CreateWorkspace(CreateWorkspaceArgs),
    /// Create a vendor or distributor organization.
    CreateVendor(CreateVendorArgs),
    /// Link a workspace to a vendor with a program tier and partner type.
    Link(LinkArgs),
    /// Print the SQL that creates the PostgreSQL roles and database.
    PostgresRoles(PostgresRolesArgs),
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
}

#[derive(Debug, Serialize)]
struct Linked {
    workspace_id: WorkspaceId,
    vendor_id: VendorId,
    tier: &'static str,
    partner_type: &'static str,
    status: &'static str,
}

/// Runs an admin command that needs the store. Every value is parsed before
/// the store is opened, so bad input never touches the database.
pub(crate) async fn run(command: AdminCommand, config: &Config) -> Result<(), CliError> {
    match command {
        AdminCommand::CreateWorkspace(args) => {
            let new = NewWorkspace {
                name: parse_flag::<Name>("--name", &args.name)?,
                home_currency: parse_flag::<Currency>("--currency", &args.currency)?,
                locale: parse_flag::<Locale>("--locale", &args.locale)?,
                owner_email: parse_flag::<Email>("--owner-email", &args.owner_email)?,
            };
            let store = open_store(config).await?;
            let created = store.operator().create_workspace(&new).await;
            store.close().await;
            let (workspace, owner) = created?;
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
        AdminCommand::CreateVendor(args) => {
            let name = parse_flag::<Name>("--name", &args.name)?;
            let kind = parse_flag::<VendorKind>("--kind", &args.kind)?;
            let store = open_store(config).await?;
            let created = store.operator().create_vendor(&name, kind).await;
            store.close().await;
            let vendor = created?;
            if args.json {
                return output::json(&VendorCreated {
                    vendor_id: vendor.id,
                });
            }
            output::line(&format!(
                "Created {} \"{}\" with id {}.",
                vendor.kind, vendor.name, vendor.id
            ))
        }
        AdminCommand::Link(args) => {
            let workspace_id = parse_flag::<WorkspaceId>("--workspace", &args.workspace)?;
            let vendor_id = parse_flag::<VendorId>("--vendor", &args.vendor)?;
            let tier = parse_flag::<Tier>("--tier", &args.tier)?;
            let partner_type = parse_flag::<PartnerType>("--partner-type", &args.partner_type)?;
            let store = open_store(config).await?;
            let linked = store
                .operator()
                .link(workspace_id, vendor_id, tier, partner_type)
                .await;
            store.close().await;
            let link = linked?;
            if args.json {
                return output::json(&Linked {
                    workspace_id: link.workspace_id,
                    vendor_id: link.vendor_id,
                    tier: link.tier.as_str(),
                    partner_type: link.partner_type.as_str(),
                    status: link.status.as_str(),
                });
            }
            output::line(&format!(
                "Linked workspace {} to vendor {}: tier {}, partner type {}, {}.",
                link.workspace_id, link.vendor_id, link.tier, link.partner_type, link.status
            ))
        }
        AdminCommand::PostgresRoles(args) => postgres_roles(&args),
    }
}

/// Prints the roles SQL. Its text is also kept as `deploy/postgres/roles.sql`.
pub(crate) fn postgres_roles(args: &PostgresRolesArgs) -> Result<(), CliError> {
    let sql = onepane_store::postgres::roles_sql(&args.owner, &args.server, &args.database)?;
    // The SQL ends with a newline already; `line` would add a second.
    output::line(sql.trim_end_matches('\n'))
}
