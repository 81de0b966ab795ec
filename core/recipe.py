"""Every choice a user makes, as plain, versioned, JSON-serialisable data.

A :class:`Recipe` holds decisions only — no data, no fitted objects (scikit-learn's
estimator contract: parameters vs fitted attributes). Recipe + CSV produce the same model in
the UI, the CLI and on a cluster. ``Recipe.from_dict(recipe.to_dict()) == recipe`` always, and
``from_dict`` validates everything with messages that say what is wrong and what to do.
Every numeric choice's range is declared once, in :data:`BOUNDS`, which the pages' widgets
read too.

Examples
--------
>>> r = Recipe(target="survived", task="binary")
>>> Recipe.from_json(r.to_json()) == r
True
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from core.errors import TabwrightError
from core.metrics import OPTIMISABLE, default_metric, metrics_for, ranking_metric

RECIPE_VERSION = 1

TASKS = ("binary", "multiclass", "regression", "clustering")
ROLES = ("numeric", "categorical", "boolean", "datetime", "text", "identifier", "constant")
IMPUTE = ("auto", "mean", "median", "most_frequent", "constant", "knn", "iterative", "none")
OUTLIERS = ("none", "clip_iqr", "clip_quantile", "drop_rows")
SCALE = ("auto", "none", "standard", "minmax", "robust", "yeo_johnson")
ENCODE = ("auto", "onehot", "ordinal", "target")
PRECISION = ("auto", "float64", "float32")
SELECTION = ("none", "variance", "l1", "mutual_info")
REDUCE = ("none", "pca", "svd")
VALIDATION = ("auto", "kfold", "stratified", "repeated", "group", "timeseries", "loo")
SEARCH = ("none", "grid", "random", "optuna")
CLASS_WEIGHT = ("none", "balanced")
FINALIZE = ("auto", "on", "off")
SOURCE_KINDS = ("sql",)
RELATIONS = ("one_to_one", "many_to_one", "one_to_many")
AGGREGATES = ("count", "sum", "mean", "min", "max", "last", "nunique", "days_since_last")


@dataclass(frozen=True)
class Bounds:
    """The range a numeric choice must lie in, both ends allowed.

    Attributes
    ----------
    low, high : float
        The smallest and the largest value allowed.
    integer : bool
        Whether the value must be a whole number.
    """

    low: float
    high: float
    integer: bool = False


# Every numeric choice's range, by its path in the recipe ("column" is any column's
# ColumnPrep): declared once, so what `validate()` refuses and what the pages' widgets offer
# cannot drift apart.
BOUNDS: dict[str, Bounds] = {
    "seed": Bounds(0, 2**32 - 1, integer=True),
    "time_budget": Bounds(1, 86_400),
    "column.bins": Bounds(0, 100, integer=True),
    "preparation.max_levels": Bounds(2, 10_000, integer=True),
    "preparation.rare_min_fraction": Bounds(0.0, 0.5),
    "preparation.target_encode_above": Bounds(2, 1_000_000, integer=True),
    "preparation.text_max_features": Bounds(10, 20_000, integer=True),
    "preparation.reduce.components": Bounds(1, 10_000, integer=True),
    "preparation.reduce.variance": Bounds(0.1, 0.999),
    "features.k": Bounds(1, 100_000, integer=True),
    "split.test_size": Bounds(0.05, 0.5),
    "validation.folds": Bounds(2, 20, integer=True),
    "validation.repeats": Bounds(1, 10, integer=True),
    "imbalance.threshold": Bounds(0.0, 1.0),
    "imbalance.costs.fp_cost": Bounds(0.0, 1e12),
    "imbalance.costs.fn_cost": Bounds(0.0, 1e12),
    "imbalance.costs.tp_gain": Bounds(0.0, 1e12),
    "search.trials": Bounds(1, 10_000, integer=True),
    "search.time_budget": Bounds(1, 86_400),
    "max_trials": Bounds(1, 10_000, integer=True),
    "brief.max_latency_ms": Bounds(0.001, 600_000),
}


def _check_choice(what: str, value: Any, allowed: tuple, hint: str = "") -> None:
    if value not in allowed:
        raise TabwrightError(
            f"{what} must be one of {', '.join(map(str, allowed))}, got {value!r}.",
            hint or f"Pick one of: {', '.join(map(str, allowed))}.",
        )


def _check_number(what: str, value: Any, path: str) -> None:
    """Refuse ``value`` unless it lies in ``BOUNDS[path]``."""
    bounds = BOUNDS[path]
    ok_type = isinstance(value, int) if bounds.integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not (bounds.low <= value <= bounds.high):
        kind = "a whole number" if bounds.integer else "a number"
        raise TabwrightError(
            f"{what} must be {kind} from {bounds.low} to {bounds.high}, got {value!r}.",
            f"Set {what} to {kind} in that range.",
        )


@dataclass
class ColumnPrep:
    """How one column is cleaned and encoded. ``"auto"`` means: follow the role's default.

    Attributes
    ----------
    impute : str
        Missing-value strategy (see ``IMPUTE``). ``auto``: median for numbers, most frequent
        for categories.
    fill_value : str or float or None
        The value used by ``impute="constant"``.
    missing_indicator : bool
        Add a 0/1 column saying the value was missing (useful when missingness itself says
        something, e.g. a deck number only recorded for some passengers).
    outliers : str
        ``clip_iqr`` clips to [Q1 − 3·IQR, Q3 + 3·IQR], ``clip_quantile`` to the 1st–99th
        percentiles, ``drop_rows`` drops rows outside the IQR fences from training only.
    scale : str
        Scaling for numbers (see ``SCALE``).
    encode : str
        Encoding for categories: one-hot (rare levels grouped, at most ``max_levels``), ordinal
        (with ``order`` when given) or cross-fitted target encoding.
    order : list of str or None
        Level order for ``encode="ordinal"``, lowest first.
    bins : int
        0 = no binning; otherwise the number of quantile bins for a numeric column.
    """

    impute: str = "auto"
    fill_value: str | float | None = None
    missing_indicator: bool = False
    outliers: str = "none"
    scale: str = "auto"
    encode: str = "auto"
    order: list[str] | None = None
    bins: int = 0

    def validate(self, column: str) -> None:
        _check_choice(f"imputation for {column!r}", self.impute, IMPUTE)
        _check_choice(f"outlier handling for {column!r}", self.outliers, OUTLIERS)
        _check_choice(f"scaling for {column!r}", self.scale, SCALE)
        _check_choice(f"encoding for {column!r}", self.encode, ENCODE)
        _check_number(f"bins for {column!r}", self.bins, "column.bins")
        if self.bins == 1:
            raise TabwrightError(
                f"bins for {column!r} must be 0 (off) or at least 2, got 1.",
                "Use 0 to keep the column continuous.",
            )
        if self.impute == "constant" and self.fill_value is None:
            raise TabwrightError(
                f"imputation 'constant' for {column!r} needs a fill value, got none.",
                "Enter the value to put in place of missing cells.",
            )


@dataclass
class Reduction:
    """Fewer model inputs: a dimensionality-reduction step after preparation and selection.

    Attributes
    ----------
    method : str
        ``none``; ``pca`` (principal components of the centred inputs); or ``svd`` (truncated
        SVD, not centred, so TF-IDF text stays sparse until it is reduced).
    components : int
        How many components to keep (fewer when the data has fewer inputs or rows).
    variance : float or None
        PCA only: keep the fewest components that explain this share of the variance,
        instead of ``components``.
    """

    method: str = "none"
    components: int = 10
    variance: float | None = None

    def validate(self) -> None:
        _check_choice("dimensionality reduction", self.method, REDUCE)
        _check_number("components", self.components, "preparation.reduce.components")
        if self.variance is not None:
            _check_number("share of variance to keep", self.variance, "preparation.reduce.variance")
            if self.method == "svd":
                raise TabwrightError(
                    f"A share of variance to keep ({self.variance!r}) must go with pca, got svd.",
                    "Keep a number of components with svd, or choose pca.",
                )


@dataclass
class Preparation:
    """Defaults for every column, plus per-column overrides.

    ``auto`` scaling and encoding follow the model: linear, distance and neural models get
    one-hot encoding and standard scaling; tree models get ordinal codes (native categorical
    support in HistGradientBoosting) and no scaling. A category with more than
    ``target_encode_above`` levels is target-encoded (cross-fitted) for every model.
    Categorical ``constant`` imputation fills a separate ``(missing)`` level.

    ``precision`` is the number type handed to linear and neural models: ``float32`` halves
    the prepared matrix (what a refit on many rows holds in memory); ``auto`` picks it when
    that matrix would hold more than 20 million numbers as ``float64``, and training writes
    the choice it made into the resolved recipe.

    ``reduce`` turns the prepared inputs into fewer components inside the pipeline
    (:class:`Reduction`); a recipe without it reduces nothing.
    """

    numeric_impute: str = "median"
    categorical_impute: str = "constant"
    scale: str = "auto"
    encode: str = "auto"
    max_levels: int = 30
    rare_min_fraction: float = 0.01
    target_encode_above: int = 50
    datetime_parts: list[str] = field(default_factory=lambda: ["year", "month", "dayofweek"])
    text_max_features: int = 300
    precision: str = "auto"
    reduce: Reduction = field(default_factory=Reduction)
    columns: dict[str, ColumnPrep] = field(default_factory=dict)

    def validate(self) -> None:
        _check_choice("default numeric imputation", self.numeric_impute, IMPUTE[1:])
        _check_choice("default categorical imputation", self.categorical_impute,
                      ("most_frequent", "constant"))
        _check_choice("default scaling", self.scale, SCALE)
        _check_choice("default encoding", self.encode, ENCODE)
        _check_choice("model input precision", self.precision, PRECISION)
        _check_number("max_levels", self.max_levels, "preparation.max_levels")
        _check_number("rare_min_fraction", self.rare_min_fraction, "preparation.rare_min_fraction")
        _check_number("target_encode_above", self.target_encode_above,
                      "preparation.target_encode_above")
        _check_number("text_max_features", self.text_max_features,
                      "preparation.text_max_features")
        for part in self.datetime_parts:
            _check_choice("datetime part", part,
                          ("year", "month", "day", "dayofweek", "hour", "dayofyear", "quarter"))
        self.reduce.validate()
        for name, prep in self.columns.items():
            prep.validate(name)


@dataclass
class Features:
    """Feature engineering and selection, applied after preparation inside the pipeline.

    ``interactions`` adds the pairwise products of these numeric columns; ``polynomial`` adds
    every degree-2 term of its numeric columns: the squares as well as the pairwise products.
    Both are computed after imputation and standard scaling, fitted inside each fold. A column
    may be in one of the two lists, not both (``polynomial`` already multiplies its columns
    with each other).
    """

    interactions: list[str] = field(default_factory=list)
    selection: str = "none"
    k: int = 20
    polynomial: list[str] = field(default_factory=list)

    def validate(self) -> None:
        _check_choice("feature selection", self.selection, SELECTION)
        _check_number("k (features kept)", self.k, "features.k")
        if len(self.interactions) == 1:
            raise TabwrightError(
                "interactions need at least two numeric columns, got one.",
                "Pick two or more columns, or none.",
            )
        for what, names in (("interactions", self.interactions), ("polynomial", self.polynomial)):
            if not isinstance(names, list) or not all(isinstance(c, str) and c for c in names):
                raise TabwrightError(f"{what} must be a list of column names, got {names!r}.",
                                     "List the numeric columns by name.")
        both = [c for c in self.polynomial if c in self.interactions]
        if both:
            raise TabwrightError(
                f"A column may be in interactions or polynomial, not both, got "
                f"{', '.join(map(repr, both))} in both.",
                "Keep it in polynomial only: its degree-2 terms include the products "
                "with the other polynomial columns.",
            )


@dataclass
class Split:
    """How the held-out test set is cut. It is used exactly once, at the end."""

    test_size: float = 0.2
    stratify: bool = True
    group_column: str | None = None
    time_column: str | None = None

    def validate(self) -> None:
        _check_number("test fraction", self.test_size, "split.test_size")
        if self.group_column and self.time_column:
            raise TabwrightError(
                "A split can follow a group column or a time column, not both.",
                "Clear one of them.",
            )


@dataclass
class Validation:
    """Cross-validation on the training part: scores, model choice and tuning happen here."""

    scheme: str = "auto"
    folds: int = 5
    repeats: int = 2

    def validate(self) -> None:
        _check_choice("validation scheme", self.scheme, VALIDATION)
        _check_number("folds", self.folds, "validation.folds")
        _check_number("repeats", self.repeats, "validation.repeats")


@dataclass
class Costs:
    """What the decisions of a two-class model cost, in the user's own unit (money, hours).

    A false positive acts on a row that is really negative; a false negative misses a row
    that is really positive; a true positive may also gain something. All zero (the
    default) means no costs were stated.

    Attributes
    ----------
    fp_cost : float
        The cost of one false positive (a false alarm).
    fn_cost : float
        The cost of one false negative (a missed positive).
    tp_gain : float
        What one true positive gains (counted as a negative cost).

    Examples
    --------
    >>> Costs(fp_cost=5, fn_cost=50).stated
    True
    """

    fp_cost: float = 0.0
    fn_cost: float = 0.0
    tp_gain: float = 0.0

    @property
    def stated(self) -> bool:
        """Whether any cost or gain was stated (all zero: choose the threshold otherwise)."""
        return any((self.fp_cost, self.fn_cost, self.tp_gain))

    def validate(self) -> None:
        _check_number("cost of a false positive", self.fp_cost, "imbalance.costs.fp_cost")
        _check_number("cost of a false negative", self.fn_cost, "imbalance.costs.fn_cost")
        _check_number("gain of a true positive", self.tp_gain, "imbalance.costs.tp_gain")


@dataclass
class Imbalance:
    """Help for a rare class: weight it up, and/or tune the decision threshold on validation folds.

    ``costs``, when stated (two-class tasks only), chooses the threshold that minimises the
    expected cost on the validation folds' predictions, in place of ``tune_threshold``'s
    metric; a fixed ``threshold`` still wins over both (a resolved recipe holds the threshold
    the costs chose, next to the costs).
    """

    class_weight: str = "none"
    tune_threshold: bool = False
    threshold: float | None = None
    costs: Costs = field(default_factory=Costs)

    def validate(self) -> None:
        _check_choice("class weight", self.class_weight, CLASS_WEIGHT)
        if self.threshold is not None:
            _check_number("decision threshold", self.threshold, "imbalance.threshold")
        self.costs.validate()


@dataclass
class ModelChoice:
    """One catalogue model, with fixed hyperparameters (``params``) overriding its defaults.

    ``weight`` is its vote in an ensemble (``Recipe.ensemble``).
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0


