"""Train: the plan of the run, what you expect it to show, then training in the background.

Training runs in a :class:`core.train._jobs.TrainingJob` worker process, so the rest of the app stays usable;
a polling loop redraws its progress while it runs, and any click interrupts the loop. When it
finishes, the run is recorded in the run history and becomes the project's result; every rerun
of this page checks the job first, so the final state appears however the page was reached.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pandas as pd
import streamlit as st

from core import settings
from core.deliver import RunStore
from core.errors import TabwrightError
from core.metrics import METRICS, metric_label
from core.project import Project, update_recipe, with_result
from core.recipe import Recipe
from core.settings import current as current_limits
from core.train import TrainingJob, TrainWork, estimate_run, training_plan
from pages import _state, _ui


@dataclasses.dataclass(frozen=True)
class _RunContext:
    """What the page knew when the training started, kept with the job."""

    hypothesis: str
    data_name: str
    data_fingerprint: str
    recipe: Recipe


def _collect_finished_job() -> None:
    """Turn a finished job into a recorded run and the project's result (once).

    A failed or empty job stays in the session so its message stays visible until the next
    training starts.
    """
    job = _state.job()
    if job is None or job.active or getattr(job, "tabwright_collected", False):
        return
    job.tabwright_collected = True
    if job.result is None:
        return
    context: _RunContext | None = getattr(job, "tabwright_context", None)
    result = job.result
    project = _state.project()
    try:
        run_id = RunStore().record(result, data_name=context.data_name if context else "data.csv",
                                   hypothesis=context.hypothesis if context else "",
                                   owner=_state.owner())
    except TabwrightError as exc:
        _state.flash("warning", f"The run could not be saved in the history: {exc.message} {exc.hint}")
        run_id = None
    same_inputs = (context is not None and project.table is not None
                   and context.data_fingerprint == project.table.fingerprint
                   and context.recipe == project.recipe)
    if not same_inputs:
        _state.flash("warning", "You changed the data or a choice while this model trained: the run "
                     "is saved in **Runs**, but it is not the current model. Train again to use it.")
        return
    _state.set_project(with_result(project, result, run_id=run_id))
    if result.cancelled:
        _state.flash("warning", "Training was cancelled: the best model finished so far is kept.")
    else:
        _state.flash("success", f"Training finished in {result.seconds:.1f} s.")


def _show_failure(job: TrainingJob | None) -> None:
    """The last training's failure or empty cancel, until the next training starts."""
    if job is None or job.active or job.result is not None:
        return
    if job.state == "failed" or (job.state == "cancelled" and job.error):
        st.error(f"**{job.error}**" + (f"\n\n{job.hint}" if job.hint else "")
                 + "\n\nYour choices are kept: change them and train again.", icon="⚠️")
    else:
        st.info("Training cancelled before any model finished. Your choices are kept.", icon="⏹️")


@st.cache_data(show_spinner=False, max_entries=32)
def _plan(fingerprint: str, recipe_json: str, _frame: pd.DataFrame) -> dict[str, Any]:
    return training_plan(_frame, Recipe.from_json(recipe_json))


@st.cache_data(show_spinner=False, max_entries=32)
def _estimate(fingerprint: str, recipe_json: str, roles_json: str, _frame: pd.DataFrame,
              _training_plan: dict[str, Any]) -> dict[str, Any]:
    # The plan follows from the (hashed) data and recipe, so it need not be hashed itself.
    return estimate_run(_frame, Recipe.from_json(recipe_json), _training_plan,
                        inferred_roles=json.loads(roles_json)).to_dict()


def _show_plan(project: Project, *, expanded: bool) -> None:
    with st.expander("**The plan**: models, validation, rows and time", expanded=expanded):
        _plan_details(project)


