"""AppTest of the Use page: batch predictions, schema errors, drift, retraining and serving."""

from __future__ import annotations

import io
import json

import pandas as pd

from core.ingest import read_table
from core.project import (
    Project,
    add_join,
    join_suggestions,
    load_data,
    set_target,
    suggested_join,
    update_recipe,
    with_result,
)
from core.recipe import ModelChoice
from core.train._runner import train
from tests.pages.conftest import plain
from tests.pages.helpers_late import (  # noqa: F401
    PROJECT_KEY,
    TITANIC,
    open_page,
    table_with,
    texts,
    trained_project,
    workspace,
)
from tests.pages.test_data import _customers_and_orders


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def _upload(at, name: str, frame: pd.DataFrame):
    at.file_uploader(key="predict_upload").upload(name, _csv(frame), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_predicts_an_uploaded_file_and_checks_it_for_drift(workspace):
    project = trained_project()
    at = open_page("use", project)
    assert "There is no model upload on purpose" in texts(at)
    rows = pd.read_csv(TITANIC).head(120)
    rows["comment"] = "=HYPERLINK(1)"
    _upload(at, "new_passengers.csv", rows)
    preview = table_with(at, "prediction")
    assert {"proba_0", "proba_1", "survived", "age"} <= set(preview.columns)
    expected = project.result.pipeline.predict(rows.drop(columns=["comment"]).drop(columns=["survived"]))
    assert list(preview["prediction"]) == list(expected[:50])
    page = texts(at)
    assert "120 rows predicted; the first 50 shown." in page
    assert "Ignored 2 column(s) the model does not use: 'survived', 'comment'." in page
    assert [b.label for b in at.get("download_button")] == ["Download the predictions (.csv)"]
    verdict = (at.success or at.warning)[-1].value
    assert verdict.startswith(("No drift:", "Watch:"))
    assert table_with(at, "PSI")["feature"].tolist()
    assert any(m.label.endswith("on this file") for m in at.metric)


def test_a_model_from_the_run_history_can_be_used(workspace):
    recorded = trained_project("decision_tree", record=True)
    at = open_page("use", trained_project())
    at.selectbox(key="use_model").select(recorded.run_id).run()
    rows = pd.read_csv(TITANIC).head(40)
    _upload(at, "batch.csv", rows)
    preview = table_with(at, "prediction")
    expected = recorded.result.pipeline.predict(rows.drop(columns=["survived"]))
    assert list(preview["prediction"]) == list(expected)


def test_a_missing_column_is_named(workspace):
    at = open_page("use", trained_project())
    _upload(at, "no_age.csv", pd.read_csv(TITANIC).head(30).drop(columns=["age"]))
    error = plain(at.error[0].value)
    assert "missing 1 column(s) the model needs: 'age'" in error


def test_drifted_data_says_retrain_and_can_be_retrained_with_the_same_recipe(workspace):
    project = trained_project()
    at = open_page("use", project)
    drifted = pd.read_csv(TITANIC)
    drifted["age"] = drifted["age"] + 45
    drifted["fare"] = drifted["fare"] * 20
    drifted["pclass"] = 1
    drifted["class"] = "First"
    drifted["who"] = "woman"
    drifted["sex"] = "female"
    drifted["adult_male"] = False
    _upload(at, "drifted.csv", drifted)
    assert at.error[-1].value.startswith("Retrain:")
    assert "the model's predictions shifted" in at.error[-1].value
    assert any(c.value.startswith("The model's own predictions on this file: PSI")
               for c in at.caption)
    psi = table_with(at, "PSI").set_index("feature")
    assert psi.loc["age", "status"] == "drift"
    at.button(key="use_retrain").click().run()
    after = at.session_state[PROJECT_KEY]
    assert after.table.name == "drifted.csv" and after.result is None
    assert after.recipe == project.result.recipe
    assert at.title[0].value.endswith("Train")


def test_serving_instructions_work_against_the_server(workspace):
    from fastapi.testclient import TestClient

    from core.deliver._export import model_card
    from core.deliver._serve import create_app

    project = trained_project()
    at = open_page("use", project)
    commands = [c.value for c in at.code]
    assert commands[0].splitlines() == ["unzip model_bundle.zip -d model_bundle",
                                        "tabwright serve model_bundle/ --host 127.0.0.1 --port 8000"]
    curl = commands[1]
    assert curl.startswith("curl -X POST http://127.0.0.1:8000/predict")
    body = json.loads(curl.split("-d '", 1)[1].rstrip("'"))
    record = body["records"][0]
    assert list(record)[:2] == ["pclass", "sex"] and record["pclass"] is not None
    assert all(value is None for value in list(record.values())[2:])
    client = TestClient(create_app(project.result.pipeline, model_card(project.result)))
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.text


def test_a_parquet_file_is_predicted_like_a_csv(workspace):
    project = trained_project()
    at = open_page("use", project)
    rows = pd.read_csv(TITANIC).head(30).drop(columns=["survived"])
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    at.file_uploader(key="predict_upload").upload("new.parquet", buffer.getvalue(),
                                                 "application/octet-stream")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    preview = table_with(at, "prediction")
    assert list(preview["prediction"]) == list(project.result.pipeline.predict(rows))


def test_recorded_predictions_get_ids_and_reach_the_log(workspace):
    from core.deliver import PredictionLog, RunStore

    project = trained_project(record=True)
    at = open_page("use", project)
    rows = pd.read_csv(TITANIC).head(25)
    _upload(at, "new.csv", rows)
    at.checkbox(key="use_log").check().run()
    assert "25 predictions recorded" in plain(texts(at))
    preview = table_with(at, "prediction")
    assert preview.columns[0] == "id" and preview["id"].is_unique
    card = RunStore().card(project.run_id, owner="test-session")
    with PredictionLog.for_card(card, background=False) as log:
        logged = log.read()
    assert sorted(logged["request_id"]) == sorted(preview["id"])
    at.run()  # a rerun does not log the file again
    with PredictionLog.for_card(card, background=False) as log:
        assert len(log.read()) == 25


def test_a_challenger_is_trained_compared_and_recorded(workspace):
    from core.deliver import RunStore

    project = trained_project(record=True)
    at = open_page("use", project)
    _upload(at, "recent.csv", pd.read_csv(TITANIC))
    at.button(key="use_challenge").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = table_with(at, "ROC-AUC") if any("ROC-AUC" in e.value.columns for e in at.dataframe) \
        else at.dataframe[-1].value
    assert list(table.iloc[:, 0]) == ["Champion", "Challenger", "Difference"]
    runs = RunStore().list_runs(owner="test-session")
    assert len(runs) == 2  # the challenger is recorded, in the champion's project
    assert {r["project"] for r in runs} == {"titanic"}
    said = [plain(e.value).lower() for e in [*at.success, *at.info]]
    assert any("challenger" in text for text in said), said


def test_a_model_of_joined_tables_asks_for_them_and_joins_them_as_in_training(workspace):
    customers, orders = _customers_and_orders()
    project = set_target(load_data(Project(), customers, name="customers.csv"), "churned")
    related = read_table(orders, name="orders.csv")
    project = add_join(project, related,
                       suggested_join(project, related, join_suggestions(project, related)[0]))
    recipe = project.recipe.copy()
    recipe.auto, recipe.models = False, [ModelChoice("logistic_regression")]
    project = update_recipe(project, recipe)
    result = train(project.frame, project.recipe, inferred_roles=project.effective_roles())
    at = open_page("use", with_result(project, result))
    new = pd.read_csv(io.BytesIO(customers)).drop(columns=["churned"]).head(30)
    _upload(at, "new_customers.csv", new)
    assert "Waiting for orders." in plain(texts(at))
    at.file_uploader(key="use_related_orders").upload("orders.csv", orders, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Joined orders" in texts(at)
    preview = table_with(at, "prediction")
    expected = result.delivered.predict(project.frame.drop(columns=["churned"]).head(30))
    assert list(preview["prediction"]) == list(expected)
    assert "orders_count" in preview.columns
