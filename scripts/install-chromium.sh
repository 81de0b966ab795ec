#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests, unless it is already there.
# Playwright drives this system browser; `playwright install` is never used (it downloads a
# browser build from outside the package registries, which CI cannot reach).
set -euo pipefail

CHROMIUM="${TABWRIGHT_CHROMIUM:-/usr/bin/chromium}"
# The emoji font makes screenshots show the app's icons instead of empty boxes.
if [ -x "$CHROMIUM" ] && [ -d /usr/share/fonts/truetype/noto ] && fc-list 2>/dev/null | grep -qi "color emoji"; then
    echo "chromium: found $CHROMIUM"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium: $CHROMIUM is missing and apt-get is not available." >&2
    echo "chromium: install Chromium yourself and set TABWRIGHT_CHROMIUM=/path/to/chromium." >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    # With no terminal (CI) sudo must not wait for a password prompt nobody can answer.
    if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
fi

echo "chromium: installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=300)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y chromium fonts-noto-color-emoji
if [ ! -x "$CHROMIUM" ]; then
    echo "chromium: installed, but not at $CHROMIUM (Debian puts it at /usr/bin/chromium)" >&2
    exit 1
fi
"$CHROMIUM" --version 2>/dev/null
