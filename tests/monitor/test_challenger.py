"""Champion vs challenger: a fair comparison on the newest rows, the decision, and retraining."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.deliver._export import model_card, write_bundle
from core.deliver._history import RunStore
from core.errors import TabwrightError
from core.monitor._challenger import EXIT_KEPT, EXIT_PROMOTED, challenge, retrain
from core.recipe import ModelChoice, Recipe, Split
from core.train import train

pytestmark = pytest.mark.slow  # each challenge trains a model and scores 1,000 resamples twice
LOGISTIC = [ModelChoice("logistic_regression")]


def classes_table(n: int, *, flipped: bool, seed: int) -> pd.DataFrame:
    """Two features; the label follows x1 (or, ``flipped``, its opposite) plus noise."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    signal = (-x1 if flipped else x1) + 0.5 * x2 + rng.normal(scale=0.7, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": (signal > 0).astype(int)})


def prices_table(n: int, *, slope: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.uniform(50, 150, size=n)
    return pd.DataFrame({"size": size, "price": slope * size + rng.normal(scale=20, size=n)})


@pytest.fixture(scope="module")
def champion():
    """A logistic regression trained on the old relation, and its model card."""
    result = train(classes_table(600, flipped=False, seed=0), Recipe(target="y", auto=False, models=LOGISTIC))
    return result, model_card(result, data_name="claims-2023.csv")


@pytest.fixture(scope="module")
def drifted(champion):
    """The relation flipped in the new data: the challenger must win."""
    result, card = champion
    return challenge(result.pipeline, card, classes_table(600, flipped=True, seed=1))


@pytest.fixture(scope="module")
def unchanged(champion):
    """New data from the same relation: nothing to tell the models apart."""
    result, card = champion
    return challenge(result.pipeline, card, classes_table(600, flipped=False, seed=1))


def test_a_challenger_that_learned_the_new_relation_is_promoted(drifted):
    assert drifted.decision == "promote" and drifted.metric == "roc_auc"
    assert drifted.rows_scored == 120 and drifted.rows_trained == 480  # the newest 20% held out
    assert drifted.held_out == "the last 120 rows of the file"
    assert drifted.champion_score < 0.4 < 0.8 < drifted.challenger_score
    assert drifted.difference == pytest.approx(drifted.challenger_score - drifted.champion_score)
    low, high = drifted.interval
    assert 0 < low < drifted.difference < high and drifted.beyond_noise
    assert drifted.reason.startswith(
        f"On the last 120 rows of the file, the challenger scored ROC-AUC {drifted.challenger_score:.3f} "
        f"and the champion {drifted.champion_score:.3f} (higher is better).")
    assert drifted.reason.endswith("excludes 0): promote the challenger.")
    assert drifted.numbers() == (f"ROC-AUC {drifted.challenger_score:.3f} vs {drifted.champion_score:.3f} "
                                 f"({drifted.difference:+.3f}, 95% CI {low:+.3f}…{high:+.3f})")
    # The challenger trained on the older rows only, with the champion's recipe.
    assert drifted.challenger.n_train + drifted.challenger.n_test == 480
    assert drifted.challenger.recipe.models[0].name == "logistic_regression"
    assert drifted.notices == []  # the target column is not an input the model ignores


def test_the_outcome_is_json_without_the_model(drifted):
    data = drifted.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert "challenger" not in data and data["interval"] == list(drifted.interval)
    assert data["decision"] == "promote" and data["metric_label"] == "ROC-AUC" and data["greater_is_better"]


def test_a_difference_within_noise_keeps_the_champion(unchanged):
    low, high = unchanged.interval
    assert unchanged.decision == "keep" and not unchanged.beyond_noise and low < 0 < high
    assert abs(unchanged.difference) < 0.05
    assert "is within noise" in unchanged.reason and "includes 0" in unchanged.reason
    assert unchanged.reason.endswith("so the champion stays.")


def test_a_gain_below_the_margin_keeps_the_champion(champion, drifted):
    result, card = champion
    demanding = challenge(result.pipeline, card, classes_table(600, flipped=True, seed=1), margin=0.9)
    assert demanding.decision == "keep" and demanding.beyond_noise and demanding.margin == 0.9
    assert (demanding.difference, demanding.interval) == (drifted.difference, drifted.interval)  # fixed seeds
    assert f"better by {drifted.difference:.3f}" in demanding.reason
    assert "less than the required margin of 0.900: the champion stays." in demanding.reason


def test_a_worse_challenger_keeps_the_champion(champion):
    # Trained on the flipped relation, the champion is challenged with data that flips back
    # only in its newest rows: the challenger learns the old relation and loses there.
    result, card = champion
    flipped_champion = train(classes_table(600, flipped=True, seed=3), Recipe(target="y", auto=False, models=LOGISTIC))
    new = pd.concat([classes_table(480, flipped=False, seed=4), classes_table(120, flipped=True, seed=5)],
                    ignore_index=True)
    outcome = challenge(flipped_champion.pipeline, model_card(flipped_champion), new)
    assert outcome.decision == "keep" and outcome.beyond_noise and outcome.interval[1] < 0
    assert "The challenger is worse by" in outcome.reason


def test_the_champions_own_training_data_is_said_to_favour_it(champion, unchanged):
    result, card = champion
    again = challenge(result.pipeline, card, classes_table(600, flipped=False, seed=0))
    assert "trained on this very data" in again.reason and any(
        "rows it has seen" in n for n in again.notices)
    assert "trained on this very data" not in unchanged.reason  # new rows: nothing to say


def test_for_an_error_metric_lower_is_better():
    recipe = Recipe(target="price", auto=False, models=[ModelChoice("linear_regression")])
    old = train(prices_table(500, slope=3.0, seed=0), recipe)
    outcome = challenge(old.pipeline, model_card(old), prices_table(500, slope=5.0, seed=1), margin=1.0)
    assert outcome.metric == "rmse"
    assert outcome.difference < 0 and outcome.interval[1] < 0  # lower error: better
    assert "(lower is better)" in outcome.reason and "better by" in outcome.reason
    # The margin is in RMSE units, direction-aware: a gain of at least 1 (RMSE lower by 1).
    assert outcome.decision == "promote" and outcome.margin == 1.0
    assert f"better by {-outcome.difference:.1f}" in outcome.reason and "clears the margin of 1.0" in outcome.reason


def test_with_a_time_column_the_newest_rows_by_time_are_scored():
    rng = np.random.default_rng(7)
    frame = classes_table(400, flipped=False, seed=7)
    frame["date"] = (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(400), unit="D")).strftime("%Y-%m-%d")
    frame = frame.iloc[rng.permutation(400)].reset_index(drop=True)  # the file is not in time order
    frame.loc[5, "date"] = "not a date"  # unreadable times count as oldest
    recipe = Recipe(target="y", auto=False, models=LOGISTIC, drop=["date"], split=Split(time_column="date"))
    old = train(frame, recipe)
    outcome = challenge(old.pipeline, model_card(old), frame, recent=0.25)
    assert outcome.rows_scored == 100 and outcome.rows_trained == 300
    start = pd.to_datetime(frame["date"], errors="coerce").dropna().sort_values().iloc[-100]
    assert outcome.held_out == f"the 100 most recent rows by 'date' (from {start:%Y-%m-%d})"
    trained_on = list(outcome.challenger.X_train.index) + list(outcome.challenger.X_test.index)
    dates = pd.to_datetime(frame.loc[trained_on, "date"], errors="coerce")
    assert len(trained_on) == 300 and dates.max() < start and 5 in trained_on


