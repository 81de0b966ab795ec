"""Monitor: how a deployed model is doing, from its prediction log.

Predictions reach the log from ``tabwright serve`` (on by default), ``tabwright predict --log``
and the Use page's "Record these predictions"; true outcomes come back through
``POST /feedback``, ``tabwright feedback`` or the upload on this page. The page reads the log
of the chosen model's project and shows, per time window, traffic, input and prediction drift
against the training data, and performance (measured on outcomes, estimated from the model's
own probabilities where outcomes are missing), then a verdict: healthy, watch or act.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import RunStore, log_folder, run_label
from core.errors import TabwrightError
from core.formatting import escape_markdown, format_number
from core.metrics import metric_label
from core.monitor import MonitorReport, figures, monitor_card
from pages import _monitor_feedback, _state, _ui

WINDOWS = {"hour": "Hour", "day": "Day", "week": "Week"}
PERIODS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days",
           "90d": "Last 90 days", "": "Everything logged"}
BOXES = {"healthy": st.success, "watch": st.warning, "act": st.error}
ICONS = {"healthy": "✅", "watch": "👀", "act": "🚨"}


def _log_version(folder: Path) -> tuple[tuple[str, int], ...]:
    """What is in the log folder now: a new segment or more journal lines redo the report."""
    try:
        return tuple(sorted((p.name, p.stat().st_size) for p in folder.iterdir()))
    except OSError:
        return ()


@st.cache_data(show_spinner="Reading the prediction log…", max_entries=8)
def _report(run_id: str, window: str, since: str, version: tuple, _card: dict[str, Any]) -> MonitorReport:
    return monitor_card(_card, window=window, since=since or None)


def _models(store: RunStore) -> list[dict[str, Any]]:
    """This session's runs, and the production run of each of their projects, newest first."""
    try:
        runs = store.list_runs(owner=_state.owner())
    except TabwrightError:
        return []
    known = {r["run_id"] for r in runs}
    for name in sorted({r.get("project") for r in runs if r.get("project")}):
        details = store.production_details(name, owner=_state.owner())
        if details and details["run_id"] not in known:
            runs.append(store.get(details["run_id"], owner=details.get("owner", _state.owner())))
    return runs


def _choose(store: RunStore, runs: list[dict[str, Any]]) -> dict[str, Any]:
    production = {store.production(name, owner=_state.owner())
                  for name in {r.get("project") for r in runs}}
    ordered = [r for r in runs if r["run_id"] in production] + sorted(
        (r for r in runs if r["run_id"] not in production), key=lambda r: r["created"], reverse=True)
    labels = {r["run_id"]: f"{'🏆 ' if r['run_id'] in production else ''}{r.get('project', '')} · "
                           f"{run_label(r)}" for r in ordered}
    chosen = st.selectbox("Model", list(labels), format_func=labels.get, key="monitor_run",
                          help="The production run of each project first (🏆), then the others, "
                               "newest first. Each project has one prediction log.")
    return next(r for r in ordered if r["run_id"] == chosen)


def _verdict(report: MonitorReport) -> None:
    word = report.verdict.capitalize()
    rest = report.summary.removeprefix(f"{word}: ")  # the summary names the verdict first
    BOXES[report.verdict](f"**{word}:** {escape_markdown(rest)}", icon=ICONS[report.verdict])
    for reason in report.reasons:
        st.markdown(f"- **{escape_markdown(reason['what'])}** {escape_markdown(reason['why'])}  \n"
                    f"  ➜ {escape_markdown(reason['action'])}")


def _numbers(report: MonitorReport) -> None:
    w = report.windows
    a, b, c, d = st.columns(4)
    a.metric("Predictions", format_number(int(w["rows"].sum())) if len(w) else "0")
    b.metric("Requests", format_number(int(w["requests"].sum())) if len(w) else "0")
    recent = w[w["rows"] > 0].tail(1)
    p99 = recent["latency_p99"].iloc[0] if len(recent) else None
    c.metric("Latency p99 (last window)", "–" if p99 is None or pd.isna(p99) else f"{p99:.1f} ms",
             help="99 of 100 requests in the most recent window with traffic were answered "
                  "at least this fast.")
    done = report.assessed.get("performance")
    estimate = report.assessed.get("estimate")
    if done:
        d.metric(f"{metric_label(done['metric'])} (measured)", f"{done['value']:.4f}",
                 help=f"On {done['labelled']:,} predictions whose true outcome came back.")
    elif estimate:
        d.metric(f"{metric_label(estimate['metric'])} (estimated)", f"{estimate['value']:.4f}",
                 help=f"95% interval {estimate['low']:.4f}–{estimate['high']:.4f}, from the "
                      "model's own probabilities: no outcomes needed, but it assumes they are "
                      "calibrated and that what is right has not changed.")
    else:
        d.metric("Performance", "–", help="Needs outcomes, or a classifier's probabilities.")


def _charts(report: MonitorReport) -> None:
    traffic, drift, performance = st.tabs(["📈 Traffic", "🌊 Drift", "🎯 Performance"])
    with traffic:
        for fig in (figures.traffic_figure(report), figures.latency_figure(report)):
            if fig is not None:
                _ui.chart(fig, width="stretch")
    with drift:
        fig = figures.drift_over_time_figure(report)
        if fig is not None:
            _ui.chart(fig, width="stretch")
        _ui.explain("PSI (population stability index) compares a feature's distribution with the "
                    "training data: under 0.1 no real change, 0.1–0.25 a shift worth watching, "
                    "over 0.25 a major shift.")
        if len(report.features):
            st.dataframe(report.features, hide_index=True, width="stretch", key="monitor_features")
    with performance:
        fig = figures.performance_figure(report)
        if fig is None:
            st.info("No performance yet: send outcomes (below), or log a classifier's "
                    "probabilities to see an estimate.")
        else:
            _ui.chart(fig, width="stretch")


project = _ui.page_header("monitor")
store = RunStore()
runs = _models(store)
if not runs:
    st.info("Nothing to monitor yet: train a model, then serve it (`tabwright serve`) or "
            "predict a file on the Use page with **Record these predictions** ticked.")
    _ui.next_step("monitor")
    st.stop()
run = _choose(store, runs)
try:
    card = store.card(run["run_id"], owner=run.get("owner", _state.owner()))
except TabwrightError as exc:
    _ui.show_error(exc)
    st.stop()
left, right = st.columns(2)
window = left.segmented_control("Window", list(WINDOWS), format_func=WINDOWS.get, default="day",
                                key="monitor_window") or "day"
since = right.selectbox("Period", list(PERIODS), format_func=PERIODS.get, index=2,
                        key="monitor_since")
folder = log_folder(card.get("project") or "default")
try:
    report = _report(run["run_id"], window, since, _log_version(folder), card)
except TabwrightError as exc:
    _ui.show_error(exc)
    st.stop()
_verdict(report)
_numbers(report)
_charts(report)
for note in report.notes:
    st.caption(f"ℹ️ {escape_markdown(note)}")
_monitor_feedback.outcomes_section(card)
_ui.next_step("monitor")
