//! The operator's explicit operations: organizations, people and links.
//! Nothing here reads a workspace's business data.

use onepane_domain::activity::Actor;
use onepane_domain::program::{LinkStatus, PartnerType, Role, Tier, VendorKind};
use onepane_domain::text::{Email, Name};
use onepane_domain::workspace::{NewWorkspace, User, Vendor, VendorLink, Workspace};
use onepane_domain::{UserId, VendorId, WorkspaceId};
use sqlx::types::Json;

use crate::rows::{LinkRow, UserRow, VendorRow, WorkspaceRow, actor_columns, convert_all};
use crate::tx::{Access, Scope, Tx, on_tx};
use crate::{Store, StoreError, now};

/// The operator's handle: create workspaces and vendors, link them.
#[derive(Debug, Clone)]
pub struct OperatorStore {
    pub(crate) store: Store,
}

pub(crate) const LINK_COLUMNS: &str =
    "workspace_id, vendor_id, tier, partner_type, status, created_at, updated_at";

impl OperatorStore {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    async fn begin(&self, access: Access) -> Result<Tx, StoreError> {
        self.store.begin(Scope::Operator, access).await
    }

    /// Creates a workspace and its owner (the user is created when new).
    #[tracing::instrument(skip(self, new), fields(name = %new.name))]
    pub async fn create_workspace(
        &self,
        new: &NewWorkspace,
    ) -> Result<(Workspace, User), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let at = now();
        let workspace = Workspace {
            id: WorkspaceId::new(),
            name: new.name.clone(),
            home_currency: new.home_currency,
            locale: new.locale.clone(),
            created_at: at,
        };
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO workspaces (id, name, home_currency, locale, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(workspace.id.as_uuid())
            .bind(workspace.name.as_str())
            .bind(workspace.home_currency.code())
            .bind(workspace.locale.as_str())
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
        let user = upsert_user(&mut tx, &new.owner_email).await?;
        add_member(&mut tx, workspace.id, user.id, Role::Owner).await?;
        audit(
            &mut tx,
            workspace.id,
            "workspace.created",
            Some(workspace.id.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok((workspace, user))
    }

    /// Adds a member to a workspace (creating the user when new), or changes the role.
    pub async fn add_member(
        &self,
        workspace_id: WorkspaceId,
        email: &Email,
        role: Role,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        ensure_workspace(&mut tx, workspace_id).await?;
        let user = upsert_user(&mut tx, email).await?;
        add_member(&mut tx, workspace_id, user.id, role).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Creates a vendor or distributor organization.
    #[tracing::instrument(skip(self), fields(name = %name))]
    pub async fn create_vendor(&self, name: &Name, kind: VendorKind) -> Result<Vendor, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let vendor = Vendor {
            id: VendorId::new(),
            name: name.clone(),
            kind,
            created_at: now(),
        };
        on_tx!(tx, c => {
            sqlx::query("INSERT INTO vendors (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
                .bind(vendor.id.as_uuid())
                .bind(vendor.name.as_str())
                .bind(vendor.kind.as_str())
                .bind(vendor.created_at)
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await?;
        Ok(vendor)
    }

    /// Links a workspace to a vendor (active), or updates an existing link's
    /// tier and partner type and reactivates it.
    #[tracing::instrument(skip(self))]
    pub async fn link(
        &self,
        workspace_id: WorkspaceId,
        vendor_id: VendorId,
        tier: Tier,
        partner_type: PartnerType,
    ) -> Result<VendorLink, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        ensure_workspace(&mut tx, workspace_id).await?;
        let found: Option<(uuid::Uuid,)> = on_tx!(tx, c => {
            sqlx::query_as("SELECT id FROM vendors WHERE id = $1")
                .bind(vendor_id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        if found.is_none() {
            return Err(StoreError::not_found("vendor", vendor_id));
        }
        let at = now();
        let row: LinkRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "INSERT INTO vendor_links ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, 'active', $5, $5) \
                 ON CONFLICT (workspace_id, vendor_id) DO UPDATE SET \
                   tier = excluded.tier, partner_type = excluded.partner_type, \
                   status = 'active', updated_at = excluded.updated_at \
                 RETURNING {LINK_COLUMNS}"
            ))
            .bind(workspace_id.as_uuid())
            .bind(vendor_id.as_uuid())
            .bind(tier.as_str())
            .bind(partner_type.as_str())
            .bind(at)
            .fetch_one(&mut *c)
            .await?
        });
        audit(
            &mut tx,
            workspace_id,
            "vendor.linked",
            Some(vendor_id.to_string()),
        )
        .await?;
        tx.commit().await?;
        row.try_into()
    }

    /// Sets a link's status (for example ends it).
    pub async fn set_link_status(
        &self,
        workspace_id: WorkspaceId,
        vendor_id: VendorId,
        status: LinkStatus,
    ) -> Result<VendorLink, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let row: Option<LinkRow> = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE vendor_links SET status = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND vendor_id = $2 RETURNING {LINK_COLUMNS}"
            ))
            .bind(workspace_id.as_uuid())
            .bind(vendor_id.as_uuid())
            .bind(status.as_str())
            .bind(now())
            .fetch_optional(&mut *c)
            .await?
        });
        let row = row
            .ok_or_else(|| StoreError::not_found("link", format!("{workspace_id}/{vendor_id}")))?;
        tx.commit().await?;
        row.try_into()
    }

    /// Every workspace, oldest first.
    pub async fn workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<WorkspaceRow> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT id, name, home_currency, locale, created_at FROM workspaces ORDER BY id",
            )
            .fetch_all(&mut *c)
            .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }

    /// Every vendor, oldest first.
    pub async fn vendors(&self) -> Result<Vec<Vendor>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let rows: Vec<VendorRow> = on_tx!(tx, c => {
            sqlx::query_as("SELECT id, name, kind, created_at FROM vendors ORDER BY id")
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        convert_all(rows)
    }
}

