"""Tests for core.ingest._read: every awkward file in tests/corpus.py, the real datasets, safe export."""

from __future__ import annotations

import gzip
import hashlib
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.ingest._read import (
    CONVERT_THRESHOLD,
    LoadedTable,
    neutralise_formulas,
    read_table,
    to_safe_csv,
)
from core.settings import Limits
from tests import corpus
from tests.corpus import Ok, Refused

CASES = corpus.all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: corpus.Case) -> None:
    expected = case.expected
    if isinstance(expected, Refused):
        with pytest.raises(TabwrightError) as caught:
            read_table(case.data, name=f"{case.name}.csv", limits=expected.limits or Limits())
        for text in expected.texts:
            assert text in caught.value.full_text, (text, caught.value.full_text)
        assert caught.value.hint, "every refusal says what to do"
    else:
        table = read_table(case.data, name=f"{case.name}.csv", limits=expected.limits or Limits())
        assert isinstance(table, LoadedTable)
        corpus.check_loaded(table, expected)
        assert table.name == f"{case.name}.csv"
        assert table.n_bytes == len(case.data)
        assert table.fingerprint == hashlib.sha256(case.data).hexdigest()


def test_corpus_covers_every_kind_of_file() -> None:
    names = {c.name for c in CASES}
    for required in (
        "utf8", "utf8_bom", "utf16_le", "utf16_be", "cp1252", "latin1", "comma", "semicolon", "tab",
        "pipe", "decimal_comma", "quoted_newlines", "missing_markers", "text_numbers", "dates",
        "codes_stay_text", "png", "jpeg", "pdf", "gif", "xlsx", "gzip", "gzip_bomb", "zip_bomb",
        "pickle", "ragged_more", "ragged_fewer", "too_many_columns", "huge_field", "nul_bytes",
        "duplicate_names", "blank_name", "one_row", "single_column", "header_only", "empty",
    ):
        assert required in names, required
    assert sum(isinstance(c.expected, Ok) for c in CASES) >= 25
    assert sum(isinstance(c.expected, Refused) for c in CASES) >= 25


# --------------------------------------------------------------------------- sources


def test_path_and_bytes_give_the_same_table(tmp_path: Path) -> None:
    data = corpus.case_text_numbers().data
    path = tmp_path / "prices.csv"
    path.write_bytes(data)
    from_path = read_table(path)
    from_str = read_table(str(path))
    from_bytes = read_table(data)
    assert from_path.name == from_str.name == "prices.csv"
    assert from_bytes.name == "data.csv"
    assert from_path.fingerprint == from_bytes.fingerprint
    pd.testing.assert_frame_equal(from_path.frame, from_bytes.frame)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TabwrightError, match="No file at"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(TabwrightError, match="folder"):
        read_table(tmp_path)


def test_csv_text_instead_of_bytes_is_a_clear_error() -> None:
    with pytest.raises(TabwrightError, match="must be bytes or a path"):
        read_table("a,b\n1,2\n")


def test_oversized_path_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"a\n" + b"1\n" * 1000)
    with pytest.raises(TabwrightError, match="max_upload_bytes"):
        read_table(path, limits=Limits(max_upload_bytes=100))


def test_default_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABWRIGHT_MAX_ROWS", "2")
    with pytest.raises(TabwrightError, match="TABWRIGHT_MAX_ROWS"):
        read_table(b"n\n1\n2\n3\n")


# --------------------------------------------------------------------------- bombs and caps


