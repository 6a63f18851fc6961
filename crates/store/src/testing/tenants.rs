//! Tenants for tests: workspaces, vendors, the links between them, members
//! and connections, made through the operator and partner scopes as the
//! product makes them. Every builder panics on failure: a test that cannot
//! set up has nothing to check.

use onepane_domain::text::{Email, Locale};
use onepane_domain::workspace::{ConnectionTarget, NewConnection, NewWorkspace, User};
use onepane_domain::{
    ConnectionId, Currency, PartnerType, Role, Tier, VendorId, VendorKind, WorkspaceId,
};

use super::content::name;
use crate::{Store, WorkspaceProfile};

/// `owner@<name as a slug>.example`: the owner every [`workspace`] gets, so
/// a test can sign in as it (`"Acme Oy"` gives `owner@acme-oy.example`).
pub fn owner_email(workspace_name: &str) -> Email {
    let slug = workspace_name.to_lowercase().replace(' ', "-");
    Email::parse(&format!("owner@{slug}.example")).expect("an owner email")
}

/// A new workspace named `workspace_name`: euros, Finnish, owned by
/// [`owner_email`]. Change a field with `NewWorkspace { .., ..new_workspace(n) }`.
pub fn new_workspace(workspace_name: &str) -> NewWorkspace {
    NewWorkspace {
        name: name(workspace_name),
        home_currency: Currency::EUR,
        locale: Locale::parse("fi").expect("a locale"),
        owner_email: owner_email(workspace_name),
    }
}

/// `https://<name as a slug>.example/privacy`: the privacy notice every
/// [`workspace`] links its landing pages to.
pub fn privacy_notice_url(workspace_name: &str) -> String {
    let slug = workspace_name.to_lowercase().replace(' ', "-");
    format!("https://{slug}.example/privacy")
}

/// Creates the workspace [`new_workspace`] describes and its owner, with a
/// profile naming its [`privacy_notice_url`] (a campaign cannot be
/// activated without one).
pub async fn workspace(store: &Store, workspace_name: &str) -> WorkspaceId {
    let (ws, _owner) = store
        .operator()
        .create_workspace(&new_workspace(workspace_name))
        .await
        .expect("create a workspace");
    store
        .partner(ws.id)
        .put_profile(&WorkspaceProfile {
            privacy_notice_url: Some(privacy_notice_url(workspace_name)),
            ..WorkspaceProfile::default()
        })
        .await
        .expect("set the workspace's privacy notice");
    ws.id
}

/// Creates a vendor (not a distributor).
pub async fn vendor(store: &Store, vendor_name: &str) -> VendorId {
    store
        .operator()
        .create_vendor(&name(vendor_name), VendorKind::Vendor)
        .await
        .expect("create a vendor")
        .id
}

/// Links a workspace to a vendor at `tier`, as a solution provider.
pub async fn link(store: &Store, ws: WorkspaceId, vendor: VendorId, tier: Tier) {
    store
        .operator()
        .link(ws, vendor, tier, PartnerType::SolutionProvider)
        .await
        .expect("link a workspace to a vendor");
}

/// A new workspace and a new vendor, linked at `tier`: the smallest world
/// in which a vendor's rows reach a partner.
pub async fn linked(
    store: &Store,
    workspace_name: &str,
    vendor_name: &str,
    tier: Tier,
) -> (WorkspaceId, VendorId) {
    let ws = workspace(store, workspace_name).await;
    let v = vendor(store, vendor_name).await;
    link(store, ws, v, tier).await;
    (ws, v)
}

/// Adds a member with `role` to a workspace (creating the user when new).
pub async fn member(store: &Store, ws: WorkspaceId, email: &str, role: Role) -> User {
    store
        .operator()
        .add_member(ws, &Email::parse(email).expect("a member email"), role)
        .await
        .expect("add a member")
}

/// Two partners and two vendors that must not see each other's rows:
/// vendor one is linked to both partners (Gold), vendor two only to
/// partner B (Silver), so partner A and vendor two are strangers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenants {
    /// "Partner A", owned by `owner@partner-a.example`.
    pub a: WorkspaceId,
    /// "Partner B", owned by `owner@partner-b.example`.
    pub b: WorkspaceId,
    /// "Vendor One", linked to both partners.
    pub v1: VendorId,
    /// "Vendor Two", linked to partner B only.
    pub v2: VendorId,
}

impl Tenants {
    /// Creates the two partners, the two vendors and their three links.
    pub async fn create(store: &Store) -> Tenants {
        let a = workspace(store, "Partner A").await;
        let b = workspace(store, "Partner B").await;
        let v1 = vendor(store, "Vendor One").await;
        let v2 = vendor(store, "Vendor Two").await;
        link(store, a, v1, Tier::Gold).await;
        link(store, b, v1, Tier::Gold).await;
        link(store, b, v2, Tier::Silver).await;
        Tenants { a, b, v1, v2 }
    }

    /// The linked pairs: (A, one), (B, one), (B, two).
    pub fn links(&self) -> [(WorkspaceId, VendorId); 3] {
        [(self.a, self.v1), (self.b, self.v1), (self.b, self.v2)]
    }
}

/// A CRM sink with `connector` (`webhook`, `hubspot`, ...), no schedule and
/// no settings.
pub fn crm_sink(connector: &str, connection_name: &str) -> NewConnection {
    NewConnection {
        target: ConnectionTarget::CrmSink {},
        connector: name(connector),
        name: name(connection_name),
        schedule: None,
        settings: serde_json::json!({}),
    }
}

/// A `rest` source of `vendor`'s data, no schedule and no settings.
pub fn vendor_source(vendor: VendorId, connection_name: &str) -> NewConnection {
    NewConnection {
        target: ConnectionTarget::VendorSource { vendor_id: vendor },
        connector: name("rest"),
        name: name(connection_name),
        schedule: None,
        settings: serde_json::json!({}),
    }
}

/// Creates a connection in a workspace.
pub async fn connection(store: &Store, ws: WorkspaceId, new: &NewConnection) -> ConnectionId {
    store
        .partner(ws)
        .create_connection(new)
        .await
        .expect("create a connection")
        .id
}
