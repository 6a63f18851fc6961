#!/bin/sh
# Creates the secret files deploy/compose.yaml reads, in deploy/compose/secrets/
# (kept out of git and out of the image's build context). A file that exists
# already is left as it is: regenerating the secret key would make every
# secret sealed with it unreadable.
#
#   postgres_password        PostgreSQL's superuser
#   onepane_owner_password   the owner role, which runs migrations
#   onepane_app_password     the server role
#   onepane_secret_key       the key that seals secrets (base64 of 32 bytes)
#
# The directory is private to you (0700); the files in it are readable by
# all (0644) because the containers read them as their own users (Onepane
# as uid 10001), through bind mounts that keep the files' permissions.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 0700 "$dir"

# Hex passwords: nothing in them needs quoting in a URL or in SQL.
random_hex() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
random_key() { head -c 32 /dev/urandom | base64; }

make() {
    name=$1
    shift
    if [ -e "$dir/$name" ]; then
        echo "kept    $dir/$name"
    else
        "$@" > "$dir/$name.tmp"
        chmod 0644 "$dir/$name.tmp"
        mv "$dir/$name.tmp" "$dir/$name"
        echo "created $dir/$name"
    fi
}

make postgres_password random_hex
make onepane_owner_password random_hex
make onepane_app_password random_hex
make onepane_secret_key random_key
