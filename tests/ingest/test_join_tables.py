"""Tests for core.ingest._join_tables: joined tables with their own fingerprint, the joins the
command line plans from --with, --on and --cutoff, and the choices the Data page offers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import TabwrightError
from core.ingest._join_tables import (
    aggregate_options,
    joined_table,
    plan_joins,
    related_name,
    time_columns,
)
from core.ingest._read import read_table
from core.recipe import Aggregate, Cutoff, Join


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(2)
    n, m = 200, 1500
    customers = pd.DataFrame({
        "id": np.arange(n),
        "signup": (pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 100, n), "D"))
        .strftime("%Y-%m-%d"),
        "city": rng.choice(["Oslo", "Rome"], n)})
    orders = pd.DataFrame({
        "customer_id": rng.integers(0, n, m),
        "placed": (pd.Timestamp("2023-12-01") + pd.to_timedelta(rng.integers(0, 300, m), "D"))
        .strftime("%Y-%m-%d"),
        "total": rng.gamma(2.0, 10.0, m).round(2), "channel": rng.choice(["web", "shop"], m)})
    main = read_table(customers.to_csv(index=False).encode(), name="customers.csv")
    related = read_table(orders.to_csv(index=False).encode(), name="Orders 2024.csv")
    return main, related


def test_related_tables_are_named_after_their_files():
    assert related_name("Orders 2024.csv") == "orders_2024"
    assert related_name("visits.csv.gz") == "visits"
    assert related_name("Payments.XLSX") == "payments"
    assert related_name("???.csv") == "related"


def test_a_joined_table_keeps_the_main_rows_and_has_a_fingerprint_of_all_its_parts(tables):
    main, related = tables
    [join] = plan_joins(main, {"orders": related})
    table, reports = joined_table(main, {"orders": related}, [join])
    assert len(table.frame) == len(main.frame) and table.name == main.name
    assert "orders_count" in table.frame.columns
    assert table.fingerprint != main.fingerprint
    again, _ = joined_table(main, {"orders": related}, [join])
    assert again.fingerprint == table.fingerprint  # the same parts, the same fingerprint
    fewer = Join(**{**join.__dict__, "aggregates": join.aggregates[:1]})
    assert joined_table(main, {"orders": related}, [fewer])[0].fingerprint != table.fingerprint
    assert table.notes[-1].startswith("Joined orders")
    assert reports[0].relation_found == "one_to_many"
    assert joined_table(main, {}, []) == (main, ())
    with pytest.raises(TabwrightError, match="joined with 'orders'.*not given"):
        joined_table(main, {}, [join])


def test_plan_joins_follows_on_and_cutoff(tables):
    main, related = tables
    [join] = plan_joins(main, {"orders": related}, on="id=customer_id",
                        cutoff="signup:placed")
    assert (join.main_key, join.related_key) == ("id", "customer_id")
    assert join.cutoff == Cutoff(event_column="placed", main_column="signup")
    [dated] = plan_joins(main, {"orders": related}, cutoff="2024-04-01:placed")
    assert dated.cutoff == Cutoff(event_column="placed", date="2024-04-01")
    assert Aggregate("days_since_last") in dated.aggregates
    with pytest.raises(TabwrightError, match="cannot join the data with 'orders'"):
        plan_joins(main, {"orders": related}, on="city")
    with pytest.raises(TabwrightError, match="MAIN_TIME:EVENT_TIME"):
        plan_joins(main, {"orders": related}, cutoff="placed")


def test_the_data_page_offers_every_feature_and_every_dated_column(tables):
    main, related = tables
    assert time_columns(main.frame) == ["signup"]
    assert time_columns(related.frame) == ["placed"]
    [join] = plan_joins(main, {"orders": related}, cutoff="signup:placed")
    options = aggregate_options(related.frame, join)
    assert options[:len(join.aggregates)] == join.aggregates  # the chosen ones first
    assert Aggregate("min", "total") in options and Aggregate("last", "channel") in options
    assert Aggregate("sum", "channel") not in options
    assert not any(a.column in ("customer_id", "placed") for a in options)
    undated = Join(name="orders", main_key="id", related_key="customer_id",
                   relation="one_to_many", aggregates=[Aggregate("count")])
    assert not any(a.function in ("last", "days_since_last")
                   for a in aggregate_options(related.frame, undated))
