"""Tests for core.evaluate._summary: an evaluation in words and tables."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from core.evaluate import (
    cluster_profile_table,
    confusion_cell_caption,
    confusion_cell_defaults,
    score_cards,
    worst_errors_table,
)
from core.evaluate._heldout import CELL_ROWS
from core.metrics import METRICS, card_metrics


def _result(task, metric, evaluation, *, threshold=None, n_test=100):
    return SimpleNamespace(task=task, metric=metric, evaluation=evaluation, threshold=threshold,
                           n_test=n_test)


def test_score_cards_put_the_optimised_metric_first_with_a_star_and_its_help():
    scores = {name: 0.81234 for name in card_metrics("binary")}
    ev = {"metrics": scores, "n_test": 179, "threshold": 0.5, "positive_label": 1,
          "baseline": {"majority_class": 0, "accuracy": 0.6145}, "notes": ["A note."]}
    cards = score_cards(_result("binary", "recall", ev))
    assert cards["title"] == "Scores on the test set"
    first = cards["cards"][0]
    assert first["label"] == METRICS["recall"].card_label + " ★" and first["value"] == "0.8123"
    assert first["help"] == METRICS["recall"].help
    assert first["caption"] == METRICS["recall"].help.split(". ")[0].rstrip(".") + "."
    assert sum("★" in c["label"] for c in cards["cards"]) == 1
    assert cards["footnote"] == ("★ the metric you optimise · 179 test rows · always predicting 0 "
                                 "would score accuracy 0.615 · decision threshold 0.500 (the "
                                 "default), positive class 1")
    assert cards["notes"] == ["A note."]
    tuned = score_cards(_result("binary", "recall", {**ev, "threshold": 0.31}, threshold=0.31))
    assert "decision threshold 0.310 (tuned on validation folds)" in tuned["footnote"]


def test_score_values_read_naturally_for_errors_percentages_and_missing_scores():
    ev = {"metrics": {"rmse": 12345.6, "mae": 23.456, "r2": None, "mape": 0.1234}}
    cards = {c["label"]: c["value"] for c in score_cards(_result("regression", "rmse", ev))["cards"]}
    assert cards == {"RMSE ★": "12,346", "MAE": "23.46", "R²": "n/a", "MAPE": "12.3%"}


def test_clustering_cards_count_clusters_on_the_training_sample():
    ev = {"metrics": {"silhouette": 0.5}, "n_clusters": 3}
    cards = score_cards(_result("clustering", "silhouette", ev))
    assert cards["title"] == "Scores on the training sample"
    assert cards["footnote"] == "★ the metric you optimise · 3 clusters"


def test_cluster_profiles_show_means_and_most_common_values_per_cluster():
    values = {"age": {"kind": "numeric", "mean": 3.5},
              "city": {"kind": "categorical", "top": "Oslo", "top_share": 0.5}}
    ev = {"profiles": [{"cluster": 0, "size": 1200, "values": values},
                       {"cluster": -1, "size": 3, "values": values}],
          "overall": {"age": {"kind": "numeric", "mean": 40.0},
                      "city": {"kind": "categorical", "top": "Rome", "top_share": None}}}
    table = cluster_profile_table(ev)
    assert list(table.columns) == ["cluster 0 (1,200)", "noise", "all rows"]
    assert table.loc["age"].tolist() == ["3.5000", "3.5000", "40.00"]
    assert table.loc["city"].tolist() == ["Oslo (50%)", "Oslo (50%)", "Rome"]
    assert cluster_profile_table({"profiles": []}) is None


def test_worst_errors_become_one_table_indexed_by_the_test_row():
    errors = {"worst": [{"index": 17, "true": 1, "predicted": 0, "probability": 0.02,
                         "values": {"age": 30, "sex": "male"}}]}
    table = worst_errors_table(errors, "binary")
    assert list(table.index) == [17]
    assert table.loc[17].to_dict() == {"true": 1, "predicted": 0, "probability": 0.02,
                                       "age": 30, "sex": "male"}
    assert worst_errors_table(errors, "regression") is None
    assert worst_errors_table({"worst": []}, "binary") is None


def test_the_cell_shown_is_the_clicked_one_else_the_positives_predicted_wrongly():
    labels = ["a", "b", "c"]
    assert confusion_cell_defaults(labels, clicked=("c", "a")) == (2, 0, True)
    assert confusion_cell_defaults(labels, clicked=("z", "a"), positive_label="c") == (2, 0, False)
    assert confusion_cell_defaults(labels, clicked=None) == (0, 1, False)


@pytest.mark.parametrize("rows, true, predicted, expected", [
    (0, 1, 1, "0 test row(s) truly 1 and predicted 1 (correct)."),
    (1234, "yes", "no", "1,234 test row(s) truly yes and predicted no (mistakes)."),
    (CELL_ROWS, "yes", "no",
     f"{CELL_ROWS} test row(s) truly yes and predicted no (mistakes) — the first {CELL_ROWS} shown."),
])
def test_the_cell_caption_counts_rows_and_says_when_only_the_first_are_shown(
        rows, true, predicted, expected):
    assert confusion_cell_caption(rows, true, predicted) == expected


def test_the_worst_errors_table_keeps_every_value_column():
    errors = {"largest_errors": [{"index": i, "actual": 1.0, "predicted": 2.0, "residual": -1.0,
                                  "values": {"x": i}} for i in range(3)]}
    table = worst_errors_table(errors, "regression")
    pd.testing.assert_index_equal(table.index, pd.Index([0, 1, 2], name="index"))
    assert list(table.columns) == ["actual", "predicted", "residual", "x"]
