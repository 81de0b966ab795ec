"""Tests for core.deliver._export: the model card and the one bundle, written and zipped."""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.deliver._container import (
    dockerfile,
    requirements_txt,
    tabwright_wheel,
    wheel_name,
)
from core.deliver._export import (
    bundle_file_descriptions,
    bundle_files,
    bundle_zip,
    library_versions,
    model_card,
    model_files,
    project_name_for,
    report_title,
    write_bundle,
)
from core.deliver._report import build_report
from core.errors import TabwrightError
from core.recipe import Brief, ModelChoice, Recipe
from core.train._runner import train

MODEL_FILES = ["model.joblib", "model.sig", "model.skops", "model.json", "recipe.json",
               "metrics.json", "leaderboard.json"]
FILES = ["README.md", *MODEL_FILES, "report.html", "report.md", "train.py", "Dockerfile",
         "requirements.txt", wheel_name()]


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n)})
    frame["y"] = np.where(frame["x"] + 0.5 * rng.normal(size=n) > 0, "yes", "no")
    return train(frame, Recipe(target="y", auto=False, models=[ModelChoice("logistic_regression")]),
                 inferred_roles={"x": "numeric", "colour": "categorical"})


@pytest.fixture(autouse=True)
def workspace(monkeypatch, tmp_path):
    """Each test signs with a key in its own workspace, never the user's ~/.tabwright."""
    folder = tmp_path / "workspace"
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(folder))
    return folder


def test_an_unwritable_output_folder_is_a_user_error(result, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TabwrightError, match="Cannot create the output folder"):
        write_bundle(result, blocker / "bundle")


def test_bundle_files_are_json_where_they_should_be(result):
    files = bundle_files(result)
    assert list(files) == FILES == list(bundle_file_descriptions())
    recipe = json.loads(files["recipe.json"])
    assert recipe["target"] == "y" and recipe["models"][0]["name"] == "logistic_regression"
    assert Recipe.from_json(files["recipe.json"].decode()) == result.recipe
    metrics = json.loads(files["metrics.json"])
    assert metrics["metric"] == "roc_auc"
    assert metrics["test"]["metrics"]["roc_auc"] == pytest.approx(result.evaluation["metrics"]["roc_auc"])
    leaderboard = json.loads(files["leaderboard.json"])
    assert [row["model"] for row in leaderboard] == [row["model"] for row in result.leaderboard]


def test_the_model_card(result):
    card = model_card(result, data_name="tiny.csv")
    assert card["format"] == "tabwright-model-card/1"
    assert card["model"]["names"] == ["logistic_regression"]
    assert card["model"]["labels"] == ["Logistic regression"]
    assert card["metric"] == "roc_auc"
    assert card["cv"]["mean"] == result.leaderboard[0]["roc_auc"]
    assert card["cv"]["std"] == result.leaderboard[0]["roc_auc_std"]
    assert [c["name"] for c in card["input_schema"]["columns"]] == list(result.X_train.columns)
    assert card["training_data"] == {"name": "tiny.csv", "fingerprint": result.fingerprint,
                                     "rows_train": result.n_train, "rows_test": result.n_test,
                                     "rows_final": None, "columns": 3}
    assert card["training_data"]["rows_train"] + card["training_data"]["rows_test"] == 300
    assert any("calibration curve" in line for line in card["limitations"])
    assert "'y'" in card["intended_use"]
    assert card["library_versions"] == library_versions()
    assert {"python", "scikit-learn", "pandas", "numpy", "tabwright"} <= set(card["library_versions"])
    json.dumps(card, allow_nan=False)  # the card is plain JSON
    assert set(card["baseline"]["features"]) == {"x", "colour"}


def test_bundle_zip_holds_the_same_files(result):
    with zipfile.ZipFile(io.BytesIO(bundle_zip(result, run_id="20250101-120000-abcdef"))) as zf:
        assert zf.namelist() == FILES
        card = json.loads(zf.read("model.json"))
        assert card["target"] == "y" and card["run_id"] == "20250101-120000-abcdef"
        assert zf.read("Dockerfile") == dockerfile().encode()
        assert zf.read(wheel_name()) == tabwright_wheel()


