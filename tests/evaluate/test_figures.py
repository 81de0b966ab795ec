"""Figures are drawn from core's JSON-safe results, and say None when they do not apply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from core.deliver import drift_figure
from core.deliver._drift import PSI_DRIFT, PSI_WATCH
from core.evaluate import figures
from core.evaluate._heldout import (
    evaluate_classifier,
    evaluate_clustering,
    evaluate_regressor,
    rows_for_confusion_cell,
)


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "c"], size=n)})


def _pipe(model) -> Pipeline:
    prep = ColumnTransformer([("num", StandardScaler(), ["x"]),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])])
    return Pipeline([("prep", prep), ("model", model)])


@pytest.fixture(scope="module")
def binary():
    X = _frame()
    y = pd.Series(np.where(X["x"] + (X["c"] == "a") > 0.3, "yes", "no"))
    pipe = _pipe(LogisticRegression()).fit(X, y)
    return pipe, X, y, evaluate_classifier(pipe, X, y)


@pytest.fixture(scope="module")
def multiclass():
    X = _frame()
    y = pd.Series(np.select([X["x"] < -0.5, X["x"] > 0.5], [0, 2], 1))
    pipe = _pipe(LogisticRegression()).fit(X, y)
    return evaluate_classifier(pipe, X, y)


@pytest.fixture(scope="module")
def regression():
    X = _frame()
    y = pd.Series(3 * X["x"] + np.random.default_rng(1).normal(size=len(X)))
    return evaluate_regressor(_pipe(LinearRegression()).fit(X, y), X, y)


@pytest.fixture(scope="module")
def clustering():
    X = _frame()
    return evaluate_clustering(_pipe(KMeans(3, n_init=2, random_state=0)).fit(X), X)


def test_confusion_matrix_cells_carry_true_and_predicted_labels(binary):
    pipe, X, y, ev = binary
    fig = figures.confusion_matrix_figure(ev)
    heat = fig.data[0]
    assert list(heat.x) == ["no", "yes"] and list(heat.y) == ["no", "yes"]
    assert fig.layout.xaxis.title.text == "Predicted" and fig.layout.yaxis.title.text == "True"
    counts = ev["confusion_matrix"]["counts"]
    for i, true in enumerate(ev["classes"]):
        for j, predicted in enumerate(ev["classes"]):
            assert list(heat.customdata[i][j]) == [true, predicted]
            assert heat.text[i][j] == f"{counts[i][j]:,}"
            # A click gives exactly the arguments that list that cell's rows.
            rows = rows_for_confusion_cell(pipe, X, y, true_label=true, predicted_label=predicted)
            assert len(rows) == counts[i][j]


def test_a_clickable_confusion_matrix_has_one_invisible_target_per_cell(binary):
    ev = binary[3]
    plain = figures.confusion_matrix_figure(ev)
    fig = figures.confusion_matrix_figure(ev, clickable=True)
    assert len(plain.data) == 1 and plain.layout.clickmode is None
    targets = fig.data[1]
    assert list(zip(targets.x, targets.y)) == [("no", "no"), ("yes", "no"), ("no", "yes"),
                                               ("yes", "yes")]
    assert [list(c) for c in targets.customdata] == [[t, p] for t in ev["classes"]
                                                      for p in ev["classes"]]
    assert targets.marker.color == "rgba(0,0,0,0)"
    assert fig.layout.clickmode == "event+select" and fig.layout.dragmode is False


def test_normalized_confusion_matrix_colours_by_row_share(binary):
    ev = binary[3]
    fig = figures.confusion_matrix_figure(ev, normalized=True)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.allclose(z.sum(axis=1), 1.0)
    assert "%" in fig.data[0].text[0][0]


def test_binary_curves_have_one_trace_per_curve_plus_reference(binary):
    ev = binary[3]
    roc = figures.roc_figure(ev)
    assert [t.name for t in roc.data] == ["guessing", f"AUC {ev['roc_curve']['auc']:.3f}"]
    assert list(roc.data[1].x) == ev["roc_curve"]["fpr"]
    pr = figures.pr_figure(ev)
    assert list(pr.data[0].y) == ev["pr_curve"]["precision"]
    cal = figures.calibration_figure(ev)
    assert list(cal.data[1].y) == ev["calibration"]["prob_true"]


def test_multiclass_curves_are_one_vs_rest(multiclass):
    roc = figures.roc_figure(multiclass)
    names = [t.name for t in roc.data[1:]]
    assert len(names) == 3 and all(n.startswith(("0:", "1:", "2:")) for n in names)
    assert len(figures.pr_figure(multiclass).data) == 3
    assert figures.calibration_figure(multiclass) is None  # binary only


def test_regression_figures_and_not_applicable_ones(regression, binary, clustering):
    res = figures.residuals_figure(regression)
    assert list(res.data[0].y) == regression["residuals"]["residual"]
    pva = figures.predicted_vs_actual_figure(regression)
    assert list(pva.data[1].x) == regression["residuals"]["actual"]
    for fn in (figures.roc_figure, figures.pr_figure, figures.calibration_figure,
               figures.confusion_matrix_figure, figures.cluster_sizes_figure):
        assert fn(regression) is None
    assert figures.residuals_figure(binary[3]) is None
    assert figures.residuals_figure(clustering) is None


def test_cluster_sizes(clustering):
    fig = figures.cluster_sizes_figure(clustering)
    assert sum(fig.data[0].y) == 300
    assert list(fig.data[0].x) == [f"cluster {s['cluster']}" for s in clustering["cluster_sizes"]]


def test_leaderboard_best_on_top_with_error_bars_and_failed_rows_left_out():
    board = [
        {"model": "lr", "label": "Logistic regression", "status": "ok", "roc_auc": 0.9, "roc_auc_std": 0.02, "fit_seconds": 0.1},
        {"model": "lr", "label": "Logistic regression", "status": "ok", "roc_auc": 0.8, "roc_auc_std": 0.05, "fit_seconds": 0.1},
        {"model": "svm", "label": "SVM", "status": "failed", "roc_auc": None, "roc_auc_std": None, "fit_seconds": 0},
    ]
    fig = figures.leaderboard_chart(board, "roc_auc")
    bar = fig.data[0]
    assert list(bar.x) == [0.9, 0.8]
    assert list(bar.y) == ["1. Logistic regression", "2. Logistic regression"]  # duplicates kept apart
    assert list(bar.error_x.array) == [0.02, 0.05]
    assert fig.layout.yaxis.autorange == "reversed"  # first row (the best) drawn on top
    assert figures.leaderboard_chart(board[2:], "roc_auc") is None


def test_learning_curve_importance_and_drift():
    lc = {"train_sizes": [10, 20, 40], "train_mean": [0.9, 0.88, 0.86], "train_std": [0.01] * 3,
          "valid_mean": [0.7, 0.75, 0.8], "valid_std": [0.05] * 3, "scoring": "accuracy"}
    fig = figures.learning_curve_figure(lc)
    assert [t.name for t in fig.data if t.showlegend is not False] == ["training", "validation"]
    assert figures.learning_curve_figure({}) is None

    imp = figures.importance_figure([{"feature": "a", "importance_mean": 0.2, "importance_std": 0.01},
                                     {"feature": "b", "importance_mean": -0.01, "importance_std": 0.0}])
    assert list(imp.data[0].y) == ["a", "b"]
    assert figures.importance_figure([]) is None

    drift = {"features": [{"feature": "f1", "psi": 0.05, "status": "stable"},
                          {"feature": "f2", "psi": 0.4, "status": "drift"},
                          {"feature": "gone", "psi": None, "status": "missing"}]}
    fig = drift_figure(drift)
    assert list(fig.data[0].y) == ["f2", "f1"]  # largest PSI on top, missing left out
    assert sorted(s.x0 for s in fig.layout.shapes) == [PSI_WATCH, PSI_DRIFT]
    assert drift_figure({"features": []}) is None


def test_hostile_labels_stay_data_and_cannot_end_a_script(binary):
    pipe, X, y, _ = binary
    hostile = "</script><script>alert(1)</script>"
    y2 = y.map({"yes": hostile, "no": "<img src=x onerror=alert(1)>"})
    fig = figures.confusion_matrix_figure(evaluate_classifier(pipe.fit(X, y2), X, y2))
    assert hostile in fig.data[0].x
    html = fig.to_html(full_html=False, include_plotlyjs=False)
    assert "</script><script>alert" not in html and "<img" not in html
    assert isinstance(fig, go.Figure) and json.loads(fig.to_json())
