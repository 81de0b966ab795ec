"""The model catalogue: what each model is, when to use it, what it costs, how to tune it.

Every entry builds a scikit-learn estimator: scikit-learn's own, or CatBoost behind the small
scikit-learn wrapper in ``core.estimators``. Search spaces are plain data
(``{"C": ("float", 1e-3, 100.0, "log")}``) so Optuna, random search and grid search all read
the same definition, and the UI can show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from sklearn import (
    cluster,
    dummy,
    ensemble,
    linear_model,
    mixture,
    naive_bayes,
    neighbors,
    neural_network,
    svm,
    tree,
)

from core.errors import TabwrightError

# A search dimension: ("float", low, high, "log"|"linear") | ("int", low, high, "log"|"linear")
# | ("choice", [values]).
Space = dict[str, tuple]

KEEP_FEATURES = "keep_features"
"""A model setting that belongs to its pipeline, not its estimator: keep only this many
prepared inputs, those most related to the target (an F-test, fitted inside each fold), before
the model (see :func:`core.prepare.build_pipeline`). Auto mode sets it on wide tables."""

SPLINES = "splines"
"""A linear model's setting that belongs to its pipeline: with ``n`` (not 0), every prepared
input with many values also enters as cubic splines with ``n`` knots
(:class:`core.transformers.SplineBasis`), so the model can bend each input's effect — a
generalised additive model. Auto mode tries it for two classes and for regression on tables up
to :data:`SPLINE_MAX_FEATURES` feature columns; not for several classes, where a multinomial
model bends every input once per class and, chosen on accuracy, scored worse on held-out rows
(docs/auto-mode.md)."""
SEARCH_OFF: dict[str, Any] = {SPLINES: 0, "loss": "squared_error"}
"""Search choices that leave the model as it is by default: auto mode's search keeps them out
of a candidate's settings, so its notes and model card read "Ridge regression (alpha=3)",
not "... (splines=0, alpha=3)"."""
SPLINE_MAX_FEATURES = 100
"""Most feature columns for which auto mode tries splines: each expanded input becomes seven
model inputs, and past a hundred columns the fit's cost grows faster than what bending buys."""


@dataclass(frozen=True)
class ModelSpec:
    """One catalogue entry.

    Attributes
    ----------
    name : str
        Stable identifier used in recipes, e.g. ``"hist_gradient_boosting"``.
    label : str
        What a person reads, e.g. ``"Gradient boosting (histogram)"``.
    tasks : tuple of str
        ``"classification"``, ``"regression"`` and/or ``"clustering"``.
    style : {"linear", "tree"}
        How features are prepared for it (one-hot + scaling, or ordinal codes).
    what, when : str
        One line each: what it is, and when to use it.
    space : dict
        Search space for tuning.
    grid : dict
        A small grid for grid search (lists of values).
    max_rows : int or None
        Above this many training rows the model is skipped (``skip``) or trained on a sample
        (``sample``), as ``large_data`` says; ``cost`` explains why in words.
    handles_missing : bool
        Accepts NaN itself, so ``auto`` imputation leaves numbers missing for it.
    interpretable : bool
        A person can read the fitted model (coefficients, a shallow tree).
    float32 : bool
        Fits on ``float32`` inputs as they are (no ``float64`` copy), so the recipe's
        ``precision`` may hand it 32-bit numbers (see :class:`core.recipe.Preparation`).
    bagged : bool
        A bagged run (``recipe.bagging``) delivers it as the mean of fold copies. Histogram
        boosting only: its early stopping on a tenth of a small table makes each fit lean on
        the chance of its rows, and the mean of five copies scored better than one refit on
        the held-out rows (``bench/bag_probe.py``: +0.005 to +0.009 of ROC-AUC or accuracy
        over ten small tables). Forests are averages of randomised trees already, and CatBoost
        and linear models gained nothing; a single decision tree is chosen to be read.
    """

    name: str
    label: str
    tasks: tuple[str, ...]
    style: str
    what: str
    when: str
    build: Callable[..., Any]
    space: Space = field(default_factory=dict)
    grid: dict[str, list] = field(default_factory=dict)
    max_rows: int | None = None
    large_data: str = "sample"
    cost: str = ""
    handles_missing: bool = False
    interpretable: bool = False
    class_weight: bool = False
    random_state: bool = True
    float32: bool = False
    bagged: bool = False

    def make(self, task: str, params: dict[str, Any] | None = None, *, seed: int = 0,
             class_weight: str = "none", n_jobs: int = 1) -> Any:
        """A fresh, unfitted estimator for ``task`` with ``params`` over the defaults."""
        kind = task_kind(task)
        if kind not in self.tasks:
            raise TabwrightError(
                f"{self.label} does not do {kind}, got it for a {task} task.",
                f"Choose a model for {kind}: {', '.join(s.name for s in models_for(task))}.",
            )
        kwargs = dict(params or {})
        kwargs.pop(KEEP_FEATURES, None)  # the pipeline's steps, not the estimator's
        kwargs.pop(SPLINES, None)
        return self.build(kind, kwargs, seed=seed,
                          class_weight=None if class_weight == "none" else class_weight,
                          n_jobs=n_jobs)


