#!/usr/bin/env bash
# Servers and the browser the tests start for themselves, from Debian's packages:
# redis-server, a PostgreSQL server (initdb, pg_ctl) and Chromium. Installs only what is missing.
set -euo pipefail

missing=()
command -v redis-server > /dev/null || missing+=(redis-server)
compgen -G '/usr/lib/postgresql/*/bin/initdb' > /dev/null || missing+=(postgresql)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)

if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" > /dev/null 2>&1 \
        || { apt-get update -q > /dev/null && apt-get install -y -q "${missing[@]}" > /dev/null; }
fi
