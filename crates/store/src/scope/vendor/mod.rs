//! The vendor scope: one vendor's own rows, only in workspaces actively
//! linked to it. A vendor never sees another vendor's rows, nor learns which
//! other vendors a partner works with.

use onepane_domain::activity::*;
use onepane_domain::text::*;
use onepane_domain::workspace::*;
use onepane_domain::*;
use uuid::Uuid;

use crate::rows::*;
use crate::tables::audit::*;
use crate::tables::links::*;
use crate::tables::prefixed;
use crate::tables::vendors::*;
use crate::tx::{Access, Scope, Tx, on_tx};
use crate::{Store, StoreError, now};

pub(crate) mod content;
mod leads;
mod pulled;
mod sync;
mod webhooks;

/// A linked workspace as its vendor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The partner organization's name.
    pub name: Name,
    /// The link's terms.
    pub link: VendorLink,
}

/// One vendor's handle. Built by [`Store::vendor`].
#[derive(Debug, Clone)]
pub struct VendorStore {
    store: Store,
    vendor_id: VendorId,
    /// The API client acting, named in the workspaces' access logs.
    client: Option<String>,
}

impl VendorStore {
    /// The scope of one vendor.
    pub(crate) fn new(store: Store, vendor_id: VendorId) -> Self {
        Self {
            store,
            vendor_id,
            client: None,
        }
    }

    /// The same scope, acting through the API client `client_id`: the
    /// access logs of the workspaces it reaches name the client.
    pub fn through(mut self, client_id: &str) -> Self {
        self.client = Some(client_id.to_owned());
        self
    }

    /// The vendor this scope is for.
    pub fn vendor_id(&self) -> VendorId {
        self.vendor_id
    }

    /// The vendor's id, to bind.
    pub(crate) fn v(&self) -> Uuid {
        self.vendor_id.as_uuid()
    }

    /// Begins a transaction in this vendor's scope.
    pub(crate) async fn begin(&self, access: Access) -> Result<Tx, StoreError> {
        self.store
            .begin(Scope::Vendor(self.vendor_id), access)
            .await
    }

    /// The vendor organization.
    pub async fn vendor(&self) -> Result<Vendor, StoreError> {
        select!(
            optional,
            VendorRow,
            read(self),
            "SELECT id, name, kind, created_at FROM vendors WHERE id = $1",
            self.v()
        )?
        .ok_or_else(|| StoreError::not_found("vendor", self.vendor_id))
    }

