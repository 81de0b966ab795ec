"""A standalone ``train.py`` that rebuilds a trained run with pandas and scikit-learn only
(and CatBoost, when the model uses it).

The script is generated from the fitted model itself, not from a template of what tabwright
usually does: every estimator, pipeline and ``ColumnTransformer`` in it is written out as a
constructor call with the parameters it really has (``get_params(deep=False)``, walked
recursively, only values that differ from scikit-learn's defaults), so what a reader sees is
what runs. tabwright's own small transformers (:mod:`core.transformers`) and its CatBoost
wrappers and fold bags (:mod:`core.estimators`) are copied into the script with
:func:`inspect.getsource`; nothing from ``core`` is imported.

The script repeats every step that decides which rows train the model — reading the CSV the
way tabwright read it, dropping rows without a target (and duplicates, if the recipe says so),
the same train/test split with the same seed, dropping outlier rows and sampling large data
when training did — so it fits the same model on the same rows and prints the same test score.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator
from sklearn.model_selection import BaseCrossValidator

from core import catalogue, estimators
from core import transformers as own_transformers
from core.errors import TabwrightError
from core.ingest import MISSING_MARKERS, join_script
from core.run import TrainResult
from core.train import outlier_row_mask

_OWN_MODULES = {module.__name__: module for module in (own_transformers, estimators)}


class _Imports:
    """The import lines a script needs, collected while its code is written."""

    def __init__(self) -> None:
        self.lines: dict[str, set[str]] = {}
        self.experimental: set[str] = set()
        self.own_classes: list[type] = []

    def add(self, module: str, name: str) -> None:
        self.lines.setdefault(module, set()).add(name)

    def render(self) -> str:
        out = ["import sys", "", "import joblib", "import numpy as np", "import pandas as pd"]
        for line in sorted(self.experimental):
            out.append(line)
        for module in sorted(self.lines):
            out.append(f"from {module} import {', '.join(sorted(self.lines[module]))}")
        return "\n".join(out)


def _public_path(obj: Any) -> tuple[str, str]:
    """(module, name) to import ``obj`` from: the shortest public module that exports it."""
    name = obj.__name__
    parts = obj.__module__.split(".")
    for i in range(1, len(parts) + 1):
        module = ".".join(parts[:i])
        if any(p.startswith("_") for p in parts[1:i]):
            break
        try:
            if getattr(importlib.import_module(module), name, None) is obj:
                return module, name
        except ImportError:
            continue
    return obj.__module__, name


def _estimator_class(obj: BaseEstimator, imports: _Imports) -> str:
    """The class name to write for ``obj``, registering its import or source."""
    cls = type(obj)
    if cls.__module__ in _OWN_MODULES:
        for own in reversed(cls.__mro__):  # its own bases first, so the copied source runs
            if own.__module__ in _OWN_MODULES and own not in imports.own_classes:
                imports.own_classes.append(own)
        return cls.__name__
    # A private subclass (e.g. tabwright's _TopK) is written as its public scikit-learn base:
    # its parameters are the base's, as fitted.
    for base in cls.__mro__:
        if base.__module__.split(".")[0] == "sklearn" and not base.__name__.startswith("_"):
            module, name = _public_path(base)
            if name == "IterativeImputer":
                imports.experimental.add("from sklearn.experimental import enable_iterative_imputer  # noqa: F401")
            imports.add(module, name)
            return name
    raise TabwrightError(
        f"The model contains a {cls.__name__} from {cls.__module__}, which a standalone script "
        "cannot rebuild.",
        "Download the model bundle instead; it holds the fitted model as is.",
    )


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


_COMPOSITE_FIRST = ("steps", "transformers", "estimators")
"""The first parameter of Pipeline, ColumnTransformer and Voting*: written positionally."""


class _Writer:
    """Writes a fitted model as constructor calls; nested pipelines become named variables."""

    def __init__(self, imports: _Imports) -> None:
        self.imports = imports
        self.assignments: list[str] = []
        self.names: set[str] = set()

    def variable(self, wanted: str, value: BaseEstimator) -> str:
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in str(wanted)) or "step"
        if name == "model":
            name = "ensemble" if "estimators" in value.get_params(deep=False) else "inner_model"
        if name[0].isdigit() or name in ("data", "X", "y", "pd", "np", "sys", "joblib", "prep_rows"):
            name = f"step_{name}"
        base, n = name, 2
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.add(name)
        code = self.code(value)  # children first, so they are defined before use
        self.assignments.append(f"{name} = {code}")
        return name

    def part(self, name: str, value: Any, indent: int) -> str:
        """A named part of a composite: composites get their own variable, others inline."""
        if isinstance(value, BaseEstimator) and _is_composite(value):
            return self.variable(name, value)
        return _code(value, self.imports, indent, writer=self)

    def code(self, value: BaseEstimator) -> str:
        return _code(value, self.imports, 0, writer=self)


def _is_composite(value: BaseEstimator) -> bool:
    params = value.get_params(deep=False)
    return any(k in params for k in _COMPOSITE_FIRST) or "estimator" in params


def _estimator_code(value: BaseEstimator, imports: _Imports, indent: int, writer: "_Writer | None") -> str:
    pad = " " * indent
    name = _estimator_class(value, imports)
    try:
        defaults = {k: p.default for k, p in inspect.signature(type(value).__init__).parameters.items()}
    except (TypeError, ValueError):
        defaults = {}
    params = value.get_params(deep=False)
    args = []
    for key, item in params.items():
        if key in defaults and _same(item, defaults[key]) and key not in _COMPOSITE_FIRST:
            continue
        if key in _COMPOSITE_FIRST and isinstance(item, (list, tuple)) and writer is not None:
            rows = []
            for part in item:
                inner = [_code(part[0], imports)]
                inner.append(writer.part(part[0], part[1], indent + 4))
                inner += [_code(x, imports, indent + 4) for x in part[2:]]
                rows.append("(" + ", ".join(inner) + ")")
            args.insert(0, "[\n" + "".join(f"{pad}    {r},\n" for r in rows) + f"{pad}]")
        elif key == "estimator" and isinstance(item, BaseEstimator) and writer is not None:
            args.append(f"estimator={writer.part(type(item).__name__.lower(), item, indent + 4)}")
        else:
            args.append(f"{key}={_code(item, imports, indent + 4, writer=writer)}")
    if not args:
        return f"{name}()"
    flat = f"{name}({', '.join(args)})"
    if len(flat) + indent <= 100 and "\n" not in flat:
        return flat
    if args[0].startswith("[\n"):
        rest = ", ".join(args[1:])
        return f"{name}({args[0]}" + (f", {rest})" if rest else ")")
    inner = ",\n".join(f"{pad}    {a}" for a in args)
    return f"{name}(\n{inner},\n{pad})"


def _code(value: Any, imports: _Imports, indent: int = 0, *, writer: "_Writer | None" = None) -> str:
    """Python source that builds ``value`` (an estimator, a literal, or a container of them)."""
    pad = " " * indent
    if isinstance(value, BaseEstimator):
        return _estimator_code(value, imports, indent, writer)
    if value is None or isinstance(value, (bool, str, int)) and not isinstance(value, np.generic):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "np.nan"
        if math.isinf(value):
            return "np.inf" if value > 0 else "-np.inf"
        return repr(value)
    if isinstance(value, np.generic):
        return _code(value.item(), imports, indent)
    if isinstance(value, np.ndarray):
        return f"np.array({_code(value.tolist(), imports, indent)})"
    if isinstance(value, type) and issubclass(value, np.generic):
        return f"np.{value.__name__}"
    if isinstance(value, np.dtype):
        return f"np.dtype({str(value)!r})"
    if isinstance(value, (list, tuple)):
        items = [_code(v, imports, indent + 4, writer=writer) for v in value]
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        if isinstance(value, tuple) and len(items) == 1:
            items[0] += ","
        flat = open_ + ", ".join(items) + close
        if len(flat) + indent <= 100 and "\n" not in flat:
            return flat
        inner = ",\n".join(f"{pad}    {i}" for i in items)
        return f"{open_}\n{inner},\n{pad}{close}"
    if isinstance(value, dict):
        items = [f"{_code(k, imports)}: {_code(v, imports, indent + 4, writer=writer)}"
                 for k, v in value.items()]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, BaseCrossValidator):  # e.g. target encoding's cross-fitting folds
        imports.add(*_public_path(value.__class__))
        names = [n for n in inspect.signature(type(value).__init__).parameters if n != "self"]
        args = ", ".join(f"{n}={_code(getattr(value, n), imports)}" for n in names)
        return f"{type(value).__name__}({args})"
    if isinstance(value, functools.partial):
        imports.add("functools", "partial")
        args = [_code(value.func, imports)] + [_code(a, imports) for a in value.args]
        args += [f"{k}={_code(v, imports)}" for k, v in value.keywords.items()]
        return f"partial({', '.join(args)})"
    if callable(value) and hasattr(value, "__module__") and hasattr(value, "__name__"):
        module, name = _public_path(value)
        if module.split(".")[0] not in ("sklearn", "numpy", "scipy"):
            raise TabwrightError(f"The model uses the function {name} from {module}, which a "
                                 "standalone script cannot import.",
                                 "Download the model bundle instead.")
        imports.add(module, name)
        return name
    raise TabwrightError(f"Cannot write a {type(value).__name__} value into a training script.",
                         "Download the model bundle instead; it holds the fitted model as is.")


def _model_code(model: Any, imports: _Imports) -> str:
    """Assignments building ``model``: nested pipelines first, each as its own variable."""
    writer = _Writer(imports)
    writer.names.add("model")
    top = writer.code(model)
    return "\n".join(writer.assignments + [f"model = {top}"])


def _own_source(classes: list[type]) -> str:
    """Source of the tabwright transformers and estimators used, plus the module helpers they
    call."""
    sources = [inspect.getsource(cls) for cls in classes]
    helpers = [fn for module in sorted({cls.__module__ for cls in classes})
               for name, fn in inspect.getmembers(_OWN_MODULES[module], inspect.isfunction)
               if fn.__module__ == module and any(f"{name}(" in s for s in sources)]
    return "\n\n".join(sources + [inspect.getsource(fn) for fn in helpers])


# --------------------------------------------------------------------------- reading the CSV


def _reading_code(result: TrainResult, table: Any, data_columns: list[str]) -> tuple[str, list[str]]:
    """Code defining ``read_data(path)``, and the helper functions it needs."""

    encoding = getattr(table, "encoding", "utf-8")
    delimiter = getattr(table, "delimiter", ",")
    decimal = getattr(table, "decimal", ".")
    conversions = dict(getattr(table, "conversions", {}) or {})
    if table is not None:
        dtypes = {c: table.frame[c].dtype for c in table.frame.columns}
    else:
        dtypes = {c: result.X_train[c].dtype for c in result.X_train.columns}
        if result.y_train is not None:
            dtypes[result.recipe.target] = result.y_train.dtype
    as_text = [c for c, d in dtypes.items() if d == object or c in conversions]
    helpers: list[str] = []
    lines = [
        "def read_data(path):",
        '    """Read the CSV the way tabwright read it (types, missing-value markers, conversions)."""',
        f"    missing = {list(MISSING_MARKERS)!r}",
        f"    text_columns = {as_text!r}",
        f"    frame = pd.read_csv(path, sep={delimiter!r}, decimal={decimal!r}, encoding={encoding!r},",
        "                        na_values=missing, keep_default_na=False,",
        "                        dtype={c: str for c in text_columns})",
    ]
    if table is not None:
        lines += [f"    columns = {list(map(str, table.frame.columns))!r}",
                  "    if len(frame.columns) == len(columns):",
                  "        frame.columns = columns  # tabwright's names (it renames blank or repeated headers)"]
    lines += ["    for column in text_columns:",
              "        if column in frame:",
              "            # Spaces around values are removed, then the missing markers apply again.",
              "            frame[column] = frame[column].str.strip().replace(missing, np.nan)"]
    for column, words in conversions.items():
        if column not in data_columns:
            continue
        if "read as numbers" in words:
            comma = "decimal commas" in words or decimal == ","
            lines.append(f"    frame[{column!r}] = text_to_number(frame[{column!r}], decimal_comma={comma})"
                         f"  # {_comment(words)}")
            if "text_to_number" not in "".join(helpers):
                helpers.append(_TEXT_TO_NUMBER)
        elif "read as dates" in words:
            dayfirst = "day/month" in words
            lines.append(f"    frame[{column!r}] = pd.to_datetime(frame[{column!r}], errors='coerce', "
                         f"format='mixed', dayfirst={dayfirst})  # {_comment(words)}")
    lines.append("    return frame")
    return "\n".join(lines), helpers


def _comment(words: str) -> str:
    return " ".join(str(words).split())[:120]


_TEXT_TO_NUMBER = '''def text_to_number(values, decimal_comma=False):
    """Numbers written as text: '$1,234', '45%', '(12.50)' (negative), '1.234,5' with decimal commas."""
    text = values.astype("string").str.strip()
    negative = text.str.startswith("(").fillna(False)
    text = text.str.replace(r"[$€£¥₹%()+\\s\\u00a0\\u202f]", "", regex=True)
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    return numbers.where(~negative, -numbers)'''


# --------------------------------------------------------------------------- rows and split


def _split_code(result: TrainResult, imports: _Imports) -> str:
    recipe, s = result.recipe, result.recipe.split
    features = list(result.plan.features)
    lines = [f"FEATURES = {_code(features, imports)}",
             "X, y = data[FEATURES], data[TARGET]"]
    if s.time_column:
        lines += [f"# The latest {s.test_size:.0%} of rows by {s.time_column!r} are the test set "
                  "(rows without a readable time count as the latest).",
                  f"times = pd.to_datetime(data[{s.time_column!r}], errors='coerce', format='mixed', "
                  "utc=True)",
                  "order = np.argsort(times.to_numpy(dtype='datetime64[ns]'), kind='stable')",
                  f"cut = int(round(len(data) * (1 - {s.test_size!r})))",
                  "train_idx, test_idx = order[:cut], order[cut:]"]
    elif s.group_column:
        imports.add("sklearn.model_selection", "GroupShuffleSplit")
        lines += [f"# {s.test_size:.0%} of the groups in {s.group_column!r} are the test set.",
                  f"splitter = GroupShuffleSplit(n_splits=1, test_size={s.test_size!r}, random_state=SEED)",
                  f"train_idx, test_idx = next(splitter.split(X, y, groups=data[{s.group_column!r}].astype(str)))"]
    else:
        imports.add("sklearn.model_selection", "train_test_split")
        y_all = pd.concat([result.y_train, result.y_test])
        stratify = (result.task != "regression" and s.stratify and y_all.value_counts().min() >= 2)
        n_test = math.ceil(s.test_size * len(y_all))
        classes = y_all.nunique()
        if result.task != "regression" and s.stratify and (
                not stratify or not classes <= min(n_test, len(y_all) - n_test)):
            # as core.train._split._random_split
            lines += [f"# {s.test_size:.0%} of rows are the test set, stratified by class where it can be; "
                      "rows of classes seen once stay in training.",
                      "once = y.map(y.value_counts()).to_numpy() < 2",
                      "rest = np.flatnonzero(~once)",
                      "classes = y.iloc[rest].nunique()",
                      f"n_test = min(int(np.ceil({s.test_size!r} * len(data))), len(rest) - classes)",
                      "stratify = y.iloc[rest] if 2 <= classes <= min(n_test, len(rest) - n_test) else None",
                      "train_idx, test_idx = train_test_split(rest, test_size=n_test, random_state=SEED,",
                      "                                       stratify=stratify)",
                      "if stratify is None:  # a class whose rows all fell among the test rows trains",
                      "    back = ~np.isin(y.to_numpy()[test_idx], y.to_numpy()[train_idx])",
                      "    train_idx, test_idx = np.concatenate([train_idx, test_idx[back]]), test_idx[~back]",
                      "if once.any():",
                      "    train_idx = np.sort(np.concatenate([train_idx, np.flatnonzero(once)]))"]
        else:
            lines += [f"# {s.test_size:.0%} of rows are the test set" + (", stratified by class." if stratify else "."),
                      f"train_idx, test_idx = train_test_split(np.arange(len(data)), test_size={s.test_size!r},",
                      f"                                       random_state=SEED, stratify={'y' if stratify else 'None'})"]
    lines += ["X_train, X_test = X.iloc[train_idx], X.iloc[test_idx]",
              "y_train, y_test = y.iloc[train_idx], y.iloc[test_idx]"]
    drop_rows = [c for c, p in recipe.preparation.columns.items()
                 if p.outliers == "drop_rows" and c in features]
    if drop_rows:
        lines += ["", "# Outlier rows (outside Q1 - 3*IQR .. Q3 + 3*IQR) are dropped from training only.",
                  "keep = np.ones(len(X_train), dtype=bool)",
                  f"for column in {drop_rows!r}:",
                  "    values = pd.to_numeric(X_train[column], errors='coerce')",
                  "    q1, q3 = values.quantile([0.25, 0.75])",
                  "    keep &= (values.between(q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)) | values.isna()).to_numpy()",
                  "X_train, y_train = X_train[keep], y_train[keep]"]
    if len(recipe.models) == 1:
        spec = catalogue.get(recipe.models[0].name)
        n_fit = len(result.X_train)
        if drop_rows:
            n_fit = int(outlier_row_mask(result.X_train, recipe).sum())
        if spec.max_rows and n_fit > spec.max_rows:
            imports.add("sklearn.model_selection", "train_test_split")
            strat = "y_train" if result.task != "regression" else "None"
            lines += ["", f"# {spec.label} is trained on a sample of {spec.max_rows:,} rows (it is slow on more).",
                      f"stratify = {strat} if {strat} is not None and y_train.value_counts().min() >= 2 else None"
                      if strat != "None" else "stratify = None",
                      f"X_train, _, y_train, _ = train_test_split(X_train, y_train, train_size={spec.max_rows},",
                      "                                          random_state=SEED, stratify=stratify)"]
    return "\n".join(lines)


_SCORES = {
    "accuracy": ("accuracy_score", "{f}(y_test, pred)", "label"),
    "balanced_accuracy": ("balanced_accuracy_score", "{f}(y_test, pred)", "label"),
    "f1": ("f1_score", "{f}(y_test, pred, pos_label=model.classes_[1], zero_division=0)", "label"),
    "f1_macro": ("f1_score", "{f}(y_test, pred, average='macro', zero_division=0)", "label"),
    "f1_weighted": ("f1_score", "{f}(y_test, pred, average='weighted', zero_division=0)", "label"),
    "precision": ("precision_score", "{f}(y_test, pred, pos_label=model.classes_[1], zero_division=0)", "label"),
    "recall": ("recall_score", "{f}(y_test, pred, pos_label=model.classes_[1], zero_division=0)", "label"),
    "mcc": ("matthews_corrcoef", "{f}(y_test, pred)", "label"),
    "log_loss": ("log_loss", "{f}(y_test, model.predict_proba(X_test), labels=model.classes_)", "label"),
    "average_precision": ("average_precision_score",
                          "{f}(y_test == model.classes_[1], model.predict_proba(X_test)[:, 1])", "label"),
    "rmse": ("root_mean_squared_error", "{f}(y_test, pred)", "label"),
    "mae": ("mean_absolute_error", "{f}(y_test, pred)", "label"),
    "r2": ("r2_score", "{f}(y_test, pred)", "label"),
    "mape": ("mean_absolute_percentage_error", "{f}(y_test, pred)", "label"),
    "median_ae": ("median_absolute_error", "{f}(y_test, pred)", "label"),
}


def _score_code(result: TrainResult, imports: _Imports) -> str:
    metric, task = result.metric, result.task
    if metric == "roc_auc":
        imports.add("sklearn.metrics", "roc_auc_score")
        if task == "binary":
            expr = "roc_auc_score(y_test == model.classes_[1], model.predict_proba(X_test)[:, 1])"
        else:
            expr = "roc_auc_score(y_test, model.predict_proba(X_test), multi_class='ovr', labels=model.classes_)"
    elif metric in _SCORES:
        func, template, _ = _SCORES[metric]
        imports.add("sklearn.metrics", func)
        expr = template.format(f=func)
    else:
        return f"print('tabwright measured test {metric}:', {result.evaluation.get('metrics', {}).get(metric)!r})"
    measured = (result.evaluation or {}).get("metrics", {}).get(metric)
    return (f"score = {expr}\n"
            f"print(f\"Test {metric}: {{score:.4f}} (tabwright measured {measured if measured is None else f'{measured:.4f}'})\")")


# --------------------------------------------------------------------------- the script


def render_training_script(result: TrainResult, *, data_name: str, table: Any = None) -> str:
    """A standalone ``train.py`` that rebuilds ``result``'s model with pandas and scikit-learn.

    Parameters
    ----------
    result : core.train._runner.TrainResult
    data_name : str
        The CSV's file name; the script's default path (``argv[1]`` overrides it).
    table : core.ingest._read.LoadedTable, optional
        How tabwright read the CSV (delimiter, decimal mark, encoding, conversions, column
        types); without it the script reads a plain comma-separated UTF-8 file and takes the
        column types from the training rows.

    Returns
    -------
    str
        Python source. Running ``python train.py data.csv`` fits the model on the same training
        rows, prints the test score, and writes ``predictions.csv`` (test rows) and
        ``model.joblib``.
    """
    imports = _Imports()
    recipe = result.recipe
    clustering = result.task == "clustering"
    model_code = _clustering_model_code(result, imports) if clustering else _model_code(result.pipeline, imports)
    data_columns = list(result.plan.features) + ([recipe.target] if recipe.target else [])
    data_columns += [c for c in (recipe.split.group_column, recipe.split.time_column) if c]
    reading, helpers = _reading_code(result, table, data_columns)
    body: list[str] = []
    if clustering:
        body += [
            "data = read_data(DATA)",
            "data = data.drop_duplicates()" if recipe.drop_duplicate_rows else "",
            f"FEATURES = {_code(list(result.plan.features), imports)}",
            "X = data[FEATURES]",
            f"# Clusterings are fitted on a random sample of at most {5000:,} rows.",
            "sample = X.sample(n=min(5000, len(X)), random_state=SEED)",
            "",
            model_code,
            "",
            "labels = model.predict(X)",
            "pd.DataFrame({'row': X.index, 'cluster': labels}).to_csv('predictions.csv', index=False)",
            "joblib.dump(model, 'model.joblib')",
            "print(f'{len(set(labels))} clusters; wrote predictions.csv and model.joblib')",
        ]
    else:
        body += ["data = read_data(DATA)"]
        if recipe.joins:
            body += ["data = apply_joins(data, {name: pd.read_csv(path) for name, path in RELATED.items()})"]
        body += ["data = data[data[TARGET].notna()]  # rows with a missing target are dropped"]
        if recipe.drop_duplicate_rows:
            body.append("data = data.drop_duplicates()  # exact duplicate rows are dropped")
        body += ["", _split_code(result, imports), "", model_code, "",
                 "model.fit(X_train, y_train)", "pred = model.predict(X_test)", _score_code(result, imports), "",
                 "out = pd.DataFrame({'row': X_test.index, 'actual': y_test.to_numpy(), 'predicted': pred})"]
        if result.task in ("binary", "multiclass"):
            body += ["if hasattr(model, 'predict_proba'):",
                     "    for i, label in enumerate(model.classes_):",
                     "        out[f'proba_{label}'] = model.predict_proba(X_test)[:, i]"]
        body += ["out.to_csv('predictions.csv', index=False)"]
        if result.final_pipeline is not None:
            body += ["# Finalize: the test score above is the model's that never saw the test rows;",
                     "# the model written below is refitted on every row, the test rows included.",
                     "model.fit(pd.concat([X_train, X_test]), pd.concat([y_train, y_test]))"]
        body += ["joblib.dump(model, 'model.joblib')",
                 "print(f'Wrote predictions.csv ({len(out):,} test rows) and model.joblib')"]
    own = _own_source(imports.own_classes) if imports.own_classes else ""
    if own:
        imports.add("sklearn.base", "BaseEstimator")
        imports.add("sklearn.base", "TransformerMixin")
        imports.add("sklearn.utils.validation", "check_is_fitted")
    if any(cls.__module__ == estimators.__name__ for cls in imports.own_classes):
        imports.add("sklearn.base", "ClassifierMixin")
        imports.add("sklearn.base", "RegressorMixin")
        imports.add("typing", "Any")
    if any(issubclass(cls, estimators.FOLD_BAGS) for cls in imports.own_classes):
        imports.add("sklearn.base", "clone")
        imports.add("sklearn.model_selection", "KFold")
        imports.add("sklearn.model_selection", "StratifiedKFold")
    if any(issubclass(cls, estimators.RareClassBoostingClassifier) for cls in imports.own_classes):
        imports.add("sklearn.ensemble", "HistGradientBoostingClassifier")
        imports.add("sklearn.model_selection", "train_test_split")
        imports.add("sklearn.utils", "_safe_indexing")
    catboost = any(issubclass(cls, estimators.CATBOOSTS) for cls in imports.own_classes)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    related_args = "".join(f" [{j.name}=path/to/{j.name}.csv]" for j in recipe.joins)
    libraries = "pandas, scikit-learn and CatBoost" if catboost else "pandas and scikit-learn only"
    header = f'''"""Train the tabwright model "{result.best}" again, with {libraries}.

