"""Exact fast stand-ins for fitted pipelines: the numbers scikit-learn gives, bit for bit,
without most of the per-call overhead.

Predicting a few rows with a fitted pipeline costs far more than its arithmetic: input
checks in every step, joblib dispatch in every ``ColumnTransformer`` and every forest (a
0.2 ms config-and-warnings wrapper per tree), and histogram boosting's second encoder pass.
An auto-mode ensemble of four pipelines took ~110 ms for one row. :func:`compile_model`
walks a fitted model — ``FixedThresholdClassifier``, ``Pipeline``, soft ``VotingClassifier``
/ ``VotingRegressor``, fold bags (:class:`core.estimators.FoldBagClassifier`), a leading
``ColumnTransformer``, forests, histogram boosting — and
builds the same computation from the fitted parts:

- column branches as numpy stand-ins (:class:`_NumericKernel`, :class:`_CategoryKernel`),
  each checked against its branch at build time (``columns=True``: checked records, as the
  REST server has them), or the ``ColumnTransformer`` itself (``columns=False``: a frame);
- identical fitted ``ColumnTransformer`` steps in an ensemble (same ``joblib.hash``) computed
  once per call;
- forests tree by tree with ``tree_.apply`` and each tree's leaf values, summed in the
  forest's own order (:class:`_Forest`), on several threads for big batches: a row's sum is
  the same on any thread;
- histogram boosting without its inner encoder pass, all its trees in one C walk
  (:class:`_BoostedTrees`).

Everything else (linear models, k-NN, CatBoost, ...) is the fitted estimator itself (CatBoost's
own C++ predict takes ~0.2 ms for a row), and the steps
between the ``ColumnTransformer`` and the model (feature selection, PCA or truncated SVD) are
called as they are, with scikit-learn's own ``transform``. A stand-in that
cannot be built is replaced by what it stands for, and :func:`verified` compares a compiled
model with the model itself on real rows and keeps it only if every bit agrees.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import joblib
import numpy as np
import pandas as pd
import sklearn
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.ensemble._gradient_boosting import predict_stages
from sklearn.impute import SimpleImputer
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)
from sklearn.tree._tree import NODE_DTYPE, Tree
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from core.estimators import FOLD_BAGS, FoldBagClassifier, RareClassBoostingClassifier
from core.transformers import Float32, OutlierClipper, ToString

log = logging.getLogger("tabwright.fastpredict")

SMALL_BATCH_ROWS = 512
"""Forests walk batches up to this many rows in one C call (:meth:`_Forest._walkers`); bigger
ones go tree by tree on several threads. Boosting without its walk uses one thread up to here."""
WALK_BLOCK_ROWS = 65_536
"""Rows per ``predict_stages`` call for boosting (see :meth:`_BoostedTrees._raw`)."""
STAGE_NODES = 2_000_000
"""Forests of up to this many nodes get copies for ``predict_stages`` (~150 MB at most; see
:meth:`_Forest._walkers`); bigger ones predict small batches tree by tree."""
PARALLEL_ROWS = 20_000
"""Forests split batches of at least this many rows across threads (see :class:`_Forest`)."""


# --------------------------------------------------------------------------- column branches


def _column_branches(ct: Any) -> list[tuple[Any, list[str]]] | None:
    """The fitted branches of a ``ColumnTransformer``, when calling them one
    by one is exactly what ``ColumnTransformer.transform`` does; else ``None``.

    ``ColumnTransformer.transform`` on a frame selects each branch's columns by name, calls the
    branch's ``transform`` and stacks the dense results side by side (``np.hstack``). Doing
    that here skips 1–2 ms of input checks and joblib dispatch per call, and lets a branch be
    replaced by its exact stand-in (:func:`_kernel`), which is where the time goes: ~8 ms for
    a one-row logistic regression's three branches, 0.08 ms for their stand-ins.
    """
    if not isinstance(ct, ColumnTransformer) or getattr(ct, "feature_names_in_", None) is None:
        return None
    if getattr(ct, "sparse_output_", True) or ct.transformer_weights:
        return None
    configured = getattr(ct, "_sklearn_output_config", {}).get("transform", "default")
    if configured != "default" or sklearn.get_config()["transform_output"] != "default":
        return None
    names = set(ct.feature_names_in_)
    branches = []
    for _, transformer, columns in ct.transformers_:
        if isinstance(transformer, str):
            if transformer == "drop":
                continue
            return None  # an unfitted "passthrough" (sklearn stores a fitted one)
        if not isinstance(columns, list) or not all(isinstance(c, str) and c in names for c in columns):
            return None
        if not columns:
            continue
        branches.append((transformer, columns))
    return branches or None


_MISSING = object()
_UNSEEN = "\x00tabwright: a value never seen\x00"
_COLUMNWISE_STEPS = (SimpleImputer, OneHotEncoder, OrdinalEncoder, TargetEncoder, StandardScaler,
                     MinMaxScaler, MaxAbsScaler, RobustScaler, Float32)


def _steps_of(branch: Any) -> list[Any]:
    if isinstance(branch, Pipeline):
        return [step for _, step in branch.steps if step is not None and not isinstance(step, str)]
    return [branch]


def _nan_imputer(step: Any) -> bool:
    """A ``SimpleImputer`` that fills NaN only and drops no column."""
    missing = step.missing_values
    stats = np.asarray(step.statistics_)
    invalid = pd.isna(stats).any() if stats.dtype == object else np.isnan(stats).any()
    return (isinstance(missing, float) and np.isnan(missing) and not step.add_indicator
            and (step.keep_empty_features or not invalid))


class _NumericKernel:
    """A numeric branch — ``SimpleImputer`` → ``StandardScaler`` and the like, or passthrough —
    as the numpy operations those transformers do in ``transform``, on float64 columns.

    ``SimpleImputer`` writes its statistic where a value is NaN; ``StandardScaler`` does
    ``X -= mean_; X /= scale_``; ``OutlierClipper`` clips; ``Float32`` casts; a passthrough
    returns its input.
    Same operations on the same float64 values give the same bits, without the input checks
    that cost ~0.3 ms per step and row batch.
    """

    def __init__(self, branch: Any, columns: list[str]) -> None:
        self.columns = columns
        self.ops: list[tuple[str, Any, Any]] = []
        for step in _steps_of(branch):
            if type(step) is FunctionTransformer:
                if step.func is not None or step.validate:
                    raise ValueError("not a passthrough")
            elif type(step) is SimpleImputer and _nan_imputer(step):
                self.ops.append(("fill", np.asarray(step.statistics_, dtype="float64"), None))
            elif type(step) is StandardScaler:
                self.ops.append(("scale", step.mean_ if step.with_mean else None,
                                 step.scale_ if step.with_std else None))
            elif type(step) is OutlierClipper:
                self.ops.append(("clip", step.lower_, step.upper_))
            elif type(step) is Float32:
                self.ops.append(("float32", None, None))
            else:
                raise ValueError(f"no kernel for {type(step).__name__}")

    def accepts(self, columns: dict[str, np.ndarray]) -> bool:
        return all(columns[c].dtype == np.float64 for c in self.columns)

    def __call__(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        X = np.column_stack([columns[c] for c in self.columns])
        for op, a, b in self.ops:
            if op == "fill":
                missing = np.isnan(X)
                if missing.any():
                    X[missing] = np.broadcast_to(a, X.shape)[missing]
            elif op == "scale":
                if a is not None:
                    X -= a
                if b is not None:
                    X /= b
            elif op == "float32":
                X = X.astype(np.float32)
            else:
                X = np.clip(X, a, b)
        return X


class _CategoryKernel:
    """A category branch — ``ToString`` → ``SimpleImputer`` → an encoder (→ a scaler) — as one
    table per column of that branch's own outputs, computed once by the branch itself.

    Every step works column by column and row by row, so a column's output block depends
    only on that column's text: a training level, "missing", or anything else (all unseen
    text is encoded alike). The tables are made by transforming probe rows that vary one
    column at a time; a self-check on random rows must reproduce ``transform`` bit for bit.
    """

    def __init__(self, branch: Any, columns: list[str], rng: np.random.Generator) -> None:
        steps = _steps_of(branch)
        if not steps or type(steps[0]) is not ToString or not all(
                isinstance(step, _COLUMNWISE_STEPS) for step in steps[1:]):
            raise ValueError("not a plain category branch")
        if any(isinstance(step, SimpleImputer) and not _nan_imputer(step) for step in steps):
            raise ValueError("an imputer that is not column by column")
        encoder = next((step for step in steps if hasattr(step, "categories_")), None)
        if encoder is None or len(encoder.categories_) != len(columns):
            raise ValueError("no encoder categories")
        self.branch, self.columns = branch, columns
        self.keys = [[str(c) for c in cats if not (isinstance(c, float) and np.isnan(c))]
                     + [_UNSEEN, _MISSING] for cats in encoder.categories_]
        first = [keys[0] for keys in self.keys]
        probe, owner = [], []
        for j, keys in enumerate(self.keys):
            for key in keys:
                row = list(first)
                row[j] = key
                probe.append(row)
                owner.append(j)
        out = self._reference(probe)
        base = out[0]
        self.width, self.dtype = out.shape[1], out.dtype
        owner_arr = np.asarray(owner)
        self.blocks: list[np.ndarray] = []
        self.tables: list[dict[Any, np.ndarray]] = []
        taken = np.zeros(self.width, dtype=bool)
        for j, keys in enumerate(self.keys):
            rows = out[owner_arr == j]
            varies = ~_same(rows, rows[0]).all(axis=0)
            if (varies & taken).any():
                raise ValueError("an output column depends on two input columns")
            taken |= varies
            block = np.flatnonzero(varies)
            self.blocks.append(block)
            self.tables.append({key: rows[i, block] for i, key in enumerate(keys)})
        self.base = base
        self._check(rng)

    def _reference(self, rows: list[list[Any]]) -> np.ndarray:
        frame = pd.DataFrame([[None if v is _MISSING else v for v in row] for row in rows],
                             columns=self.columns, dtype=object)
        out = self.branch.transform(frame)
        return out.toarray() if sparse.issparse(out) else np.asarray(out)

    def _check(self, rng: np.random.Generator) -> None:
        rows = [[keys[rng.integers(len(keys))] for keys in self.keys] for _ in range(64)]
        columns = {c: _objects([None if r[j] is _MISSING else r[j] for r in rows])
                   for j, c in enumerate(self.columns)}
        if not _same(self(columns), self._reference(rows)).all():
            raise ValueError("the tables do not reproduce transform")

    def accepts(self, columns: dict[str, np.ndarray]) -> bool:
        return all(columns[c].dtype.kind in "ObifU" for c in self.columns)

    def __call__(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        n = len(columns[self.columns[0]])
        X = np.empty((n, self.width), dtype=self.dtype)
        X[:] = self.base
        for name, block, table in zip(self.columns, self.blocks, self.tables):
            if not len(block):
                continue
            unseen = table[_UNSEEN]
            X[:, block] = [table[_MISSING] if v is None or v != v else table.get(str(v), unseen)
                           for v in columns[name].tolist()]
        return X


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: equal, or both NaN."""
    equal = a == b
    if a.dtype.kind == "f":
        equal |= np.isnan(a) & np.isnan(b)
    return equal


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _kernel(branch: Any, columns: list[str], rng: np.random.Generator) -> Any:
    """The fast stand-in for one fitted branch, or ``None`` when there is none."""
    for make in (_NumericKernel, lambda b, c: _CategoryKernel(b, c, rng)):
        try:
            return make(branch, columns)
        except Exception:  # noqa: BLE001 — no kernel: the branch's own transform is used
            continue
    return None


