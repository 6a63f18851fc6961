//! The system scope: the server's own work around tenants (authenticating
//! callers, signing keys, logins, connections' runs, jobs, webhook
//! delivery, housekeeping).

use crate::tx::{Access, Scope, Tx, on_tx};
use crate::{Store, StoreError, now};

mod accounts;
pub(crate) mod announcements;
mod connections;
mod credentials;
pub(crate) mod deliveries;
pub(crate) mod erasures;
mod idempotency;
mod jobs;
pub(crate) mod mail;
mod runs;
mod scorecard;
mod sso;
mod webhooks;

/// The server's own work around tenants: authenticating callers, signing
/// keys, webhook delivery, housekeeping. Built by [`Store::system`].
#[derive(Debug, Clone)]
pub struct SystemStore {
    pub(crate) store: Store,
}

impl SystemStore {
    /// Begins a transaction in the system scope.
    pub(crate) async fn begin(&self, access: Access) -> Result<Tx, StoreError> {
        self.store.begin(Scope::System, access).await
    }
}

impl Store {
    /// The server's own work around tenants.
    pub fn system(&self) -> SystemStore {
        SystemStore {
            store: self.clone(),
        }
    }
}

impl SystemStore {
    /// The fewest days an audit event is kept: the database refuses to
    /// delete a younger one, whoever asks.
    pub const AUDIT_FLOOR_DAYS: u32 = 30;

    /// Deletes the audit events older than `keep_days` days (at least
    /// [`Self::AUDIT_FLOOR_DAYS`]); returns how many went. On PostgreSQL
    /// the server role cannot delete events itself: an owner's function
    /// does it, with the same floor.
    pub async fn prune_audit(&self, keep_days: u32) -> Result<u64, StoreError> {
        if keep_days < Self::AUDIT_FLOOR_DAYS {
            return Err(StoreError::Rule(format!(
                "audit events are kept at least {} days, not {keep_days}",
                Self::AUDIT_FLOOR_DAYS
            )));
        }
        let mut tx = self.begin(Access::Write).await?;
        let days = i32::try_from(keep_days).unwrap_or(i32::MAX);
        let cutoff = now() - chrono::Duration::days(i64::from(keep_days));
        let gone = if tx.is_sqlite() {
            on_tx!(tx, c => {
                sqlx::query("DELETE FROM audit_events WHERE julianday(at) < julianday($1)")
                    .bind(cutoff)
                    .execute(&mut *c)
                    .await?
                    .rows_affected()
            })
        } else {
            on_tx!(tx, c => {
                let (n,): (i64,) = sqlx::query_as("SELECT onepane_prune_audit($1)")
                    .bind(days)
                    .fetch_one(&mut *c)
                    .await?;
                u64::try_from(n).unwrap_or(0)
            })
        };
        tx.commit().await?;
        Ok(gone)
    }
}
