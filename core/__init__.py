"""tabwright core: everything from a raw CSV to a deployable model, with no UI imports."""

import os

from core.settings import threads

# OpenMP reads its thread count once, when scikit-learn's compiled code first loads. On a small
# shared machine, HistGradientBoosting with one thread per task was 10-100x faster than with
# all cores while other work competed for them, so one thread is the default; set
# TABWRIGHT_THREADS (or OMP_NUM_THREADS) to use more.
os.environ.setdefault("OMP_NUM_THREADS", str(threads()))

__version__ = "0.1.0"
