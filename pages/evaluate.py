"""Evaluate: is the model good enough, how does it fail, and what to try next.

Test-set metrics are computed once by training (``result.evaluation``); this page draws them,
compares them with the good-enough bar, and computes the costlier diagnostics (learning
curve, permutation importance, latency) only when asked or once per run (cached by run).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.run import TrainResult
from core.deliver import RunStore
from core.errors import TabwrightError
from core.evaluate import (
    apply_next_step,
    bar_verdict,
    error_analysis,
    figures,
    fit_diagnosis,
    importance_for,
    latency_verdict,
    measure_latency,
    readable_model,
    rows_for_confusion_cell,
    suggest_next,
)
from core.metrics import METRICS, card_metrics, metric_help
from core.project import Project, update_recipe
from core.train import learning_curve_for
from pages import _state, _ui

CHART_CONFIG = {"displaylogo": False}


@st.cache_data(show_spinner="Timing single-row predictions…", max_entries=64)
def _latency(run_key: str, _result: TrainResult) -> float:
    return measure_latency(_result.pipeline, _result.X_test)


@st.cache_data(show_spinner="Shuffling each column to measure its importance…", max_entries=64)
def _importance(run_key: str, _result: TrainResult) -> list[dict[str, Any]]:
    return importance_for(_result)


@st.cache_data(show_spinner="Refitting on growing shares of the training rows…", max_entries=32)
def _learning_curve(run_key: str, _result: TrainResult) -> dict[str, Any]:
    return learning_curve_for(_result)


@st.cache_data(show_spinner=False, max_entries=64)
def _cell_rows(run_key: str, true_label: Any, predicted: Any, threshold: Any, positive: Any,
               _result: TrainResult) -> pd.DataFrame:
    # Predicts every test row: on a million-row file that is seconds, so once per cell.
    return rows_for_confusion_cell(_result.pipeline, _result.X_test, _result.y_test,
                                   true_label=true_label, predicted_label=predicted,
                                   threshold=threshold, positive_label=positive)


@st.cache_data(show_spinner=False, max_entries=64)
def _errors(run_key: str, _result: TrainResult) -> dict[str, Any]:
    ev = _result.evaluation
    return error_analysis(_result.pipeline, _result.X_test, _result.y_test, task=_result.task,
                          threshold=ev.get("threshold"), positive_label=ev.get("positive_label"))


def _fmt(value: Any, metric: str = "") -> str:
    if value is None:
        return "n/a"
    if metric == "mape":
        return f"{value:.1%}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"


def _previous_run(project: Project) -> dict[str, Any] | None:
    """The run before the current one on the same data, from the run history."""
    if not project.run_id:
        return None
    store = RunStore()
    try:
        previous = store.get(project.run_id, owner=_state.owner()).get("previous_run_id")
        return store.get(previous, owner=_state.owner()) if previous else None
    except TabwrightError:
        return None


# --------------------------------------------------------------------------- sections


def _verdict_section(project: Project) -> None:
    result, brief = project.result, project.recipe.brief
    verdict = bar_verdict(brief, result, previous=_previous_run(project))
    st.subheader("Good enough?")
    show = {"met": st.success, "not met": st.error}.get(verdict["status"], st.info)
    icon = {"met": "✅", "not met": "❌"}.get(verdict["status"], "🎯")
    show(verdict["sentence"], icon=icon)
    if verdict["improvement"]:
        st.caption(verdict["improvement"]["sentence"])
    if verdict["status"] in ("no bar", "unknown"):
        st.page_link("pages/define.py", label="Set the bar on Define", icon="🎯")
    if brief.max_latency_ms is not None:
        try:
            latency = latency_verdict(_latency(_ui.run_key(project), result), brief.max_latency_ms)
        except TabwrightError as exc:
            _ui.show_error(exc)
        else:
            (st.success if latency["status"] == "met" else st.warning)(latency["sentence"], icon="⏱️")
    curve = _learning_curve_if_computed(project) if result.task != "clustering" else None
    suggestions = suggest_next(result, verdict, learning_curve=curve)
    if suggestions:
        st.markdown("**What to try next**")
        for i, s in enumerate(suggestions):
            with st.container(border=True):
                left, right = st.columns([3, 1.4], vertical_alignment="center")
                left.markdown(f"**{s['title']}**  \n{s['why']}")
                action = s["action"]
                if action and action["kind"] == "recipe":
                    if right.button(action["label"], key=f"eval_next_{action['change']}",
                                    width="stretch"):
                        _apply(project, action)
                elif action and action["kind"] == "page":
                    info = _ui.BY_STAGE[action["page"]]
                    right.page_link(info.path, label=f"Go to {info.title}", icon=info.icon,
                                    width="stretch")


def _apply(project: Project, action: dict[str, Any]) -> None:
    def change(p: Project) -> Project:
        return update_recipe(p, apply_next_step(p.recipe, action["change"]),
                             reason=f"You chose “{action['label']}”")

    if _ui.attempt(change, project, success=f"Applied “{action['label']}”. Train again to see "
                   "whether it helps."):
        st.switch_page("pages/train.py")


def _learning_curve_if_computed(project: Project) -> dict[str, Any] | None:
    if not _state.widget_value("eval_learning_curve_shown"):
        return None
    try:
        return _learning_curve(_ui.run_key(project), project.result)
    except TabwrightError:
        return None


def _metric_cards(result: TrainResult) -> None:
    scores = result.evaluation.get("metrics", {})
    names = [m for m in card_metrics(result.task) if m in scores]
    if result.metric in names:
        names.remove(result.metric)
        names.insert(0, result.metric)
    where = "test set" if result.task != "clustering" else "training sample"
    st.subheader(f"Scores on the {where}")
    for start in range(0, len(names), 4):
        cols = st.columns(4)
        for col, name in zip(cols, names[start:start + 4]):
            label = METRICS[name].card_label if name in METRICS else name
            if name == result.metric:
                label += " ★"
            help_text = metric_help(name)
            with col:
                st.metric(label, _fmt(scores.get(name), name), help=help_text or None)
                if help_text:
                    st.caption(help_text.split(". ")[0].rstrip(".") + ".")
    ev = result.evaluation
    facts = []
    if result.task == "clustering":
        facts.append(f"{ev.get('n_clusters')} clusters")
    else:
        facts.append(f"{ev.get('n_test', result.n_test):,} test rows")
    if ev.get("baseline"):
        facts.append(f"always predicting {ev['baseline']['majority_class']!r} would score accuracy "
                     f"{ev['baseline']['accuracy']:.3f}")
    if result.task == "binary" and ev.get("threshold") is not None:
        tuned = result.threshold is not None and abs(result.threshold - 0.5) > 1e-9
        facts.append(f"decision threshold {ev['threshold']:.3f}"
                     + (" (tuned on validation folds)" if tuned else " (the default)")
                     + f", positive class {ev.get('positive_label')!r}")
    st.caption("★ the metric you optimise · " + " · ".join(facts))
    for note in ev.get("notes", []):
        st.caption(f"ℹ️ {note}")


def _chart(fig: Any, key: str, **kwargs: Any) -> Any:
    if fig is None:
        return None
    return st.plotly_chart(fig, key=key, config=CHART_CONFIG, **kwargs)


def _classification_section(result: TrainResult) -> None:
    ev = result.evaluation
    tabs = st.tabs(["Confusion matrix", "ROC and precision-recall", "Calibration", "Per class"])
    with tabs[0]:
        _confusion_section(result)
    with tabs[1]:
        left, right = st.columns(2)
        with left:
            _chart(figures.roc_figure(ev), "eval_roc")
        with right:
            _chart(figures.pr_figure(ev), "eval_pr")
        _ui.explain("Each point is one threshold. ROC: how many positives are found against how "
                    "many negatives are wrongly flagged. Precision-recall: how trustworthy a "
                    "positive prediction is, at each level of recall — better for rare classes.")
    with tabs[2]:
        fig = figures.calibration_figure(ev)
        if fig is None:
            st.info("No calibration curve: it needs a two-class model that outputs probabilities.")
        else:
            _chart(fig, "eval_calibration")
            _ui.explain("Points on the diagonal mean a predicted 70 % really happens about 70 % of "
                        "the time. Below it, the model is over-confident.")
    with tabs[3]:
        per_class = pd.DataFrame(ev.get("per_class", []))
        if not per_class.empty:
            per_class["class"] = per_class["class"].astype(str)
            st.dataframe(per_class, hide_index=True, width="stretch", column_config={
                c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")})


def _with_click_targets(fig: Any) -> Any:
    """An invisible marker on every cell, because Streamlit cannot select heatmap cells."""
    heatmap = fig.data[0]
    xs, ys, custom = [], [], []
    for row_label, row in zip(heatmap.y, heatmap.customdata):
        for col_label, cell in zip(heatmap.x, row):
            xs.append(col_label)
            ys.append(row_label)
            custom.append(list(cell))
    fig.add_scatter(x=xs, y=ys, customdata=custom, mode="markers", showlegend=False,
                    marker=dict(size=40, color="rgba(0,0,0,0)", symbol="square"),
                    hovertemplate="true %{y}, predicted %{x}: click to see these rows<extra></extra>")
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig


def _clicked_cell(event: Any) -> tuple[Any, Any] | None:
    try:
        points = event.selection.points
    except AttributeError:
        return None
    for point in points or []:
        custom = point.get("customdata")
        if isinstance(custom, (list, tuple)) and len(custom) == 2:
            return custom[0], custom[1]
    return None


def _confusion_section(result: TrainResult) -> None:
    ev = result.evaluation
    normalized = st.toggle("Show shares of each true class", key="eval_cm_normalized")
    fig = figures.confusion_matrix_figure(ev, normalized=normalized)
    if fig is None:
        st.info("No confusion matrix for this model.")
        return
    event = st.plotly_chart(_with_click_targets(fig), key="eval_confusion", on_select="rerun",
                            selection_mode="points", config=CHART_CONFIG)
    labels = list(ev["confusion_matrix"]["labels"])
    clicked = _clicked_cell(event)
    st.markdown("**See the rows of one cell**: click a cell above, or choose it here.")
    if clicked is not None and clicked[0] in labels and clicked[1] in labels:
        true_default, pred_default = labels.index(clicked[0]), labels.index(clicked[1])
        suffix = f"{true_default}_{pred_default}"
    else:
        positive = ev.get("positive_label")
        true_default = labels.index(positive) if positive in labels else 0
        pred_default = (true_default + 1) % len(labels)
        suffix = "none"
    left, right = st.columns(2)
    true_label = left.selectbox("True class", labels, index=true_default,
                                key=f"eval_cm_true_{suffix}", format_func=str)
    predicted = right.selectbox("Predicted class", labels, index=pred_default,
                                key=f"eval_cm_pred_{suffix}", format_func=str)
    try:
        rows = _cell_rows(_ui.run_key(_state.project()), true_label, predicted,
                          ev.get("threshold"), ev.get("positive_label"), result)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    kind = "correct" if true_label == predicted else "mistakes"
    st.caption(f"{len(rows):,} test row(s) truly {true_label!s} and predicted {predicted!s} "
               f"({kind}){' — the first 200 shown' if len(rows) == 200 else ''}.")
    if len(rows):
        st.dataframe(rows, width="stretch", key="eval_cm_rows")


def _regression_section(result: TrainResult) -> None:
    ev = result.evaluation
    left, right = st.columns(2)
    with left:
        _chart(figures.predicted_vs_actual_figure(ev), "eval_pva")
    with right:
        _chart(figures.residuals_figure(ev), "eval_residuals")
    _ui.explain("Good models put points near the diagonal, and residuals in an even band around "
                "zero. A funnel or a curve in the residuals means the errors depend on the value.")
    for note in ev.get("notes", []):
        st.caption(f"ℹ️ {note}")


def _clustering_section(result: TrainResult) -> None:
    ev = result.evaluation
    _chart(figures.cluster_sizes_figure(ev), "eval_cluster_sizes")
    profiles = ev.get("profiles", [])
    if not profiles:
        return
    st.markdown("**What each cluster looks like** (mean for numbers, most common value for categories)")
    table: dict[str, dict[str, str]] = {}
    for p in profiles:
        name = "noise" if p["cluster"] == -1 else f"cluster {p['cluster']} ({p['size']:,})"
        table[name] = {column: _profile_cell(v) for column, v in p["values"].items()}
    table["all rows"] = {column: _profile_cell(v) for column, v in ev.get("overall", {}).items()}
    st.dataframe(pd.DataFrame(table), width="stretch")


def _profile_cell(value: dict[str, Any]) -> str:
    if value.get("kind") == "numeric":
        return _fmt(value.get("mean"))
    share = value.get("top_share")
    return f"{value.get('top')} ({share:.0%})" if share is not None else str(value.get("top"))


def _diagnostics_section(project: Project) -> None:
    result = project.result
    st.subheader("Diagnostics")
    diagnosis = fit_diagnosis(result)
    if diagnosis:
        icon = {"overfitting": "⚠️", "underfitting": "⚠️"}.get(diagnosis["verdict"], "✅")
        st.markdown(f"{icon} **Fit: {diagnosis['verdict']}.** {diagnosis['explanation']}")
    tabs = st.tabs(["Learning curve", "Importance", "Worst errors"])
    with tabs[0]:
        _ui.explain("Refits the model on growing shares of the training rows: if validation is "
                    "still rising at the right, more data would help.")
        if st.toggle("Compute the learning curve (refits the model several times)",
                     key="eval_learning_curve_shown"):
            try:
                curve = _learning_curve(_ui.run_key(project), result)
            except TabwrightError as exc:
                _ui.show_error(exc)
            else:
                st.markdown(f"**{curve['verdict'].capitalize()}.** {curve['explanation']}")
                _chart(figures.learning_curve_figure(curve), "eval_learning_curve")
                for note in curve.get("notes", []):
                    st.caption(f"ℹ️ {note}")
    with tabs[1]:
        try:
            rows = _importance(_ui.run_key(project), result)
        except TabwrightError as exc:
            _ui.show_error(exc)
        else:
            _chart(figures.importance_figure(rows), "eval_importance")
            _ui.explain("How much the test score drops when one column's values are shuffled. "
                        "Near zero: the model does not rely on it. Importance is not causation.")
    with tabs[2]:
        _worst_errors(project)


def _worst_errors(project: Project) -> None:
    result = project.result
    try:
        errors = _errors(_ui.run_key(project), result)
    except TabwrightError as exc:
        _ui.show_error(exc)
        return
    key = "largest_errors" if result.task == "regression" else "worst"
    rows = errors.get(key, [])
    if not rows:
        st.info("No errors to show.")
        return
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "values"} | r["values"] for r in rows])
    table = table.set_index("index")
    if result.task == "regression":
        _ui.explain("The test rows with the largest misses. Look for a pattern: a rare category, "
                    "extreme values, or a missing feature.")
    else:
        _ui.explain("The test rows where the model gave the lowest probability to the true class: "
                    "its most confident mistakes. Look for a pattern.")
    st.dataframe(table, width="stretch", key="eval_worst", column_config={
        "probability": st.column_config.NumberColumn("P(true class)", format="%.3f"),
        "positive_probability": st.column_config.NumberColumn("P(positive)", format="%.3f"),
        "residual": st.column_config.NumberColumn(format="%.4g"),
    })


def _model_itself(project: Project) -> None:
    readable = readable_model(project.result.pipeline)
    st.subheader("The model itself")
    _ui.explain("You asked for an interpretable model, so here is what it actually computes.")
    if readable["kind"] == "coefficients":
        st.markdown("Largest coefficients (on the prepared inputs: numbers are scaled, categories "
                    "one-hot encoded). Positive values push towards the positive class / a higher value.")
        table = readable["table"]
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "coefficient": st.column_config.NumberColumn(format="%.4f")})
    elif readable["kind"] == "tree":
        st.code(readable["text"], language=None)
    else:
        st.info(readable["sentence"])


def _compare_section(result: TrainResult) -> None:
    st.subheader("All models compared")
    fig = figures.leaderboard_chart(result.leaderboard, result.metric)
    if fig is None:
        st.info("No cross-validation scores to compare.")
        return
    _chart(fig, "eval_leaderboard")
    _ui.explain("Cross-validation scores on the training part, with the fold-to-fold spread. "
                "Bars whose error bars overlap are not reliably different.")
    if result.noise_note:
        st.caption(f"〰️ {result.noise_note}")


project = _ui.page_header("evaluate")
if not _ui.require(project, "evaluate"):
    st.stop()
result = project.result
if result.cancelled:
    st.warning("This run was cancelled: these are the results of the best model finished before that.")
_verdict_section(project)
_metric_cards(result)
if result.task in ("binary", "multiclass"):
    _classification_section(result)
elif result.task == "regression":
    _regression_section(result)
else:
    _clustering_section(result)
if project.recipe.brief.interpretable:
    _model_itself(project)
if result.task != "clustering":
    _diagnostics_section(project)
_compare_section(result)
_ui.next_step("evaluate")
