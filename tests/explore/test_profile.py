"""profile_table: one call, JSON-safe result, helpful errors, and a printed speed check."""

import json
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from core.errors import TabwrightError
from core.explore import _findings as findings_module
from core.explore._findings import (
    CORRELATION_MIN_ROWS,
    CORRELATION_SAMPLE_ROWS,
    CORRELATION_WORK,
    correlation_sample,
)
from core.explore._profile import Profile, profile_table
from tests.explore.wide_tables import wide_frame


@pytest.fixture(scope="module")
def titanic(datasets_dir):
    return pd.read_csv(datasets_dir / "titanic.csv")


def as_json(profile: Profile) -> dict:
    return json.loads(json.dumps(profile.to_dict(), allow_nan=False))


def test_profile_of_titanic_with_target(titanic):
    profile = profile_table(titanic, target="survived")
    assert profile.rows == 891 and len(profile.columns) == 14
    assert profile.task.task == "binary" and profile.task.classes == [0, 1]
    assert profile.column("pclass").role == "numeric"
    assert profile.duplicate_rows == titanic.duplicated().sum()
    assert profile.missing_cell_fraction == pytest.approx(titanic.isna().mean().mean())
    assert profile.memory_bytes == titanic.memory_usage(deep=True).sum()
    assert profile.target_suggestions[0].column == "survived"
    assert profile.seconds > 0

    data = as_json(profile)
    assert {"rows", "n_columns", "columns", "target", "task", "findings",
            "target_suggestions", "duplicate_rows", "memory_bytes",
            "missing_cell_fraction"} <= set(data)
    assert data["n_columns"] == 14 and data["target"] == "survived"
    assert data["task"] == {"task": "binary", "reason": profile.task.reason,
                            "n_classes": 2, "classes": [0, 1]}
    assert data["columns"][0]["name"] == "survived"
    assert {"name", "role", "dtype", "missing_fraction", "n_unique", "evidence",
            "stats"} <= set(data["columns"][0])
    assert data["findings"][0]["suggestion"]["action"] == "add_missing_indicator"


def test_profile_without_target_makes_no_target_findings(titanic):
    profile = profile_table(titanic)
    assert profile.target is None and profile.task is None
    codes = {f.code for f in profile.findings}
    assert "duplicate_columns" in codes
    assert not codes & {"target_leakage", "imbalanced_target", "missing_target"}
    assert as_json(profile)["task"] is None


def test_unknown_target_names_close_matches(titanic):
    with pytest.raises(TabwrightError, match="no column named 'Survived'") as caught:
        profile_table(titanic, target="Survived")
    assert caught.value.hint == "Did you mean 'survived'?"
    with pytest.raises(TabwrightError) as caught:
        profile_table(titanic, target="zzz")
    assert caught.value.hint.startswith("The columns are 'survived', 'pclass'")


def test_unknown_column_lookup(titanic):
    profile = profile_table(titanic.iloc[:50, :3])
    with pytest.raises(TabwrightError, match="no column named 'sx'") as caught:
        profile.column("sx")
    assert "'sex'" in caught.value.hint


def test_unusable_target_is_a_critical_finding_not_an_error(titanic):
    frame = titanic.assign(batch="A")
    profile = profile_table(frame, target="batch")
    assert profile.task is None
    assert profile.findings[0].code == "target_unusable"
    assert profile.findings[0].suggestion.params == {"column": "survived"}
    as_json(profile)


def test_memory_of_a_big_table_is_estimated_closely():
    rng = np.random.default_rng(3)
    n = 60_000
    frame = pd.DataFrame({"word": rng.choice(["a", "bb", "cccccccc"], n).astype(object),
                          "x": rng.normal(size=n)})
    exact = frame.memory_usage(deep=True).sum()
    assert profile_table(frame).memory_bytes == pytest.approx(exact, rel=0.02)


@settings(max_examples=30, deadline=None)
@given(data_frames(
    columns=[column("f", dtype=float),
             column("i", elements=st.integers(-3, 3)),
             column("s", elements=st.one_of(st.none(), st.sampled_from(["a", "b c", "1", ""]))),
             column("t", elements=st.sampled_from([0, 1]))],
    index=range_indexes(max_size=50)))
def test_any_profile_is_plain_json(frame):
    frame["s"] = frame["s"].astype(object)
    profile = profile_table(frame, target="t")
    data = as_json(profile)
    assert data["rows"] == len(frame)
    assert 0 <= data["missing_cell_fraction"] <= 1


