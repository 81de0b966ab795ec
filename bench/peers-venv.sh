#!/usr/bin/env bash
# Create the benchmark-peer virtualenv (AutoGluon, FLAML) that bench/peers.py runs under.
# It lives OUTSIDE the repository and apart from the app's .venv: never install the peers there.
#
#   bash bench/peers-venv.sh                  # creates /work/bench-venv
#   bash bench/peers-venv.sh /tmp/peers-venv  # or any other path
#   /work/bench-venv/bin/python bench/peers.py
#
# About 3 minutes and ~3 GB. torch goes first, from the CPU wheel pip finds on this machine,
# so autogluon does not pull a multi-GB CUDA build.
set -euo pipefail

VENV="${1:-/work/bench-venv}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3.11}"

case "$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/" in
    "$(cd "$HERE/.." && pwd)/"*) echo "refusing to create the peer venv inside the repository: $VENV" >&2; exit 2;;
esac

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade pip
"$VENV/bin/python" -m pip install torch==2.13.0
"$VENV/bin/python" -m pip install -r "$HERE/peers-requirements.txt"
"$VENV/bin/python" - <<'PY'
import autogluon.tabular, flaml, lightgbm, sklearn, torch
print("peer venv ready: autogluon.tabular", autogluon.tabular.__version__, "| flaml", flaml.__version__,
      "| lightgbm", lightgbm.__version__, "| scikit-learn", sklearn.__version__, "| torch", torch.__version__)
PY
