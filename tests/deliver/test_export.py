"""Tests for core.deliver._export: the model card and the signed bundle, written and loaded."""

from __future__ import annotations

import io
import json
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest

from core.deliver._export import (
    bundle_files,
    bundle_zip,
    library_versions,
    load_bundle,
    model_card,
    write_bundle,
)
from core.errors import TabwrightError
from core.recipe import ModelChoice, Recipe
from core.train._runner import train

FILES = {"model.joblib", "model.sig", "model.skops", "model.json", "recipe.json",
         "metrics.json", "leaderboard.json"}


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


def test_write_and_load_a_bundle_round_trip(result, tmp_path):
    out = write_bundle(result, tmp_path / "nested" / "bundle", data_name="tiny.csv")
    assert out == tmp_path / "nested" / "bundle"
    assert {p.name for p in out.iterdir()} == FILES
    model, card = load_bundle(out)
    sample = result.X_test.head(20)
    np.testing.assert_array_equal(model.predict(sample), result.pipeline.predict(sample))
    np.testing.assert_allclose(model.predict_proba(sample), result.pipeline.predict_proba(sample))
    assert card["target"] == "y" and card["task"] == "binary" and card["classes"] == ["no", "yes"]
    assert card["training_data"]["name"] == "tiny.csv"
    # the model.joblib path works as well as the folder
    model_again, _ = load_bundle(out / "model.joblib")
    np.testing.assert_array_equal(model_again.predict(sample), model.predict(sample))


def test_a_tampered_model_file_is_refused(result, tmp_path):
    out = write_bundle(result, tmp_path / "bundle")
    tampered = joblib.load(out / "model.joblib")  # loading our own file in the test is safe
    buffer = io.BytesIO()
    joblib.dump({"not": "the model", "pipeline": tampered}, buffer)
    (out / "model.joblib").write_bytes(buffer.getvalue())
    with pytest.raises(TabwrightError, match="Refusing to load") as info:
        load_bundle(out)
    assert "--trust" in info.value.hint
    model, _ = load_bundle(out, trust=True)  # the user vouches for it
    assert model["not"] == "the model"


def test_a_bundle_from_another_workspace_or_without_a_signature_is_refused(result, tmp_path,
                                                                          monkeypatch):
    out = write_bundle(result, tmp_path / "bundle")
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path / "elsewhere"))
    with pytest.raises(TabwrightError, match="Refusing to load"):
        load_bundle(out)
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path / "workspace"))
    load_bundle(out)
    (out / "model.sig").unlink()
    with pytest.raises(TabwrightError, match="Refusing to load"):
        load_bundle(out)


def test_missing_or_broken_files_are_explained(result, tmp_path):
    with pytest.raises(TabwrightError, match="No model found"):
        load_bundle(tmp_path / "nothing here")
    out = write_bundle(result, tmp_path / "bundle")
    (out / "model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(TabwrightError, match="not valid JSON"):
        load_bundle(out)
    (out / "model.json").unlink()
    with pytest.raises(TabwrightError, match="model card .* is missing"):
        load_bundle(out)


def test_an_unwritable_output_folder_is_a_user_error(result, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TabwrightError, match="Cannot create the output folder"):
        write_bundle(result, blocker / "bundle")


def test_bundle_files_are_json_where_they_should_be(result):
    files = bundle_files(result)
    assert set(files) == FILES
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
                                     "columns": 3}
    assert card["training_data"]["rows_train"] + card["training_data"]["rows_test"] == 300
    assert any("calibration curve" in line for line in card["limitations"])
    assert "'y'" in card["intended_use"]
    assert card["library_versions"] == library_versions()
    assert {"python", "scikit-learn", "pandas", "numpy", "tabwright"} <= set(card["library_versions"])
    json.dumps(card, allow_nan=False)  # the card is plain JSON
    assert set(card["baseline"]["features"]) == {"x", "colour"}


def test_bundle_zip_holds_the_same_files(result):
    with zipfile.ZipFile(io.BytesIO(bundle_zip(result))) as zf:
        assert set(zf.namelist()) == FILES
        assert json.loads(zf.read("model.json"))["target"] == "y"