def _plan_details(project: Project) -> None:
    try:
        plan = _plan(project.table.fingerprint, project.recipe.to_json(), project.frame)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    metric = METRICS.get(plan["metric"])
    cols = st.columns(4)
    cols[0].metric("Rows", f"{plan['rows']:,}",
                   help=f"{plan['train_rows']:,} to train and validate on, "
                        f"{plan['test_rows']:,} held out for the final test.")
    if plan["task"] == "clustering":
        cols[1].metric("Compared on", f"{plan['train_rows']:,} rows")
    else:
        cols[1].metric("Train / test", f"{plan['train_rows']:,} / {plan['test_rows']:,}")
    cols[2].metric("Optimising", metric.label if metric else plan["metric"])
    if plan["auto"]:
        cols[3].metric("Time budget", f"{plan['budget']:g} s", help="Auto mode stops within this budget.")
    elif plan["task"] == "clustering":
        cols[3].metric("Rough time", _duration(plan["estimate_seconds"]),
                       help="A rough estimate from the rows, columns and models; the first run "
                            "on a busy server can take longer.")
    estimate = _show_estimate(project, plan) if plan["task"] != "clustering" else None
    st.markdown(f"**Validation:** {plan['validation']}.")
    if plan["search"]:
        st.markdown(f"**Search:** {plan['search']}")
    costs = {c["name"]: c for c in (estimate or {}).get("models", [])}
    rows = [{"Model": m["label"],
             "Plan": {"run": "✅ runs", "sampled": "🔹 on a sample", "skipped": "⏭️ skipped"}[m["treatment"]],
             "Why": m["why"],
             **({"Fits × rows": (f"{costs[m['name']]['fits']} × {costs[m['name']]['fit_rows']:,}"
                                 if m["name"] in costs else "—"),
                 "Time (est.)": (_duration(costs[m["name"]]["seconds"]) if m["name"] in costs else "—")}
                if costs and not plan["auto"] else {}),
             "What it is": m["what"]} for m in plan["models"]]
    title = "Models auto mode starts with" if plan["auto"] else "Models that will run"
    st.markdown(f"**{title}**")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        "Model": st.column_config.TextColumn(width="medium"),
        "Plan": st.column_config.TextColumn(width="small"),
        "Why": st.column_config.TextColumn(width="medium"),
        "What it is": st.column_config.TextColumn(width="large"),
    })
    for note in plan["notes"]:
        st.caption(f"ℹ️ {note}")
    _ui.explain("Every model is cross-validated on the training part only; the test rows are "
                "scored once, at the very end, so the final number is an honest estimate.")


def _show_estimate(project: Project, plan: dict[str, Any]) -> dict[str, Any] | None:
    """Time and memory measured from pilot fits on this data, before training starts."""
    roles = json.dumps(project.effective_roles(), sort_keys=True)
    try:
        with st.spinner("Timing a few small pilot fits to estimate time and memory…"):
            estimate = _estimate(project.table.fingerprint, project.recipe.to_json(), roles,
                                 project.frame, plan)
    except TabwrightError as exc:
        st.caption(f"No estimate: {exc.message}")
        return None
    cols = st.columns(4)
    if plan["auto"]:
        cols[0].metric("Expected time", _duration(estimate["seconds"]),
                       help="Auto mode keeps its budget, refit and test included.")
    else:
        cols[0].metric("Expected time", f"{_duration(estimate['seconds'])} – "
                                        f"{_duration(estimate['seconds_high'])}",
                       help="Measured: each model's pipeline was fitted on two small samples of "
                            "your data on this server and the timings extrapolated to the rows "
                            "each fit uses. A busy server can take up to the upper figure.")
    cols[1].metric("Memory at peak", _size(estimate["memory_mb"]),
                   help="The data is held twice while training (the whole table and its "
                        "train/test parts), plus the prepared matrix and the fitted model.")
    cols[2].metric("Your data in memory", _size(estimate["data_mb"]))
    if estimate["available_mb"] is not None:
        cols[3].metric("Free on this server", _size(estimate["available_mb"]))
    for note in estimate["notes"]:
        st.warning(note, icon="⏱️")
    budget = estimate.get("recommended_budget")
    if budget and budget <= current_limits().max_training_seconds and st.button(
            f"Use a {_duration(budget).lstrip('~')} budget", key="train_use_budget", icon="⏱️"):
        recipe = project.recipe.copy()
        recipe.time_budget = float(budget)
        _state.set_project(update_recipe(project, recipe, reason="You raised the time budget"))
        st.rerun()
    return estimate


def _size(mb: float) -> str:
    if mb < 1:
        return "under 1 MB"
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"~{max(1, round(seconds))} s"
    return f"~{seconds / 60:.0f} min"


def leaderboard_frame(leaderboard: list[dict[str, Any]], metric: str) -> pd.DataFrame:
    """The leaderboard as a table a person reads: one row per model, best first."""
    label = metric_label(metric)
    rows = []
    for rank, r in enumerate(leaderboard, 1):
        mean, std = r.get(metric), r.get(f"{metric}_std")
        rows.append({
            "#": rank if r.get("status", "ok") == "ok" else None,
            "Model": r.get("label") or r.get("model"),
            f"{label} (CV mean)": mean,
            "± std": std,
            "Fit time (s)": r.get("fit_seconds"),
            "Notes": r.get("note") or ("" if r.get("status", "ok") == "ok" else r.get("status")),
        })
    return pd.DataFrame(rows)


def show_leaderboard(leaderboard: list[dict[str, Any]], metric: str, *, key: str | None) -> None:
    frame = leaderboard_frame(leaderboard, metric)
    score = frame.columns[2]
    st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config={
        "#": st.column_config.NumberColumn(width="small"),
        score: st.column_config.NumberColumn(format="%.4f"),
        "± std": st.column_config.NumberColumn(format="%.4f", width="small"),
        "Fit time (s)": st.column_config.NumberColumn(format="%.2f", width="small"),
    })


