"""core.formatting: values as plain JSON data, numbers and text in words."""

import datetime as dt

import numpy as np
import pandas as pd

from core.formatting import escape_markdown, format_number, format_percent, json_safe


def test_escape_markdown_keeps_names_literal():
    assert escape_markdown("**$5** :red[x]\n[a](b)") == \
        r"\*\*\$5\*\* \:red\[x\] \[a\]\(b\)"



def test_json_safe_gives_plain_json_for_numpy_pandas_and_missing_values():
    value = {np.int64(1): (np.float64(float("nan")), np.bool_(True)), "t": pd.Timestamp("2024-01-02"),
             "idx": pd.Index([1, 2]), "na": pd.NA, "nat": pd.NaT, "inf": float("inf"),
             "d": dt.date(2024, 1, 2), "other": dt.timedelta(days=1)}
    assert json_safe(value) == {"1": [None, True], "t": "2024-01-02T00:00:00", "idx": [1, 2],
                                "na": None, "nat": None, "inf": None, "d": "2024-01-02",
                                "other": "1 day, 0:00:00"}


def test_numbers_and_shares_are_written_as_a_person_would():
    assert [format_number(v) for v in (2015, 15634602, 7.25, 0.01234)] == \
        ["2015", "15,634,602", "7.25", "0.0123"]
    assert [format_percent(v) for v in (0.117, 0.004, 0.9962, 0.00002)] == \
        ["12%", "0.4%", "99.6%", "<0.01%"]
