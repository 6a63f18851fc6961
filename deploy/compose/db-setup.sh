#!/bin/sh
# The database set-up of deploy/compose.yaml, run by its one-shot `db-setup`
# service in the PostgreSQL image, as the superuser:
#
#   - on the first run (neither role nor the database exists yet), the SQL
#     of deploy/postgres/roles.sql (what `onepane admin postgres-roles`
#     prints): the owner and server roles, the database and the grants;
#   - on every run, the two roles' passwords from their secret files, so a
#     changed secret file takes effect at the next `docker compose up`.
#
# The files are those the `secrets` service makes (deploy/compose/secrets.sh),
# unless these variables name others:
#
#   POSTGRES_PASSWORD_FILE   PostgreSQL's superuser
#   OWNER_PASSWORD_FILE      the owner role, onepane_owner
#   APP_PASSWORD_FILE        the server role, onepane_app
#
# The roles' passwords are read by psql itself (\set with a backquoted
# command), so they appear on no command line.
set -eu

export POSTGRES_PASSWORD_FILE="${POSTGRES_PASSWORD_FILE:-/secrets/postgres-password}"
export OWNER_PASSWORD_FILE="${OWNER_PASSWORD_FILE:-/secrets/owner-password}"
export APP_PASSWORD_FILE="${APP_PASSWORD_FILE:-/secrets/app-password}"

PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"
export PGPASSWORD
export PGHOST="${PGHOST:-postgres}" PGUSER="${PGUSER:-postgres}" PGDATABASE=postgres

query() {
    psql -X -v ON_ERROR_STOP=1 -Atq -c "$1"
}

roles=$(query "SELECT count(*) FROM pg_roles WHERE rolname IN ('onepane_owner', 'onepane_app')")
databases=$(query "SELECT count(*) FROM pg_database WHERE datname = 'onepane'")

if [ "$roles" = 0 ] && [ "$databases" = 0 ]; then
    echo "Creating the roles onepane_owner and onepane_app and the database onepane."
    psql -X -v ON_ERROR_STOP=1 -q -f /setup/roles.sql
elif [ "$roles" = 2 ] && [ "$databases" = 1 ]; then
    echo "The roles and the database exist already."
else
    echo "error: found $roles of the roles onepane_owner and onepane_app and $databases database" \
        "onepane: an earlier set-up stopped part-way; drop what exists (or the postgres-data" \
        "volume, if it holds nothing else) and run again" >&2
    exit 1
fi

psql -X -v ON_ERROR_STOP=1 -q <<'SQL'
\set owner_password `cat "$OWNER_PASSWORD_FILE"`
\set app_password `cat "$APP_PASSWORD_FILE"`
ALTER ROLE onepane_owner PASSWORD :'owner_password';
ALTER ROLE onepane_app PASSWORD :'app_password';
SQL
echo "Set the passwords of onepane_owner and onepane_app."