# --------------------------------------------------------------------------- estimators


class _BoostedTrees:
    """``HistGradientBoosting*.predict`` / ``predict_proba`` on features the pipeline already
    encoded, without the estimator's own input pass, bit for bit.

    Given category features, scikit-learn's histogram boosting runs its own
    ``ColumnTransformer`` on every call (an ``OrdinalEncoder`` on the category columns, a
    ``check_array`` on the rest, category columns first), then adds each tree's output to the
    baseline, tree after tree. With our pipeline's category codes, that inner encoder maps
    each code to its position among the codes seen in training, and anything else to NaN.
    Here that map is a ``searchsorted`` on the fitted categories, then the estimator's own
    tree loop and loss link run as they do inside ``predict_proba``. The inner pass costs
    ~3 ms per call (most of a one-row prediction); the lookup ~20 µs. Small batches use one
    thread: a row's trees are summed in the same order on any number of threads, and the
    OpenMP start-up on two threads doubled the CPU per call.

    ``check`` compares the lookup with the estimator's own preprocessor on every fitted
    category, a missing value and an unseen one, column by column; ``_Model.self_check``
    then compares whole predictions. Either difference: the estimator is called as is.
    """

    def __init__(self, estimator: Any) -> None:
        # exactly these, or tabwright's RareClassBoostingClassifier (the same model, fitted on
        # another split of its rows for early stopping)
        if type(estimator) not in (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                                   RareClassBoostingClassifier):
            raise ValueError("not a histogram gradient boosting estimator")
        self.estimator = estimator
        self.classifier = isinstance(estimator, HistGradientBoostingClassifier)
        self.preprocessor = estimator._preprocessor
        self._stage_array: np.ndarray | None = None
        self._stage_failed = False
        if self.preprocessor is None:
            self.categorical = self.numeric = None
            self.categories: list[np.ndarray] = []
        else:
            is_categorical = np.asarray(estimator.is_categorical_, dtype=bool)
            self.categorical = np.flatnonzero(is_categorical)
            self.numeric = np.flatnonzero(~is_categorical)
            encoder = self.preprocessor.named_transformers_["encoder"]
            if (encoder.handle_unknown != "use_encoded_value" or not np.isnan(encoder.unknown_value)
                    or not np.isnan(encoder.encoded_missing_value)):
                raise ValueError("an inner encoder this stand-in does not know")
            self.categories = [np.asarray(c, dtype="float64") for c in encoder.categories_]
            if any(np.isnan(c[:-1]).any() or (np.diff(c[~np.isnan(c)]) <= 0).any()
                   for c in self.categories):
                raise ValueError("categories not sorted")
            self.check()

    def _encode(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype="float64")
        if self.categorical is None:
            return X
        out = np.empty((X.shape[0], len(self.categorical) + len(self.numeric)), dtype="float64")
        for j, (column, known) in enumerate(zip(self.categorical, self.categories)):
            values = X[:, column]
            seen = known[~np.isnan(known)]
            index = np.searchsorted(seen, values)
            found = index < len(seen)
            found[found] = seen[index[found]] == values[found]
            out[:, j] = np.where(found, index, np.nan)
        out[:, len(self.categorical):] = X[:, self.numeric]
        return out

    def check(self) -> None:
        n_features = len(self.categorical) + len(self.numeric)
        for j, (column, known) in enumerate(zip(self.categorical, self.categories)):
            probe = np.concatenate([known, [np.nan, -0.5, 1e9, -2.0]])
            X = np.zeros((len(probe), n_features))
            X[:, column] = probe
            if not _same(self._encode(X), self.preprocessor.transform(X)).all():
                raise ValueError("the category lookup differs from the estimator's")

    def _raw(self, X: Any) -> np.ndarray:
        est = self.estimator
        X = self._encode(X)
        raw = np.zeros((X.shape[0], est.n_trees_per_iteration_),
                       dtype=est._baseline_prediction.dtype, order="F")
        raw += est._baseline_prediction
        stages = self._stages()
        if stages is not None and self._walkable(X):

            # One thread, but faster than the predictors' own walk on two (0.65 s against
            # 0.90 s for 230 trees and 100k rows); blocks of rows bound the float32 copies.
            for start in range(0, X.shape[0], WALK_BLOCK_ROWS):
                block = slice(start, start + WALK_BLOCK_ROWS)
                predict_stages(stages, _twice(self._ranks(X[block])), 1.0, raw[block])
            return raw
        threads = 1 if X.shape[0] <= SMALL_BATCH_ROWS else _openmp_effective_n_threads(None)
        est._predict_iterations(X, est._predictors, raw, False, threads)
        return raw

    def _walkable(self, X: np.ndarray) -> bool:
        """Whether every category code is a whole number from 0 to 255, as the boosting
        predictor's ``uint8`` cast expects (true of what :meth:`_encode` gives)."""
        n_cat = 0 if self.categorical is None else len(self.categorical)
        codes = X[:, :n_cat]
        known = codes[~np.isnan(codes)]
        return bool(((known >= 0) & (known <= 255) & (known == np.floor(known))).all())

    def _ranks(self, X: np.ndarray) -> np.ndarray:
        """Each number split on as its rank among that feature's thresholds.

        ``x <= t[m]`` exactly when fewer than ``m + 1`` thresholds are below ``x``, i.e.
        ``searchsorted(t, x) <= m``: float64 comparisons, made here, and small whole
        numbers that float32 holds exactly for the walk. NaN stays NaN.
        """
        X = X.copy()
        for feature, thresholds in self._thresholds.items():
            column = X[:, feature]
            X[:, feature] = np.where(np.isnan(column), np.nan,
                                     np.searchsorted(thresholds, column, side="left"))
        return X

    def _stages(self) -> np.ndarray | None:
        """The boosted trees as sklearn ``Tree`` copies for ``predict_stages``, (iterations,
        classes), or ``None``.

        Each boosting predictor is a call with an OpenMP region (~9 µs: 10 ms for an
        ensemble of ~1,000 trees, whatever the rows). ``predict_stages`` walks every tree in
        one C loop and adds ``1.0 * value[leaf]`` (the same number) to ``raw[:, k]``, tree
        after tree: what ``_predict_iterations`` adds, in its order. The copies decide as the
        boosting predictor does (``_predict_one_from_raw_data``):

        - a number split ``x <= t[m]`` becomes ``rank(x) <= m`` on the rank of ``x`` among the
          feature's thresholds (:meth:`_ranks`), exact whatever the float32 walk;
        - NaN goes to the node's missing side: each node reads the feature as NaN → -inf
          (left) or as NaN (right), as in :meth:`_Forest._walkers`;
        - a category split (left bitset; else known category → right; else missing side;
          negative → missing side) becomes a small tree of ``<=`` splits at the half-way
          points between whole-number codes, whose leaves lead on to the two children, and
          whose outer intervals (below 0; above 255, where NaN ends up) are the missing side.
        """
        if self._stage_array is not None or self._stage_failed:
            return self._stage_array

        try:
            est = self.estimator
            width = len(self.categorical) + len(self.numeric) if self.categorical is not None \
                else est.n_features_in_
            known_bitsets, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
            if sum(p.nodes.size for it in est._predictors for p in it) > STAGE_NODES:
                raise ValueError("too big to copy")
            splits: dict[int, list[float]] = {}
            for predictors in est._predictors:
                for predictor in predictors:
                    nodes = predictor.nodes
                    numeric = (nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 0)
                    for f, t in zip(nodes["feature_idx"][numeric], nodes["num_threshold"][numeric]):
                        splits.setdefault(int(f), []).append(float(t))
            self._thresholds = {f: np.unique(np.asarray(t, dtype=np.float64))
                                for f, t in splits.items()}
            if any(len(t) >= 2**24 for t in self._thresholds.values()):
                raise ValueError("too many thresholds for float32 ranks")
            array = np.empty((len(est._predictors), est.n_trees_per_iteration_), dtype=object)
            for i, predictors in enumerate(est._predictors):
                for k, predictor in enumerate(predictors):
                    table, values = _converted(predictor, known_bitsets, f_idx_map, width,
                                               self._thresholds)
                    copy = Tree(2 * width, np.ones(1, dtype=np.intp), 1)
                    copy.__setstate__({"max_depth": 0, "node_count": len(table), "nodes": table,
                                       "values": np.asarray(values, dtype=np.float64).reshape(-1, 1, 1)})
                    array[i, k] = _Holder(copy)
            self._stage_array = array
        except Exception:  # noqa: BLE001 — the predictor-by-predictor path stays
            self._stage_failed = True
        return self._stage_array

    def predict_proba(self, X: Any) -> np.ndarray:
        if not self.classifier:
            raise AttributeError("predict_proba")
        return self.estimator._loss.predict_proba(self._raw(X))

    def predict(self, X: Any) -> np.ndarray:
        raw = self._raw(X)
        if not self.classifier:
            return self.estimator._loss.link.inverse(raw.ravel())
        encoded = (raw.ravel() > 0).astype(int) if raw.shape[1] == 1 else np.argmax(raw, axis=1)
        return self.estimator.classes_[encoded]


