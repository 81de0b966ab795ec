"""The REST server predicts what predict_table predicts, and explains bad requests."""

from __future__ import annotations

import asyncio
import math

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.data import read_table
from core.export import model_card
from core.predict import predict_table
from core.recipe import ModelChoice, Recipe
from core.serve import create_app
from core.train import train


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
    assert client.post("/predict", json={}).status_code == 422


def test_null_values_are_allowed(served):
    result, card, client = served
    record = _records(result.X_test.head(1))[0]
    record["age"] = None
    record["deck"] = None
    response = client.post("/predict", json={"records": [record]})
    assert response.status_code == 200
    expected = predict_table(result.pipeline, card, pd.DataFrame([record]))[0]
    assert response.json()["predictions"] == expected["prediction"].tolist()


def test_health_schema_and_openapi(served):
    _, card, client = served
    health = client.get("/health").json()
    assert health == {"status": "ok", "model": "Logistic regression", "task": "binary",
                      "target": "survived"}
    assert client.get("/schema").json() == card["input_schema"]
    openapi = client.get("/openapi.json").json()
    record = openapi["components"]["schemas"]["Record"]
    names = [c["name"] for c in card["input_schema"]["columns"]]
    assert list(record["properties"]) == names and set(record["required"]) == set(names)
    age = record["properties"]["age"]
    assert {"type": "number"} in age["anyOf"] and "numeric" in age["description"]
    assert "Southampton" in record["properties"]["embark_town"]["description"]
    assert client.get("/docs").status_code == 200
