"""Deliver: a trained run leaves the app as a bundle, a report, a script, predictions, a server.

:func:`write_bundle` and :func:`load_bundle` (signed joblib, skops, the model card);
:func:`build_report` with its HTML and Markdown renderings; :func:`render_training_script`
(a standalone ``train.py``); :func:`predict_table` for batch prediction; :func:`run_server`
for REST; :func:`check_drift` for new data; :class:`RunStore` for the run history,
with :func:`history_table` and :func:`comparison_tables` to show it.

The names load on first use (PEP 562): ``tabwright monitor`` reads the prediction log
without importing the web server, the report templates or scikit-learn's model code, and
starts in a fraction of the time. ``from core.deliver import X`` works as usual.
"""

from core import lazy

_HOMES = {
    "check_drift": "_drift", "drift_figure": "_drift",
    "bundle_files": "_export", "bundle_zip": "_export", "load_bundle": "_bundle",
    "model_card": "_export", "write_bundle": "_export",
    "RunStore": "_history", "comparison_tables": "_history", "history_table": "_history",
    "run_label": "_history", "run_summary": "_history", "run_time": "_history",
    "evaluate_labelled": "_predict", "predict_table": "_predict",
    "build_report": "_report", "render_html": "_report", "render_markdown": "_report",
    "render_training_script": "_script",
    "create_app": "_serve", "run_server": "_serve",
    "project_name": "_card", "project_name_for": "_card", "report_title": "_card",
    "model_files": "_bundle", "bundle_file_descriptions": "_export", "is_run_id": "_history",
    "promotions_table": "_history", "PRODUCTION_BADGE": "_history",
    "SERVING_REQUIREMENTS": "_container", "container_files": "_container",
    "log_folder": "_log", "PredictionLog": "_log",
    "predict_and_log": "_predict",
    "INPUT_MODES": "_log", "run_production": "_serve", "model_identity": "_log",
    "validate_input": "_schema",
}
"""Each public name and the module that defines it."""

__all__, __getattr__, __dir__ = lazy.exports(__name__, _HOMES)