def task_kind(task: str) -> str:
    return {"binary": "classification", "multiclass": "classification",
            "regression": "regression", "clustering": "clustering"}[task]


def _dummy(kind, p, *, seed, class_weight, n_jobs):
    if kind == "classification":
        return dummy.DummyClassifier(strategy=p.pop("strategy", "prior"), **p)
    return dummy.DummyRegressor(strategy=p.pop("strategy", "mean"), **p)


def _logistic(kind, p, *, seed, class_weight, n_jobs):
    penalty = p.pop("penalty", "l2")
    l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, p.pop("l1_ratio", 0.5))
    p.pop("l1_ratio", None)
    solver = p.pop("solver", "lbfgs" if l1_ratio == 0.0 else "saga")
    return linear_model.LogisticRegression(
        C=p.pop("C", 1.0), l1_ratio=l1_ratio, solver=solver, max_iter=p.pop("max_iter", 2000),
        class_weight=class_weight, random_state=seed, **p)


def _linear_svm(kind, p, *, seed, class_weight, n_jobs):
    if kind == "classification":
        return svm.LinearSVC(C=p.pop("C", 1.0), class_weight=class_weight, random_state=seed,
                             max_iter=p.pop("max_iter", 5000), **p)
    return svm.LinearSVR(C=p.pop("C", 1.0), random_state=seed, max_iter=5000, **p)


def _knn(kind, p, *, seed, class_weight, n_jobs):
    cls = neighbors.KNeighborsClassifier if kind == "classification" else neighbors.KNeighborsRegressor
    return cls(n_neighbors=p.pop("n_neighbors", 15), weights=p.pop("weights", "distance"),
               n_jobs=n_jobs, **p)


def _naive_bayes(kind, p, *, seed, class_weight, n_jobs):
    return naive_bayes.GaussianNB(var_smoothing=p.pop("var_smoothing", 1e-9), **p)


def _tree(kind, p, *, seed, class_weight, n_jobs):
    if kind == "classification":
        return tree.DecisionTreeClassifier(max_depth=p.pop("max_depth", 6),
                                           min_samples_leaf=p.pop("min_samples_leaf", 5),
                                           class_weight=class_weight, random_state=seed, **p)
    return tree.DecisionTreeRegressor(max_depth=p.pop("max_depth", 6),
                                      min_samples_leaf=p.pop("min_samples_leaf", 5),
                                      random_state=seed, **p)


def _forest(extra: bool):
    def build(kind, p, *, seed, class_weight, n_jobs):
        if kind == "classification":
            cls = ensemble.ExtraTreesClassifier if extra else ensemble.RandomForestClassifier
            extra_kw = {"class_weight": class_weight}
        else:
            cls = ensemble.ExtraTreesRegressor if extra else ensemble.RandomForestRegressor
            extra_kw = {}
        return cls(n_estimators=p.pop("n_estimators", 200),
                   min_samples_leaf=p.pop("min_samples_leaf", 1),
                   max_features=p.pop("max_features", "sqrt" if kind == "classification" else 0.5),
                   n_jobs=n_jobs, random_state=seed, **extra_kw, **p)
    return build


RARE_CLASS_SAFE = "rare_class_safe"
"""A histogram boosting classifier's setting: with ``True`` its early stopping keeps the rows of
a class seen once in the training part (:class:`core.estimators.RareClassBoostingClassifier`).
The training run sets it when some fit (a fold's training part, or every training row) holds a
single row of a class."""


def _hgb(kind, p, *, seed, class_weight, n_jobs):
    rare_safe = p.pop(RARE_CLASS_SAFE, False)
    common = dict(learning_rate=p.pop("learning_rate", 0.1), max_iter=p.pop("max_iter", 300),
                  max_leaf_nodes=p.pop("max_leaf_nodes", 31),
                  min_samples_leaf=p.pop("min_samples_leaf", 20),
                  l2_regularization=p.pop("l2_regularization", 0.0),
                  early_stopping=p.pop("early_stopping", True), random_state=seed)
    common.update(p)
    if kind == "classification":
        if rare_safe:
            from core import estimators

            return estimators.RareClassBoostingClassifier(class_weight=class_weight, **common)
        return ensemble.HistGradientBoostingClassifier(class_weight=class_weight, **common)
    return ensemble.HistGradientBoostingRegressor(**common)


