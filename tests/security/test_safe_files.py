"""No pickle, joblib or skops file a user supplies is ever loaded: not in the app, not by the CLI.

Each test builds a pickle whose loading would create a marker file, offers it everywhere a
file goes in, and asserts it was refused and the marker never appeared.
"""

from __future__ import annotations

import contextlib
import io
import pickle
from pathlib import Path

import pytest

from core.cli import main
from core.deliver._bundle import load_bundle
from core.errors import TabwrightError
from tests.pages.conftest import new_app, open_page
from tests.pages.helpers_late import trained_project


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def payload(marker: Path) -> bytes:
    return pickle.dumps(_Evil(marker))


NAMES = ("model.pkl", "model.joblib", "model.skops")


@pytest.mark.parametrize("name", NAMES + ("model.csv",))
def test_data_page_refuses_a_pickle_upload(tmp_path, name):
    """A .pkl/.joblib/.skops name is refused by the uploader's type filter; the same bytes
    renamed to .csv are refused by ingestion as not text. Either way nothing is unpickled."""
    marker = tmp_path / "pwned"
    at = new_app().run()
    at.file_uploader(key="upload_0").upload(name, payload(marker), "application/octet-stream").run()
    assert at.session_state["tabwright_project"].table is None
    if name.endswith(".csv"):
        assert not at.exception
        assert "not a text" in at.error[0].value.lower() or "pickle" in at.error[0].value.lower()
    assert not marker.exists()


@pytest.mark.parametrize("name", NAMES + ("model.csv",))
def test_use_page_refuses_a_pickle_upload(tmp_path, name):
    marker = tmp_path / "pwned"
    at = open_page("use", trained_project("logistic_regression"))
    uploaders = [u for u in at.file_uploader if u.key == "predict_upload"]
    assert uploaders, "the Use page offers a prediction upload once a model is trained"
    before = at.session_state["tabwright_project"]
    uploaders[0].upload(name, payload(marker), "application/octet-stream").run()
    assert at.session_state["tabwright_project"] is before
    if name.endswith(".csv"):
        assert at.error and not at.exception
    assert not marker.exists()
    # and there is deliberately no model upload anywhere on the page
    assert all("model" not in (u.label or "").lower() for u in at.file_uploader)


@pytest.mark.parametrize("name", NAMES)
def test_cli_refuses_pickles_as_data_and_as_models(tmp_path, name, datasets_dir):
    marker = tmp_path / "pwned"
    evil = tmp_path / name
    evil.write_bytes(payload(marker))
    (tmp_path / "model.json").write_text("{}")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        as_data = main(["profile", str(evil)])
        as_model = main(["predict", str(evil), str(datasets_dir / "titanic.csv")])
        as_folder = main(["drift", str(tmp_path), str(datasets_dir / "titanic.csv")])
    assert (as_data, as_model, as_folder) == (2, 2, 2)
    assert "Refusing to load" in err.getvalue()
    assert not marker.exists()


def test_a_swapped_model_file_in_a_real_bundle_is_refused(tmp_path, datasets_dir):
    """Signed bundles load; replacing model.joblib with a stranger's file breaks the signature."""
    out = tmp_path / "bundle"
    recipe = tmp_path / "r.json"
    recipe.write_text('{"target": "survived", "auto": false, "models": [{"name": "dummy"}]}')
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", str(datasets_dir / "titanic.csv"), "--recipe", str(recipe),
                     "--out", str(out), "--quiet"]) == 0
    model, card = load_bundle(out)
    assert card["target"] == "survived"
    marker = tmp_path / "pwned"
    (out / "model.joblib").write_bytes(payload(marker))
    with pytest.raises(TabwrightError, match="Refusing to load"):
        load_bundle(out)
    assert not marker.exists()


def test_rest_api_takes_json_records_only(datasets_dir):
    """The server's only input is JSON records validated against the schema: no file upload."""
    import pandas as pd
    from fastapi.testclient import TestClient

    from core.deliver._export import model_card
    from core.deliver._serve import create_app
    from core.recipe import ModelChoice, Recipe
    from core.train._runner import train

    frame = pd.read_csv(datasets_dir / "titanic.csv")
    result = train(frame, Recipe(target="survived", auto=False, models=[ModelChoice("dummy")]),
                   inferred_roles={c: "numeric" if frame[c].dtype.kind in "if" else "categorical"
                                   for c in frame})
    client = TestClient(create_app(result.pipeline, model_card(result)))
    response = client.post("/predict", content=pickle.dumps({"records": []}),
                           headers={"content-type": "application/octet-stream"})
    assert response.status_code == 422
