"""The ability-to-learn check on real tables, shuffled targets and constructed edge cases."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.explore._lookup import level_codes, lookup_score
from core.explore._signal import (
    assess_signal,
    baseline_scores,
    complete_level_codes,
    recommend_metric,
)
from core.ingest._read import read_table
from core.ingest._roles import infer_roles
from tests.explore.wide_tables import wide_frame


def _load(path):
    frame = read_table(str(path)).frame
    return frame, {c.name: c.role for c in infer_roles(frame)}


@pytest.fixture(scope="module")
def titanic(sample_dir):
    return _load(sample_dir / "titanic.csv")


def test_titanic_shows_strong_signal_led_by_sex_and_who(titanic):
    frame, roles = titanic
    report = assess_signal(frame, "survived", "binary", roles=roles)
    assert report["verdict"] == "strong"
    assert report["headline"].startswith("Strong signal")
    top = [f["column"] for f in report["features"][:3]]
    assert set(top) <= {"who", "adult_male", "sex"}
    assert 0.75 < report["features"][0]["score"] < 0.8  # AUC of 'who' alone
    assert 0.83 < report["together"]["score"] < 0.92
    assert report["chance"] < 0.15
    assert report["rows_used"] == report["rows_total"] == 891
    json.dumps(report, allow_nan=False)


def test_a_shuffled_target_shows_weak_signal(titanic):
    frame, roles = titanic
    shuffled = frame.assign(survived=np.random.default_rng(7).permutation(frame["survived"].to_numpy()))
    report = assess_signal(shuffled, "survived", "binary", roles=roles)
    assert report["verdict"] == "weak"
    assert report["headline"].startswith("Weak signal — ML may not be the answer yet")
    assert any("more or better features" in line.lower() for line in report["advice"])
    assert report["together"]["score"] < 0.6


def test_regression_on_california_is_strong_and_its_shuffled_twin_is_weak(sample_dir):
    frame, roles = _load(sample_dir / "california_housing.csv")
    frame = frame.sample(4_000, random_state=0)
    report = assess_signal(frame, "median_house_value", "regression", roles=roles)
    assert report["metric"] == "R²" and report["verdict"] == "strong"
    assert report["features"][0]["column"] == "median_income"
    shuffled = frame.assign(median_house_value=np.random.default_rng(0).permutation(
        frame["median_house_value"].to_numpy()))
    assert assess_signal(shuffled, "median_house_value", "regression", roles=roles)["verdict"] == "weak"


def test_multiclass_and_identical_rows_with_different_labels_are_reported():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.integers(0, 3, n)
    frame = pd.DataFrame({"x": x.astype(str), "y": np.array(["a", "b", "c"])[x]})
    frame.loc[:59, "y"] = "a"  # 60 rows whose feature says otherwise: label noise
    report = assess_signal(frame, "y", "multiclass", roles={"x": "categorical"})
    noise = report["label_noise"]
    relabelled = int((x[:60] != 0).sum())  # rows now labelled 'a' although x says 'b' or 'c'
    assert noise["conflicting_rows"] == int((x != 0).sum())  # x = 1 and 2 each carry two labels
    assert noise["min_error_share"] == pytest.approx(relabelled / n)
    assert "no model can get all of them right" in noise["message"]
    assert report["verdict"] == "strong"


def test_tiny_classes_are_flagged_and_left_out_of_the_folds():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=200)})
    frame["y"] = np.where(frame["x"] > 0, "up", "down")
    frame.loc[:1, "y"] = "rare"
    report = assess_signal(frame, "y", "multiclass", roles={"x": "numeric"}, folds=5)
    rare = [c for c in report["classes"] if c["label"] == "rare"][0]
    assert rare == {"label": "rare", "rows": 2, "share": 0.01, "too_few": True}
    assert "2 rows of classes too small" in report["note"]
    assert report["rows_used"] == 198
    assert any("Too few rows for 5-fold validation in: 'rare' (2)" in a for a in report["advice"])


def test_identifiers_constants_and_text_are_skipped_with_a_reason():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"id": range(100), "one": 1, "note": ["some words here"] * 100,
                          "x": rng.normal(size=100)})
    frame["y"] = (frame["x"] > 0).astype(int)
    roles = {"id": "identifier", "one": "constant", "note": "text", "x": "numeric"}
    report = assess_signal(frame, "y", "binary", roles=roles)
    assert [s["column"] for s in report["skipped"]] == ["id", "one", "note"]
    assert [f["column"] for f in report["features"]] == ["x"]
    assert report["together"] is None


def test_a_large_table_is_sampled_and_checked_within_seconds():
    rng = np.random.default_rng(3)
    n = 50_000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(20)})
    frame["c"] = rng.choice([f"level{i}" for i in range(80)], n)
    frame["y"] = (frame["x0"] + rng.normal(size=n) > 0).astype(int)
    roles = {c: "numeric" for c in frame.columns} | {"c": "categorical"}
    started = time.perf_counter()
    report = assess_signal(frame, "y", "binary", roles=roles)
    assert time.perf_counter() - started < 8
    assert report["rows_used"] == 20_000 and "20,000 of 50,000" in report["note"]
    assert report["features"][0]["column"] == "x0"


@pytest.mark.parametrize("target, task, message", [
    ("nope", "binary", "not a column"),
    ("y", "clustering", "needs a classification or regression task"),
])
def test_unusable_requests_raise_clear_errors(target, task, message):
    frame = pd.DataFrame({"x": range(50), "y": [0, 1] * 25})
    with pytest.raises(TabwrightError, match=message):
        assess_signal(frame, target, task, roles={"x": "numeric"})


def test_too_few_labelled_rows_is_refused():
    frame = pd.DataFrame({"x": range(40), "y": [0, 1] * 10 + [None] * 20})
    with pytest.raises(TabwrightError, match="at least 30 rows with a target value, got 20"):
        assess_signal(frame, "y", "binary", roles={"x": "numeric"})


def test_baseline_scores_show_the_accuracy_trap():
    y = pd.Series(["no"] * 95 + ["yes"] * 5)
    out = baseline_scores(y, "binary")
    assert out["predicts"] == "always 'no' (95% of rows)"
    assert out["scores"]["accuracy"] == 0.95
    assert out["scores"]["balanced_accuracy"] == 0.5
    assert out["scores"]["recall"] == 0.0 and out["scores"]["average_precision"] == 0.05
    regression = baseline_scores(pd.Series([1.0, 2.0, 3.0, 4.0]), "regression")
    assert regression["scores"]["rmse"] == pytest.approx(np.std([1, 2, 3, 4]))
    assert regression["scores"]["r2"] == 0.0


@pytest.mark.parametrize("values, task, expected", [
    ([0] * 97 + [1] * 3, "binary", "average_precision"),
    ([0] * 85 + [1] * 15, "binary", "roc_auc"),
    ([0] * 50 + [1] * 50, "binary", "roc_auc"),
    (["a"] * 90 + ["b"] * 5 + ["c"] * 5, "multiclass", "balanced_accuracy"),
    (["a"] * 34 + ["b"] * 33 + ["c"] * 33, "multiclass", "accuracy"),
    ([1.5, 2.5, 3.5], "regression", "rmse"),
])
def test_recommend_metric_follows_the_class_balance(values, task, expected):
    metric, why = recommend_metric(pd.Series(values), task)
    assert metric == expected and why


# --------------------------------------------------------------------------- wide tables


def _same_groups(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two codings split the rows into the same groups (labels may differ)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("rows", [25, 300, 2_000])
@pytest.mark.parametrize("max_bins", [16, 256])
def test_complete_columns_are_binned_at_once_into_the_same_groups_as_one_by_one(rows, max_bins):
    rng = np.random.default_rng(rows)
    columns = [rng.normal(size=rows), rng.normal(size=rows).round(1),  # ties
               rng.integers(0, 3, rows).astype(float), rng.integers(0, 400, rows) * 1e6,
               np.exp(rng.normal(size=rows) * 5).round(2), np.full(rows, 2.0),
               np.r_[rng.normal(size=rows - 1), np.nan]]
    codes = complete_level_codes(np.column_stack(columns), max_bins=max_bins)
    assert sorted(codes) == list(range(len(columns) - 1))  # the column with a gap is left out
    y = rng.integers(0, 2, rows)
    folds = np.arange(rows) % 3
    for k, column in codes.items():
        one_by_one = level_codes(pd.Series(columns[k]), max_bins=max_bins)
        assert _same_groups(column, one_by_one)
        assert lookup_score(column, y, folds, "binary", smoothing=1.0) == \
            pytest.approx(lookup_score(one_by_one, y, folds, "binary", smoothing=1.0))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_wide_table_is_checked_with_a_penalised_model_in_seconds(task):
    frame, _ = wide_frame(task=task)
    roles = {c: "numeric" for c in frame.columns if c != "y"}
    started = time.perf_counter()
    report = assess_signal(frame, "y", task, roles=roles)
    print(f"\nassess_signal on 300 x 5,000 ({task}): {time.perf_counter() - started:.2f} s")
    assert len(report["features"]) == 5_000
    assert report["label_noise"]["conflicting_rows"] == 0
    # Ridge on the inputs most related to the target finds what no single gene shows alone.
    assert report["together"]["power"] > report["features"][0]["power"]
    assert report["together"]["power"] > report["chance"] + 0.1
    assert report["verdict"] in ("some", "strong")
    shuffled = frame.assign(y=np.random.default_rng(0).permutation(frame["y"].to_numpy()))
    assert assess_signal(shuffled, "y", task, roles=roles)["verdict"] == "weak"
