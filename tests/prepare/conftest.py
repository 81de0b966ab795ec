"""Data shared by the reduction tests: numbers of a known low rank, a category, free text."""

import numpy as np
import pandas as pd
import pytest

WORDS = ["price", "delivery", "late", "broken", "great", "cheap", "refund", "quality", "fast",
         "slow", "box", "colour", "size", "return", "happy", "again", "never", "support"]


@pytest.fixture(scope="session")
def low_rank() -> pd.DataFrame:
    """12 numbers made from 3 hidden ones (rank 3), a category with gaps, free text, a target."""
    rng = np.random.default_rng(0)
    n = 400
    hidden = rng.normal(size=(n, 3))
    numbers = hidden @ rng.normal(size=(3, 12)) + rng.normal(scale=0.01, size=(n, 12))
    data = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(12)])
    data.loc[rng.random(n) < 0.1, "x0"] = np.nan
    data["shop"] = rng.choice(["north", "south", "east", None], n)
    data["review"] = [" ".join(rng.choice(WORDS, 6)) for _ in range(n)]
    data["y"] = (hidden[:, 0] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return data


@pytest.fixture(scope="session")
def low_rank_roles() -> dict[str, str]:
    """The roles of :func:`low_rank`'s columns."""
    return {f"x{i}": "numeric" for i in range(12)} | {"shop": "categorical", "review": "text"}
