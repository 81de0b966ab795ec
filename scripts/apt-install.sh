#!/usr/bin/env bash
# Install Debian packages for `make test`: apt-get install -y PACKAGE..., as root or through sudo.
# Used by install-chromium.sh and install-postgresql.sh once they found their programs missing.
# With no terminal (CI) sudo must not wait for a password prompt nobody can answer.
set -euo pipefail

what="$1"; shift
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$what: apt-get is not available to install $*; install it yourself." >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
fi
echo "$what: installing Debian's $*"
apt_opts=(-o DPkg::Lock::Timeout=300)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y "$@"
