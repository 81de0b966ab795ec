"""The learning curve of a run: its model refitted on growing shares of the training rows.

It follows the run's own cross-validation scheme (:func:`~core.train._split.make_cv`),
which is why it lives with training rather than beside the evaluation that draws it.
"""

from __future__ import annotations

from typing import Any

from sklearn.model_selection import KFold, StratifiedKFold

from core.errors import TabwrightError
from core.evaluate import learning_curve_data, scorer_name
from core.run import TrainResult
from core.settings import thread_limit
from core.train._split import make_cv


def learning_curve_for(result: TrainResult, *, seed: int | None = None) -> dict[str, Any]:
    """:func:`core.evaluate._heldout.learning_curve_data` for a run's final model on its training rows.

    Uses the run's cross-validation scheme, except group and time-ordered schemes (whose
    groups and order the learning curve cannot follow), which fall back to shuffled k-fold
    with a note.
    """
    if result.task == "clustering" or result.y_train is None:
        raise TabwrightError("A learning curve needs a target to score against.",
                             "It applies to classification and regression runs.")
    recipe = result.recipe
    seed = recipe.seed if seed is None else seed
    notes = []
    if recipe.split.group_column or recipe.split.time_column or recipe.validation.scheme in ("loo",):
        folds = min(recipe.validation.folds, 5)
        cv: Any = (StratifiedKFold(folds, shuffle=True, random_state=seed)
                   if result.task != "regression" else KFold(folds, shuffle=True, random_state=seed))
        notes.append("The learning curve uses shuffled k-fold: group, time-ordered and "
                     "leave-one-out validation cannot be followed here.")
    else:
        cv, _ = make_cv(recipe, result.task, result.y_train, n_rows=len(result.X_train))
    with thread_limit():
        data = learning_curve_data(result.pipeline, result.X_train, result.y_train, cv=cv,
                                   scoring=scorer_name(result), seed=seed)
    data["notes"] = notes + list(data.get("notes", []))
    return data