class _Forest:
    """``predict`` / ``predict_proba`` of a random forest or extra trees, tree by tree.

    A forest's ``predict_proba`` sends every tree through joblib (0.2 ms of config and
    warnings bookkeeping per tree: ~60 ms for 300 trees, whatever the rows) and adds each
    tree's ``tree_.predict(X)`` (leaf values, ``value[apply(X)]``) to a running sum, tree
    after tree with ``n_jobs=1``, then divides by the number of trees. Here each tree is
    ``tree_.apply`` (scikit-learn's own walk, which releases the GIL) and a lookup in its
    leaf values, summed in the same order. Batches of ``PARALLEL_ROWS`` or more are split by
    rows across threads; a row's sum does not depend on which thread computes it.
    """

    def __init__(self, estimator: Any) -> None:
        if type(estimator) not in (RandomForestClassifier, ExtraTreesClassifier,
                                   RandomForestRegressor, ExtraTreesRegressor):
            raise ValueError("not a forest")
        if estimator.n_outputs_ != 1 or estimator.n_jobs not in (None, 1):
            raise ValueError("a forest this stand-in does not reproduce")
        self.estimator = estimator
        self.classifier = hasattr(estimator, "classes_")
        self.trees = [tree.tree_ for tree in estimator.estimators_]
        # NaN goes down each node's missing-value side (tree_.apply does it) when the trees
        # accept NaN; otherwise the forest raises, and so is called to raise.
        self._walker_array: np.ndarray | None = None
        self._walker_failed = False
        self.allow_nan = bool(estimator.estimators_[0].__sklearn_tags__().input_tags.allow_nan)
        if self.classifier:
            self.values = [t.value[:, 0, :estimator.n_classes_] for t in self.trees]
        else:
            self.values = [t.value[:, 0, 0] for t in self.trees]

    def _walkers(self) -> np.ndarray | None:
        """Copies of the trees for ``predict_stages``, as a (1, n_trees) array, or ``None``.

        scikit-learn's ``predict_stages`` (the old gradient boosting's predictor) walks many
        trees in one C loop and adds ``scale * value[leaf]`` to ``out[:, k]`` for the tree in
        column ``k``. With copies whose one value per node is the node's own number, and
        ``scale=1.0``, it writes each row's leaf in each tree: ``tree_.apply`` for all trees
        in one call instead of one Python call per tree (~60× faster for a few rows). The
        copies are made once, for forests of up to ``STAGE_NODES`` nodes.

        Its walk has no missing-value rule (NaN ``<=`` anything is false: right), while
        ``apply`` sends NaN to each node's ``missing_go_to_left`` side. So the copies see every
        feature twice — NaN as -inf (``<=`` any threshold: left), then NaN as NaN (right, even
        past the ``+inf`` threshold of a missing-or-not split) — and each node reads the copy
        that goes its missing-value way. Other values are the same float32 numbers compared
        with the same float64 thresholds.
        """
        if self._walker_array is not None or self._walker_failed:
            return self._walker_array

        try:
            if sum(t.node_count for t in self.trees) > STAGE_NODES:
                raise ValueError("too big to copy")
            array = np.empty((1, len(self.trees)), dtype=object)
            for i, tree in enumerate(self.trees):
                state = tree.__getstate__()
                nodes = state["nodes"].copy()
                inner = nodes["left_child"] != -1
                nodes["feature"][inner & (nodes["missing_go_to_left"] == 0)] += tree.n_features
                numbers = np.arange(tree.node_count, dtype=np.float64).reshape(-1, 1, 1)
                copy = Tree(2 * tree.n_features, np.ones(1, dtype=np.intp), 1)
                copy.__setstate__({**state, "nodes": nodes, "values": numbers})
                array[0, i] = _Holder(copy)
            self._offsets = np.cumsum([0] + [t.node_count for t in self.trees[:-1]])
            self._flat_values = np.concatenate(
                [v if v.ndim == 2 else v[:, None] for v in self.values])
            self._walker_array = array
        except Exception:  # noqa: BLE001 — the tree-by-tree path stays
            self._walker_failed = True
        return self._walker_array

    def _sum(self, X: np.ndarray) -> np.ndarray:
        walkers = self._walkers() if X.shape[0] <= SMALL_BATCH_ROWS else None
        if walkers is not None:
            leaves = np.zeros((X.shape[0], len(self.trees)), dtype=np.float64)
            predict_stages(walkers, _twice(X), 1.0, leaves)
            # The forest's sum, tree after tree from zero: add.accumulate is sequential.
            values = np.zeros((X.shape[0], len(self.trees) + 1, self._flat_values.shape[1]))
            values[:, 1:] = self._flat_values[leaves.astype(np.intp) + self._offsets]
            out = np.add.accumulate(values, axis=1)[:, -1]
            out /= len(self.trees)
            return out if self.classifier else out[:, 0]
        shape = (X.shape[0], self.values[0].shape[1]) if self.classifier else (X.shape[0],)
        out = np.zeros(shape, dtype=np.float64)
        for tree, value in zip(self.trees, self.values):
            out += value.take(tree.apply(X), axis=0, mode="clip")
        out /= len(self.trees)
        return out

    def _mean(self, X: Any) -> np.ndarray | None:
        if sparse.issparse(X):
            return None
        X = np.ascontiguousarray(X, dtype=np.float32)
        if np.isinf(X).any() or (not self.allow_nan and np.isnan(X).any()):
            return None  # the forest refuses these: let it say so
        workers = min(os.cpu_count() or 1, X.shape[0] // (PARALLEL_ROWS // 2))
        if workers < 2:
            return self._sum(X)
        chunks = np.array_split(np.arange(X.shape[0]), workers)
        parts = list(_pool().map(lambda rows: self._sum(X[rows[0]:rows[-1] + 1]), chunks))
        return np.concatenate(parts)

    def predict_proba(self, X: Any) -> np.ndarray:
        if not self.classifier:
            raise AttributeError("predict_proba")
        out = self._mean(X)
        return self.estimator.predict_proba(X) if out is None else out

    def predict(self, X: Any) -> np.ndarray:
        out = self._mean(X)
        if out is None:
            return self.estimator.predict(X)
        if self.classifier:
            return self.estimator.classes_.take(np.argmax(out, axis=1), axis=0)
        return out


def _twice(X: np.ndarray) -> np.ndarray:
    """Each feature twice, as float32: NaN as -inf (goes left), then NaN as NaN (goes right)."""
    n, width = X.shape
    out = np.empty((n, 2 * width), dtype=np.float32)
    out[:, :width] = np.where(np.isnan(X), -np.inf, X)
    out[:, width:] = X
    return out


def _converted(predictor: Any, known_bitsets: np.ndarray, f_idx_map: np.ndarray, width: int,
               thresholds: dict[int, np.ndarray]) -> tuple[np.ndarray, list[float]]:
    """One boosting predictor as a sklearn tree's node table and node values (see
    :meth:`_BoostedTrees._stages`)."""

    source = predictor.nodes
    leaf = source["is_leaf"] != 0
    if not (source["is_categorical"][~leaf] != 0).any():  # number splits only: node for node
        table = np.zeros(len(source), dtype=NODE_DTYPE)
        table["left_child"] = np.where(leaf, -1, source["left"].astype(np.int64))
        table["right_child"] = np.where(leaf, -1, source["right"].astype(np.int64))
        feature = source["feature_idx"] + np.where(source["missing_go_to_left"] != 0, 0, width)
        table["feature"] = np.where(leaf, -2, feature)
        ranks = np.zeros(len(source))
        for f in np.unique(source["feature_idx"][~leaf]):
            at = ~leaf & (source["feature_idx"] == f)
            ranks[at] = np.searchsorted(thresholds[int(f)], source["num_threshold"][at])
        table["threshold"] = np.where(leaf, -2.0, ranks)
        return table, np.where(leaf, source["value"], 0.0).tolist()
    nodes = _converted_nodes(source, predictor.raw_left_cat_bitsets, known_bitsets, f_idx_map,
                             width, thresholds)
    table = np.zeros(len(nodes[0]), dtype=NODE_DTYPE)
    for name in ("left_child", "right_child", "feature", "threshold"):
        table[name] = [node[name] for node in nodes[0]]
    return table, nodes[1]


def _converted_nodes(source: np.ndarray, left_bits: np.ndarray, known_bitsets: np.ndarray,
                     f_idx_map: np.ndarray, width: int, thresholds: dict[int, np.ndarray]
                     ) -> tuple[list[dict[str, Any]], list[float]]:
    """A predictor with category splits, node by node."""
    nodes: list[dict[str, Any]] = []
    values: list[float] = []

    def new(feature: int = -2, threshold: float = -2.0) -> int:
        nodes.append({"left_child": -1, "right_child": -1, "feature": feature,
                      "threshold": threshold})
        values.append(0.0)
        return len(nodes) - 1

    codes = np.arange(256)

    def members(bits: np.ndarray) -> np.ndarray:
        return ((bits[codes >> 5].astype(np.int64) >> (codes & 31)) & 1).astype(bool)

    def intervals(lo: int, hi: int, leads: list[int], bounds: list[float], feature: int) -> int:
        """A balanced tree of ``<=`` splits over intervals lo..hi (hi inclusive)."""
        if lo == hi:
            return leads[lo]
        mid = (lo + hi) // 2
        at = new(feature, bounds[mid])
        nodes[at]["left_child"] = intervals(lo, mid, leads, bounds, feature)
        nodes[at]["right_child"] = intervals(mid + 1, hi, leads, bounds, feature)
        return at

    # Children before parents are not needed: nodes refer to each other by number, so the
    # walk below fills them in as it goes (a node may have two parents; walks don't mind).
    done: dict[int, int] = {}

    def convert(i: int) -> int:
        if i in done:
            return done[i]
        node = source[i]
        if node["is_leaf"]:
            at = new()
            values[at] = float(node["value"])
            done[i] = at
            return at
        feature = int(node["feature_idx"])
        missing_left = bool(node["missing_go_to_left"])
        read = feature if missing_left else feature + width
        if not node["is_categorical"]:
            rank = np.searchsorted(thresholds[feature], float(node["num_threshold"]))
            at = new(read, float(rank))
            done[i] = at
            nodes[at]["left_child"] = convert(int(node["left"]))
            nodes[at]["right_child"] = convert(int(node["right"]))
            return at
        left, right = convert(int(node["left"])), convert(int(node["right"]))
        missing = left if missing_left else right
        own = members(left_bits[int(node["bitset_idx"])])
        known = members(known_bitsets[int(f_idx_map[feature])])
        sides = np.where(own, left, np.where(known, right, missing))
        leads, bounds = [missing], []  # below 0: the missing side
        for c in np.flatnonzero(np.diff(np.concatenate([[missing], sides])) != 0):
            bounds.append(c - 0.5)
            leads.append(int(sides[c]))
        if leads[-1] != missing:  # above 255 (and NaN read as NaN): the missing side
            bounds.append(255.5)
            leads.append(missing)
        at = intervals(0, len(leads) - 1, leads, bounds, read)
        done[i] = at
        return at

    root = convert(0)
    if root != 0:  # the walk starts at node 0: swap the root there
        swap = {0: root, root: 0}
        nodes[0], nodes[root] = nodes[root], nodes[0]
        values[0], values[root] = values[root], values[0]
        for node in nodes:
            for side in ("left_child", "right_child"):
                node[side] = swap.get(node[side], node[side])
    return nodes, values


class _Holder:
    """What ``predict_stages`` reads from each entry: a ``tree_``."""

    __slots__ = ("tree_",)

    def __init__(self, tree: Any) -> None:
        self.tree_ = tree


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                       thread_name_prefix="tabwright-trees")
        return _POOL


