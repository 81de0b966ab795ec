"""The preparation table: built from the columns and the recipe, and read back into a recipe."""

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.ingest import infer_roles
from core.prepare._choices import (
    PREPARATION_COLUMNS,
    column_reason,
    parse_fill_value,
    preparation_table,
    with_preparation,
)
from core.prepare._pipeline import plan_features
from core.recipe import ColumnPrep, Recipe


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 120
    return pd.DataFrame({
        "id": np.arange(n),
        "age": np.where(rng.random(n) < 0.25, np.nan, rng.normal(40, 10, n)),
        "city": rng.choice(["Oslo", "Rome", "Lima"], n),
        "y": rng.integers(0, 2, n),
    })


@pytest.fixture
def columns(frame):
    return infer_roles(frame)


def roles_of(columns, recipe=None):
    overrides = recipe.roles if recipe else {}
    return {c.name: overrides.get(c.name, c.role) for c in columns}


def defaults(recipe: Recipe) -> dict:
    """The options as the page collects them, unchanged from the recipe."""
    p, f = recipe.preparation, recipe.features
    return {"numeric_impute": p.numeric_impute, "categorical_impute": p.categorical_impute,
            "scale": p.scale, "encode": p.encode, "max_levels": p.max_levels,
            "rare_min_fraction": p.rare_min_fraction, "target_encode_above": p.target_encode_above,
            "text_max_features": p.text_max_features, "precision": p.precision,
            "datetime_parts": p.datetime_parts, "interactions": f.interactions,
            "selection": f.selection, "k": f.k, "drop_duplicate_rows": recipe.drop_duplicate_rows}


def test_reasons_come_from_findings_then_drops_then_the_role():
    recipe = Recipe(drop=["b"])
    assert column_reason("a", "numeric", recipe, reasons={"a": "Target-encoded: many levels"},
                         dropped={"a": "x"}) == "Target-encoded: many levels"
    assert column_reason("b", "numeric", recipe, reasons={}, dropped={"b": "you chose to drop it"}) \
        == "Dropped by you."
    assert column_reason("c", "identifier", recipe, reasons={},
                         dropped={"c": "it looks like an identifier"}) == "Left out: it looks like an identifier."
    assert column_reason("d", "text", recipe, reasons={}, dropped={}) == "Turned into word weights (TF-IDF)."
    assert column_reason("e", "constant", recipe, reasons={}, dropped={}) == ""


def test_the_table_has_a_row_per_feature_column_with_its_choices(frame, columns):
    recipe = Recipe(target="y", drop=["city"])
    recipe.preparation.columns["age"] = ColumnPrep(impute="constant", fill_value=-1.0, bins=3)
    plan = plan_features(frame, recipe, roles_of(columns))
    table = preparation_table(columns, recipe, roles_of(columns), reasons={}, dropped=plan.dropped)
    assert tuple(table.columns) == PREPARATION_COLUMNS
    rows = table.set_index("Column")
    assert list(rows.index) == ["id", "age", "city"]  # the target has no row
    assert rows.loc["age", "Fill value"] == "-1.0" and rows.loc["age", "Bins"] == 3
    assert rows.loc["age", "Missing"] == pytest.approx(frame["age"].isna().mean())
    assert rows.loc["city", "Drop"] and rows.loc["city", "Reason"] == "Dropped by you."
    assert rows.loc["id", "Reason"].startswith("Left out: it looks like an identifier")
    assert rows.loc["id", "Fill value"] == "" and rows.loc["id", "Impute"] == "auto"


def test_an_unchanged_table_gives_back_the_same_recipe(columns):
    recipe = Recipe(target="y")
    table = preparation_table(columns, recipe, roles_of(columns), reasons={}, dropped={})
    assert with_preparation(recipe, roles_of(columns), table, **defaults(recipe)) == recipe


