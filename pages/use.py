"""Use: predict a new file, check it for drift, retrain on it, or serve the model.

The model is always one tabwright trained itself (the current one, or one from the run
history). There is deliberately no model upload: loading a model file runs code.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import RunStore, model_card, predict_and_log, predict_table
from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.ingest import LoadedTable, to_safe_csv
from core.project import Project, load_data, update_recipe
from core.recipe import Recipe
from core.run import TrainResult
from pages import (
    _data_upload,
    _state,
    _ui,
    _use_challenger,
    _use_drift,
    _use_joins,
    _use_serving,
)

CURRENT = "current"
PREVIEW_ROWS = 50


@st.cache_data(show_spinner=False, max_entries=16)
def _current_card(run_key: str, data_name: str, run_id: str | None,
                  _result: TrainResult) -> dict[str, Any]:
    return model_card(_result, data_name=data_name, run_id=run_id)


def _runs() -> list[dict[str, Any]]:
    try:
        return RunStore().list_runs(owner=_state.owner())
    except TabwrightError:
        return []


def _choose_model(project: Project, runs: list[dict[str, Any]]
                  ) -> tuple[Any, dict[str, Any], Recipe, str | None] | None:
    """The model to use, its card, the recipe that made it and its run id (if recorded)."""
    options = ([CURRENT] if project.result is not None else []) + [r["run_id"] for r in runs
                                                                   if r["run_id"] != project.run_id]
    labels = {CURRENT: "The current model"} | {r["run_id"]: _run_label(r) for r in runs}
    choice = st.selectbox("Predict with", options, format_func=lambda o: labels.get(o, o), key="use_model")
    st.caption("🔒 There is no model upload on purpose: loading a model file runs code, so "
               "tabwright only uses models it trained itself, in this session.")
    if choice == CURRENT:
        data_name = project.table.name if project.table is not None else "data.csv"
        return (project.result.delivered,
                _current_card(_ui.run_key(project), data_name, project.run_id, project.result),
                project.result.recipe, project.run_id)
    try:
        model, card = RunStore().load_model(choice, owner=_state.owner())
    except TabwrightError as exc:
        _ui.show_error(exc)
        return None
    return model, card, Recipe.from_dict(card["recipe"]), choice


def _run_label(run: dict[str, Any]) -> str:
    parts = [str(run.get("created", ""))[:16].replace("T", " "), run.get("model_label") or run.get("model", "")]
    metric, value = run.get("metric"), (run.get("test_metrics") or {}).get(run.get("metric"))
    if metric and value is not None:
        parts.append(f"{metric} {value:.4f}")
    return " · ".join(p for p in parts if p)


def _upload() -> tuple[LoadedTable, bytes] | None:
    uploaded = st.file_uploader("A CSV, Excel or Parquet file with the same columns as the "
                                "training data (the target column is optional)",
                                key="predict_upload", type=_data_upload.UPLOAD_TYPES,
                                help="A workbook's first sheet that holds a table is read.")
    if uploaded is None:
        return None
    data = uploaded.getvalue()
    try:
        table = _data_upload.read_uploaded(uploaded)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return None
    st.caption(f"**{table.name}** · {table.summary()}")
    return table, data


def _predictions(model: Any, card: dict[str, Any], table: LoadedTable) -> None:
    st.subheader("Predictions")
    log = st.checkbox("Record these predictions for monitoring", key="use_log",
                      help="Keeps each row, its prediction and an id in the project's prediction "
                           "log: the Monitor page then follows drift and, once you send the true "
                           "outcomes with those ids, the model's real performance.")
    try:
        if log:
            predictions, notices, health = _logged(card, table)
        else:
            predictions, notices = predict_table(model, card, table.frame)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    if log:
        if health["ok"]:
            st.success(f"{len(predictions):,} predictions recorded; their ids are in the id "
                       "column (send outcomes with them on the Monitor page).", icon="📝")
        else:
            st.warning("The predictions could not be recorded: "
                       f"{escape_markdown(health['last_error'])}", icon="⚠️")
    for notice in notices:
        st.warning(notice, icon="🔎")
    output = pd.concat([predictions, table.frame.reset_index(drop=True)], axis=1)
    st.dataframe(output.head(PREVIEW_ROWS), width="stretch", key="use_preview")
    st.caption(f"{len(output):,} rows predicted" + (f"; the first {PREVIEW_ROWS} shown." if len(output) > PREVIEW_ROWS else "."))
    stem = table.name.rsplit(".", 1)[0] or "data"
    st.download_button("Download the predictions (.csv)", data=functools.partial(to_safe_csv, output),
                       file_name=f"{stem}_predictions.csv", mime="text/csv", icon="⬇️",
                       type="primary", on_click="ignore", key="use_download")
    _ui.explain("Cells that start with = + - @ are prefixed with ' in the download, so a "
                "spreadsheet never runs them as formulas.")


@st.cache_data(show_spinner="Predicting and recording…", max_entries=4)
def _logged_once(digest: str, run: str, _card: dict[str, Any], _table: LoadedTable
                 ) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """Record a file's predictions once: a rerun of the page must not log them again."""
    model, card = RunStore().load_model(run, owner=_state.owner())
    return predict_and_log(model, card, _table.frame)


def _logged(card: dict[str, Any], table: LoadedTable) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    if not card.get("run_id"):
        raise TabwrightError("Only a recorded run can log its predictions.",
                             "Choose a run from the history above, or train again.")
    return _logged_once(table.fingerprint, card["run_id"], card, table)


def _retrain(project: Project, table: LoadedTable, data: bytes, recipe: Recipe) -> None:
    st.markdown("**Retrain on this data with the same recipe**")
    if recipe.joins:
        st.caption("This model's data is joined from several tables: load the main table on the "
                   "Data page and join the related ones there, then train.")
        return
    st.caption("Loads this file as the project's data with the resolved recipe of the model above "
               "(same preparation, models and settings), then takes you to Train.")
    if st.button("Retrain on this data", icon="🔁", key="use_retrain"):
        def swap(p: Project) -> Project:
            return update_recipe(load_data(p, data, name=table.name), recipe.copy(),
                                 reason="You loaded new data to retrain")

        if _ui.attempt(swap, project, success=f"Loaded {table.name} with the same recipe: train it now."):
            st.switch_page("pages/train.py")


project = _ui.page_header("use")
runs = _runs()
if project.result is None and not runs:
    _ui.require(project, "use")
    st.stop()
st.subheader("Model")
chosen = _choose_model(project, runs)
if chosen is None:
    st.stop()
model, card, recipe, run_id = chosen
st.subheader("Predict a file")
upload = _upload()
if upload is not None:
    table, data = upload
    table = _use_joins.with_related(table, recipe)
    if table is None:
        st.stop()
    _predictions(model, card, table)
    _use_drift.drift_section(model, card, table)
    _retrain(project, table, data, recipe)
    _use_challenger.challenger_section(run_id, card, table)
_use_serving.serving_section(card, upload[0] if upload else None)
_ui.next_step("use")
