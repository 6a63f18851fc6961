//! The fields each vendor asks for on a deal registration, beyond the form
//! every vendor shares. The vendor sets them; linked partners read them,
//! and a registration missing a required one is refused.

use std::collections::HashMap;

use onepane_domain::VendorId;
use onepane_domain::deal::{DealFieldSpec, check_deal_fields};
use sqlx::types::Json;
use uuid::Uuid;

use crate::tx::{Access, Tx, on_tx};
use crate::{PartnerStore, StoreError, VendorStore, now};

impl VendorStore {
    /// Replaces the fields this vendor asks for.
    pub async fn put_deal_fields(&self, fields: &[DealFieldSpec]) -> Result<(), StoreError> {
        check_deal_fields(fields).map_err(StoreError::Rule)?;
        let mut tx = self.begin(Access::Write).await?;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO vendor_deal_fields (vendor_id, fields, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (vendor_id) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
            )
            .bind(self.vendor_id().as_uuid())
            .bind(Json(fields))
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// The fields this vendor asks for.
    pub async fn deal_fields(&self) -> Result<Vec<DealFieldSpec>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let row: Option<Json<Vec<DealFieldSpec>>> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT fields FROM vendor_deal_fields WHERE vendor_id = $1")
                .bind(self.vendor_id().as_uuid())
                .fetch_optional(&mut *c)
                .await?
        });
        tx.commit().await?;
        Ok(row.map(|j| j.0).unwrap_or_default())
    }
}

/// The fields of the workspace's linked vendors, read in `tx`.
pub(crate) async fn linked_deal_fields(
    tx: &mut Tx,
    ws: onepane_domain::WorkspaceId,
) -> Result<HashMap<VendorId, Vec<DealFieldSpec>>, StoreError> {
    let rows: Vec<(Uuid, Json<Vec<DealFieldSpec>>)> = on_tx!(*tx, c => {
        sqlx::query_as(
            "SELECT f.vendor_id, f.fields FROM vendor_deal_fields f \
             JOIN vendor_links l ON l.vendor_id = f.vendor_id AND l.workspace_id = $1",
        )
        .bind(ws.as_uuid())
        .fetch_all(&mut *c)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(v, f)| (VendorId::from_uuid(v), f.0))
        .collect())
}

impl PartnerStore {
    /// What each linked vendor asks for on a deal registration.
    pub async fn deal_fields(&self) -> Result<HashMap<VendorId, Vec<DealFieldSpec>>, StoreError> {
        let mut tx = self.begin(Access::Read).await?;
        let fields = linked_deal_fields(&mut tx, self.workspace_id()).await?;
        tx.commit().await?;
        Ok(fields)
    }
}
