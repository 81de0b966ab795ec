"""The model card's home: where a run belongs, and what it holds."""

from __future__ import annotations

import pytest

from core.deliver import _export
from core.deliver._card import (
    library_versions,
    model_card,
    project_name,
    project_name_for,
)
from core.errors import TabwrightError


@pytest.mark.parametrize(("data_name", "project"), [
    ("Titanic Survival.csv", "titanic-survival"), ("/tmp/Données été 2024 (v2).CSV", "donnees-ete-2024-v2"),
    ("数据.csv", "data"),
])
def test_a_run_belongs_to_its_data_files_project_by_default(data_name, project):
    assert project_name(data_name) == project == project_name_for(data_name)


def test_a_given_project_name_must_be_a_slug():
    assert project_name_for("x.csv", "churn-2026") == "churn-2026"
    with pytest.raises(TabwrightError, match="A project name must be 1 to 64"):
        project_name_for("x.csv", "Churn 2026")


def test_the_export_module_keeps_the_cards_names_and_versions_name_the_stack():
    assert _export.model_card is model_card
    assert {"python", "tabwright", "scikit-learn", "pandas", "numpy"} <= set(library_versions())
