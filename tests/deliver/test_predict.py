"""predict_table on a CSV whose integer category column has a blank (read as floats)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.deliver._export import model_card
from core.deliver._predict import predict_table
from core.recipe import ModelChoice, Recipe
from core.train._runner import train


def test_a_blank_in_an_integer_category_does_not_change_the_other_rows():
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"grade": rng.integers(1, 4, n), "x": rng.normal(size=n)})
    frame["y"] = np.where((frame["grade"] == 3) ^ (frame["x"] > 1), "a", "b")
    result = train(frame, Recipe(target="y", auto=False, models=[ModelChoice("logistic_regression")]),
                   inferred_roles={"grade": "categorical", "x": "numeric"})
    card = model_card(result, data_name="grades.csv")
    rows = frame.drop(columns="y").head(20)
    clean, _ = predict_table(result.pipeline, card, rows)
    with_blank = rows.astype({"grade": "float64"})  # what read_table gives for "3,\n,\n2"
    with_blank.loc[0, "grade"] = np.nan
    blanked, _ = predict_table(result.pipeline, card, with_blank)
    pd.testing.assert_frame_equal(clean.iloc[1:], blanked.iloc[1:])