@dataclass
class Stacking:
    """Combine the ensemble's models by stacking instead of averaging.

    A linear meta-model (logistic regression for classes, ridge regression with non-negative
    weights for numbers) learns how to weigh the models from their out-of-fold predictions
    on the cross-validation folds (see :mod:`core.train._stacking`); ``ModelChoice.weight``
    is then not used.

    Attributes
    ----------
    passthrough : bool
        The meta-model also sees the prepared inputs, not only the models' predictions.
    """

    passthrough: bool = False

    def validate(self) -> None:
        if not isinstance(self.passthrough, bool):
            raise TabwrightError(f"stacking.passthrough must be true or false, got {self.passthrough!r}.",
                                 "Use true or false.")


@dataclass
class Search:
    """Hyperparameter search over each chosen model's search space."""

    method: str = "none"
    trials: int = 20
    time_budget: float | None = None

    def validate(self) -> None:
        _check_choice("search method", self.method, SEARCH)
        _check_number("trials", self.trials, "search.trials")
        if self.time_budget is not None:
            _check_number("search time budget (seconds)", self.time_budget,
                          "search.time_budget")


@dataclass
class Brief:
    """The problem in the user's words, and what result is good enough (the Define stage)."""

    problem: str = ""
    decision: str = ""
    bar_metric: str | None = None
    bar_value: float | None = None
    ideal_value: float | None = None
    interpretable: bool = False
    max_latency_ms: float | None = None
    max_training_seconds: float | None = None

    def validate(self) -> None:
        if self.bar_metric is not None:
            _check_choice("good-enough metric", self.bar_metric, OPTIMISABLE)
            if self.bar_value is None:
                raise TabwrightError(
                    "A good-enough bar needs a value, got none.",
                    f"Enter the {self.bar_metric} you would accept, or clear the bar.",
                )
        if self.max_latency_ms is not None:
            _check_number("latency limit (ms)", self.max_latency_ms, "brief.max_latency_ms")