def _catboost(kind, p, *, seed, class_weight, n_jobs):
    from core import estimators

    if kind == "classification":
        return estimators.CatBoostClassifier(class_weight=class_weight, random_state=seed,
                                             thread_count=n_jobs, **p)
    return estimators.CatBoostRegressor(random_state=seed, thread_count=n_jobs, **p)


def _mlp(kind, p, *, seed, class_weight, n_jobs):
    width = p.pop("width", 64)
    layers = p.pop("layers", 1)
    cls = neural_network.MLPClassifier if kind == "classification" else neural_network.MLPRegressor
    return cls(hidden_layer_sizes=(width,) * layers, alpha=p.pop("alpha", 1e-4),
               learning_rate_init=p.pop("learning_rate_init", 1e-3), early_stopping=True,
               max_iter=p.pop("max_iter", 300), random_state=seed, **p)


def _linear_regression(kind, p, *, seed, class_weight, n_jobs):
    return linear_model.LinearRegression(**p)


def _ridge(kind, p, *, seed, class_weight, n_jobs):
    return linear_model.Ridge(alpha=p.pop("alpha", 1.0), **p)


def _lasso(kind, p, *, seed, class_weight, n_jobs):
    return linear_model.Lasso(alpha=p.pop("alpha", 1.0), max_iter=5000, random_state=seed, **p)


def _elastic_net(kind, p, *, seed, class_weight, n_jobs):
    return linear_model.ElasticNet(alpha=p.pop("alpha", 1.0), l1_ratio=p.pop("l1_ratio", 0.5),
                                   max_iter=5000, random_state=seed, **p)


def _svr(kind, p, *, seed, class_weight, n_jobs):
    return svm.SVR(C=p.pop("C", 1.0), epsilon=p.pop("epsilon", 0.1), **p)


def _kmeans(kind, p, *, seed, class_weight, n_jobs):
    return cluster.KMeans(n_clusters=p.pop("n_clusters", 3), n_init=10, random_state=seed, **p)


def _agglomerative(kind, p, *, seed, class_weight, n_jobs):
    return cluster.AgglomerativeClustering(n_clusters=p.pop("n_clusters", 3),
                                           linkage=p.pop("linkage", "ward"), **p)


def _dbscan(kind, p, *, seed, class_weight, n_jobs):
    return cluster.DBSCAN(eps=p.pop("eps", 0.5), min_samples=p.pop("min_samples", 5),
                          n_jobs=n_jobs, **p)


def _gmm(kind, p, *, seed, class_weight, n_jobs):
    return mixture.GaussianMixture(n_components=p.pop("n_clusters", 3), random_state=seed, **p)


CLS, REG, CLU = "classification", "regression", "clustering"

