"""Train: split, cross-validate, tune, ensemble, refit, and evaluate once on the test rows.

:func:`train` runs a recipe (auto mode included) and returns a :class:`core.run.TrainResult`;
:class:`TrainingJob` runs it in a worker process with progress and cancel (``TrainWork`` is
the work it runs, :class:`RunContext` what it started from); :func:`training_plan` and
:func:`estimate_run` say before a run what it will do and what it will cost;
:func:`learning_curve_for` refits a run on growing shares of its rows.
"""


from core.train._cluster import train_clustering
from core.train._estimate import RunEstimate, describe, estimate_run
from core.train._jobs import RunContext, TrainingJob, warm_up
from core.train._learning_curve import learning_curve_for
from core.train._plan import auto_first_models, training_plan
from core.train._runner import TrainWork, final_model, train
from core.train._split import make_cv, outlier_row_mask, split_train_test

__all__ = ['RunContext', 'RunEstimate', 'TrainWork', 'TrainingJob', 'auto_first_models', 'describe', 'estimate_run', 'final_model', 'learning_curve_for', 'make_cv', 'outlier_row_mask', 'split_train_test', 'train', 'train_clustering', 'training_plan', 'warm_up']
