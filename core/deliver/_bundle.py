"""A bundle's model part, written and loaded back: the signed model, its card, recipe, scores.

:func:`model_files` makes the model's files (the run history keeps them for every run);
:func:`load_bundle` loads them back. Kept apart from :mod:`core.deliver._export` (the whole
bundle, with its reports and scripts), so serving a model imports only what predicting needs:
the image's ``requirements.txt`` lists exactly that (see :mod:`core.deliver._container`).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import joblib

from core.deliver._card import model_card
from core.deliver._signing import sign, verify
from core.errors import TabwrightError
from core.formatting import json_safe
from core.run import TrainResult


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


def model_files(result: TrainResult, *, data_name: str = "data.csv", run_id: str | None = None,
                project: str | None = None, skops: bool = True) -> dict[str, bytes]:
    """The model's part of a bundle: model.joblib/.sig/.skops, the card, recipe and scores.

    The quick part (no report, no container): the Export page hands these to their buttons as
    soon as it opens, and the run history keeps them for every run (without ``model.skops``
    with ``skops=False``: the history loads the signed joblib file, and the Export page makes
    the whole bundle from the run when it is asked for).
    """
    card = model_card(result, data_name=data_name, run_id=run_id, project=project)
    buffer = io.BytesIO()
    joblib.dump(result.delivered, buffer, compress=3)
    safe = {}
    if skops:
        # skops takes 0.9 s to import; only bundles need it.
        import skops.io as sio

        safe["model.skops"] = sio.dumps(result.delivered, compression=zipfile.ZIP_DEFLATED,
                                        compresslevel=1)  # 2× faster than 6, 20% larger
    return {
        "model.joblib": buffer.getvalue(),
        "model.sig": sign(buffer.getvalue()).encode(),
        **safe,
        "model.json": _json(card),
        "recipe.json": result.recipe.to_json().encode(),
        "metrics.json": _json({"test": result.evaluation, "cv": card["cv"],
                               "train_score": result.train_score, "metric": result.metric}),
        "leaderboard.json": _json(result.leaderboard),
    }


def _json(data: Any) -> bytes:
    return json.dumps(json_safe(data), indent=2, allow_nan=False, default=_default).encode()


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
