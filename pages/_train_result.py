"""The Train page's result: the leaderboard (live and final) and the finished run."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import RunStore
from core.errors import TabwrightError
from core.metrics import metric_label
from core.project import Project
from pages import _state


def leaderboard_frame(leaderboard: list[dict[str, Any]], metric: str,
                      ranked_by: str | None = None) -> pd.DataFrame:
    """The leaderboard as a table a person reads: one row per model, best first, with the
    column it is ranked by when that is not ``metric`` (auto mode's log loss)."""
    label = metric_label(metric)
    ranked_by = ranked_by if ranked_by and ranked_by != metric else None
    rows = []
    for rank, r in enumerate(leaderboard, 1):
        mean, std = r.get(metric), r.get(f"{metric}_std")
        row = {
            "#": rank if r.get("status", "ok") == "ok" else None,
            "Model": r.get("label") or r.get("model"),
            f"{label} (CV mean)": mean,
            "± std": std,
        }
        if ranked_by:
            row[f"{metric_label(ranked_by)} (ranks)"] = r.get(ranked_by)
        rows.append({**row, "Fit time (s)": r.get("fit_seconds"),
                     "Notes": r.get("note") or ("" if r.get("status", "ok") == "ok"
                                                else r.get("status"))})
    return pd.DataFrame(rows)


def show_leaderboard(leaderboard: list[dict[str, Any]], metric: str, *, key: str | None,
                     ranked_by: str | None = None) -> None:
    """The leaderboard as a table with its numbers formatted."""
    frame = leaderboard_frame(leaderboard, metric, ranked_by)
    numbers = [c for c in frame.columns[2:] if c.endswith(("(CV mean)", "(ranks)"))]
    st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config={
        "#": st.column_config.NumberColumn(width="small"),
        **{c: st.column_config.NumberColumn(format="%.4f") for c in numbers},
        "± std": st.column_config.NumberColumn(format="%.4f", width="small"),
        "Fit time (s)": st.column_config.NumberColumn(format="%.2f", width="small"),
    })


def show_result(project: Project) -> None:
    """The project's trained run: its scores, what was expected, the leaderboard and notes."""
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
    show_leaderboard(result.leaderboard, metric, key="train_board",
                     ranked_by=result.recipe.rank_metric)
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