async fn ensure_workspace(tx: &mut Tx, workspace_id: WorkspaceId) -> Result<(), StoreError> {
    let found: Option<(uuid::Uuid,)> = on_tx!(*tx, c => {
        sqlx::query_as("SELECT id FROM workspaces WHERE id = $1")
            .bind(workspace_id.as_uuid())
            .fetch_optional(&mut *c)
            .await?
    });
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found("workspace", workspace_id))
}

async fn upsert_user(tx: &mut Tx, email: &Email) -> Result<User, StoreError> {
    let row: UserRow = on_tx!(*tx, c => {
        sqlx::query_as(
            "INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (email) DO UPDATE SET email = excluded.email \
             RETURNING id, email, display_name, created_at",
        )
        .bind(UserId::new().as_uuid())
        .bind(email.as_str())
        .bind(now())
        .fetch_one(&mut *c)
        .await?
    });
    row.try_into()
}

async fn add_member(
    tx: &mut Tx,
    workspace_id: WorkspaceId,
    user_id: UserId,
    role: Role,
) -> Result<(), StoreError> {
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(workspace_id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(role.as_str())
        .bind(now())
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

async fn audit(
    tx: &mut Tx,
    workspace_id: WorkspaceId,
    action: &str,
    subject: Option<String>,
) -> Result<(), StoreError> {
    let (actor_type, actor_id) = actor_columns(&Actor::Operator);
    on_tx!(*tx, c => {
        sqlx::query(
            "INSERT INTO audit_events (workspace_id, id, actor_type, actor_id, action, subject, detail, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(workspace_id.as_uuid())
        .bind(onepane_domain::AuditEventId::new().as_uuid())
        .bind(actor_type)
        .bind(actor_id)
        .bind(action)
        .bind(subject)
        .bind(Json(serde_json::json!({})))
        .bind(now())
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}