def _final_step(estimator: Any, stand_ins: bool) -> Any:
    """The estimator, or its exact faster stand-in."""
    if stand_ins:
        for make in (_BoostedTrees, _Forest):
            try:
                return make(estimator)
            except Exception:  # noqa: BLE001 — not this kind, or not reproducible
                continue
    return estimator


# --------------------------------------------------------------------------- the walk


class _Features:
    """A fitted ``ColumnTransformer``'s output.

    With ``columns=True`` its input is a dict of checked columns (name → array, as
    :class:`core.deliver._schema.RecordCheck` gives them) and its branches run one by one, each by
    its stand-in when there is one: what ``ColumnTransformer.transform`` does on a frame
    (select each branch's columns by name, transform, ``np.hstack``) without 1–2 ms of checks
    and joblib dispatch. With ``columns=False`` the input is a frame and the
    ``ColumnTransformer`` runs as it is.
    """

    def __init__(self, ct: Any, *, columns: bool, rng: np.random.Generator) -> None:
        self.ct = ct
        self.key = joblib.hash(ct)
        self.columns = columns
        if columns:
            branches = _column_branches(ct)
            if branches is None:
                raise ValueError("no branch-by-branch path for this ColumnTransformer")
            self.branches = branches
            self.kernels = [_kernel(t, c, rng) for t, c in branches]

    def __call__(self, data: Any) -> Any:
        if not self.columns:
            return self.ct.transform(data)
        parts = []
        for (transformer, selected), kernel in zip(self.branches, self.kernels):
            if kernel is not None and kernel.accepts(data):
                parts.append(kernel(data))
            else:
                part = transformer.transform(pd.DataFrame({c: data[c] for c in selected}))
                parts.append(part.toarray() if sparse.issparse(part) else part)
        return np.hstack(parts)


