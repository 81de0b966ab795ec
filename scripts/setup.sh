#!/usr/bin/env bash
# Create or refresh the project virtualenv, doing only the work that is needed.
#
#   scripts/setup.sh            used by `make app` and `make test`
#
# - .venv is created with python3.11 when it is missing (or not runnable).
# - `pip install -e '.[test]'` runs only when pyproject.toml (or the bootstrap pins below)
#   changed since the last successful install, or tabwright is not installed in .venv.
#   The stamp .venv/.tabwright-install-stamp records what was installed; it is written
#   only after pip succeeded, so an interrupted install is retried next time.
# Environment: VENV (default .venv), PYTHON (default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3.11}"
STAMP="$VENV/.tabwright-install-stamp"
# pip>=25.3 and setuptools>=78.1.1 carry the fixes for their known advisories (pip-audit
# audits them too). setuptools<82 because ydata-profiling 4.18 imports pkg_resources,
# which setuptools 82 removed.
BOOTSTRAP=("pip>=25.3" "setuptools>=78.1.1,<82")

export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
if [ "${CI:-}" = "true" ]; then export PIP_PROGRESS_BAR=off; fi

if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "setup: $PYTHON not found; install Python 3.11 or run with PYTHON=/path/to/python3.11" >&2
        exit 1
    fi
    echo "setup: creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv --clear "$VENV"
fi

want="$(
    {
        sha256sum pyproject.toml
        printf '%s\n' "${BOOTSTRAP[@]}"
        "$VENV/bin/python" --version
    } | sha256sum | cut -d' ' -f1
)"
have="$(cat "$STAMP" 2>/dev/null || true)"

if [ "$want" = "$have" ] \
    && "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("tabwright")' >/dev/null 2>&1; then
    echo "setup: $VENV is up to date with pyproject.toml"
    exit 0
fi

echo "setup: installing tabwright and its test extra into $VENV"
start=$SECONDS
rm -f "$STAMP"
"$VENV/bin/python" -m pip install --upgrade "${BOOTSTRAP[@]}"
"$VENV/bin/python" -m pip install -e '.[test]'
printf '%s\n' "$want" > "$STAMP"
echo "setup: done in $((SECONDS - start)) s"