@dataclass
class DataSource:
    """Where the data came from when it was not a file: a query, so a run can be repeated.

    Attributes
    ----------
    kind : str
        ``"sql"``: ``query`` run against the database at ``url``.
    url : str
        A SQLAlchemy URL without its password (it is supplied again when the query is re-run).
    query : str
        The query, as it was run.
    """

    kind: str = "sql"
    url: str = ""
    query: str = ""

    def validate(self) -> None:
        _check_choice("data source kind", self.kind, SOURCE_KINDS)
        for what, value in (("url", self.url), ("query", self.query)):
            if not isinstance(value, str) or not value.strip():
                raise TabwrightError(f"source.{what} must be non-empty text, got {value!r}.",
                                     "Use a recipe.json written by tabwright.")
        try:
            password = urlsplit(self.url).password
        except ValueError:
            password = None
        if password is not None:
            raise TabwrightError("source.url must not hold a password, got one.",
                                 "Remove the password from the URL; supply it when the query "
                                 "is run (TABWRIGHT_DB_PASSWORD on the command line).")


@dataclass
class Aggregate:
    """One feature made from a related table's rows per key (a one-to-many join).

    Attributes
    ----------
    function : str
        One of :data:`AGGREGATES`: ``count`` (rows, no column), ``sum``, ``mean``, ``min``,
        ``max``, ``last`` (the value of the latest event; needs the join's event-time column),
        ``nunique`` (distinct values) or ``days_since_last`` (days from the latest event to the
        row's cutoff; needs a cutoff).
    column : str or None
        The related table's column it summarises (``None`` for ``count`` and
        ``days_since_last``).
    """

    function: str
    column: str | None = None

    def validate(self, where: str) -> None:
        _check_choice(f"{where} aggregate", self.function, AGGREGATES)
        needs_column = self.function not in ("count", "days_since_last")
        if needs_column and not (isinstance(self.column, str) and self.column):
            raise TabwrightError(f"{where}: {self.function} needs a column of the related "
                                 f"table, got {self.column!r}.",
                                 "Name the column to summarise.")
        if not needs_column and self.column is not None:
            raise TabwrightError(f"{where}: {self.function} takes no column, got {self.column!r}.",
                                 "Leave the column empty.")


