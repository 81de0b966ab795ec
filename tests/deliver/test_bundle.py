"""Tests for core.deliver._bundle: a bundle loaded back, only when this workspace signed it."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pytest

from core.deliver._bundle import load_bundle
from core.deliver._container import wheel_name
from core.deliver._export import write_bundle
from core.errors import TabwrightError
from tests.deliver.test_export import result, workspace  # noqa: F401 (the same tiny run)

FILES = ["README.md", "model.joblib", "model.sig", "model.skops", "model.json", "recipe.json",
         "metrics.json", "leaderboard.json", "report.html", "report.md", "train.py", "Dockerfile",
         "requirements.txt", wheel_name()]


def test_write_and_load_a_bundle_round_trip(result, tmp_path):
    out = write_bundle(result, tmp_path / "nested" / "bundle", data_name="tiny.csv")
    assert out == tmp_path / "nested" / "bundle"
    assert {p.name for p in out.iterdir()} == set(FILES)
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
