#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the database tests, unless it is already there.
# The tests start their own server from these programs (initdb, pg_ctl) in a temporary folder
# on a free port; nothing here starts or configures a server.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
    echo "postgresql: found $(ls -d /usr/lib/postgresql/*/bin | tail -n 1)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "postgresql: install PostgreSQL's server package yourself; the database tests skip without it (and fail in CI)." >&2
fi
"$(dirname "$0")/apt-install.sh" postgresql postgresql
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "postgresql: installed, but no /usr/lib/postgresql/*/bin/initdb (where Debian puts it)" >&2
    exit 1
fi
"$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)/postgres" --version
