"""The model card: what a trained run is, where it belongs, and the baseline to check drift.

A card is plain JSON (``model.json`` in every bundle): task, target, classes, input schema,
metrics with their CV spread, the recipe, a fingerprint of the training data, seed, library
versions, what loading needs, intended use and limitations, the brief, and the baseline
statistics for drift checks. ``project`` and ``run_id`` say where the model belongs: the run
history, the prediction log and production serving key on them.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
import re
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy
import pandas
import scipy
import sklearn

from core import __version__, catalogue
from core.deliver._baseline import baseline_stats, prediction_baseline
from core.deliver._container import model_libraries
from core.deliver._schema import build_schema
from core.errors import TabwrightError
from core.estimators import BAG_FOLDS
from core.run import TrainResult


def library_versions() -> dict[str, str]:
    """The versions of Python and of the libraries a bundle's model needs, for its card."""
    return {"python": platform.python_version(), "tabwright": __version__,
            "scikit-learn": sklearn.__version__, "pandas": pandas.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__}


def project_name(data_name: str | Path) -> str:
    """The project a run on ``data_name`` belongs to by default: the file's stem as a slug.

    Letters lose their accents and are lower-cased; every run of other characters becomes one
    ``-``; at most 64 characters are kept. A name with nothing left (say ``数据.csv``) gives
    ``"data"``.

    Examples
    --------
    >>> project_name("Titanic Survival.csv")
    'titanic-survival'
    >>> project_name("/tmp/Données été 2024 (v2).CSV")
    'donnees-ete-2024-v2'
    """
    stem = Path(str(data_name)).stem
    ascii_only = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_only.lower()).strip("-_")[:64].strip("-_")
    return slug or "data"


def project_name_for(data_name: str, project: str | None = None) -> str:
    """The project a bundle belongs to: ``project`` if given, else the data file's stem as a slug.

    The slug is :func:`project_name`'s (``"Titanic Survival.csv"`` gives
    ``"titanic-survival"``), the name the run history and the prediction log use.

    Raises
    ------
    TabwrightError
        When ``project`` is given but is not such a slug.
    """
    if project is None:
        return project_name(data_name)
    if not isinstance(project, str) or project_name(project) != project:
        raise TabwrightError(
            "A project name must be 1 to 64 of a-z, 0-9, '-' and '_', starting and ending with "
            f"a letter or digit, got {str(project)[:80]!r}.",
            "Leave it out to name the project after the data file, or use e.g. 'titanic-survival'.")
    return project


def model_card(result: TrainResult, *, data_name: str = "data.csv", run_id: str | None = None,
               project: str | None = None) -> dict[str, Any]:
    """The model card of a :class:`core.run.TrainResult`, as JSON-safe data.

    ``project`` (default: from ``data_name``, see :func:`project_name_for`) and ``run_id``
    (only when given) say where the model belongs; the prediction log and production
    serving key on them.
    """

    recipe = result.recipe
    best_row = result.leaderboard[0] if result.leaderboard else {}
    metric = result.metric
    models = [m.name for m in recipe.models]
    labels = [catalogue.get(m).label for m in models]
    brief = recipe.brief
    intended = brief.decision or brief.problem or (
        f"Predict {recipe.target!r} ({result.task}) for rows like the training data."
        if recipe.target else "Group rows like the training data into clusters.")
    seen = result.final_rows or result.n_train
    # The ranges and levels predict checks, and drift's baseline: the rows the delivered model
    # was fitted on (every row once it is finalized, not only the training part).
    seen_X, seen_y = result.X_train, result.y_train
    if result.final_rows and result.X_test is not None and len(result.X_test):
        seen_X = pandas.concat([result.X_train, result.X_test])
        seen_y = None if result.y_train is None else pandas.concat([result.y_train, result.y_test])
    roles = dict(result.plan.roles)
    baseline = baseline_stats(seen_X, roles, y=seen_y, task=result.task)
    output = prediction_baseline(result.task, result.validation_predictions, result.classes,
                                 has_proba=result.validation_proba)
    if output is not None:
        baseline["prediction"] = output  # drift in what the model predicts (check_drift)
    limitations = [
        f"Trained on {seen:,} rows of {data_name!r}; rows unlike them (new categories, "
        "values outside the training ranges) get less reliable predictions.",
        "Relations in the data are associations, not causes.",
        "Check for drift (tabwright drift) before trusting it on newer data.",
    ]
    if recipe.joins:
        names = ", ".join(repr(j.name) for j in recipe.joins)
        limitations.insert(1, f"Some inputs are made from joined tables ({names}): to predict, "
                              "give the same tables (tabwright predict --with) or, to the REST "
                              "server, records with the joined columns already computed.")
    if result.final_rows:
        limitations.insert(1, f"The test scores were measured on the model fitted on "
                              f"{result.n_train:,} training rows before it saw the "
                              f"{result.n_test:,} test rows; this model was then refitted on "
                              f"every row ({result.final_rows:,}), so no rows are left to test "
                              "it: expect scores like the test scores, a little better if "
                              "anything.")
    if result.task in ("binary", "multiclass"):
        limitations.append("Probabilities come from the model; check the calibration curve "
                           "before reading them as frequencies.")
    belongs = {"project": project_name_for(data_name, project)}
    if run_id is not None:
        belongs["run_id"] = run_id
    return {
        "format": "tabwright-model-card/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **belongs,
        "task": result.task,
        "target": recipe.target,
        "classes": result.classes,
        "threshold": result.threshold,
        "model": {"names": models, "labels": labels, "ensemble": recipe.ensemble,
                  "params": [m.params for m in recipe.models],
                  # the models each delivered as the mean of BAG_FOLDS fold copies
                  "bagged": [catalogue.get(m).label for m in models if catalogue.bags(recipe.bagging, m)],
                  "bag_folds": BAG_FOLDS},
        "metric": metric,
        "cv": {"description": result.cv_description, "mean": best_row.get(metric),
               "std": best_row.get(f"{metric}_std")},
        "test_metrics": result.evaluation.get("metrics", {}),
        "input_schema": build_schema(seen_X, roles),
        "dropped_columns": result.plan.dropped,
        "recipe": recipe.to_dict(),
        "training_data": {"name": data_name, "fingerprint": result.fingerprint,
                          "rows_train": result.n_train, "rows_test": result.n_test,
                          "rows_final": result.final_rows,
                          "columns": len(result.plan.roles) + len(result.plan.dropped) +
                          (1 if recipe.target else 0)},
        "seed": recipe.seed,
        "library_versions": {**library_versions(),
                             **{name: importlib.metadata.version(name)
                                for name in model_libraries(result.delivered)}},
        "loading": ("model.joblib: joblib.load with the same scikit-learn version and tabwright "
                    "installed (for core.transformers and core.estimators); load only files you "
                    "trust. model.skops: "
                    "skops.io.load with trusted=skops.io.get_untrusted_types(file=...) after "
                    "reviewing the listed types."),
        "intended_use": intended,
        "limitations": limitations,
        "brief": dataclasses.asdict(brief),
        "notes": result.notes,
        "baseline": baseline,
    }


def report_title(result: TrainResult, *, data_name: str, problem: str | None = None) -> str:
    """The report's title: the brief's problem statement (its first line), else what is predicted.

    ``problem`` overrides the run's own brief (the Export page passes the current one: the
    brief can be reworded after training without retraining).
    """
    problem = result.recipe.brief.problem if problem is None else problem
    if problem and problem.strip():
        return problem.strip().splitlines()[0][:120]
    target = result.recipe.target
    return f"Predicting {target} in {data_name}" if target else f"Clusters in {data_name}"