def test_a_small_table_is_split_in_half(champion):
    # 20% of 60 rows is 12, too few to score: at least 50 are scored when the data has 100
    # rows (see the progress test), and half of a smaller table.
    result, card = champion
    outcome = challenge(result.pipeline, card, classes_table(60, flipped=False, seed=2))
    assert (outcome.rows_scored, outcome.rows_trained) == (30, 30)


def test_progress_covers_training_then_scoring(champion):
    result, card = champion
    seen = []
    outcome = challenge(result.pipeline, card, classes_table(200, flipped=True, seed=1), progress=seen.append)
    assert (outcome.rows_scored, outcome.rows_trained) == (50, 150)  # 20% is 40: at least 50 are scored
    fractions = [p.fraction for p in seen]
    assert fractions[-1] == 1.0 and seen[-1].message == "Challenger won"
    assert seen[-2].fraction == 0.9 and seen[-2].message == "Scoring the champion and the challenger on 50 recent rows"
    assert all(f <= 0.9 for f in fractions[:-1])


def test_what_cannot_be_challenged_is_explained(champion):
    result, card = champion
    new = classes_table(300, flipped=False, seed=1)
    cases = [
        ({}, new.drop(columns=["y"]), "The new data has no target column 'y'"),
        ({}, new.head(39), "A challenger needs at least 40 rows with a known 'y', got 39."),
        ({"margin": -0.1}, new, "`margin` must be a number of at least 0, got -0.1."),
        ({"margin": float("nan")}, new, "`margin` must be a number of at least 0, got nan."),
        ({"recent": 1.0}, new, "`recent` must be a number between 0 and 1 (both excluded), got 1.0."),
        ({"recent": 0}, new, "`recent` must be a number between 0 and 1"),
    ]
    for options, frame, message in cases:
        with pytest.raises(TabwrightError, match=message.replace("(", r"\(").replace(")", r"\)")):
            challenge(result.pipeline, card, frame, **options)
    partly_missing = new.copy()
    partly_missing.loc[:270, "y"] = None  # only 29 rows keep a label
    with pytest.raises(TabwrightError, match="got 29"):
        challenge(result.pipeline, card, partly_missing)
    new_class = new.copy()
    new_class.loc[290:, "y"] = 2
    seen = []
    with pytest.raises(TabwrightError, match="The most recent rows have classes the champion never saw: '2'."):
        challenge(result.pipeline, card, new_class, progress=seen.append)
    assert seen == []  # found before any training
    with pytest.raises(TabwrightError, match="A clustering model has no target"):
        challenge(result.pipeline, card | {"task": "clustering"}, new)
    timed = card | {"recipe": card["recipe"] | {"split": card["recipe"]["split"] | {"time_column": "x2"}}}
    with pytest.raises(TabwrightError, match="orders rows by the time column 'x2', which the new data lacks"):
        challenge(result.pipeline, timed, new.drop(columns=["x2"]))


