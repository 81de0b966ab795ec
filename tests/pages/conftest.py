"""Shared AppTest helpers for the page tests.

``app`` is the whole app (``app.py``, the same ``st.navigation`` a browser gets) after its
first run: the Data page, empty. Projects for later pages are built with the core functions
the pages call (:func:`project_from_csv`) and put into the session with :func:`open_page`.
``$TABWRIGHT_APP`` (relative to the repository, as for the browser tests) points the tests at
another entry script.
"""

from __future__ import annotations

import functools
import os
import types
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.project import Project, load_data, set_target, with_result

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "sample_data"
TITANIC = SAMPLES / "titanic.csv"
PROJECT_KEY = "tabwright_project"
TIMEOUT_S = 90


# The Train page polls a running job in a loop; under AppTest draw it once per run instead,
# so a test sees the running state and drives the reruns itself.
os.environ["TABWRIGHT_POLL_SECONDS"] = "0"

def app_path() -> Path:
    return (REPO_ROOT / os.environ.get("TABWRIGHT_APP", "app.py")).resolve()


def new_app() -> AppTest:
    """A fresh AppTest of the app (not yet run)."""
    return AppTest.from_file(str(app_path()), default_timeout=TIMEOUT_S)


@pytest.fixture
def app() -> AppTest:
    """The app after one run: the Data page with an empty project."""
    at = new_app()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def project_from_csv(path: str | Path, target: str | None = None, *,
                     task: str | None = None) -> Project:
    """A project as the Data page would make it: the file loaded, the target set if given."""
    path = Path(path)
    project = load_data(Project(), str(path), name=path.name)
    if target is not None or task == "clustering":
        project = set_target(project, target, task=task)
    return project


@functools.cache
def titanic(target: str | None = "survived") -> Project:
    """The Titanic sample, loaded once per test session (projects are immutable)."""
    return project_from_csv(TITANIC, target)


def with_fake_result(project: Project, label: str = "Logistic regression") -> Project:
    """``project`` as if a model had been trained (enough for the pages that only show it)."""
    return with_result(project, types.SimpleNamespace(leaderboard=[{"label": label}]))


def open_page(page: str, project: Project | None = None, **state: Any) -> AppTest:
    """The app on ``pages/<page>.py`` with ``project`` (and any widget ``state``) in the session."""
    at = new_app()
    if project is not None:
        at.session_state[PROJECT_KEY] = project
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def current(at: AppTest) -> Project:
    """The session's project now."""
    return at.session_state[PROJECT_KEY]


def plain(text: Any) -> str:
    """Displayed text without bold markers and the backslashes that escape data-derived names."""
    return str(text).replace("\\", "").replace("**", "")


def page_text(at: AppTest) -> str:
    """Everything a person reads on the page (Markdown escapes removed)."""
    parts: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "success", "info", "warning",
                 "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return plain("\n".join(parts))


def edit_table(at: AppTest, key: str, edits: dict[int, dict[str, Any]]) -> None:
    """Seed cell edits of the data editor ``key`` (AppTest cannot type into cells)."""
    at.session_state[key] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
