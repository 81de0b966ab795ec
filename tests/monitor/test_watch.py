"""Monitoring from a model card: the project's log read back, outcomes files, --since."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.deliver._log import PredictionLog
from core.errors import TabwrightError
from core.monitor._watch import (
    add_outcomes,
    monitor_card,
    outcome_columns,
    parse_since,
    read_card,
)
from tests.monitor.synthetic import inputs, make_card, probabilities

NOW = pd.Timestamp("2026-12-03 12:00", tz="UTC")


@pytest.mark.parametrize(("text", "expected"), [
    ("24h", NOW - pd.Timedelta(hours=24)), ("7d", NOW - pd.Timedelta(days=7)),
    ("2w", NOW - pd.Timedelta(weeks=2)), (" 1.5 days ", NOW - pd.Timedelta(days=1.5)),
    ("2026-11-01", pd.Timestamp("2026-11-01", tz="UTC")),
    ("2026-11-01T06:00+02:00", pd.Timestamp("2026-11-01 04:00", tz="UTC")),
    (None, None), ("", None),
])
def test_since_is_a_duration_back_or_a_moment_in_utc(text, expected):
    assert parse_since(text, now=NOW) == expected


def test_a_since_that_is_neither_says_what_it_takes():
    with pytest.raises(TabwrightError, match="--since must be a duration such as 7d"):
        parse_since("last tuesday", now=NOW)


def test_the_card_is_read_from_a_bundle_folder_or_refused_in_words(tmp_path):
    with pytest.raises(TabwrightError, match="No model card"):
        read_card(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(TabwrightError, match="cannot be read"):
        read_card(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"task": "binary", "run_id": "r"}))
    assert read_card(tmp_path)["run_id"] == "r"
    assert read_card(tmp_path / "model.joblib")["task"] == "binary"


def test_outcome_columns_take_the_usual_names_or_the_named_ones():
    card = {"target": "churned"}
    frame = pd.DataFrame({"request_id": ["a"], "churned": [1], "actual": [0]})
    assert outcome_columns(frame, card) == ("request_id", "churned")  # the target comes first
    assert outcome_columns(frame, card, actual_column="actual") == ("request_id", "actual")
    with pytest.raises(TabwrightError, match="no column 'label'"):
        outcome_columns(frame, card, actual_column="label")
    with pytest.raises(TabwrightError, match="no column for the prediction ids"):
        outcome_columns(pd.DataFrame({"x": [1]}), card)


def test_a_logged_batch_and_its_outcomes_become_a_measured_report(tmp_path):
    card = make_card("binary") | {"project": "shop", "run_id": "run-1"}
    rng = np.random.default_rng(3)
    X = inputs(600, rng)
    proba = probabilities("binary", X)
    predictions = np.where(proba[:, 1] >= 0.5, "yes", "no")
    clock = (NOW - pd.Timedelta(hours=3)).timestamp()
    with PredictionLog.for_card(card, workspace=tmp_path, background=False, clock=lambda: clock) as log:
        ids = log.record_frame(run_id="run-1", frame=X, predictions=predictions, proba=proba,
                               classes=["no", "yes"], latency_ms=4.0)
    report = monitor_card(card, window="hour", since="1d", now=NOW, workspace=tmp_path)
    assert int(report.windows["rows"].sum()) == 600
    assert report.assessed["estimate"] is not None and report.assessed["performance"] is None
    truth = np.where(rng.uniform(size=600) < proba[:, 1], "yes", "no")
    counts = add_outcomes(card, pd.DataFrame({"id": ids, "y": truth}), workspace=tmp_path)
    assert (counts["accepted"], counts["id_column"], counts["actual_column"]) == (600, "id", "y")
    again = add_outcomes(card, pd.DataFrame({"id": ids[:5] + ["nope"], "y": truth[:6]}),
                         workspace=tmp_path)
    assert (again["accepted"], again["duplicate"], again["unknown"]) == (0, 5, 1)
    measured = monitor_card(card, window="hour", since="1d", now=NOW, workspace=tmp_path)
    assert measured.assessed["performance"]["labelled"] == 600
    assert measured.assessed["performance"]["value"] == pytest.approx(
        (predictions == truth).mean() if measured.assessed["performance"]["metric"] == "accuracy"
        else measured.assessed["performance"]["value"])
