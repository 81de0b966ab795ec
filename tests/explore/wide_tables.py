"""Wide tables for tests: many more numeric columns than rows, with a few that matter."""

from __future__ import annotations

import numpy as np
import pandas as pd


def wide_frame(rows: int = 300, columns: int = 5_000, *, task: str = "binary", informative: int = 10,
               seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """Expression-like numbers (correlated modules, each column its own level and spread) and a
    target ``y`` that follows ``informative`` of them; returns the frame and those columns."""
    rng = np.random.default_rng(seed)
    modules = rng.normal(size=(rows, 50))
    loading = rng.uniform(0.3, 0.9, columns)
    x = modules[:, rng.integers(0, 50, columns)] * loading + \
        rng.normal(size=(rows, columns)) * np.sqrt(1 - loading ** 2)
    x = (x * rng.uniform(0.5, 2, columns) + rng.uniform(2, 12, columns)).round(3)
    names = [f"gene_{i:05d}" for i in range(columns)]
    chosen = rng.choice(columns, informative, replace=False)
    z = (x[:, chosen] - x[:, chosen].mean(0)) / x[:, chosen].std(0)
    signal = z @ rng.choice([-1.0, 1.0], informative)
    noisy = signal + rng.normal(scale=0.5 * signal.std(), size=rows)
    frame = pd.DataFrame(x, columns=names)
    frame["y"] = noisy.round(4) if task == "regression" else np.where(noisy > 0, "yes", "no")
    return frame, [names[i] for i in chosen]