@dataclass
class Cutoff:
    """Which related events a main-table row may see: only those strictly before its cutoff.

    Attributes
    ----------
    event_column : str
        The related table's event-time column (when each order, visit or payment happened).
    main_column : str or None
        The main table's prediction-time column: each row's own moment of prediction.
    date : str or None
        A fixed ISO date (``"2024-01-01"``) for every row instead of ``main_column``.
    """

    event_column: str
    main_column: str | None = None
    date: str | None = None

    def validate(self, where: str) -> None:
        if not (isinstance(self.event_column, str) and self.event_column):
            raise TabwrightError(f"{where}.cutoff needs the related table's event-time column, "
                                 f"got {self.event_column!r}.",
                                 "Name the column that says when each related row happened.")
        if (self.main_column is None) == (self.date is None):
            raise TabwrightError(f"{where}.cutoff needs exactly one of a prediction-time column "
                                 f"or a fixed date, got column {self.main_column!r} and date "
                                 f"{self.date!r}.",
                                 "Name the main table's prediction-time column, or give one date.")
        if self.date is not None:
            try:
                date.fromisoformat(str(self.date)[:10])
            except ValueError:
                raise TabwrightError(f"{where}.cutoff date must be an ISO date, got "
                                     f"{self.date!r}.", "Write it as 2024-01-31.") from None


