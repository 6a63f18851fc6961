//! PostgreSQL specifics: the two roles, and the check that the server's role
//! cannot read around row-level security.

use crate::{Pool, Store, StoreError};

/// The SQL an administrator runs once to create the owner role (runs
/// migrations, owns the tables) and the server role (owns nothing, no
/// BYPASSRLS), the database, and the grants. Role and database names are
/// checked to be plain identifiers; passwords are set afterwards with
/// `\password` so they never sit in a file.
pub fn roles_sql(owner: &str, server: &str, database: &str) -> Result<String, StoreError> {
    for (what, name) in [
        ("owner role", owner),
        ("server role", server),
        ("database", database),
    ] {
        let plain = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !plain {
            return Err(StoreError::Rule(format!(
                "the {what} `{name}` must be lowercase letters, digits and `_`"
            )));
        }
    }
    let grants = database_grants_sql(owner, server);
    Ok(format!(
        "-- Run as a PostgreSQL superuser, e.g. `psql -v ON_ERROR_STOP=1 -f roles.sql`.
-- {owner}: owns the schema and runs `onepane migrate`.
-- {server}: what `onepane serve` connects as; owns nothing, cannot bypass RLS.
CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE {server} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE {database} OWNER {owner};
\\connect {database}
{grants}-- Set passwords interactively: \\password {owner} and \\password {server}
"
    ))
}

/// The grants inside the database: the owner creates, the server role uses
/// whatever the owner creates. Run connected to the database, as a superuser.
pub fn database_grants_sql(owner: &str, server: &str) -> String {
    format!(
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;
-- No temporary tables: nothing the server role creates may shadow a table.
DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$;
GRANT USAGE, CREATE ON SCHEMA public TO {owner};
GRANT USAGE ON SCHEMA public TO {server};
-- Every table the owner creates (now and in later migrations) is usable
-- by the server role; row-level security still applies to it.
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {server};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO {server};
"
    )
}

/// Refuses a server connection whose role is a superuser or has BYPASSRLS:
/// row-level security would not apply to it. SQLite passes.
pub async fn check_server_role(store: &Store) -> Result<(), StoreError> {
    let Pool::Postgres(pool) = &store.pool else {
        return Ok(());
    };
    let (user, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if superuser || bypass {
        return Err(StoreError::PrivilegedRole(format!(
            "the database role `{user}` is a superuser or has BYPASSRLS, so row-level security \
             would not protect tenant data; connect `onepane serve` as the server role \
             (see deploy/postgres/roles.sql) and run migrations as the owner role"
        )));
    }
    // Owning a table, or belonging to a role that does (or that is a
    // superuser or has BYPASSRLS), lets a role switch row-level security off.
    let (owned,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'p') \
           AND pg_has_role(current_user, c.relowner, 'MEMBER')",
    )
    .fetch_one(pool)
    .await?;
    if owned > 0 {
        return Err(StoreError::PrivilegedRole(format!(
            "the database role `{user}` owns (or is a member of a role owning) {owned} tables and \
             could switch row-level security off; connect `onepane serve` as the server role and \
             keep the owner for `onepane migrate`"
        )));
    }
    let (inherited,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE (r.rolsuper OR r.rolbypassrls) \
           AND r.rolname <> current_user AND pg_has_role(current_user, r.oid, 'MEMBER'))",
    )
    .fetch_one(pool)
    .await?;
    if inherited {
        return Err(StoreError::PrivilegedRole(format!(
            "the database role `{user}` is a member of a superuser or BYPASSRLS role, so \
             row-level security would not protect tenant data; use a role without such memberships"
        )));
    }
    let (temp,): (bool,) = sqlx::query_as(
        "SELECT has_database_privilege(current_user, current_database(), 'TEMPORARY')",
    )
    .fetch_one(pool)
    .await?;
    if temp {
        tracing::warn!(
            role = %user,
            "the server role may create temporary tables; revoke TEMPORARY on the database from \
             PUBLIC (see deploy/postgres/roles.sql)"
        );
    }
    Ok(())
}
