"""The monitoring report: how a deployed model is doing, window by window, and what to do.

:func:`monitor_report` reads the prediction log (one row per predicted record) and the
feedback (true outcomes by request id) against the model card, and measures per time window
(:mod:`core.monitor._measure`):

- traffic: rows and requests, and request latency (50th, 95th and 99th percentile);
- input drift: each feature's population stability index (PSI) against the training baseline,
  binned exactly as :func:`core.deliver.check_drift` bins it, and its share of missing values;
- prediction drift: the PSI of the predictions against the training target's distribution
  (a regression or multiclass model's: against its own predictions out of fold on its
  training rows, when the card keeps them);
- performance: scored on the rows whose outcome came back (:func:`core.metrics.score`), and for
  classifiers estimated from the model's probabilities where outcomes are missing
  (:mod:`core.monitor._estimate`, with its interval and assumptions).

The verdict reads the most recent window with enough rows (``Thresholds.min_rows``; if none
has, the whole period) and turns each check into a reason (:mod:`core.monitor._verdict`).
Every column is binned once for all rows and counted per window with ``np.bincount``, so a
million rows take well under a second.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.deliver._baseline import PSI_DRIFT, PSI_WATCH
from core.errors import TabwrightError
from core.formatting import format_number, format_percent, json_safe
from core.metrics import METRICS, metric_label
from core.monitor import _verdict as verdict
from core.monitor._estimate import ESTIMABLE
from core.monitor._measure import (
    LATENCY_PERCENTILES,
    Measures,
    measure,
    outcome_scores,
    own_output_baseline,
    scored_metrics,
)
from core.monitor._performance import Labels, join_feedback, request_starts

WINDOWS = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1),
           "week": pd.Timedelta(weeks=1)}
"""The window lengths a report can use: hours and days start on the hour (UTC), weeks on Monday."""
MAX_WINDOWS = 5000
"""Most windows in one report (about 7 months of hours); past it, choose a longer window."""
_MONDAY = pd.Timestamp("1970-01-05", tz="UTC").value
CBPE_NOTE = ("Estimated performance comes from the model's own probabilities (confidence-based "
             "performance estimation, as NannyML's CBPE), with a 95% interval for the chance "
             "scatter of the outcomes. It assumes the probabilities are calibrated and that what "
             "the right answer is has not changed (no concept drift); only outcomes that come back "
             "can prove the model is still right.")


@dataclass(frozen=True)
class Thresholds:
    """When a check turns into a reason to watch or act.

    Attributes
    ----------
    psi_watch, psi_act : float
        A feature's PSI from which it has shifted moderately (watch) or strongly.
    drifted_share_act : float
        Act when at least this share of the features shifted strongly (as
        :func:`core.deliver.check_drift` advises retraining); fewer: watch.
    missing_watch : float
        Watch when a feature's share of missing values is this much above training's.
    bar_metric, bar_value : str or None, float or None
        The good-enough bar; both None take the model card's brief. Measured performance
        worse than it: act; estimated performance worse than it: watch.
    max_latency_ms : float or None
        Watch when the 99th percentile latency is above it; None takes the brief's.
    drop_watch : float
        Without a bar: watch when performance is worse than on the test set by this share.
    min_rows : int
        Fewest predictions in a window before its drift and estimates are read.
    min_labelled : int
        Fewest outcomes in a window before its measured performance is read.
    silent_windows : float
        Watch when no prediction came for longer than this many windows.

    Examples
    --------
    >>> Thresholds(psi_act=0.2, max_latency_ms=50).psi_watch
    0.1
    """

    psi_watch: float = PSI_WATCH
    psi_act: float = PSI_DRIFT
    drifted_share_act: float = 0.3
    missing_watch: float = 0.2
    bar_metric: str | None = None
    bar_value: float | None = None
    max_latency_ms: float | None = None
    drop_watch: float = 0.05
    min_rows: int = 100
    min_labelled: int = 30
    silent_windows: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.psi_watch <= self.psi_act:
            raise TabwrightError(
                f"The PSI thresholds must be 0 < watch ≤ act, got watch {self.psi_watch!r} and "
                f"act {self.psi_act!r}.", f"Use e.g. the defaults {PSI_WATCH} and {PSI_DRIFT}.")
        for name in ("drifted_share_act", "missing_watch", "drop_watch"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise TabwrightError(f"{name} must be a share between 0 and 1, got {value!r}.",
                                     "Give it as a fraction, e.g. 0.3 for 30%.")
        for name in ("min_rows", "min_labelled"):
            if getattr(self, name) < 1:
                raise TabwrightError(f"{name} must be at least 1, got {getattr(self, name)!r}.",
                                     "Use e.g. the defaults (100 rows, 30 outcomes).")
        if self.silent_windows <= 0:
            raise TabwrightError(f"silent_windows must be above 0, got {self.silent_windows!r}.",
                                 "Use e.g. the default, 2 windows.")
        if self.bar_metric is not None and self.bar_metric not in METRICS:
            raise TabwrightError(f"The bar's metric must be a known metric, got {self.bar_metric!r}.",
                                 "Use a metric name from the model card, e.g. 'accuracy' or 'rmse'.")

    def for_card(self, card: dict[str, Any]) -> Thresholds:
        """These thresholds with the bar and latency limit of the card's brief filled in."""
        brief = card.get("brief") or {}
        if self.bar_metric is None and self.bar_value is None:
            bar_metric, bar_value = brief.get("bar_metric"), brief.get("bar_value")
        else:
            bar_metric = self.bar_metric or brief.get("bar_metric") or card.get("metric")
            bar_value = self.bar_value
            if bar_value is None and bar_metric == brief.get("bar_metric"):
                bar_value = brief.get("bar_value")
        if bar_metric is None or bar_value is None:
            bar_metric = bar_value = None
        latency = (self.max_latency_ms if self.max_latency_ms is not None
                   else brief.get("max_latency_ms"))
        return dataclasses.replace(self, bar_metric=bar_metric, bar_value=bar_value,
                                   max_latency_ms=latency)


