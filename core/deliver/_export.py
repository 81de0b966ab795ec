"""The export stage: a trained run becomes one bundle a person can serve, read, rebuild and ship.

A bundle is a folder (or the same files zipped). ``tabwright train --out DIR``, the Export
page's zip and the run history all write the same one: :func:`bundle_files` makes it, and
:func:`bundle_file_descriptions` says what each file is (the bundle's README.md repeats it):

- the model: ``model.joblib`` (the fitted pipeline), ``model.sig`` (this workspace's
  signature of it: tabwright loads only files it signed), ``model.skops`` (the same model in a
  format that does not run code when loaded) and ``model.json``, the model card;
- how it was made and how good it is: ``recipe.json``, ``metrics.json``, ``leaderboard.json``,
  the report as ``report.html`` and ``report.md``, and ``train.py``, which retrains the model
  with pandas and scikit-learn alone;
- how to run it anywhere: a ``Dockerfile``, a pinned ``requirements.txt`` and tabwright itself
  as a wheel (:mod:`core.deliver._container`), and ``README.md``.

Time, measured in CPU seconds for a Titanic auto-mode ensemble (extra trees + histogram
boosting) at the end of ``tabwright train``: 4.6 s for the whole bundle, of which the model
files take 1.5 s (mostly skops, whose JSON goes through Python's pure-Python encoder), the
report's permutation importance 2.0–2.3 s (66 ``predict_proba`` calls on the test rows), the
rest of the report 0.6 s and the container's files 0.1 s. The model files alone took 1.6 s.
"""

from __future__ import annotations

import io
import json
import shlex
import zipfile
from pathlib import Path
from typing import Any

from core.deliver import _report
from core.deliver._bundle import model_files
from core.deliver._card import (  # noqa: F401 — the card's names, importable from here as before
    library_versions,
    model_card,
    project_name,
    project_name_for,
    report_title,
)
from core.deliver._container import (
    MODEL_DIR,
    PORT,
    WORKSPACE_DIR,
    container_files,
    wheel_name,
)
from core.deliver._script import render_training_script
from core.errors import TabwrightError
from core.metrics import metric_label
from core.run import TrainResult


def bundle_file_descriptions() -> dict[str, str]:
    """Every file of a bundle, in the bundle's order, with what it is (for its README)."""
    return {
        "README.md": "This file: what the model is, how to serve it, build its image and retrain it.",
        "model.joblib": "The fitted scikit-learn pipeline, preparation included. Loading a joblib "
                        "file runs code: load only files you made yourself.",
        "model.sig": "The tabwright workspace that trained the model signed model.joblib with a "
                     "key that never leaves it; tabwright loads only files its workspace signed.",
        "model.skops": "The same model in skops format, which does not run code when loaded "
                       "(review the types it lists first): the safer format to share.",
        "model.json": "The model card: what it predicts, input schema, scores, intended use and "
                      "limits, project and run, drift baseline.",
        "recipe.json": "Every choice, resolved: `tabwright train DATA --recipe recipe.json` "
                       "rebuilds this model.",
        "metrics.json": "Test-set evaluation and the cross-validation score.",
        "leaderboard.json": "Every model tried, with its cross-validation scores.",
        "report.html": "The full report with interactive charts, one file that opens offline.",
        "report.md": "The same report as Markdown.",
        "train.py": "A standalone pandas + scikit-learn script that retrains this model from the "
                    "data file, without tabwright.",
        "Dockerfile": f"Builds an image that serves the model on port {PORT} (see below).",
        "requirements.txt": "The exact versions of every library serving needs, as they were "
                            "when the model was trained.",
        wheel_name(): "tabwright itself, the code that trained the model, for the image "
                      "(installed with --no-deps on top of requirements.txt).",
    }


def _finalized(data: dict[str, Any]) -> str:
    rows = data.get("rows_final")
    return (f", then refitted on all {rows:,} rows (test rows included) after testing"
            if rows else "")


def bundle_files(result: TrainResult, *, data_name: str = "data.csv", run_id: str | None = None,
                 project: str | None = None, profile: Any = None, table: Any = None,
                 report: dict[str, Any] | None = None) -> dict[str, bytes]:
    """The whole bundle as ``{file name: bytes}``, in the order of :func:`bundle_file_descriptions`.

    Parameters
    ----------
    result : core.run.TrainResult
    data_name : str
        The training data's name as the user knows it (a file name); names the project unless
        ``project`` is given.
    run_id : str, optional
        The run history's id of this run, recorded in the card.
    project : str, optional
        The project the model belongs to (see :func:`project_name_for`).
    profile : core.explore._profile.Profile, optional
        The data profile, for the report's data summary and findings.
    table : core.ingest._read.LoadedTable, optional
        How the data file was read, so ``train.py`` reads it the same way.
    report : dict, optional
        A :func:`core.deliver._report.build_report` result to render instead of building one
        (the Export page passes the one it already made); ``profile`` is then not used.

    Raises
    ------
    TabwrightError
        When ``project`` is not a valid project name.
    """
    files = model_files(result, data_name=data_name, run_id=run_id, project=project)
    if report is None:
        report = _report.build_report(result, project_name=report_title(result, data_name=data_name),
                                      profile=profile, data_name=data_name)
    files["report.html"] = _report.render_html(report).encode()
    files["report.md"] = _report.render_markdown(report).encode()
    files["train.py"] = render_training_script(result, data_name=data_name, table=table).encode()
    files.update(container_files(result.delivered))
    readme = _readme(json.loads(files["model.json"]), title=str(report["title"]))
    return {name: readme.encode() if name == "README.md" else files[name]
            for name in bundle_file_descriptions()}