@dataclass
class Join:
    """A second table joined to the main one on a key, before anything is prepared.

    One-to-one and many-to-one joins add the related table's ``columns`` to each main row
    (a left join: exactly the main table's rows, unmatched rows get missing values). A
    one-to-many join never multiplies rows: the related rows are summarised per key by
    ``aggregates``, and with a ``cutoff`` only events strictly before each row's cutoff count.
    New columns are named ``{name}_{column}`` (or ``{name}_{function}_{column}``); a name the
    main table already has is refused. Times without a zone are read as UTC.

    Attributes
    ----------
    name : str
        The related table's short name (its file name without extension), used in column names.
    main_key, related_key : str
        The key column in each table.
    relation : str
        One of :data:`RELATIONS`, as found when the join was set up. A one-to-one or
        many-to-one join whose related keys now repeat is refused (it would repeat main rows),
        never silently changed; a one-to-many join whose related keys happen to be unique
        still summarises them, with a warning.
    columns : list of str
        For one-to-one and many-to-one: the related columns to add (empty: all but the key;
        :func:`core.ingest.default_join` lists them, so a related table with more columns
        later adds nothing the model did not see).
    aggregates : list of Aggregate
        For one-to-many: the features to compute per key.
    cutoff : Cutoff or None
        For one-to-many: which events each row may see (``None``: all of them, with a warning
        that aggregates may contain the future).
    """

    name: str
    main_key: str
    related_key: str
    relation: str = "many_to_one"
    columns: list[str] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    cutoff: Cutoff | None = None

    def validate(self, where: str = "join") -> None:
        for what, value in (("name", self.name), ("main_key", self.main_key),
                            ("related_key", self.related_key)):
            if not (isinstance(value, str) and value.strip()):
                raise TabwrightError(f"{where}.{what} must be non-empty text, got {value!r}.",
                                     "Name the related table and the key column in each table.")
        _check_choice(f"{where} relation", self.relation, RELATIONS)
        if not isinstance(self.columns, list) or not all(isinstance(c, str) for c in self.columns):
            raise TabwrightError(f"{where}.columns must be a list of column names, got "
                                 f"{self.columns!r}.", "List the related columns to add.")
        if self.relation == "one_to_many":
            if not self.aggregates:
                raise TabwrightError(f"{where} is one-to-many, so it needs at least one "
                                     "aggregate, got none.",
                                     "Add count, sum, mean, ... of the related rows per key.")
            if self.columns:
                raise TabwrightError(f"{where} is one-to-many, so it adds aggregates, not "
                                     f"columns, got columns {self.columns!r}.",
                                     "Clear columns; choose aggregates instead.")
        elif self.aggregates or self.cutoff is not None:
            raise TabwrightError(f"{where} is {self.relation.replace('_', '-')}, so it adds "
                                 "columns; aggregates and a cutoff are for one-to-many joins.",
                                 "Clear aggregates and cutoff, or set relation to one_to_many.")
        for i, aggregate in enumerate(self.aggregates):
            aggregate.validate(f"{where}.aggregates[{i}]")
            if aggregate.function in ("last", "days_since_last") and self.cutoff is None:
                raise TabwrightError(f"{where}: {aggregate.function} needs to know when each "
                                     "related row happened, got no cutoff.",
                                     "Set the cutoff's event-time column, or drop this aggregate.")
        if self.cutoff is not None:
            self.cutoff.validate(where)


