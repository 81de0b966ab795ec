"""What the Explore page offers and says: chart columns, first picks, sentences and tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.explore import (
    RELATION_READINGS,
    chart_order,
    correlation_columns,
    correlation_note,
    eda,
    linked_view_choices,
    missing_reading,
    profile_table,
    relation_features,
    signal_tables,
    strongest_pairs,
)
from core.explore._readout import LINKED_COLOUR_LEVELS, STRONGEST_PAIRS
from core.explore.eda import (
    MAX_CORRELATION_COLUMNS,
    MAX_MISSING_COLUMNS,
    target_relation_data,
)
from tests.explore.wide_tables import wide_frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame({
        "id": np.arange(n),
        "price": rng.gamma(2, 20, n).round(2),
        "age": rng.integers(1, 80, n).astype(float),
        "rooms": rng.integers(1, 5, n),
        "city": rng.choice(["Oslo", "Rome", "Lima"], n),
        "same": "x",
        "bought": rng.choice(["yes", "no"], n),
    })


def _roles(frame, target=None):
    profile = profile_table(frame, target=target)
    return profile, {c.name: c.role for c in profile.columns}


def test_correlation_uses_numeric_features_and_a_numeric_target_only(frame):
    _, roles = _roles(frame)
    roles["bought"] = "numeric-looking target"
    columns = list(frame.columns)
    assert correlation_columns(columns, roles, target="price", task="regression") == \
        [c for c in columns if roles[c] == "numeric"]
    roles["price"] = "categorical"
    assert "price" in correlation_columns(columns, roles, target="price", task="regression")
    assert "price" not in correlation_columns(columns, roles, target="price", task="binary")


def test_identifiers_constants_and_the_target_are_not_plotted_against_the_target(frame):
    _, roles = _roles(frame, "bought")
    features = relation_features(list(frame.columns), roles, target="bought")
    assert "id" not in features and "same" not in features and "bought" not in features
    assert {"price", "age", "city"} <= set(features)


def test_every_kind_of_relation_chart_says_how_to_read_it(frame):
    kinds = {target_relation_data(frame, f, t, task=task, feature_role=role)["kind"]
             for f, t, task, role in (("price", "bought", "binary", "numeric"),
                                      ("city", "bought", "binary", "categorical"),
                                      ("age", "price", "regression", "numeric"),
                                      ("city", "price", "regression", "categorical"))}
    assert kinds == set(RELATION_READINGS)


def test_strongest_pairs_names_at_most_three():
    assert STRONGEST_PAIRS == 3
    pairs = [{"a": f"a{i}", "b": f"b{i}", "r": -0.5 + i / 10} for i in range(5)]
    assert strongest_pairs({"top_pairs": pairs}) == \
        "Strongest: a0 & b0 (r = -0.50); a1 & b1 (r = -0.40); a2 & b2 (r = -0.30)"
    assert strongest_pairs({"top_pairs": []}) is None


def test_missing_reading_gives_the_share_of_complete_rows():
    text = missing_reading({"complete_rows": 687, "rows": 891})
    assert text.startswith("77% of rows are complete. Values missing together")


def test_linked_views_start_on_the_most_varied_columns_coloured_by_the_classes(frame):
    profile, roles = _roles(frame, "bought")
    choices = linked_view_choices(frame, profile, roles, target="bought", task="binary")
    numeric = [c for c in frame.columns if roles[c] == "numeric"]
    assert choices["numeric"] == numeric
    varied = sorted(numeric, key=lambda c: -frame[c].nunique())
    assert choices["axes"] == [varied[i % len(varied)] for i in range(4)]
    assert {"bought", "city"} <= set(choices["colour_by"]) and choices["colour"] == "bought"
    many = frame.assign(city=[f"c{i % (LINKED_COLOUR_LEVELS + 1)}" for i in range(len(frame))])
    many_profile, many_roles = _roles(many, "bought")
    assert "city" not in linked_view_choices(many, many_profile, many_roles, target="bought",
                                             task="binary")["colour_by"]
    roles = {**roles, "bought": "text"}  # a class target can colour whatever its role
    choices = linked_view_choices(frame, profile, roles, target="bought", task="multiclass")
    assert choices["colour_by"][0] == "bought" and choices["colour"] == "bought"


def test_a_regression_target_can_be_an_axis_and_too_few_numbers_give_nothing(frame):
    profile, roles = _roles(frame, "price")
    roles = {**roles, "price": "target", "rooms": "categorical"}
    choices = linked_view_choices(frame, profile, roles, target="price", task="regression")
    assert choices["numeric"] == ["age", "price"] and choices["colour"] is None
    small = frame[["city", "price"]]
    assert linked_view_choices(small, profile_table(small), {"price": "numeric"},
                               target=None, task=None) is None


def test_signal_tables_list_every_feature_the_skipped_ones_and_the_classes():
    report = {
        "metric": "AUC",
        "features": [{"column": "sex", "role": "categorical", "power": 0.53, "score": 0.765}],
        "skipped": [{"column": "name", "why": "free text"}, {"column": "id", "why": "an identifier"}],
        "classes": [{"label": 0, "rows": 549, "share": 0.62, "too_few": False},
                    {"label": 1, "rows": 2, "share": 0.002, "too_few": True}],
    }
    tables = signal_tables(report)
    assert tables["features"].to_dict("records") == [
        {"Feature": "sex", "Role": "categorical", "Power": 0.53, "AUC": 0.765}]
    assert tables["skipped"] == "Not scored: name (free text); id (an identifier)"
    assert list(tables["classes"]["Class"]) == ["0", "1"]
    assert list(tables["classes"]["Enough for validation"]) == ["yes", "no"]
    regression = signal_tables({**report, "metric": "R²", "skipped": [], "classes": None})
    assert regression["skipped"] is None and regression["classes"] is None
    assert list(regression["features"].columns) == ["Feature", "Role", "Power", "R²"]


# --------------------------------------------------------------------------- wide tables


@pytest.fixture(scope="module")
def wide():
    frame, informative = wide_frame(columns=2_000, informative=5)
    return frame, {c: "numeric" for c in frame.columns if c != "y"}, informative


def test_a_narrow_table_keeps_its_order_and_a_wide_one_ranks_the_target_s_columns_first(frame, wide):
    _, roles = _roles(frame, "bought")
    assert chart_order(frame, roles, target="bought", task="binary") is None
    table, roles, informative = wide
    order = chart_order(table, roles, target="y", task="binary")
    assert len(order) == 2_000 and "y" not in order
    # The informative columns rank far above the middle of 2,000 (by chance: ~1,000).
    assert np.median([order.index(c) for c in informative]) < 200
    untargeted = chart_order(table, roles, target=None, task=None)
    assert sorted(untargeted) == sorted(order)


def test_wide_charts_offer_a_capped_heatmap_and_the_strongest_features_first(wide):
    table, roles, _ = wide
    order = chart_order(table, roles, target="y", task="binary")
    columns = list(table.columns)
    heatmap = correlation_columns(columns, roles, target="y", task="binary", ranked=order)
    assert heatmap == order[:MAX_CORRELATION_COLUMNS]
    assert correlation_note(heatmap, roles, target="y", task="binary") == \
        f"The {MAX_CORRELATION_COLUMNS} of 2,000 numeric columns most related to the target."
    numeric_target = {**roles, "y": "numeric"}
    regression = correlation_columns(columns, numeric_target, target="y", task="regression",
                                     ranked=order)
    assert regression[0] == "y" and len(regression) == MAX_CORRELATION_COLUMNS
    assert relation_features(columns, roles, target="y", ranked=order) == order
    choices = linked_view_choices(table, profile_table(table), roles, target="y", task="binary",
                                  ranked=order)
    assert choices["axes"] == order[:4] and len(choices["numeric"]) == 2_000


def test_missing_charts_show_the_columns_missing_most_and_say_how_many_more():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(100, 80)), columns=[f"c{i}" for i in range(80)])
    for i in range(80):
        table.iloc[: i + 1, i] = np.nan
    data = eda.missing_data(table)
    assert [c["column"] for c in data["columns"]] == [f"c{i}" for i in range(79, 79 - MAX_MISSING_COLUMNS, -1)]
    assert data["left_out"] == 80 - MAX_MISSING_COLUMNS
    assert data["pattern"]["columns"] == [c["column"] for c in data["columns"]]
    assert f"{MAX_MISSING_COLUMNS} columns missing most, of 80 with gaps" in missing_reading(data)
    assert "(50 more have gaps)" in eda.missing_bar_figure(data).layout.title.text