class _FastPipeline:
    """``Pipeline([(..., ColumnTransformer), (...transforms), (..., estimator)])``."""

    def __init__(self, pipeline: Pipeline, *, columns: bool, stand_ins: bool,
                 rng: np.random.Generator) -> None:
        steps = [step for _, step in pipeline.steps]
        if len(steps) < 2 or not isinstance(steps[0], ColumnTransformer):
            raise ValueError("not a pipeline that starts with a ColumnTransformer")
        if any(step is None or isinstance(step, str) for step in steps[1:-1]):
            raise ValueError("a skipped step")
        self.features = _Features(steps[0], columns=columns, rng=rng)
        self.middle = steps[1:-1]
        self.final = _final_step(steps[-1], stand_ins)

    def _X(self, data: Any, memo: dict[str, Any]) -> Any:
        key = self.features.key
        if key not in memo:
            X = self.features(data)
            if isinstance(X, np.ndarray):
                X.flags.writeable = False  # shared with the ensemble's other members
            memo[key] = X
        X = memo[key]
        for step in self.middle:  # feature selection, reduction: their own transform
            X = step.transform(X)
        return X

    def predict(self, data: Any, memo: dict[str, Any]) -> np.ndarray:
        return self.final.predict(self._X(data, memo))

    def predict_proba(self, data: Any, memo: dict[str, Any]) -> np.ndarray:
        return self.final.predict_proba(self._X(data, memo))


