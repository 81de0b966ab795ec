"""Column roles, task detection and target suggestions, on built frames and the real datasets."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from core.errors import TabwrightError
from core.formatting import format_number, json_safe
from core.ingest._roles import (
    TASKS,
    ColumnInfo,
    detect_task,
    infer_roles,
    suggest_targets,
)
from core.recipe import ROLES

NAMES = ["titanic", "adult", "bank_marketing", "german_credit", "churn", "soybean",
         "california_housing", "life_expectancy"]


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def roles_of(frame: pd.DataFrame) -> dict[str, str]:
    return {c.name: c.role for c in infer_roles(frame)}


def only(series: pd.Series) -> ColumnInfo:
    (info,) = infer_roles(series.to_frame())
    return info


# --- numeric -------------------------------------------------------------------------------

def test_continuous_floats_are_numeric_with_stats():
    values = np.linspace(0, 10, 101)
    info = only(pd.Series(values, name="x"))
    assert info.role == "numeric"
    assert info.stats["min"] == 0 and info.stats["max"] == 10
    assert info.stats["median"] == pytest.approx(5.0)
    assert info.stats["q1"] == pytest.approx(2.5) and info.stats["q3"] == pytest.approx(7.5)
    assert info.stats["mean"] == pytest.approx(5.0)
    assert info.stats["std"] == pytest.approx(values.std(ddof=1))
    assert info.stats["zeros"] == 1
    assert info.n_unique == 101 and info.missing_fraction == 0


def test_all_distinct_floats_are_numeric_never_identifiers(rng):
    fare = pd.Series(rng.gamma(2, 20, 5000), name="measurement_id")
    info = only(fare)
    assert info.n_unique == 5000
    assert info.role == "numeric"


def test_whole_number_floats_spread_widely_are_numeric(rng):
    population = pd.Series(rng.permutation(np.arange(1000) * 9_731 + 34).astype(float),
                           name="Population")
    assert only(population).role == "numeric"


def test_small_integer_scale_is_numeric_and_explains_the_choice(rng):
    pclass = pd.Series(rng.choice([1, 2, 3], 900), name="pclass")
    info = only(pclass)
    assert info.role == "numeric"
    assert "order" in info.evidence and "categorical" in info.evidence
    assert {v for v, _ in info.stats["top"]} == {1, 2, 3}


def test_small_integer_codes_with_gaps_are_categorical(rng):
    codes = pd.Series(rng.choice([10, 20, 35, 99, 990], 500), name="region_code")
    info = only(codes)
    assert info.role == "categorical"
    assert "codes" in info.evidence


def test_whole_numbers_that_hardly_repeat_are_amounts_even_in_a_tiny_table():
    ages = pd.Series([22, 38, 26, 35, 54, 2, 27, 14, 58, 20, 39, 55, 31, 34, 22], name="age")
    info = only(ages)  # 14 values spread thin over 2-58, but 15 rows: not 14 codes
    assert info.role == "numeric" and "a quantity" in info.evidence


def test_nullable_integers_with_missing_values():
    s = pd.Series([1, 2, None, 4, 5] * 20, dtype="Int64", name="n")
    info = only(s)
    assert info.role == "numeric"
    assert info.missing_fraction == pytest.approx(0.2)
    assert info.n_unique == 4


# --- boolean -------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    [True, False] * 50,
    ["yes", "no", "no", "yes"] * 25,
    [0, 1, 1, 1] * 25,
    ["True", "False"] * 50,
    ["male", "female", None, "male"] * 25,
    pd.array([True, None, False, True] * 25, dtype="boolean"),
])
def test_two_values_are_boolean(values):
    info = only(pd.Series(values, name="flag"))
    assert info.role == "boolean"
    assert info.n_unique == 2
    assert "two values" in info.evidence


# --- datetime ------------------------------------------------------------------------------

def test_datetime_dtype_is_datetime_with_iso_range():
    stamps = pd.Series(pd.date_range("2021-01-01", periods=100, freq="D"), name="day")
    stamps[5] = pd.NaT
    info = only(stamps)
    assert info.role == "datetime"
    assert info.stats == {"min": "2021-01-01T00:00:00", "max": "2021-04-10T00:00:00"}
    assert info.missing_fraction == pytest.approx(0.01)


def test_timezone_aware_dates_are_datetime():
    stamps = pd.Series(pd.date_range("2021-01-01", periods=50, freq="h", tz="Europe/Oslo"))
    assert only(stamps.rename("t")).role == "datetime"


# --- text, identifiers, categories ---------------------------------------------------------

WORDS = "the quick brown fox jumps over a lazy dog while rain falls on green hills".split()


def sentences(n: int, words: int) -> list[str]:
    pick = np.random.default_rng(n)
    return [" ".join(pick.choice(WORDS, words)) for _ in range(n)]


def test_free_text_is_text():
    info = only(pd.Series(sentences(300, 8), name="review"))
    assert info.role == "text"
    assert info.stats["mean_words"] == pytest.approx(8)


def test_a_few_long_labels_repeated_are_categorical_not_text(rng):
    answers = ["I strongly agree with this statement", "I do not agree with it at all",
               "I have no opinion either way on this"]
    info = only(pd.Series(rng.choice(answers, 600), name="answer"))
    assert info.role == "categorical"


def test_near_unique_short_strings_are_identifiers(rng):
    codes = pd.Series([f"C{i:06d}" for i in rng.permutation(5000)], name="code")
    info = only(codes)
    assert info.role == "identifier"
    assert "100% unique" in info.evidence


def test_surname_like_high_cardinality_is_categorical_not_identifier(rng):
    surnames = pd.Series([f"name{i}" for i in rng.integers(0, 2900, 10_000)], name="Surname")
    info = only(surnames)
    assert info.role == "categorical"
    assert info.n_unique > 2000


def test_running_integer_sequence_is_an_identifier_in_order_or_shuffled(rng):
    info = only(pd.Series(np.arange(1, 892), name="PassengerId"))
    assert info.role == "identifier"
    assert info.evidence == ("Whole numbers 1–891, every value different, rising by 1: "
                             "looks like a row ID.")
    shuffled = only(pd.Series(rng.permutation(np.arange(5000)), name="row"))
    assert shuffled.role == "identifier" and "no gaps" in shuffled.evidence


def test_unique_integers_named_like_an_id_are_identifiers(rng):
    ids = pd.Series(rng.choice(np.arange(15_500_000, 15_800_000), 10_000, replace=False),
                    name="CustomerId")
    assert only(ids).role == "identifier"
    assert only(ids.rename("amount")).role == "numeric"


def test_too_few_rows_are_no_evidence_of_an_identifier():
    assert only(pd.Series(np.arange(10), name="id")).role == "numeric"


def test_number_like_text_is_categorical_and_records_the_share_of_numbers(rng):
    values = [str(v) for v in rng.integers(0, 5000, 500)]
    values[::25] = ["?"] * 20
    info = only(pd.Series(values, name="price"))
    assert info.role == "categorical"
    assert info.stats["number_fraction"] == pytest.approx(0.96)
    assert info.stats["non_numbers"] == ["?"]


def test_codes_with_leading_zeros_are_not_numbers(rng):
    zips = pd.Series([f"0{v}" for v in rng.integers(1000, 9999, 300)], name="zip")
    assert only(zips).stats["number_fraction"] == 0


def test_dates_written_as_text_are_recognised():
    days = pd.Series(pd.date_range("2020-01-01", periods=400).strftime("%d/%m/%Y"), name="d")
    info = only(days)
    assert info.role == "categorical"
    assert info.stats["date_fraction"] == 1.0


def test_month_names_alone_are_not_dates(rng):
    months = pd.Series(rng.choice(["may", "jun", "jul", "aug"], 300), name="month")
    assert only(months).stats["date_fraction"] == 0


# --- constant ------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    [7] * 50, [np.nan] * 50, ["a"] * 30 + [None] * 20, [None] * 10,
    pd.Series([pd.NaT] * 5, dtype="datetime64[ns]"),
])
def test_one_value_or_none_is_constant(values):
    info = only(pd.Series(values, name="c"))
    assert info.role == "constant"
    assert info.n_unique <= 1


def test_empty_frame_columns_are_constant():
    frame = pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)})
    assert roles_of(frame) == {"a": "constant", "b": "constant"}
    assert all(c.missing_fraction == 0 for c in infer_roles(frame))


def test_repeated_column_names_are_refused():
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(TabwrightError, match="'a'"):
        infer_roles(frame)


# --- JSON safety ---------------------------------------------------------------------------

def test_json_safe_converts_numpy_nan_inf_and_timestamps():
    value = {1: (np.int64(3), np.float32(0.5), np.nan, -np.inf, np.bool_(True)),
             "t": pd.Timestamp("2020-01-02"), "n": pd.NaT, "x": None}
    assert json_safe(value) == {"1": [3, 0.5, None, None, True], "t": "2020-01-02T00:00:00",
                                "n": None, "x": None}


@settings(max_examples=40, deadline=None)
@given(data_frames(
    columns=[
        column("f", dtype=float),
        column("i", elements=st.integers(-5, 5)),
        column("s", elements=st.one_of(st.none(), st.text(max_size=6))),
        column("b", dtype=bool),
        column("o", elements=st.one_of(st.integers(0, 3), st.sampled_from(["x", "7", ""]))),
    ],
    index=range_indexes(max_size=40)))
def test_any_frame_gets_valid_roles_and_json_safe_info(frame):
    frame["o"] = frame["o"].astype(object)
    for info in infer_roles(frame):
        assert info.role in ROLES
        assert 0 <= info.missing_fraction <= 1
        assert info.evidence
        json.dumps(info.to_dict(), allow_nan=False)


def test_format_number_reads_like_a_person_wrote_it():
    assert [format_number(v) for v in (891, 15634602, 7.25, -8019, 0.000123)] == \
        ["891", "15,634,602", "7.25", "-8019", "0.000123"]


# --- task detection ------------------------------------------------------------------------

@pytest.mark.parametrize("values, task, n_classes", [
    ([0, 1] * 20, "binary", 2),
    (["yes", "no", None] * 10, "binary", 2),
    ([True, False] * 10, "binary", 2),
    ([1, 2, 2] * 10, "binary", 2),
    (["a", "b", "c"] * 10, "multiclass", 3),
    (list(range(1, 31)) * 3, "multiclass", 30),
    (list(range(0, 300, 3)), "regression", None),
    (list(range(12)) * 3, "multiclass", 12),  # class codes run without a gap
    ([0] * 30 + [1] * 12 + [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 26], "regression", None),  # counts
    ([0, 1, 2, 3, 5, 6, 7, 8, 9, 10] * 3, "multiclass", 10),  # a gap, but few values
    ([1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 17, 24] * 5, "multiclass", 12),  # codes used evenly
    (list(range(10, 130, 10)) * 5, "multiclass", 12),
    (list(np.linspace(0, 1, 25)), "regression", None),
    ([0.5, 1.5, 2.5] * 10, "regression", None),
])
def test_detect_task(values, task, n_classes):
    guess = detect_task(pd.Series(values, name="y"))
    assert (guess.task, guess.n_classes) == (task, n_classes)
    assert guess.task in TASKS and guess.reason
    if n_classes:
        assert guess.classes == sorted(guess.classes) and len(guess.classes) == n_classes
    else:
        assert guess.classes is None


@pytest.mark.parametrize("values, match", [
    ([np.nan] * 10, "no values"),
    (["a"] * 10, "one value"),
    (pd.date_range("2020-01-01", periods=10), "dates"),
    (sentences(200, 9), "free text"),
    ([f"id{i}" for i in range(200)], "free text or an ID"),
    ([f"c{i}" for i in range(80)] * 3, "too many classes"),
])
def test_unusable_targets_are_refused_with_a_hint(values, match):
    with pytest.raises(TabwrightError, match=match) as caught:
        detect_task(pd.Series(values, name="y"))
    assert caught.value.hint


def test_numbers_stored_as_text_target_hints_at_converting():
    with pytest.raises(TabwrightError) as caught:
        detect_task(pd.Series([str(v) for v in range(60)] * 2, name="price"))
    assert "numbers stored as text" in caught.value.hint


# --- target suggestions --------------------------------------------------------------------

def test_suggestions_prefer_target_names_then_the_last_column(rng):
    n = 200
    frame = pd.DataFrame({
        "id": np.arange(n), "outcome": rng.choice([0, 1], n), "note": sentences(n, 7),
        "when": pd.date_range("2020-01-01", periods=n), "same": 1,
        "x": rng.normal(size=n), "group": rng.choice(list("abc"), n),
    })
    suggestions = suggest_targets(frame, infer_roles(frame))
    assert [s.column for s in suggestions[:2]] == ["outcome", "group"]
    assert {s.column for s in suggestions} <= {"outcome", "x", "group"}
    assert suggestions[0].task == "binary" and "outcome" in suggestions[0].reason
    assert len(suggest_targets(frame, infer_roles(frame), limit=1)) == 1


def test_suggestions_name_the_task_detect_task_will_choose():
    visits = [0] * 30 + [1] * 12 + [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 26]  # counts
    codes = [1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 17, 24] * 5  # class codes used evenly
    frame = pd.DataFrame({"visits": visits, "activity": codes[:len(visits)]})
    tasks = {s.column: s.task for s in suggest_targets(frame, infer_roles(frame))}
    assert tasks == {c: detect_task(frame[c]).task for c in frame}
    assert tasks == {"visits": "regression", "activity": "multiclass"}


# --- the real datasets ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def meta(datasets_dir):
    catalogue = json.loads((datasets_dir / "datasets.json").read_text())["datasets"]
    return {d["name"]: d for d in catalogue}


@pytest.fixture(scope="module")
def real(datasets_dir, meta):
    return {name: pd.read_csv(datasets_dir / d["file"]) for name, d in meta.items()}


@pytest.mark.parametrize("name, expected", [
    ("titanic", {"survived": "boolean", "pclass": "numeric", "sex": "boolean",
                 "age": "numeric", "fare": "numeric", "class": "categorical",
                 "adult_male": "boolean", "deck": "categorical"}),
    ("churn", {"RowNumber": "identifier", "CustomerId": "identifier",
               "Surname": "categorical", "EstimatedSalary": "numeric", "Tenure": "numeric",
               "HasCrCard": "boolean", "Geography": "categorical"}),
    ("adult", {"fnlwgt": "numeric", "native_country": "categorical", "class": "boolean",
               "education_num": "numeric"}),
    ("life_expectancy", {"Country": "categorical", "GDP": "numeric", "Population": "numeric",
                         "Year": "numeric", "Status": "boolean"}),
    ("german_credit", {"default": "boolean", "amount": "numeric",
                       "checking_balance": "categorical", "installment_rate": "numeric"}),
    ("soybean", {"Class": "categorical", "leaves": "boolean", "precip": "numeric"}),
    ("california_housing", {"ocean_proximity": "categorical", "median_income": "numeric"}),
    ("bank_marketing", {"duration": "numeric", "y": "boolean", "month": "categorical"}),
])
def test_real_dataset_roles(real, name, expected):
    roles = roles_of(real[name])
    assert {c: roles[c] for c in expected} == expected
    assert "identifier" not in {r for c, r in roles.items() if c not in
                                ("RowNumber", "CustomerId")}


@pytest.mark.parametrize("name", NAMES)
def test_real_dataset_tasks_match_the_catalogue(real, meta, name):
    d = meta[name]
    guess = detect_task(real[name][d["target"]])
    assert guess.task == d["task"]
    assert guess.n_classes == d["n_classes"]


def test_german_credit_default_coded_1_2_is_binary(real):
    guess = detect_task(real["german_credit"]["default"])
    assert guess.classes == [1, 2]


@pytest.mark.parametrize("name", ["titanic", "adult", "bank_marketing", "german_credit",
                                  "churn", "soybean", "california_housing"])
def test_real_dataset_target_is_the_first_suggestion(real, meta, name):
    frame = real[name]
    suggestions = suggest_targets(frame, infer_roles(frame))
    assert suggestions[0].column == meta[name]["target"]
    assert suggestions[0].task == meta[name]["task"]


def test_repeated_names_are_found_by_counting_so_a_wide_table_is_checked_once():
    frame = pd.DataFrame(np.zeros((3, 20_000)), columns=[f"c{i % 19_998}" for i in range(20_000)])
    with pytest.raises(TabwrightError, match="'c0', 'c1' more than once"):
        infer_roles(frame)
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3_000)),
                        columns=[f"g{i}" for i in range(3_000)]).assign(outcome=[0, 1] * 20)
    columns = infer_roles(wide)
    assert len(columns) == 3_001 and columns[-1].role == "boolean"
    assert suggest_targets(wide, columns)[0].column == "outcome"
