"""Helpers for the AppTests of the later pages (Train, Evaluate, Export, Use, Runs).

Built on ``tests/pages/conftest.py``: projects come from the core functions the earlier pages
call, and trainings use one fast model so a test trains in a second or two. Trained results are
cached per model list for the test session (results are never mutated by the pages).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.project import Project, update_recipe, with_result
from core.recipe import Brief, ModelChoice
from core.train._runner import train
from tests.pages.conftest import PROJECT_KEY, TITANIC, page_text, titanic
from tests.pages.conftest import open_page as _open_page

JOB_KEY = "tabwright_training_job"
OWNER_KEY = "tabwright_token"  # pages/_state.py: the session token owns the run history
OWNER = "test-session"
__all__ = ["JOB_KEY", "OWNER", "PROJECT_KEY", "TITANIC", "open_page", "table_with", "texts",
           "titanic_project", "trained_project", "wait_for_job", "workspace"]


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """A fresh ``TABWRIGHT_WORKSPACE`` (run history) for one test."""
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path))
    return tmp_path


def titanic_project(*models: str, brief: Brief | None = None, **recipe_changes: Any) -> Project:
    """Titanic with target ``survived`` and a fixed list of models (default: logistic regression)."""
    project = titanic()
    recipe = project.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice(m) for m in (models or ("logistic_regression",))]
    if brief is not None:
        recipe.brief = brief
    for name, value in recipe_changes.items():
        setattr(recipe, name, value)
    return update_recipe(project, recipe)


@functools.cache
def _trained(models: tuple[str, ...]) -> Any:
    project = titanic_project(*models)
    return train(project.frame, project.recipe, inferred_roles=project.effective_roles())


def trained_project(*models: str, brief: Brief | None = None, record: bool = False,
                    hypothesis: str = "") -> Project:
    """A Titanic project with a trained result (cached per model list) and the given brief.

    With ``record``, the run is saved in the run history of ``$TABWRIGHT_WORKSPACE`` for the
    test session's owner.
    """
    from core.deliver._history import RunStore

    models = models or ("logistic_regression",)
    result = _trained(tuple(models))
    project = titanic_project(*models)
    if brief is not None:
        result = dataclasses.replace(result, recipe=_with_brief(result.recipe, brief),
                                     original_recipe=_with_brief(result.original_recipe, brief))
        project = update_recipe(project, _with_brief(project.recipe, brief))
    run_id = None
    if record:
        run_id = RunStore().record(result, data_name="titanic.csv", hypothesis=hypothesis, owner=OWNER)
    return with_result(project, result, run_id=run_id)


def _with_brief(recipe, brief: Brief):
    changed = recipe.copy()
    changed.brief = dataclasses.replace(brief)
    return changed


def open_page(page: str, project: Project | None = None) -> AppTest:
    """The app on ``pages/<page>.py`` with ``project``, as the test session's run-history owner."""
    return _open_page(page, project, **{OWNER_KEY: OWNER})


def wait_for_job(at: AppTest, timeout: float = 60) -> None:
    """Let the background training finish, then rerun the page as the fragment would."""
    job = at.session_state[JOB_KEY] if JOB_KEY in at.session_state else None
    deadline = time.monotonic() + timeout
    while job is not None and job.active and time.monotonic() < deadline:
        job.wait(0.5)
    at.run()


def texts(at: AppTest) -> str:
    """Everything a person reads on the page, code blocks included."""
    return page_text(at) + "\n" + "\n".join(str(c.value) for c in at.code)


def table_with(at: AppTest, column: str):
    """The first table on the page that has ``column`` (st.dataframe keys are not exposed)."""
    for element in at.dataframe:
        frame = element.value
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a {column!r} column; tables: "
                         f"{[list(e.value.columns) for e in at.dataframe]}")
