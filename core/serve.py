"""A REST server for one trained model: ``POST /predict``, ``GET /health``, ``GET /schema``.

The request body is ``{"records": [{column: value, ...}, ...]}``. Its fields and types come
from the model card's input schema, so the OpenAPI docs at ``/docs`` list every column with
its role, type, range or levels; a missing column or a wrong type is a 422 that names it.
Predictions are the same values :func:`core.predict.predict_table` gives (same schema check,
same notices, same model calls).

Speed: scikit-learn pipelines cost about the same for 1 row as for 50, because their time is
per-call overhead. So requests that arrive while the model is busy wait for the next call and
are predicted together in one batch (no timer, no added delay for a lone request); each
request still gets its own predictions and its own notices. The model runs in a worker
thread, so the server keeps accepting requests meanwhile.

Loading: :func:`run_server` loads a bundle with :func:`core.export.load_bundle` — joblib,
which runs code while loading — so serve only bundles you wrote yourself.
"""


import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from sklearn.pipeline import Pipeline

from core.errors import TabwrightError
from core.schema import records_to_frame, validate_input

MAX_RECORDS = 100_000
"""Most records in one ``POST /predict`` request."""
BATCH_ROWS = 5_000
"""Requests with more rows than this are predicted on their own, never batched with others."""
LEVELS_IN_DOCS = 20

log = logging.getLogger("tabwright.serve")


# --------------------------------------------------------------------------- request models


def _field_type(column: dict[str, Any]) -> Any:
    role, dtype = column["role"], column["dtype"]
    if role == "numeric":
        return Optional[Annotated[float, Field(allow_inf_nan=False)]]
    if dtype == "bool":
        return Optional[bool]
    if dtype.startswith("int"):
        return Optional[int]
    if dtype.startswith("float"):
        return Optional[float]
    return Optional[str]


def _field_description(column: dict[str, Any]) -> str:
    text = f"{column['role']} ({column['dtype']})"
    if column.get("min") is not None and column.get("max") is not None:
        text += f", seen in training from {column['min']:,.4g} to {column['max']:,.4g}"
    if column.get("levels"):
        levels = column["levels"][:LEVELS_IN_DOCS]
        text += ", levels: " + ", ".join(levels)
        if column.get("n_levels", 0) > len(levels):
            text += f" … ({column['n_levels']:,} in all)"
    if column.get("missing_fraction"):
        text += f"; {column['missing_fraction']:.0%} missing in training (null is allowed)"
    return text


def _example(column: dict[str, Any]) -> Any:
    if column.get("levels"):
        return column["levels"][0]
    if column.get("min") is not None and column.get("max") is not None:
        middle = (column["min"] + column["max"]) / 2
        return round(middle) if column.get("integer") else round(middle, 3)
    return None


