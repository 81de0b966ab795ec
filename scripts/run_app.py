"""Start the tabwright app with its heavy libraries already imported.

Streamlit runs every session's script in the server process, so the first visitor otherwise
waits while pandas, scikit-learn and plotly load (about 3 s here). Importing them before the
server starts makes that first page as quick as every later one.

    python scripts/run_app.py [streamlit flags...]      # what `make app` runs
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly.graph_objects  # noqa: E402,F401
from streamlit.web import cli  # noqa: E402

import core.project  # noqa: E402,F401  (pandas, scikit-learn, the profile and findings)
import core.train._runner  # noqa: E402,F401

if __name__ == "__main__":
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    sys.exit(cli.main())
