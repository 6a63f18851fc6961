#!/usr/bin/env bash
# Fuzzes the API from its own OpenAPI document with schemathesis, over a
# fixed budget, on SQLite and (when ONEPANE_TEST_DATABASE_URL names a
# PostgreSQL superuser) on PostgreSQL with the two roles: the real binary, a
# workspace linked to a vendor, and each API (the partner's, with a personal
# access token; the connector API, with a vendor's access token) sent the
# examples, the schema's boundary cases and generated requests (NUL
# included). Any 5xx, or an answer that breaks the documented schema,
# status codes or content types, fails the run.
#
#   tests/fuzz/schemathesis.sh [path/to/onepane]
#
# One worker: with two, CPython 3.11's parser was seen to fail inside
# schemathesis now and then ("AST constructor recursion depth mismatch"),
# an error of the tool, not of the server.
#
# Needs `schemathesis` on PATH, and `psql` for PostgreSQL (.ci/run installs
# both). EXAMPLES (default 25) sets how many generated requests each
# operation gets.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="$(realpath "${1:-target/debug/onepane}")"
examples="${EXAMPLES:-25}"
[ -x "$bin" ] || { echo "error: no onepane binary at $bin (build it first)" >&2; exit 1; }
command -v schemathesis >/dev/null || { echo "error: schemathesis is not on PATH" >&2; exit 1; }
superuser="${ONEPANE_TEST_DATABASE_URL:-}"

work="$(mktemp -d)"
server=""
pg_names=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [ -n "$pg_names" ]; then
        read -r db owner app <<<"$pg_names"
        psql -X -q "$superuser" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
            -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $owner" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Only this run's settings: nothing from the caller's environment.
for v in $(env | grep -o '^ONEPANE_[A-Z_]*' || true); do unset "$v"; done
# The budget is the fuzzer's, not the rate limiter's.
export ONEPANE_RATE_LIMIT_PER_MINUTE=100000000 ONEPANE_RATE_LIMIT_BURST=1000000
export ONEPANE_LOG=warn,onepane_server::startup=info

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

fuzz() {
    local base=$1 what=$2 token=$3
    shift 3
    echo "==> schemathesis: $what ($examples generated requests an operation)"
    schemathesis run "$base/api/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --max-examples "$examples" \
        --generation-deterministic \
        --phases examples,coverage,fuzzing \
        --workers 1 \
        "$@"
}

# Sets up the tenants, serves, fuzzes both APIs, stops.
run_on() {
    local backend=$1
    echo "==> fuzzing on $backend"
    export ONEPANE_DATA_DIR="$work/$backend"
    local ws vendor vendor_id client_id client_secret partner_token base vendor_token
    ws=$("$bin" admin create-workspace --name "Fuzz Oy" --owner-email owner@fuzz.example --json | json '["workspace_id"]')
    vendor=$("$bin" admin create-vendor --name "Fuzz Vendor" --json)
    vendor_id=$(echo "$vendor" | json '["vendor_id"]')
    client_id=$(echo "$vendor" | json '["client_id"]')
    client_secret=$(echo "$vendor" | json '["client_secret"]')
    "$bin" admin link --workspace "$ws" --vendor "$vendor_id" --tier gold --partner-type var --json >/dev/null
    partner_token=$("$bin" admin create-token --workspace "$ws" --email owner@fuzz.example --json | json '["token"]')

    "$bin" serve --listen 127.0.0.1:0 2>"$work/$backend.log" &
    server=$!
    base=""
    for _ in $(seq 1 100); do
        base=$(grep -o 'listening on http://[0-9.:]*' "$work/$backend.log" | head -n 1 | sed 's/listening on //' || true)
        [ -n "$base" ] && break
        sleep 0.1
    done
    [ -n "$base" ] || { echo "error: the server did not start:" >&2; cat "$work/$backend.log" >&2; exit 1; }
    vendor_token=$(curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials "$base/oauth/token" | json '["access_token"]')

    fuzz "$base" "the partner API on $backend" "$partner_token" --include-path-regex '^/api/v1/(?!vendor/)'
    # schemathesis has no serializer for NDJSON, which the items upload and
    # the items' changes also take (the end-to-end tests send both forms).
    fuzz "$base" "the connector API on $backend" "$vendor_token" --include-path-regex '^/api/v1/vendor/' \
        --exclude-operation-id vendor_put_price_items \
        --exclude-operation-id vendor_patch_price_items

    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
}

run_on sqlite

if [ -n "$superuser" ]; then
    # Fresh roles and database, as `onepane admin postgres-roles` makes them;
    # the test cluster trusts local TCP connections (see docs/testing.md).
    suffix="fuzz_$$"
    pg_names="onepane_$suffix onepane_${suffix}_owner onepane_${suffix}_app"
    read -r db owner app <<<"$pg_names"
    "$bin" admin postgres-roles --owner "$owner" --server "$app" --database "$db" \
        | psql -X -q -v ON_ERROR_STOP=1 "$superuser" >/dev/null
    at=$(python3 -c "import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(f'{p.hostname or \"127.0.0.1\"}:{p.port or 5432}')" "$superuser")
    export ONEPANE_DATABASE_URL="postgres://$app@$at/$db"
    export ONEPANE_MIGRATION_DATABASE_URL="postgres://$owner@$at/$db"
    "$bin" migrate >/dev/null
    run_on postgres
else
    echo "==> PostgreSQL skipped: ONEPANE_TEST_DATABASE_URL is not set"
fi
