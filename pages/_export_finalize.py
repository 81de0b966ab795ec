"""Export page: refit the model on every row before taking it away (finalize).

The test rows measured the model; once measured, they are evidence the delivered model can
use too. The page says which model the downloads hold, and offers the refit when it was not
done in training (auto mode does it itself on tables up to 50,000 rows).
"""

from __future__ import annotations

import streamlit as st

from core.errors import TabwrightError
from core.project import Project, finalize_project
from pages import _state, _ui


def finalize_section(project: Project) -> None:
    """What the downloads hold, and a button to refit on every row when they do not yet."""
    result = project.result
    if result.task == "clustering":
        return
    if result.final_rows:
        st.success(f"The model you download was refitted on all {result.final_rows:,} rows after "
                   f"the test. The test scores below were measured on the model fitted on "
                   f"{result.n_train:,} rows, before it saw the {result.n_test:,} test rows.",
                   icon="✅")
        return
    st.info(f"The model below was fitted on {result.n_train:,} training rows; the "
            f"{result.n_test:,} test rows were kept aside to measure it. Now that it is measured, "
            "you can refit the same configuration (same models, settings and threshold) on every "
            "row, so the model you take away learns from all of your data.", icon="🧮")
    if not st.button(f"Refit on all {result.n_train + result.n_test:,} rows",
                     key="export_finalize"):
        return
    bar = st.progress(0.0, text="Refitting the chosen configuration on every row…")
    try:
        collected = finalize_project(project, owner=_state.owner())
    except TabwrightError as exc:
        bar.empty()
        _ui.show_error(exc)
        return
    bar.progress(1.0, text="Refitted.")
    _state.set_project(collected.project)
    for kind, text in collected.messages:
        _state.flash(kind, text)
    st.rerun()
