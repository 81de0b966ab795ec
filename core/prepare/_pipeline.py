"""The prepare stage: a recipe and the column roles become one scikit-learn pipeline.

Every model is ``Pipeline([("prep", ColumnTransformer(...)), ("model", estimator)])`` (with
optional ``("select", ...)``, ``("keep", ...)`` and ``("reduce", ...)`` steps between), so
cleaning, encoding, scaling, selection and any reduction to fewer components are fitted inside
each cross-validation fold and travel with the exported model: the same transform at
prediction time, and no leakage from validation rows into the fitted preparation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (registers the class)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import (
    SelectFromModel,
    SelectKBest,
    VarianceThreshold,
    f_classif,
    f_regression,
    mutual_info_classif,
    mutual_info_regression,
)
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from core import catalogue
from core.errors import TabwrightError
from core.prepare._reduce import build_reducer, keeps_sparse
from core.recipe import ColumnPrep, Recipe
from core.transformers import (
    DatetimeParts,
    Float32,
    OutlierClipper,
    SplineBasis,
    TextColumn,
    ToNumber,
    ToString,
)

MISSING_LEVEL = "(missing)"
NATIVE_MAX_LEVELS = 250  # HistGradientBoosting's native categories must fit in 255 bins
DROPPED_ROLES = {"identifier": "an identifier carries no pattern a model can generalise from",
                 "constant": "a constant column carries no information"}


@dataclass
class FeaturePlan:
    """Which raw columns enter the model, in which role, and why others do not.

    Attributes
    ----------
    roles : dict
        Feature column → role, in the data's column order.
    dropped : dict
        Column → the reason it is left out, in words.
    levels : dict
        Categorical/boolean/text column → number of distinct values in the data.
    """

    roles: dict[str, str]
    dropped: dict[str, str] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    text_numbers: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return list(self.roles)


def plan_features(frame: pd.DataFrame, recipe: Recipe,
                  inferred_roles: dict[str, str]) -> FeaturePlan:
    """Decide each column's part from the inferred roles, the user's overrides and drops.

    Parameters
    ----------
    frame : DataFrame
        The data (only used for column names and level counts).
    recipe : Recipe
    inferred_roles : dict
        Column → role from :func:`core.ingest._roles.infer_roles`.
    """
    roles: dict[str, str] = {}
    dropped: dict[str, str] = {}
    special = {recipe.target, recipe.split.group_column, recipe.split.time_column} - {None}
    for column in frame.columns:
        if column == recipe.target:
            continue
        if column in recipe.drop:
            dropped[column] = "you chose to drop it"
            continue
        if column in special:
            dropped[column] = "it defines the split, not a feature"
            continue
        role = recipe.roles.get(column) or inferred_roles.get(column, "categorical")
        if role in DROPPED_ROLES:
            dropped[column] = f"it looks like an {role}: {DROPPED_ROLES[role]}" if role == "identifier" \
                else f"it is {role}: {DROPPED_ROLES[role]}"
            continue
        roles[column] = role
    if not roles:
        raise TabwrightError(
            "No feature columns are left to learn from.",
            "Keep at least one column besides the target (check dropped columns and roles).",
        )
    levels = {c: int(frame[c].nunique(dropna=True))
              for c, r in roles.items() if r in ("categorical", "boolean", "text")}
    text_numbers = [c for c, r in roles.items()
                    if r == "numeric" and not pd.api.types.is_numeric_dtype(frame[c])]
    return FeaturePlan(roles=roles, dropped=dropped, levels=levels, text_numbers=text_numbers)


def _encoding_for(column: str, prep: ColumnPrep, plan: FeaturePlan, recipe: Recipe,
                  style: str) -> str:
    choice = prep.encode if prep.encode != "auto" else recipe.preparation.encode
    if choice != "auto":
        return choice
    if plan.levels.get(column, 0) > recipe.preparation.target_encode_above:
        return "target"
    return "native" if style == "tree" else "onehot"


def _scaler(choice: str) -> Any:
    return {"standard": StandardScaler(), "minmax": MinMaxScaler(), "robust": RobustScaler(),
            "yeo_johnson": PowerTransformer(method="yeo-johnson"), "none": None}[choice]


def _numeric_imputer(strategy: str, prep: ColumnPrep, seed: int) -> Any:
    indicator = prep.missing_indicator
    if strategy == "knn":
        return KNNImputer(n_neighbors=5, add_indicator=indicator)
    if strategy == "iterative":
        return IterativeImputer(random_state=seed, max_iter=10, add_indicator=indicator)
    if strategy == "constant":
        return SimpleImputer(strategy="constant", fill_value=float(prep.fill_value),
                             add_indicator=indicator)
    return SimpleImputer(strategy=strategy, add_indicator=indicator)


def _steps(*pairs: tuple[str, Any]) -> Pipeline | str:
    steps = [(n, s) for n, s in pairs if s is not None]
    return Pipeline(steps) if steps else "passthrough"


def _numeric_branch(prep: ColumnPrep, recipe: Recipe, style: str,
                    handles_missing: bool) -> Pipeline | str:
    impute = prep.impute if prep.impute != "auto" else recipe.preparation.numeric_impute
    if prep.impute == "auto" and handles_missing and not prep.missing_indicator:
        impute = "none"
    imputer = None if impute == "none" else _numeric_imputer(impute, prep, recipe.seed)
    clipper = OutlierClipper(prep.outliers) if prep.outliers in ("clip_iqr", "clip_quantile") else None
    if prep.bins:
        return _steps(("clip", clipper), ("impute", imputer or SimpleImputer(strategy="median")),
                      ("bin", KBinsDiscretizer(n_bins=prep.bins, encode="onehot-dense",
                                               strategy="quantile", quantile_method="averaged_inverted_cdf")))
    scale = prep.scale if prep.scale != "auto" else recipe.preparation.scale
    if scale == "auto":
        scale = "none" if style == "tree" else "standard"
    if imputer is None and scale != "none":
        imputer = SimpleImputer(strategy="median")  # scalers cannot pass NaN to every model
    return _steps(("clip", clipper), ("impute", imputer), ("scale", _scaler(scale)))


def _categorical_branch(encoding: str, prep: ColumnPrep, recipe: Recipe, task: str) -> Pipeline:
    impute = prep.impute if prep.impute not in ("auto", "none") else recipe.preparation.categorical_impute
    if impute == "constant":
        fill = MISSING_LEVEL if prep.fill_value is None else str(prep.fill_value)
        imputer = SimpleImputer(strategy="constant", fill_value=fill)
    else:
        imputer = SimpleImputer(strategy="most_frequent")
    p = recipe.preparation
    if encoding == "onehot":
        encoder: Any = OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                     min_frequency=p.rare_min_fraction or None,
                                     max_categories=p.max_levels)
    elif encoding == "target":
        splitter = (KFold if task == "regression" else StratifiedKFold)(
            5, shuffle=True, random_state=recipe.seed)
        encoder = TargetEncoder(target_type="continuous" if task == "regression" else "auto",
                                cv=splitter)
    else:  # ordinal, or native categories for HistGradientBoosting
        categories: Any = "auto"
        if prep.order:
            categories = [list(prep.order)]
        encoder = OrdinalEncoder(categories=categories, handle_unknown="use_encoded_value",
                                 unknown_value=-1, encoded_missing_value=-1,
                                 max_categories=NATIVE_MAX_LEVELS if categories == "auto" else None)
    return Pipeline([("text", ToString()), ("impute", imputer), ("encode", encoder)])


def build_preprocessor(plan: FeaturePlan, recipe: Recipe, *, task: str, style: str = "linear",
                       handles_missing: bool = False, float32: bool = False,
                       sparse: bool = False) -> tuple[ColumnTransformer, list[int]]:
    """The ``ColumnTransformer`` for one model style.

    ``float32``: every branch ends by casting to 32-bit floats (:class:`Float32`), so the
    parts and the matrix stacked from them take half the memory. ``sparse``: the output is
    a sparse matrix when a part (TF-IDF text) is sparse, for truncated SVD to take as it is.

    Returns
    -------
    transformer : ColumnTransformer
        Output is a float array (dense unless ``sparse``); feature names via
        ``get_feature_names_out``.
    native_categorical : list of int
        Output positions holding ordinal category codes meant for a model's native
        categorical support (first in the output, so the positions are known before fitting).
    """
    groups: dict[tuple, list[str]] = {}
    order_keys: list[tuple] = []
    interactions = [c for c in recipe.features.interactions if plan.roles.get(c) == "numeric"]
    polynomial = [c for c in recipe.features.polynomial if plan.roles.get(c) == "numeric"]
    for column, role in plan.roles.items():
        prep = recipe.column_prep(column)
        if role == "numeric" and (column in interactions or column in polynomial):
            continue
        if role in ("categorical", "boolean"):
            encoding = _encoding_for(column, prep, plan, recipe, style)
            if role == "boolean" and encoding in ("native", "onehot"):
                encoding = "ordinal"
            own_order = (column, tuple(prep.order)) if prep.order else None
            key: tuple = ("cat", encoding, prep.impute, str(prep.fill_value), own_order)
        elif role == "numeric":
            key = ("num", prep.impute, str(prep.fill_value), prep.missing_indicator, prep.outliers,
                   prep.scale, prep.bins, column in plan.text_numbers)
        elif role == "datetime":
            key = ("date",)
        elif role == "text":
            key = ("text", column)
        else:
            raise TabwrightError(f"Column {column!r} has an unknown role {role!r}.",
                                 "Choose one of numeric, categorical, boolean, datetime, text.")
        if key not in groups:
            groups[key] = []
            order_keys.append(key)
        groups[key].append(column)

    # Native categorical blocks first, so their output positions are 0..k-1.
    order_keys.sort(key=lambda k: 0 if k[0] == "cat" and k[1] == "native" else 1)
    transformers: list[tuple[str, Any, Any]] = []
    native: list[int] = []
    for i, key in enumerate(order_keys):
        columns = groups[key]
        kind = key[0]
        prep = recipe.column_prep(columns[0])
        if kind == "cat":
            encoding = key[1]
            branch = _categorical_branch(encoding, prep, recipe, task)
            if encoding == "native":
                native.extend(range(len(native), len(native) + len(columns)))
            elif style == "linear" and encoding in ("ordinal", "target"):
                branch.steps.append(("scale", StandardScaler()))
            transformers.append((f"{encoding}_{i}", branch, columns))
        elif kind == "num":
            branch = _numeric_branch(prep, recipe, style, handles_missing)
            if key[-1]:  # text that the user says holds numbers
                branch = Pipeline([("parse", ToNumber())] + (branch.steps if isinstance(branch, Pipeline) else []))
            transformers.append((f"numeric_{i}", branch, columns))
        elif kind == "date":
            branch = _steps(("parts", DatetimeParts(tuple(recipe.preparation.datetime_parts))),
                            ("impute", SimpleImputer(strategy="median")),
                            ("scale", StandardScaler() if style == "linear" else None))
            transformers.append(("datetime", branch, columns))
        else:
            vectoriser = TfidfVectorizer(max_features=recipe.preparation.text_max_features,
                                         sublinear_tf=True, dtype=np.float32)
            transformers.append((f"text_{i}", Pipeline([("flat", TextColumn()),
                                                        ("tfidf", vectoriser)]), [columns[0]]))
    if len(interactions) >= 2:
        transformers.append(("interactions", Pipeline([
            ("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
            ("poly", PolynomialFeatures(degree=2, interaction_only=True, include_bias=False)),
        ]), interactions))
    if polynomial:  # the columns, their squares and their pairwise products
        transformers.append(("polynomial", Pipeline([
            ("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
            ("poly", PolynomialFeatures(degree=2, include_bias=False)),
        ]), polynomial))
    if float32:
        transformers = [(name, _then_float32(branch), columns)
                        for name, branch, columns in transformers]
    transformer = ColumnTransformer(transformers, remainder="drop",
                                    sparse_threshold=1.0 if sparse else 0.0,
                                    verbose_feature_names_out=True)
    return transformer, native


def _then_float32(branch: Any) -> Any:
    """``branch`` followed by a cast to ``float32`` (TF-IDF output already is float32)."""
    if branch == "passthrough":
        return Pipeline([("float32", Float32())])
    if "tfidf" in branch.named_steps:
        return branch
    branch.steps.append(("float32", Float32()))
    return branch


FLOAT32_ABOVE = 20_000_000
"""``precision="auto"`` hands ``float32`` to the models that take it when training rows ×
prepared columns (at most) exceed this: a ``float64`` matrix of over 160 MB."""


def resolve_precision(plan: FeaturePlan, recipe: Recipe, n_rows: int) -> str:
    """The recipe's ``precision`` for a training on ``n_rows`` rows: ``auto`` made definite.

    >>> import pandas as pd
    >>> from core.recipe import Recipe
    >>> frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [0, 1, 0, 1]})
    >>> plan = plan_features(frame, Recipe(target="y"), {"x": "numeric"})
    >>> resolve_precision(plan, Recipe(target="y"), 4), resolve_precision(plan, Recipe(target="y"), 10**8)
    ('float64', 'float32')
    """
    chosen = recipe.preparation.precision
    if chosen != "auto":
        return chosen
    values = n_rows * estimate_encoded_features(plan, recipe)
    return "float32" if values > FLOAT32_ABOVE else "float64"


def build_selector(recipe: Recipe, task: str) -> Any:
    """The optional feature-selection step, or ``None``."""
    f = recipe.features
    if f.selection == "variance":
        return VarianceThreshold(threshold=1e-8)
    if f.selection == "l1":
        if task == "regression":
            model: Any = Lasso(alpha=0.01, max_iter=5000, random_state=recipe.seed)
        else:
            model = LogisticRegression(l1_ratio=1.0, C=0.5, solver="saga", max_iter=2000,
                                       random_state=recipe.seed)
        return SelectFromModel(model, max_features=f.k)
    if f.selection == "mutual_info":
        score = mutual_info_regression if task == "regression" else mutual_info_classif
        return _TopK(score_func=functools.partial(score, random_state=recipe.seed), k=f.k)
    return None


class _TopK(SelectKBest):
    """``SelectKBest`` that keeps every feature when there are fewer than ``k``."""

    def _check_params(self, X, y):
        if not isinstance(self.k, str) and self.k > X.shape[1]:
            self.k = "all"
        super()._check_params(X, y)


def build_pipeline(plan: FeaturePlan, recipe: Recipe, model: str, params: dict | None = None, *,
                   task: str, n_jobs: int = 1) -> Pipeline:
    """``Pipeline([("prep", ...), ("select", ...)?, ("keep", ...)?, ("splines", ...)?,
    ("reduce", ...)?, ("model", ...)])``.

    ``select`` is the recipe's feature selection; ``keep`` the model's own
    (``params[catalogue.KEEP_FEATURES]``: the inputs most related to the target, by an F-test,
    which needs every gap filled, so a model that takes missing values gets them imputed);
    ``splines`` adds cubic splines of the inputs with many values
    (``params[catalogue.SPLINES]`` knots, :class:`core.transformers.SplineBasis`).

    With a reduction (PCA or truncated SVD, :func:`core.prepare._reduce.build_reducer`) every
    model gets the linear models' preparation: components mix every input, so the inputs must
    share a scale and have no gaps (PCA of raw numbers follows whichever has the largest units).

    Examples
    --------
    >>> import pandas as pd
    >>> from core.recipe import Recipe
    >>> frame = pd.DataFrame({"x": [1.0, 2, 3, 4], "c": list("abab"), "y": [0, 1, 0, 1]})
    >>> plan = plan_features(frame, Recipe(target="y"), {"x": "numeric", "c": "categorical"})
    >>> pipe = build_pipeline(plan, Recipe(target="y"), "logistic_regression", task="binary")
    >>> [name for name, _ in pipe.steps]
    ['prep', 'model']
    """
    spec = catalogue.get(model)
    selector = build_selector(recipe, task)
    params = dict(params or {})
    keep = params.get(catalogue.KEEP_FEATURES)
    splines = _spline_knots(params.get(catalogue.SPLINES))
    reducer = build_reducer(recipe)
    style, handles_missing = (spec.style, spec.handles_missing) if reducer is None else ("linear", False)
    prep, native = build_preprocessor(plan, recipe, task=task, style=style,
                                      # splines need every gap filled, as the F-test does
                                      handles_missing=handles_missing and keep is None and not splines,
                                      float32=spec.float32 and recipe.preparation.precision == "float32",
                                      sparse=keeps_sparse(recipe))
    estimator = spec.make(task, params, seed=recipe.seed,
                          class_weight=recipe.imbalance.class_weight if spec.class_weight else "none",
                          n_jobs=n_jobs)
    if native and selector is None and keep is None:
        if spec.name == "hist_gradient_boosting" and "categorical_features" not in params:
            estimator.set_params(categorical_features=native)
        elif spec.name == "catboost" and "cat_features" not in params:
            estimator.set_params(cat_features=native)
    steps: list[tuple[str, Any]] = [("prep", prep)]
    if selector is not None:
        steps.append(("select", selector))
    if keep is not None:
        steps.append(("keep", _TopK(f_regression if task == "regression" else f_classif,
                                    k=int(keep))))
    if splines:
        steps.append(("splines", SplineBasis(n_knots=splines)))
    if reducer is not None:
        steps.append(("reduce", reducer))
    steps.append(("model", estimator))
    return Pipeline(steps)


def _spline_knots(value: Any) -> int:
    """The ``splines`` setting as knots per input (0: none), or a clear error."""
    if value is None or value is False or value == 0:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or value < 3:
        raise TabwrightError(
            f"The model setting {catalogue.SPLINES!r} must be 0 (none) or a whole number of knots, "
            f"3 or more; got {value!r}.",
            f"Set {catalogue.SPLINES} to 5 (auto mode's choice) or remove it.")
    return int(value)


def estimate_encoded_features(plan: FeaturePlan, recipe: Recipe) -> int:
    """An upper bound on model inputs after encoding, checked against the limit before fitting."""
    p = recipe.preparation
    total = 0
    for column, role in plan.roles.items():
        prep = recipe.column_prep(column)
        if role == "numeric":
            total += (prep.bins or 1) + (1 if prep.missing_indicator else 0)
        elif role == "datetime":
            total += len(p.datetime_parts)
        elif role == "text":
            total += p.text_max_features
        elif role == "boolean":
            total += 1
        else:
            total += min(plan.levels.get(column, 1) + 1, p.max_levels + 1)
    n = len([c for c in recipe.features.interactions if plan.roles.get(c) == "numeric"])
    m = len([c for c in recipe.features.polynomial if plan.roles.get(c) == "numeric"])
    return total + n * (n - 1) // 2 + m * (m + 1) // 2


def transformed_preview(frame: pd.DataFrame, plan: FeaturePlan, recipe: Recipe, *, task: str,
                        style: str = "linear", y: pd.Series | None = None,
                        rows: int = 8) -> pd.DataFrame:
    """What the model sees: the preparation fitted on ``frame`` and applied to its first rows."""
    prep, _ = build_preprocessor(plan, recipe, task=task, style=style)
    X = frame[plan.features]
    fit_preparation(prep, X, y)
    out = prep.transform(X.head(rows))
    names = [str(n) for n in prep.get_feature_names_out()]
    return pd.DataFrame(out, columns=names, index=X.head(rows).index)


def fit_preparation(front: Any, X: pd.DataFrame, y: pd.Series | None) -> Any:
    """Fit a preparation to look at what it makes (the preview, the explained variance).

    Parameters
    ----------
    front : ColumnTransformer or Pipeline
        The preparation, or a pipeline that starts with it.
    X : DataFrame
        The feature columns.
    y : Series or None
        The target, when there is one.

    Returns
    -------
    ColumnTransformer or Pipeline
        ``front``, fitted.

    Raises
    ------
    TabwrightError
        When the preparation target-encodes a column and there is no complete target.
    """
    prep = front[0] if isinstance(front, Pipeline) else front
    if y is None or y.isna().any():
        needs_y = any(isinstance(t[1], Pipeline) and "encode" in t[1].named_steps
                      and isinstance(t[1].named_steps["encode"], TargetEncoder)
                      for t in prep.transformers)
        if needs_y:
            raise TabwrightError("Target encoding needs the target column to preview.",
                                 "Choose a target on the Model page first.")
    return front.fit(X, y)