    /// The workspaces actively linked to this vendor, by name.
    pub async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        let mut all = self.partners_where("AND $2 IS NULL", None, None).await?;
        all.sort_by(|a, b| {
            a.name
                .as_str()
                .cmp(b.name.as_str())
                .then(a.workspace_id.cmp(&b.workspace_id))
        });
        Ok(all)
    }

    /// A page of the workspaces actively linked to this vendor, by
    /// workspace id, after `after`.
    pub async fn partners_page(
        &self,
        after: Option<WorkspaceId>,
        limit: u32,
    ) -> Result<Vec<Partner>, StoreError> {
        self.partners_where(
            "AND ($2 IS NULL OR l.workspace_id > $2)",
            after.map(|w| w.as_uuid()),
            Some(limit),
        )
        .await
    }

    /// One actively linked workspace.
    pub async fn partner(&self, ws: WorkspaceId) -> Result<Partner, StoreError> {
        self.partners_where("AND l.workspace_id = $2", Some(ws.as_uuid()), None)
            .await?
            .pop()
            .ok_or(StoreError::NotLinked(ws))
    }

    async fn partners_where(
        &self,
        and: &str,
        arg: Option<Uuid>,
        limit: Option<u32>,
    ) -> Result<Vec<Partner>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let limit = limit.map_or(i64::MAX, i64::from);
        let rows: Vec<(String, LinkRow)> = on_tx!(tx, c => {
            use sqlx::Row;
            sqlx::query(&format!(
                "SELECT w.name AS workspace_name, {} FROM vendor_links l \
                 JOIN workspaces w ON w.id = l.workspace_id \
                 WHERE l.vendor_id = $1 AND l.status = 'active' {and} \
                 ORDER BY l.workspace_id LIMIT $3",
                prefixed("l", LINK_COLUMNS)
            ))
            .bind(self.v())
            .bind(arg)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
            .into_iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("workspace_name")?, <LinkRow as sqlx::FromRow<_>>::from_row(&r)?)))
            .collect::<Result<Vec<_>, _>>()?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|(name, row)| {
                let link = VendorLink::try_from(row)?;
                Ok(Partner {
                    workspace_id: link.workspace_id,
                    name: parse("workspace", &name)?,
                    link,
                })
            })
            .collect()
    }

    /// The active link to `ws`; refused as not linked when there is none.
    pub(crate) async fn ensure_linked(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
    ) -> Result<VendorLink, StoreError> {
        let row: Option<VendorLink> = select!(
            optional,
            LinkRow,
            *tx,
            &format!(
                "SELECT {LINK_COLUMNS} FROM vendor_links WHERE workspace_id = $1 AND vendor_id = $2 AND status = 'active'"
            ),
            ws.as_uuid(),
            self.v()
        )?;
        row.ok_or(StoreError::NotLinked(ws))
    }

    /// Sets a linked partner's program tier.
    pub async fn set_tier(&self, ws: WorkspaceId, tier: Tier) -> Result<VendorLink, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        self.ensure_linked(&mut tx, ws).await?;
        let row: LinkRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE vendor_links SET tier = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND vendor_id = $2 RETURNING {LINK_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(self.v())
            .bind(tier.as_str())
            .bind(now())
            .fetch_one(&mut *c)
            .await?
        });
        insert_audit(
            &mut tx,
            &[self
                .event(
                    ws,
                    "link.tier-set",
                    AuditAccess::Write,
                    "link",
                    self.vendor_id,
                )
                .with_detail(serde_json::json!({ "tier": tier.as_str() }))],
        )
        .await?;
        tx.commit().await?;
        row.try_into()
    }

    /// Sets the regions a linked partner covers for this vendor: content
    /// whose audience names regions reaches it through one of them.
    pub async fn set_regions(
        &self,
        ws: WorkspaceId,
        regions: &[Region],
    ) -> Result<VendorLink, StoreError> {
        let mut regions = regions.to_vec();
        regions.sort();
        regions.dedup();
        let mut tx = self.begin(Access::Write).await?;
        self.ensure_linked(&mut tx, ws).await?;
        let row: LinkRow = on_tx!(tx, c => {
            sqlx::query_as(&format!(
                "UPDATE vendor_links SET regions = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND vendor_id = $2 RETURNING {LINK_COLUMNS}"
            ))
            .bind(ws.as_uuid())
            .bind(self.v())
            .bind(sqlx::types::Json(&regions))
            .bind(now())
            .fetch_one(&mut *c)
            .await?
        });
        insert_audit(
            &mut tx,
            &[self
                .event(
                    ws,
                    "link.regions-set",
                    AuditAccess::Write,
                    "link",
                    self.vendor_id,
                )
                .with_detail(serde_json::json!({ "regions": regions }))],
        )
        .await?;
        tx.commit().await?;
        row.try_into()
    }

    /// An access-log entry for this vendor (and client) in `ws`.
    pub(crate) fn event(
        &self,
        ws: WorkspaceId,
        action: &str,
        access: AuditAccess,
        kind: &str,
        id: impl std::fmt::Display,
    ) -> AuditEvent {
        let mut event =
            AuditEvent::new(ws, Actor::Vendor(self.vendor_id), action, access).about(kind, id);
        event.client = self.client.clone();
        event.at = now();
        event
    }

    /// Records in `tx` that this vendor changed `kind` record `id` in `ws`.
    pub(crate) async fn wrote(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        action: &str,
        kind: &str,
        id: impl std::fmt::Display,
    ) -> Result<(), StoreError> {
        insert_audit(tx, &[self.event(ws, action, AuditAccess::Write, kind, id)]).await
    }

    /// Records in the access logs of their workspaces that this vendor
    /// read the records `seen` (workspace and id) of kind `kind`: for
    /// what an API answer showed it.
    pub async fn record_reads(
        &self,
        action: &str,
        kind: &str,
        seen: impl IntoIterator<Item = (WorkspaceId, String)>,
    ) -> Result<(), StoreError> {
        let events: Vec<AuditEvent> = seen
            .into_iter()
            .map(|(ws, id)| self.event(ws, action, AuditAccess::Read, kind, id))
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin(Access::Write).await?;
        let workspaces: std::collections::BTreeSet<WorkspaceId> =
            events.iter().map(|e| e.workspace_id).collect();
        for ws in workspaces {
            self.ensure_linked(&mut tx, ws).await?;
        }
        insert_audit(&mut tx, &events).await?;
        tx.commit().await
    }
}

impl VendorStore {
    /// Sets (or with `None` removes) the vendor's logo, an https address
    /// partners show beside its campaigns. The address is checked by the
    /// caller; the store keeps it as given.
    pub async fn set_logo_url(&self, logo_url: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query("UPDATE vendors SET logo_url = $2 WHERE id = $1")
                .bind(self.v())
                .bind(logo_url)
                .execute(&mut *c)
                .await?;
        });
        tx.commit().await
    }

    /// The vendor's logo address, when it set one.
    pub async fn logo_url(&self) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let url: Option<Option<String>> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT logo_url FROM vendors WHERE id = $1")
                .bind(self.v())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(url.flatten())
    }
}
