"""core.deliver._fastpredict: compiled models give the model's own numbers, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.deliver import _fastpredict as fastpredict
from core.deliver._export import model_card
from core.deliver._fastpredict import (
    _BoostedTrees,
    _Forest,
    compile_model,
    same_outputs,
    verified,
)
from core.deliver._predict import predict_table
from core.deliver._serve import create_app
from core.ingest._read import read_table
from core.recipe import Imbalance, ModelChoice, Recipe, Reduction
from core.train._runner import train


@pytest.fixture(scope="module")
def titanic(sample_dir) -> pd.DataFrame:
    return read_table(sample_dir / "titanic.csv").frame


def _rows(result, n: int, seed: int = 0) -> pd.DataFrame:
    """n rows drawn from the test rows, with extra holes and an unseen category."""
    rng = np.random.default_rng(seed)
    frame = result.X_test.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    for column in frame.columns:
        holes = rng.random(n) < 0.15
        frame[column] = frame[column].astype(object).where(~holes, None)
    if "embark_town" in frame:
        frame.loc[::7, "embark_town"] = "Atlantis"
    return frame


@pytest.fixture(scope="module")
def trained(titanic):
    cases = {
        "forest": ("survived", [ModelChoice("random_forest", {"n_estimators": 40})], False),
        "extra_trees": ("survived", [ModelChoice("extra_trees", {"n_estimators": 40})], False),
        "boosting": ("survived", [ModelChoice("hist_gradient_boosting")], False),
        "multiclass": ("class", [ModelChoice("random_forest", {"n_estimators": 30})], False),
        "boosting_multiclass": ("embarked", [ModelChoice("hist_gradient_boosting")], False),
        "forest_regression": ("fare", [ModelChoice("random_forest", {"n_estimators": 30})], False),
        "boosting_regression": ("fare", [ModelChoice("hist_gradient_boosting")], False),
        "boosting_poisson": ("fare", [ModelChoice("hist_gradient_boosting", {"loss": "poisson"})],
                             False),
        "ensemble": ("survived", [ModelChoice("random_forest", {"n_estimators": 30}),
                                  ModelChoice("extra_trees", {"n_estimators": 30}),
                                  ModelChoice("hist_gradient_boosting"),
                                  ModelChoice("logistic_regression")], True),
        "ensemble_regression": ("fare", [ModelChoice("random_forest", {"n_estimators": 20}),
                                         ModelChoice("ridge")], True),
        "ensemble_float32": ("survived", [ModelChoice("hist_gradient_boosting"),
                                          ModelChoice("logistic_regression")], True),
    }
    out = {}
    for name, (target, models, ensemble) in cases.items():
        recipe = Recipe(target=target, auto=False, models=models, ensemble=ensemble)
        if name.endswith("float32"):
            recipe.preparation.precision = "float32"
        out[name] = train(titanic, recipe)
    rare = titanic.copy()
    rare.loc[rare.index[:2], "embarked"] = ["X", "Y"]  # classes seen once: RareClassBoostingClassifier
    out["boosting_rare"] = train(rare, Recipe(target="embarked", auto=False,
                                              models=[ModelChoice("hist_gradient_boosting")]))
    assert type(out["boosting_rare"].pipeline[-1]).__name__ == "RareClassBoostingClassifier"
    return out


def _method(result) -> str:
    return "predict_proba" if result.task in ("binary", "multiclass") else "predict"


@pytest.mark.parametrize("case", ["forest", "extra_trees", "boosting", "multiclass",
                                  "boosting_multiclass",
                                  "forest_regression", "boosting_regression", "boosting_poisson",
                                  "boosting_rare",
                                  "ensemble",
                                  "ensemble_regression", "ensemble_float32"])
@pytest.mark.parametrize("rows", [1, 37, 3000])
def test_compiled_model_equals_the_model_bit_for_bit(trained, case, rows, monkeypatch):
    """Small batches (one C walk over all trees), big ones (tree by tree, on two threads)."""
    monkeypatch.setattr(fastpredict, "PARALLEL_ROWS", 1000)  # 3000 rows: split across threads
    monkeypatch.setattr(fastpredict, "WALK_BLOCK_ROWS", 1024)  # ... and boosting in blocks
    result = trained[case]
    model = getattr(result.pipeline, "estimator_", result.pipeline)
    fast = compile_model(model)
    assert fast is not None
    if case in ("forest", "extra_trees", "multiclass", "forest_regression", "ensemble"):
        assert fast.uses(_Forest)
    if "boosting" in case or case in ("ensemble", "ensemble_float32"):
        assert fast.uses(_BoostedTrees)
    X = _rows(result, rows, seed=rows)
    method = _method(result)
    assert same_outputs(getattr(fast, method)(X), getattr(model, method)(X))
    if method == "predict_proba":
        assert same_outputs(fast.predict(X), model.predict(X))


def test_forest_walk_follows_each_nodes_missing_value_side(trained):
    """NaN goes where tree_.apply sends it, also at a missing-or-not split (threshold +inf)."""
    forest = trained["forest"].pipeline
    forest = getattr(forest, "estimator_", forest)
    estimator = forest.steps[-1][1]
    X = forest.steps[0][1].transform(_rows(trained["forest"], 400, seed=9)).astype(float)
    assert np.isnan(X).any()
    stand_in = _Forest(estimator)
    assert same_outputs(stand_in.predict_proba(X), estimator.predict_proba(X))
    assert stand_in._walker_array is not None  # the one-call walk was used
    X[:, :] = np.nan  # every feature missing: the missing-value sides all the way down
    assert same_outputs(stand_in.predict_proba(X), estimator.predict_proba(X))


def test_big_forests_and_odd_input_use_the_forest_itself(trained, monkeypatch):
    forest = trained["forest"].pipeline
    forest = getattr(forest, "estimator_", forest)
    estimator = forest.steps[-1][1]
    X = forest.steps[0][1].transform(_rows(trained["forest"], 50, seed=2)).astype(float)
    monkeypatch.setattr(fastpredict, "STAGE_NODES", 10)
    stand_in = _Forest(estimator)
    assert same_outputs(stand_in.predict_proba(X), estimator.predict_proba(X))
    assert stand_in._walker_array is None  # too big to copy: tree by tree
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):  # the forest's own message
        stand_in.predict_proba(X)


def test_predict_table_uses_a_verified_fast_path_and_keeps_the_threshold(titanic, monkeypatch):
    result = train(titanic, Recipe(target="survived", auto=False,
                                   models=[ModelChoice("random_forest", {"n_estimators": 30})]))
    result_threshold = train(titanic, Recipe(target="survived", auto=False,
                                             models=[ModelChoice("random_forest",
                                                                 {"n_estimators": 30})],
                                             imbalance=Imbalance(threshold=0.3)))
    for res in (result, result_threshold):
        card = model_card(res, data_name="titanic.csv")
        X = _rows(res, 200, seed=5)
        table, _ = predict_table(res.pipeline, card, X)
        assert isinstance(verified(res.pipeline, X, "predict_proba"), fastpredict.FastModel)
        with monkeypatch.context() as m:
            m.setattr("core.deliver._predict.verified", lambda model, sample, method: model)
            plain, _ = predict_table(res.pipeline, card, X)
        pd.testing.assert_frame_equal(table, plain, check_exact=True)
        assert same_outputs(table["proba_1"].to_numpy(), res.pipeline.predict_proba(X)[:, 1])
    # a FixedThresholdClassifier's predict applies its threshold: never replaced
    assert verified(result_threshold.pipeline, X, "predict") is result_threshold.pipeline


def test_a_fast_path_that_differs_is_not_used(trained, monkeypatch):
    result = trained["boosting"]
    model = getattr(result.pipeline, "estimator_", result.pipeline)
    X = _rows(result, 30, seed=1)
    real = _BoostedTrees.predict_proba
    monkeypatch.setattr(_BoostedTrees, "predict_proba",
                        lambda self, X: np.nextafter(real(self, X), 2.0))
    monkeypatch.setattr(fastpredict, "_VERIFIED", fastpredict.weakref.WeakKeyDictionary())
    chosen = verified(model, X, "predict_proba")
    # the stand-in differs in the last bit: the plain estimators with the fast transforms
    assert isinstance(chosen, fastpredict.FastModel) and not chosen.uses(_BoostedTrees)
    assert same_outputs(chosen.predict_proba(X), model.predict_proba(X))


def test_boosting_walk_with_category_splits_at_the_root(titanic):
    """Category splits become small threshold trees; one at the root is moved to node 0."""
    frame = titanic[["sex", "class", "who", "embarked", "deck", "survived"]]
    result = train(frame, Recipe(target="survived", auto=False,
                                 models=[ModelChoice("hist_gradient_boosting")]))
    model = getattr(result.pipeline, "estimator_", result.pipeline)
    estimator = model.steps[-1][1]
    roots = [p.nodes[0]["is_categorical"] for it in estimator._predictors for p in it]
    assert any(roots)
    trees = _BoostedTrees(estimator)
    X = model.steps[0][1].transform(_rows(result, 300, seed=3)).astype(float)
    X[::5, 0] = 99  # a code the trees never saw: the missing side
    X[1::5, 0] = -1  # negative: the missing side too
    for n in (1, 17, 300):
        assert same_outputs(trees.predict_proba(X[:n]), estimator.predict_proba(X[:n]))
    assert trees._stage_array is not None



@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = np.array(["late", "broken", "great", "cheap", "refund", "fast", "slow", "happy"])
    good = rng.random(400) < 0.5
    return pd.DataFrame({"review": [" ".join(rng.choice(words[2:] if g else words, 5)) for g in good],
                         "price": rng.uniform(5, 50, 400).round(2),
                         "survived": good.astype(int)})


@pytest.mark.parametrize("data, models, reduce", [
    ("titanic", [ModelChoice("logistic_regression")], Reduction("pca", components=6)),
    ("titanic", [ModelChoice("random_forest", {"n_estimators": 20}),
                 ModelChoice("hist_gradient_boosting")], Reduction("pca", variance=0.9)),
    ("titanic", [ModelChoice("hist_gradient_boosting")], Reduction("svd", components=5)),
    ("reviews", [ModelChoice("logistic_regression")], Reduction("svd", components=4)),
    # splines (a GAM): a step of tabwright's own between the preparation and the model
    ("titanic", [ModelChoice("logistic_regression", {"splines": 5}),
                 ModelChoice("hist_gradient_boosting")], Reduction()),
    ("reviews", [ModelChoice("logistic_regression", {"splines": 4})], Reduction()),
])
def test_a_reduction_step_is_served_with_scikit_learns_own_numbers(request, data, models, reduce):
    """The step between the preparation and the model (a reduction, splines) is called as it
    is: the same bits from the compiled model, predict_table and the REST server as from
    scikit-learn."""
    frame = request.getfixturevalue(data)
    recipe = Recipe(target="survived", auto=False, models=models, ensemble=len(models) > 1,
                    roles={"review": "text"} if data == "reviews" else {})
    recipe.preparation.reduce = reduce
    result = train(frame, recipe)
    model = getattr(result.pipeline, "estimator_", result.pipeline)
    X = _rows(result, 300, seed=4)
    expected = model.predict_proba(X)
    fast = compile_model(model)
    assert fast is not None and same_outputs(fast.predict_proba(X), expected)
    card = model_card(result, data_name=f"{data}.csv")
    table, _ = predict_table(result.pipeline, card, X)
    assert isinstance(verified(result.pipeline, X.iloc[:100], "predict_proba"), fastpredict.FastModel)
    assert same_outputs(table["proba_1"].to_numpy(), expected[:, 1])
    predictor = create_app(result.pipeline, card).state.batcher.predictor
    # checked columns go through the branch stand-ins, except into a sparse text matrix (the
    # ColumnTransformer's own path, kept sparse for truncated SVD), which the server leaves to
    # the model
    assert (predictor.model.fast is None) == (data == "reviews" and reduce.method == "svd")
    records = X.astype(object).where(X.notna(), None).to_dict("records")
    got = predictor.predict_many([records])[0]
    assert got["predictions"] == table["prediction"].tolist()
    assert [p["1"] for p in got["probabilities"]] == table["proba_1"].tolist()
