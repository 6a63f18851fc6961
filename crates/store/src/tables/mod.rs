//! The store by table. Each module owns one table (or a few that are read
//! together): its column lists, its row types and their conversion into the
//! domain, and the reads and writes that more than one scope shares. Table
//! modules know nothing of scopes; the scopes in [`crate::scope`] compose
//! them.

pub(crate) mod accounts;
pub(crate) mod assets;
pub(crate) mod audit;
pub(crate) mod campaigns;
pub(crate) mod connections;
pub(crate) mod credentials;
pub(crate) mod deal_fields;
pub(crate) mod deal_registrations;
pub(crate) mod deliveries;
pub(crate) mod idempotency;
pub(crate) mod jobs;
pub(crate) mod leads;
pub(crate) mod links;
pub(crate) mod notifications;
pub(crate) mod outbox;
pub(crate) mod prices;
pub(crate) mod published;
pub(crate) mod runs;
pub(crate) mod sources;
pub(crate) mod sso;
pub(crate) mod vendors;
pub(crate) mod webhooks;
pub(crate) mod workspaces;

/// Records are looked up and written this many at a time.
pub(crate) const LOOKUP_CHUNK: usize = 500;

/// `a.x, a.y` from `x, y`.
pub(crate) fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
