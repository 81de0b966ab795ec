"""Tests for core.monitor.figures: the report's charts over time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.monitor._windows import monitor_report
from core.monitor.figures import (
    PREDICTIONS_ROW,
    drift_over_time_figure,
    latency_figure,
    performance_figure,
    traffic_figure,
)
from tests.monitor.synthetic import NOW, make_card, make_feedback, make_log

LATE = NOW - pd.Timedelta(minutes=1)


def _report(**log_options):
    log, truth = make_log(days=4, **log_options)
    card = make_card(bar=("accuracy", 0.7), max_latency_ms=40)
    return monitor_report(log, make_feedback(log, truth, slice(0, 800)), card, now=LATE)


def test_traffic_and_latency_follow_the_windows():
    report = _report(slow_days=(3,))
    traffic = traffic_figure(report)
    assert list(traffic.data[0].y) == report.windows["rows"].tolist()
    assert len(traffic.data) == 1  # one row per request: no separate requests line
    latency = latency_figure(report)
    assert [t.name for t in latency.data] == ["p50", "p95", "p99"]
    assert list(latency.data[2].y) == report.windows["latency_p99"].tolist()
    assert latency.layout.shapes[0].y0 == 40 and latency.layout.shapes[0].line.dash == "dash"


def test_drift_heat_map_puts_the_most_drifted_feature_first_and_predictions_last():
    report = _report(shift_days=(2,))
    fig = drift_over_time_figure(report)
    heat = fig.data[0]
    assert list(heat.y)[0] == "x" and list(heat.y)[-1] == PREDICTIONS_ROW
    x_psi = report.drift[report.drift["feature"] == "x"]["psi"].to_numpy()
    assert np.allclose(np.asarray(heat.customdata[0], dtype=float), x_psi)
    assert np.asarray(heat.customdata[0], dtype=float).argmax() == 2


def test_windows_with_too_few_rows_are_blank_in_the_heat_map():
    log, _ = make_log(days=3, shift_days=(2,))
    log = log.iloc[:-350]  # the last day keeps 50 rows
    report = monitor_report(log, None, make_card(), now=LATE)
    psi = np.asarray(drift_over_time_figure(report).data[0].customdata, dtype=float)
    assert np.isnan(psi[:, 2]).all() and not np.isnan(psi[:, :2]).any()


def test_performance_shows_measured_estimated_band_and_bar():
    report = _report()
    fig = performance_figure(report)
    names = [t.name for t in fig.data]
    assert "measured on outcomes" in names and "estimated (no outcomes needed)" in names
    measured = next(t for t in fig.data if t.name == "measured on outcomes")
    assert list(measured.y)[:2] == report.windows["actual_accuracy"].tolist()[:2]
    band = next(t for t in fig.data if t.name == "95% interval")
    assert band.fill == "tonexty"
    assert fig.layout.shapes[0].y0 == 0.7  # the bar, dashed
    assert "Accuracy" in fig.layout.title.text
    assert performance_figure(report, "roc_auc").layout.shapes == ()  # no bar for ROC-AUC


def test_feature_names_are_data_not_markup():
    log, _ = make_log(days=2, shift_days=(1,))
    log = log.rename(columns={"input:x": "input:<b>x</b>"})
    card = make_card()
    card["baseline"]["features"]["<b>x</b>"] = card["baseline"]["features"].pop("x")
    fig = drift_over_time_figure(monitor_report(log, None, card, now=LATE))
    assert "<b>x</b>" in list(fig.data[0].y)


def test_nothing_to_draw_gives_none():
    empty = monitor_report(None, None, make_card(), now=NOW)
    for draw in (traffic_figure, latency_figure, drift_over_time_figure, performance_figure):
        assert draw(empty) is None
    log, _ = make_log("regression", days=2)
    no_labels = monitor_report(log, None, make_card("regression"), now=LATE)
    assert performance_figure(no_labels) is None  # nothing measured, and nothing to estimate
    assert traffic_figure(no_labels) is not None
