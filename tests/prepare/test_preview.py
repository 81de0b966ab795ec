"""Before and after: the preparation fitted on a sample of the labelled rows, shown on a few."""

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.prepare._preview import (
    PreparationPreview,
    preview_preparation,
    readable_names,
)
from core.recipe import Recipe

ROLES = {"x": "numeric", "colour": "categorical", "y": "boolean"}


@pytest.fixture
def frame():
    rng = np.random.default_rng(5)
    n = 500
    y = rng.integers(0, 2, n).astype(float)
    y[:40] = np.nan  # unlabelled rows are not fitted on
    return pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n), "y": y})


def test_linear_and_tree_previews_of_the_labelled_rows(frame):
    recipe = Recipe(target="y", task="binary")
    linear = preview_preparation(frame, recipe, ROLES, style="linear", rows=5)
    assert list(linear.raw.columns) == ["x", "colour"] and len(linear.raw) == 5
    assert list(linear.prepared.columns) == ["x", "colour_blue", "colour_red"]
    assert linear.prepared["x"].abs().max() < 5  # scaled
    assert linear.raw.index.equals(linear.prepared.index)
    assert frame.loc[linear.raw.index, "y"].notna().all()
    assert (linear.fitted_rows, linear.labelled_rows) == (460, 460)
    assert linear.fitted_on == "all 460 rows"
    tree = preview_preparation(frame, recipe, ROLES, style="tree", rows=5)
    assert list(tree.prepared.columns) == ["colour", "x"]  # native category codes come first
    assert tree.prepared["x"].tolist() == pytest.approx(tree.raw["x"].tolist())  # not scaled


def test_a_big_table_is_fitted_on_a_seeded_sample(frame):
    recipe = Recipe(target="y", task="binary")
    first = preview_preparation(frame, recipe, ROLES, sample_rows=100)
    again = preview_preparation(frame, recipe, ROLES, sample_rows=100)
    assert first.fitted_on == "a random sample of 100 of 460 rows"
    assert first.raw.equals(again.raw) and first.prepared.equals(again.prepared)


def test_without_a_target_every_row_counts(frame):
    preview = preview_preparation(frame.drop(columns="y"), Recipe(task="clustering"), ROLES)
    assert preview.labelled_rows == 500 and len(preview.prepared) == 8


def test_target_encoding_without_a_target_says_what_to_do(frame):
    recipe = Recipe()
    recipe.preparation.encode = "target"
    with pytest.raises(TabwrightError, match="Target encoding needs the target column"):
        preview_preparation(frame.drop(columns="y"), recipe, ROLES)


def test_readable_names_drop_the_prefix_only_when_they_stay_unique():
    assert readable_names(["onehot_2__who_man", "numeric_0__age", "datetime__when_year"]) == \
        ["who_man", "age", "when_year"]
    assert readable_names(["numeric_0__x", "text_1__x"]) == ["numeric_0__x", "text_1__x"]


def test_fitted_on_in_words():
    empty = pd.DataFrame()
    assert PreparationPreview(empty, empty, 2_000, 12_345).fitted_on == \
        "a random sample of 2,000 of 12,345 rows"
    assert PreparationPreview(empty, empty, 891, 891).fitted_on == "all 891 rows"