def test_edits_become_roles_drops_column_choices_and_defaults(columns):
    recipe = Recipe(target="y", roles={"gone": "numeric"}, drop=["gone"])
    inferred = roles_of(columns)
    table = preparation_table(columns, recipe, inferred, reasons={}, dropped={})
    table.loc[table["Column"] == "age", ["Impute", "Fill value", "Missing flag", "Bins"]] = \
        ["constant", " 0 ", True, None]
    table.loc[table["Column"] == "city", ["Role", "Drop"]] = ["text", True]
    options = defaults(recipe) | {"scale": "robust", "k": 5.0, "interactions": ("age",),
                                  "datetime_parts": ("year",)}
    changed = with_preparation(recipe, inferred, table, **options)
    assert changed.roles == {"gone": "numeric", "city": "text"}  # columns not in the table are kept
    assert changed.drop == ["gone", "city"]
    assert changed.preparation.columns == {
        "age": ColumnPrep(impute="constant", fill_value=0.0, missing_indicator=True)}
    assert changed.preparation.scale == "robust" and changed.features.k == 5
    assert changed.features.interactions == ["age"] and changed.preparation.datetime_parts == ["year"]
    assert recipe.preparation.scale == "auto" and recipe.drop == ["gone"]  # the old recipe is untouched


def test_setting_a_role_back_to_the_inferred_one_removes_the_override(columns):
    recipe = Recipe(target="y", roles={"age": "categorical"})
    inferred = roles_of(columns)
    table = preparation_table(columns, recipe, roles_of(columns, recipe), reasons={}, dropped={})
    table.loc[table["Column"] == "age", "Role"] = inferred["age"]
    assert with_preparation(recipe, inferred, table, **defaults(recipe)).roles == {}


def test_an_ordinal_order_survives_the_table(columns):
    recipe = Recipe(target="y")
    recipe.preparation.columns["city"] = ColumnPrep(encode="ordinal", order=["Lima", "Oslo", "Rome"])
    table = preparation_table(columns, recipe, roles_of(columns), reasons={}, dropped={})
    changed = with_preparation(recipe, roles_of(columns), table, **defaults(recipe))
    assert changed.preparation.columns["city"].order == ["Lima", "Oslo", "Rome"]


@pytest.mark.parametrize(("text", "role", "expected"), [
    ("", "numeric", None), ("  ", "categorical", None), (None, "numeric", None),
    (float("nan"), "numeric", None), ("2.5", "numeric", 2.5), (" -1 ", "numeric", -1.0),
    ("unknown", "categorical", "unknown"), ("7", "text", "7"),
])
def test_fill_values_are_read_for_the_role(text, role, expected):
    assert parse_fill_value(text, role) == expected


def test_a_word_as_a_numeric_fill_value_is_refused_with_what_to_do(columns):
    with pytest.raises(TabwrightError) as error:
        parse_fill_value("zero", "numeric")
    assert error.value.message == "The fill value for a numeric column must be a number, got 'zero'."
    assert "Enter a number" in error.value.hint
    recipe = Recipe(target="y")
    table = preparation_table(columns, recipe, roles_of(columns), reasons={}, dropped={})
    table.loc[table["Column"] == "age", ["Impute", "Fill value"]] = ["constant", "zero"]
    with pytest.raises(TabwrightError, match="must be a number, got 'zero'"):
        with_preparation(recipe, roles_of(columns), table, **defaults(recipe))


def test_columns_a_filter_hid_keep_their_choices(columns):
    recipe = Recipe(target="y", roles={"city": "text"}, drop=["id"])
    recipe.preparation.columns["age"] = ColumnPrep(impute="constant", fill_value=-1.0)
    table = preparation_table(columns, recipe, roles_of(columns, recipe), reasons={}, dropped={})
    shown = table[table["Column"] == "city"]  # the filter showed only city
    changed = with_preparation(recipe, roles_of(columns), shown, **defaults(recipe))
    assert changed.preparation.columns == {"age": ColumnPrep(impute="constant", fill_value=-1.0)}
    assert changed.drop == ["id"] and changed.roles == {"city": "text"}