Generated by tabwright on {created} from {data_name!r} (data fingerprint {result.fingerprint}).
Run:  python train.py [path/to/{data_name}]{related_args}

It reads the CSV, drops the same rows, makes the same train/test split (seed {recipe.seed}),
builds the same pipeline, fits it, prints the test score and writes predictions.csv (test
rows) and model.joblib. Made with scikit-learn {sklearn.__version__} and pandas {pd.__version__};
other versions may give slightly different numbers.
"""
'''
    parts = [header, imports.render(), ""]
    if own:
        parts += ["", "# ---- tabwright's own transformers and estimators, copied from core/ ----", "", own, ""]
    for helper in helpers:
        parts += ["", helper, ""]
    if recipe.joins:
        parts += ["", "# ---- the joined tables, as tabwright joined them ----", "",
                  join_script(recipe.joins).rstrip(), ""]
    parts += ["", reading, "", "",
              f"DATA = sys.argv[1] if len(sys.argv) > 1 else {data_name!r}",
              *([f"RELATED = {({j.name: f'{j.name}.csv' for j in recipe.joins})!r}",
                 "RELATED.update(arg.split('=', 1) for arg in sys.argv[2:])  # NAME=PATH"]
                if recipe.joins else []),
              f"TARGET = {recipe.target!r}",
              f"SEED = {recipe.seed!r}",
              "", *[line for line in body if line is not None]]
    return "\n".join(parts).rstrip() + "\n"


def _clustering_model_code(result: TrainResult, imports: _Imports) -> str:
    pipeline = result.pipeline
    final = pipeline.steps[-1][1]
    if type(final).__name__ == "KNeighborsClassifier":
        choice = result.recipe.models[0]
        clusterer = catalogue.get(choice.name).make("clustering", choice.params, seed=result.recipe.seed)
        imports.add("sklearn.base", "clone")
        return "\n".join([
            "# This clusterer cannot place new rows itself: new rows join their nearest training row.",
            _model_code(pipeline, imports),
            f"labels = {_code(clusterer, imports)}.fit_predict(clone(model[:-1]).fit_transform(sample))",
            "model.fit(sample, labels)",
        ])
    return f"{_model_code(pipeline, imports)}\nmodel.fit(sample)"
