"""The REST server predicts what predict_table predicts, and explains bad requests."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.deliver._export import model_card
from core.deliver._fastpredict import _BoostedTrees
from core.deliver._log import model_identity
from core.deliver._predict import predict_table
from core.deliver._serve import create_app
from core.errors import TabwrightError
from core.ingest._read import read_table
from core.recipe import Imbalance, ModelChoice, Preparation, Recipe
from core.train._runner import train


@pytest.fixture(scope="module")
def served(sample_dir):
    frame = read_table(sample_dir / "titanic.csv").frame
    result = train(frame, Recipe(target="survived", auto=False,
                                 models=[ModelChoice("logistic_regression")]))
    card = model_card(result, data_name="titanic.csv")
    return result, card, TestClient(create_app(result.pipeline, card))


def _records(X: pd.DataFrame) -> list[dict]:
    rows = X.astype(object).where(X.notna(), None).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows]


def test_predictions_equal_predict_table(served):
    result, card, client = served
    X = result.X_test.head(40)
    response = client.post("/predict", json={"records": _records(X)})
    assert response.status_code == 200, response.text
    body = response.json()
    expected, notices = predict_table(result.pipeline, card, X)
    assert body["predictions"] == expected["prediction"].tolist()
    for row, (_, want) in zip(body["probabilities"], expected.iterrows()):
        assert set(row) == {"0", "1"}
        assert math.isclose(row["0"], want["proba_0"]) and math.isclose(row["1"], want["proba_1"])
    assert body["notices"] == notices


def test_notices_are_per_request_even_when_batched(served):
    """Concurrent requests share one model call but never each other's notices."""
    result, card, client = served
    plain = _records(result.X_test.head(3))
    odd = _records(result.X_test.head(1))
    odd[0]["embark_town"] = "Atlantis"
    odd[0]["extra"] = 1
    app = client.app
    predictor = app.state.batcher.predictor
    sizes = []
    original = predictor.predict_many

    def recording(requests):
        sizes.append(len(requests))
        return original(requests)

    predictor.predict_many = recording

    async def both():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(*[c.post("/predict", json={"records": r})
                                          for r in (plain, odd, plain)])

    try:
        first, second, third = [r.json() for r in asyncio.run(both())]
    finally:
        del predictor.predict_many
    assert max(sizes) > 1  # at least two requests shared a model call
    assert first["notices"] == [] and third["notices"] == []
    assert any("Atlantis" in n for n in second["notices"])
    assert any("'extra'" in n for n in second["notices"])
    frame = pd.DataFrame(odd)
    assert second["notices"] == predict_table(result.pipeline, card, frame)[1]
    assert first["predictions"] == predict_table(result.pipeline, card, pd.DataFrame(plain))[0]["prediction"].tolist()


def test_missing_field_is_a_422_that_names_it(served):
    result, _, client = served
    record = _records(result.X_test.head(1))[0]
    del record["age"]
    response = client.post("/predict", json={"records": [record]})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == ["records[0].age: the column 'age' is required (send null for a missing value)"]
    assert body["detail"][0]["loc"] == ["body", "records", 0, "age"]


def test_wrong_type_and_empty_body_are_422(served):
    result, _, client = served
    record = _records(result.X_test.head(1))[0]
    record["fare"] = "lots"
    response = client.post("/predict", json={"records": [record]})
    assert response.status_code == 422 and "records[0].fare" in response.json()["message"]
    assert client.post("/predict", json={"records": []}).status_code == 422
    no_records = client.post("/predict", json={})
    assert no_records.status_code == 422 and no_records.json()["errors"] == ["records: 'records' is required"]


def test_null_values_are_allowed(served):
    result, card, client = served
    record = _records(result.X_test.head(1))[0]
    record["age"] = None
    record["deck"] = None
    response = client.post("/predict", json={"records": [record]})
    assert response.status_code == 200
    expected = predict_table(result.pipeline, card, pd.DataFrame([record]))[0]
    assert response.json()["predictions"] == expected["prediction"].tolist()


