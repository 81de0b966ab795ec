"""Tests for core.ingest._parquet (through read_table): every type kept, limits from the
metadata before any data is read, and damaged files refused."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import core.ingest._parquet as parquet_module
from core.errors import TabwrightError
from core.ingest import read_table
from core.ingest._parquet import read_parquet
from core.settings import Limits


def parquet(table: pa.Table, **options: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


EVERY_TYPE = pa.table({
    "i8": pa.array([1, 2, 3], pa.int8()),
    "i64": pa.array([10, None, 30], pa.int64()),
    "u64": pa.array([1, 2, 2**63 + 5], pa.uint64()),
    "f32": pa.array([0.5, 1.5, None], pa.float32()),
    "f64": pa.array([1.0, 2.0, 3.0], pa.float64()),
    "flag": pa.array([True, False, True]),
    "flag_missing": pa.array([True, None, False]),
    "ts_ns": pa.array([dt.datetime(2021, 3, 1, 12), None, dt.datetime(2021, 3, 3)], pa.timestamp("ns")),
    "ts_ms_utc": pa.array([dt.datetime(2021, 3, 1), dt.datetime(2021, 3, 2), None], pa.timestamp("ms", tz="UTC")),
    "day": pa.array([dt.date(2020, 1, 1), dt.date(2020, 1, 2), None], pa.date32()),
    "far": pa.array([dt.datetime(2020, 1, 1), dt.datetime(9999, 12, 31), None], pa.timestamp("us")),
    "text": pa.array(["$1,200", "NA", None]),
    "big_text": pa.array(["a", "b", "c"], pa.large_string()),
    "category": pa.array(["low", "high", "low"]).dictionary_encode(),
    "price": pa.array([decimal.Decimal("1.25"), decimal.Decimal("2.50"), None], pa.decimal128(5, 2)),
    "took": pa.array([dt.timedelta(hours=12), dt.timedelta(days=2), None], pa.duration("s")),
    "at": pa.array([dt.time(8, 30), dt.time(17, 0), None], pa.time32("s")),
    "empty": pa.array([None, None, None], pa.null()),
    "blob": pa.array([b"\x00", b"\x01", None], pa.binary()),
    "tags": pa.array([["a"], [], None], pa.list_(pa.string())),
})


def test_every_type_is_kept_and_each_becomes_a_plain_pandas_column() -> None:
    table = read_table(parquet(EVERY_TYPE), name="every.parquet")
    frame = table.frame
    assert table.source_format == "parquet" and table.sheet is None and table.sheets == ()
    assert table.summary() == "3 rows × 18 columns, Parquet file"
    assert table.details() == [("Format", "Parquet file")]
    assert frame["i8"].dtype == np.int64 and frame["i8"].tolist() == [1, 2, 3]
    assert frame["i64"].dtype == np.float64 and np.isnan(frame["i64"].iloc[1])
    assert frame["u64"].dtype == np.float64 and frame["u64"].iloc[2] == float(2**63 + 5)
    assert table.conversions["u64"] == "whole numbers beyond int64 read as floating-point numbers"
    assert frame["f32"].dtype == np.float64 and frame["f32"].iloc[0] == 0.5
    assert frame["f64"].dtype == np.float64  # written as floats: kept floats (unlike a workbook)
    assert frame["flag"].dtype == bool
    assert frame["flag_missing"].tolist()[:1] == ["True"] and pd.isna(frame["flag_missing"].iloc[1])
    assert frame["ts_ns"].dtype == "datetime64[ns]" and pd.isna(frame["ts_ns"].iloc[1])
    assert str(frame["ts_ms_utc"].dtype) == "datetime64[ns, UTC]"
    assert frame["day"].dtype == "datetime64[ns]" and frame["day"].iloc[1] == pd.Timestamp("2020-01-02")
    assert pd.isna(frame["far"].iloc[1]) and "1 date outside the years 1677–2262" in table.conversions["far"]
    # text is kept as written: Parquet has types, so "$1,200" and "NA" are what the writer meant
    assert frame["text"].tolist()[:2] == ["$1,200", "NA"] and pd.isna(frame["text"].iloc[2])
    assert frame["big_text"].tolist() == ["a", "b", "c"]
    assert frame["category"].tolist() == ["low", "high", "low"] and frame["category"].dtype == object
    assert frame["price"].tolist()[:2] == [1.25, 2.5]
    assert table.conversions["price"] == "exact decimals read as floating-point numbers"
    assert frame["took"].tolist()[:2] == [0.5, 2.0]
    assert frame["at"].tolist()[:2] == ["08:30:00.000", "17:00:00.000"]  # Parquet stores ms
    assert frame["empty"].isna().all() and "Column 'empty' is empty (every value is missing)." in table.notes
    assert "blob" not in frame and "tags" not in frame
    assert any(note.startswith("Column 'tags' was left out") for note in table.notes)


def test_bytes_and_a_path_give_the_same_table(tmp_path: Path) -> None:
    data = parquet(pa.table({"a": [1, 2], "b": ["x", "y"]}))
    path = tmp_path / "small.parquet"
    path.write_bytes(data)
    from_path, from_bytes = read_table(path), read_table(data, name="upload.csv")
    assert from_path.name == "small.parquet" and from_bytes.source_format == "parquet"
    assert from_path.fingerprint == from_bytes.fingerprint == hashlib.sha256(data).hexdigest()
    assert from_path.n_bytes == len(data)
    pd.testing.assert_frame_equal(from_path.frame, from_bytes.frame)


def test_long_text_columns_are_factorized_and_names_cleaned() -> None:
    n = 60_000
    table = read_table(parquet(pa.table({" city ": pa.array(["Oslo", "Rome"] * (n // 2)),
                                         "n": pa.array(range(n))})))
    assert list(table.frame.columns) == ["city", "n"]
    assert any(note.startswith("Removed spaces around 1 column name") for note in table.notes)
    codes, values = table.codes["city"]
    assert list(values) == ["Oslo", "Rome"] and codes[:3].tolist() == [0, 1, 0]


def test_pandas_frames_round_trip() -> None:
    frame = pd.DataFrame({"x": [1.5, None, 3.0], "when": pd.to_datetime(["2021-01-01", None, "2021-01-03"]),
                          "kind": pd.Categorical(["a", "b", "a"]), "n": [1, 2, 3]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    read = read_table(buffer.getvalue()).frame
    assert read["kind"].tolist() == ["a", "b", "a"]
    pd.testing.assert_frame_equal(read.drop(columns="kind"), frame.drop(columns="kind"))


@pytest.fixture
def no_data_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a Parquet file's data (not its footer) is read."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the data was read")
    monkeypatch.setattr(parquet_module.pq.ParquetFile, "read", refuse)


def test_limits_are_checked_from_the_metadata_before_reading(no_data_read: None) -> None:
    data = parquet(pa.table({f"c{i}": pa.array(np.zeros(1000)) for i in range(5)}))
    with pytest.raises(TabwrightError, match=r"at most 999 rows \(limit max_rows\), got 1,000"):
        read_table(data, limits=Limits(max_rows=999))
    with pytest.raises(TabwrightError, match=r"at most 4 columns \(limit max_columns\), got 5"):
        read_table(data, limits=Limits(max_columns=4))
    with pytest.raises(TabwrightError, match=r"at most 4,999 cells .*got 1,000 × 5 = 5,000"):
        read_table(data, limits=Limits(max_cells=4_999))
    with pytest.raises(TabwrightError) as caught:
        read_table(data, limits=Limits(max_decompressed_bytes=10_000))
    assert "The Parquet file must unpack to at most 10,000 bytes (limit max_decompressed_bytes)" \
        in caught.value.message


def test_a_highly_compressed_file_is_refused_by_its_unpacked_size(no_data_read: None) -> None:
    data = parquet(pa.table({"zeros": pa.array(np.zeros(2_000_000))}), compression="zstd")
    assert len(data) < 100_000
    with pytest.raises(TabwrightError, match="limit max_decompressed_bytes"):
        read_table(data, limits=Limits(max_decompressed_bytes=1_000_000))


@pytest.mark.parametrize("data, name", [
    (b"PAR1" + bytes(100), "cut.parquet"),                       # the magic and nothing else
    (parquet(pa.table({"a": [1, 2, 3]}))[:-20], "cut.parquet"),  # its footer cut off
    (b"a,b\n1,2\n", "mislabelled.parquet"),                     # text named .parquet
], ids=["magic_only", "no_footer", "text"])
def test_a_damaged_parquet_file_is_refused(data: bytes, name: str) -> None:
    with pytest.raises(TabwrightError) as caught:
        read_table(data, name=name)
    assert "Parquet file is damaged" in caught.value.message
    assert caught.value.hint


def test_a_file_without_rows_is_refused() -> None:
    with pytest.raises(TabwrightError, match="The Parquet file has no rows"):
        read_parquet(parquet(pa.table({"a": pa.array([], pa.int64())})), limits=Limits())
