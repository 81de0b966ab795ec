"""Tests for core.monitor._windows: the monitoring report over time windows, and its verdict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.deliver import model_card, predict_table
from core.errors import TabwrightError
from core.metrics import score
from core.monitor._windows import MonitorReport, Thresholds, monitor_report
from core.recipe import ModelChoice, Recipe
from core.train._runner import train
from tests.monitor.synthetic import (
    NOW,
    ROLES,
    inputs,
    make_card,
    make_feedback,
    make_log,
    outcomes,
)


def _reasons(report: MonitorReport) -> dict[str, dict[str, str]]:
    return {r["check"]: r for r in report.reasons}


def _json(report: MonitorReport) -> dict:
    return json.loads(json.dumps(report.to_dict(), allow_nan=False))


# --------------------------------------------------------------------------- windows and traffic


def test_one_row_per_day_from_the_first_prediction_to_now():
    log, _ = make_log(days=10, per_day=150)
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(milliseconds=1))
    w = report.windows
    assert len(w) == 10
    assert w["start"].iloc[0] == NOW - pd.Timedelta(days=10)
    assert (w["end"] - w["start"] == pd.Timedelta(days=1)).all()
    assert w["rows"].tolist() == [150] * 10 and w["requests"].tolist() == [150] * 10
    day = log["latency_ms"].to_numpy()[:150]
    assert w[["latency_p50", "latency_p95", "latency_p99"]].iloc[0].tolist() == pytest.approx(
        np.percentile(day, [50, 95, 99]))


def test_hours_and_weeks_and_rows_after_now_and_before_since():
    log, _ = make_log(days=14, per_day=120)
    hours = monitor_report(log, None, make_card(), window="hour", since=NOW - pd.Timedelta(days=2),
                           now=NOW - pd.Timedelta(hours=1))
    assert len(hours.windows) == 48 and hours.windows["rows"].sum() == int(
        ((log["time"] >= NOW - pd.Timedelta(days=2)) & (log["time"] <= NOW - pd.Timedelta(hours=1))
         ).sum())
    weeks = monitor_report(log, None, make_card(), window="week", now=NOW)
    assert all(s.dayofweek == 0 for s in weeks.windows["start"])  # weeks start on Monday
    assert weeks.windows["rows"].sum() == len(log)
    last_days = monitor_report(log, None, make_card(), since=pd.Timedelta(days=3), now=NOW)
    assert last_days.since == NOW - pd.Timedelta(days=3)
    assert last_days.windows["rows"].tolist() == [120, 120, 120, 0]


def test_requests_of_several_rows_count_once_for_requests_and_latency():
    log, _ = make_log(days=1, per_day=300)
    log["request_id"] = [f"batch-{i // 3}.{i % 3}" for i in range(300)]  # as the store names them
    log["time"] = log["time"].iloc[::3].repeat(3).to_numpy()
    log["latency_ms"] = np.repeat(np.arange(100, dtype=float), 3)
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(seconds=1))
    row = report.windows.iloc[0]
    assert (row["rows"], row["requests"]) == (300, 100)
    assert row["latency_p50"] == pytest.approx(np.percentile(np.arange(100), 50))


def test_empty_log_is_a_clear_watch_not_a_crash():
    for log in (None, pd.DataFrame(), make_log(days=1)[0].iloc[:0]):
        report = monitor_report(log, None, make_card(), now=NOW)
        assert report.verdict == "watch"
        assert report.reasons[0]["what"] == "No predictions logged yet"
        assert report.summary == "Watch: No predictions logged yet."
        assert len(report.windows) == 0 and len(report.drift) == 0
        assert _json(report)["verdict"] == "watch"
    with_since = monitor_report(None, None, make_card(), since=NOW - pd.Timedelta(days=3), now=NOW)
    assert with_since.windows["rows"].tolist() == [0, 0, 0, 0]


def test_predictions_of_other_runs_only_are_no_traffic_for_this_model():
    log, _ = make_log(days=2)
    log["run_id"] = "run-0"
    report = monitor_report(log, None, make_card(), now=NOW)
    assert report.verdict == "watch" and "800 predictions" in report.reasons[0]["why"]
    assert any("800 predictions from other runs" in n for n in report.notes)


def test_silence_longer_than_two_windows_is_watched():
    log, _ = make_log(days=5)
    report = monitor_report(log, None, make_card(), now=NOW + pd.Timedelta(days=3))
    assert _reasons(report)["traffic"]["what"].startswith("No predictions since")
    assert report.verdict == "watch"
    assert "traffic" not in _reasons(monitor_report(log, None, make_card(), now=NOW))


# --------------------------------------------------------------------------- drift


def test_a_shifted_feature_shows_as_drift_in_its_window_only():
    log, _ = make_log(days=10, shift_days=(6,))
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    x = report.drift[report.drift["feature"] == "x"].reset_index(drop=True)
    assert x.loc[6, "psi"] >= 0.25 and x.loc[6, "status"] == "drift"
    assert (x.drop(index=6)["psi"] < 0.1).all()
    others = report.drift[report.drift["feature"] != "x"]
    assert (others["psi"] < 0.1).all()
    assert report.windows["drifted"].tolist() == [0] * 6 + [1] + [0] * 3
    assert report.windows["prediction_psi"].iloc[6] >= 0.1  # the predictions moved with x
    features = report.features.set_index("feature")
    assert features.loc["x", "max_psi_start"] == NOW - pd.Timedelta(days=4)
    # The verdict reads the latest window, where x is back to normal.
    assert report.verdict == "healthy" and features.loc["x", "status"] == "stable"


def test_strong_drift_in_enough_features_is_act_and_in_fewer_is_watch():
    log, _ = make_log(days=5, shift_days=(4,))
    now = NOW - pd.Timedelta(minutes=1)
    report = monitor_report(log, None, make_card(), now=now)
    drift = _reasons(report)["drift"]
    assert report.verdict == "act" and drift["level"] == "act"  # 1 of 3 features: 33% ≥ 30%
    assert "'x' (PSI" in drift["why"] and "tabwright retrain" in drift["action"]
    assert drift["what"] and drift["why"].startswith("On 10 Mar 2024")
    lenient = monitor_report(log, None, make_card(), now=now,
                             thresholds=Thresholds(drifted_share_act=0.5))
    assert lenient.verdict == "watch" and _reasons(lenient)["drift"]["level"] == "watch"
    shift = _reasons(lenient)["prediction_drift"]
    assert shift["level"] == "watch" and "'yes' is predicted for 9" in shift["why"]


def test_a_moderate_shift_is_watched():
    log, _ = make_log(days=3, shift_days=(2,), shift=0.35, per_day=3000)
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    psi = report.features.set_index("feature").loc["x", "psi"]
    assert 0.1 <= psi < 0.25
    assert _reasons(report)["drift"]["level"] == "watch" and report.verdict == "watch"


def test_more_missing_values_than_in_training_is_watched():
    log, _ = make_log(days=2)
    log.loc[log.index[-400:-100], "input:z"] = np.nan
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    missing = _reasons(report)["missing_values"]
    assert "'z' (75% missing" in missing["why"]
    assert report.features.set_index("feature").loc["z", "missing"] == pytest.approx(0.75)


def test_rows_logged_without_inputs_are_not_counted_as_missing_values():
    log, _ = make_log(days=2)
    hashed = log.index[-200:]
    log.loc[hashed, ["input:x", "input:z", "input:colour"]] = np.nan
    log.attrs["inputs"] = ["full", "hash"]
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    last = report.drift[report.drift["start"] == NOW - pd.Timedelta(days=1)]
    assert last["values"].tolist() == [200, 200, 200] and (last["missing"] == 0).all()
    assert "missing_values" not in _reasons(report)


def test_inputs_not_logged_are_said_and_not_judged():
    log, _ = make_log(days=2, shift_days=(1,))
    log = log.drop(columns=["input:x", "input:z", "input:colour"])
    log.attrs["inputs"] = ["hash"]
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    assert any("not logged in full (logging: hash)" in n for n in report.notes)
    assert "drift" not in _reasons(report) and "prediction_drift" in _reasons(report)
    assert (report.features["status"] == "not logged").all() and len(report.drift) == 0


def test_few_rows_are_read_over_the_whole_period():
    log, _ = make_log(days=5, per_day=30, shift_days=(0, 1, 2, 3, 4))
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    assert report.assessed["drift"]["start"] is None and report.assessed["drift"]["rows"] == 150
    assert _reasons(report)["drift"]["why"].startswith("Over the whole period")
    tiny = monitor_report(log.iloc[-40:], None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    assert tiny.assessed["drift"] is None and tiny.verdict == "healthy"
    assert any(n.startswith("Only 40 predictions so far") for n in tiny.notes)


# --------------------------------------------------------------------------- performance


def test_outcomes_that_came_back_give_measured_performance_per_window():
    log, truth = make_log(days=10)
    feedback = make_feedback(log, truth, slice(0, 2400))  # the first six days
    report = monitor_report(log, feedback, make_card(), now=NOW - pd.Timedelta(minutes=1))
    w = report.windows
    assert w["labelled"].tolist() == [400] * 6 + [0] * 4
    classes = np.array(["no", "yes"], dtype=object)
    for day in range(6):
        rows = slice(400 * day, 400 * (day + 1))
        proba = log[["proba:no", "proba:yes"]].to_numpy()[rows]
        y = np.searchsorted(classes, truth[rows])
        for m in ("accuracy", "roc_auc"):
            expected = score(m, y, proba, task="binary", classes=np.arange(2))
            assert w[f"actual_{m}"].iloc[day] == pytest.approx(expected)
    assert w["actual_accuracy"].iloc[6:].isna().all()
    measured = report.assessed["performance"]
    assert measured["start"] == NOW - pd.Timedelta(days=5) and measured["labelled"] == 400
    assert measured["metric"] == "roc_auc"  # the card's metric
    # Windows without outcomes are estimated; the verdict reads the latest window's estimate.
    assert w["estimated_accuracy"].notna().all()
    assert report.assessed["estimate"]["start"] == NOW - pd.Timedelta(days=1)


def test_measured_performance_below_the_bar_is_act_with_retraining():
    log, truth = make_log(days=4)
    feedback = make_feedback(log, truth, slice(0, 1600))
    card = make_card(bar=("accuracy", 0.95))
    report = monitor_report(log, feedback, card, now=NOW - pd.Timedelta(minutes=1))
    reason = _reasons(report)["performance"]
    assert report.verdict == "act" and reason["level"] == "act"
    assert reason["what"] == "Accuracy is below your bar"
    assert reason["why"].startswith("On 10 Mar 2024: Accuracy 0.7")
    assert "measured on 399 predictions whose outcome came back" in reason["why"]  # one after now
    assert reason["action"] == ("Retrain on recent labelled data (Use page → Retrain, or "
                                "`tabwright retrain`).")
    assert report.summary == "Act: Accuracy is below your bar."
    assert "estimated_performance" not in _reasons(report)  # outcomes beat estimates
    fine = monitor_report(log, feedback, card, now=NOW - pd.Timedelta(minutes=1),
                          thresholds=Thresholds(bar_metric="accuracy", bar_value=0.6))
    assert fine.verdict == "healthy" and fine.summary.startswith("Healthy: 1599 predictions in 4 days to 10 Mar 2024")
    assert "Accuracy 0." in fine.summary and "on 399 outcomes" in fine.summary


def test_without_a_bar_a_clear_drop_from_the_test_score_is_watched():
    log, truth = make_log(days=3)
    flipped = np.where(truth == "yes", "no", "yes")  # the world changed: concept drift
    feedback = make_feedback(log, flipped, slice(0, 1200))
    report = monitor_report(log, feedback, make_card(), now=NOW - pd.Timedelta(minutes=1))
    reason = _reasons(report)["performance"]
    assert reason["level"] == "watch" and "on the test set it was 0.83" in reason["why"]


def test_estimated_performance_below_the_bar_is_watch_and_states_its_assumptions():
    log, _ = make_log(days=3)
    report = monitor_report(log, None, make_card(bar=("accuracy", 0.95)),
                            now=NOW - pd.Timedelta(minutes=1))
    reason = _reasons(report)["estimated_performance"]
    assert report.verdict == "watch" and reason["level"] == "watch"
    assert "calibrated" in reason["why"] and "concept drift" in reason["why"]
    assert "feedback" in reason["action"]
    estimate = report.assessed["estimate"]
    assert estimate["low"] < estimate["value"] < estimate["high"] < 0.95
    assert any("CBPE" in n and "calibrated" in n for n in report.notes)


def test_estimates_track_the_realised_accuracy_of_a_calibrated_model():
    log, truth = make_log(days=8, per_day=1500, shift_days=(5, 6, 7), shift=1.5)
    report = monitor_report(log, None, make_card(), now=NOW - pd.Timedelta(minutes=1))
    w = report.windows
    realised = [(log["prediction"].to_numpy()[i * 1500:(i + 1) * 1500] ==
                 truth[i * 1500:(i + 1) * 1500]).mean() for i in range(8)]
    inside = (w["estimated_accuracy_low"] <= realised) & (realised <= w["estimated_accuracy_high"])
    assert inside.sum() >= 7
    assert w["estimated_accuracy"].iloc[6] > w["estimated_accuracy"].iloc[1] + 0.05


def test_latency_over_the_briefs_limit_is_watched():
    log, _ = make_log(days=3, slow_days=(2,))
    card = make_card(max_latency_ms=50)
    report = monitor_report(log, None, card, now=NOW - pd.Timedelta(minutes=1))
    reason = _reasons(report)["latency"]
    assert reason["level"] == "watch" and "your limit is 50 ms" in reason["why"]
    assert report.thresholds.max_latency_ms == 50
    assert "latency" not in _reasons(monitor_report(log, None, make_card(),
                                                    now=NOW - pd.Timedelta(minutes=1)))


def test_regression_report():
    log, truth = make_log("regression", days=4, shift_days=(3,))
    feedback = make_feedback(log, truth, slice(0, 800))
    report = monitor_report(log, feedback, make_card("regression"), now=NOW - pd.Timedelta(minutes=1))
    w = report.windows
    assert w["actual_rmse"].iloc[:2].tolist() == pytest.approx([0.5, 0.5], abs=0.05)
    assert w["actual_mae"].iloc[0] == pytest.approx(np.mean(np.abs(
        truth[:400] - log["prediction"].to_numpy()[:400])))
    assert w["prediction_mean"].iloc[3] == pytest.approx(6.0, abs=0.3)  # 3 × the shift of x
    assert w["prediction_psi"].iloc[0] < 0.1 <= w["prediction_psi"].iloc[3]
    assert not report.estimated_metrics and "estimated_rmse" not in w
    assert {"drift", "prediction_drift"} <= set(_reasons(report))
    shift = _reasons(report)["prediction_drift"]
    assert shift["what"] == "The predicted values have shifted"
    assert "they average 6" in shift["why"]


def test_multiclass_report():
    log, truth = make_log("multiclass", days=3)
    feedback = make_feedback(log, truth, slice(0, 400))
    report = monitor_report(log, feedback, make_card("multiclass"),
                            now=NOW - pd.Timedelta(minutes=1))
    w = report.windows
    shares = w[["predicted:a", "predicted:b", "predicted:c"]]
    assert np.allclose(shares.sum(axis=1), 1.0)
    assert set(report.estimated_metrics) == {"accuracy", "roc_auc"}
    assert set(report.scored_metrics) == {"accuracy", "roc_auc"}
    assert w["actual_accuracy"].iloc[0] == pytest.approx(
        np.mean(log["prediction"].to_numpy()[:400] == truth[:400]))
    assert (w["estimated_roc_auc_low"] < w["estimated_roc_auc"]).all()
    assert report.verdict == "healthy"


# --------------------------------------------------------------------------- thresholds and input


def test_thresholds_take_the_briefs_bar_and_latency_unless_overridden():
    card = make_card(bar=("roc_auc", 0.8), max_latency_ms=25)
    t = Thresholds().for_card(card)
    assert (t.bar_metric, t.bar_value, t.max_latency_ms) == ("roc_auc", 0.8, 25)
    t = Thresholds(bar_value=0.9, max_latency_ms=100).for_card(card)
    assert (t.bar_metric, t.bar_value, t.max_latency_ms) == ("roc_auc", 0.9, 100)
    t = Thresholds(bar_metric="accuracy").for_card(card)  # another metric needs its own value
    assert (t.bar_metric, t.bar_value) == (None, None)
    assert Thresholds(bar_value=0.7).for_card(make_card()).bar_metric == "roc_auc"


@pytest.mark.parametrize("kwargs", [dict(psi_watch=0.3, psi_act=0.2), dict(psi_watch=0),
                                    dict(drifted_share_act=1.5), dict(min_rows=0),
                                    dict(bar_metric="goodness"), dict(silent_windows=0)])
def test_impossible_thresholds_are_refused(kwargs):
    with pytest.raises(TabwrightError):
        Thresholds(**kwargs)


def test_bad_arguments_are_explained():
    log, _ = make_log(days=1)
    with pytest.raises(TabwrightError, match="window must be one of hour, day, week"):
        monitor_report(log, None, make_card(), window="month", now=NOW)
    with pytest.raises(TabwrightError, match="starts .* after it ends"):
        monitor_report(log, None, make_card(), since=NOW + pd.Timedelta(days=1), now=NOW)
    with pytest.raises(TabwrightError, match="must be a date or time"):
        monitor_report(log, None, make_card(), since="last tuesday", now=NOW)
    with pytest.raises(TabwrightError, match="no prediction column"):
        monitor_report(log.drop(columns=["prediction"]), None, make_card(), now=NOW)
    with pytest.raises(TabwrightError, match="at most 5,000 windows"):
        monitor_report(log, None, make_card(), window="hour", since="2020-01-01", now=NOW)


def test_report_is_plain_json():
    log, truth = make_log(days=3, shift_days=(2,))
    report = monitor_report(log, make_feedback(log, truth, slice(0, 100)), make_card(),
                            now=NOW - pd.Timedelta(minutes=1))
    data = _json(report)
    assert data["verdict"] == report.verdict and data["reasons"] == report.reasons
    assert data["windows"][0]["start"] == "2024-03-08T00:00:00+00:00"
    assert len(data["drift"]) == 9 and data["features"][0]["feature"] == "x"
    assert data["thresholds"]["psi_act"] == 0.25 and data["now"].startswith("2024-03-10T23:59")


def test_a_real_model_card_and_its_predictions():
    """The contract end to end: a trained model's card and predict_table's output as the log."""
    rng = np.random.default_rng(7)
    train_frame = inputs(600, rng)
    train_frame["y"] = outcomes("binary", train_frame, rng)
    result = train(train_frame, Recipe(target="y", auto=False,
                                       models=[ModelChoice("logistic_regression")]),
                   inferred_roles=ROLES)
    card = model_card(result, data_name="synthetic.csv")
    new = inputs(900, rng, shift=0.0)
    new.loc[600:, "x"] += 2.0
    predictions, _ = predict_table(result.pipeline, card, new)
    log = pd.DataFrame({
        "time": NOW - pd.to_timedelta(np.repeat([3, 2, 1], 300), unit="D")
        + pd.to_timedelta(np.tile(np.arange(300), 3), unit="min"),
        "run_id": "run-1", "request_id": [f"r{i}" for i in range(900)], "latency_ms": 5.0,
        "prediction": predictions["prediction"].astype(str)})
    for c in card["classes"]:
        log[f"proba:{c}"] = predictions[f"proba_{c}"]
    for column in new.columns:
        log[f"input:{column}"] = new[column]
    truth = outcomes("binary", new, rng)
    feedback = make_feedback(log, truth, slice(0, 300))
    report = monitor_report(log, feedback, card, now=NOW)
    x = report.drift[report.drift["feature"] == "x"]["psi"].tolist()
    assert x[0] < 0.1 and x[2] >= 0.25
    assert report.windows["labelled"].tolist()[:3] == [300, 0, 0]
    assert report.windows["actual_accuracy"].iloc[0] > 0.6
    assert report.verdict == "act" and report.reasons[0]["check"] == "drift"


def test_a_regression_models_steady_predictions_are_not_called_drift():
    """A model explaining half the target's variance predicts in a narrower range than the
    answers: against the target's deciles steady traffic read PSI ~0.2 (a false 'watch');
    the card's baseline of the model's own output reads it as steady."""
    rng = np.random.default_rng(9)

    def frame(n):
        x = rng.normal(size=n)
        return pd.DataFrame({"x": x, "y": x + rng.normal(size=n)})

    result = train(frame(2000), Recipe(target="y", auto=False, models=[ModelChoice("ridge")]),
                   inferred_roles={"x": "numeric"})
    card = model_card(result, data_name="steady.csv")
    new = frame(3000)
    predictions, _ = predict_table(result.pipeline, card, new.drop(columns=["y"]))
    log = pd.DataFrame({
        "time": NOW - pd.to_timedelta(np.repeat([3, 2, 1], 1000), unit="D")
        + pd.to_timedelta(np.tile(np.arange(1000), 3), unit="min"),
        "run_id": "run-1", "request_id": [f"r{i}" for i in range(3000)], "latency_ms": 5.0,
        "prediction": predictions["prediction"], "input:x": new["x"]})
    steady = monitor_report(log, None, card, now=NOW)
    assert (steady.windows["prediction_psi"].dropna() < 0.1).all()
    assert "prediction_drift" not in _reasons(steady) and steady.verdict == "healthy"
    old = {**card, "baseline": {k: v for k, v in card["baseline"].items() if k != "prediction"}}
    assert (monitor_report(log, None, old, now=NOW).windows["prediction_psi"].dropna() >= 0.1).all()
    log.loc[2000:, "prediction"] += 1.5  # the last day's predictions shift
    moved = _reasons(monitor_report(log, None, card, now=NOW))["prediction_drift"]
    assert "the model's own predictions on its training rows" in moved["why"]
    assert "on the training rows" in moved["why"].split("):")[-1]


def test_a_multiclass_model_is_compared_with_its_own_classes_out_of_fold():
    rng = np.random.default_rng(10)

    def frame(n):
        x = rng.normal(size=n)
        y = np.select([x + rng.normal(size=n) < -0.5, x + rng.normal(size=n) > 0.8],
                      ["low", "high"], "mid")
        return pd.DataFrame({"x": x, "y": y})

    result = train(frame(1500), Recipe(target="y", auto=False,
                                       models=[ModelChoice("logistic_regression")]),
                   inferred_roles={"x": "numeric"})
    card = model_card(result, data_name="classes.csv")
    assert card["baseline"]["prediction"]["kind"] == "categorical"
    new = frame(2000)
    new.loc[1000:, "x"] += 2.0  # the second day: 'high' far more often
    predictions, _ = predict_table(result.pipeline, card, new.drop(columns=["y"]))
    log = pd.DataFrame({
        "time": NOW - pd.to_timedelta(np.repeat([2, 1], 1000), unit="D")
        + pd.to_timedelta(np.tile(np.arange(1000), 2), unit="min"),
        "run_id": "run-1", "request_id": [f"r{i}" for i in range(2000)], "latency_ms": 5.0,
        "prediction": predictions["prediction"].astype(str), "input:x": new["x"]})
    report = monitor_report(log, None, card, now=NOW)
    psi = report.windows["prediction_psi"].dropna().tolist()
    assert psi[0] < 0.1 <= psi[1]
    why = _reasons(report)["prediction_drift"]["why"]
    assert "'high' is predicted for" in why and "of its predictions out of fold" in why


def test_clustering_report_has_traffic_and_drift_but_no_performance():
    log, _ = make_log("regression", days=3, shift_days=(2,))
    log["prediction"] = (log["input:x"] > 0).astype(int)  # cluster numbers
    card = make_card("regression")
    card.update(task="clustering", target=None, metric="silhouette", test_metrics={})
    del card["baseline"]["target"]
    report = monitor_report(log, None, card, now=NOW - pd.Timedelta(minutes=1))
    assert report.windows["rows"].sum() > 0 and report.windows["prediction_psi"].isna().all()
    assert not report.scored_metrics and not report.estimated_metrics
    assert report.verdict == "act" and report.reasons[0]["check"] == "drift"
    assert report.assessed["performance"] is None and report.assessed["estimate"] is None


def test_few_outcomes_per_window_are_read_together():
    log, truth = make_log(days=5)
    rows = np.concatenate([np.arange(400 * d, 400 * d + 10) for d in range(5)])
    feedback = make_feedback(log, truth, rows)
    report = monitor_report(log, feedback, make_card(bar=("accuracy", 0.99)),
                            now=NOW - pd.Timedelta(minutes=1))
    assert report.windows["labelled"].tolist() == [10] * 5
    measured = report.assessed["performance"]
    assert measured["start"] is None and measured["labelled"] == 50
    assert measured["value"] == pytest.approx(np.mean(log["prediction"].to_numpy()[rows]
                                                      == truth[rows]))
    assert _reasons(report)["performance"]["why"].startswith("Over the whole period: Accuracy")