class _FastVoting:
    """A soft ``VotingClassifier`` or a ``VotingRegressor`` over compiled members."""

    def __init__(self, voting: Any, **options: Any) -> None:
        if type(voting) is VotingClassifier:
            if voting.voting != "soft":
                raise ValueError("hard voting")
        elif type(voting) is not VotingRegressor:
            raise ValueError("not a voting ensemble")
        self.voting = voting
        self.members = [_walk(member, **options) for member in voting.estimators_]
        self.weights = voting._weights_not_none

    def predict_proba(self, data: Any, memo: dict[str, Any]) -> np.ndarray:
        if type(self.voting) is not VotingClassifier:
            raise AttributeError("predict_proba")
        probas = np.asarray([member.predict_proba(data, memo) for member in self.members])
        return np.average(probas, axis=0, weights=self.weights)

    def predict(self, data: Any, memo: dict[str, Any]) -> np.ndarray:
        if type(self.voting) is VotingClassifier:
            return self.voting.le_.inverse_transform(np.argmax(self.predict_proba(data, memo), axis=1))
        predictions = np.asarray([member.predict(data, memo) for member in self.members]).T
        return np.average(predictions, axis=1, weights=self.weights)


class _FastBag:
    """A fold bag (:class:`core.estimators.FoldBagClassifier` / ``FoldBagRegressor``): the
    mean of its compiled copies, taken as the bag takes it."""

    def __init__(self, bag: Any, **options: Any) -> None:
        self.bag = bag
        self.members = [_walk(member, **options) for member in bag.estimators_]

    def predict_proba(self, data: Any, memo: dict[str, Any]) -> np.ndarray:
        if type(self.bag) is not FoldBagClassifier:
            raise AttributeError("predict_proba")
        return np.average(np.asarray([m.predict_proba(data, memo) for m in self.members]), axis=0)

    def predict(self, data: Any, memo: dict[str, Any]) -> np.ndarray:
        if type(self.bag) is FoldBagClassifier:
            return self.bag.classes_[np.argmax(self.predict_proba(data, memo), axis=1)]
        return np.average(np.asarray([m.predict(data, memo) for m in self.members]), axis=0)


