"""Deliver: a trained run leaves the app as a bundle, a report, a script, predictions, a server.

:func:`write_bundle` and :func:`load_bundle` (signed joblib, skops, the model card);
:func:`build_report` with its HTML and Markdown renderings; :func:`render_training_script`
(a standalone ``train.py``); :func:`predict_table` for batch prediction; :func:`run_server`
for REST; :func:`check_drift` for new data; :class:`RunStore` for the run history,
with :func:`history_table` and :func:`comparison_tables` to show it.
"""


from core.deliver._drift import check_drift, drift_figure
from core.deliver._export import (
    bundle_files,
    bundle_zip,
    load_bundle,
    model_card,
    write_bundle,
)
from core.deliver._history import (
    RunStore,
    comparison_tables,
    history_table,
    run_label,
    run_summary,
    run_time,
)
from core.deliver._predict import evaluate_labelled, predict_table
from core.deliver._report import build_report, render_html, render_markdown
from core.deliver._script import render_training_script
from core.deliver._serve import create_app, run_server

__all__ = ['RunStore', 'build_report', 'bundle_files', 'bundle_zip', 'check_drift', 'comparison_tables', 'create_app', 'drift_figure', 'evaluate_labelled', 'history_table', 'load_bundle', 'model_card', 'predict_table', 'render_html', 'render_markdown', 'render_training_script', 'run_label', 'run_server', 'run_summary', 'run_time', 'write_bundle']
