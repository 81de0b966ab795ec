"""Train: the plan of the run, what you expect it to show, then training in the background.

Training runs in a :class:`core.train.TrainingJob` worker process, so the rest of the app
stays usable; a polling loop redraws its progress while it runs, and any click interrupts the
loop. When it finishes, :func:`core.project.collect_training` records it in the run history
and makes it the project's result; every rerun of this page checks the job first, so the
final state appears however the page was reached.
"""

from __future__ import annotations

import time

import streamlit as st

from core import settings
from core.errors import TabwrightError
from core.project import Project, collect_training
from core.train import RunContext, TrainingJob, TrainWork
from pages import _state, _train_plan, _train_result, _ui


def _collect_finished_job() -> None:
    """Turn a finished job into a recorded run and the project's result (once).

    A failed or empty job stays in the session so its message stays visible until the next
    training starts.
    """
    job = _state.job()
    if job is None:
        return
    collected = collect_training(_state.project(), job, owner=_state.owner())
    if collected is None:
        return
    _state.set_project(collected.project)
    for kind, text in collected.messages:
        _state.flash(kind, text)


def _show_failure(job: TrainingJob | None) -> None:
    """The last training's failure or empty cancel, until the next training starts."""
    if job is None or job.active or job.result is not None:
        return
    if job.state == "failed" or (job.state == "cancelled" and job.error):
        st.error(f"**{job.error}**" + (f"\n\n{job.hint}" if job.hint else "")
                 + "\n\nYour choices are kept: change them and train again.", icon="⚠️")
    else:
        st.info("Training cancelled before any model finished. Your choices are kept.", icon="⏹️")


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
    recipe = job.context.recipe if job.context else None
    metric = recipe.effective_metric if recipe else "roc_auc"
    ranked_by = recipe.effective_rank_metric if recipe else None
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
                    _train_result.show_leaderboard(progress.leaderboard, metric, key=None,
                                                   ranked_by=ranked_by)
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
    context = RunContext(hypothesis=hypothesis.strip(), data_name=project.table.name,
                         data_fingerprint=project.table.fingerprint, recipe=project.recipe.copy())
    job = TrainingJob(work, context=context)
    _state.set_job(job.start())
    st.rerun()


_collect_finished_job()
project = _ui.page_header("train")
if not _ui.require(project, "train"):
    st.stop()

job = _state.job()
training = job is not None and job.active
_show_failure(job)
_train_plan.show_plan(project, expanded=project.result is None and not training)
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
    _train_result.show_result(project)
