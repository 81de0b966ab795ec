"""Tests for core.deliver._schema: the input schema learned from training rows, and new data checked against it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.deliver._schema import (
    MAX_LEVELS_LISTED,
    RecordCheck,
    build_schema,
    records_to_frame,
    validate_input,
)
from core.errors import TabwrightError

ROLES = {"age": "numeric", "fare": "numeric", "sex": "categorical", "pclass": "categorical",
         "note": "text"}


def _train() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [22.0, 38.0, np.nan, 35.0],
        "fare": [7, 71, 8, 53],
        "sex": ["male", "female", "female", None],
        "pclass": [3, 1, 3, 1],
        "note": ["a", "b", "c", "d"],
    })


@pytest.fixture(scope="module")
def schema():
    return build_schema(_train(), ROLES)


def test_schema_describes_each_column_in_order(schema):
    columns = {c["name"]: c for c in schema["columns"]}
    assert [c["name"] for c in schema["columns"]] == ["age", "fare", "sex", "pclass", "note"]
    assert columns["age"] == {"name": "age", "role": "numeric", "dtype": "float64",
                              "missing_fraction": 0.25, "min": 22.0, "max": 38.0,
                              "integer": False}
    assert columns["fare"]["integer"] is True and columns["fare"]["min"] == 7
    assert isinstance(columns["fare"]["min"], int)
    assert columns["sex"]["levels"] == ["female", "male"] and columns["sex"]["n_levels"] == 2
    assert columns["sex"]["missing_fraction"] == 0.25
    assert sorted(columns["pclass"]["levels"]) == ["1", "3"]  # levels are text
    assert columns["pclass"]["dtype"] == "int64"
    assert "levels" not in columns["note"] and "min" not in columns["note"]


def test_a_column_without_a_role_is_treated_as_a_category():
    schema = build_schema(pd.DataFrame({"x": [1, 2]}), {})
    assert schema["columns"][0]["role"] == "categorical"
    assert schema["columns"][0]["levels"] == ["1", "2"]


def test_an_all_missing_numeric_column_has_no_range():
    entry = build_schema(pd.DataFrame({"x": [np.nan, np.nan]}), {"x": "numeric"})["columns"][0]
    assert entry["min"] is None and entry["max"] is None and entry["missing_fraction"] == 1.0


def test_levels_listed_are_capped():
    frame = pd.DataFrame({"id": [f"v{i}" for i in range(MAX_LEVELS_LISTED + 5)]})
    entry = build_schema(frame, {"id": "categorical"})["columns"][0]
    assert len(entry["levels"]) == MAX_LEVELS_LISTED
    assert entry["n_levels"] == MAX_LEVELS_LISTED + 5


def test_valid_data_passes_in_training_order_without_notices(schema):
    new = _train()[["note", "pclass", "sex", "fare", "age"]]
    X, notices = validate_input(new, schema)
    assert notices == []
    assert list(X.columns) == ["age", "fare", "sex", "pclass", "note"]
    pd.testing.assert_frame_equal(X, _train())


def test_missing_columns_are_an_error_naming_them(schema):
    with pytest.raises(TabwrightError) as info:
        validate_input(_train().drop(columns=["age", "sex"]), schema)
    assert "missing 2 column(s)" in info.value.message
    assert "'age', 'sex'" in info.value.message
    assert "empty values are allowed" in info.value.hint


def test_extra_columns_are_dropped_with_a_notice(schema):
    new = _train().assign(passenger_id=[1, 2, 3, 4], survived=[0, 1, 1, 0])
    X, notices = validate_input(new, schema)
    assert "passenger_id" not in X.columns and "survived" not in X.columns
    assert notices == ["Ignored 2 column(s) the model does not use: 'passenger_id', 'survived'."]


def test_out_of_range_unseen_levels_and_non_numbers_are_reported(schema):
    new = pd.DataFrame({"age": ["30", "150", "unknown"], "fare": [7, 8, 9],
                        "sex": ["male", "other", "other"], "pclass": [1, 2, 3],
                        "note": ["x", "y", "z"]})
    X, notices = validate_input(new, schema)
    assert X["age"].dtype.kind == "f" and X["age"].isna().tolist() == [False, False, True]
    assert "'age': 1 value(s) are not numbers and were treated as missing." in notices
    assert any(n.startswith("'age': 1 value(s) outside the training range 22 – 38") for n in notices)
    assert "'sex': 2 value(s) never seen in training (e.g. 'other'); the model treats them as unknown." \
        in notices
    assert any(n.startswith("'pclass': 1 value(s) never seen in training (e.g. '2')") for n in notices)
    assert not any(n.startswith("'note'") for n in notices)  # text has no level list


def test_an_integer_category_read_as_floats_keeps_its_levels(schema):
    new = _train().astype({"pclass": "float64"})
    new.loc[0, "pclass"] = np.nan  # a blank in the CSV makes pandas read floats
    X, notices = validate_input(new, schema)
    assert notices == []
    assert X["pclass"].tolist()[1:] == [1, 3, 1]
    assert X["pclass"].iloc[0] is None


def test_records_become_a_frame_with_the_schema_types(schema):
    records = [{"age": 30, "fare": 10, "sex": "male", "pclass": 1, "note": "n", "extra": "e"},
               {"age": None, "fare": 20, "sex": None, "pclass": 3, "note": "m"}]
    frame = records_to_frame(records, schema)
    assert list(frame.columns) == ["age", "fare", "sex", "pclass", "note", "extra"]
    assert frame["age"].dtype == np.float64 and np.isnan(frame["age"].iloc[1])
    assert frame["pclass"].dtype == np.int64
    assert frame["extra"].tolist() == ["e", None]


def test_record_check_agrees_with_validate_input(schema):
    records = [{"age": 200, "fare": 10, "sex": "robot", "pclass": 1, "note": "n", "id": 5},
               {"age": "old", "fare": 20, "sex": "male", "pclass": 3, "note": "m", "id": 6}]
    check = RecordCheck(schema)
    columns, notices = check.check(records)
    X, expected = validate_input(records_to_frame(records, schema), schema)
    assert notices == expected
    assert len(notices) == 4  # ignored id, age not a number, age out of range, unseen sex
    pd.testing.assert_frame_equal(pd.DataFrame(columns), X)
    assert check.extra_names(records) == (["id"], [])
    with pytest.raises(TabwrightError, match="'sex'"):
        check.check([{"age": 1, "fare": 1, "pclass": 1, "note": "x"}])


def test_numbers_too_large_to_compute_with_become_missing_with_a_notice(schema):
    """1e300 or an infinity would stop a tree model (it computes in 32-bit floats) with an
    internal error: each is a missing value, said once per column."""
    records = [{"age": 1e300, "fare": float("inf"), "sex": "male", "pclass": 1, "note": "n"},
               {"age": -1e39, "fare": 3.0e38, "sex": "male", "pclass": 3, "note": "m"},
               {"age": "1e300", "fare": 9, "sex": "x" * 5_000, "pclass": 3, "note": "m"}]
    X, notices = validate_input(records_to_frame(records, schema), schema)
    assert X["age"].isna().tolist() == [True, True, True] and X["fare"].isna().tolist() == [True, False, False]
    assert "'age': 3 value(s) too large to compute with (beyond ±3.4e38, or infinite) were treated " \
           "as missing." in notices
    assert any(n.startswith("'fare': 1 value(s) too large") for n in notices)
    assert any(n.startswith("'fare': 1 value(s) outside the training range") for n in notices)  # 3e38
    unseen = next(n for n in notices if n.startswith("'sex'"))
    assert len(unseen) < 200 and "xxx…'" in unseen  # a long value is quoted cut short
    columns, same = RecordCheck(schema).check(records)
    assert same == notices
    pd.testing.assert_frame_equal(pd.DataFrame(columns), X)


def test_dates_that_do_not_read_as_dates_are_reported_like_non_numbers():
    train = pd.DataFrame({"booked": pd.to_datetime(["2021-01-05", "2021-03-01"]), "x": [1.0, 2.0]})
    schema = build_schema(train, {"booked": "datetime", "x": "numeric"})
    records = [{"booked": "not a date", "x": 1.0}, {"booked": "31/02/2021", "x": 1.0},
               {"booked": "2021-04-05", "x": 1.5}, {"booked": None, "x": 1.5},
               {"booked": "", "x": 1.5}]
    _, notices = validate_input(pd.DataFrame(records), schema)
    assert notices == ["'booked': 2 value(s) are not readable dates and were treated as missing."]
    _, same = RecordCheck(schema).check(records)
    assert same == notices
    X, _ = validate_input(records_to_frame(records, schema), schema)
    columns, _ = RecordCheck(schema).check(records)
    pd.testing.assert_frame_equal(pd.DataFrame(columns), X)  # the REST and CSV paths agree
    assert validate_input(records_to_frame(records, schema), schema)[1] == notices
