//! The fields each vendor asks for on a deal registration, beyond the form
//! every vendor shares.

use std::collections::HashMap;

use onepane_domain::deal::*;
use onepane_domain::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::tx::{Tx, on_tx};

/// The fields of the workspace's linked vendors, read in `tx`.
pub(crate) async fn linked_deal_fields(
    tx: &mut Tx,
    ws: WorkspaceId,
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
