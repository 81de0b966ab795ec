"""A training run's shared vocabulary: its progress, its cancel token, its result.

Training (:mod:`core.train`), evaluation, delivery, the project and the pages all speak of
a run through these types, so they live here, below all of them: a :class:`TrainResult` is
what a run produced, :class:`Progress` what it reports while it runs, and a
:class:`CancelToken` how the user stops it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from core.errors import Cancelled
from core.prepare import FeaturePlan
from core.recipe import Recipe

ProgressCallback = Callable[["Progress"], None]


@dataclass
class Progress:
    """A snapshot of training for a progress bar and a live leaderboard."""

    fraction: float
    message: str
    model: str | None = None
    best: dict[str, Any] | None = None
    leaderboard: list[dict[str, Any]] = field(default_factory=list)


class CancelToken:
    """Shared between the UI thread (``cancel()``) and the training (``check()``)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass
class TrainResult:
    """Everything a training run produced. ``recipe`` is the resolved, reproducible recipe."""

    recipe: Recipe
    original_recipe: Recipe
    task: str
    metric: str
    plan: FeaturePlan
    classes: list[Any] | None
    leaderboard: list[dict[str, Any]]
    best: str
    pipeline: Any
    threshold: float | None
    evaluation: dict[str, Any]
    notes: list[str]
    n_train: int
    n_test: int
    seconds: float
    fingerprint: str
    X_test: pd.DataFrame
    y_test: pd.Series | None
    X_train: pd.DataFrame
    y_train: pd.Series | None
    cv_description: str
    train_score: float | None = None
    noise_note: str | None = None
    cancelled: bool = False
    final_pipeline: Any = None
    final_rows: int | None = None
    validation_predictions: Any = None
    """The chosen model's out-of-fold predictions on the rows cross-validation scored (values
    for regression, a column per class for classifiers), predicted by fold models that never
    saw them: how its output looks on new rows (the card's drift baseline of it)."""
    validation_proba: bool = True
    """Whether ``validation_predictions`` are probabilities (not decision scores)."""

    @property
    def delivered(self) -> Any:
        """The model a user takes away: refitted on every row when the run was finalized
        (:func:`core.train.finalize`), else ``pipeline``. ``pipeline`` stays the model the test
        rows measured, so every evaluation keeps using it."""
        return self.pipeline if self.final_pipeline is None else self.final_pipeline


def fingerprint(frame: pd.DataFrame) -> str:
    """A stable hash of a frame's contents (column names, dtypes and values)."""
    h = hashlib.sha256()
    h.update(repr(list(map(str, frame.columns))).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]

