"""The role table: each column's role with its evidence, and edits read back as overrides."""

import pandas as pd

from core.ingest._role_table import ROLE_HELP, role_overrides, role_table
from core.ingest._roles import infer_roles
from core.recipe import ROLES


def test_the_table_shows_roles_in_effect_next_to_the_detected_ones():
    frame = pd.DataFrame({"id": range(1, 41), "grade": [1, 2, 3, 4] * 10,
                          "city": ["Oslo", None, "Rome", "Lima"] * 10})
    columns = infer_roles(frame)
    detected = {c.name: c.role for c in columns}
    table = role_table(columns, detected | {"grade": "categorical"}, target="grade")
    assert list(table.columns) == ["Column", "Role", "Evidence", "Detected", "Type", "Missing",
                                   "Distinct"]
    rows = table.set_index("Column")
    assert list(rows.index) == ["id", "grade", "city"]
    assert rows.loc["grade", "Role"] == "categorical" and rows.loc["grade", "Detected"] == detected["grade"]
    assert rows.loc["grade", "Evidence"].startswith("🎯 Target. ")
    assert not rows.loc["city", "Evidence"].startswith("🎯")
    assert rows.loc["city", "Missing"] == 0.25 and rows.loc["city", "Distinct"] == 3
    assert rows.loc["id", "Type"] == "int64"


def test_only_roles_that_differ_from_the_guess_are_overrides():
    columns = infer_roles(pd.DataFrame({"a": [1.5, 2.5, 3.5] * 10, "b": ["x", "y", "z"] * 10}))
    table = role_table(columns, {c.name: c.role for c in columns})
    assert role_overrides(table) == {}
    table.loc[0, "Role"] = "text"
    assert role_overrides(table) == {"a": "text"}


def test_the_role_help_names_every_role():
    assert all(f"{role}:" in ROLE_HELP for role in ROLES)
