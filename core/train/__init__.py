"""Train: split, cross-validate, tune, ensemble or stack, refit, and evaluate once on the test rows.

:func:`train` runs a recipe (auto mode included) and returns a :class:`core.run.TrainResult`;
:class:`TrainingJob` runs it in a worker process with progress and cancel (``TrainWork`` is
the work it runs, :class:`RunContext` what it started from); :func:`training_plan` and
:func:`estimate_run` say before a run what it will do and what it will cost;
:func:`learning_curve_for` refits a run on growing shares of its rows; :func:`finalize`
refits a run's configuration on every row after its test evaluation.

Names load on first use (PEP 562, as in :mod:`core.deliver`): a command that needs one stage
does not import the others.
"""

from core import lazy

_HOMES = {
    "train_clustering": "_cluster", "RunEstimate": "_estimate", "describe": "_estimate",
    "estimate_run": "_estimate", "RunContext": "_jobs", "TrainingJob": "_jobs",
    "warm_up": "_jobs", "learning_curve_for": "_learning_curve", "auto_first_models": "_plan",
    "training_plan": "_plan", "TrainWork": "_runner", "final_model": "_final",
    "finalize": "_final", "FINALIZE_AUTO_ROWS": "_final",
    "train": "_runner", "make_cv": "_split", "outlier_row_mask": "_split",
    "split_train_test": "_split",
}
"""Each public name and the module that defines it."""

__all__, __getattr__, __dir__ = lazy.exports(__name__, _HOMES)
