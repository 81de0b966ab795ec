"""Joins: suggested keys, refused fan-outs, cutoffs that keep the future out, and the script.

Every table is generated with a known answer; the property test compares every aggregate
with a row-by-row computation written the obvious (slow) way.
"""

import ast
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import cross_val_score
from sklearn.tree import DecisionTreeClassifier

from core.errors import TabwrightError
from core.formatting import format_number
from core.ingest import _join_keys
from core.ingest._join import (
    JoinReport,
    apply_joins,
    default_join,
    describe_joins,
    join_script,
    suggest_joins,
)
from core.recipe import AGGREGATES, Aggregate, Cutoff, Join, Recipe

DAY = pd.Timedelta(days=1)


def customers_and_orders(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers (signup_date = moment of prediction, churned = target) and their orders.

    Orders before and after signup follow the same distribution for everyone; each churned
    customer also places a final "refund" order (negative amount) 1–30 days AFTER signup. So
    the orders carry information about churn only through the future.
    """
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({
        "customer_id": rng.permutation(n) + 1,
        "signup_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        "age": rng.integers(18, 80, n),
        "churned": (rng.random(n) < 0.3).astype(int),
    })
    parts = []
    for before, low, high in ((True, -400, 0), (False, 1, 200)):
        counts = rng.poisson(6 if before else 3, n)
        owner = np.repeat(np.arange(n), counts)
        days = rng.integers(low, high, owner.size)
        parts.append(pd.DataFrame({
            "order_id": 0, "cust_id": customers["customer_id"].to_numpy()[owner],
            "amount": rng.gamma(2.0, 20.0, owner.size).round(2),
            "category": rng.choice(["books", "games", "music", "garden"], owner.size),
            "order_date": customers["signup_date"].to_numpy()[owner]
            + pd.to_timedelta(days, "D").to_numpy() - np.timedelta64(1, "h"),
            "quantity": rng.integers(1, 9, owner.size)}))
    churned = np.flatnonzero(customers["churned"].to_numpy() == 1)
    parts.append(pd.DataFrame({
        "order_id": 0, "cust_id": customers["customer_id"].to_numpy()[churned],
        "amount": -rng.uniform(20, 100, churned.size).round(2), "category": "refund",
        "order_date": customers["signup_date"].to_numpy()[churned]
        + pd.to_timedelta(rng.integers(1, 31, churned.size), "D").to_numpy(),
        "quantity": 1}))
    orders = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)
    orders["order_id"] = np.arange(1, len(orders) + 1)
    return customers, orders.reset_index(drop=True)


def cv_auc(feature: pd.Series, target: pd.Series) -> float:
    """Cross-validated ROC-AUC of a shallow tree on one feature (missing values allowed)."""
    tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=20, random_state=0)
    return float(cross_val_score(tree, feature.to_frame().astype(float), target, cv=5,
                                 scoring="roc_auc").mean())


def orders_join(*aggregates: tuple[str, str | None], cutoff: Cutoff | None = None) -> Join:
    return Join(name="orders", main_key="customer_id", related_key="cust_id",
                relation="one_to_many", aggregates=[Aggregate(f, c) for f, c in aggregates],
                cutoff=cutoff)


LEAKY = (("count", None), ("sum", "amount"), ("min", "amount"), ("nunique", "category"))


# --- (a) the cutoff keeps the future out ---------------------------------------------------

def test_without_a_cutoff_future_refunds_leak_the_target_and_with_it_nothing_does():
    customers, orders = customers_and_orders()
    leaky = apply_joins(customers, {"orders": orders}, [orders_join(*LEAKY)])
    safe = apply_joins(customers, {"orders": orders}, [orders_join(
        *LEAKY, ("last", "amount"), ("days_since_last", None),
        cutoff=Cutoff("order_date", main_column="signup_date"))])
    target = customers["churned"]
    assert cv_auc(leaky.table["orders_min_amount"], target) > 0.95
    assert cv_auc(leaky.table["orders_nunique_category"], target) > 0.75
    for column in safe.reports[0].columns_added:
        assert cv_auc(safe.table[column], target) < 0.6, column
    assert leaky.reports[0].warnings[0] == (
        "Without a cutoff, the aggregates may include events after the moment of prediction "
        "(leakage).")
    assert not any("cutoff" in w for w in safe.reports[0].warnings)
    after = (orders["order_date"].to_numpy() >= customers.set_index("customer_id").loc[
        orders["cust_id"], "signup_date"].to_numpy()).sum()
    assert safe.reports[0].events_excluded_by_cutoff == after


# --- (b) fan-out and relation refusals -----------------------------------------------------

def test_a_many_to_one_join_whose_related_keys_repeat_is_refused_with_examples():
    main = pd.DataFrame({"plan_id": [1, 2, 3, 1]})
    plans = pd.DataFrame({"id": [1, 2, 2, 3, 3, 3], "price": [5, 9, 9, 20, 21, 22]})
    join = Join(name="plans", main_key="plan_id", related_key="id", relation="many_to_one")
    with pytest.raises(TabwrightError) as caught:
        apply_joins(main, {"plans": plans}, [join])
    assert "2 values of 'id' repeat in 'plans' (e.g. 2 ×2, 3 ×3)" in caught.value.message
    assert "1 value of 'id' repeats" in _refusal(pd.DataFrame({"id": [1, 1], "price": [1, 2]}))
    assert "repeat main rows" in caught.value.message
    assert "one-to-many" in caught.value.hint


def _refusal(plans: pd.DataFrame) -> str:
    with pytest.raises(TabwrightError) as caught:
        apply_joins(pd.DataFrame({"plan_id": [1]}), {"plans": plans},
                    [Join(name="plans", main_key="plan_id", related_key="id")])
    return caught.value.message


def test_a_one_to_one_join_whose_main_keys_repeat_is_refused_as_many_to_one():
    main = pd.DataFrame({"plan_id": [1, 2, 1]})
    plans = pd.DataFrame({"id": [1, 2], "price": [5, 9]})
    with pytest.raises(TabwrightError, match="the data is many-to-one") as caught:
        apply_joins(main, {"plans": plans}, [Join("plans", "plan_id", "id", "one_to_one")])
    assert "many_to_one" in caught.value.hint
    joined = apply_joins(main, {"plans": plans}, [Join("plans", "plan_id", "id", "many_to_one")])
    assert joined.table["plans_price"].tolist() == [5, 9, 5]
    assert joined.reports[0].relation_found == "many_to_one"


def test_a_one_to_many_join_on_unique_related_keys_runs_and_says_so():
    main = pd.DataFrame({"customer_id": [1, 2]})
    orders = pd.DataFrame({"cust_id": [1], "amount": [3.0]})
    result = apply_joins(main, {"orders": orders}, [orders_join(("sum", "amount"))])
    assert result.table["orders_sum_amount"].tolist() == [3.0, 0.0]
    assert result.reports[0].relation_found == "one_to_one"
    assert any("at most once" in w for w in result.reports[0].warnings)


# --- (c) unmatched rows --------------------------------------------------------------------

def test_unmatched_and_missing_keys_are_counted_and_get_missing_values_but_zero_counts():
    main = pd.DataFrame({"customer_id": [1, 2, 3, None], "x": list("abcd")}, index=[9, 7, 7, 5])
    orders = pd.DataFrame({"cust_id": [1, 1, 2, None, 8], "amount": [2.0, 4.0, 1.0, 5.0, 6.0],
                           "category": ["a", "b", "a", "a", "c"]})
    result = apply_joins(main, {"orders": orders}, [orders_join(
        ("count", None), ("sum", "amount"), ("mean", "amount"), ("max", "amount"),
        ("nunique", "category"))])
    table = result.table
    assert table.index.tolist() == [9, 7, 7, 5]
    assert table["orders_count"].tolist() == [2, 1, 0, 0]
    assert table["orders_count"].dtype == np.int64
    assert table["orders_sum_amount"].tolist() == [6.0, 1.0, 0.0, 0.0]
    assert table["orders_nunique_category"].tolist() == [2, 1, 0, 0]
    assert table["orders_mean_amount"].iloc[2:].isna().all()
    assert table["orders_max_amount"].tolist()[:2] == [4.0, 1.0]
    report = result.reports[0]
    assert (report.matched_rows, report.unmatched_rows) == (2, 2)
    assert report.unmatched_share == 0.5
    json.dumps(report.to_dict(), allow_nan=False)


def test_a_lookup_join_leaves_unmatched_rows_missing_and_adds_prefixed_columns():
    main = pd.DataFrame({"plan_id": [2, 9, 1]})
    plans = pd.DataFrame({"id": [1, 2], "price": [5, 9], "label": ["basic", "pro"]})
    result = apply_joins(main, {"plans": plans}, [Join("plans", "plan_id", "id")])
    assert list(result.table.columns) == ["plan_id", "plans_price", "plans_label"]
    assert result.table["plans_price"].tolist()[::2] == [9.0, 5.0]
    assert result.table["plans_label"].isna().tolist() == [False, True, False]
    assert result.reports[0].unmatched_rows == 1
    only_price = apply_joins(main, {"plans": plans}, [Join("plans", "plan_id", "id",
                                                           columns=["price"])])
    assert list(only_price.table.columns) == ["plan_id", "plans_price"]


# --- (d) keys of different types -----------------------------------------------------------

def test_whole_number_keys_match_text_with_leading_zeros_and_spaces():
    main = pd.DataFrame({"customer_id": [7, 8, 12, 13]})
    orders = pd.DataFrame({"cust_id": ["007", " 8 ", "012", "x1", "7.0", ""],
                           "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    result = apply_joins(main, {"orders": orders}, [orders_join(("sum", "amount"))])
    assert result.table["orders_sum_amount"].tolist() == [6.0, 2.0, 3.0, 0.0]
    warnings = " ".join(result.reports[0].warnings)
    assert "compared as numbers" in warnings
    assert "1 row of orders has a cust_id that is no number (e.g. 'x1')" in warnings
    (suggestion,) = [s for s in suggest_joins(main, orders, name="orders")
                     if s.related_key == "cust_id"]
    assert suggestion.type_note.startswith("customer_id holds numbers and cust_id holds text")
    assert "3 of 4 main rows match" in suggestion.type_note


def test_float_keys_that_are_whole_match_integers_and_missing_keys_never_match():
    main = pd.DataFrame({"k": [1.0, 2.0, np.nan]})
    related = pd.DataFrame({"k": [1, 2, 3], "v": ["a", "b", "c"]})
    result = apply_joins(main, {"r": related}, [Join("r", "k", "k")])
    assert result.table["r_v"].tolist()[:2] == ["a", "b"]
    assert pd.isna(result.table["r_v"].iloc[2])
    text_keys = pd.DataFrame({"k": ["a", None, "b "]})
    text_related = pd.DataFrame({"k": ["a", "b", None], "v": [1, 2, 3]})
    joined = apply_joins(text_keys, {"r": text_related}, [Join("r", "k", "k")]).table
    assert joined["r_v"].tolist()[0::2] == [1.0, 2.0]
    assert pd.isna(joined["r_v"].iloc[1])


def test_keys_that_cannot_hold_the_same_values_are_refused_in_words():
    main = pd.DataFrame({"day": pd.to_datetime(["2024-01-01"])})
    related = pd.DataFrame({"day": ["monday"], "v": [1]})
    with pytest.raises(TabwrightError, match="which holds dates, with 'day', which holds text"):
        apply_joins(main, {"r": related}, [Join("r", "day", "day")])
    with pytest.raises(TabwrightError, match="holds text such as 'A12', which is no number"):
        apply_joins(pd.DataFrame({"k": [1]}), {"r": pd.DataFrame({"k": ["A12"], "v": [1]})},
                    [Join("r", "k", "k")])


# --- (e) repeated keys on the "one" side ---------------------------------------------------

def test_repeats_on_the_side_that_should_be_one_are_reported():
    rng = np.random.default_rng(3)
    main = pd.DataFrame({"plan_id": rng.integers(1, 301, 2000)})
    plans = pd.DataFrame({"id": np.r_[np.arange(1, 301), [17]], "price": rng.random(301)})
    best = suggest_joins(main, plans, name="plans")[0]
    assert (best.main_key, best.related_key, best.relation) == ("plan_id", "id", "many_to_one")
    assert best.duplicate_keys == 1
    assert "refused until they are removed" in best.evidence
    with pytest.raises(TabwrightError, match=r"\(e\.g\. 17 ×2\)"):
        apply_joins(main, {"plans": plans}, [default_join(main, plans, best, name="plans")])

    customers = pd.DataFrame({"customer_id": [1, 2, 2, 3]})
    orders = pd.DataFrame({"cust_id": [1, 1, 2, 2, 3, 3], "amount": [1.0] * 6})
    suggestion = suggest_joins(customers, orders, name="orders")[0]
    assert (suggestion.relation, suggestion.duplicate_keys) == ("one_to_many", 1)
    report = apply_joins(customers, {"orders": orders},
                         [orders_join(("count", None))]).reports[0]
    assert (report.main_duplicate_keys, report.related_duplicate_keys) == (1, 3)


# --- (f) property: exactly the main rows, and every aggregate right --------------------------

def expected_aggregates(main: pd.DataFrame, related: pd.DataFrame, join: Join) -> pd.DataFrame:
    """Every aggregate computed row by row, the obvious way."""
    def number(value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return int(float(str(value).strip()))

    related_keys = [number(v) for v in related["key"]]
    rows = []
    for i in range(len(main)):
        key = number(main["key"].iloc[i])
        cutoff = None
        if join.cutoff is not None:
            cutoff = main["cut"].iloc[i] if join.cutoff.main_column else \
                pd.Timestamp(join.cutoff.date)
        matched = key is not None and key in related_keys
        out: dict = {}
        if matched and join.cutoff is not None and pd.isna(cutoff):
            rows.append({aggregate_column(a): np.nan for a in join.aggregates})
            continue
        events = [i for i, k in enumerate(related_keys) if matched and k == key and (
            join.cutoff is None or (not pd.isna(related["t"].iloc[i])
                                    and related["t"].iloc[i] < cutoff))]
        values = related["v"].iloc[events]
        labels = related["label"].iloc[events]
        times = related["t"].iloc[events] if join.cutoff is not None else None
        for a in join.aggregates:
            name = aggregate_column(a)
            if a.function == "count":
                out[name] = len(events)
            elif a.function == "sum":
                out[name] = float(values.sum())
            elif a.function in ("mean", "min", "max"):
                out[name] = getattr(values.dropna(), a.function)() if values.notna().any() \
                    else np.nan
            elif a.function == "nunique":
                out[name] = labels.dropna().nunique()
            elif a.function == "days_since_last":
                out[name] = (cutoff - times.max()) / DAY if events else np.nan
            else:  # last: the latest event with a value; the later related row on a tie
                column = related[a.column].iloc[events]
                candidates = [(times.iloc[j], events[j]) for j in range(len(events))
                              if pd.notna(column.iloc[j])]
                out[name] = related[a.column].iloc[max(candidates)[1]] if candidates else np.nan
        rows.append(out)
    return pd.DataFrame(rows, columns=[aggregate_column(a) for a in join.aggregates])


def aggregate_column(aggregate: Aggregate) -> str:
    return _join_keys.aggregate_name("r", aggregate.function, aggregate.column)


DATES = st.sampled_from([pd.NaT] + list(pd.date_range("2024-01-01", periods=5, freq="D")))


@st.composite
def joined_tables(draw):
    n_main, n_related = draw(st.integers(0, 12)), draw(st.integers(0, 25))
    keys = st.one_of(st.none(), st.integers(1, 6))
    main = pd.DataFrame({
        "key": pd.array(draw(st.lists(keys, min_size=n_main, max_size=n_main)), dtype="Float64"
                        ).astype(float),
        "cut": pd.to_datetime(draw(st.lists(DATES, min_size=n_main, max_size=n_main))),
    }, index=draw(st.lists(st.integers(-3, 3), min_size=n_main, max_size=n_main)))
    related_keys = draw(st.lists(keys, min_size=n_related, max_size=n_related))
    if draw(st.booleans()):  # the same keys written as text: zero-padded, spaced
        related_keys = [None if k is None else draw(st.sampled_from([f"{k:03d}", f" {k}", str(k)]))
                        for k in related_keys]
    related = pd.DataFrame({
        "key": pd.Series(related_keys, dtype=object),
        "t": pd.to_datetime(draw(st.lists(DATES, min_size=n_related, max_size=n_related))),
        "v": draw(st.lists(st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)),
                           min_size=n_related, max_size=n_related)),
        "label": pd.Series(draw(st.lists(st.sampled_from([None, "a", "b", "c"]),
                                         min_size=n_related, max_size=n_related)), dtype=object),
    })
    related["v"] = related["v"].astype(float)
    cutoff = draw(st.sampled_from([None, Cutoff("t", main_column="cut"),
                                   Cutoff("t", date="2024-01-03")]))
    functions = [f for f in AGGREGATES if cutoff is not None or f not in ("last", "days_since_last")]
    aggregates = [Aggregate(f, None if f in ("count", "days_since_last") else
                            ("label" if f == "nunique" else "v")) for f in functions]
    if cutoff is not None:
        aggregates.append(Aggregate("last", "label"))
    relation = draw(st.sampled_from(["one_to_many", "many_to_one"]))
    if relation == "one_to_many":
        join = Join("r", "key", "key", relation, aggregates=aggregates, cutoff=cutoff)
    else:
        join = Join("r", "key", "key", relation, columns=["v", "label"])
    return main, related, join


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(joined_tables())
def test_the_joined_table_always_has_the_main_rows_and_every_aggregate_is_right(tables):
    main, related, join = tables
    if join.relation == "many_to_one":
        keys = related["key"].dropna().astype(str).str.strip()
        if main["key"].notna().any():  # text is read as numbers against numbers only
            keys = keys.astype(int)
        if keys.duplicated().any():
            with pytest.raises(TabwrightError, match="joining would repeat main rows"):
                apply_joins(main, {"r": related}, [join])
            return
    table = apply_joins(main, {"r": related}, [join]).table
    assert len(table) == len(main)
    assert table.index.equals(main.index)
    pd.testing.assert_frame_equal(table[list(main.columns)], main)
    if join.relation == "many_to_one":
        return
    expected = expected_aggregates(main, related, join)
    for column in expected:
        got, want = table[column].to_numpy(), expected[column].to_numpy()
        if column.endswith("_last_label"):
            assert [None if pd.isna(x) else x for x in got] == \
                [None if pd.isna(x) else x for x in want], column
        else:
            np.testing.assert_allclose(got.astype(float), want.astype(float), rtol=1e-9,
                                       atol=1e-9, err_msg=column)


# --- (g) strictly before the cutoff --------------------------------------------------------

def test_an_event_exactly_at_the_cutoff_is_excluded_and_one_just_before_is_seen():
    cut = pd.Timestamp("2024-03-01 12:00")
    main = pd.DataFrame({"customer_id": [1, 2], "as_of": [cut, cut]})
    orders = pd.DataFrame({"cust_id": [1, 2, 2],
                           "order_date": [cut, cut - pd.Timedelta(1, "ns"), cut],
                           "amount": [10.0, 20.0, 30.0]})
    join = orders_join(("count", None), ("sum", "amount"), ("last", "amount"),
                       ("days_since_last", None), cutoff=Cutoff("order_date", main_column="as_of"))
    result = apply_joins(main, {"orders": orders}, [join])
    assert result.table["orders_count"].tolist() == [0, 1]
    assert result.table["orders_sum_amount"].tolist() == [0.0, 20.0]
    assert pd.isna(result.table["orders_last_amount"].iloc[0])
    assert result.table["orders_last_amount"].iloc[1] == 20.0
    assert result.table["orders_days_since_last"].iloc[1] == pytest.approx(1e-9 / 86_400)
    assert result.reports[0].events_excluded_by_cutoff == 2

    fixed = orders_join(("count", None), cutoff=Cutoff("order_date", date="2024-03-01T12:00"))
    assert apply_joins(main, {"orders": orders}, [fixed]).table["orders_count"].tolist() == [0, 1]


def test_rows_without_a_cutoff_get_missing_features_and_events_without_a_time_are_left_out():
    main = pd.DataFrame({"customer_id": [1, 2, 3], "as_of": ["2024-02-01", None, "2024-02-01"]})
    orders = pd.DataFrame({"cust_id": [1, 1, 2, 9], "amount": [1.0, 2.0, 3.0, 4.0],
                           "order_date": ["2024-01-05", "not a date", "2024-01-05",
                                          "2024-01-01"]})
    join = orders_join(("count", None), ("sum", "amount"),
                       cutoff=Cutoff("order_date", main_column="as_of"))
    result = apply_joins(main, {"orders": orders}, [join])
    assert result.table["orders_count"].tolist()[0::2] == [1.0, 0.0]
    assert result.table["orders_count"].isna().tolist() == [False, True, False]
    assert result.table["orders_sum_amount"].isna().tolist() == [False, True, False]
    report = result.reports[0]
    assert (report.rows_missing_cutoff, report.events_missing_time) == (1, 1)
    assert any("missing, even the count" in w for w in report.warnings)
    assert any("no readable order_date" in w for w in report.warnings)


# --- (h) the exported script computes the same table ---------------------------------------

def test_the_join_script_reproduces_apply_joins_exactly():
    customers, orders = customers_and_orders(n=300, seed=4)
    customers.index = customers.index[::-1] * 3
    customers.loc[customers.index[:5], "signup_date"] = pd.NaT
    customers["plan_id"] = np.arange(len(customers)) % 4
    plans = pd.DataFrame({"id": ["0", "1", "2 "], "price": [0.0, 9.5, 20.0],
                          "tier": pd.Categorical(["free", "basic", "pro"])})
    joins = [
        default_join(customers, orders, suggest_joins(customers, orders, name="orders")[0],
                     name="orders"),
        Join("recent", "customer_id", "cust_id", "one_to_many",
             aggregates=[Aggregate("count"), Aggregate("min", "amount"),
                         Aggregate("last", "category")],
             cutoff=Cutoff("order_date", date="2023-06-01")),
        Join("plans", "plan_id", "id", "many_to_one"),
    ]
    related = {"orders": orders, "recent": orders, "plans": plans}
    expected = apply_joins(customers, related, joins).table
    namespace: dict = {}
    exec(compile(join_script(joins), "join_script", "exec"), namespace)
    pd.testing.assert_frame_equal(namespace["apply_joins"](customers, related), expected)
    assert expected["plans_tier"].dtype == "category"


def test_the_code_copied_into_scripts_uses_only_pandas_and_numpy():
    tree = ast.parse(Path(_join_keys.__file__).read_text(encoding="utf-8"))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules == {"numpy", "pandas", "typing", "warnings"}
    top_level = {type(node).__name__ for node in tree.body}
    assert top_level <= {"Expr", "Import", "ImportFrom", "ClassDef", "FunctionDef"}


# --- (i) suggestions -----------------------------------------------------------------------

def test_the_target_and_a_handful_of_small_codes_are_never_suggested_as_keys():
    """An unrelated table's small numbers (0-6) match a 0/1 target on every row by chance:
    joined on, they put the answer among the inputs (CV ROC-AUC 1.0) and new rows lack it."""
    rng = np.random.default_rng(4)
    main = pd.DataFrame({"visits": rng.integers(0, 7, 300), "churned": rng.integers(0, 2, 300)})
    other = pd.DataFrame({"parch": rng.integers(0, 7, 50), "fare": rng.normal(size=50)})
    assert suggest_joins(main, other, name="other") == []
    assert all(s.main_key != "churned" for s in suggest_joins(main, main.rename(
        columns={"churned": "churned"}), name="copy", target="churned"))
    named = pd.DataFrame({"visits": range(7), "label": list("abcdefg")})
    assert suggest_joins(main, named, name="visit_labels")[0].main_key == "visits"  # alike names
    # a lookup table, one row per code, is a key however few its codes and unlike its name
    shops = pd.DataFrame({"id": range(7), "size": rng.normal(size=7)})
    best = suggest_joins(main, shops, name="shops")[0]
    assert (best.main_key, best.related_key, best.relation) == ("visits", "id", "many_to_one")
    # and a pair a person names is checked as named
    assert [(s.main_key, s.related_key) for s in suggest_joins(
        main, other, name="other", pair=("visits", "parch"))] == [("visits", "parch")]



def test_suggestions_rank_the_true_key_first_with_its_relation():
    customers, orders = customers_and_orders(n=800, seed=1)
    orders["product_code"] = np.random.default_rng(1).integers(1, 90, len(orders))
    suggestions = suggest_joins(customers, orders, name="orders")
    best = suggestions[0]
    assert (best.main_key, best.related_key, best.relation) == ("customer_id", "cust_id",
                                                                "one_to_many")
    assert best.match_share > 0.99 and best.duplicate_keys == 0
    assert best.type_note is None
    assert "one-to-many" in best.evidence
    decoy = next(s for s in suggestions if s.related_key == "order_id")
    assert decoy.score < best.score - 0.15
    json.dumps([s.to_dict() for s in suggestions], allow_nan=False)

    plans = pd.DataFrame({"id": [1, 2, 3], "price": [0.0, 9.5, 20.0]})
    customers["plan_id"] = np.arange(len(customers)) % 3 + 1
    best = suggest_joins(customers, plans, name="plans")[0]
    assert (best.main_key, best.related_key, best.relation) == ("plan_id", "id", "many_to_one")

    people = pd.DataFrame({"person": ["p1", "p2"], "age": [30, 40]})
    profiles = pd.DataFrame({"person": ["p2", "p1"], "city": ["Oslo", "Rome"]})
    best = suggest_joins(people, profiles, name="profiles")[0]
    assert (best.main_key, best.related_key, best.relation) == ("person", "person", "one_to_one")


# --- the default join ----------------------------------------------------------------------

def test_the_default_join_summarises_orders_before_each_rows_prediction_time():
    customers, orders = customers_and_orders(n=400, seed=2)
    customers["birth_date"] = pd.Timestamp("1980-01-01") + pd.to_timedelta(
        np.arange(len(customers)), "D")
    suggestion = suggest_joins(customers, orders, name="orders")[0]
    join = default_join(customers, orders, suggestion, name="orders")
    assert join.cutoff == Cutoff("order_date", main_column="signup_date")
    functions = [(a.function, a.column) for a in join.aggregates]
    assert functions[:2] == [("count", None), ("days_since_last", None)]
    assert {("sum", "amount"), ("mean", "amount"), ("max", "amount"), ("last", "amount"),
            ("nunique", "category"), ("last", "category")} <= set(functions)
    assert not any(c == "order_id" for _, c in functions)
    assert len(functions) <= 15
    Recipe(joins=[join]).validate(columns=list(customers.columns))
    result = apply_joins(customers, {"orders": orders}, [join])
    assert result.reports[0].warnings == []

    without_dates = customers.drop(columns=["signup_date", "birth_date"])
    plain = default_join(without_dates, orders, suggestion, name="orders")
    assert plain.cutoff is None
    assert {a.function for a in plain.aggregates} <= {"count", "sum", "mean", "max", "nunique"}
    report = apply_joins(without_dates, {"orders": orders}, [plain]).reports[0]
    assert "leakage" in report.warnings[0]


def test_the_default_feature_count_stays_small_on_a_wide_related_table():
    rng = np.random.default_rng(0)
    main = pd.DataFrame({"customer_id": np.arange(1, 101)})
    wide = pd.DataFrame({"customer_id": rng.integers(1, 101, 3000)})
    for i in range(12):
        wide[f"measure_{i}"] = rng.normal(size=3000)
    suggestion = suggest_joins(main, wide, name="wide")[0]
    join = default_join(main, wide, suggestion, name="wide")
    assert 10 <= len(join.aggregates) <= 15


# --- errors and words ----------------------------------------------------------------------

def test_a_new_column_that_collides_with_a_main_column_is_refused_by_name():
    main = pd.DataFrame({"customer_id": [1], "orders_count": [3]})
    orders = pd.DataFrame({"cust_id": [1], "amount": [1.0]})
    with pytest.raises(TabwrightError, match="would add the column 'orders_count'"):
        apply_joins(main, {"orders": orders}, [orders_join(("count", None))])


@pytest.mark.parametrize("join, related, message", [
    (orders_join(("count", None)), {}, "needs the related table 'orders', got tables none"),
    (Join("orders", "customer_id", "cust", "one_to_many", aggregates=[Aggregate("count")]),
     None, "needs the key 'cust', but the table 'orders' has no column"),
    (orders_join(("sum", "category")), None, "sum of 'category' needs numbers, got text"),
    (orders_join(("count", None), cutoff=Cutoff("amount", date="2024-01-01")), None,
     "reads 'amount' as a time, but it holds numbers"),
    (orders_join(("count", None), cutoff=Cutoff("category", date="2024-01-01")), None,
     "none of its values is a readable date"),
])
def test_joins_that_cannot_run_say_what_is_wrong(join, related, message):
    main = pd.DataFrame({"customer_id": [1, 2]})
    orders = pd.DataFrame({"cust_id": [1, 2], "amount": [1.0, 2.0], "category": ["a", "b"]})
    with pytest.raises(TabwrightError, match=message):
        apply_joins(main, {"orders": orders} if related is None else related, [join])


def test_describe_joins_says_what_was_joined_and_what_did_not_match():
    customers, orders = customers_and_orders(n=200, seed=5)
    customers.loc[:9, "customer_id"] += 10_000
    join = orders_join(("count", None), ("sum", "amount"),
                       cutoff=Cutoff("order_date", main_column="signup_date"))
    result = apply_joins(customers, {"orders": orders}, [join])
    (sentence,) = describe_joins([join], result.reports)
    assert sentence == (f"Joined orders ({format_number(len(orders))} rows) on customer_id = cust_id, "
                        "one-to-many: 2 features per customer from orders before each row's "
                        "signup_date; 10 main rows (5%) had no orders.")
    assert describe_joins([orders_join(("count", None))]) == [(
        "Joins orders on customer_id = cust_id, one-to-many: 1 feature per customer from "
        "orders (all of them: no cutoff, so they may include the future).")]


def test_progress_is_reported_from_zero_to_one():
    main = pd.DataFrame({"customer_id": [1, 2]})
    orders = pd.DataFrame({"cust_id": [1, 2], "amount": [1.0, 2.0]})
    seen: list[float] = []
    apply_joins(main, {"orders": orders, "more": orders},
                [orders_join(("count", None)),
                 Join("more", "customer_id", "cust_id", "one_to_one")],
                progress=lambda fraction, message: seen.append(fraction))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_the_report_is_json_safe_data():
    customers, orders = customers_and_orders(n=50)
    result = apply_joins(customers, {"orders": orders}, [orders_join(("count", None))])
    (report,) = result.reports
    assert isinstance(report, JoinReport)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["columns_added"] == ["orders_count"] and data["unmatched_rows"] == 0
