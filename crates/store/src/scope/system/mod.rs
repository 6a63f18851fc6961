//! The system scope: the server's own work around tenants (authenticating
//! callers, signing keys, logins, connections' runs, jobs, webhook
//! delivery, housekeeping).

use crate::tx::{Access, Scope, Tx};
use crate::{Store, StoreError};

mod accounts;
mod connections;
mod credentials;
mod idempotency;
mod jobs;
mod runs;
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
