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
    echo "chromium: install Chromium yourself and set TABWRIGHT_CHROMIUM=/path/to/chromium." >&2
fi
"$(dirname "$0")/apt-install.sh" chromium chromium fonts-noto-color-emoji
if [ ! -x "$CHROMIUM" ]; then
    echo "chromium: installed, but not at $CHROMIUM (Debian puts it at /usr/bin/chromium)" >&2
    exit 1
fi
"$CHROMIUM" --version 2>/dev/null
