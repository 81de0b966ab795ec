"""The export stage: a trained run becomes a model bundle a person can deploy.

A bundle is a folder (or the same files zipped) holding:

``model.joblib``
    The fitted scikit-learn estimator (the design card's format). Loading runs code, so load
    only bundles you made.
``model.sig``
    This workspace's signature of ``model.joblib``; tabwright loads only files it signed.
``model.skops``
    The same model in skops' format, which does not execute code when loaded.
``model.json``
    The model card: task, target, classes, input schema, metrics with CV spread, the recipe,
    a fingerprint of the training data, seed, library versions, what loading needs, intended
    use and limitations, and baseline statistics for drift checks.
``recipe.json``
    The resolved recipe: training again from it and the same CSV reproduces the model.
``metrics.json`` and ``leaderboard.json``
    Test-set evaluation and the cross-validation leaderboard.
"""

from __future__ import annotations

import dataclasses
import io
import json
import platform
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy
import pandas
import scipy
import sklearn

from core import __version__, catalogue
from core.deliver._drift import baseline_stats
from core.deliver._schema import build_schema
from core.deliver._signing import sign, verify
from core.errors import TabwrightError
from core.formatting import json_safe
from core.run import TrainResult


def library_versions() -> dict[str, str]:
    """The versions of Python and of the libraries a bundle's model needs, for its card."""
    return {"python": platform.python_version(), "tabwright": __version__,
            "scikit-learn": sklearn.__version__, "pandas": pandas.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__}


def model_card(result: TrainResult, *, data_name: str = "data.csv") -> dict[str, Any]:
    """The model card of a :class:`core.train._runner.TrainResult`, as JSON-safe data."""

    recipe = result.recipe
    best_row = result.leaderboard[0] if result.leaderboard else {}
    metric = result.metric
    models = [m.name for m in recipe.models]
    labels = [catalogue.get(m).label for m in models]
    brief = recipe.brief
    intended = brief.decision or brief.problem or (
        f"Predict {recipe.target!r} ({result.task}) for rows like the training data."
        if recipe.target else "Group rows like the training data into clusters.")
    limitations = [
        f"Trained on {result.n_train:,} rows of {data_name!r}; rows unlike them (new categories, "
        "values outside the training ranges) get less reliable predictions.",
        "Relations in the data are associations, not causes.",
        "Check for drift (tabwright drift) before trusting it on newer data.",
    ]
    if result.task in ("binary", "multiclass"):
        limitations.append("Probabilities come from the model; check the calibration curve "
                           "before reading them as frequencies.")
    roles = dict(result.plan.roles)
    return {
        "format": "tabwright-model-card/1",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "task": result.task,
        "target": recipe.target,
        "classes": result.classes,
        "threshold": result.threshold,
        "model": {"names": models, "labels": labels, "ensemble": recipe.ensemble,
                  "params": [m.params for m in recipe.models]},
        "metric": metric,
        "cv": {"description": result.cv_description, "mean": best_row.get(metric),
               "std": best_row.get(f"{metric}_std")},
        "test_metrics": result.evaluation.get("metrics", {}),
        "input_schema": build_schema(result.X_train, roles),
        "dropped_columns": result.plan.dropped,
        "recipe": recipe.to_dict(),
        "training_data": {"name": data_name, "fingerprint": result.fingerprint,
                          "rows_train": result.n_train, "rows_test": result.n_test,
                          "columns": len(result.plan.roles) + len(result.plan.dropped) +
                          (1 if recipe.target else 0)},
        "seed": recipe.seed,
        "library_versions": library_versions(),
        "loading": ("model.joblib: joblib.load with the same scikit-learn version and tabwright "
                    "installed (for core.transformers); load only files you trust. model.skops: "
                    "skops.io.load with trusted=skops.io.get_untrusted_types(file=...) after "
                    "reviewing the listed types."),
        "intended_use": intended,
        "limitations": limitations,
        "brief": dataclasses.asdict(brief),
        "notes": result.notes,
        "baseline": baseline_stats(result.X_train, roles,
                                   y=result.y_train, task=result.task),
    }


def write_bundle(result: TrainResult, out_dir: str | Path, *, data_name: str = "data.csv") -> Path:
    """Write every bundle file into ``out_dir`` (created if needed); returns the folder."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TabwrightError(f"Cannot create the output folder {str(out)!r}: {exc.strerror}.",
                             "Choose a folder you can write to.") from None
    for name, payload in bundle_files(result, data_name=data_name).items():
        (out / name).write_bytes(payload)
    return out


def bundle_files(result: TrainResult, *, data_name: str = "data.csv") -> dict[str, bytes]:
    """The bundle as ``{file name: bytes}`` (for downloads and zips)."""
    # skops takes 0.9 s to import; only the bundle download and the CLI's bundle need it.
    import skops.io as sio

    buffer = io.BytesIO()
    joblib.dump(result.pipeline, buffer, compress=3)
    card = model_card(result, data_name=data_name)
    return {
        "model.joblib": buffer.getvalue(),
        "model.sig": sign(buffer.getvalue()).encode(),
        "model.skops": sio.dumps(result.pipeline, compression=zipfile.ZIP_DEFLATED, compresslevel=6),
        "model.json": _json(card),
        "recipe.json": result.recipe.to_json().encode(),
        "metrics.json": _json({"test": result.evaluation, "cv": card["cv"],
                               "train_score": result.train_score, "metric": result.metric}),
        "leaderboard.json": _json(result.leaderboard),
    }


def bundle_zip(result: TrainResult, *, data_name: str = "data.csv") -> bytes:
    """The bundle as one zip file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, payload in bundle_files(result, data_name=data_name).items():
            zf.writestr(name, payload)
    return buffer.getvalue()


def load_bundle(path: str | Path, *, trust: bool = False) -> tuple[Any, dict[str, Any]]:
    """Load a bundle this workspace wrote: the fitted model and its card.

    ``path`` is the bundle folder or its ``model.joblib``. joblib runs code while loading, so
    the file's signature (``model.sig``, see :mod:`core.deliver._signing`) is checked before anything
    is unpickled; a file this workspace did not write is refused unless ``trust=True`` (the
    user vouches for it). The app never loads a model file that someone uploads.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    model_file = folder / "model.joblib" if p.is_dir() else p
    card_file = folder / "model.json"
    if not model_file.exists():
        raise TabwrightError(f"No model found at {str(path)!r}.",
                             "Pass the folder written by 'tabwright train --out DIR' or its model.joblib.")
    if not card_file.exists():
        raise TabwrightError(f"The model card {str(card_file)!r} is missing.",
                             "Keep model.json next to model.joblib, as 'tabwright train' wrote them.")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TabwrightError(f"The model card {str(card_file)!r} is not valid JSON.",
                             "Re-create the bundle with 'tabwright train'.") from None
    payload = model_file.read_bytes()
    sig_file = model_file.with_name("model.sig")
    signed = sig_file.exists() and verify(payload, sig_file.read_text(encoding="ascii", errors="replace"))
    if not signed and not trust:
        raise TabwrightError(
            f"Refusing to load {str(model_file)!r}: it was not written by tabwright in this "
            "workspace, and loading a joblib file runs whatever code it contains.",
            "Retrain it here with 'tabwright train', or pass --trust if you made this file "
            "yourself elsewhere.")
    return joblib.load(io.BytesIO(payload)), card


def _json(data: Any) -> bytes:
    return json.dumps(json_safe(data), indent=2, allow_nan=False, default=_default).encode()


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
