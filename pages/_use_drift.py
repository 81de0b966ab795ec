"""The Use page's drift section: is a new file still like the training data, and how do scores hold up."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import check_drift, drift_figure
from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.ingest import LoadedTable
from core.metrics import metric_label
from pages import _ui

CHART_CONFIG = {"displaylogo": False}


def drift_section(model: Any, card: dict[str, Any], table: LoadedTable) -> None:
    """The drift verdict, the change in score when the file has labels, and each column's shift."""
    st.subheader("Is this data still like the training data?")
    note = None
    try:
        drift = check_drift(card, table.frame, model=model)
    except TabwrightError as exc:
        note = ("Performance and the model's own predictions could not be checked: "
                f"{escape_markdown(exc.message)}")
        try:
            drift = check_drift(card, table.frame)
        except TabwrightError as inner:
            _ui.show_error(inner)
            return
    show = {"no drift": st.success, "watch": st.warning, "retrain": st.error}[drift["verdict"]]
    icon = {"no drift": "✅", "watch": "👀", "retrain": "🔁"}[drift["verdict"]]
    show(drift["explanation"], icon=icon)
    if note:
        st.caption(f"ℹ️ {note}")
    output = drift.get("prediction_drift")
    if output and output.get("psi") is not None:
        st.caption(f"The model's own predictions on this file: PSI {output['psi']:.3f} "
                   f"({output['status']}). A shift in an input the model leans on moves them; "
                   "one in an input it hardly uses does not.")
    change = drift.get("performance_change")
    if change:
        label = metric_label(change["metric"])
        cols = st.columns(3)
        cols[0].metric(f"{label} at training (test set)", f"{change['then']:.4f}")
        cols[1].metric(f"{label} on this file", f"{change['now']:.4f}",
                       delta=f"{change['change']:+.4f}", delta_color="normal")
        cols[2].metric("Labelled rows", f"{drift['performance']['rows']:,}")
    target = drift.get("target_drift")
    if target and target.get("psi") is not None:
        st.caption(f"Target {card['target']!r}: PSI {target['psi']:.3f}"
                   + (f", p-value {target['p_value']:.3g}" if target.get("p_value") is not None else "")
                   + " — a changed share of outcomes can shift the best threshold.")
    fig = drift_figure(drift)
    if fig is not None:
        _ui.chart(fig, key="use_drift_chart", config=CHART_CONFIG)
    rows = [{"feature": r["feature"], "status": r["status"], "PSI": r.get("psi"),
             "test": r.get("test", ""), "p-value": r.get("p_value"),
             "missing now": r.get("missing_now"),
             "new values": ", ".join(r.get("new_levels") or [])} for r in drift["features"]]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="use_drift_table",
                 column_config={"PSI": st.column_config.NumberColumn(format="%.3f"),
                                "p-value": st.column_config.NumberColumn(format="%.3g"),
                                "missing now": st.column_config.NumberColumn(format="percent")})
    _ui.explain("PSI compares each column's distribution with training: below 0.1 no real change, "
                "0.1–0.25 worth watching, above 0.25 a major shift. With many rows, tiny shifts get "
                "small p-values: read PSI for the size of a change.")