@dataclass
class Recipe:
    """Everything decided about one model, and nothing that was fitted.

    ``task`` may be ``None`` until a target is chosen; :func:`core.train._runner.train` fills it from
    the data when it is. ``auto`` with ``time_budget`` lets tabwright choose models and
    hyperparameters itself within that wall-clock budget; with ``max_trials`` it plans its
    search by count instead (the same data, seed and count give the same model on any
    machine; the budget then only caps it). ``ensemble`` averages the chosen
    models' predictions (weighted by ``ModelChoice.weight``) when that wins on validation in
    auto mode, and always when set on a fixed list of models; with ``stacking`` a meta-model
    learns how to combine them instead (auto mode tries stacking too, and keeps it when it
    wins). ``finalize`` refits the chosen configuration on every row (test rows included)
    after the test evaluation: ``on``, ``off``, or ``auto`` (on in auto mode for tables of up
    to :data:`core.train.FINALIZE_AUTO_ROWS` rows; a resolved recipe says on or off).
    ``bagging`` makes each histogram-boosting model of the final model the mean of five
    copies, each fitted without a different fifth of the rows, instead of one fit on them all
    (off by default: see docs/auto-mode.md for what it did to auto mode).
    ``rank_metric`` is what candidates are ranked and chosen by when that is not ``metric``
    (``None``: the metric itself). Auto mode ranks multiclass accuracy by log loss
    (:func:`core.metrics.ranking_metric`) and its resolved recipe says so, so that replaying
    it chooses between the model and the baseline as the run did.
    ``source`` says where the data came from when it was a database query (``None`` for a
    file). ``sensitive`` names the columns (model inputs or not) whose groups the Evaluate
    stage compares for fairness; it changes what is measured, not how a model is trained.
    ``joins`` are second tables joined to this one before anything else (see :class:`Join`).
    """

    target: str | None = None
    task: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    drop_duplicate_rows: bool = False
    preparation: Preparation = field(default_factory=Preparation)
    features: Features = field(default_factory=Features)
    split: Split = field(default_factory=Split)
    validation: Validation = field(default_factory=Validation)
    imbalance: Imbalance = field(default_factory=Imbalance)
    models: list[ModelChoice] = field(default_factory=list)
    ensemble: bool = False
    stacking: Stacking | None = None
    search: Search = field(default_factory=Search)
    auto: bool = True
    time_budget: float = 60.0
    max_trials: int | None = None
    finalize: str = "auto"
    bagging: bool = False
    metric: str | None = None
    rank_metric: str | None = None
    seed: int = 0
    brief: Brief = field(default_factory=Brief)
    source: DataSource | None = None
    sensitive: list[str] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    version: int = RECIPE_VERSION

    # ---- validation -------------------------------------------------------------------
    def validate(self, columns: list[str] | None = None) -> "Recipe":
        """Check every choice; with ``columns``, also that every named column exists.

        Returns the recipe itself so calls can chain. Raises :class:`TabwrightError`.
        """
        if self.version != RECIPE_VERSION:
            raise TabwrightError(
                f"recipe version must be {RECIPE_VERSION}, got {self.version!r}.",
                "This recipe was written by another tabwright version; re-create it in the app.",
            )
        if self.task is not None:
            _check_choice("task", self.task, TASKS)
        if self.task == "clustering" and self.target:
            raise TabwrightError(
                f"A clustering recipe has no target, got target {self.target!r}.",
                "Clear the target, or choose a classification or regression task.",
            )
        if self.task in ("binary", "multiclass", "regression") and not self.target:
            raise TabwrightError(
                f"A {self.task} recipe needs a target column, got none.",
                "Choose the column to predict.",
            )
        for column, role in self.roles.items():
            _check_choice(f"role for {column!r}", role, ROLES)
        if self.metric is not None:
            allowed = self.metrics_for_task() if self.task else OPTIMISABLE
            _check_choice("metric", self.metric, allowed,
                          (f"For a {self.task} task use" if self.task else "Use")
                          + f" one of: {', '.join(allowed)}.")
        if self.rank_metric is not None:
            allowed = self.metrics_for_task() if self.task else OPTIMISABLE
            _check_choice("rank_metric", self.rank_metric, allowed,
                          "Leave it out to rank by the metric, or use one of: "
                          f"{', '.join(allowed)}.")
        _check_number("seed", self.seed, "seed")
        _check_number("time budget (seconds)", self.time_budget, "time_budget")
        if self.max_trials is not None:
            _check_number("number of trials", self.max_trials, "max_trials")
        _check_choice("finalize", self.finalize, FINALIZE,
                      "Use on (refit on every row after testing), off, or auto.")
        if not isinstance(self.bagging, bool):
            raise TabwrightError(f"bagging must be true or false, got {self.bagging!r}.",
                                 "Use true to deliver each gradient-boosting model as the mean "
                                 "of five fold copies, or false.")
        if not self.auto and not self.models:
            raise TabwrightError(
                "Choose at least one model, or switch on auto mode, got neither.",
                "Pick models from the catalogue or let tabwright choose within a time budget.",
            )
        if self.stacking is not None:
            self._check_stacking()
        for part in (self.preparation, self.features, self.split, self.validation,
                     self.imbalance, self.search, self.brief):
            part.validate()
        if self.source is not None:
            self.source.validate()
        self._check_sensitive()
        self._check_joins()
        if self.target and self.target in self.drop:
            raise TabwrightError(
                f"The target {self.target!r} cannot also be dropped.",
                "Remove it from the dropped columns, or choose another target.",
            )
        if columns is not None:
            self._check_columns_exist(columns)
        return self

    def _check_sensitive(self) -> None:
        if not isinstance(self.sensitive, list) or not all(
                isinstance(c, str) and c for c in self.sensitive):
            raise TabwrightError(
                f"sensitive must be a list of column names, got {self.sensitive!r}.",
                "List the sensitive columns by name, e.g. [\"sex\", \"age\"].",
            )
        repeated = sorted({c for c in self.sensitive if self.sensitive.count(c) > 1})
        if repeated:
            raise TabwrightError(
                f"Each sensitive column must be named once, got {', '.join(map(repr, repeated))} "
                "more than once.",
                "Remove the repeated names.",
            )

    def _check_joins(self) -> None:
        if not isinstance(self.joins, list):
            raise TabwrightError(f"joins must be a list, got {self.joins!r}.",
                                 "Use a recipe.json written by tabwright.")
        for i, join in enumerate(self.joins):
            join.validate(f"joins[{i}]")
        names = [j.name for j in self.joins]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise TabwrightError(f"Each joined table needs its own name, got "
                                 f"{', '.join(map(repr, repeated))} more than once.",
                                 "Rename one of the related tables.")

    def _check_stacking(self) -> None:
        self.stacking.validate()
        if not self.auto and not self.ensemble:
            raise TabwrightError(
                "Stacking combines the chosen models, so it needs the ensemble on, got it off.",
                "Switch the ensemble on, or clear stacking.",
            )
        if self.split.time_column or self.validation.scheme == "timeseries":
            raise TabwrightError(
                "Stacking cannot follow time-ordered validation, got "
                + (f"the time column {self.split.time_column!r}." if self.split.time_column
                   else "the timeseries scheme."),
                "Its meta-model learns from every fold's predictions, later ones too; average "
                "the models instead (clear stacking).",
            )

    def metrics_for_task(self) -> tuple[str, ...]:
        """The metrics this recipe's task can optimise (see :mod:`core.metrics`)."""
        return metrics_for(self.task or "binary")

    def _check_columns_exist(self, columns: list[str]) -> None:
        present = set(columns)
        named: list[tuple[str, str]] = []
        if self.target:
            named.append(("target", self.target))
        named += [("role override", c) for c in self.roles]
        named += [("dropped column", c) for c in self.drop]
        named += [("column preparation", c) for c in self.preparation.columns]
        named += [("interaction column", c) for c in self.features.interactions]
        named += [("polynomial column", c) for c in self.features.polynomial]
        if self.split.group_column:
            named.append(("group column", self.split.group_column))
        if self.split.time_column:
            named.append(("time column", self.split.time_column))
        named += [("sensitive column", c) for c in self.sensitive]
        for join in self.joins:
            named.append((f"key of the join with {join.name!r}", join.main_key))
            if join.cutoff is not None and join.cutoff.main_column:
                named.append((f"prediction-time column of the join with {join.name!r}",
                              join.cutoff.main_column))
        for what, column in named:
            if column not in present:

                close = difflib.get_close_matches(column, list(present), n=3)
                hint = (f"Did you mean {', '.join(map(repr, close))}?" if close
                        else "Check the column names in the data.")
                raise TabwrightError(f"The {what} {column!r} is not a column of the data.", hint)

    # ---- effective values -------------------------------------------------------------
    @property
    def effective_metric(self) -> str:
        if self.metric:
            return self.metric
        if not self.task:
            raise TabwrightError("No task yet, so no metric.", "Choose a target column first.")
        return default_metric(self.task)

    @property
    def effective_rank_metric(self) -> str:
        """What candidates are ranked and chosen by: ``rank_metric`` when set, else in auto
        mode :func:`core.metrics.ranking_metric` of the metric, else the metric."""
        return ranking_metric(self.effective_metric, self.task or "", auto=self.auto,
                              chosen=self.rank_metric)

    def column_prep(self, column: str) -> ColumnPrep:
        return self.preparation.columns.get(column, ColumnPrep())

    # ---- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if self.source is None:  # a file's recipe reads exactly as before sources existed
            del data["source"]
        if self.stacking is None:  # and stacking,
            del data["stacking"]
        if not self.features.polynomial:  # and polynomial features,
            del data["features"]["polynomial"]
        if self.preparation.reduce == Reduction():  # as before reductions existed, too
            del data["preparation"]["reduce"]
        if not self.imbalance.costs.stated:  # and costs,
            del data["imbalance"]["costs"]
        if not self.sensitive:  # and sensitive columns,
            del data["sensitive"]
        if not self.joins:  # and joins,
            del data["joins"]
        if self.max_trials is None:  # and a search planned by count,
            del data["max_trials"]
        if self.finalize == "auto":  # and the final refit's default
            del data["finalize"]
        if not self.bagging:  # and bagging
            del data["bagging"]
        if self.rank_metric is None:  # and ranking by another metric
            del data["rank_metric"]
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Recipe":
        """Build and validate a recipe from plain data (e.g. a parsed recipe.json)."""
        if not isinstance(data, dict):
            raise TabwrightError(
                f"A recipe must be a JSON object, got {type(data).__name__}.",
                "Use a recipe.json written by tabwright.",
            )
        return _build(cls, data, "recipe").validate()

    @classmethod
    def from_json(cls, text: str) -> "Recipe":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TabwrightError(
                f"The recipe is not valid JSON: {exc.msg} at line {exc.lineno}.",
                "Use a recipe.json written by tabwright, or fix the JSON.",
            ) from None
        return cls.from_dict(data)

    def copy(self) -> "Recipe":
        return copy.deepcopy(self)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Construct dataclass ``cls`` from ``data``, rejecting unknown keys with a clear message."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise TabwrightError(
            f"{where} has unknown setting(s): {', '.join(unknown)}.",
            f"Known settings are: {', '.join(known)}.",
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        sub = _SUBTYPES.get((cls.__name__, name))
        if sub is None or (value is None and (cls.__name__, name) in _NULLABLE):
            kwargs[name] = value
        elif sub == "columns":
            if not isinstance(value, dict):
                raise TabwrightError(f"{where}.{name} must be an object, got {value!r}.",
                                     "Map each column name to its settings.")
            kwargs[name] = {k: _build(ColumnPrep, _obj(v, f"{where}.{name}.{k}"),
                                      f"{where}.{name}.{k}") for k, v in value.items()}
        elif sub == "joins":
            if not isinstance(value, list):
                raise TabwrightError(f"{where}.joins must be a list, got {value!r}.",
                                     "List the joins as objects.")
            kwargs[name] = [_build(Join, _obj(v, f"{where}.joins[{i}]"), f"{where}.joins[{i}]")
                            for i, v in enumerate(value)]
        elif sub == "aggregates":
            if not isinstance(value, list):
                raise TabwrightError(f"{where}.aggregates must be a list, got {value!r}.",
                                     "List the aggregates as objects with a function.")
            kwargs[name] = [_build(Aggregate, _obj(v, f"{where}.aggregates[{i}]"),
                                   f"{where}.aggregates[{i}]") for i, v in enumerate(value)]
        elif sub == "models":
            if not isinstance(value, list):
                raise TabwrightError(f"{where}.models must be a list, got {value!r}.",
                                     "List the models as objects with a name.")
            kwargs[name] = [_build(ModelChoice, _obj(v, f"{where}.models[{i}]"),
                                   f"{where}.models[{i}]") for i, v in enumerate(value)]
        else:
            kwargs[name] = _build(sub, _obj(value, f"{where}.{name}"), f"{where}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise TabwrightError(f"{where} is incomplete: {exc}.",
                             "Use a recipe.json written by tabwright.") from None


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TabwrightError(f"{where} must be an object, got {value!r}.",
                             "Use a recipe.json written by tabwright.")
    return value