def _walk(model: Any, **options: Any) -> Any:
    if isinstance(model, Pipeline) and len(model.steps) == 1:
        model = model.steps[0][1]  # an ensemble wrapped in a one-step pipeline
    if type(model) in (VotingClassifier, VotingRegressor):
        return _FastVoting(model, **options)
    if type(model) in FOLD_BAGS:
        return _FastBag(model, **options)
    if type(model) is Pipeline:
        return _FastPipeline(model, **options)
    raise ValueError(f"no fast path for {type(model).__name__}")


class FastModel:
    """A compiled model: ``predict`` / ``predict_proba`` on what the model would be given
    (a frame, or checked columns with ``columns=True``), with the model's numbers.

    ``predict`` is the model's own ``predict``; for a ``FixedThresholdClassifier`` it is the
    estimator's (``predict_proba`` is the estimator's there too) — callers that need the
    tuned threshold apply it to the probabilities, as :func:`core.deliver._predict.predict_table` does.
    """

    def __init__(self, root: Any, model: Any, columns: bool) -> None:
        self.root = root
        self.model = model
        self.columns = columns

    def _run(self, method: str, data: Any) -> np.ndarray:
        try:
            return getattr(self.root, method)(data, {})
        except Exception:
            if self.columns:
                raise
            # A frame the fast path cannot take: the model itself, with its own message.
            return getattr(self.model, method)(data)

    def predict(self, data: Any) -> np.ndarray:
        return self._run("predict", data)

    def predict_proba(self, data: Any) -> np.ndarray:
        return self._run("predict_proba", data)

    def uses(self, kind: type) -> bool:
        """Whether a stand-in of this class takes part (for tests and logs)."""
        def walk(node: Any) -> bool:
            if isinstance(node, (_FastVoting, _FastBag)):
                return any(walk(m) for m in node.members)
            return isinstance(node, _FastPipeline) and isinstance(node.final, kind)
        return walk(self.root)