def test_the_schema_of_a_model_on_joined_tables_says_records_carry_the_joined_columns(served):
    result, card, _ = served
    joined = json.loads(json.dumps(card))
    joined["recipe"]["joins"] = [{"name": "orders", "main_key": "id", "related_key": "cid",
                                  "relation": "one_to_many", "columns": [],
                                  "aggregates": [{"function": "count", "column": None}],
                                  "cutoff": None}]
    body = TestClient(create_app(result.pipeline, joined)).get("/schema").json()
    assert body["columns"] == card["input_schema"]["columns"]
    assert body["joined"]["tables"] == ["orders"]
    assert "--with NAME=FILE" in body["joined"]["note"]


def test_health_schema_and_openapi(served):
    _, card, client = served
    health = client.get("/health").json()
    assert health == {"status": "ok", "model": "Logistic regression", "task": "binary",
                      "target": "survived", "run_id": model_identity(card)[1],
                      "project": model_identity(card)[0], "log": None}
    assert client.get("/schema").json() == card["input_schema"]
    openapi = client.get("/openapi.json").json()
    record = openapi["components"]["schemas"]["Record"]
    names = [c["name"] for c in card["input_schema"]["columns"]]
    assert list(record["properties"]) == names and set(record["required"]) == set(names)
    age = record["properties"]["age"]
    assert {"type": "number"} in age["anyOf"] and "numeric" in age["description"]
    assert "Southampton" in record["properties"]["embark_town"]["description"]
    assert client.get("/docs").status_code == 200


# --------------------------------------------------------------------------- same numbers, fast path

def _mutated(X: pd.DataFrame, card: dict, seed: int) -> list[dict]:
    """X's rows as JSON records, with missing values, unseen levels and out-of-range numbers."""
    rng = np.random.default_rng(seed)
    records = _records(X)
    for record in records:
        for column in card["input_schema"]["columns"]:
            roll = rng.random()
            if roll < 0.15:
                record[column["name"]] = None
            elif roll < 0.2 and column.get("levels") and column["dtype"] == "object":
                record[column["name"]] = "never-seen"
            elif roll < 0.25 and column.get("max") is not None:
                record[column["name"]] = float(column["max"]) * 3 + 1
    return records


def _trained(frame: pd.DataFrame, target: str, model: str, **recipe) -> tuple:
    result = train(frame, Recipe(target=target, auto=False, models=[ModelChoice(model)], **recipe))
    card = model_card(result, data_name="titanic.csv")
    return result, card


@pytest.fixture(scope="module")
def titanic(sample_dir):
    return read_table(sample_dir / "titanic.csv").frame


@pytest.mark.parametrize("target,model,recipe", [
    ("survived", "logistic_regression", {}),
    ("survived", "hist_gradient_boosting", {}),
    ("fare", "hist_gradient_boosting", {}),
    ("class", "hist_gradient_boosting", {}),
    ("fare", "ridge", {}),
    ("survived", "logistic_regression", {"imbalance": Imbalance(threshold=0.35)}),
    ("survived", "logistic_regression", {"preparation": Preparation(precision="float32")}),
    ("fare", "ridge", {"preparation": Preparation(precision="float32")}),
])
def test_served_numbers_equal_predict_table_row_by_row_and_in_one_call(titanic, target, model, recipe):
    """Every row alone, and all rows in one request, give predict_table's values to the bit."""
    result, card = _trained(titanic, target, model, **recipe)
    predictor = create_app(result.pipeline, card).state.batcher.predictor
    # the fast path is what is tested: branch by branch, every branch by its stand-in
    fast = predictor.model.fast
    assert fast is not None and None not in fast.root.features.kernels
    if "imbalance" in recipe:
        assert type(result.pipeline).__name__ == "FixedThresholdClassifier"
    if "preparation" in recipe:  # 32-bit model inputs, the casts done by the stand-ins too
        assert result.pipeline[-1].coef_.dtype == np.float32
    if model == "hist_gradient_boosting":  # and the trees without their inner encoder pass
        assert fast.uses(_BoostedTrees)
    records = _mutated(result.X_test, card, seed=3)
    expected, notices = predict_table(result.pipeline, card, pd.DataFrame(records))
    got = predictor.predict_many([records])[0]
    assert got["predictions"] == expected["prediction"].tolist()
    assert got["notices"] == notices and len(notices) >= 3
    if card["task"] in ("binary", "multiclass"):
        assert [[p[str(c)] for c in card["classes"]] for p in got["probabilities"]] == \
            expected[[f"proba_{c}" for c in card["classes"]]].values.tolist()
    else:
        assert "probabilities" not in got
    client = TestClient(create_app(result.pipeline, card))
    for record in records[:60]:  # over HTTP, one request per row: no batching
        want, want_notices = predict_table(result.pipeline, card, pd.DataFrame([record]))
        body = client.post("/predict", json={"records": [record]}).json()
        assert body["predictions"] == want["prediction"].tolist()
        assert body["notices"] == want_notices
        for key, value in (body.get("probabilities") or [{}])[0].items():
            assert value == want[f"proba_{key}"].iloc[0]


