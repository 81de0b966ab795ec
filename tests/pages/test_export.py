"""AppTest of the Export page: every download, each explained, and the model card's key facts."""

from __future__ import annotations

import pytest

from tests.pages.conftest import current
from tests.pages.helpers_late import (  # noqa: F401 (workspace is a fixture)
    open_page,
    texts,
    titanic_project,
    trained_project,
    workspace,
)

pytestmark = pytest.mark.usefixtures("workspace")


def test_export_offers_every_file_with_an_explanation_and_the_card():
    project = trained_project()
    at = open_page("export", project)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Model bundle (.zip)", "model.joblib", "model.skops", "model.json (model card)",
                      "recipe.json", "Report (.html)", "Report (.md)", "train.py"]
    page = texts(at)
    assert "Loading a joblib file runs code: only load files you made yourself." in page
    assert "does not run code when loaded" in page
    assert "`tabwright train DATA.csv --recipe recipe.json`" in page
    cards = {m.label: m.value for m in at.metric}
    assert cards["Task"] == "binary" and cards["Target"] == "survived"
    test_auc = project.result.evaluation["metrics"]["roc_auc"]
    assert cards["Test ROC-AUC"] == f"{test_auc:.4f}"
    assert "Model: Logistic regression  \nClasses: 0, 1  \nDecision threshold: 0.500" in page
    assert "Trained on: 712 rows of titanic.csv" in page
    assert "Project: `titanic`" in page and "Run:" not in page  # not saved in the run history
    assert "with a README, a `Dockerfile`, pinned `requirements.txt` and tabwright's wheel" in page
    assert "Relations in the data are associations, not causes." in page
    assert "Inputs: 13 columns" in page


def test_export_needs_a_trained_model():
    at = open_page("export", titanic_project())
    assert not at.get("download_button")
    assert "This step needs a trained model" in at.info[0].value


def test_export_names_the_saved_run_the_bundle_comes_from():
    project = trained_project(record=True)
    at = open_page("export", project)
    assert not at.exception
    assert f"Project: `titanic` · Run: `{project.run_id}`" in texts(at)



def test_export_refits_on_every_row_and_says_which_model_the_downloads_hold():
    project = trained_project(record=True)
    at = open_page("export", project)
    assert "the 179 test rows were kept aside to measure it" in texts(at)
    at.button(key="export_finalize").click().run()
    assert not at.exception
    finalized = current(at)
    assert finalized.result.final_rows == 891 and finalized.result.n_train == 712
    assert finalized.run_id and finalized.run_id != project.run_id  # saved as a new run
    page = texts(at)
    assert "The model you download was refitted on all 891 rows after the test" in page
    assert "then refitted on all 891" in page
    assert not at.get("button") or all(b.key != "export_finalize" for b in at.button)
