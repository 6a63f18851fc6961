#!/bin/sh
# The secret files of deploy/compose.yaml, made by its one-shot `secrets`
# service (debian:bookworm-slim, as root, no network) in three named volumes,
# one for each service that reads them, so that each sees only its own:
#
#   /secrets/postgres/postgres-password   PostgreSQL's superuser   } postgres,
#   /secrets/postgres/owner-password      the owner role           } db-setup
#   /secrets/postgres/app-password        the server role          }
#   /secrets/migrate/database-url         the owner's URL            migrate
#   /secrets/onepane/database-url         the server role's URL    } onepane
#   /secrets/onepane/secret-key           the key that seals       }
#                                         secrets (base64, 32 bytes)
#
# A file that is missing is made; one that exists is left as it is (a new
# secret key would make every secret sealed with the old one unreadable). The
# passwords are 48 hexadecimal digits, and the URLs are built from them:
# postgres://onepane_owner:PASSWORD@postgres:5432/onepane and the same for
# onepane_app.
#
# To bring your own secrets (or the files deploy/compose/secrets/ held before
# this service existed), run it once with a directory mounted at /import:
#
#   docker compose -f deploy/compose.yaml run --rm \
#     -v "$PWD/my-secrets:/import:ro" secrets
#
# Each of these names found there replaces the volume's file (the older name
# after the slash is accepted too):
#
#   postgres-password / postgres_password
#   owner-password    / onepane_owner_password
#   app-password      / onepane_app_password
#   secret-key        / onepane_secret_key
#   owner-database-url, app-database-url
#
# A URL not given is built again from its role's password whenever that
# password is new, which needs a password of letters, digits, '-', '.', '_'
# and '~' only; give the URL, percent-encoded, for any other password.
#
# Every run then gives each file to the user that reads it, readable by that
# user only: uid 999 (postgres in its image; db-setup runs as root) and uid
# 10001 (onepane).
set -eu
umask 077

pg=/secrets/postgres
migrate=/secrets/migrate
server=/secrets/onepane
import=/import

for dir in "$pg" "$migrate" "$server"; do
    [ -d "$dir" ] || { echo "error: $dir is not mounted" >&2; exit 1; }
done

random_hex() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
random_key() { head -c 32 /dev/urandom | base64; }

# put FILE COMMAND...: writes what COMMAND prints to FILE, whole or not at all.
put() {
    file=$1
    shift
    rm -f "$file.partial"
    "$@" >"$file.partial"
    [ -s "$file.partial" ] || { echo "error: nothing to write to $file" >&2; exit 1; }
    mv "$file.partial" "$file"
}

# imported NAME...: the first file of these names in the import directory.
imported() {
    for name in "$@"; do
        if [ -f "$import/$name" ]; then
            echo "$import/$name"
            return 0
        fi
    done
    return 1
}

# secret FILE NAMES GENERATOR: imports FILE, or makes it when it is missing.
# Sets `changed` to yes when FILE is new.
secret() {
    file=$1
    names=$2
    generator=$3
    changed=no
    # shellcheck disable=SC2086 # NAMES is a list
    if from=$(imported $names); then
        put "$file" cat "$from"
        echo "imported $file from $from"
        changed=yes
    elif [ -e "$file" ]; then
        echo "kept     $file"
    else
        put "$file" "$generator"
        echo "created  $file"
        changed=yes
    fi
}

# url_safe PASSWORD: whether PASSWORD goes into a URL as it is.
url_safe() {
    case $1 in
        '' | *[!A-Za-z0-9._~-]*) return 1 ;;
    esac
}

# check_import PASSWORD_NAMES URL_NAME ROLE: refuses, before anything is
# written, an imported password that cannot go into a URL without its URL.
check_import() {
    # shellcheck disable=SC2086 # PASSWORD_NAMES is a list
    if from=$(imported $1) && ! imported "$2" >/dev/null && ! url_safe "$(cat "$from")"; then
        echo "error: the password in $from needs percent-encoding in a URL; import $2 as" \
            "well (postgres://$3:ENCODED@postgres:5432/onepane)" >&2
        exit 1
    fi
}

# url FILE NAME ROLE PASSWORD_FILE PASSWORD_CHANGED: the role's database URL.
url() {
    file=$1
    name=$2
    role=$3
    password_file=$4
    password_changed=$5
    if from=$(imported "$name"); then
        put "$file" cat "$from"
        echo "imported $file from $from"
        return
    fi
    if [ -e "$file" ] && [ "$password_changed" = no ]; then
        echo "kept     $file"
        return
    fi
    password=$(cat "$password_file")
    if ! url_safe "$password"; then
        echo "error: the password in $password_file needs percent-encoding in a URL;" \
            "import $name as well (postgres://$role:ENCODED@postgres:5432/onepane)" >&2
        exit 1
    fi
    put "$file" printf 'postgres://%s:%s@postgres:5432/onepane\n' "$role" "$password"
    echo "created  $file"
}

check_import "owner-password onepane_owner_password" owner-database-url onepane_owner
check_import "app-password onepane_app_password" app-database-url onepane_app

secret "$pg/postgres-password" "postgres-password postgres_password" random_hex
secret "$pg/owner-password" "owner-password onepane_owner_password" random_hex
owner_changed=$changed
secret "$pg/app-password" "app-password onepane_app_password" random_hex
app_changed=$changed
secret "$server/secret-key" "secret-key onepane_secret_key" random_key
url "$migrate/database-url" owner-database-url onepane_owner "$pg/owner-password" "$owner_changed"
url "$server/database-url" app-database-url onepane_app "$pg/app-password" "$app_changed"

# Each volume's top directory becomes /secrets in the services that mount it.
chown 999:999 "$pg" "$pg/postgres-password" "$pg/owner-password" "$pg/app-password"
chown 10001:10001 "$migrate" "$migrate/database-url" \
    "$server" "$server/database-url" "$server/secret-key"
chmod 0700 "$pg" "$migrate" "$server"
chmod 0400 "$pg/postgres-password" "$pg/owner-password" "$pg/app-password" \
    "$migrate/database-url" "$server/database-url" "$server/secret-key"
echo "The secret files are in place."