CATALOGUE: tuple[ModelSpec, ...] = (
    ModelSpec("dummy", "Baseline (no learning)", (CLS, REG), "linear",
              "Predicts the most common class or the mean, ignoring every feature.",
              "Always: any real model must beat it, or the features carry no signal.",
              _dummy, random_state=False, interpretable=True, float32=True),
    ModelSpec("logistic_regression", "Logistic regression", (CLS,), "linear",
              "A weighted sum of the features turned into a probability; L2, L1 or elastic net.",
              "A strong, readable first model; coefficients show each feature's push.",
              _logistic, space={"C": ("float", 1e-3, 100.0, "log"),
                                "penalty": ("choice", ["l2", "l1", "elasticnet"])},
              grid={"C": [0.01, 0.1, 1.0, 10.0], "penalty": ["l2", "l1"]},
              interpretable=True, class_weight=True, float32=True),
    ModelSpec("linear_svm", "Linear SVM", (CLS,), "linear",
              "Finds the widest straight margin between classes.",
              "Many features (text, one-hot); gives scores, not calibrated probabilities.",
              _linear_svm, space={"C": ("float", 1e-3, 10.0, "log")},
              grid={"C": [0.01, 0.1, 1.0]}, interpretable=True, class_weight=True),
    ModelSpec("knn", "k-nearest neighbours", (CLS, REG), "linear",
              "Predicts from the k most similar training rows.",
              "Small, low-dimensional data where similar rows behave alike.",
              _knn, space={"n_neighbors": ("int", 3, 75, "log"),
                           "weights": ("choice", ["uniform", "distance"])},
              grid={"n_neighbors": [5, 15, 45]}, max_rows=50_000, large_data="skip",
              cost="its prediction cost grows with the data", random_state=False, float32=True),
    ModelSpec("naive_bayes", "Gaussian naive Bayes", (CLS,), "linear",
              "Treats features as independent bell curves per class.",
              "A very fast sanity check; often beaten, rarely terrible.",
              _naive_bayes, space={"var_smoothing": ("float", 1e-12, 1e-3, "log")},
              grid={"var_smoothing": [1e-9, 1e-6]}, random_state=False),
    ModelSpec("decision_tree", "Decision tree", (CLS, REG), "tree",
              "A flowchart of yes/no questions learned from the data.",
              "When a person must read the model; keep it shallow.",
              _tree, space={"max_depth": ("int", 2, 12, "linear"),
                            "min_samples_leaf": ("int", 1, 50, "log")},
              grid={"max_depth": [3, 5, 8]}, interpretable=True, class_weight=True,
              handles_missing=True),
    ModelSpec("random_forest", "Random forest", (CLS, REG), "tree",
              "Many deep trees on bootstrap samples, averaged.",
              "Robust default for mixed data; little tuning needed.",
              _forest(False), space={"n_estimators": ("int", 100, 500, "log"),
                                     "min_samples_leaf": ("int", 1, 20, "log"),
                                     "max_features": ("float", 0.1, 1.0, "linear")},
              grid={"min_samples_leaf": [1, 5], "max_features": [0.3, 0.6]},
              max_rows=200_000, cost="each tree grows with the rows; trained on a sample",
              class_weight=True, handles_missing=True),
    ModelSpec("extra_trees", "Extra trees", (CLS, REG), "tree",
              "Like a random forest, but with random split points: faster, smoother.",
              "Noisy data; often as good as a forest at a fraction of the time.",
              _forest(True), space={"n_estimators": ("int", 100, 500, "log"),
                                    "min_samples_leaf": ("int", 1, 20, "log"),
                                    "max_features": ("float", 0.1, 1.0, "linear")},
              grid={"min_samples_leaf": [1, 5], "max_features": [0.3, 0.6]},
              max_rows=200_000, cost="each tree grows with the rows; trained on a sample",
              class_weight=True),
    ModelSpec("hist_gradient_boosting", "Gradient boosting (histogram)", (CLS, REG), "tree",
              "Hundreds of small trees, each fixing the last ones' errors; fast on big data.",
              "Usually the strongest on tables; handles missing values and categories itself.",
              _hgb, space={"learning_rate": ("float", 0.01, 0.3, "log"),
                           "max_leaf_nodes": ("int", 8, 128, "log"),
                           "min_samples_leaf": ("int", 5, 200, "log"),
                           "l2_regularization": ("float", 1e-6, 10.0, "log"),
                           "max_iter": ("int", 100, 1000, "log")},
              grid={"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31, 63]},
              handles_missing=True, class_weight=True, bagged=True),
    ModelSpec("catboost", "CatBoost", (CLS, REG), "tree",
              "Gradient boosting with symmetric trees and ordered boosting (Yandex's CatBoost).",
              "Small or noisy tables, where it overfits less than other boosting; slower to fit.",
              _catboost, space={"learning_rate": ("float", 0.02, 0.3, "log"),
                                "depth": ("int", 4, 8, "linear"),
                                "l2_leaf_reg": ("float", 1.0, 30.0, "log"),
                                "iterations": ("int", 200, 1000, "log")},
              grid={"depth": [4, 6], "learning_rate": [0.05, 0.1]},
              handles_missing=True, class_weight=True),
    ModelSpec("mlp", "Neural network (MLP)", (CLS, REG), "linear",
              "Layers of weighted sums with non-linear activations.",
              "Large, smooth problems; needs scaling and more tuning than trees.",
              _mlp, space={"width": ("int", 16, 256, "log"), "layers": ("int", 1, 3, "linear"),
                           "alpha": ("float", 1e-6, 1e-1, "log"),
                           "learning_rate_init": ("float", 1e-4, 1e-2, "log")},
              grid={"width": [32, 128], "alpha": [1e-4, 1e-2]},
              max_rows=200_000, cost="training time grows with rows × width; trained on a sample",
              float32=True),
    ModelSpec("linear_regression", "Linear regression", (REG,), "linear",
              "Ordinary least squares: a straight-line fit of every feature.",
              "A readable baseline for numbers; no tuning.",
              _linear_regression, interpretable=True, random_state=False),
    ModelSpec("ridge", "Ridge regression", (REG,), "linear",
              "Least squares with an L2 penalty that shrinks coefficients.",
              "Many correlated features; the safest linear default.",
              _ridge, space={"alpha": ("float", 1e-3, 1e3, "log")},
              grid={"alpha": [0.1, 1.0, 10.0, 100.0]}, interpretable=True, random_state=False,
              float32=True),
    ModelSpec("lasso", "Lasso regression", (REG,), "linear",
              "Least squares with an L1 penalty that sets weak coefficients to zero.",
              "When you expect only a few features to matter.",
              _lasso, space={"alpha": ("float", 1e-4, 1e2, "log")},
              grid={"alpha": [0.01, 0.1, 1.0]}, interpretable=True, float32=True),
    ModelSpec("elastic_net", "Elastic net", (REG,), "linear",
              "A blend of ridge and lasso penalties.",
              "Correlated features of which only some matter.",
              _elastic_net, space={"alpha": ("float", 1e-4, 1e2, "log"),
                                   "l1_ratio": ("float", 0.05, 0.95, "linear")},
              grid={"alpha": [0.01, 0.1, 1.0], "l1_ratio": [0.2, 0.5, 0.8]}, interpretable=True,
              float32=True),
    ModelSpec("svr", "Support vector regression", (REG,), "linear",
              "Fits a tube around the data with a kernel for curved relations.",
              "Small to medium data with smooth, non-linear relations.",
              _svr, space={"C": ("float", 1e-2, 1e3, "log"),
                           "epsilon": ("float", 1e-3, 1.0, "log")},
              grid={"C": [1.0, 10.0, 100.0]}, max_rows=20_000, large_data="sample",
              cost="training time grows with the square of the rows; trained on a sample",
              random_state=False),
    ModelSpec("kmeans", "k-means", (CLU,), "linear",
              "Splits rows into k round groups around centres.",
              "Compact, similar-sized groups; k is chosen by silhouette.",
              _kmeans, space={"n_clusters": ("int", 2, 10, "linear")}),
    ModelSpec("agglomerative", "Agglomerative clustering", (CLU,), "linear",
              "Merges the closest rows into groups, bottom up.",
              "Small data where groups may be nested.",
              _agglomerative, space={"n_clusters": ("int", 2, 10, "linear")},
              max_rows=20_000, large_data="sample",
              cost="memory grows with the square of the rows; run on a sample",
              random_state=False),
    ModelSpec("dbscan", "DBSCAN", (CLU,), "linear",
              "Finds dense regions and calls sparse points noise.",
              "Groups of odd shapes, and outlier detection.",
              _dbscan, space={"eps": ("float", 0.1, 5.0, "log")}, max_rows=50_000,
              large_data="sample", cost="neighbour search grows with the data; run on a sample",
              random_state=False),
    ModelSpec("gaussian_mixture", "Gaussian mixture", (CLU,), "linear",
              "Models the data as overlapping bell-shaped groups; soft assignments.",
              "Elliptical groups of different sizes.",
              _gmm, space={"n_clusters": ("int", 2, 10, "linear")}),
)

_BY_NAME = {spec.name: spec for spec in CATALOGUE}


def get(name: str) -> ModelSpec:
    """The catalogue entry called ``name``; a clear error listing the names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise TabwrightError(
            f"There is no model called {name!r} in the catalogue.",
            f"Choose one of: {', '.join(_BY_NAME)}.",
        ) from None


def bags(bagging: bool, name: str) -> bool:
    """Whether a final model delivers model ``name`` as a fold bag: the recipe's ``bagging``
    is on and the model is one :attr:`ModelSpec.bagged` names."""
    return bool(bagging) and get(name).bagged


def models_for(task: str) -> list[ModelSpec]:
    """Every catalogue entry that can do ``task``, baseline first."""
    kind = task_kind(task)
    return [spec for spec in CATALOGUE if kind in spec.tasks]


def default_models(task: str, *, interpretable: bool = False) -> list[str]:
    """What a user gets without choosing: the baseline, a linear model, and strong trees."""
    if task == "clustering":
        return ["kmeans", "gaussian_mixture"]
    linear = "logistic_regression" if task in ("binary", "multiclass") else "ridge"
    if interpretable:
        return ["dummy", linear, "decision_tree"]
    return ["dummy", linear, "random_forest", "hist_gradient_boosting"]


WIDE_RATIO = 1.0
"""Feature columns per training row from which a table is wide (genes, spectra, sensors): with
more inputs than rows, only strongly penalised or selective models can learn, so auto mode
tries those (:func:`auto_portfolio`)."""
MANY_FEATURES = 1_000
"""Feature columns from which trees sample columns, whatever the rows: forests weigh √features
at each split and boosting half of them, as the cost of a split grows with the columns."""
POISSON_MIN_SKEW = 1.5
"""Least skewness of a regression target, never negative, for which auto mode also tries
boosting with Poisson loss (:func:`skewed_target`)."""
CATBOOST_AUTO_ROWS = 10_000
"""Most training rows for which auto mode's portfolio holds CatBoost. Above it a 500-round fit
takes 5 s and more on one thread, and the refit time reserved for it crowds out the search: with
CatBoost on every table, the 60 s runs on the 16k–26k-row benchmark tables ended 10–20 s early
and doctor_contacts fell from 1.023 to 0.951 scaled. Histogram boosting is as strong there."""
ROWS_PER_FEATURE = 10
"""On a wide table, penalised linear models keep one input per this many training rows (the
rule of thumb of ten rows per coefficient), trees one per row (:data:`KEEP_FEATURES`)."""


def is_wide(n_rows: int, n_features: int | None) -> bool:
    """Whether a table with these training rows and feature columns is wide (:data:`WIDE_RATIO`).

    Examples
    --------
    >>> is_wide(240, 5_000), is_wide(240, 20), is_wide(240, None)
    (True, False, False)
    """
    return n_features is not None and n_features >= WIDE_RATIO * max(n_rows, 1)


def skewed_target(y: Any) -> bool:
    """Whether a regression target suits Poisson loss: never negative, not all zero, and
    skewed to the right (counts of visits, amounts of money).

    Such a target's spread grows with its level. Boosting with Poisson loss fits the
    logarithm of the mean, so a tree's step multiplies the prediction instead of adding to
    it, and the few large values weigh less on the fit than under squared error.

    Examples
    --------
    >>> skewed_target([0, 0, 0, 1, 1, 2, 3, 9, 25])
    True
    >>> skewed_target([-1, 0, 0, 1, 1, 2, 3, 9, 25])
    False
    """
    values = np.asarray(y, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 3 or values.min() < 0 or values.max() <= 0:
        return False
    spread = values.std()
    if spread == 0:
        return False
    skew = float(np.mean(((values - values.mean()) / spread) ** 3))
    return skew >= POISSON_MIN_SKEW


def auto_portfolio(task: str, *, n_rows: int, n_features: int | None = None,
                   target_spread: float = 1.0, skewed: bool = False,
                   interpretable: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The configurations auto mode tries first, in order, before any search.

    A fixed portfolio of known-good settings (the zero-shot idea behind AutoGluon's and
    FLAML's defaults) beats a blind search when the budget allows only a dozen fits: each
    entry covers a weakness of the defaults on some kind of table, and together they give
    the ensemble different kinds of mistakes to average out. Cheap, broad entries come first
    so that a short budget still ends with a baseline, a linear model and a boosted model.

    A wide table (:func:`is_wide`) gets its own portfolio: L1-penalised models that pick their
    few inputs themselves (lasso; logistic regression with liblinear, which fits an L1 path on
    a few hundred rows in a tenth of a second where saga took seconds), ridge and L2 logistic
    regression on the inputs most related to the target, boosting on as many inputs as rows,
    and randomised trees that weigh √features at each split.

    Parameters
    ----------
    task : str
    n_rows : int
        Training rows. Forests get fewer trees on large data, where each tree costs more.
    n_features : int, optional
        Feature columns: decides :func:`is_wide` and :data:`MANY_FEATURES`.
    target_spread : float, default=1.0
        The target's standard deviation (regression): lasso's penalty scales with it.
    skewed : bool, default=False
        The regression target is never negative and skewed (:func:`skewed_target`): boosting
        with Poisson loss joins the portfolio.
    interpretable : bool
        Only models a person can read.

    Returns
    -------
    list of (model name, params)

    Examples
    --------
    >>> [m for m, _ in auto_portfolio("regression", n_rows=1000)][:3]
    ['dummy', 'ridge', 'hist_gradient_boosting']
    >>> [m for m, _ in auto_portfolio("regression", n_rows=240, n_features=5000)][:3]
    ['dummy', 'lasso', 'ridge']
    """
    kind = task_kind(task)
    linear = "logistic_regression" if kind == "classification" else "ridge"
    wide = is_wide(n_rows, n_features)
    if wide:
        return _wide_portfolio(task, n_rows, target_spread, interpretable)
    if interpretable:
        return [("dummy", {}), (linear, {}), ("decision_tree", {})]
    trees = 300 if n_rows <= 5_000 else 100
    strong_linear = ({"C": 0.1} if kind == "classification" else {"alpha": 10.0})
    many = n_features is not None and n_features >= MANY_FEATURES
    sampled = {"max_features": 0.5} if many else {}
    return [
        ("dummy", {}),
        (linear, {}),
        ("hist_gradient_boosting", sampled),
        # Slower learning with smaller, regularised trees: better on small or noisy tables.
        ("hist_gradient_boosting", {"learning_rate": 0.05, "max_iter": 500, "max_leaf_nodes": 15,
                                    "min_samples_leaf": 10, "l2_regularization": 1.0, **sampled}),
        # The same on the logarithm of the mean, for counts and amounts (see skewed_target).
        *([("hist_gradient_boosting", {"loss": "poisson", "learning_rate": 0.05, "max_iter": 500,
                                       "max_leaf_nodes": 15, "min_samples_leaf": 10,
                                       "l2_regularization": 1.0, **sampled})]
          if skewed and task == "regression" else []),
        # Fully grown randomised trees: the most different from boosting, so they blend well.
        ("extra_trees", {"n_estimators": trees, "min_samples_leaf": 1,
                         "max_features": "sqrt" if kind == "classification" or many else 0.7}),
        # Symmetric trees and ordered boosting overfit less on small tables, and a second
        # boosting family blends well (docs/auto-mode.md). Categories are combined one at a time
        # in its target statistics: about half the fit time, the same scores in 5-fold CV.
        *([("catboost", {"max_ctr_complexity": 1})]
          if n_rows <= CATBOOST_AUTO_ROWS and not many else []),
        (linear, strong_linear),
        # Each input's effect bent by splines: on small tables where a straight line does well,
        # a curve often does better, and it errs differently from trees (docs/auto-mode.md).
        *([(linear, {SPLINES: 5})] if _splines_suit(task, n_rows, n_features) else []),
        # Smoother randomised trees: the strongest single model on the small noisy tables.
        ("extra_trees", {"n_estimators": trees, "min_samples_leaf": 2,
                         "max_features": "sqrt" if many else 0.5}),
        ("random_forest", {"n_estimators": trees, "min_samples_leaf": 1,
                           "max_features": "sqrt" if kind == "classification" or many else 0.5}),
        # Bigger trees, more rounds and patient early stopping: large or interaction-rich data.
        ("hist_gradient_boosting", {"learning_rate": 0.1, "max_iter": 1000, "max_leaf_nodes": 63,
                                    "min_samples_leaf": 20, "l2_regularization": 1.0,
                                    "n_iter_no_change": 30, **sampled}),
    ]


def _wide_portfolio(task: str, n_rows: int, target_spread: float, interpretable: bool
                    ) -> list[tuple[str, dict[str, Any]]]:
    """:func:`auto_portfolio` for a wide table: sparse and penalised first."""
    keep_linear = {KEEP_FEATURES: max(10, n_rows // ROWS_PER_FEATURE)}
    if task == "regression":
        lasso = [("lasso", {"alpha": 0.03 * target_spread})]
        linear = [*lasso, ("ridge", {**keep_linear, "alpha": 10.0}),
                  ("elastic_net", {"alpha": 0.05 * target_spread, "l1_ratio": 0.5})]
        strong = [("lasso", {"alpha": 0.1 * target_spread})]
    elif task == "binary":
        l1 = {"penalty": "l1", "solver": "liblinear"}
        lasso = [("logistic_regression", {**l1, "C": 0.1})]
        linear = [*lasso, ("logistic_regression", {**keep_linear, "C": 0.1})]
        strong = [("logistic_regression", {**l1, "C": 0.03})]
    else:  # liblinear fits two classes only, and saga's L1 takes seconds a fit here
        lasso = [("logistic_regression", {**keep_linear, "C": 0.1})]
        linear = [*lasso, ("logistic_regression", {KEEP_FEATURES: 4 * keep_linear[KEEP_FEATURES],
                                                   "C": 0.03})]
        strong = []
    if interpretable:
        return [("dummy", {}), *lasso, ("decision_tree", {KEEP_FEATURES: n_rows})]
    return [
        ("dummy", {}),
        *linear,
        ("hist_gradient_boosting", {KEEP_FEATURES: n_rows, "learning_rate": 0.05,
                                    "max_leaf_nodes": 8, "min_samples_leaf": 10,
                                    "l2_regularization": 1.0, "max_features": 0.5}),
        ("extra_trees", {"n_estimators": 300, "min_samples_leaf": 1, "max_features": "sqrt"}),
        *strong,
        ("random_forest", {KEEP_FEATURES: n_rows, "n_estimators": 300, "max_features": "sqrt"}),
    ]


def _splines_suit(task: str | None, n_rows: int | None, n_features: int | None) -> bool:
    """Whether auto mode tries linear models on splines (:data:`SPLINES`) for this table."""
    if task == "multiclass":
        return False
    return n_features is None or (n_features <= SPLINE_MAX_FEATURES
                                  and (n_rows is None or not is_wide(n_rows, n_features)))


def wide_reason(n_rows: int, n_features: int) -> str:
    """Why auto mode chooses differently on a wide table, in words (the plan and the run say it)."""
    return (f"Wide table: {n_features:,} feature columns for {n_rows:,} training rows. With more "
            "columns than rows, auto mode tries models that can still learn: L1-penalised ones "
            "that pick their few inputs (lasso; L1 logistic regression for two classes), ridge "
            "and logistic regression on the inputs most related to the target (one per "
            f"{ROWS_PER_FEATURE} "
            "training rows, chosen inside each fold), boosting on as many inputs as rows, and "
            "trees that weigh √features at each split. k-NN, kernel SVMs and neural networks are "
            "not tried: distances over thousands of columns say little, and a network would have "
            "more weights than there are rows.")


def wide_search_models(task: str) -> list[str]:
    """The model families auto mode's search tries on a wide table (see :func:`auto_space`)."""
    if task_kind(task) == "regression":
        return ["lasso", "elastic_net", "ridge", "hist_gradient_boosting"]
    return ["logistic_regression", "hist_gradient_boosting", "extra_trees"]


# Auto mode searches a narrower space than a user may: a trial must not cost much more than
# the portfolio's fits of the same model, which is how auto mode predicts its cost. The saga
# solver behind L1 and elastic-net penalties ran 50× slower than lbfgs on 36,000 rows; slow
# learning rates, many leaves and many trees scale the cost the same way.
_AUTO_SPACE: dict[str, Space] = {
    # Splines (a curve per input) only where auto mode chooses: a user's search keeps the model
    # it names, and sets SPLINES itself.
    "logistic_regression": {"penalty": ("choice", ["l2"]), SPLINES: ("choice", [0, 5])},
    "ridge": {SPLINES: ("choice", [0, 5])},
    "hist_gradient_boosting": {"learning_rate": ("float", 0.03, 0.3, "log"),
                               "max_leaf_nodes": ("int", 8, 64, "log")},
    "extra_trees": {"n_estimators": ("int", 100, 300, "log")},
    "random_forest": {"n_estimators": ("int", 100, 300, "log")},
}


def auto_space(name: str, *, task: str | None = None, n_rows: int | None = None,
               n_features: int | None = None, target_spread: float = 1.0,
               skewed: bool = False, interpretable: bool = False) -> Space:
    """The search space auto mode uses for ``name``: its space, narrowed where a setting's
    cost cannot be predicted from the portfolio's fits.

    On a wide table (``n_rows`` and ``n_features`` given, :func:`is_wide`) the space follows
    :func:`auto_portfolio`'s wide entries: strong penalties (lasso's scaled by
    ``target_spread``), how many inputs to keep, L1 with liblinear for two classes, and trees
    that weigh √features or fewer at each split.

    Examples
    --------
    >>> auto_space("logistic_regression")["penalty"]
    ('choice', ['l2'])
    >>> auto_space("logistic_regression", task="binary", n_rows=240, n_features=5000)["solver"]
    ('choice', ['liblinear'])
    """
    space = {**get(name).space, **_AUTO_SPACE.get(name, {})}
    if SPLINES in space and (interpretable or not _splines_suit(task, n_rows, n_features)):
        del space[SPLINES]  # spline coefficients are not a model a person reads
    if name == "hist_gradient_boosting" and skewed and task == "regression":
        space["loss"] = ("choice", ["squared_error", "poisson"])
    if n_rows is None or not is_wide(n_rows, n_features):
        return space
    linear_keep = max(10, n_rows // ROWS_PER_FEATURE)
    keep = ("int", linear_keep, max(linear_keep + 1, min(n_features, 2_000)), "log")
    wide: dict[str, Space] = {
        "logistic_regression": (
            {"C": ("float", 0.01, 1.0, "log"), "penalty": ("choice", ["l1"]),
             "solver": ("choice", ["liblinear"])} if task == "binary" else
            {"C": ("float", 0.003, 1.0, "log"), "penalty": ("choice", ["l2"]), KEEP_FEATURES: keep}),
        "ridge": {"alpha": ("float", 0.1, 1e4, "log"), KEEP_FEATURES: keep},
        "lasso": {"alpha": ("float", 0.003 * target_spread, 0.3 * target_spread, "log")},
        "elastic_net": {"alpha": ("float", 0.003 * target_spread, 0.3 * target_spread, "log"),
                        "l1_ratio": ("float", 0.1, 0.9, "linear")},
        "hist_gradient_boosting": {KEEP_FEATURES: ("int", min(n_rows, n_features), min(n_features,
                                                                                     4 * n_rows), "log"),
                                   "max_features": ("float", 0.1, 1.0, "log")},
        "extra_trees": {"max_features": ("choice", ["sqrt", "log2"])},
        "random_forest": {"max_features": ("choice", ["sqrt", "log2"])},
    }
    return {**space, **wide.get(name, {})}
