"""Export: the model, its card, the report, a script to retrain it and a container, as downloads.

The model files (joblib, skops, card, recipe) are made once per run and cached, and handed to
their buttons as bytes: a deferred download (a callable) is a file Streamlit may drop after
two script runs anywhere on the server, which under load happened before the browser fetched
it. The zip (the whole bundle: these files, the reports, the script, a Dockerfile, pinned
requirements and tabwright's wheel), the reports and the script are bigger or slower to make,
so they stay deferred: generated when their button is clicked, and cached too. The zip renders
the same cached report the report buttons download.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import streamlit as st

from core.deliver import (
    build_report,
    bundle_zip,
    model_card,
    model_files,
    render_html,
    render_markdown,
    render_training_script,
    report_title,
)
from core.metrics import metric_label
from core.project import Project
from core.run import TrainResult
from pages import _ui
from pages._export_finalize import finalize_section


@st.cache_data(show_spinner=False, max_entries=16)
def _files(run_key: str, data_name: str, run_id: str | None, _result: TrainResult) -> dict[str, bytes]:
    return model_files(_result, data_name=data_name, run_id=run_id)


@st.cache_data(show_spinner=False, max_entries=16)
def _card(run_key: str, data_name: str, run_id: str | None, _result: TrainResult) -> dict[str, Any]:
    return model_card(_result, data_name=data_name, run_id=run_id)


@st.cache_data(show_spinner=False, max_entries=16)
def _zip(report_key: str, data_name: str, project_name: str, run_id: str | None, _project: Project) -> bytes:
    return bundle_zip(_project.result, data_name=data_name, run_id=run_id, table=_project.table,
                      report=_report(report_key, data_name, project_name, _project))


@st.cache_data(show_spinner=False, max_entries=16)
def _report(report_key: str, data_name: str, project_name: str, _project: Project) -> dict[str, Any]:
    return build_report(_project.result, project_name=project_name, profile=_project.profile,
                        data_name=data_name, recipe=_project.recipe, frame=_project.frame)


@st.cache_data(show_spinner=False, max_entries=16)
def _report_html(report_key: str, data_name: str, project_name: str, _project: Project) -> bytes:
    return render_html(_report(report_key, data_name, project_name, _project)).encode()


@st.cache_data(show_spinner=False, max_entries=16)
def _report_markdown(report_key: str, data_name: str, project_name: str, _project: Project) -> bytes:
    return render_markdown(_report(report_key, data_name, project_name, _project)).encode()


@st.cache_data(show_spinner=False, max_entries=16)
def _script(run_key: str, data_name: str, _result: TrainResult, _table: Any) -> bytes:
    return render_training_script(_result, data_name=data_name, table=_table).encode()


def _project_name(project: Project, data_name: str) -> str:
    """The report's title, from the brief as it reads now (rewording it does not retrain)."""
    return report_title(project.result, data_name=data_name, problem=project.recipe.brief.problem)


def _download_row(label: str, file_name: str, data: Any, mime: str, explanation: str, *, key: str,
                  primary: bool = False) -> None:
    left, right = st.columns([1.3, 3], vertical_alignment="center")
    left.download_button(label, data=data, file_name=file_name, mime=mime, key=key,
                         on_click="ignore", icon="⬇️", type="primary" if primary else "secondary",
                         width="stretch")
    right.markdown(explanation)


def _downloads(project: Project) -> None:
    result = project.result
    key = _ui.run_key(project)
    data_name = project.table.name if project.table is not None else "data.csv"
    name = _project_name(project, data_name)
    table, run_id = project.table, project.run_id
    # The report also reads the costs and sensitive columns as the recipe states them now.
    report_key = f"{key}|{project.recipe.sensitive}|{project.recipe.imbalance.costs}"
    files = _files(key, data_name, run_id, result)
    st.subheader("Downloads")
    _ui.explain("Files are prepared when you click; the report takes a few seconds the first time.")
    _download_row("Model bundle (.zip)", "model_bundle.zip",
                  functools.partial(_zip, report_key, data_name, name, run_id, project),
                  "application/zip",
                  "**Everything below in one zip**, with a README, a `Dockerfile`, pinned "
                  "`requirements.txt` and tabwright's wheel: unzip it and run `tabwright serve` "
                  "on the folder, or `docker build` an image that serves the model.",
                  key="export_zip", primary=True)
    _download_row("model.joblib", "model.joblib", files["model.joblib"],
                  "application/octet-stream",
                  "The fitted scikit-learn pipeline (preparation included). ⚠️ Loading a joblib "
                  "file runs code: only load files you made yourself.", key="export_joblib")
    _download_row("model.skops", "model.skops", files["model.skops"],
                  "application/octet-stream",
                  "The same model in skops format, which does not run code when loaded (review the "
                  "types it lists first): the safer format to share.", key="export_skops")
    _download_row("model.json (model card)", "model.json",
                  files["model.json"], "application/json",
                  "What the model predicts, its input schema, scores, intended use and limits, and "
                  "the baseline statistics used for drift checks.", key="export_card")
    _download_row("recipe.json", "recipe.json", files["recipe.json"],
                  "application/json",
                  "Every choice, resolved: `tabwright train DATA.csv --recipe recipe.json` rebuilds "
                  "this exact model.", key="export_recipe")
    _download_row("Report (.html)", "report.html",
                  functools.partial(_report_html, report_key, data_name, name, project), "text/html",
                  "The full report with interactive charts, in one file that opens offline in any "
                  "browser.", key="export_html")
    _download_row("Report (.md)", "report.md",
                  functools.partial(_report_markdown, report_key, data_name, name, project),
                  "text/markdown", "The same report as Markdown, for a wiki page or a pull request.",
                  key="export_markdown")
    _download_row("train.py", "train.py", functools.partial(_script, key, data_name, result, table),
                  "text/x-python",
                  "A standalone scikit-learn script that retrains this model from the CSV, without "
                  "tabwright.", key="export_script")


