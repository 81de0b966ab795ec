"""The final refit on every row (finalize), and auto mode planned by count (max_trials)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from core.deliver import model_files
from core.deliver._script import render_training_script
from core.errors import TabwrightError
from core.recipe import ModelChoice, Recipe, Stacking
from core.train import FINALIZE_AUTO_ROWS, finalize
from core.train._final import members_of, should_finalize
from core.train._runner import train

CHEAP = [ModelChoice("logistic_regression"), ModelChoice("decision_tree", {"max_depth": 4})]


@pytest.fixture(scope="module")
def titanic(datasets_dir):
    return pd.read_csv(datasets_dir / "titanic.csv")


@pytest.fixture(scope="module")
def tested(titanic):
    """A run with chosen models: not finalized by default."""
    return train(titanic, Recipe(target="survived", auto=False, models=CHEAP[:1]))


def _proba(model, X):
    return np.ascontiguousarray(model.predict_proba(X))


def test_the_default_finalizes_auto_mode_on_tables_up_to_the_row_limit():
    auto, chosen = Recipe(target="y"), Recipe(target="y", auto=False, models=CHEAP)
    assert should_finalize(auto, auto=True, rows=FINALIZE_AUTO_ROWS)
    assert not should_finalize(auto, auto=True, rows=FINALIZE_AUTO_ROWS + 1)
    assert not should_finalize(chosen, auto=False, rows=500)
    chosen.finalize = "on"
    assert should_finalize(chosen, auto=False, rows=10**7)
    auto.finalize = "off"
    assert not should_finalize(auto, auto=True, rows=500)


def test_a_run_with_chosen_models_is_not_finalized_unless_asked(tested):
    assert tested.final_pipeline is None and tested.final_rows is None
    assert tested.delivered is tested.pipeline
    assert tested.recipe.finalize == "auto" and "finalize" not in tested.recipe.to_dict()


def test_finalize_refits_on_every_row_and_keeps_the_tested_model_for_evaluation(tested, titanic):
    done = finalize(tested)
    assert done.final_rows == tested.n_train + tested.n_test == len(titanic)
    assert done.pipeline is tested.pipeline and done.evaluation == tested.evaluation
    assert done.delivered is done.final_pipeline
    assert done.recipe.finalize == "on" and tested.recipe.finalize == "auto"  # a copy
    X = tested.X_test
    # Logistic regression refitted on 891 rows instead of 712: close, not the same.
    assert not np.array_equal(_proba(done.delivered, X), _proba(done.pipeline, X))
    assert np.abs(_proba(done.delivered, X) - _proba(done.pipeline, X)).max() < 0.2
    assert "refitted on every row, the 179 test rows included" in done.notes[-1]
    assert finalize(done) is done


def test_the_resolved_recipe_replays_the_finalized_model_exactly(tested, titanic):
    done = finalize(tested)
    again = train(titanic, done.recipe)
    assert again.final_rows == done.final_rows
    assert _proba(again.delivered, titanic).tobytes() == _proba(done.delivered, titanic).tobytes()
    assert again.evaluation["metrics"] == done.evaluation["metrics"]


def test_the_bundle_carries_the_finalized_model_and_says_so(tested):
    done = finalize(tested)
    files = model_files(done, data_name="titanic.csv", skops=False)
    shipped = joblib.load(io.BytesIO(files["model.joblib"]))
    X = tested.X_test
    assert np.array_equal(_proba(shipped, X), _proba(done.final_pipeline, X))
    card = json.loads(files["model.json"])
    assert card["training_data"]["rows_final"] == 891
    assert any("refitted on every row (891)" in line for line in card["limitations"])
    # the ranges predict checks are those of every row the model saw, the test rows included
    fare = next(c for c in card["input_schema"]["columns"] if c["name"] == "fare")
    every = pd.concat([tested.X_train, tested.X_test])["fare"]
    assert (fare["min"], fare["max"]) == (every.min(), every.max())
    assert json.loads(files["recipe.json"])["finalize"] == "on"
    script = render_training_script(done, data_name="titanic.csv")
    assert "model.fit(pd.concat([X_train, X_test]), pd.concat([y_train, y_test]))" in script
    assert "model.fit(pd.concat" not in render_training_script(tested, data_name="titanic.csv")


def test_a_stack_refits_its_models_and_keeps_its_meta_model(titanic):
    recipe = Recipe(target="survived", auto=False, models=CHEAP, ensemble=True,
                    stacking=Stacking(), finalize="on")
    done = train(titanic, recipe)
    tested_stack = done.pipeline.steps[-1][1]
    final_stack = done.final_pipeline.steps[-1][1]
    assert np.array_equal(final_stack.final_estimator_.coef_, tested_stack.final_estimator_.coef_)
    assert final_stack.estimators_[0] is not tested_stack.estimators_[0]
    assert final_stack.estimators_[0].n_features_in_ == tested_stack.estimators_[0].n_features_in_
    # The tested stack is untouched (its models still saw the training rows only).
    assert done.final_rows == len(titanic)
    assert not np.array_equal(_proba(done.delivered, titanic), _proba(done.pipeline, titanic))


def test_members_of_a_resolved_recipe():
    assert members_of(Recipe(target="y", auto=False, models=CHEAP)) == [
        ("logistic_regression", {}, 1.0)]
    assert [m[0] for m in members_of(Recipe(target="y", auto=False, models=CHEAP, ensemble=True))] \
        == ["logistic_regression", "decision_tree"]
    with pytest.raises(TabwrightError, match="names no model"):
        members_of(Recipe(target="y"))


def test_a_clustering_cannot_be_finalized(datasets_dir):
    frame = pd.read_csv(datasets_dir / "titanic.csv")[["age", "fare"]].dropna()
    result = train(frame, Recipe(task="clustering", auto=False, models=[ModelChoice("kmeans")]))
    with pytest.raises(TabwrightError, match="classification and regression"):
        finalize(result)


# --------------------------------------------------------------------------- planned by count


@pytest.mark.slow
def test_auto_mode_planned_by_count_gives_the_same_model_under_any_load(titanic):
    """The second run shares the machine with two busy processes, one per core. (Busy threads
    in this process would test the GIL instead: every fit's release and re-acquisition waits
    out their switch interval, and the run slows a hundredfold.)"""
    recipe = Recipe(target="survived", max_trials=7, time_budget=600)
    quiet = train(titanic, recipe)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        busy = train(titanic, recipe)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert [r["label"] for r in quiet.leaderboard] == [r["label"] for r in busy.leaderboard]
    assert quiet.recipe == busy.recipe
    assert _proba(quiet.delivered, titanic).tobytes() == _proba(busy.delivered, titanic).tobytes()
    assert 7 <= len(quiet.leaderboard) <= 7 + 2  # the trials, an ensemble and a stack
    assert quiet.final_rows == len(titanic)  # auto mode on a small table finalizes


def test_the_budget_caps_a_run_planned_by_count_and_says_it_no_longer_repeats(titanic):
    result = train(titanic, Recipe(target="survived", max_trials=500, time_budget=4))
    assert any("ran out after" in n and "of the 500 planned trials" in n for n in result.notes)
    assert result.seconds < 4 * 1.1 + 3