def write_bundle(result: TrainResult, out_dir: str | Path, *, data_name: str = "data.csv",
                 run_id: str | None = None, project: str | None = None, profile: Any = None,
                 table: Any = None, report: dict[str, Any] | None = None) -> Path:
    """Write :func:`bundle_files` into ``out_dir`` (created if needed); returns the folder."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TabwrightError(f"Cannot create the output folder {str(out)!r}: {exc.strerror}.",
                             "Choose a folder you can write to.") from None
    files = bundle_files(result, data_name=data_name, run_id=run_id, project=project,
                         profile=profile, table=table, report=report)
    for name, payload in files.items():
        (out / name).write_bytes(payload)
    return out


def bundle_zip(result: TrainResult, *, data_name: str = "data.csv", run_id: str | None = None,
               project: str | None = None, profile: Any = None, table: Any = None,
               report: dict[str, Any] | None = None) -> bytes:
    """:func:`bundle_files` as one zip file."""
    files = bundle_files(result, data_name=data_name, run_id=run_id, project=project,
                         profile=profile, table=table, report=report)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, payload in files.items():
            zf.writestr(name, payload)
    return buffer.getvalue()


def _readme(card: dict[str, Any], *, title: str) -> str:
    """The bundle's README.md: the model in three lines, how to serve, build and retrain it."""
    label = metric_label(card["metric"])
    cv, test = card["cv"], card["test_metrics"].get(card["metric"])
    data = card["training_data"]
    model = " + ".join(card["model"]["labels"]) + (" (ensemble)" if card["model"]["ensemble"] else "")
    if card["model"].get("bagged"):
        model += f" ({', '.join(card['model']['bagged'])} bagged over {card['model']['bag_folds']} folds)"
    what = (f"predicts {card['target']!r} ({card['task']})" if card["target"]
            else "groups rows into clusters")
    belongs = f"project `{card['project']}`" + (f", run `{card['run_id']}`" if card.get("run_id") else "")
    files = "\n".join(f"| `{name}` | {text} |" for name, text in bundle_file_descriptions().items())
    image = card["project"]
    return f"""\
# {title}

{model} {what}: {label} {_number(cv['mean'])} ± {_number(cv['std'])} \
in cross-validation, {_number(test)} on {data['rows_test']:,} held-out test rows. Trained on \
{data['rows_train']:,} rows of {data['name']}{_finalized(data)} on {card['created']} with tabwright \
{card['library_versions']['tabwright']} ({belongs}). Intended use: {card['intended_use']} \
Its limits are in model.json and the report.

## Serve it

    tabwright serve .

answers on http://127.0.0.1:{PORT}: `POST /predict` with `{{"records": [{{"column": value, ...}}, \
...]}}` (null for a missing value), `GET /schema` for the {len(card['input_schema']['columns'])} \
input columns, `GET /docs` for all of it, `GET /health`. That works in the tabwright workspace \
that trained the model, which signed `model.joblib` (`model.sig`) with a key that never leaves \
it. Anywhere else the signature cannot be checked: add `--trust` to say you vouch for \
`model.joblib`. Loading a joblib file runs code, so do that only for a bundle you made yourself.

## Build and run the container

    docker build -t {image} .
    docker run --rm -p {PORT}:{PORT} -v {image}-workspace:{WORKSPACE_DIR} {image}

The image installs the libraries pinned in `requirements.txt` (the versions that trained the \
model: a joblib file needs them), then tabwright from the wheel in this folder, copies \
`model.joblib` and `model.json` to `{MODEL_DIR}`, and runs `tabwright serve {MODEL_DIR} --trust` \
as an unprivileged user, with a health check on `/health`. `--trust` is needed because the \
image has its own tabwright workspace, whose key did not sign `model.joblib`; you built this \
bundle yourself, so you can vouch for it. Never build an image from a bundle someone sent you. \
The prediction log goes to `{WORKSPACE_DIR}`: mount a volume there to keep it.

## Retrain it

{_retrain(card)}

## The files

| File | What it is |
| --- | --- |
{files}
"""


def _retrain(card: dict[str, Any]) -> str:
    """The commands that retrain the model, for the README (a query source runs its query again)."""
    if (card["recipe"].get("source") or {}).get("kind") == "sql":
        return ("    tabwright train --recipe recipe.json --out DIR    # runs the query again\n"
                "    python train.py rows.csv                          # the query's rows as CSV")
    data = shlex.quote(str(card["training_data"]["name"]))
    return f"    tabwright train {data} --recipe recipe.json --out DIR\n    python train.py {data}"


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"