_SUBTYPES: dict[tuple[str, str], Any] = {
    ("Recipe", "preparation"): Preparation,
    ("Recipe", "features"): Features,
    ("Recipe", "split"): Split,
    ("Recipe", "validation"): Validation,
    ("Recipe", "imbalance"): Imbalance,
    ("Recipe", "search"): Search,
    ("Recipe", "brief"): Brief,
    ("Recipe", "source"): DataSource,
    ("Recipe", "stacking"): Stacking,
    ("Recipe", "models"): "models",
    ("Preparation", "columns"): "columns",
    ("Preparation", "reduce"): Reduction,
    ("Imbalance", "costs"): Costs,
    ("Recipe", "joins"): "joins",
    ("Join", "aggregates"): "aggregates",
    ("Join", "cutoff"): Cutoff,
}
_NULLABLE = {("Recipe", "source"), ("Recipe", "stacking"), ("Join", "cutoff")}


def diff(old: Recipe, new: Recipe) -> list[dict[str, Any]]:
    """What changed between two recipes, as ``[{"path", "old", "new"}]`` (for run history)."""
    changes: list[dict[str, Any]] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        elif a != b:
            changes.append({"path": path, "old": a, "new": b})

    # Every setting, also those to_dict leaves out at their defaults (source, reduce, costs).
    walk(dataclasses.asdict(old), dataclasses.asdict(new), "")
    return changes