def test_fast_and_plain_model_calls_agree_bit_for_bit(titanic):
    result, card = _trained(titanic, "survived", "hist_gradient_boosting")
    predictor = create_app(result.pipeline, card).state.batcher.predictor
    columns, _ = predictor.check.check(_mutated(result.X_test, card, seed=5))
    fast = predictor.model.predict(columns, fast=True)
    plain = predictor.model.predict(columns, fast=False)
    assert fast[0] == plain[0] and np.array_equal(fast[1], plain[1])


def test_boosted_trees_stand_in_checks_itself_and_steps_aside(titanic, monkeypatch):
    """The category lookup is compared with the estimator's own encoder, and a stand-in whose
    predictions differ in any bit is dropped for the estimator, keeping the fast branches."""
    result, card = _trained(titanic, "survived", "hist_gradient_boosting")
    estimator = result.pipeline.steps[-1][1]
    trees = _BoostedTrees(estimator)
    trees.categories[0] = trees.categories[0][1:]  # forget a category: the lookup differs
    with pytest.raises(ValueError, match="lookup differs"):
        trees.check()

    real = _BoostedTrees.predict_proba
    monkeypatch.setattr(_BoostedTrees, "predict_proba",
                        lambda self, X: np.nextafter(real(self, X), 2.0))  # off by one bit
    predictor = create_app(result.pipeline, card).state.batcher.predictor
    fast = predictor.model.fast
    assert fast is not None and fast.root.final is estimator and not fast.uses(_BoostedTrees)
    records = _mutated(result.X_test, card, seed=4)
    expected, _ = predict_table(result.pipeline, card, pd.DataFrame(records))
    got = predictor.predict_many([records])[0]
    assert [p["1"] for p in got["probabilities"]] == expected["proba_1"].tolist()


def test_a_null_in_one_request_does_not_change_another(titanic):
    """An integer category with a null in one request of a batch stays '3', not '3.0'."""
    result, card = _trained(titanic, "survived", "logistic_regression",
                            roles={"pclass": "categorical"})
    assert next(c for c in card["input_schema"]["columns"] if c["name"] == "pclass")["dtype"] == "int64"
    predictor = create_app(result.pipeline, card).state.batcher.predictor
    a, b = _records(result.X_test.head(2))
    b["pclass"] = None
    alone = predictor.predict_many([[a]])[0]
    together = predictor.predict_many([[a], [b]])
    assert together[0]["predictions"] == alone["predictions"]
    assert math.isclose(together[0]["probabilities"][0]["1"], alone["probabilities"][0]["1"],
                        rel_tol=1e-12)
    assert together[0]["notices"] == together[1]["notices"] == []
    want = predict_table(result.pipeline, card, pd.DataFrame([b]))[0]
    assert together[1]["predictions"] == want["prediction"].tolist()


def _random_records(card: dict, n: int, rng: np.random.Generator) -> list[dict]:
    choices: list[Any] = [None, "zz", "", 7, 2.5, True, -1e6, 1e6, "3", "Third", "nan", "4.5"]
    records = []
    for _ in range(n):
        record: dict[str, Any] = {}
        for column in card["input_schema"]["columns"]:
            pool = list(column.get("levels") or [])
            if column.get("min") is not None:
                pool += [column["min"], column["max"], (column["min"] + column["max"]) / 2]
            pool = pool or choices
            value = pool[rng.integers(len(pool))] if rng.random() < 0.7 else None
            if column["dtype"] == "bool" and value is not None:
                value = value == "True"
            elif column["dtype"].startswith("int") and column["role"] != "numeric" and value is not None:
                value = int(value)
            if rng.random() < 0.05:
                value = choices[rng.integers(len(choices))]
            record[column["name"]] = value
        if rng.random() < 0.1:
            record["extra_" + str(rng.integers(3))] = 1
        records.append(record)
    return records


