-- Run as a PostgreSQL superuser, e.g. `psql -v ON_ERROR_STOP=1 -f roles.sql`.
-- onepane_owner: owns the schema and runs `onepane migrate`.
-- onepane_app: what `onepane serve` connects as; owns nothing, cannot bypass RLS.
CREATE ROLE onepane_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE onepane_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE onepane OWNER onepane_owner;
\connect onepane
REVOKE ALL ON SCHEMA public FROM PUBLIC;
-- No temporary tables: nothing the server role creates may shadow a table.
DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$;
GRANT USAGE, CREATE ON SCHEMA public TO onepane_owner;
GRANT USAGE ON SCHEMA public TO onepane_app;
-- Every table the owner creates (now and in later migrations) is usable
-- by the server role; row-level security still applies to it.
ALTER DEFAULT PRIVILEGES FOR ROLE onepane_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO onepane_app;
ALTER DEFAULT PRIVILEGES FOR ROLE onepane_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO onepane_app;
-- Set passwords interactively: \password onepane_owner and \password onepane_app
