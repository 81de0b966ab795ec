"""Findings: every code on built frames (found when it should be, silent when it should not)
and the precision on the real datasets that the thresholds were calibrated on."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

import core.explore._findings
import core.explore._pair_leaks
import core.ingest._roles
from core.errors import TabwrightError
from core.explore._findings import (
    ACTIONS,
    SEVERITIES,
    count_duplicate_rows,
    find_issues,
)
from core.ingest._roles import infer_roles

N = 2_000


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def issues(frame, **options):
    return find_issues(frame, infer_roles(frame), **options)


def found(frame, code, **options):
    """The findings with ``code``."""
    return [f for f in issues(frame, **options) if f.code == code]


def honest(rng, n=N):
    """Features with a real but imperfect relation to a binary and a numeric target."""
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * x + 0.5 * z)))).astype(int)
    amount = 3 * x + z + rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": z, "noise": rng.normal(size=n),
                         "group": rng.choice(list("abcde"), n), "y": y, "amount": amount})


# --- identifiers, constants, near-constants ------------------------------------------------

def test_identifier_is_a_warning_with_a_drop_suggestion(rng):
    frame = honest(rng).assign(RowNumber=np.arange(1, N + 1))
    (finding,) = found(frame, "identifier")
    assert finding.severity == "warning" and finding.columns == ["RowNumber"]
    assert finding.suggestion.action == "drop_columns"
    assert finding.suggestion.params == {"columns": ["RowNumber"]}
    assert finding.suggestion.label == "Drop RowNumber"


def test_high_cardinality_names_are_not_identifiers(rng):
    frame = honest(rng).assign(Surname=[f"n{i}" for i in rng.integers(0, 600, N)])
    assert found(frame, "identifier") == []


def test_constant_columns_are_reported_once(rng):
    frame = honest(rng).assign(one=5, nothing=np.nan)
    constant = found(frame, "constant")
    assert [f.columns for f in constant] == [["one"], ["nothing"]]
    assert found(frame, "missing_values") == []


def test_near_constant_is_info_and_a_mild_majority_is_not(rng):
    values = np.array(["a"] * N, dtype=object)
    values[:3] = "b"
    (finding,) = found(honest(rng).assign(flag=values), "near_constant")
    assert finding.severity == "info" and "3 rows differ" in finding.message
    values[:100] = "b"
    assert found(honest(rng).assign(flag=values), "near_constant") == []


# --- duplicates ----------------------------------------------------------------------------

def test_duplicate_rows_in_detailed_data_are_a_warning_with_count_and_share(rng):
    frame = honest(rng)
    frame = pd.concat([frame, frame.iloc[:10]], ignore_index=True)
    (finding,) = found(frame, "duplicate_rows")
    assert finding.severity == "warning"
    assert finding.message.startswith("10 rows (0.5%)")
    assert finding.suggestion.action == "drop_duplicate_rows"


def test_duplicate_rows_in_coarse_data_are_only_info(rng):
    frame = pd.DataFrame({"a": rng.integers(0, 3, 500), "b": rng.choice(list("xy"), 500)})
    (finding,) = found(frame, "duplicate_rows")
    assert finding.severity == "info" and "by chance" in finding.message


def test_no_duplicate_rows_no_finding(rng):
    assert found(honest(rng), "duplicate_rows") == []


@settings(max_examples=30, deadline=None)
@given(data_frames(
    columns=[column("f", elements=st.sampled_from([0.0, -0.0, 1.5, np.nan])),
             column("i", elements=st.integers(0, 2)),
             column("s", elements=st.sampled_from(["a", "b", None])),
             column("d", elements=st.sampled_from(list(pd.date_range("2020", periods=2))))],
    index=range_indexes(max_size=60)))
def test_count_duplicate_rows_agrees_with_pandas(frame):
    frame["s"] = frame["s"].astype(object)
    frame["c"] = frame["s"].astype("category")
    assert count_duplicate_rows(frame) == frame.duplicated().sum()


def test_columns_holding_the_same_information_are_found(rng):
    pclass = rng.choice([1, 2, 3], N)
    frame = honest(rng).assign(pclass=pclass,
                               klass=np.array(["", "First", "Second", "Third"])[pclass])
    (finding,) = found(frame, "duplicate_columns")
    assert finding.columns == ["pclass", "klass"]
    assert finding.suggestion.params == {"columns": ["klass"]}
    assert "1 ↔ 'First'" in finding.message


def test_columns_whose_values_all_differ_are_not_duplicates_of_each_other(rng):
    """On 15 rows an index 0-14 and random numbers map one-to-one by chance alone."""
    frame = pd.DataFrame({"a": np.arange(15), "b": rng.normal(size=15),
                          "y": rng.choice(["p", "q"], 15)})
    assert found(frame, "duplicate_columns", target="y") == []


def test_related_but_different_columns_are_not_duplicates(rng):
    who = rng.choice(["man", "woman", "child"], N)
    frame = honest(rng).assign(who=who, adult_male=who == "man")
    assert found(frame, "duplicate_columns") == []


def test_correlated_numbers_suggest_keeping_one(rng):
    frame = honest(rng)
    frame["x_cm"] = frame["x"] * 100 + rng.normal(scale=5, size=N)
    (finding,) = found(frame, "correlated_features", target="y")
    assert finding.columns == ["x", "x_cm"] and finding.severity == "info"
    assert finding.suggestion.params == {"columns": ["x_cm"]}
    assert re.search(r"r = 0\.99\d", finding.message)


def test_moderately_related_numbers_and_the_target_are_not_reported(rng):
    frame = honest(rng)
    frame["related"] = frame["x"] + rng.normal(scale=0.5, size=N)
    frame["amount_copy"] = frame["amount"]
    assert found(frame, "correlated_features", target="amount") == []


# --- categories, text that holds numbers or dates -----------------------------------------

def test_high_cardinality_suggests_target_encoding_when_labels_repeat(rng):
    frame = honest(rng).assign(city=[f"city{i}" for i in rng.integers(0, 120, N)])
    (finding,) = found(frame, "high_cardinality")
    assert finding.suggestion.params == {"column": "city", "encoding": "target"}


def test_high_cardinality_suggests_dropping_when_labels_barely_repeat(rng):
    frame = honest(rng).assign(surname=[f"s{i}" for i in rng.integers(0, 700, N)])
    (finding,) = found(frame, "high_cardinality")
    assert finding.suggestion.action == "drop_columns"


def test_a_dozen_labels_are_not_high_cardinality(rng):
    frame = honest(rng).assign(month=rng.choice([f"m{i}" for i in range(12)], N))
    assert found(frame, "high_cardinality") == []


def test_sixteen_labels_in_a_small_table_are_high_cardinality(rng):
    frame = pd.DataFrame({"x": rng.normal(size=200), "tag": [f"t{i % 20}" for i in range(200)]})
    assert [f.columns for f in found(frame, "high_cardinality")] == [["tag"]]


def test_numbers_as_text_with_a_few_placeholders(rng):
    values = [str(v) for v in rng.integers(0, 10_000, N)]
    values[::40] = ["n/a"] * len(values[::40])
    (finding,) = found(honest(rng).assign(price=values), "numbers_as_text")
    assert "'n/a'" in finding.message and "98%" in finding.message
    assert finding.suggestion.params == {"column": "price", "role": "numeric"}
    assert found(honest(rng).assign(price=values), "high_cardinality") == []


def test_mixed_numbers_and_words():
    values = ["12", "abc", "7", "x9", "40", "none"] * 100
    (finding,) = found(pd.DataFrame({"v": values, "w": range(600)}), "mixed_types")
    assert "'abc'" in finding.message and "50%" in finding.message


def test_words_alone_are_not_mixed_or_numbers(rng):
    frame = honest(rng).assign(colour=rng.choice(["red", "green", "blue"], N))
    codes = {f.code for f in issues(frame)}
    assert not codes & {"mixed_types", "numbers_as_text", "text_dates"}


def test_dates_written_as_text_suggest_parsing(rng):
    days = pd.date_range("2019-01-01", periods=N).strftime("%Y-%m-%d")
    (finding,) = found(honest(rng).assign(day=days), "text_dates")
    assert finding.suggestion.params == {"column": "day"}
    assert {f.code for f in issues(honest(rng).assign(day=days))} & {"identifier"} == set()


# --- missing values ------------------------------------------------------------------------

def test_heavy_missing_that_tells_about_the_target_suggests_an_indicator(rng):
    frame = honest(rng)
    frame["deck"] = np.where((frame["y"] == 1) & (rng.random(N) < 0.9),
                             rng.choice(["B", "C"], N), None)
    (finding,) = found(frame, "missing_values", target="y")
    assert finding.severity == "warning"
    assert finding.suggestion.params == {"columns": ["deck"]}
    assert finding.suggestion.action == "add_missing_indicator"


def test_heavy_missing_at_random_suggests_dropping(rng):
    frame = honest(rng)
    frame["deck"] = np.where(rng.random(N) < 0.3, rng.choice(["B", "C"], N), None)
    (finding,) = found(frame, "missing_values", target="y")
    assert finding.suggestion.action == "drop_columns"
    assert f"missing in {frame['deck'].isna().mean():.0%} of rows" in finding.message
    regression = found(frame, "missing_values", target="amount")
    assert regression[0].suggestion.action == "drop_columns"


def test_moderate_missing_values_are_one_info_finding(rng):
    frame = honest(rng)
    frame.loc[:99, "x"] = np.nan
    frame.loc[:9, "group"] = None
    (finding,) = found(frame, "missing_values")
    assert finding.severity == "info" and finding.columns == ["x", "group"]
    assert "'x' (5%)" in finding.message and "'group' (0.5%)" in finding.message
    assert found(honest(rng), "missing_values") == []


def test_missing_target_says_how_many_rows_are_left_out(rng):
    frame = honest(rng)
    frame.loc[:2, "y"] = np.nan
    (finding,) = found(frame, "missing_target", target="y")
    assert finding.message.startswith("3 rows (0.1%)")
    assert found(frame, "missing_values", target="y") == []


# --- the target ----------------------------------------------------------------------------

def imbalanced(rng, share, n=N):
    frame = honest(rng, n)
    frame["y"] = np.where(rng.random(n) < share, "yes", "no")
    return frame


def test_imbalanced_binary_target_suggests_roc_auc_and_class_weights(rng):
    frame = imbalanced(rng, 0.1)
    (finding,) = found(frame, "imbalanced_target", target="y")
    majority = (frame["y"] == "no").mean()
    assert f"{majority:.0%} accurate" in finding.message
    assert finding.suggestion.params == {"metric": "roc_auc"}
    (weights,) = found(frame, "class_weights", target="y")
    assert weights.suggestion.params == {"value": "balanced"}


def test_rare_positives_suggest_average_precision(rng):
    (finding,) = found(imbalanced(rng, 0.03), "imbalanced_target", target="y")
    assert finding.suggestion.params == {"metric": "average_precision"}


def test_a_thirty_percent_minority_is_not_imbalanced(rng):
    frame = imbalanced(rng, 0.3)
    assert found(frame, "imbalanced_target", target="y") == []
    assert found(frame, "class_weights", target="y") == []


def test_uneven_multiclass_suggests_balanced_accuracy(rng):
    frame = honest(rng)
    frame["kind"] = rng.choice(list("abcd"), N, p=[0.5, 0.3, 0.18, 0.02])
    (finding,) = found(frame, "imbalanced_target", target="kind")
    assert finding.suggestion.params == {"metric": "balanced_accuracy"}


def test_classes_smaller_than_the_folds_are_a_warning(rng):
    frame = honest(rng)
    frame["kind"] = rng.choice(list("abc"), N)
    frame.loc[:2, "kind"] = "rare"
    (finding,) = found(frame, "small_classes", target="kind")
    assert finding.severity == "warning" and "'rare' (3)" in finding.message
    frame.loc[:7, "kind"] = "rare"
    assert found(frame, "small_classes", target="kind")[0].severity == "info"
    frame.loc[:20, "kind"] = "rare"
    assert found(frame, "small_classes", target="kind") == []


def test_target_labels_that_differ_only_in_case_or_spaces_are_a_warning(rng):
    frame = honest(rng)
    frame["answer"] = rng.choice(["Yes", "No"], N)
    assert found(frame, "label_variants", target="answer") == []
    frame.loc[:40, "answer"] = "yes"
    frame.loc[41:60, "answer"] = " No "
    (finding,) = found(frame, "label_variants", target="answer")
    assert finding.severity == "warning"
    assert "'No' and ' No '" in finding.message and "'Yes' and 'yes'" in finding.message


def test_few_rows(rng):
    assert [f.severity for f in found(honest(rng, 60), "few_rows")] == ["warning"]
    assert found(honest(rng, 100), "few_rows") == []


def test_an_unusable_target_is_critical_and_suggests_another(rng):
    frame = honest(rng).assign(label="same")
    findings = issues(frame, target="label")
    assert findings[0].code == "target_unusable" and findings[0].severity == "critical"
    assert findings[0].suggestion.action == "set_target"
    assert findings[0].suggestion.params["column"] != "label"
    assert not {"target_leakage", "imbalanced_target"} & {f.code for f in findings}


def test_bad_target_or_task_is_refused(rng):
    frame = honest(rng)
    with pytest.raises(TabwrightError, match="no column named 'Y'") as caught:
        issues(frame, target="Y")
    assert "'y'" in caught.value.hint
    with pytest.raises(TabwrightError, match="task must be one of"):
        issues(frame, target="y", task="ranking")
    with pytest.raises(TabwrightError, match="two values"):
        issues(frame, target="group", task="binary")
    with pytest.raises(TabwrightError, match="numeric target"):
        issues(frame, target="group", task="regression")


# --- outliers ------------------------------------------------------------------------------

def test_isolated_typos_are_outliers_with_range(rng):
    age = rng.normal(40, 12, N).clip(1, 90).round()
    age[:3] = [999, 999, 150]
    (finding,) = found(honest(rng).assign(age=age), "outliers")
    assert "3 values" in finding.message and "150, 999" in finding.message
    assert finding.suggestion.params == {"column": "age", "method": "clip_iqr"}


def test_placeholder_below_a_skewed_column_is_an_outlier(rng):
    income = rng.lognormal(10, 1, N)
    income[:2] = -9999
    (finding,) = found(honest(rng).assign(income=income), "outliers")
    assert "-9999" in finding.message


@pytest.mark.parametrize("make", [
    lambda r: r.lognormal(10, 1, N), lambda r: r.normal(size=N), lambda r: r.exponential(size=N),
    lambda r: np.where(r.random(N) < 0.9, 0, r.lognormal(8, 1, N)),
    lambda r: r.poisson(3, N) * 10, lambda r: r.uniform(size=N),
])
def test_natural_tails_are_not_outliers(rng, make):
    assert found(honest(rng).assign(v=make(rng)), "outliers") == []


# --- leakage -------------------------------------------------------------------------------

def leaks(frame, target):
    return {(f.columns[0], f.severity) for f in found(frame, "target_leakage", target=target)}


def test_honest_strong_features_are_not_leaks(rng):
    frame = honest(rng)
    assert leaks(frame, "y") == set()
    assert leaks(frame, "amount") == set()


@pytest.mark.parametrize("make", [
    lambda f, r: f["y"],
    lambda f, r: f["y"] * 2 + 1,
    lambda f, r: np.where(f["y"] == 1, "yes", "no"),
    lambda f, r: np.where(f["y"] == 1, r.uniform(0.5, 1, len(f)), r.uniform(0, 0.5, len(f))),
    lambda f, r: np.where(f["y"] == 1, r.uniform(size=len(f)), np.nan),
])
def test_copies_and_transforms_of_a_binary_target_are_critical(rng, make):
    frame = honest(rng)
    frame["leak"] = make(frame, rng)
    assert leaks(frame, "y") == {("leak", "critical")}


@pytest.mark.parametrize("make", [
    lambda f, r: f["amount"] * 2 + 1,
    lambda f, r: np.exp(f["amount"] / 3),
    lambda f, r: f["amount"] + r.normal(scale=0.05 * f["amount"].std(), size=len(f)),
])
def test_transforms_of_a_numeric_target_are_critical(rng, make):
    frame = honest(rng)
    frame["leak"] = make(frame, rng)
    assert leaks(frame, "amount") == {("leak", "critical")}


def test_label_encoded_multiclass_target_is_critical(rng):
    frame = honest(rng)
    frame["kind"] = rng.choice(["ant", "bee", "cat", "dog"], N)
    frame["kind_code"] = frame["kind"].map({"ant": 0, "bee": 1, "cat": 2, "dog": 3})
    assert leaks(frame, "kind") == {("kind_code", "critical")}


def test_a_feature_of_a_lopsided_multiclass_target_is_not_a_leak(rng):
    frame = honest(rng)
    frame["kind"] = rng.choice(["common", "rare", "rarer"], N, p=[0.985, 0.01, 0.005])
    frame["x"] += frame["kind"] == "rare"
    assert leaks(frame, "kind") == set()


def test_a_nearly_perfect_feature_is_a_warning_and_a_good_one_nothing(rng):
    frame = honest(rng)
    flip = rng.random(N)
    frame["almost"] = np.where(flip < 0.02, 1 - frame["y"], frame["y"])
    frame["good"] = np.where(flip < 0.1, 1 - frame["y"], frame["y"])
    assert leaks(frame, "y") == {("almost", "warning")}


def test_a_pair_that_reproduces_a_numeric_target_is_a_well_formed_finding(rng):
    frame = honest(rng).assign(size=lambda f: rng.integers(20, 200, N).astype(float))
    frame["value"] = np.round(frame["size"] * rng.lognormal(3, 0.3, N), 1)
    frame["value_per_size"] = np.round(frame["value"] / frame["size"], 2)
    (finding,) = found(frame, "pair_leakage", target="value")
    assert (finding.severity, finding.columns) == ("critical", ["value_per_size", "size"])
    check_finding(finding, list(frame.columns))
    assert found(frame.assign(flag=frame["value"] > 50), "pair_leakage", target="flag") == []


def test_leak_message_and_suggestion(rng):
    frame = honest(rng).assign(alive=lambda f: np.where(f["y"] == 1, "yes", "no"))
    (finding,) = found(frame, "target_leakage", target="y")
    assert "AUC 1.000" in finding.message and f"{N:,} rows" in finding.message
    assert finding.suggestion.params == {"columns": ["alive"]}


# --- the finding objects -------------------------------------------------------------------

def test_findings_are_sorted_most_serious_first(rng):
    frame = honest(rng).assign(leak=lambda f: f["y"], id=np.arange(N))
    frame.loc[:5, "x"] = np.nan
    severities = [f.severity for f in issues(frame, target="y")]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
    assert severities[0] == "critical" and severities[-1] == "info"


PARAMS = {"drop_columns": {"columns"}, "set_role": {"column", "role"},
          "set_encoding": {"column", "encoding"}, "drop_duplicate_rows": set(),
          "set_metric": {"metric"}, "set_class_weight": {"value"},
          "set_outliers": {"column", "method"}, "add_missing_indicator": {"columns"},
          "set_imputation": {"column", "strategy"}, "parse_dates": {"column"},
          "set_target": {"column"}}


def check_finding(finding, columns):
    data = finding.to_dict()
    json.dumps(data, allow_nan=False)
    assert set(data) == {"code", "severity", "columns", "message", "suggestion", "why"}
    assert data["severity"] in SEVERITIES and data["message"] and data["why"]
    assert set(data["columns"]) <= set(columns)
    if data["suggestion"] is not None:
        assert data["suggestion"]["action"] in ACTIONS
        assert set(data["suggestion"]["params"]) == PARAMS[data["suggestion"]["action"]]
        for key in ("column", "columns"):
            named = data["suggestion"]["params"].get(key, [])
            assert set([named] if isinstance(named, str) else named) <= set(columns)


# --- the real datasets ---------------------------------------------------------------------

MODERATE = "every column with some (under 40%) missing values"
EXPECTED = {
    "titanic": {("missing_values", "warning", ("deck",)), ("duplicate_rows", "info", ()),
                ("missing_values", "info", MODERATE),
                ("duplicate_columns", "info", ("pclass", "class")),
                ("duplicate_columns", "info", ("embarked", "embark_town"))},
    "adult": {("duplicate_rows", "warning", ()), ("missing_values", "info", MODERATE),
              ("duplicate_columns", "info", ("education_num", "education"))},
    "bank_marketing": {("imbalanced_target", "warning", ("y",)), ("duplicate_rows", "info", ()),
                       ("outliers", "info", ("previous",)), ("class_weights", "info", ("y",))},
    "german_credit": set(),
    "churn": {("identifier", "warning", ("RowNumber",)), ("identifier", "warning", ("CustomerId",)),
              ("high_cardinality", "warning", ("Surname",)), ("missing_values", "info", MODERATE)},
    "soybean": {("imbalanced_target", "warning", ("Class",)), ("duplicate_rows", "info", ()),
                ("missing_values", "info", MODERATE), ("class_weights", "info", ("Class",)),
                ("correlated_features", "info", ("leaf.halo", "leaf.marg")),
                ("small_classes", "info", ("Class",))},
    "california_housing": {("missing_values", "info", MODERATE),
                           ("correlated_features", "info", ("total_bedrooms", "households"))},
    "life_expectancy": {("high_cardinality", "warning", ("Country",)),
                        ("correlated_features", "info", ("infant deaths", "under-five deaths ")),
                        ("correlated_features", "info", ("percentage expenditure", "GDP"))},
}


@pytest.fixture(scope="module")
def real_findings(datasets_dir):
    """Each catalogue dataset: (frame, target, findings)."""
    results = {}
    for d in json.loads((datasets_dir / "datasets.json").read_text())["datasets"]:
        frame = pd.read_csv(datasets_dir / d["file"])
        results[d["name"]] = (frame, d["target"], issues(frame, target=d["target"]))
    return results


@pytest.mark.parametrize("name", list(EXPECTED))
def test_real_dataset_findings_are_exactly_the_calibrated_ones(real_findings, name):
    frame, target, findings = real_findings[name]
    moderate = tuple(c for c in frame.columns
                     if c != target and 0 < frame[c].isna().mean() < 0.4)
    expected = {(code, severity, moderate if columns == MODERATE else columns)
                for code, severity, columns in EXPECTED[name]}
    assert {(f.code, f.severity, tuple(f.columns)) for f in findings} == expected
    for finding in findings:
        check_finding(finding, list(frame.columns))


def test_strong_honest_features_in_real_data_are_not_leaks(real_findings):
    flagged = {(name, f.columns[0]) for name, (_, _, findings) in real_findings.items()
               for f in findings if f.code == "target_leakage"}
    assert flagged == set()


def test_a_copy_of_the_target_in_real_data_is_critical(real_findings):
    frame = real_findings["titanic"][0].assign(alive=lambda f: f["survived"].map({0: "no",
                                                                                 1: "yes"}))
    assert leaks(frame, "survived") == {("alive", "critical")}
    housing = real_findings["california_housing"][0]
    housing = housing.assign(value_k=housing["median_house_value"] / 1000)
    assert leaks(housing, "median_house_value") == {("value_k", "critical")}


def test_calibration_doc_names_every_code_and_threshold(repo_root):
    doc = (repo_root / "docs" / "findings-calibration.md").read_text()
    codes = re.findall(r"``(\w+)``", core.explore._findings.__doc__)
    modules = (core.explore._findings, core.explore._pair_leaks, core.ingest._roles)
    thresholds = [name for module in modules for name in vars(module)
                  if name.isupper() and not name.startswith("_")
                  and name not in ("SEVERITIES", "ACTIONS", "ROLES", "TASKS")]
    missing = [name for name in codes + thresholds if name not in doc]
    assert missing == []