def compile_model(model: Any, *, columns: bool = False, stand_ins: bool = True,
                  seed: int = 0) -> FastModel | None:
    """The model's fast path, or ``None`` when it has no part this module knows.

    ``model`` is what ``predict_proba`` is called on (for a ``FixedThresholdClassifier``, its
    fitted estimator is compiled). ``stand_ins=False`` keeps every estimator as it is and
    speeds up only the column transforms and the ensemble bookkeeping.
    """
    inner = getattr(model, "estimator_", model) if isinstance(model, FixedThresholdClassifier) else model
    if sklearn.get_config()["transform_output"] != "default":
        return None
    try:
        root = _walk(inner, columns=columns, stand_ins=stand_ins, rng=np.random.default_rng(seed))
    except Exception:  # noqa: BLE001 — any part unknown: no fast path
        return None
    return FastModel(root, inner, columns)


def same_outputs(a: Any, b: Any) -> bool:
    """Equal in every bit (NaN equal to NaN), for arrays or label lists."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool((a == b).all())


_VERIFIED: "weakref.WeakKeyDictionary[Any, FastModel | None]" = weakref.WeakKeyDictionary()
_VERIFIED_LOCK = threading.Lock()


def checked(model: Any, agrees: Callable[[FastModel], bool], *, columns: bool = False
            ) -> FastModel | None:
    """The model's fast path if ``agrees`` finds it gives the model's own output; else the
    fast path without estimator stand-ins if that one does; else ``None`` (call the model).

    ``agrees`` compares a candidate with the model on real rows, bit for bit; an exception
    in it counts as a difference.
    """
    for stand_ins in (True, False):
        fast = compile_model(model, columns=columns, stand_ins=stand_ins)
        if fast is None:
            return None
        try:
            if agrees(fast):
                return fast
        except Exception:  # noqa: BLE001 — any trouble: try the next, then the model itself
            pass
    log.warning("predicting without the fast path: it differed from the model on a check")
    return None


def verified(model: Any, sample: pd.DataFrame, method: str) -> Any:
    """The compiled frame path for ``model`` if it gives ``model``'s own ``method`` output on
    ``sample`` bit for bit (checked once per model object), else ``model`` itself.

    The returned object has ``model``'s ``predict`` / ``predict_proba`` (for a
    ``FixedThresholdClassifier``, ``predict_proba`` only: use the model for ``predict``).
    """
    if isinstance(model, FixedThresholdClassifier) and method != "predict_proba":
        return model  # its predict applies the tuned threshold
    with _VERIFIED_LOCK:
        if model in _VERIFIED:
            fast = _VERIFIED[model]
            return model if fast is None else fast
    fast = checked(model, lambda candidate: same_outputs(getattr(candidate, method)(sample),
                                                         getattr(candidate.model, method)(sample)))
    try:
        with _VERIFIED_LOCK:
            _VERIFIED[model] = fast
    except TypeError:  # not weak-referenceable: check again next time
        pass
    return model if fast is None else fast
