"""The Use page's serving instructions: the command, and a request built from the model's schema."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.ingest import LoadedTable


def serving_section(card: dict[str, Any], table: LoadedTable | None) -> None:
    st.subheader("Serve it over HTTP")
    st.markdown("Download the **model bundle** on the Export page, then:")
    st.code("unzip model_bundle.zip -d model_bundle\n"
            "tabwright serve model_bundle/ --host 127.0.0.1 --port 8000", language="bash")
    body = json.dumps({"records": [_example_row(card, table)]}, default=str)
    st.markdown("and ask it for predictions, one JSON object per row. Every input column must be "
                "there; `null` means a missing value (here all but the first two):")
    st.code("curl -X POST http://127.0.0.1:8000/predict \\\n"
            "     -H 'Content-Type: application/json' \\\n"
            f"     -d {_shell_quote(body)}", language="bash")
    st.caption("Interactive API docs at http://127.0.0.1:8000/docs; the input schema at /schema.")


def _example_row(card: dict[str, Any], table: LoadedTable | None) -> dict[str, Any]:
    """Every input column, with values for the first two (from the upload, else the schema)."""
    example: dict[str, Any] = {}
    for i, column in enumerate(card["input_schema"]["columns"]):
        name = column["name"]
        value: Any = None
        if i < 2 and table is not None and name in table.frame.columns:
            present = table.frame[name].dropna()
            value = present.iloc[0] if len(present) else None
            value = value.item() if hasattr(value, "item") else value
        if i < 2 and value is None:
            if column.get("levels"):
                value = column["levels"][0]
            elif column.get("min") is not None:
                value = column["min"]
        example[name] = value
    return example


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
