//! Forgetting expired idempotency records.

use crate::tables::idempotency::*;
use crate::tx::{Access, on_tx};
use crate::{StoreError, now};

use super::SystemStore;

impl SystemStore {
    /// Deletes idempotency records past their day; returns how many.
    pub async fn expire_idempotency_keys(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin(Access::Write).await?;
        let n = on_tx!(tx, c => {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(now() - IDEMPOTENCY_TTL)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n)
    }
}
