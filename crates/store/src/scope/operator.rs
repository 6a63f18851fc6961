//! The operator's explicit operations: organizations, people and links.
//! Nothing here reads a workspace's business data.

use onepane_domain::activity::*;
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::select;
use crate::tables::accounts::*;
use crate::tables::audit::*;
use crate::tables::credentials::*;
use crate::tables::links::*;
use crate::tables::vendors::*;
use crate::tables::workspaces::*;
use crate::tx::{Access, Scope, Tx, on_tx};
use crate::{Store, StoreError, now};

/// The operator's handle: create workspaces and vendors, link them.
#[derive(Debug, Clone)]
pub struct OperatorStore {
    pub(crate) store: Store,
}

impl OperatorStore {
    /// The operator's scope.
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
        let found: Option<(Uuid,)> = on_tx!(tx, c => {
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
                "INSERT INTO vendor_links (workspace_id, vendor_id, tier, partner_type, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'active', $5, $5) \
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
        let row = update_link_status(&mut tx, workspace_id, vendor_id, status)
            .await?
            .ok_or_else(|| StoreError::not_found("link", format!("{workspace_id}/{vendor_id}")))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every workspace, oldest first.
    pub async fn workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        select!(
            all,
            WorkspaceRow,
            read(self),
            "SELECT id, name, home_currency, locale, created_at FROM workspaces ORDER BY id",
        )
    }

    /// Every vendor, oldest first.
    pub async fn vendors(&self) -> Result<Vec<Vendor>, StoreError> {
        select!(
            all,
            VendorRow,
            read(self),
            "SELECT id, name, kind, created_at FROM vendors ORDER BY id"
        )
    }

    /// Creates an API client for a vendor, with the hash of its secret.
    pub async fn create_api_client(
        &self,
        vendor_id: VendorId,
        name: &Name,
        secret_hash: &str,
        scopes: &[String],
    ) -> Result<ApiClient, StoreError> {
        let scopes_text = scope_list(scopes)?;
        let mut tx = self.store.begin(Scope::Operator, Access::Write).await?;
        let exists: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT id FROM vendors WHERE id = $1")
                .bind(vendor_id.as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        if exists.is_none() {
            return Err(StoreError::not_found("vendor", vendor_id));
        }
        let client = ApiClient {
            id: ApiClientId::new(),
            vendor_id,
            name: name.clone(),
            secret_hash: secret_hash.to_owned(),
            scopes: scopes.to_vec(),
            created_at: now(),
            revoked_at: None,
        };
        on_tx!(tx, c => {
            sqlx::query(&format!(
                "INSERT INTO api_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)"
            ))
            .bind(vendor_id.as_uuid())
            .bind(client.id.as_uuid())
            .bind(name.as_str())
            .bind(secret_hash)
            .bind(&scopes_text)
            .bind(client.created_at)
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await?;
        Ok(client)
    }

    /// Revokes an API client: it gets no new tokens. Tokens already issued
    /// stay valid until they expire (minutes).
    pub async fn revoke_api_client(&self, id: ApiClientId) -> Result<ApiClient, StoreError> {
        let mut tx = self.store.begin(Scope::Operator, Access::Write).await?;
        let row: Option<ApiClient> = select!(
            optional,
            ClientRow,
            tx,
            &format!(
                "UPDATE api_clients SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
                 RETURNING {CLIENT_COLUMNS}"
            ),
            id.as_uuid(),
            now()
        )?;
        tx.commit().await?;
        row.ok_or_else(|| StoreError::not_found("API client", id))
    }

    /// Creates a personal access token for the member of a workspace with
    /// this email, stored as the digest of the token.
    pub async fn create_access_token(
        &self,
        workspace_id: WorkspaceId,
        email: &Email,
        name: &Name,
        token_hash: &[u8],
    ) -> Result<AccessToken, StoreError> {
        let mut tx = self.store.begin(Scope::Operator, Access::Write).await?;
        let member: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.workspace_id = $1 AND u.email = $2",
            )
            .bind(workspace_id.as_uuid())
            .bind(email.as_str())
            .fetch_optional(&mut *c)
            .await?
        });
        let Some(user_id) = member.map(UserId::from_uuid) else {
            return Err(StoreError::Rule(format!(
                "{email} is not a member of workspace {workspace_id}"
            )));
        };
        let token = insert_token(&mut tx, workspace_id, user_id, name, token_hash).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Stores a new signing key and retires the one that signed until now.
    pub async fn rotate_signing_key(&self, key: &StoredSigningKey) -> Result<(), StoreError> {
        let tx = self.store.begin(Scope::Operator, Access::Write).await?;
        rotate(tx, key).await
    }
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
        .bind(AuditEventId::new().as_uuid())
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