def test_gzip_bomb_never_holds_more_than_the_cap() -> None:
    case = corpus.case_gzip_bomb()
    cap = case.expected.limits.max_decompressed_bytes
    tracemalloc.start()
    try:
        with pytest.raises(TabwrightError):
            read_table(case.data, limits=case.expected.limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * cap, f"peak {peak:,} bytes for a {cap:,}-byte cap"


def test_gzip_just_under_the_cap_loads() -> None:
    data = b"a,b\n" + b"1,2\n" * 1000
    table = read_table(gzip.compress(data), limits=Limits(max_decompressed_bytes=len(data)))
    assert table.frame.shape == (1000, 2)


def test_concatenated_gzip_members_are_all_read() -> None:
    data = gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n")
    assert read_table(data).frame["a"].tolist() == [1, 3]


def test_limits_are_named_in_messages() -> None:
    with pytest.raises(TabwrightError) as caught:
        read_table(b"a,b\n1,2\n", limits=Limits(max_columns=1))
    assert "max_columns" in caught.value.message and "TABWRIGHT_MAX_COLUMNS" in caught.value.hint
    with pytest.raises(TabwrightError) as caught:
        read_table(b"a,b\n1,xxxxxxxxxxxx\n", limits=Limits(max_field_chars=5))
    assert "column 'b', data row 1" in caught.value.message


# --------------------------------------------------------------------------- types


def test_conversion_threshold_is_respected() -> None:
    n_bad = 3
    n_good = int(n_bad / (1 - CONVERT_THRESHOLD)) + 10
    good = read_table(("v\n" + "5\n" * n_good + "bad\n" * n_bad).encode())
    assert good.frame["v"].dtype == np.float64
    assert good.frame["v"].isna().sum() == n_bad
    bad = read_table(("v\n" + "5\n" * 50 + "bad\n" * n_bad).encode())
    assert bad.frame["v"].dtype == object


def test_leading_zero_codes_beyond_the_sample_stay_text() -> None:
    rows = "".join(f"{10000 + i}\n" for i in range(200_000)) + "02134\n"
    table = read_table(("zip\n" + rows).encode())
    assert table.frame["zip"].dtype == object
    assert table.frame["zip"].iloc[-1] == "02134"


def test_numbers_stay_exact() -> None:
    table = read_table(b"i,f\n9007199254740993,0.1\n-42,1e-300\n")
    assert table.frame["i"].tolist() == [9007199254740993, -42]
    assert table.frame["f"].tolist() == [0.1, 1e-300]


def test_low_cardinality_text_stays_object() -> None:
    table = read_table(("c\n" + "red\nblue\n" * 50).encode())
    assert table.frame["c"].dtype == object


def test_ambiguous_day_month_is_noted() -> None:
    table = read_table(b"d\n01/02/2021\n03/04/2021\n")
    assert table.frame["d"].tolist() == [pd.Timestamp("2021-01-02"), pd.Timestamp("2021-03-04")]
    assert any("day/month or month/day" in note for note in table.notes)


def test_semicolon_files_prefer_day_first() -> None:
    table = read_table(b"d;n\n01/02/2021;1\n03/04/2021;2\n")
    assert table.frame["d"].tolist() == [pd.Timestamp("2021-02-01"), pd.Timestamp("2021-04-03")]


def test_summary_reads_like_a_sentence() -> None:
    assert read_table(b"a,b\n1,2\n").summary() == "1 row × 2 columns, utf-8, comma-separated"
    assert read_table(b"a;b\n1,5;2\n").summary().endswith("semicolon-separated, decimal comma")


def test_details_say_how_each_kind_of_table_was_read() -> None:
    table = read_table(b"a;b\n1,5;2\n")
    assert table.source_format == "csv" and table.sheet is None and table.sheets == ()
    assert table.details() == [("Encoding", "utf-8"), ("Delimiter", "semicolon"),
                               ("Decimal mark", "comma (1,5)")]
    # a table built without the newer fields (as code from before them does) is a CSV's
    plain = LoadedTable(frame=pd.DataFrame({"a": [1]}), name="a.csv", encoding="utf-8",
                        delimiter=",", decimal=".", n_bytes=4, fingerprint="0")
    assert plain.summary() == "1 row × 1 column, utf-8, comma-separated"
    query = LoadedTable(frame=pd.DataFrame({"a": [1, 2]}), name="sqlite:///shop.db", encoding="",
                        delimiter="", decimal=".", n_bytes=0, fingerprint="0", source_format="sql")
    assert query.summary() == "2 rows × 1 column, database query"


def test_large_file_is_read_in_parallel_with_the_same_result() -> None:
    rows = "".join(f"{i},{i % 7}.5,\"t{i % 3}, x\",2021-01-{i % 28 + 1:02d},${i}.00\n" for i in range(60_000))
    data = ("id,x,t,d,price\n" + rows).encode()
    assert len(data) > 1024 * 1024  # above the size where columns are typed in threads
    table = read_table(data)
    assert table.frame.shape == (60_000, 5)
    assert [str(t) for t in table.frame.dtypes] == ["int64", "float64", "object", "datetime64[ns]", "float64"]
    assert table.frame["price"].iloc[-1] == 59_999.0


def test_quoted_line_breaks_across_parse_blocks() -> None:
    # pandas' engine="pyarrow" fails here ("got out of sync with chunker"): this is why
    # core.ingest._read calls pyarrow with newlines_in_values=True itself.
    rows = "".join(f'{i},"line one\nline two, {i}"\n' for i in range(200_000))
    table = read_table(("a,b\n" + rows).encode())
    assert table.frame.shape == (200_000, 2)
    assert table.frame["b"].iloc[-1] == "line one\nline two, 199999"


# --------------------------------------------------------------------------- real datasets

NUMERIC = {
    "titanic": {"age": "float64", "fare": "float64", "survived": "int64"},
    "adult": {"age": "int64", "fnlwgt": "int64", "hours_per_week": "int64"},
    "bank_marketing": {"balance": "int64", "pdays": "int64"},
    "german_credit": {"amount": "int64", "checking_balance": "object", "employment_length": "object"},
    "churn": {"Balance": "float64", "CustomerId": "int64", "Surname": "object"},
    "soybean": {"date": "float64", "Class": "object"},
    "california_housing": {"total_bedrooms": "float64", "ocean_proximity": "object"},
    "life_expectancy": {"BMI": "float64", "Year": "int64", "Country": "object"},
}


def _datasets(directory: Path) -> list[dict]:
    return json.loads((directory / "datasets.json").read_text())["datasets"]


def test_real_datasets_load_with_their_shape_and_types(datasets_dir: Path) -> None:
    for meta in _datasets(datasets_dir):
        table = read_table(datasets_dir / meta["file"])
        assert table.frame.shape == (meta["rows"], meta["cols"]), meta["name"]
        assert table.encoding == "utf-8" and table.delimiter == ","
        for column, dtype in NUMERIC[meta["name"]].items():
            assert str(table.frame[column].dtype) == dtype, (meta["name"], column)
        assert all(c == c.strip() for c in table.frame.columns)
        features = table.frame.drop(columns=meta["target"])
        n_text = sum(features[c].dtype == object for c in features.columns)
        assert n_text == meta["n_string_columns"], (meta["name"], n_text)


def test_life_expectancy_names_are_stripped_and_noted(datasets_dir: Path) -> None:
    table = read_table(datasets_dir / "life_expectancy.csv")
    assert {"BMI", "Measles", "HIV/AIDS", "thinness 5-9 years"} <= set(table.frame.columns)
    assert any("Removed spaces around 7 column names" in note for note in table.notes)


def test_titanic_booleans_and_missing(datasets_dir: Path) -> None:
    frame = read_table(datasets_dir / "titanic.csv").frame
    assert frame["adult_male"].dtype == bool
    assert frame["age"].isna().sum() == 177
    assert frame["deck"].isna().sum() == 688


# --------------------------------------------------------------------------- safe export


def test_formulas_are_neutralised_and_numbers_kept() -> None:
    frame = pd.DataFrame({
        "text": ["=SUM(A1:A2)", "+1", "-2", "@cmd", "\tx", "\ry", "plain", None],
        "n": [-1, 2, -3.5, 4, 5, 6, 7, 8],
        "mixed": ["=1", -5, 3.0, "ok", None, "-x", "a", "b"],
    })
    safe = neutralise_formulas(frame)
    assert safe["text"].tolist()[:7] == ["'=SUM(A1:A2)", "'+1", "'-2", "'@cmd", "'\tx", "'\ry", "plain"]
    assert safe["text"].iloc[7] is None
    pd.testing.assert_series_equal(safe["n"], frame["n"])
    assert safe["mixed"].tolist()[:6] == ["'=1", -5, 3.0, "ok", None, "'-x"]
    assert frame["text"].iloc[0] == "=SUM(A1:A2)", "the input is not changed"


def test_safe_csv_neutralises_headers_and_categoricals() -> None:
    frame = pd.DataFrame({"=cmd": pd.Categorical(["=a", "b", "=a"]), "n": [-1, 0, 1]})
    out = to_safe_csv(frame)
    assert out.decode().split("\r\n") == ["'=cmd,n", "'=a,-1", "b,0", "'=a,1", ""]


def test_safe_csv_quotes_line_breaks_inside_cells() -> None:
    out = to_safe_csv(pd.DataFrame({"t": ["a\r=cmd", "b\n@x"]}))
    assert out == b't\r\n"a\r=cmd"\r\n"b\n@x"\r\n'


def test_text_columns_are_factorized_while_read_exactly_as_pandas_would(monkeypatch):
    """LoadedTable.codes equals pandas.factorize of each text column (nulls, empty text,
    accents, numbers-as-text), and the profile made with it equals the one made without."""
    import numpy as np
    import pandas as pd

    import core.ingest._read as data_module
    from core.explore._profile import profile_table

    monkeypatch.setattr(data_module, "_CODES_ROWS", 10)
    rng = np.random.default_rng(0)
    n = 3000
    levels = np.array(["Oslo", "Zürich", "", "  spaced ", "007", "ünïcödé", "x,y"], dtype=object)
    frame = pd.DataFrame({
        "city": rng.choice(levels, n),
        "code": [f"P{v}" for v in rng.integers(0, 900, n)],
        "unique": [f"id-{i}" for i in range(n)],
        "amount": rng.normal(size=n).round(2),
    })
    frame.loc[::11, "city"] = None
    table = read_table(frame.to_csv(index=False).encode())
    text = [c for c in table.frame.columns if table.frame[c].dtype == object]
    assert set(table.codes) == set(text) and {"city", "code", "unique"} <= set(text)
    for column in text:
        want_codes, want_uniques = pd.factorize(table.frame[column], use_na_sentinel=True)
        codes, uniques = table.codes[column]
        assert codes.tolist() == want_codes.tolist()
        assert uniques.tolist() == list(want_uniques)
    assert profile_table(table.frame, codes=table.codes).columns == profile_table(table.frame).columns


def test_many_different_texts_are_not_kept_factorized(monkeypatch):
    import core.ingest._read as data_module

    monkeypatch.setattr(data_module, "_CODES_ROWS", 10)
    monkeypatch.setattr(data_module, "_CODES_MAX_DISTINCT", 100)
    rows = "\n".join(f"name-{i},{i % 3}" for i in range(500))
    table = read_table(f"name,group_label\n{rows}\n".encode())
    assert "name" not in table.codes  # 500 different names: not kept
