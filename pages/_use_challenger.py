"""The Use page's champion vs challenger: retrain on new labelled data, promote only on a real win.

The champion is the chosen recorded run. Its recipe trains a challenger on the new file except
its most recent rows; both are scored on those rows, and the challenger replaces the champion
in production only when it is better by the margin and beyond noise (a paired bootstrap).
Training runs in this script with a progress bar; clicking anything on the page stops it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import RunStore
from core.errors import TabwrightError
from core.formatting import escape_markdown, format_number
from core.ingest import LoadedTable
from core.metrics import metric_label
from core.monitor import retrain
from core.run import Progress
from pages import _state, _ui


def challenger_section(run_id: str | None, card: dict[str, Any], table: LoadedTable) -> None:
    """Offer to challenge the champion run ``run_id`` with ``table`` (needs its target column)."""
    st.markdown("**Champion vs challenger**")
    target = card.get("target")
    if run_id is None:
        st.caption("Choose a recorded run above (the Runs page lists them) to challenge it.")
        return
    if not target or target not in table.frame.columns:
        st.caption(f"This file has no {escape_markdown(target or 'target')} column: a challenger "
                   "needs labelled rows to train on and to be compared on.")
        return
    _ui.explain("A challenger is trained with this model's recipe on the file, except its most "
                "recent rows; both models are scored on those rows. The challenger goes into "
                "production only if it wins by your margin and by more than chance.")
    left, right = st.columns([1, 2])
    margin = left.number_input(f"Margin ({metric_label(card.get('metric') or '')})",
                               min_value=0.0, value=0.0, step=0.005, format="%.4f",
                               key="use_margin",
                               help="How much better the challenger must be, in the metric's "
                                    "units. 0: any win beyond noise.")
    promote = right.checkbox("Promote the challenger if it wins", value=True, key="use_promote")
    if not st.button("Train a challenger", icon="🥊", key="use_challenge"):
        return
    bar = st.progress(0.0, text="Training the challenger…")

    def progress(p: Progress) -> None:
        bar.progress(min(max(p.fraction, 0.0), 1.0), text=p.message[:120])

    try:
        outcome = retrain(run_id, table.frame, store=RunStore(), data_name=table.name,
                          margin=float(margin), promote=promote, owner=_state.owner(),
                          who=None, progress=progress)
    except TabwrightError as exc:
        bar.empty()
        _ui.show_error(exc)
        return
    bar.empty()
    show_outcome(outcome)


def show_outcome(outcome: dict[str, Any]) -> None:
    """The comparison and the decision, in words and numbers."""
    c = outcome["challenge"]
    won = outcome["decision"] == "promote"
    (st.success if won else st.info)(escape_markdown(outcome["message"]), icon="🏆" if won else "🛡️")
    st.dataframe(pd.DataFrame({
        "": ["Champion", "Challenger", "Difference"],
        c["metric_label"]: [c["champion_score"], c["challenger_score"], c["difference"]],
    }), hide_index=True, key="use_challenge_table")
    low, high = c["interval"]
    st.caption(f"Scored on {escape_markdown(c['held_out'])}; the challenger trained on "
               f"{format_number(c['rows_trained'])} rows. 95% interval of the difference: "
               f"{low:+.4f} to {high:+.4f}. {escape_markdown(c['reason'])}")
