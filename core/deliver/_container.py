"""The container a bundle can become: a Dockerfile, pinned requirements and tabwright as a wheel.

A bundle (:func:`core.deliver._export.bundle_files`) carries what ``docker build`` needs to make
an image that serves its model with ``tabwright serve``, with no network access to anything
but the package index:

``Dockerfile``
    ``python:<this Python's minor version>-slim``, the pinned libraries, tabwright from the
    wheel (``--no-deps``: its libraries are already pinned), the model files, an unprivileged
    user, a health check on ``GET /health`` and ``tabwright serve /model ... --trust``.
``requirements.txt``
    ``name==version`` for every distribution the serving path imports
    (:data:`SERVING_REQUIREMENTS`) and everything those depend on, at the versions installed
    here: a joblib file needs the scikit-learn (and numpy, pandas, ...) that wrote it.
    ``pip install -r requirements.txt`` installs exactly these and nothing else.
``tabwright-<version>-py3-none-any.whl``
    The ``core`` package this process runs, packed as a wheel (PEP 427) in memory: the same
    code that trained the model serves it, whether or not that version was ever published.
    Packing is deterministic (sorted entries, fixed timestamps), so the same code gives the
    same bytes.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import importlib.metadata
import io
import sys
import zipfile
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import core
from core import __version__
from core.errors import TabwrightError

DIST_NAME = "tabwright"
"""The distribution name (pyproject.toml's ``[project] name``)."""
ENTRY_POINT = "core.cli:main"
"""What the ``tabwright`` command runs (pyproject.toml's ``[project.scripts]``)."""
PORT = 8000
"""The port the image's server listens on."""
MODEL_DIR = "/model"
"""Where the image keeps the model files."""
WORKSPACE_DIR = "/workspace"
"""The image's tabwright workspace (prediction log, signing key): mount a volume to keep it."""

SERVING_REQUIREMENTS: tuple[str, ...] = (
    # The model: unpickling model.joblib and predicting with it.
    "scikit-learn", "scipy", "numpy", "pandas", "joblib", "threadpoolctl",
    "python-dateutil", "pytz",  # pandas
    "narwhals", "rich",  # scikit-learn 1.9 imports them (input validation, progress callbacks)
    "psutil", "cloudpickle",  # joblib's process backend, imported with joblib
    "pyarrow",  # pandas uses it when installed; the prediction log writes Parquet with it
    "charset-normalizer",  # scipy.stats (drift checks) imports numpy.f2py, which imports it
    # The REST server.
    "fastapi", "starlette", "pydantic", "pydantic-core", "annotated-types", "annotated-doc",
    "typing-inspection", "typing-extensions", "anyio", "python-multipart", "opentelemetry-api",
    "uvicorn", "click", "uvloop", "httptools", "websockets",  # uvicorn picks the C ones up
    "orjson", "prometheus-client",  # JSON responses, GET /metrics
    # Imported at start-up, though serving never calls them: the drift check's figure (plotly).
    "packaging", "plotly",
)
"""The distributions ``tabwright serve`` imports: its server, the model's libraries, and what
``core.cli`` imports at start-up (``tests/deliver/test_container.py`` runs the serving path in
a fresh process, maps every imported module to its distribution, and fails when this list
misses one or names one that is no longer imported). requirements.txt pins these and their
dependencies."""

MODEL_LIBRARIES: dict[str, tuple[str, ...]] = {
    "core.estimators.CatBoostClassifier": ("catboost",),
    "core.estimators.CatBoostRegressor": ("catboost",),
}
"""Distributions a model needs only when it holds one of these tabwright estimators: a CatBoost
model's image installs CatBoost (and what it depends on); the others, fold bags and boosting
that copes with rare classes included, do not."""

_EPOCH = (1980, 1, 1, 0, 0, 0)
"""Every wheel entry's timestamp (the earliest a zip file can hold): same code, same bytes."""


def wheel_name() -> str:
    """The file name of tabwright's wheel, e.g. ``tabwright-0.1.0-py3-none-any.whl``."""
    return f"{DIST_NAME}-{__version__}-py3-none-any.whl"


def model_libraries(model: Any) -> tuple[str, ...]:
    """The :data:`MODEL_LIBRARIES` a fitted model needs: its estimators' classes, looked up
    through ``get_params(deep=True)`` (pipelines, ensembles, thresholds, stacks)."""
    seen: set[str] = set()
    todo = [model]
    while todo:
        item = todo.pop()
        seen.add(f"{type(item).__module__}.{type(item).__qualname__}")
        if hasattr(item, "get_params") and not isinstance(item, type):
            todo.extend(v for v in item.get_params(deep=True).values() if hasattr(v, "get_params"))
            for attr in ("estimators_", "estimator_", "final_estimator_"):  # fitted members
                members = getattr(item, attr, None)
                todo.extend(m for m in (members if isinstance(members, list) else [members])
                            if hasattr(m, "get_params"))
    return tuple(sorted({name for module, names in MODEL_LIBRARIES.items() if module in seen
                         for name in names}))


@functools.cache
def pinned_requirements(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``name==version`` for :data:`SERVING_REQUIREMENTS` (and ``extra``, a model's own
    libraries, see :func:`model_libraries`) and all they depend on, as installed.

    Dependencies come from each distribution's metadata, with environment markers evaluated
    for this Python and platform (the image runs the same Python minor version on Linux) and no
    extras. Sorted by name.

    Raises
    ------
    TabwrightError
        When a distribution serving needs is not installed here, so it cannot be pinned.
    """
    versions: dict[str, str] = {}
    wanted = [*SERVING_REQUIREMENTS, *extra]
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in versions:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise TabwrightError(
                f"Cannot pin {name!r} for the bundle's container: it is not installed here.",
                "Reinstall tabwright with its dependencies (pip install tabwright).") from None
        versions[name] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    return tuple(f"{name}=={versions[name]}" for name in sorted(versions))


def requirements_txt(extra: tuple[str, ...] = ()) -> str:
    """The bundle's ``requirements.txt``: :func:`pinned_requirements`, one a line."""
    python = ".".join(map(str, sys.version_info[:3]))
    return (f"# What `tabwright serve` needs, pinned to the versions that trained this model "
            f"(Python {python}).\n# The tabwright wheel beside this file is installed with "
            "--no-deps on top of these.\n" + "\n".join(pinned_requirements(extra)) + "\n")


def dockerfile() -> str:
    """The bundle's ``Dockerfile``: an image that serves the model on port :data:`PORT`."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    wheel = wheel_name()
    return f"""\
# An image that serves this bundle's model with `tabwright serve` on port {PORT}.
#   docker build -t my-model .
#   docker run --rm -p {PORT}:{PORT} -v my-model-workspace:{WORKSPACE_DIR} my-model
# The Python minor version is the one that trained the model: model.joblib needs it.
FROM python:{python}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    TABWRIGHT_WORKSPACE={WORKSPACE_DIR}

# The libraries at the exact versions that trained the model, then tabwright itself (the code
# that trained it, packed as a wheel; its libraries are the pins above, hence --no-deps).
COPY requirements.txt {wheel} /tmp/install/
RUN pip install --no-cache-dir -r /tmp/install/requirements.txt \\
    && pip install --no-cache-dir --no-deps /tmp/install/{wheel} \\
    && rm -rf /tmp/install

RUN useradd --create-home --uid 10001 tabwright \\
    && mkdir -p {WORKSPACE_DIR} && chown tabwright {WORKSPACE_DIR}
COPY model.joblib model.json {MODEL_DIR}/
USER tabwright

EXPOSE {PORT}
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/health', timeout=4)"]

# --trust: tabwright loads only a model.joblib its own workspace signed (model.sig is an HMAC
# with a key that never leaves the workspace that trained the model; see README.md). This
# image has a workspace and a key of its own, so it cannot check that signature. You built
# this bundle yourself, so you vouch for model.joblib; loading a joblib file runs code, so
# never build an image from a bundle someone else sent you.
CMD ["tabwright", "serve", "{MODEL_DIR}", "--host", "0.0.0.0", "--port", "{PORT}", "--trust"]
"""


def tabwright_wheel() -> bytes:
    """tabwright's ``core`` package as installed here, packed as a wheel (PEP 427).

    Holds ``core/...`` (every file but bytecode caches and hidden files), and in
    ``tabwright-<version>.dist-info/``: ``METADATA`` (with :data:`SERVING_REQUIREMENTS` as its
    requirements, so ``pip check`` agrees with the image), ``WHEEL``, ``entry_points.txt``
    (the ``tabwright`` command) and ``RECORD`` (each file's sha256 and size). Entries are
    sorted and dated 1980-01-01, so the same code gives the same bytes.
    """
    package = Path(core.__file__).parent
    files = {f"core/{path.relative_to(package).as_posix()}": path.read_bytes()
             for path in sorted(package.rglob("*"))
             if path.is_file() and path.suffix != ".pyc"
             and not any(part == "__pycache__" or part.startswith(".")
                         for part in path.relative_to(package).parts)}
    info = f"{DIST_NAME}-{__version__}.dist-info"
    requires = "".join(f"Requires-Dist: {pin}\n" for pin in pinned_requirements()
                       if pin.split("==")[0] in {canonicalize_name(n) for n in SERVING_REQUIREMENTS})
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {DIST_NAME}\nVersion: {__version__}\n"
        "Summary: tabwright's core, packed to serve a model bundle\n"
        f"Requires-Python: >={sys.version_info.major}.{sys.version_info.minor}\n{requires}").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: tabwright\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n")
    files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{DIST_NAME} = {ENTRY_POINT}\n".encode()
    files[f"{info}/top_level.txt"] = b"core\n"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, payload in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(payload).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(payload)])
    writer.writerow([f"{info}/RECORD", "", ""])
    files[f"{info}/RECORD"] = record.getvalue().encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, payload in files.items():
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, payload)
    return buffer.getvalue()


def container_files(model: Any = None) -> dict[str, bytes]:
    """The container's part of a bundle: ``Dockerfile``, ``requirements.txt`` (with the
    libraries ``model`` needs beyond scikit-learn's, see :func:`model_libraries`) and the wheel."""
    extra = model_libraries(model) if model is not None else ()
    return {"Dockerfile": dockerfile().encode(),
            "requirements.txt": requirements_txt(extra).encode(), wheel_name(): tabwright_wheel()}
