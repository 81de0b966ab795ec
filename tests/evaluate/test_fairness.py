"""Fairness across groups: per-group numbers agree with counting by hand, gaps are flagged by the
rules of thumb, small groups are too few to tell, and a bundle on a labelled file gives the same
table as the run it came from."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from core.deliver._export import model_card
from core.deliver._predict import predict_table
from core.errors import TabwrightError
from core.evaluate._fairness import (
    MAX_GROUPS,
    MISSING,
    OTHER,
    decisions_report,
    fairness_for,
    fairness_table,
    group_labels,
    group_rows_table,
    group_table,
    mark_sensitive,
)
from core.evaluate.figures import fairness_figure
from core.recipe import Brief, Costs, ModelChoice, Recipe
from core.train._runner import train


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval, from its textbook formula."""
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def decisions(group_sizes: dict[str, tuple[int, int, int, int]]) -> tuple[np.ndarray, ...]:
    """Rows with given (tp, fp, fn, tn) per group: y_true, y_pred and the groups."""
    y, pred, groups = [], [], []
    for group, (tp, fp, fn, tn) in group_sizes.items():
        for truth, flagged, k in ((1, 1, tp), (0, 1, fp), (1, 0, fn), (0, 0, tn)):
            y += [truth] * k
            pred += [flagged] * k
            groups += [group] * k
    return np.array(y), np.array(pred), pd.Series(groups, name="region")


def binary_table(sizes, **kw):
    y, pred, groups = decisions(sizes)
    return fairness_table(y, pred, groups, task="binary", metric="recall", classes=[0, 1],
                          positive_label=1, **kw)


def by_group(table):
    return {g["group"]: g for g in table["groups"]}


# --------------------------------------------------------------------------- numbers


def test_binary_numbers_are_the_counts_with_wilson_intervals():
    table = binary_table({"north": (30, 10, 20, 40), "south": (12, 3, 8, 37)})
    json.dumps(table, allow_nan=False)
    north = by_group(table)["north"]
    assert north["n"] == 100 and not north["too_few"]
    assert north["base_rate"] == pytest.approx(0.5)
    assert north["selection_rate"] == pytest.approx(0.4)
    assert north["tpr"] == pytest.approx(30 / 50) and north["fpr"] == pytest.approx(10 / 50)
    assert north["precision"] == pytest.approx(30 / 40)
    assert north["metric"] == pytest.approx(30 / 50)  # the brief's metric: recall
    assert (north["tpr_low"], north["tpr_high"]) == pytest.approx(wilson(30, 50))
    assert (north["selection_rate_low"], north["selection_rate_high"]) == pytest.approx(wilson(40, 100))
    assert [g["group"] for g in table["groups"]] == ["north", "south"]  # largest first
    assert table["overall"]["n"] == 160
    assert table["overall"]["selection_rate"] == pytest.approx(55 / 160)


def test_a_group_without_positives_has_no_true_positive_rate():
    table = binary_table({"a": (20, 10, 20, 50), "b": (0, 5, 0, 45)})
    b = by_group(table)["b"]
    assert b["tpr"] is None and b["tpr_low"] is None and b["fpr"] == pytest.approx(0.1)


def test_score_metrics_are_scored_per_group_on_the_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    proba = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    groups = pd.Series(np.where(np.arange(200) < 120, "x", "y"), name="g")
    table = fairness_table(y, (proba >= 0.5).astype(int), groups, task="binary", metric="roc_auc",
                           classes=[0, 1], scores=np.column_stack([1 - proba, proba]),
                           positive_label=1, threshold=0.5)
    x = by_group(table)["x"]
    assert x["metric"] == pytest.approx(skm.roc_auc_score(y[:120], proba[:120]))
    assert table["metric_label"] == "ROC-AUC"


