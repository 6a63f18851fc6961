//! What backups need of the database: an online copy of an SQLite database,
//! the checks a restored SQLite file must pass, and on PostgreSQL whether a
//! role can read every row (what `pg_dump` needs) and where a URL's password
//! goes when another program connects with it.

use std::path::Path;

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::{DatabaseUrl, Pool, SQLITE_MIGRATIONS, Store, StoreError};

/// What [`check_sqlite_file`] found in a healthy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteFileCheck {
    /// The migrations the file records as applied, oldest first.
    pub applied: Vec<i64>,
    /// Migrations this binary knows that the file lacks (`serve` applies them).
    pub pending: Vec<i64>,
}

impl Store {
    /// Writes a consistent copy of the SQLite database into the new file
    /// `to` while other connections keep writing (`VACUUM INTO`: one read
    /// transaction, so the copy holds exactly the commits before it began).
    /// `to` must not exist. The copy is not synced to disk: the caller does
    /// that before giving it its final name.
    #[tracing::instrument(skip(self))]
    pub async fn backup_into(&self, to: &Path) -> Result<(), StoreError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(StoreError::Rule(
                "an online copy with VACUUM INTO is for SQLite; back PostgreSQL up with pg_dump"
                    .to_owned(),
            ));
        };
        let target = to.to_str().ok_or_else(|| {
            StoreError::Rule(format!("the path {} is not valid UTF-8", to.display()))
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Applied migrations this binary does not know: the database was
    /// written by a newer Onepane.
    pub async fn unknown_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let applied = self.applied_migrations().await?;
        Ok(unknown(&applied, self.migrator()))
    }

    /// On PostgreSQL, the connected role and whether it reads past
    /// row-level security (a superuser or BYPASSRLS), as a complete
    /// `pg_dump` must: every table forces row-level security, so even the
    /// tables' owner sees only what a scope allows. SQLite answers `None`.
    pub async fn role_reads_every_row(&self) -> Result<Option<(String, bool)>, StoreError> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let row: (String, bool) = sqlx::query_as(
            "SELECT rolname::text, rolsuper OR rolbypassrls FROM pg_roles \
             WHERE rolname = current_user",
        )
        .fetch_one(pool)
        .await?;
        Ok(Some(row))
    }
}

fn unknown(applied: &[i64], known: &sqlx::migrate::Migrator) -> Vec<i64> {
    applied
        .iter()
        .copied()
        .filter(|v| !known.iter().any(|m| m.version == *v))
        .collect()
}

/// Checks an SQLite file without changing it: `PRAGMA integrity_check`
/// must say `ok`, and every migration it records must be one this binary
/// knows. A file that is not a database, is damaged or comes from a newer
/// Onepane is [`StoreError::Rule`], saying which.
#[tracing::instrument]
pub async fn check_sqlite_file(path: &Path) -> Result<SqliteFileCheck, StoreError> {
    let url = DatabaseUrl::Sqlite(path.to_owned());
    // Read-only and immutable: no lock, no journal, nothing written next
    // to a file that is about to be renamed into place.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| StoreError::connect(&url, e))?;
    let checked = async {
        let problems: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| not_a_database(path, e))?;
        if problems.len() != 1 || problems[0].0 != "ok" {
            let listed: Vec<String> = problems.into_iter().take(5).map(|(p,)| p).collect();
            return Err(StoreError::Rule(format!(
                "{} fails SQLite's integrity check: {}",
                path.display(),
                listed.join("; ")
            )));
        }
        let applied: Vec<i64> = match sqlx::query_as::<_, (i64,)>(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&mut conn)
        .await
        {
            Ok(rows) => rows.into_iter().map(|(v,)| v).collect(),
            Err(e) if e.as_database_error().is_some() => {
                return Err(StoreError::Rule(format!(
                    "{} is an SQLite database but not Onepane's: it records no migrations",
                    path.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let newer = unknown(&applied, &SQLITE_MIGRATIONS);
        if !newer.is_empty() {
            return Err(StoreError::Rule(format!(
                "{} was written by a newer Onepane: this one does not know its migrations {}; \
                 restore it with that version",
                path.display(),
                versions(&newer)
            )));
        }
        let pending = SQLITE_MIGRATIONS
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        Ok(SqliteFileCheck { applied, pending })
    }
    .await;
    conn.close().await.ok();
    checked
}

/// A file SQLite cannot read as a database.
fn not_a_database(path: &Path, e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) => StoreError::Rule(format!(
            "{} is not a readable SQLite database: {}",
            path.display(),
            d.message()
        )),
        _ => e.into(),
    }
}

/// Migration versions as `0001, 0002`.
pub fn versions(versions: &[i64]) -> String {
    versions
        .iter()
        .map(|v| format!("{v:04}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl DatabaseUrl {
    /// A PostgreSQL URL split for a program run with it (`pg_dump`,
    /// `pg_restore`): the URL without the password in its user part, and
    /// that password, to hand over as `PGPASSWORD` rather than on a command
    /// line other users can read. SQLite answers `None`.
    pub fn for_libpq(&self) -> Option<(String, Option<String>)> {
        let DatabaseUrl::Postgres(raw) = self else {
            return None;
        };
        let Ok(mut parsed) = url::Url::parse(raw) else {
            return Some((raw.clone(), None));
        };
        let password = parsed.password().map(percent_decode);
        if password.is_some() {
            let _ = parsed.set_password(None);
        }
        Some((parsed.to_string(), password))
    }
}

/// Decodes `%XX` escapes of a URL's user information.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_leaves_the_url_for_the_environment() {
        let url: DatabaseUrl = "postgres://owner:p%40ss@db:5432/onepane?sslmode=require"
            .parse()
            .unwrap();
        let (bare, password) = url.for_libpq().unwrap();
        assert_eq!(bare, "postgres://owner@db:5432/onepane?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@ss"));
        let url: DatabaseUrl = "postgres://owner@db/onepane".parse().unwrap();
        assert_eq!(
            url.for_libpq(),
            Some(("postgres://owner@db/onepane".to_owned(), None))
        );
    }
}
