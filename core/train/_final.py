"""The model a run exports, and the final refit on every row (finalize).

:func:`final_model` builds the unfitted model of a resolved configuration: one pipeline, a
weighted soft-voting ensemble of pipelines, or a stack of them, wrapped in a fixed decision
threshold when one was tuned.

:func:`finalize` refits that configuration on *every* row, the test rows included, after the
test evaluation (PyCaret's ``finalize_model``, AutoGluon's ``refit_full``). The test scores
stay those of the model that never saw the test rows (``TrainResult.pipeline``, which every
evaluation keeps using); the refitted one (``TrainResult.final_pipeline``) is what a user
takes away, and the model card and report say both. Nothing is chosen again: the models,
their settings, the ensemble weights and the threshold are the resolved recipe's, so the
resolved recipe (with ``finalize: "on"``) replays the same model. A stack's models are
refitted and its meta-model is kept (:func:`core.train._stacking.refit_members`, as
AutoGluon's ``refit_full`` does), so finalizing costs one refit whatever the model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from core import catalogue, metrics, settings
from core.errors import TabwrightError
from core.estimators import BAG_FOLDS, FoldBagClassifier, FoldBagRegressor
from core.prepare import FeaturePlan, build_pipeline, build_preprocessor
from core.recipe import Recipe, Stacking
from core.run import TrainResult
from core.train._split import outlier_row_mask
from core.train._stacking import positional, refit_members, stacked_model

FINALIZE_AUTO_ROWS = 50_000
"""``finalize: "auto"`` refits on every row in auto mode up to this many rows: where a fifth
of the rows is evidence worth having and one more fit is cheap. On larger tables the test
rows add little and cost a whole refit (say ``on`` to have it anyway)."""


def _member(plan: FeaturePlan, recipe: Recipe, task: str, model: str, params: dict[str, Any]
            ) -> Any:
    """One model's pipeline, bagged over :data:`~core.estimators.BAG_FOLDS` folds when
    :func:`core.catalogue.bags` says so."""
    pipeline = build_pipeline(plan, recipe, model, params, task=task)
    if not catalogue.bags(recipe.bagging, model):
        return pipeline
    bag = FoldBagRegressor if task == "regression" else FoldBagClassifier
    return bag(pipeline, folds=BAG_FOLDS, seed=recipe.seed)


def final_model(plan: FeaturePlan, recipe: Recipe, task: str,
                members: list[tuple[str, dict[str, Any], float]], threshold: float | None, *,
                stacking: Stacking | None = None) -> Any:
    """The unfitted model a run exports: one pipeline, a weighted soft-voting ensemble of
    pipelines, or with ``stacking`` a stack of them (:mod:`core.train._stacking`; fit it with
    :func:`~core.train._stacking.fit_from_out_of_fold`), wrapped in a fixed decision
    threshold when one was tuned. With ``recipe.bagging`` each histogram-boosting model is a
    fold bag of its pipeline (:class:`core.estimators.FoldBagClassifier`); a single model
    is then wrapped in a one-step pipeline, as an ensemble is."""
    if len(members) == 1:
        model, params, _ = members[0]
        estimator: Any = _member(plan, recipe, task, model, params)
        if not isinstance(estimator, Pipeline):
            estimator = Pipeline([("model", estimator)])
    else:

        estimators = [(f"m{i}_{model}", _member(plan, recipe, task, model, params))
                      for i, (model, params, _) in enumerate(members)]
        weights = [w for _, _, w in members]
        if stacking is not None:
            voting: Any = stacked_model(estimators, task, folds=recipe.validation.folds,
                                        seed=recipe.seed,
                                        class_weight=recipe.imbalance.class_weight,
                                        passthrough=stack_passthrough(plan, recipe, task, stacking))
        elif task == "regression":
            voting = VotingRegressor(estimators, weights=weights)
        else:
            voting = VotingClassifier(estimators, voting="soft", weights=weights)
        estimator = Pipeline([("model", voting)])
    if task == "binary" and not metrics.is_default_threshold(threshold):
        estimator = FixedThresholdClassifier(estimator, threshold=threshold,
                                             response_method="predict_proba")
    return estimator


def stack_passthrough(plan: FeaturePlan, recipe: Recipe, task: str, stacking: Stacking) -> Any:
    """What a stack's meta-model prepares of the inputs it is handed: the linear models'
    preparation, by position (:func:`core.train._stacking.positional`), or ``None``."""
    if not stacking.passthrough:
        return None
    prep, _ = build_preprocessor(plan, recipe, task=task, style="linear")
    return positional(prep, plan.features)


def members_of(recipe: Recipe) -> list[tuple[str, dict[str, Any], float]]:
    """A resolved recipe's models as ``(name, params, weight)``: the ensemble's members, or
    its one model."""
    if not recipe.models:
        raise TabwrightError("This recipe names no model to refit, got none.",
                             "Use a run's resolved recipe (recipe.json of its bundle).")
    if recipe.ensemble:
        return [(m.name, m.params, m.weight) for m in recipe.models]
    return [(recipe.models[0].name, recipe.models[0].params, 1.0)]


def should_finalize(recipe: Recipe, *, auto: bool, rows: int) -> bool:
    """Whether a run finalizes: ``on``/``off`` as said; ``auto`` in auto mode up to
    :data:`FINALIZE_AUTO_ROWS` rows (a count, not a clock: a run planned by trials stays the
    same on any machine)."""
    if recipe.finalize != "auto":
        return recipe.finalize == "on"
    return auto and rows <= FINALIZE_AUTO_ROWS


def finalize(result: TrainResult, *, threads: int | None = None) -> TrainResult:
    """The run with its configuration refitted on every row (see the module notes).

    Parameters
    ----------
    result : TrainResult
        A classification or regression run with its train and test rows.
    threads : int, optional
        Threads for the refit (default ``TABWRIGHT_THREADS`` or 1).

    Returns
    -------
    TrainResult
        A copy with ``final_pipeline`` fitted on every row, ``final_rows`` set, the resolved
        recipe's ``finalize`` set to ``"on"`` and a note; ``pipeline`` and the evaluation are
        unchanged. A run already finalized is returned as it is.

    Raises
    ------
    TabwrightError
        For a clustering, or a run without its rows.
    """
    if result.final_pipeline is not None:
        return result
    if result.task == "clustering" or result.y_train is None or result.y_test is None:
        raise TabwrightError("Refitting on every row applies to classification and regression "
                             f"runs with their test rows, got a {result.task} run.",
                             "Train a model with a target first.")
    recipe = result.recipe
    X = pd.concat([result.X_train, result.X_test])
    y = pd.concat([result.y_train, result.y_test])
    keep = outlier_row_mask(X, recipe)
    if not keep.all():
        X, y = X[keep], y[keep]
    members = members_of(recipe)
    spec_rows = catalogue.get(members[0][0]).max_rows if len(members) == 1 else None
    sampled = ""
    if spec_rows and len(X) > spec_rows:  # as the first refit did, now from every row
        rows = np.sort(np.random.default_rng(recipe.seed).choice(len(X), spec_rows, replace=False))
        sampled = f" ({catalogue.get(members[0][0]).label} takes a sample of {spec_rows:,})"
        X, y = X.iloc[rows], y.iloc[rows]
    with threadpool_limits(limits=threads or settings.threads()):
        if recipe.ensemble and recipe.stacking is not None:
            model = refit_members(result.pipeline, X, y)
        else:
            model = final_model(result.plan, recipe, result.task, members, result.threshold,
                                stacking=None).fit(X, y)
    resolved = recipe.copy()
    resolved.finalize = "on"
    note = (f"The delivered model was refitted on every row, the {result.n_test:,} test rows "
            f"included{sampled}, after the test evaluation; the test scores were measured on "
            f"the model fitted on the {result.n_train:,} training rows only.")
    return dataclasses.replace(result, recipe=resolved, final_pipeline=model, final_rows=len(X),
                               notes=[*result.notes, note])