def _live(job: TrainingJob) -> None:
    """Progress, queue position, the live leaderboard and Cancel, redrawn twice a second.

    A plain polling loop rather than a timed fragment: any click (Cancel, another page)
    interrupts the loop at once, and no timer is left behind to pull the user back here.
    """
    if job.cancel_token.cancelled:
        st.caption("Cancelling after the current fit…")
    elif st.button("Cancel training", key="train_cancel", icon="⏹️"):
        job.cancel()
        st.rerun()
    context = getattr(job, "tabwright_context", None)
    metric = context.recipe.effective_metric if context else "roc_auc"
    box = st.empty()
    shown = None
    # TABWRIGHT_POLL_SECONDS=0 draws the state once per run (tests drive reruns themselves).
    until = time.monotonic() + settings.poll_seconds()
    while True:
        progress = job.progress
        elapsed = time.monotonic() - job.started
        state = (job.state, job.queue_position, round(progress.fraction, 2), progress.message,
                 len(progress.leaderboard), int(elapsed))
        if state != shown:
            shown = state
            with box.container():
                if job.state == "queued":
                    ahead = max(job.queue_position - 1, 0) + job.queue.running
                    st.info(f"⏳ Waiting for a free training slot: {ahead} training"
                            f"{'s' if ahead != 1 else ''} ahead of you. It starts by itself; you "
                            "can keep working on other pages.")
                st.progress(min(max(progress.fraction, 0.0), 1.0),
                            text=f"{progress.message} · {elapsed:.0f} s")
                if progress.leaderboard:
                    st.markdown("**Leaderboard so far**")
                    show_leaderboard(progress.leaderboard, metric, key=None)
        if not job.active:
            st.rerun()
        if time.monotonic() >= until:
            return
        time.sleep(0.5)


def _start(project: Project, hypothesis: str) -> None:
    try:
        project.recipe.validate(list(project.frame.columns))
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    work = TrainWork(project.frame, project.recipe, inferred_roles=project.effective_roles())
    job = TrainingJob(work)
    job.tabwright_context = _RunContext(hypothesis=hypothesis.strip(), data_name=project.table.name,
                                        data_fingerprint=project.table.fingerprint,
                                        recipe=project.recipe.copy())
    _state.set_job(job.start())
    st.rerun()


def _show_result(project: Project) -> None:
    result = project.result
    metric = result.metric
    label = metric_label(metric)
    best = result.leaderboard[0]
    st.subheader("Result")
    test_value = (result.evaluation or {}).get("metrics", {}).get(metric)
    st.markdown(f"**Best model:** {best['label']}")
    cols = st.columns(3)
    cv, std = best.get(metric), best.get(f"{metric}_std")
    cols[0].metric(f"CV {label}", "n/a" if cv is None else f"{cv:.4f}",
                   help="Mean over the validation folds" + (f", ± {std:.4f} (std)." if std is not None else "."))
    if result.task != "clustering":
        cols[1].metric(f"Test {label}", "n/a" if test_value is None else f"{test_value:.4f}",
                       help="Scored once on the held-out test rows.")
    cols[2].metric("Training time", f"{result.seconds:.1f} s")
    if project.run_id:
        run = _run_record(project.run_id)
        if run and run.get("hypothesis"):
            st.markdown(f"**You expected:** {run['hypothesis']}")
    st.markdown("**Leaderboard**")
    show_leaderboard(result.leaderboard, metric, key="train_board")
    if result.noise_note:
        st.info(result.noise_note, icon="〰️")
    if result.notes:
        with st.expander("What happened in this run", expanded=True):
            st.markdown("\n".join(f"- {note}" for note in result.notes))
            st.caption(f"Validation: {result.cv_description}. Run id: {project.run_id or 'not saved'}.")
    st.page_link("pages/evaluate.py", label="See the evaluation →", icon="📊")


def _run_record(run_id: str) -> dict[str, Any] | None:
    try:
        return RunStore().get(run_id, owner=_state.owner())
    except TabwrightError:
        return None


_collect_finished_job()
project = _ui.page_header("train")
if not _ui.require(project, "train"):
    st.stop()

job = _state.job()
training = job is not None and job.active
_show_failure(job)
_show_plan(project, expanded=project.result is None and not training)
st.subheader("Your expectation")
hypothesis = st.text_input(
    "What do you expect this run to show?", key="train_hypothesis", persist_state="session",
    placeholder="e.g. Class weights will lift recall above 0.8",
    help="Saved with the run, so the history says what each experiment was for.")
if st.button("Train", type="primary", icon="🏋️", disabled=training, key="train_start"):
    _start(project, hypothesis)
if training:
    _live(job)
elif project.result is not None:
    _show_result(project)