def mixed_frame(n: int) -> pd.DataFrame:
    """20 columns of every kind, as an uploaded customer table might have."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"row_id": np.arange(1, n + 1)})
    for k in range(6):
        x = rng.normal(50, 10, n) if k % 2 else rng.lognormal(3, 1, n)
        x[rng.random(n) < 0.05] = np.nan
        frame[f"measure_{k}"] = x
    frame["amount"] = rng.gamma(2, 100, n).round(2)
    frame["rating"] = rng.integers(1, 6, n)
    frame["visits"] = rng.poisson(20, n)
    frame["balance"] = rng.integers(-5000, 100_000, n)
    frame["active"] = rng.random(n) < 0.3
    frame["signup"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), "D")
    frame["country"] = rng.choice(["France", "Spain", "Germany", "Italy", "Norway"], n)
    frame["plan"] = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    frame["channel"] = rng.choice([f"ch{i}" for i in range(20)], n)
    frame["colour"] = rng.choice(np.array(["red", "green", "blue", None], dtype=object), n)
    frame["surname"] = np.char.add("name", rng.integers(0, 3000, n).astype(str))
    frame["code"] = np.char.add("C", rng.permutation(n).astype(str))
    frame["churned"] = (rng.random(n) < 0.2).astype(int)
    text = ["country", "plan", "channel", "surname", "code"]
    return frame.astype({c: object for c in text})


def test_speed_smoke_on_a_mixed_table():
    """Prints the time; the time targets are checked by the benchmarks, not here."""
    frame = mixed_frame(200_000)
    start = time.perf_counter()
    profile = profile_table(frame, target="churned")
    print(f"\nprofile_table on {len(frame):,} x {frame.shape[1]}: "
          f"{time.perf_counter() - start:.2f} s")
    roles = {c.name: c.role for c in profile.columns}
    assert roles["row_id"] == roles["code"] == "identifier"
    assert roles["signup"] == "datetime" and roles["active"] == "boolean"
    assert roles["surname"] == roles["country"] == "categorical"
    assert {c for c, r in roles.items() if r == "numeric"} == {
        *(f"measure_{k}" for k in range(6)), "amount", "rating", "visits", "balance"}
    codes = {(f.code, tuple(f.columns)) for f in profile.findings}
    assert {("identifier", ("row_id",)), ("identifier", ("code",)),
            ("high_cardinality", ("surname",))} <= codes
    assert not any(code == "target_leakage" for code, _ in codes)


# --------------------------------------------------------------------------- wide tables


@pytest.fixture(scope="module")
def wide():
    """300 rows × 5,000 measurements, plus three near-copies, a leak and the target."""
    frame, informative = wide_frame()
    rng = np.random.default_rng(1)
    for k, source in enumerate(["gene_00001", "gene_00002", "gene_00003"]):
        frame[f"copy_{k}"] = frame[source] * 2.5 + rng.normal(scale=0.01, size=len(frame))
    frame["leak"] = np.where(frame["y"] == "yes", 1.0, 0.0)
    return frame, informative


def test_a_wide_profile_finds_each_near_copy_and_the_leak_without_pairwise_blow_up(wide):
    frame, _ = wide
    profile = profile_table(frame, target="y")
    assert len(profile.columns) == 5_005 and profile.task.task == "binary"
    assert {c.role for c in profile.columns if c.name.startswith("gene_")} == {"numeric"}
    codes = [f.code for f in profile.findings]
    copies = [set(f.columns) for f in profile.findings if f.code == "correlated_features"]
    assert sorted(copies, key=sorted) == [{f"gene_0000{k + 1}", f"copy_{k}"} for k in range(3)]
    assert [f.columns for f in profile.findings if f.code == "target_leakage"] == [["leak"]]
    # Findings are per column or per group: at most a few per column, never one per pair.
    assert len(codes) <= 10 and codes.count("outliers") <= 5
    assert profile.duplicate_rows == 0
    assert profile.memory_bytes == pytest.approx(frame.memory_usage(deep=True).sum(), rel=0.01)


def test_near_copies_are_compared_on_the_most_complete_columns_within_the_work_cap(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 6))
    frame = pd.DataFrame(x, columns=[f"c{i}" for i in range(6)])
    frame["copy"] = frame["c0"] + rng.normal(scale=1e-3, size=200)
    frame["gappy"] = frame["c1"].where(rng.random(200) > 0.3)
    frame["gappy_copy"] = frame["gappy"] * 3
    assert {"copy", "c0"} in [set(f.columns) for f in profile_table(frame).findings]
    monkeypatch.setattr(findings_module, "CORRELATION_MAX_COLUMNS", 7)
    capped = profile_table(frame)
    found = [set(f.columns) for f in capped.findings if f.code == "correlated_features"]
    assert found == [{"copy", "c0"}]  # the two gappy columns were the ones left out
    assert capped.notes == ["Near-copies were looked for among the 7 most complete of 9 numeric "
                            "columns, on 200 random rows of 200: comparing every pair of so many "
                            "columns grows with their square."]
    monkeypatch.undo()
    assert profile_table(frame).notes == []
    assert correlation_sample(1_000_000, 30) == (CORRELATION_SAMPLE_ROWS, 30)
    rows, columns = correlation_sample(20_000, 5_000)
    assert columns == 5_000 and rows * columns ** 2 <= max(CORRELATION_WORK,
                                                            CORRELATION_MIN_ROWS * columns ** 2)