def request_model(schema: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model of ``{"records": [...]}`` built from a model card's input schema.

    Every input column is a required field (``null`` allowed: the pipeline fills missing
    values); column names that are not Python identifiers are aliases, so any name works.
    Extra fields are allowed and reported as ignored, as :func:`core.schema.validate_input`
    does.
    """
    fields: dict[str, Any] = {}
    for i, column in enumerate(schema["columns"]):
        fields[f"f{i}"] = (_field_type(column), Field(
            ..., alias=column["name"], description=_field_description(column),
            examples=[_example(column)]))
    record = create_model("Record", __config__=ConfigDict(extra="allow", populate_by_name=False),
                          **fields)
    return create_model("PredictRequest", records=(list[record], Field(
        ..., min_length=1, max_length=MAX_RECORDS,
        description="Rows to predict, one object per row with the model's input columns.")))


class PredictResponse(BaseModel):
    """What ``POST /predict`` returns (documented; the server writes it directly)."""

    model_config = ConfigDict(extra="forbid")
    predictions: list[Any] = Field(description="One prediction per record, in order.")
    probabilities: Optional[list[dict[str, float]]] = Field(
        None, description="Classifiers: per record, the probability of each class.")
    notices: list[str] = Field(description="What the input check found (ignored columns, "
                                           "unseen categories, values outside the training range).")


# --------------------------------------------------------------------------- predicting


def _infer(model: Any, task: str, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for classifiers, probabilities — transforming the rows only once.

    For a plain ``Pipeline`` this is exactly what ``predict`` and ``predict_proba`` do, minus
    the second pass through the preparation steps.
    """
    classifier = task in ("binary", "multiclass")
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        features = model[:-1].transform(X)
        final = model.steps[-1][1]
        predictions = final.predict(features)
        proba = None
        if classifier and hasattr(final, "predict_proba"):
            try:
                proba = final.predict_proba(features)
            except AttributeError:
                proba = None
        return predictions, proba
    predictions = model.predict(X)
    proba = None
    if classifier and hasattr(model, "predict_proba"):
        try:
            proba = model.predict_proba(X)
        except AttributeError:
            proba = None
    return predictions, proba


class _Predictor:
    """Turns batches of validated records into per-request results."""

    def __init__(self, model: Any, card: dict[str, Any]) -> None:
        self.model = model
        self.card = card
        self.schema = card["input_schema"]
        self.task = card["task"]
        self.class_keys = [str(c) for c in card.get("classes") or []]
        # Category columns stored as floats in training ("3.0") must stay floats, or their
        # text would differ from what the model learned ("3").
        self.float_categories = [c["name"] for c in self.schema["columns"]
                                 if c["role"] != "numeric" and c["dtype"].startswith("float")]

    def frame(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        frame = records_to_frame(records, self.schema)
        for name in self.float_categories:
            if name in frame:
                frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        return frame

    def predict_many(self, requests: list[list[dict[str, Any]]]) -> list[dict[str, Any] | Exception]:
        """One model call for all requests; a failing batch is retried request by request."""
        try:
            rows = [r for request in requests for r in request]
            X, notices = validate_input(self.frame(rows), self.schema)
            if len(requests) == 1:
                per_request = [notices]
            elif notices:
                # Notices name columns and values; recompute them per request so nobody sees
                # another client's data. Empty batch notices mean every request's are empty.
                per_request = [validate_input(self.frame(r), self.schema)[1] for r in requests]
            else:
                per_request = [[] for _ in requests]
            predictions, proba = _infer(self.model, self.task, X)
        except Exception as exc:  # noqa: BLE001 — isolate the request that caused it
            if len(requests) == 1:
                return [exc]
            return [self.predict_many([r])[0] for r in requests]
        out: list[dict[str, Any] | Exception] = []
        start = 0
        for request, notes in zip(requests, per_request):
            stop = start + len(request)
            body: dict[str, Any] = {"predictions": predictions[start:stop].tolist()}
            if proba is not None:
                body["probabilities"] = [dict(zip(self.class_keys, row))
                                         for row in proba[start:stop].tolist()]
            body["notices"] = notes
            out.append(body)
            start = stop
        return out


class _Batcher:
    """Collects requests that arrive while the model is busy into the next model call."""

    def __init__(self, predictor: _Predictor) -> None:
        self.predictor = predictor
        self.pending: list[tuple[list[dict[str, Any]], asyncio.Future]] = []
        self.busy = False
        self.task: asyncio.Task | None = None

    async def submit(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        if len(records) > BATCH_ROWS:
            result = (await asyncio.to_thread(self.predictor.predict_many, [records]))[0]
        else:
            loop = asyncio.get_running_loop()
            future: asyncio.Future = loop.create_future()
            self.pending.append((records, future))
            if not self.busy:
                self.busy = True
                self.task = loop.create_task(self._drain())  # keep a reference while it runs
            result = await future
        if isinstance(result, Exception):
            raise result
        return result

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    results = await asyncio.to_thread(self.predictor.predict_many,
                                                      [records for records, _ in batch])
                except Exception as exc:  # noqa: BLE001 — every waiting request gets it
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.busy = False


# --------------------------------------------------------------------------- the app


def _error_lines(errors: list[dict[str, Any]]) -> list[str]:
    lines = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        where = ""
        for part in loc:
            where += f"[{part}]" if part.isdigit() else (f".{part}" if where else part)
        message = error.get("msg", "invalid")
        if error.get("type") == "missing" and loc:
            message = f"the column {loc[-1]!r} is required (send null for a missing value)"
        lines.append(f"{where or 'body'}: {message}")
    return lines


def create_app(model: Any, card: dict[str, Any]) -> FastAPI:
    """A FastAPI app serving ``model`` as its model card describes.

    Endpoints: ``POST /predict``, ``GET /health``, ``GET /schema``; docs at ``/docs``.
    """
    labels = ", ".join((card.get("model") or {}).get("labels") or []) or "model"
    target = card.get("target")
    app = FastAPI(
        title=f"tabwright: {labels}",
        description=(f"Predicts {target!r} ({card['task']})." if target else
                     "Assigns rows to clusters.") + " Send rows as JSON records; "
        "every input column is listed under PredictRequest below.",
        version=str(card.get("created", "")),
    )
    PredictRequest = request_model(card["input_schema"])
    batcher = _Batcher(_Predictor(model, card))
    app.state.batcher = batcher

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        lines = _error_lines(errors)
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                  for e in errors]
        return JSONResponse(status_code=422, content={"detail": detail, "errors": lines,
                                                      "message": "; ".join(lines[:10])})

    @app.post("/predict", responses={200: {"model": PredictResponse}},
              summary="Predict rows", response_description="Predictions in the order sent.")
    async def predict(body: PredictRequest) -> JSONResponse:  # type: ignore[valid-type]
        records = [r.model_dump(by_alias=True) for r in body.records]
        try:
            result = await batcher.submit(records)
        except TabwrightError as exc:
            return JSONResponse(status_code=422, content={"detail": exc.message, "hint": exc.hint,
                                                          "errors": [exc.message]})
        except Exception:  # noqa: BLE001 — a bug must not leak data or a traceback
            log.exception("prediction failed")
            return JSONResponse(status_code=500, content={"detail": "The model failed on these rows."})
        return JSONResponse(result)

    @app.get("/health", summary="Is the server up, and which model does it serve")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": labels, "task": card["task"], "target": target}

    @app.get("/schema", summary="The input columns the model needs")
    async def schema() -> dict[str, Any]:
        return card["input_schema"]

    return app


def run_server(model_path: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
               trust: bool = False) -> None:
    """Serve a bundle this machine wrote (``tabwright train --out DIR``) until stopped."""
    import uvicorn

    from core.export import load_bundle

    model, card = load_bundle(model_path, trust=trust)
    uvicorn.run(create_app(model, card), host=host, port=port, log_level="warning")
