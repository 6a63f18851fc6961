//! The store's errors.

use std::path::PathBuf;

use crate::DatabaseUrl;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("cannot connect to the {backend} database at {url}")]
    Connect {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// The URL, password redacted.
        url: String,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// The SQLite file's directory could not be created.
    #[error("cannot create the data directory {}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The row does not exist in this scope (or at all: the two are not told apart).
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of row.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The write collides with an existing row.
    #[error("{0}")]
    Conflict(String),
    /// The write breaks a domain rule (a state machine, a decision).
    #[error("{0}")]
    Rule(String),
    /// A vendor tried to reach a workspace it is not actively linked to.
    #[error("workspace {0} not found")]
    NotLinked(onepane_domain::WorkspaceId),
    /// A stored row no longer parses into the domain: a bug or a manual edit.
    #[error("stored {what} is invalid: {detail}")]
    Corrupt {
        /// The kind of row.
        what: &'static str,
        /// What failed to parse.
        detail: String,
    },
    /// The server's PostgreSQL role could read around row-level security.
    #[error("{0}")]
    PrivilegedRole(String),
    /// The database is unreachable for now (pool exhausted or closed,
    /// connection lost): worth retrying.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if lost_the_database(&e) {
            StoreError::Unavailable(e)
        } else if unstorable_text(&e) {
            // The server refuses NUL before it gets here; this keeps any
            // path it missed a refusal rather than a failure.
            StoreError::Rule("text must not contain the NUL character".into())
        } else {
            StoreError::Database(e)
        }
    }
}

/// PostgreSQL refusing a character it cannot store in text or JSON (NUL):
/// 22021 (character not in repertoire) and 22P05 (untranslatable character).
fn unstorable_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| matches!(&*c, "22021" | "22P05")))
}

/// Whether the error says the database cannot be reached for now (a retry
/// later may work) rather than that the statement failed: no connection,
/// a connection cut, or a server shutting down, restarting or full.
fn lost_the_database(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            // PostgreSQL: class 08 (connection exception), 57P01-57P03
            // (admin shutdown, crash shutdown, cannot connect now), 53300
            // (too many connections).
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl StoreError {
    /// The database at `url` could not be reached.
    pub(crate) fn connect(url: &DatabaseUrl, source: sqlx::Error) -> Self {
        StoreError::Connect {
            backend: url.backend(),
            url: url.redacted(),
            source,
        }
    }

    /// No `what` with this id (in the scope).
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// A stored `what` that does not parse.
    pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        StoreError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }

    /// Maps a unique-constraint violation to [`StoreError::Conflict`].
    pub(crate) fn conflict_on_unique(e: sqlx::Error, message: impl FnOnce() -> String) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(message()),
            _ => e.into(),
        }
    }
}