def _model_card(project: Project) -> None:
    result = project.result
    data_name = project.table.name if project.table is not None else "data.csv"
    card = _card(_ui.run_key(project), data_name, project.run_id, result)
    st.subheader("The model card")
    metric = card["metric"]
    label = metric_label(metric)
    cols = st.columns(4)
    cols[0].metric("Task", card["task"])
    cols[1].metric("Target", str(card["target"]) if card["target"] else "—")
    cv = card["cv"]
    cols[2].metric(f"CV {label}", "n/a" if cv["mean"] is None else f"{cv['mean']:.4f}",
                   help=None if cv["std"] is None else f"± {cv['std']:.4f} over the folds ({cv['description']}).")
    test = card["test_metrics"].get(metric)
    cols[3].metric(f"Test {label}", "n/a" if test is None else f"{test:.4f}")
    model = ", ".join(card["model"]["labels"])
    facts = [f"**Model:** {model}" + (" (ensemble)" if card["model"]["ensemble"] else "")]
    if card.get("classes"):
        facts.append(f"**Classes:** {', '.join(map(str, card['classes']))}")
    if card.get("threshold") is not None and card["task"] == "binary":
        facts.append(f"**Decision threshold:** {card['threshold']:.3f}")
    training = card["training_data"]
    facts.append(f"**Trained on:** {training['rows_train']:,} rows of {training['name']} "
                 f"(tested on {training['rows_test']:,}; data fingerprint `{training['fingerprint']}`)"
                 + (f", then refitted on all {training['rows_final']:,}" if training.get("rows_final") else ""))
    facts.append(f"**Project:** `{card['project']}`"
                 + (f" · **Run:** `{card['run_id']}`" if card.get("run_id") else ""))
    st.markdown("  \n".join(facts))
    left, right = st.columns(2)
    with left:
        st.markdown("**Intended use**")
        st.markdown(card["intended_use"])
    with right:
        st.markdown("**Limitations**")
        st.markdown("\n".join(f"- {item}" for item in card["limitations"]))
    columns = card["input_schema"]["columns"]
    roles = pd.Series([c["role"] for c in columns]).value_counts()
    st.markdown(f"**Inputs:** {len(columns)} columns — "
                + ", ".join(f"{n} {role}" for role, n in roles.items())
                + (f"; {len(card['dropped_columns'])} left out" if card.get("dropped_columns") else ""))
    with st.expander("Input schema"):
        st.dataframe(pd.DataFrame([_schema_row(c) for c in columns]), hide_index=True, width="stretch")
    st.caption("Library versions: " + ", ".join(f"{k} {v}" for k, v in card["library_versions"].items()))


def _schema_row(column: dict[str, Any]) -> dict[str, Any]:
    if column["role"] == "numeric":
        expected = f"{column.get('min')} … {column.get('max')}"
    elif "levels" in column:
        levels = column["levels"][:5]
        expected = ", ".join(levels) + (" …" if column.get("n_levels", 0) > len(levels) else "")
    else:
        expected = ""
    return {"column": column["name"], "role": column["role"], "type": column["dtype"],
            "expected values": expected, "missing in training": f"{column['missing_fraction']:.1%}"}


project = _ui.page_header("export")
if not _ui.require(project, "export"):
    st.stop()
finalize_section(project)
_downloads(project)
_model_card(project)
_ui.next_step("export")
