//! Sealed connection secrets: the vault that seals and opens them, and the
//! context each is bound to. Both the engine (credentials, signing secrets)
//! and the token store (OAuth tokens) open secrets, so this sits beneath
//! both instead of inside either.

use onepane_domain::{ConnectionId, WorkspaceId};

/// Seals and opens connection secrets (the server's key).
pub trait Vault: Send + Sync + std::fmt::Debug {
    /// Seals `plain`, bound to `context`.
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, String>;
    /// Opens what [`Vault::seal`] sealed with the same `context`.
    fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, String>;
}

/// The associated data of a connection's secret: a sealed value opens only
/// for the workspace, connection and field it was sealed for.
pub fn secret_context(ws: WorkspaceId, conn: ConnectionId, field: &str) -> String {
    format!("connection-secret:{ws}:{conn}:{field}")
}