def test_regression_numbers_per_group():
    y = np.r_[np.full(40, 10.0), np.full(40, 20.0)]
    pred = np.r_[np.full(40, 11.0), np.full(40, 20.0) + np.tile([-2.0, 2.0], 20)]
    groups = pd.Series(["a"] * 40 + ["b"] * 40, name="g")
    table = fairness_table(y, pred, groups, task="regression", metric="rmse")
    a, b = by_group(table)["a"], by_group(table)["b"]
    assert (a["mean_actual"], a["mean_predicted"], a["mae"]) == (10.0, 11.0, 1.0)
    assert (b["mean_error"], b["mae"]) == (0.0, 2.0) and b["metric"] == pytest.approx(2.0)
    assert a["mean_error_low"] == a["mean_error_high"] == 1.0  # no spread: an exact offset
    assert any(f.startswith("Bias: predictions for 'a' are on average 1 too high") for f in table["flags"])
    assert any(f.startswith("Errors: the typical miss (MAE) is 2.00 times as large for 'b'")
               for f in table["flags"])
    assert "selection_rate" not in a


def test_multiclass_numbers_per_group_without_a_rule():
    y = np.array(["a", "b", "c"] * 30)
    pred = np.where(np.arange(90) % 4 == 0, "a", y)
    groups = pd.Series(np.where(np.arange(90) < 45, "x", "y"), name="g")
    table = fairness_table(y, pred, groups, task="multiclass", metric="accuracy",
                           classes=["a", "b", "c"])
    for name, rows in (("x", slice(0, 45)), ("y", slice(45, 90))):
        assert by_group(table)[name]["accuracy"] == pytest.approx(np.mean(y[rows] == pred[rows]))
        assert by_group(table)[name]["metric"] == pytest.approx(np.mean(y[rows] == pred[rows]))
    assert table["flags"] == [] and any("without a rule of thumb" in n for n in table["notes"])


# --------------------------------------------------------------------------- flags


def test_four_fifths_rule_flags_a_low_selection_ratio_only():
    flagged = binary_table({"a": (25, 25, 25, 25), "b": (20, 15, 30, 35)})  # 50% vs 35%
    assert flagged["verdict"] == "gaps"
    assert flagged["flags"][0].startswith("Selection rate: 'b' is flagged positive for 35% of its "
                                          "rows, 'a' for 50%: a ratio of 0.70, below the "
                                          "four-fifths rule (0.8).")
    close = binary_table({"a": (25, 25, 25, 25), "b": (25, 20, 25, 30)})  # 50% vs 45%
    assert not any(f.startswith("Selection rate") for f in close["flags"])


def test_true_and_false_positive_rate_gaps_over_a_tenth_are_flagged():
    # same selection rates, but group b's finds are false alarms
    table = binary_table({"a": (40, 10, 10, 40), "b": (30, 20, 20, 30)})
    tpr, fpr = (next(f for f in table["flags"] if f.startswith(p))
                for p in ("True positive rate", "False positive rate"))
    assert "80% for 'a', 60% for 'b': a gap of 0.20, over 0.1" in tpr
    assert "40% for 'b', 20% for 'a': a gap of 0.20, over 0.1" in fpr
    assert "intervals" in tpr


def test_no_gap_says_which_rules_were_checked_and_that_it_proves_nothing():
    table = binary_table({"a": (40, 10, 10, 40), "b": (38, 11, 12, 39)})
    assert table["flags"] == [] and table["verdict"] == "no gaps"
    note = next(n for n in table["notes"] if n.startswith("No gap"))
    assert "four-fifths" in note and "TPR gap" in note and "FPR gap" in note
    assert "not a proof of fairness" in note


def test_small_groups_are_too_few_to_tell_and_left_out_of_the_comparison():
    # 'tiny' never gets flagged: 0% selected, but only 10 rows
    table = binary_table({"a": (25, 25, 25, 25), "b": (24, 26, 26, 24), "tiny": (0, 0, 5, 5)})
    assert by_group(table)["tiny"]["too_few"] is True
    assert table["flags"] == []
    assert any("Too few rows to tell for 'tiny'" in n for n in table["notes"])
    only_one = binary_table({"a": (25, 25, 25, 25), "tiny": (0, 0, 5, 5)})
    assert only_one["verdict"] == "too few rows" and only_one["flags"] == []


def test_few_positives_leave_the_true_positive_rate_uncompared():
    table = binary_table({"a": (40, 10, 10, 40), "b": (5, 10, 15, 70)})  # b: 20 positives
    assert not any(f.startswith("True positive rate") for f in table["flags"])
    assert any(n.startswith("Too few positives to tell the TPR for 'b'") for n in table["notes"])