def test_the_card_says_which_project_and_run_the_model_belongs_to(result):
    card = model_card(result, data_name="Titanic Survival.csv")
    assert card["project"] == "titanic-survival" and "run_id" not in card
    card = model_card(result, data_name="x.csv", run_id="20250101-120000-abcdef", project="churn_v2")
    assert card["project"] == "churn_v2" and card["run_id"] == "20250101-120000-abcdef"
    written = json.loads(model_files(result, data_name="tiny.csv", run_id="r1")["model.json"])
    assert written["project"] == "tiny" and written["run_id"] == "r1"


@pytest.mark.parametrize("data_name, project", [
    ("titanic.csv", "titanic"), ("/data/Données été 2024 (v2).CSV", "donnees-ete-2024-v2"),
    ("postgresql://analyst@db.example.com/sales", "sales"), ("数据.csv", "data"),
])
def test_the_default_project_is_the_data_file_stem_as_a_slug(data_name, project):
    assert project_name_for(data_name) == project
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", project)


@pytest.mark.parametrize("bad", ["Titanic", "my project", "a.b", "-x", "x" * 65, "", 3])
def test_a_project_name_that_is_not_a_slug_is_a_user_error(result, bad):
    with pytest.raises(TabwrightError, match="A project name must be") as info:
        bundle_files(result, project=bad)
    assert "titanic-survival" in info.value.hint


def test_the_bundle_reports_and_script_are_the_runs_own(result):
    files = bundle_files(result, data_name="tiny.csv")
    markdown = files["report.md"].decode()
    assert markdown.startswith("# Predicting y in tiny.csv\n")
    html = files["report.html"].decode()
    assert "<title>Predicting y in tiny.csv — tabwright report</title>" in html and "Plotly.newPlot" in html
    script = files["train.py"].decode()
    ast.parse(script)
    assert "tiny.csv" in script and "LogisticRegression" in script
    assert files["requirements.txt"] == requirements_txt().encode()


def test_a_report_given_is_rendered_instead_of_built_again(result):
    report = build_report(result, project_name="Who says yes", data_name="tiny.csv")
    files = bundle_files(result, data_name="tiny.csv", report=report)
    assert files["report.md"].decode().startswith("# Who says yes\n")
    assert files["README.md"].decode().startswith("# Who says yes\n")


def test_the_readme_explains_serving_the_image_and_every_file(result):
    readme = bundle_files(result, data_name="tiny data.csv", run_id="r7")["README.md"].decode()
    assert readme.startswith("# Predicting y in tiny data.csv\n")
    assert "Logistic regression predicts 'y' (binary): ROC-AUC" in readme
    assert "project `tiny-data`, run `r7`" in readme
    assert "    tabwright serve .\n" in readme and "--trust" in readme
    assert "    docker build -t tiny-data .\n" in readme
    assert "    docker run --rm -p 8000:8000 -v tiny-data-workspace:/workspace tiny-data\n" in readme
    assert "    tabwright train 'tiny data.csv' --recipe recipe.json --out DIR\n" in readme
    assert "    python train.py 'tiny data.csv'\n" in readme
    table = re.findall(r"^\| `([^`]+)` \| (.+) \|$", readme, flags=re.M)
    assert [name for name, _ in table] == FILES  # every file of the bundle, and only those
    assert all(text for _, text in table)


def test_report_title_prefers_the_brief(result):
    assert report_title(result, data_name="tiny.csv") == "Predicting y in tiny.csv"
    assert report_title(result, data_name="tiny.csv", problem="  Who says yes?\nMore.") == "Who says yes?"
    briefed = dataclasses.replace(result, recipe=_with_problem(result.recipe, "Churn next month"))
    assert report_title(briefed, data_name="tiny.csv") == "Churn next month"
    assert report_title(briefed, data_name="tiny.csv", problem="") == "Predicting y in tiny.csv"


def _with_problem(recipe: Recipe, problem: str) -> Recipe:
    changed = recipe.copy()
    changed.brief = Brief(problem=problem)
    return changed