def apply_suggestion(recipe: Recipe, action: str, params: dict[str, Any]) -> Recipe:
    """Apply a data-quality finding's one-click suggestion; returns a new recipe.

    ``action`` and ``params`` come from :class:`core.explore._findings.Suggestion`.
    """
    r = recipe.copy()
    prep = r.preparation.columns
    if action == "drop_columns":
        for column in params["columns"]:
            if column not in r.drop and column != r.target:
                r.drop.append(column)
    elif action == "set_role":
        r.roles[params["column"]] = params["role"]
    elif action == "set_encoding":
        prep.setdefault(params["column"], ColumnPrep()).encode = params["encoding"]
    elif action == "drop_duplicate_rows":
        r.drop_duplicate_rows = True
    elif action == "set_metric":
        r.metric = params["metric"]
    elif action == "set_class_weight":
        r.imbalance.class_weight = params.get("value", "balanced")
    elif action == "set_outliers":
        prep.setdefault(params["column"], ColumnPrep()).outliers = params.get("method", "clip_iqr")
    elif action == "add_missing_indicator":
        for column in params["columns"]:
            prep.setdefault(column, ColumnPrep()).missing_indicator = True
    elif action == "set_imputation":
        prep.setdefault(params["column"], ColumnPrep()).impute = params["strategy"]
    elif action == "parse_dates":
        r.roles[params["column"]] = "datetime"
    elif action == "set_target":
        r.target = params["column"]
        r.task = None
    else:
        raise TabwrightError(f"Unknown suggestion action {action!r}.",
                             "This suggestion cannot be applied; change the recipe by hand.")
    return r.validate()