# --------------------------------------------------------------------------- groups


def test_groups_from_awkward_columns():
    values = pd.Series([1.5, None, 3.0] * 10 + list(np.arange(100.0)), name="age")
    groups, notes = group_labels(values)
    ranges = list(groups.cat.categories)
    assert len(ranges) == 6 and ranges[-1] == MISSING and ranges[0].startswith("0 to ")
    assert ranges[4].endswith(" to 99")
    lows = [float(r.split(" to ")[0]) for r in ranges[:-1]]
    assert lows == sorted(lows)
    sizes = groups.value_counts()
    assert sizes[MISSING] == 10 and sizes.drop(MISSING).between(20, 28).all()  # ~120 / 5 each
    assert "5 ranges" in notes[0]
    many = pd.Series([f"c{i % 50}" for i in range(500)] + ["c0"] * 10, name="city")
    grouped, notes = group_labels(many)
    assert grouped.nunique() == MAX_GROUPS and (grouped == OTHER).sum() == 31 * 10
    assert "c0" in set(grouped)
    few = pd.Series([True, False, None] * 5, name="member", dtype=object)
    assert set(group_labels(few)[0]) == {"True", "False", MISSING}


def test_numeric_ranges_keep_their_order_in_the_table():
    rng = np.random.default_rng(2)
    age = pd.Series(rng.integers(18, 90, 600), name="age")
    y = rng.integers(0, 2, 600)
    table = fairness_table(y, y, group_labels(age)[0], task="binary", metric="accuracy",
                           classes=[0, 1], positive_label=1)
    lows = [float(g["group"].split(" to ")[0]) for g in table["groups"]]
    assert lows == sorted(lows) and len(lows) == 5


# --------------------------------------------------------------------------- from a run


@pytest.fixture(scope="module")
def titanic() -> pd.DataFrame:
    return pd.read_csv("sample_data/titanic.csv")


@pytest.fixture(scope="module")
def run(titanic):
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")],
                    drop=["who", "adult_male"])
    return train(titanic, recipe)


def test_a_run_compares_model_inputs_and_dropped_columns(run, titanic):
    recipe = run.recipe.copy()
    recipe.sensitive = ["sex", "who"]
    sex, who = fairness_for(run, recipe, frame=titanic)
    json.dumps([sex, who], allow_nan=False)
    assert sex["model_input"] is True and who["model_input"] is False
    # the held-out rows' own values, found by their labels in the table
    truth = titanic.loc[run.X_test.index]
    assert {g["group"]: g["n"] for g in who["groups"]} == truth["who"].value_counts().to_dict()
    predicted = run.pipeline.predict(run.X_test)
    women = (truth["sex"] == "female").to_numpy()
    female = by_group(sex)["female"]
    assert female["selection_rate"] == pytest.approx(np.mean(predicted[women] == 1))
    assert female["base_rate"] == pytest.approx(truth["survived"][women].mean())
    assert female["metric"] == pytest.approx(
        skm.roc_auc_score(truth["survived"][women], run.pipeline.predict_proba(run.X_test)[women, 1]))
    assert any("four-fifths" in f for f in sex["flags"])
    assert any("not a model input" in n for n in who["notes"])


def test_a_dropped_column_without_the_table_is_unavailable_and_the_target_is_refused(run):
    recipe = run.recipe.copy()
    recipe.sensitive = ["who", "survived"]
    who, target = fairness_for(run, recipe)
    assert who["available"] is False and "training table was not given" in who["notes"][0]
    assert target["available"] is False and "is the target" in target["notes"][0]


def test_the_brief_metric_is_scored_when_it_fits_the_task(run, titanic):
    recipe = run.recipe.copy()
    recipe.sensitive = ["sex"]
    recipe.brief = Brief(bar_metric="recall", bar_value=0.7)
    table = fairness_for(run, recipe, frame=titanic)[0]
    assert table["metric"] == "recall"
    assert by_group(table)["male"]["metric"] == pytest.approx(by_group(table)["male"]["tpr"])
    recipe.brief = Brief(bar_metric="rmse", bar_value=1.0)  # not a classification metric
    assert fairness_for(run, recipe, frame=titanic)[0]["metric"] == "roc_auc"