@dataclass
class MonitorReport:
    """A deployed model's health over time (see :func:`monitor_report`).

    Attributes
    ----------
    verdict : {"healthy", "watch", "act"}
        The worst level among ``reasons``.
    summary : str
        One plain sentence: the verdict and what it rests on.
    reasons : list of dict
        ``{"check", "level", "what", "why", "action"}`` per problem found, worst first.
        ``check`` is one of "traffic", "drift", "missing_values", "prediction_drift",
        "latency", "performance", "estimated_performance". Feature names appear verbatim:
        escape them where the text is rendered as Markdown or HTML.
    notes : list of str
        What the reader should know to trust the numbers (the estimates' assumptions, inputs
        not logged, outcomes that could not be joined, rows left out).
    windows : DataFrame
        One row per time window, oldest first: ``start``, ``end`` (UTC), ``rows``,
        ``requests``, ``latency_p50``/``_p95``/``_p99`` (ms), ``prediction_psi``,
        ``prediction_mean`` (regression) or ``predicted:<class>`` shares (classification),
        ``max_psi``, ``drifted`` and ``shifted`` (how many features reach the act and the watch
        PSI), ``labelled``, ``actual_<metric>`` per scored metric, and for classifiers with
        logged probabilities ``estimated_<metric>`` with ``estimated_<metric>_low``/``_high``
        (95% interval).
    drift : DataFrame
        One row per window and feature: ``start``, ``feature``, ``values`` (non-missing),
        ``missing`` (share), ``psi``, ``status`` ("stable", "watch", "drift"; "" without values).
    features : DataFrame
        One row per feature of the baseline, most drifted first: ``feature``, ``kind``,
        ``psi`` and ``status`` in the assessed window ("not logged" when the log lacks it),
        ``psi_period`` (all windows together), ``max_psi`` and ``max_psi_start`` (over windows
        with enough rows), ``missing`` and ``missing_baseline`` (shares).
    assessed : dict
        What the verdict read. ``drift``: ``{"start", "name", "rows"}`` of the window (start
        None: the whole period). ``performance`` (measured): ``{"start", "name", "labelled",
        "metric", "value"}``. ``estimate``: ``{"start", "name", "rows", "metric", "value",
        "low", "high"}``. Each None when there was too little to read.
    estimated_metrics, scored_metrics : tuple of str
        The metrics with ``estimated_`` and ``actual_`` columns in ``windows``.
    """

    verdict: str
    summary: str
    reasons: list[dict[str, str]]
    notes: list[str]
    windows: pd.DataFrame
    drift: pd.DataFrame
    features: pd.DataFrame
    assessed: dict[str, Any]
    task: str
    metric: str | None
    window: str
    since: pd.Timestamp | None
    now: pd.Timestamp
    thresholds: Thresholds
    estimated_metrics: tuple[str, ...] = ()
    scored_metrics: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data (timestamps as ISO text, NaN as None)."""
        return json_safe({
            "format": "tabwright-monitor-report/1", "verdict": self.verdict,
            "summary": self.summary, "reasons": self.reasons, "notes": self.notes,
            "task": self.task, "metric": self.metric, "window": self.window,
            "since": self.since, "now": self.now,
            "thresholds": dataclasses.asdict(self.thresholds), "assessed": self.assessed,
            "estimated_metrics": list(self.estimated_metrics),
            "scored_metrics": list(self.scored_metrics),
            "windows": self.windows.to_dict(orient="records"),
            "drift": self.drift.to_dict(orient="records"),
            "features": self.features.to_dict(orient="records"),
        })


@dataclass
class _Period:
    """Which window each log row falls in (``n`` for rows outside the report), whether it starts
    a request, and when the windows start."""

    windows: np.ndarray
    n: int
    first_of_request: np.ndarray
    starts: pd.DatetimeIndex
    length: pd.Timedelta
    rows_in_log: int
    other_runs: int
    last_time: pd.Timestamp | None


def monitor_report(log: pd.DataFrame | None, feedback: pd.DataFrame | None, card: dict[str, Any],
                   *, window: str = "day", since: Any = None, now: Any = None,
                   thresholds: Thresholds | None = None) -> MonitorReport:
    """Monitor a deployed model from its prediction log: traffic, drift, performance, verdict.

    Parameters
    ----------
    log : DataFrame or None
        The prediction log, one row per predicted record: ``time`` (UTC), ``run_id``,
        ``request_id``, ``latency_ms``, ``prediction``, ``proba:<class>`` per class for
        classifiers, and ``input:<column>`` per input when inputs were logged in full
        (``log.attrs["inputs"]`` lists the logging modes), as the prediction-log store reads
        it: a request's records are consecutive rows with its time and latency, each with its
        own id. Rows of runs other than ``card["run_id"]`` are left out.
    feedback : DataFrame or None
        True outcomes: ``request_id`` (a logged record's id), ``actual``, ``received``. The
        latest outcome of a record counts.
    card : dict
        The model card (``model.json``): task, classes, threshold, metric, test metrics,
        baseline, brief.
    window : {"hour", "day", "week"}, default="day"
        The length of a time window (UTC; weeks start on Monday).
    since : timestamp-like, Timedelta or None
        The start of the period (a Timedelta counts back from ``now``); None: the first
        logged prediction. A date without a time zone is read as UTC.
    now : timestamp-like or None
        The end of the period (default: the current time); rows after it are left out.
    thresholds : Thresholds or None
        When checks become reasons; None: the defaults with the card's bar and latency limit.

    Returns
    -------
    MonitorReport

    Raises
    ------
    TabwrightError
        For an unknown window, a period that ends before it starts or has more than
        :data:`MAX_WINDOWS` windows, or a log without ``time`` and ``prediction`` columns.

    Examples
    --------
    >>> report = monitor_report(log, feedback, card, window="day")  # doctest: +SKIP
    >>> report.verdict, report.reasons[0]["action"]  # doctest: +SKIP
    ('act', 'Retrain on recent labelled data (Use page → Retrain, or `tabwright retrain`).')
    """
    if window not in WINDOWS:
        raise TabwrightError(f"The window must be one of {', '.join(WINDOWS)}, got {window!r}.",
                             "Choose hour, day or week.")
    log = pd.DataFrame() if log is None else log
    absent = [c for c in ("time", "prediction") if c not in log.columns]
    if len(log) and absent:
        raise TabwrightError(f"The prediction log has no {' or '.join(absent)} column.",
                             "Read it with tabwright's prediction-log store.")
    task = card.get("task", "")
    limits = (thresholds or Thresholds()).for_card(card)
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else as_utc(now, "now")
    since_ts = None if since is None else (
        now_ts - since if isinstance(since, pd.Timedelta) else as_utc(since, "since"))
    period = _period(log, card, window, since_ts, now_ts)
    labels = _labels(log, period, feedback)
    metrics = scored_metrics(card, limits.bar_metric)
    measures = measure(log, card, period.windows, period.n, period.first_of_request, labels, metrics)
    total = int(measures.rows.sum())

    at, drift_at = _assessed_window(log, card, period, measures, labels, metrics, limits)
    features = _features_frame(card, measures, drift_at, period, limits)
    notes = _notes(log, card, period, labels, measures)
    reasons = verdict.traffic_reasons(rows=total, logged_rows=period.rows_in_log,
                                      last_time=period.last_time, now=now_ts,
                                      silence=WINDOWS[window] * limits.silent_windows)
    assessed: dict[str, Any] = {"drift": None, "performance": None, "estimate": None}
    if drift_at is not None:
        assessed["drift"] = {"start": None if at is None else period.starts[at],
                             "rows": int(drift_at.rows[0])}
        assessed["drift"]["name"] = verdict.window_name(assessed["drift"]["start"], window)
        reasons += _window_reasons(drift_at, features, assessed["drift"]["name"], card, limits)
    elif total:
        notes.append(f"Only {format_number(total)} predictions so far: drift and estimated "
                     f"performance are read once a window has {format_number(limits.min_rows)}.")
    assessed["performance"], measured = _measured(card, period, measures, labels, metrics,
                                                  limits, log, window)
    reasons += measured
    if drift_at is not None and drift_at.estimates and not _has_labels(drift_at, limits):
        assessed["estimate"], estimated = _estimated(card, drift_at, assessed["drift"], limits)
        reasons += estimated
    reasons.sort(key=lambda r: -verdict.LEVELS.index(r["level"]))
    level = verdict.verdict_of(reasons)
    return MonitorReport(
        verdict=level, summary=_summary(level, reasons, total, assessed, drift_at, period, window,
                                        since_ts, now_ts),
        reasons=reasons, notes=notes,
        windows=_windows_frame(card, period, measures, limits),
        drift=_drift_frame(period, measures, limits), features=features, assessed=assessed,
        task=task, metric=card.get("metric"), window=window, since=since_ts, now=now_ts,
        thresholds=limits, estimated_metrics=tuple(measures.estimates),
        scored_metrics=tuple(measures.actual))


def _window_reasons(at: Measures, features: pd.DataFrame, when: str, card: dict[str, Any],
                    limits: Thresholds) -> list[dict[str, str]]:
    """Drift, prediction drift and latency in the assessed window."""
    task = card.get("task", "")
    reasons = verdict.drift_reasons(features, when=when, psi_watch=limits.psi_watch,
                                    psi_act=limits.psi_act,
                                    drifted_share_act=limits.drifted_share_act,
                                    missing_watch=limits.missing_watch)
    if at.prediction is not None:
        reasons += verdict.prediction_reason(_first(at.prediction.psi()), when=when,
                                             psi_watch=limits.psi_watch, task=task,
                                             detail=_prediction_change(at, card),
                                             own=own_output_baseline(card) is not None)
    reasons += verdict.latency_reason(_first(at.latency[:, -1]), when=when,
                                      limit=limits.max_latency_ms)
    return reasons


def _prediction_change(at: Measures, card: dict[str, Any]) -> str:
    """How the predictions differ from the training target, in words."""
    assert at.prediction is not None
    if card.get("task") == "regression":
        own = own_output_baseline(card)
        then = (own or (card.get("baseline") or {}).get("target") or {}).get("mean")
        now = _first(at.prediction_columns["prediction_mean"])
        if then is None or now is None:
            return ""
        return (f"they average {verdict.number(now)}, against {verdict.number(then)} "
                + ("out of fold on the training rows" if own else "in training"))
    classes = [str(c) for c in card.get("classes") or []]
    counts = at.prediction.counts[0, :len(classes)]
    if not counts.sum():
        return ""
    shares = counts / counts.sum()
    expected = at.prediction.expected[:len(classes)]
    k = int(np.argmax(shares - expected))  # the class predicted more often than it was seen
    against = ("of its predictions out of fold on the training rows" if own_output_baseline(card)
               else "of the training targets")
    return (f"'{classes[k]}' is predicted for {format_percent(shares[k])} of rows, against "
            f"{format_percent(expected[k])} {against}")


def _summary(level: str, reasons: list[dict[str, str]], total: int, assessed: dict[str, Any],
             drift_at: Measures | None, period: _Period, window: str,
             since: pd.Timestamp | None, now: pd.Timestamp) -> str:
    performance = assessed["performance"]
    checks = {"drift": bool(drift_at is not None and drift_at.drift),
              "performance": None if performance is None else
              f"{metric_label(performance['metric'])} {verdict.number(performance['value'])} "
              f"on {format_number(performance['labelled'])} outcomes"}
    period_text = (f"since {since:%d %b %Y}" if since is not None else
                   f"in {period.n} {window}{'s' if period.n != 1 else ''} to {now:%d %b %Y}")
    return verdict.summary(level, reasons, rows=total, period=period_text, checks=checks)


def _first(values: np.ndarray) -> float | None:
    value = float(values[0]) if len(values) else float("nan")
    return None if np.isnan(value) else value


# --------------------------------------------------------------------------- the period


def as_utc(value: Any, what: str) -> pd.Timestamp:
    """``value`` as a UTC timestamp (a naive one is taken as UTC); ``what`` names it in the error."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise TabwrightError(f"{what} must be a date or time, got {value!r}.",
                             "Use e.g. 2024-03-01 or 2024-03-01T12:00Z.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _times(log: pd.DataFrame) -> np.ndarray:
    """The log's times as int64 nanoseconds since 1970 UTC (NaT: the smallest int64)."""
    times = log["time"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        times = pd.to_datetime(times, utc=True, errors="coerce")
    if times.dt.unit != "ns":
        times = times.dt.as_unit("ns")
    return times.array.asi8


def _period(log: pd.DataFrame, card: dict[str, Any], window: str, since: pd.Timestamp | None,
            now: pd.Timestamp) -> _Period:
    if since is not None and since > now:
        raise TabwrightError(f"The period starts ({since}) after it ends ({now}).",
                             "Choose a start before the end.")
    length = WINDOWS[window].value
    origin = _MONDAY if window == "week" else 0
    t = _times(log) if len(log) else np.zeros(0, dtype=np.int64)
    keep = (t != np.iinfo(np.int64).min) & (t <= now.value)
    if since is not None:
        keep &= t >= since.value
    other_runs = 0
    run_id = card.get("run_id")
    if run_id is not None and "run_id" in log.columns and len(log):
        ours = log["run_id"].to_numpy() == str(run_id)
        other_runs = int((keep & ~ours).sum())
        keep &= ours
    number = (t - origin) // length
    last = (now.value - origin) // length
    if since is not None:
        first = (since.value - origin) // length
    else:
        first = int(number[keep].min()) if keep.any() else last + 1
    n = int(last - first + 1)
    if n > MAX_WINDOWS:
        raise TabwrightError(f"The period spans {n:,} {window}s; a report shows at most "
                             f"{MAX_WINDOWS:,} windows.", "Choose a longer window or a later start.")
    starts = pd.DatetimeIndex(pd.to_datetime(origin + (first + np.arange(n)) * length, utc=True))
    last_time = pd.Timestamp(int(t[keep].max()), tz="UTC") if keep.any() else None
    latency = (pd.to_numeric(log["latency_ms"], errors="coerce").to_numpy(dtype=float)
               if "latency_ms" in log.columns else None)
    return _Period(np.where(keep, number - first, n), n, request_starts(t, latency), starts,
                   WINDOWS[window], len(log), other_runs, last_time)


def _labels(log: pd.DataFrame, period: _Period, feedback: pd.DataFrame | None) -> Labels:
    ids = log["request_id"] if "request_id" in log.columns else pd.Series([], dtype=object)
    return join_feedback(ids, period.windows < period.n, feedback)


# --------------------------------------------------------------------------- what the verdict reads


def _assessed_window(log: pd.DataFrame, card: dict[str, Any], period: _Period,
                     measures: Measures, labels: Labels, metrics: list[str], limits: Thresholds
                     ) -> tuple[int | None, Measures | None]:
    """The latest window with ``min_rows`` predictions, else the whole period if it has them."""
    enough = np.flatnonzero(measures.rows >= limits.min_rows)
    if len(enough):
        return int(enough[-1]), measures.window(int(enough[-1]))
    if measures.rows.sum() >= limits.min_rows:
        pooled = np.where(period.windows < period.n, 0, 1)
        return None, measure(log, card, pooled, 1, period.first_of_request, labels, metrics)
    return None, None


def _has_labels(measures: Measures, limits: Thresholds) -> bool:
    return bool(len(measures.labelled)) and measures.labelled[0] >= limits.min_labelled


def _main_metric(card: dict[str, Any], limits: Thresholds, available: Any) -> str | None:
    for m in (limits.bar_metric, card.get("metric"), "accuracy"):
        if m in available:
            return m
    return None


def _reference(card: dict[str, Any], metric: str, limits: Thresholds) -> tuple[float | None, float | None]:
    """The bar (when it is this metric) and the test score to compare ``metric`` with."""
    bar = limits.bar_value if metric == limits.bar_metric else None
    test = (card.get("test_metrics") or {}).get(metric)
    return bar, None if test is None else float(test)


def _measured(card: dict[str, Any], period: _Period, measures: Measures, labels: Labels,
              metrics: list[str], limits: Thresholds, log: pd.DataFrame, window: str
              ) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Measured performance in the latest window with ``min_labelled`` outcomes (else pooled)."""
    metric = _main_metric(card, limits, measures.actual)
    if metric is None:
        return None, []
    enough = np.flatnonzero(measures.labelled >= limits.min_labelled)
    if len(enough):
        i = int(enough[-1])
        start, labelled, value = period.starts[i], int(measures.labelled[i]), measures.actual[metric][i]
    elif measures.labelled.sum() >= limits.min_labelled:
        counts, scores, _ = outcome_scores(log, card, np.where(period.windows < period.n, 0, 1), 1,
                                           labels, metrics)
        start, labelled, value = None, int(counts[0]), scores[metric][0]
    else:
        return None, []
    if np.isnan(value):
        return None, []
    when = verdict.window_name(start, window)
    bar, test = _reference(card, metric, limits)
    found = {"start": start, "name": when, "labelled": labelled, "metric": metric,
             "value": float(value)}
    return found, verdict.performance_reason(float(value), metric=metric, labelled=labelled,
                                             when=when, bar=bar, reference=test,
                                             drop=limits.drop_watch)


def _estimated(card: dict[str, Any], at: Measures, where: dict[str, Any], limits: Thresholds
               ) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Estimated performance in the assessed window (which has too few outcomes)."""
    metric = _main_metric(card, limits, at.estimates)
    if metric is None or np.isnan(at.estimates[metric].value[0]):
        return None, []
    e = at.estimates[metric]
    triple = (float(e.value[0]), float(e.low[0]), float(e.high[0]))
    bar, test = _reference(card, metric, limits)
    found = {**where, "metric": metric, "value": triple[0], "low": triple[1], "high": triple[2]}
    return found, verdict.estimate_reason(triple, metric=metric, when=where["name"], bar=bar,
                                          reference=test, drop=limits.drop_watch)


def _notes(log: pd.DataFrame, card: dict[str, Any], period: _Period, labels: Labels,
           measures: Measures) -> list[str]:
    notes = []
    task = card.get("task", "")
    if measures.estimates:
        notes.append(CBPE_NOTE)
    elif task in ESTIMABLE and len(log):
        notes.append("The log has no probabilities, so performance cannot be estimated before "
                     "outcomes come back.")
    features = list(((card.get("baseline") or {}).get("features") or {}))
    absent = [f for f in features if f not in measures.drift]
    if features and len(absent) == len(features) and len(log):
        modes = ", ".join(log.attrs.get("inputs") or []) or "not in full"
        notes.append(f"Inputs were not logged in full (logging: {modes}), so input drift cannot "
                     "be checked; prediction drift and performance still are.")
    elif absent and len(log):
        listed = ", ".join(f"'{f}'" for f in absent[:5]) + (" …" if len(absent) > 5 else "")
        notes.append(f"{len(absent)} input(s) are not in the log, so their drift is not "
                     f"checked: {listed}.")
    if period.other_runs:
        notes.append(f"{format_number(period.other_runs)} predictions from other runs (models) in "
                     "this period were left out.")
    if labels.unmatched:
        notes.append(f"{format_number(labels.unmatched)} outcome(s) did not match a prediction of "
                     "this model in this period.")
    if labels.ambiguous:
        notes.append(f"{format_number(labels.ambiguous)} outcome(s) name an id that several logged "
                     "rows share, so they cannot say which row they are about and were left out.")
    if measures.unknown_labels:
        notes.append(f"{format_number(measures.unknown_labels)} outcome(s) are not one of the "
                     "model's classes and were left out.")
    return notes


# --------------------------------------------------------------------------- the tables


def _status(psi: np.ndarray, limits: Thresholds) -> np.ndarray:
    return np.select([np.isnan(psi), psi >= limits.psi_act, psi >= limits.psi_watch],
                     ["", "drift", "watch"], "stable")


def _windows_frame(card: dict[str, Any], period: _Period, measures: Measures, limits: Thresholds
                   ) -> pd.DataFrame:
    n = period.n
    frame: dict[str, Any] = {"start": period.starts, "end": period.starts + period.length,
                             "rows": measures.rows, "requests": measures.requests}
    for i, q in enumerate(LATENCY_PERCENTILES):
        frame[f"latency_p{q}"] = measures.latency[:, i]
    frame["prediction_psi"] = (measures.prediction.psi() if measures.prediction is not None
                               else np.full(n, np.nan))
    if card.get("task") == "regression":
        frame["prediction_mean"] = measures.prediction_columns.get("prediction_mean",
                                                                   np.full(n, np.nan))
    for c in (card.get("classes") or []) if card.get("task") in ESTIMABLE else []:
        frame[f"predicted:{c}"] = measures.prediction_columns.get(f"predicted:{c}",
                                                                  np.full(n, np.nan))
    psi = (np.column_stack([b.psi() for b in measures.drift.values()]) if measures.drift
           else np.full((n, 0), np.nan))
    highest = np.max(np.where(np.isnan(psi), -np.inf, psi), axis=1, initial=-np.inf)
    frame["max_psi"] = np.where(np.isinf(highest), np.nan, highest)
    with np.errstate(invalid="ignore"):
        frame["drifted"] = (psi >= limits.psi_act).sum(axis=1)
        frame["shifted"] = (psi >= limits.psi_watch).sum(axis=1)
    frame["labelled"] = measures.labelled
    for m, values in measures.actual.items():
        frame[f"actual_{m}"] = values
    for m, e in measures.estimates.items():
        frame[f"estimated_{m}"] = e.value
        frame[f"estimated_{m}_low"] = e.low
        frame[f"estimated_{m}_high"] = e.high
    return pd.DataFrame(frame)


def _drift_frame(period: _Period, measures: Measures, limits: Thresholds) -> pd.DataFrame:
    names = list(measures.drift)
    binned = list(measures.drift.values())
    values = np.concatenate([b.counts.sum(axis=1) for b in binned] or [np.zeros(0, dtype=np.int64)])
    missing = np.concatenate([b.missing for b in binned] or [np.zeros(0, dtype=np.int64)])
    psi = np.concatenate([b.psi() for b in binned] or [np.zeros(0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        missing_share = missing / (values + missing)
    starts = pd.to_datetime(np.tile(period.starts.asi8, len(names)), utc=True)
    return pd.DataFrame({"start": starts,
                         "feature": np.repeat(np.array(names, dtype=object), period.n),
                         "values": values, "missing": missing_share, "psi": psi,
                         "status": _status(psi, limits)})


def _features_frame(card: dict[str, Any], measures: Measures, at: Measures | None,
                    period: _Period, limits: Thresholds) -> pd.DataFrame:
    """One row per baseline feature: its drift where the verdict looked, and over the period."""
    baseline = (card.get("baseline") or {}).get("features") or {}
    big = measures.rows >= limits.min_rows
    rows = []
    for name, base in baseline.items():
        row: dict[str, Any] = {"feature": name, "kind": base.get("kind", ""), "psi": np.nan,
                               "status": "not logged", "psi_period": np.nan, "max_psi": np.nan,
                               "max_psi_start": None, "missing": np.nan,
                               "missing_baseline": base.get("missing")}
        binned = measures.drift.get(name)
        if binned is not None:
            row["psi_period"] = _first(binned.pooled().psi())
            psi = np.where(big, binned.psi(), np.nan)
            if not np.isnan(psi).all():
                i = int(np.nanargmax(psi))
                row["max_psi"], row["max_psi_start"] = float(psi[i]), period.starts[i]
            row["status"] = ""
        if at is not None and name in at.drift:
            here = at.drift[name]
            value = _first(here.psi())
            seen = float(here.counts.sum() + here.missing[0])
            row["psi"] = np.nan if value is None else value
            row["status"] = str(_status(np.array([row["psi"]]), limits)[0])
            row["missing"] = float(here.missing[0]) / seen if seen else np.nan
        rows.append(row)
    columns = ["feature", "kind", "psi", "status", "psi_period", "max_psi", "max_psi_start",
               "missing", "missing_baseline"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["missing_baseline"] = pd.to_numeric(frame["missing_baseline"])
    return frame.sort_values(["psi", "psi_period"], ascending=False, na_position="last",
                             kind="stable").reset_index(drop=True)
