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
    echo "postgresql: the server programs (/usr/lib/postgresql/*/bin) are missing and apt-get is not available." >&2
    echo "postgresql: install PostgreSQL's server package yourself; the database tests skip without it (and fail in CI)." >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    # With no terminal (CI) sudo must not wait for a password prompt nobody can answer.
    if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
fi

echo "postgresql: installing Debian's postgresql package"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=300)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y postgresql
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "postgresql: installed, but no /usr/lib/postgresql/*/bin/initdb (where Debian puts it)" >&2
    exit 1
fi
"$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)/postgres" --version
