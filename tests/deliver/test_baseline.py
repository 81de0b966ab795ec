"""The model card's training baseline and the PSI, without the drift check's heavy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.deliver._baseline import OTHER, PSI_DRIFT, PSI_WATCH, baseline_stats, psi


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    base = np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(base, base) == pytest.approx(0.0)
    small, large = psi(base, [0.3, 0.25, 0.25, 0.2]), psi(base, [0.7, 0.1, 0.1, 0.1])
    assert 0 < small < PSI_WATCH < PSI_DRIFT < large


def test_the_baseline_has_deciles_for_numbers_and_level_shares_for_categories():
    frame = pd.DataFrame({"x": np.arange(1000.0), "c": ["a"] * 600 + [f"l{i}" for i in range(400)]})
    frame.loc[:9, "x"] = np.nan
    base = baseline_stats(frame, {"x": "numeric", "c": "categorical"})["features"]
    assert base["x"]["kind"] == "numeric" and len(base["x"]["edges"]) == 9
    assert sum(base["x"]["shares"]) == pytest.approx(1.0) and base["x"]["missing"] == 0.01
    assert base["c"]["levels"]["a"] == 0.6 and base["c"]["levels"][OTHER] > 0


def test_reading_the_baseline_loads_neither_plotly_nor_scikit_learn():
    code = ("import sys, core.deliver._baseline; "
            "print(sorted(m for m in ('plotly', 'sklearn', 'fastapi', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
