"""The explained-variance readout: the curve, the suggested number of components, the figure."""

import json

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.formatting import format_percent
from core.prepare import _variance
from core.prepare._variance import explained_variance, explained_variance_figure
from core.recipe import Recipe, Reduction


def test_the_readout_finds_the_rank_of_low_rank_data(low_rank, low_rank_roles):
    numbers = low_rank[[f"x{i}" for i in range(12)] + ["y"]]
    data = explained_variance(numbers, Recipe(target="y", task="binary"), low_rank_roles)
    json.dumps(data, allow_nan=False)  # JSON-safe
    cumulative = data["cumulative"]
    assert (data["method"], data["inputs"], data["rows"], data["labelled_rows"]) == ("pca", 12, 400, 400)
    assert len(cumulative) == 12 and cumulative == sorted(cumulative)
    assert cumulative[1] < 0.95 <= cumulative[2]  # three hidden numbers
    assert (data["suggested"], data["reached"]) == (3, True)
    assert data["sentence"] == (f"3 components keep {format_percent(cumulative[2])} of the variance "
                                "of the 12 prepared inputs: the fewest that keep at least 95%, so "
                                "3 is the suggestion.")
    svd = explained_variance(numbers, Recipe(target="y", task="binary"), low_rank_roles, method="svd")
    assert svd["suggested"] == 3  # scaled inputs are centred: the same rank


def test_spread_out_variance_suggests_a_share_for_pca(monkeypatch):
    monkeypatch.setattr(_variance, "CURVE_COMPONENTS", 5)
    rng = np.random.default_rng(1)
    noise = pd.DataFrame(rng.normal(size=(300, 20)), columns=[f"n{i}" for i in range(20)])
    data = explained_variance(noise, Recipe(), {c: "numeric" for c in noise})
    assert len(data["cumulative"]) == 5 and data["cumulative"][-1] < 0.5
    assert (data["suggested"], data["reached"]) == (5, False)
    assert "Keep a share of 95% instead of a count" in data["sentence"]


def test_text_points_pca_to_svd_and_svd_reads_it_sparse(low_rank, low_rank_roles):
    pca = explained_variance(low_rank, Recipe(target="y", task="binary"), low_rank_roles)
    assert (f"Text makes {format_percent(pca['zeros'])} of the prepared values zeros: svd reduces "
            "them without making them dense first") in pca["sentence"]
    svd = explained_variance(low_rank, Recipe(target="y", task="binary"), low_rank_roles, method="svd")
    assert svd["method"] == "svd" and "svd reduces" not in svd["sentence"]
    # the same prepared values, counted in the sparse matrix SVD reads
    assert (svd["inputs"], svd["zeros"]) == (pca["inputs"], pytest.approx(pca["zeros"]))


def test_the_readout_reduces_what_selection_keeps_whatever_the_recipe_reduces_now(low_rank,
                                                                                 low_rank_roles):
    recipe = Recipe(target="y", task="binary")
    recipe.features.selection, recipe.features.k = "mutual_info", 5
    recipe.preparation.reduce = Reduction("svd", components=2)
    data = explained_variance(low_rank, recipe, low_rank_roles, method="pca")
    assert (data["method"], data["inputs"], len(data["cumulative"])) == ("pca", 5, 5)


def test_the_readout_samples_rows_and_refuses_what_it_cannot_measure(low_rank, low_rank_roles):
    sampled = explained_variance(low_rank, Recipe(target="y", task="binary"), low_rank_roles, sample_rows=100)
    assert (sampled["rows"], sampled["labelled_rows"]) == (100, 400)
    with pytest.raises(TabwrightError, match="must be pca or svd"):
        explained_variance(low_rank, Recipe(target="y", task="binary"), low_rank_roles, method="umap")
    with pytest.raises(TabwrightError, match="at least two prepared inputs"):
        explained_variance(low_rank[["x1", "y"]], Recipe(target="y"), low_rank_roles)


def test_the_figure_draws_the_curve_the_share_and_the_suggestion(low_rank, low_rank_roles):
    data = explained_variance(low_rank, Recipe(target="y", task="binary"), low_rank_roles)
    fig = explained_variance_figure(data)
    assert list(fig.data[0].y) == data["cumulative"]
    assert list(fig.data[0].x) == list(range(1, len(data["cumulative"]) + 1))
    lines = {(shape.x0, shape.y0) for shape in fig.layout.shapes}
    assert (data["suggested"], 0) in lines and (0, 0.95) in lines
    assert fig.layout.title.text == "Variance kept by the first PCA components"