# ---- retrain: record, promote, exit codes -----------------------------------------------------


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "workspace")


def test_retrain_promotes_a_winning_challenger_in_the_champions_project(store, champion):
    result, _ = champion
    champion_id = store.record(result, data_name="claims-2023.csv", project="claims")
    store.promote(champion_id, note="first model", who="ann")
    out = retrain(champion_id, classes_table(600, flipped=True, seed=1), store=store,
                  data_name="claims-2024.csv", who="scheduler", margin=0.5)
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert out["exit_code"] == EXIT_PROMOTED == 0 and out["decision"] == "promote" and out["promoted"]
    assert out["project"] == "claims" and out["champion_run_id"] == champion_id
    challenger_id = out["challenger_run_id"]
    assert store.production("claims") == challenger_id
    run = store.get(challenger_id)
    assert run["project"] == "claims" and run["data_name"] == "claims-2024.csv"
    assert run["hypothesis"].startswith(f"Challenger to run {champion_id}: its recipe retrained on claims-2024.csv. On the last")
    entry = store.promotions("claims")[0]
    c = out["challenge"]
    low, high = c["interval"]
    assert entry["note"] == (f"Challenger won on 120 recent rows: ROC-AUC {c['challenger_score']:.3f} vs "
                             f"{c['champion_score']:.3f} ({c['difference']:+.3f}, 95% CI {low:+.3f}…{high:+.3f})")
    assert (entry["who"], entry["previous_run_id"]) == ("scheduler", champion_id) and out["promotion"] == entry | {"project": "claims"}
    assert out["message"].startswith(f"Promoted challenger {challenger_id} for 'claims': ROC-AUC")
    assert c["margin"] == 0.5 and "clears the margin of 0.500: promote the challenger." in c["reason"]
    # Rolling back puts the champion back.
    store.rollback("claims", note="check by hand first")
    assert store.production("claims") == champion_id


def test_retrain_keeps_the_champion_and_still_records_the_challenger(store, champion, unchanged):
    result, _ = champion
    champion_id = store.record(result, data_name="claims-2023.csv")
    store.promote(champion_id, note="first model")
    out = retrain(champion_id, classes_table(600, flipped=False, seed=1), store=store, data_name="claims-2024.csv")
    assert out["exit_code"] == EXIT_KEPT == 4 and out["decision"] == "keep" and not out["promoted"]
    assert out["promotion"] is None and store.production("claims-2023") == champion_id
    assert store.get(out["challenger_run_id"])["project"] == "claims-2023"
    assert out["message"].startswith("Kept the champion for 'claims-2023'; challenger ")
    assert "within noise" in out["message"]
    # Fixed seeds: the same champion and data give the same numbers as challenge() alone.
    assert out["challenge"] == unchanged.to_dict()


def test_retrain_without_promoting_leaves_it_to_a_person(store, champion):
    result, _ = champion
    champion_id = store.record(result, data_name="claims.csv")
    store.promote(champion_id, note="first model")
    out = retrain(champion_id, classes_table(600, flipped=True, seed=1), store=store,
                  data_name="claims-new.csv", promote=False)
    assert out["exit_code"] == EXIT_PROMOTED and out["decision"] == "promote" and not out["promoted"]
    assert store.production("claims") == champion_id
    assert out["message"].startswith("The challenger won; promote it by hand: challenger")
    store.promote(out["challenger_run_id"], note="looked at the errors: good", who="ann")
    assert store.production("claims") == out["challenger_run_id"]


def test_retrain_from_a_bundle_folder(store, champion, tmp_path):
    result, _ = champion
    folder = write_bundle(result, tmp_path / "exported", data_name="Claims 2023.csv")
    out = retrain(folder, classes_table(600, flipped=True, seed=1), store=store, data_name="new.csv",
                  note="monthly retrain")
    assert out["champion_run_id"] is None and out["project"] == "claims-2023"
    assert store.production("claims-2023") == out["challenger_run_id"]
    assert store.promotions("claims-2023")[0]["note"].startswith("monthly retrain — Challenger won on 120 recent rows")
    # A bundle in the workspace is its run's: same run id, same project.
    run_id = store.record(result, data_name="claims.csv", project="claims")
    again = retrain(store.runs_dir / run_id, classes_table(600, flipped=False, seed=1), store=store,
                    data_name="new.csv")
    assert (again["champion_run_id"], again["project"]) == (run_id, "claims")
    with pytest.raises(TabwrightError, match="No model found at"):
        retrain(tmp_path / "nowhere", classes_table(100, flipped=False, seed=1), store=store, data_name="x.csv")
    with pytest.raises(TabwrightError, match="There is no run '20990101-000000-abcdef'"):
        retrain("20990101-000000-abcdef", classes_table(100, flipped=False, seed=1), store=store, data_name="x.csv")
