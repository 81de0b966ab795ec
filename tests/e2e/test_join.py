"""Joining a second table in a real browser: upload customers, add their orders, join them
with a cutoff, train on the joined table, and predict a file with both tables on Use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from . import wait_for_app
from .test_journey import choose, go, shoot, train_quickly, upload

pytestmark = pytest.mark.slow


def _tables(folder):
    rng = np.random.default_rng(11)
    n, m = 300, 3000
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D")
    customers = pd.DataFrame({"customer_id": np.arange(1000, 1000 + n),
                              "signup_date": signup.strftime("%Y-%m-%d"),
                              "region": rng.choice(["north", "south", "east"], n)})
    orders = pd.DataFrame({"customer": rng.integers(1000, 1000 + n - 15, m),
                           "ordered_on": (pd.Timestamp("2023-09-01") + pd.to_timedelta(
                               rng.integers(0, 420, m), "D")).strftime("%Y-%m-%d"),
                           "amount": rng.gamma(2.0, 25.0, m).round(2)})
    before = orders.merge(customers, left_on="customer", right_on="customer_id")
    before = before[pd.to_datetime(before["ordered_on"]) < pd.to_datetime(before["signup_date"])]
    spent = before.groupby("customer_id")["amount"].sum().reindex(customers["customer_id"])
    customers["loyal"] = np.where(spent.fillna(0).to_numpy() > 120, "yes", "no")
    customers.to_csv(folder / "customers.csv", index=False)
    orders.to_csv(folder / "orders.csv", index=False)
    customers.drop(columns="loyal").head(40).to_csv(folder / "new_customers.csv", index=False)


def _upload_to(page, label: str, path) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label).first
    uploader.scroll_into_view_if_needed()
    uploader.locator("input[type=file]").set_input_files(str(path))
    wait_for_app(page, timeout_ms=60_000)


def test_join_a_related_table_train_on_it_and_predict_with_both(app_server, page, screenshot_dir,
                                                                tmp_path):
    _tables(tmp_path)
    page.goto(app_server)
    wait_for_app(page)
    upload(page, tmp_path / "customers.csv")
    page.get_by_text("300 rows × 4 columns").first.wait_for()

    _upload_to(page, "A related table", tmp_path / "orders.csv")
    page.get_by_text("find their customer_id in orders.customer").first.wait_for()
    page.get_by_text("Only events before each row's own prediction time").first.wait_for()
    shoot(page, screenshot_dir, "join-1-plan")
    page.get_by_role("button", name="Join orders").click()
    wait_for_app(page)
    page.get_by_text("Joined orders.csv.").first.wait_for()
    page.get_by_text("orders: one-to-many on customer_id = customer").first.wait_for()
    shoot(page, screenshot_dir, "join-2-joined")

    go(page, "Model")
    choose(page, "Target column", "loyal")
    page.get_by_role("button", name="Set the target").click()
    wait_for_app(page)
    train_quickly(page, budget="6")
    shoot(page, screenshot_dir, "join-3-train")

    go(page, "Use")
    _upload_to(page, "A CSV, Excel or Parquet file", tmp_path / "new_customers.csv")
    page.get_by_text("Waiting for orders.").first.wait_for()
    _upload_to(page, "The orders table", tmp_path / "orders.csv")
    page.get_by_text("40 rows predicted").first.wait_for(timeout=60_000)
    shoot(page, screenshot_dir, "join-4-use")
