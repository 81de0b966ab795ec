"""The reduction step (PCA, truncated SVD): placed in every pipeline, fitted inside each fold."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.model_selection import KFold, cross_validate
from sklearn.preprocessing import OneHotEncoder

from core.prepare import build_pipeline, plan_features
from core.prepare._reduce import build_reducer, keeps_sparse
from core.recipe import ModelChoice, Recipe, Reduction
from core.train import train
from core.train._estimate import estimate_run
from core.train._plan import training_plan


def _recipe(reduce: Reduction) -> Recipe:
    recipe = Recipe(target="y", task="binary", auto=False, models=[ModelChoice("logistic_regression")])
    recipe.preparation.reduce = reduce
    return recipe


@pytest.fixture
def pipeline_for(low_rank, low_rank_roles):
    """The unfitted pipeline of a recipe and a model on the low-rank data."""
    def build(recipe: Recipe, model: str = "logistic_regression"):
        plan = plan_features(low_rank, recipe, low_rank_roles)
        return build_pipeline(plan, recipe, model, task="binary")
    return build


@pytest.fixture
def Xy(low_rank):
    return low_rank.drop(columns="y"), low_rank.y


def test_the_step_asked_for_and_what_the_preparation_hands_it():
    assert build_reducer(_recipe(Reduction())) is None
    pca = build_reducer(_recipe(Reduction("pca", components=7)))
    assert isinstance(pca, PCA) and (pca.n_components, pca.random_state) == (7, 0)
    assert build_reducer(_recipe(Reduction("pca", components=7, variance=0.8))).n_components == 0.8
    svd = build_reducer(_recipe(Reduction("svd", components=7)))
    assert isinstance(svd, TruncatedSVD) and svd.n_components == 7
    assert keeps_sparse(_recipe(Reduction("svd"))) and not keeps_sparse(_recipe(Reduction("pca")))


def test_the_step_comes_after_selection_and_is_fitted_inside_each_fold(pipeline_for, Xy):
    recipe = _recipe(Reduction("pca", components=4))
    recipe.features.selection = "variance"
    pipe = pipeline_for(recipe)
    assert [name for name, _ in pipe.steps] == ["prep", "select", "reduce", "model"]
    X, y = Xy
    folds = cross_validate(pipe, X, y, cv=KFold(3, shuffle=True, random_state=0),
                           return_estimator=True, return_indices=True)
    means = []
    for fitted, rows in zip(folds["estimator"], folds["indices"]["train"]):
        prepared = fitted[:2].transform(X.iloc[rows])  # prep and select, fitted on these rows
        reduce = fitted.named_steps["reduce"]
        assert reduce.n_components_ == 4
        assert np.allclose(reduce.mean_, prepared.mean(axis=0))  # the fold's own rows only
        means.append(reduce.mean_)
    assert not np.allclose(means[0], means[1])


def test_components_as_a_count_as_a_share_and_lowered_to_what_the_data_has(pipeline_for, Xy):
    X, y = Xy
    counted = pipeline_for(_recipe(Reduction("pca", components=5))).fit(X, y)
    assert counted[:-1].transform(X).shape == (400, 5)
    assert list(counted[:-1].get_feature_names_out()) == [f"pca{i}" for i in range(5)]

    shared = pipeline_for(_recipe(Reduction("pca", variance=0.8))).fit(X, y)
    ratios = shared.named_steps["reduce"].explained_variance_ratio_
    assert ratios.sum() >= 0.8 and ratios[:-1].sum() < 0.8  # the fewest that keep 80%

    too_many = pipeline_for(_recipe(Reduction("pca", components=5_000))).fit(X, y)
    width = too_many[:1].transform(X.head()).shape[1]
    # the count is lowered to the prepared width, and that is the parameter as fitted
    assert too_many.named_steps["reduce"].n_components == width == too_many[:-1].transform(X).shape[1]
    assert clone(too_many.named_steps["reduce"]).n_components == width


def test_text_goes_sparse_into_truncated_svd_and_dense_into_pca(pipeline_for, Xy):
    X, y = Xy
    svd = pipeline_for(_recipe(Reduction("svd", components=6))).fit(X, y)
    assert isinstance(svd.named_steps["reduce"], TruncatedSVD)
    assert sparse.issparse(svd[:1].transform(X))
    reduced = svd[:-1].transform(X)
    assert isinstance(reduced, np.ndarray) and reduced.shape == (400, 6)
    assert list(svd[:-1].get_feature_names_out()) == [f"svd{i}" for i in range(6)]
    assert svd.predict_proba(X.head(3)).shape == (3, 2)

    pca = pipeline_for(_recipe(Reduction("pca", components=6))).fit(X, y)
    assert isinstance(pca.named_steps["reduce"], PCA)
    assert isinstance(pca[:1].transform(X), np.ndarray)
    # mutual information would read sparse columns as discrete: it gets them dense
    chosen = _recipe(Reduction("svd", components=6))
    chosen.features.selection, chosen.features.k = "mutual_info", 20
    mutual = pipeline_for(chosen).fit(X, y)
    assert isinstance(mutual[:1].transform(X), np.ndarray)


def test_with_a_reduction_trees_get_the_scaled_one_hot_preparation_without_gaps(pipeline_for, Xy):
    plain = pipeline_for(_recipe(Reduction()), "hist_gradient_boosting")
    assert plain.named_steps["model"].categorical_features != "from_dtype"  # native codes
    reduced = pipeline_for(_recipe(Reduction("pca", components=3)), "hist_gradient_boosting")
    assert reduced.named_steps["model"].categorical_features == "from_dtype"  # the default
    encoders = [branch.named_steps["encode"] for _, branch, _ in reduced.named_steps["prep"].transformers
                if hasattr(branch, "named_steps") and "encode" in branch.named_steps]
    assert encoders and all(isinstance(e, OneHotEncoder) for e in encoders)
    X, y = Xy
    reduced.fit(X, y)  # x0 has gaps: imputed before PCA, which cannot take NaN
    assert reduced.predict(X.head(4)).shape == (4,)


def test_a_training_run_with_pca_keeps_it_in_the_model(low_rank):
    recipe = _recipe(Reduction("pca", components=3))
    recipe.models.append(ModelChoice("random_forest", {"n_estimators": 20}))
    result = train(low_rank, recipe)
    assert all(row["status"] == "ok" for row in result.leaderboard)
    assert result.pipeline.named_steps["reduce"].n_components_ == 3
    assert result.recipe.preparation.reduce == Reduction("pca", components=3)
    assert result.evaluation["metrics"]["roc_auc"] > 0.75  # the hidden signal survives


def test_clustering_reduces_too(low_rank):
    recipe = Recipe(task="clustering", auto=False, models=[ModelChoice("kmeans", {"n_clusters": 3})],
                    drop=["y", "review"])
    recipe.preparation.reduce = Reduction("pca", components=2)
    result = train(low_rank, recipe)
    assert [name for name, _ in result.pipeline.steps] == ["prep", "reduce", "model"]
    assert result.pipeline.named_steps["model"].cluster_centers_.shape == (3, 2)


def test_the_estimate_counts_the_prepared_matrix_not_the_components(low_rank, low_rank_roles,
                                                                    pipeline_for):
    recipe = _recipe(Reduction("pca", components=2))
    estimate = estimate_run(low_rank, recipe, training_plan(low_rank, recipe),
                            inferred_roles=low_rank_roles)
    prepared = pipeline_for(recipe).fit(low_rank, low_rank.y)[:1].transform(low_rank.head())
    assert [cost.inputs for cost in estimate.models if cost.name == "logistic_regression"] == \
        [prepared.shape[1]]