def test_record_check_is_validate_input_for_records(titanic):
    """The plain-Python check gives validate_input's frame and notices, word for word."""
    from core.deliver._schema import RecordCheck, records_to_frame, validate_input

    _, card = _trained(titanic, "survived", "logistic_regression",
                       roles={"pclass": "categorical", "sibsp": "categorical"})
    schema = card["input_schema"]
    check = RecordCheck(schema)
    rng = np.random.default_rng(0)
    for n in [1, 1, 2, 3, 5, 20, 200]:
        for _ in range(15):
            records = _random_records(card, n, rng)
            columns, notices = check.check(records)
            X, want = validate_input(records_to_frame(records, schema), schema)
            assert notices == want
            pd.testing.assert_frame_equal(pd.DataFrame(columns), X)
    records = _random_records(card, 3, rng)
    for record in records:
        del record["age"], record["deck"]
    with pytest.raises(TabwrightError) as fast:
        check.check(records)
    with pytest.raises(TabwrightError) as slow:
        validate_input(records_to_frame(records, schema), schema)
    assert fast.value.message == slow.value.message and "'age', 'deck'" in fast.value.message


def test_fast_route_answers_as_the_documented_route(served):
    """Well-formed JSON takes the fast route; anything else gets FastAPI's own answer."""
    result, _, client = served
    fast = client.app.router.routes[0].endpoint
    assert type(fast).__name__ == "_FastPredict"
    calls = []
    adapter = fast.adapter

    class Counting:
        def validate_json(self, body):
            calls.append(body)
            return adapter.validate_json(body)

    fast.adapter = Counting()
    try:
        body = json.dumps({"records": _records(result.X_test.head(5))})
        quick = client.post("/predict", content=body, headers={"content-type": "application/json",
                                                               "x-request-id": "same"})
        assert len(calls) == 1
        documented = client.post("/predict", content=body,
                                 headers={"content-type": "application/json; charset=utf-8",
                                          "x-request-id": "same"})
        assert len(calls) == 1  # not a plain application/json: FastAPI's route answered
    finally:
        fast.adapter = adapter
    assert quick.status_code == documented.status_code == 200
    assert quick.content == documented.content  # the client's request id, on both routes
    assert quick.json()["ids"] == [f"same.{i}" for i in range(5)]
    broken = client.post("/predict", content=b'{"records": [', headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    assert broken.json()["detail"][0]["loc"] == ["body", 13]
    assert client.post("/predict", content=body).status_code == 422  # no content type: as before


def test_a_fifty_fifty_probability_gets_the_exported_models_own_label_everywhere():
    """At the default threshold the app predicts as the exported model does: a tie goes to
    the first class (``argmax``), in predict_table, the server and the evaluation alike."""
    rows = 200
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=rows),
                          "y": ["no", "yes"] * (rows // 2)})
    result = train(frame, Recipe(target="y", auto=False, models=[ModelChoice("dummy")]))
    card = model_card(result, data_name="balanced.csv")
    assert result.threshold == 0.5 and card["threshold"] == 0.5
    proba = result.pipeline.predict_proba(result.X_test)
    assert (proba == 0.5).all()  # a balanced training split: every row is a tie
    own = result.pipeline.predict(result.X_test).tolist()
    assert set(own) == {"no"}
    table, _ = predict_table(result.pipeline, card, result.X_test)
    assert table["prediction"].tolist() == own
    predictor = create_app(result.pipeline, card).state.batcher.predictor
    records = result.X_test.to_dict(orient="records")
    assert predictor.predict_many([records])[0]["predictions"] == own
    counts = np.asarray(result.evaluation["confusion_matrix"]["counts"])
    labels = result.evaluation["confusion_matrix"]["labels"]
    assert counts[:, labels.index("yes")].sum() == 0
