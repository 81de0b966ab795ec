"""An Excel workbook in a real browser: upload it, pick the sheet with the table, and train."""

from __future__ import annotations

import numpy as np
import pytest
from openpyxl import Workbook

from . import wait_for_app
from .test_journey import choose, go, shoot, train_quickly, upload

pytestmark = pytest.mark.slow


def _workbook(path) -> None:
    """"Branches" first, then "Loans" with a title and a blank row above its table."""
    rng = np.random.default_rng(1)
    book = Workbook()
    book.active.title = "Branches"
    for row in [["branch", "opened"], ["Oslo", 1998], ["Rome", 2004], ["Lima", 2011]]:
        book.active.append(row)
    loans = book.create_sheet("Loans")
    loans.append(["Loan book, 2024"])
    loans.append([])
    loans.append(["income", "amount", "region", "defaulted"])
    for _ in range(240):
        income = round(rng.normal(50, 15), 1)
        amount = round(rng.normal(20, 8), 1)
        risk = amount / max(income, 1) + rng.normal(scale=0.1)
        loans.append([income, f"${amount * 1000:,.0f}", str(rng.choice(["north", "south"])),
                      "yes" if risk > 0.45 else "no"])
    book.save(path)


def test_upload_a_workbook_pick_its_sheet_and_train(app_server, page, screenshot_dir, tmp_path):
    path = tmp_path / "loans.xlsx"
    _workbook(path)
    page.goto(app_server)
    wait_for_app(page)
    upload(page, path)
    page.get_by_text("3 rows × 2 columns, Excel workbook, sheet 1 of 2").first.wait_for()
    choose(page, "Sheet", "Loans")
    page.get_by_text("Read sheet Loans").first.wait_for()
    page.get_by_text("Rows 1–2 above the table were skipped; the header is row 3.").first.wait_for()
    page.get_by_text("240 rows × 4 columns, Excel workbook, sheet 2 of 2").first.wait_for()
    shoot(page, screenshot_dir, "excel-1-data")

    go(page, "Model")
    choose(page, "Target column", "defaulted")
    page.get_by_role("button", name="Set the target").click()
    wait_for_app(page)
    train_quickly(page, budget="5")
    shoot(page, screenshot_dir, "excel-2-train")
    page.get_by_text("Best model:", exact=True).first.wait_for()
