"""The Monitor page: a recorded run's prediction log read back as a verdict, numbers and charts,
and outcomes uploaded as feedback."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from core.deliver._history import RunStore
from core.deliver._log import PredictionLog
from core.deliver._predict import predict_table
from tests.pages.conftest import plain
from tests.pages.helpers_late import (  # noqa: F401 — workspace is a fixture
    OWNER,
    TITANIC,
    open_page,
    texts,
    trained_project,
    workspace,
)


def _logged(project, rows: pd.DataFrame, *, now: float) -> tuple[dict, list[str]]:
    """Predict ``rows`` with the project's run and log them as ``tabwright predict --log`` does."""
    model, card = RunStore().load_model(project.run_id, owner=OWNER)
    predictions, _ = predict_table(model, card, rows)
    proba = predictions[[c for c in predictions.columns if c.startswith("proba_")]].to_numpy()
    log = PredictionLog.for_card(card, background=False, clock=lambda: now)
    try:
        ids = log.record_frame(run_id=card["run_id"], frame=rows.drop(columns=["survived"]),
                               predictions=predictions["prediction"].to_numpy(), proba=proba,
                               classes=card["classes"], latency_ms=3.0)
    finally:
        log.close()
    return card, ids


def test_nothing_logged_yet_says_how_to_log(workspace):
    trained_project(record=True)
    at = open_page("monitor", trained_project())
    page = plain(texts(at))
    assert "🏆" not in page
    assert "No predictions" in page or "no predictions" in page.lower()
    assert "Watch: No predictions logged yet" in page and "Watch. Watch" not in page
    assert not at.exception


def test_logged_predictions_and_uploaded_outcomes_become_a_measured_verdict(workspace):
    project = trained_project(record=True)
    rows = pd.read_csv(TITANIC).head(400)
    card, ids = _logged(project, rows, now=pd.Timestamp.now(tz="UTC").timestamp() - 3600)
    at = open_page("monitor", project)
    assert not at.exception, [e.value for e in at.exception]
    page = plain(texts(at))
    assert any(m.label == "Predictions" and m.value == "400" for m in at.metric)
    assert "(estimated)" in " ".join(m.label for m in at.metric)  # no outcomes yet: estimated
    assert len(at.tabs) == 3 and "Drift" in at.tabs[1].label

    outcomes = pd.DataFrame({"id": ids, "survived": rows["survived"].to_numpy()})
    outcomes.loc[len(outcomes)] = ["no-such-id", 1]
    buffer = io.StringIO()
    outcomes.to_csv(buffer, index=False)
    at.file_uploader(key="monitor_outcomes").upload("outcomes.csv", buffer.getvalue().encode(),
                                                   "text/csv")
    at.run()
    assert at.selectbox(key="monitor_id_column").value == "id"
    assert at.selectbox(key="monitor_actual_column").value == "survived"
    at.button(key="monitor_add_outcomes").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "400 of 401 outcomes added." in plain(texts(at))
    assert "no-such-id" in plain(texts(at))
    at.run()
    measured = [m for m in at.metric if m.label.endswith("(measured)")]
    accuracy = (rows["survived"].to_numpy() == np.asarray(
        predict_table(*RunStore().load_model(project.run_id, owner=OWNER), rows)[0]["prediction"])).mean()
    assert measured, [m.label for m in at.metric]
    assert page  # the first render had text
    assert 0.5 < accuracy <= 1