def test_a_bundle_on_a_labelled_file_gives_the_runs_own_table(run, titanic):
    card = model_card(run)
    labelled = titanic.loc[run.X_test.index].reset_index(drop=True)
    labelled.loc[0, "survived"] = None  # an unlabelled row is left out
    predictions, _ = predict_table(run.pipeline, card, labelled)
    from_bundle = group_table(predictions, card, labelled, "sex")
    y = run.y_test.copy()
    keep = np.arange(len(y)) != 0
    from_run = fairness_table(y.to_numpy()[keep], run.pipeline.predict(run.X_test)[keep],
                              group_labels(labelled["sex"][keep].reset_index(drop=True))[0],
                              task="binary", metric="roc_auc", classes=[0, 1],
                              scores=run.pipeline.predict_proba(run.X_test)[keep],
                              positive_label=1, threshold=0.5)
    json.dumps(from_bundle, allow_nan=False)
    assert from_bundle["groups"] == from_run["groups"]
    assert from_bundle["flags"] == from_run["flags"] and from_bundle["rows"] == len(labelled) - 1


def test_the_cli_table_refuses_what_it_cannot_compare(run, titanic):
    card = model_card(run)
    predictions, _ = predict_table(run.pipeline, card, titanic)
    with pytest.raises(TabwrightError, match="no group column 'gender'"):
        group_table(predictions, card, titanic, "gender")
    with pytest.raises(TabwrightError, match="one prediction per row"):
        group_table(predictions.head(5), card, titanic, "sex")
    with pytest.raises(TabwrightError, match="Every value of the target"):
        group_table(predictions, card, titanic.assign(survived=None), "sex")


def test_marking_sensitive_columns_is_validated_recipe_data(run, titanic):
    marked = mark_sensitive(run.recipe, ["sex", "who"], available=list(titanic.columns))
    assert marked.sensitive == ["sex", "who"] and run.recipe.sensitive == []
    assert Recipe.from_json(marked.to_json()) == marked
    with pytest.raises(TabwrightError) as info:
        mark_sensitive(run.recipe, ["sx"], available=list(titanic.columns))
    assert "sensitive column 'sx' is not a column" in info.value.message and "'sex'" in info.value.hint
    with pytest.raises(TabwrightError, match="cannot be a sensitive column"):
        mark_sensitive(run.recipe, ["survived"], available=list(titanic.columns))


def test_the_report_gets_costs_and_fairness_or_nothing(run, titanic):
    assert decisions_report(run, run.recipe) is None
    recipe = run.recipe.copy()
    recipe.sensitive = ["sex"]
    recipe.imbalance.costs = Costs(fp_cost=1, fn_cost=5)
    report = decisions_report(run, recipe, frame=titanic)
    json.dumps(report, allow_nan=False)
    assert report["costs"]["costs"] == {"fp_cost": 1, "fn_cost": 5, "tp_gain": 0.0}
    assert [t["column"] for t in report["fairness"]] == ["sex"]
    shown = group_rows_table(report["fairness"][0])
    assert list(shown.columns) == ["group", "rows", "base rate", "selection rate", "TPR", "FPR",
                                   "precision", "ROC-AUC", "note"]
    assert shown["group"].iloc[-1] == "all rows"


def test_the_fairness_figure_draws_each_rate_with_its_interval():
    table = binary_table({"north": (30, 10, 20, 40), "south": (12, 3, 8, 37)})
    fig = fairness_figure(table)
    bars = {t.name: t for t in fig.data}
    assert set(bars) == {"selection rate", "true positive rate", "false positive rate"}
    tpr = bars["true positive rate"]
    assert list(tpr.x) == ["north", "south"] and tpr.y[0] == pytest.approx(0.6)
    low, high = wilson(30, 50)
    assert tpr.error_y.array[0] == pytest.approx(high - 0.6)
    assert tpr.error_y.arrayminus[0] == pytest.approx(0.6 - low)
    assert fairness_figure({"column": "x", "available": False, "notes": []}) is None
