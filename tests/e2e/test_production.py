"""The production run in a real browser: train twice, promote one run, then the other, roll back.

Screenshots of the Runs page at each step go to test-output/screenshots/production-*.png.
"""

from __future__ import annotations

import re

import pytest

from . import wait_for_app
from .test_journey import choose, go, shoot, train_quickly, upload

pytestmark = pytest.mark.slow

PROMOTE_BOX = "Run to promote"


def run_options(page) -> list[str]:
    """The runs the promote box offers, newest first, as the page labels them."""
    box = page.get_by_role("combobox", name=PROMOTE_BOX).first
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=5_000)
    texts = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    wait_for_app(page)
    return texts


def badges(page) -> dict[str, str]:
    """The run list's Production column by the run's time (to the second).

    The table is drawn on a canvas; its accessible copy holds the text of the visible cells.
    """
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    headers = grid.locator("th").all_text_contents()
    if not {"When (UTC)", "Production"} <= set(headers):  # not drawn yet
        return {"headers": " | ".join(headers)}
    cells = grid.locator("td").all_text_contents()
    rows = [dict(zip(headers, cells[i:i + len(headers)])) for i in range(0, len(cells), len(headers))]
    return {row["When (UTC)"][:19]: row["Production"] for row in rows}


def expect_badges(page, wanted: dict[str, str], timeout_ms: int = 10_000) -> None:
    """Wait until the run list shows ``wanted`` (run time → Production cell)."""
    shown = {}
    for _ in range(timeout_ms // 250):
        shown = badges(page)
        if shown == wanted:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the run list shows {shown}, not {wanted}")


def shoot_top(page, screenshot_dir, name: str) -> None:
    """A screenshot from the top of the page: the production line and the run list."""
    page.get_by_role("heading", name="Runs").first.scroll_into_view_if_needed()
    shoot(page, screenshot_dir, name)


def promote(page, option: str, why: str) -> None:
    choose(page, PROMOTE_BOX, option)
    page.get_by_label("Why this run? (required)").fill(why)
    page.get_by_role("button", name="Promote to production").click()
    wait_for_app(page, timeout_ms=30_000)


def test_promote_two_runs_one_after_the_other_and_roll_back(app_server, page, datasets_dir,
                                                            screenshot_dir):
    page.goto(app_server)
    wait_for_app(page)
    upload(page, datasets_dir / "titanic.csv")
    go(page, "Model")
    choose(page, "Target column", "survived")
    page.get_by_role("button", name="Set the target").click()
    wait_for_app(page)
    train_quickly(page, "5")
    train_quickly(page, "6")

    go(page, "Runs")
    page.get_by_text("No run of titanic is in production yet").first.wait_for()
    newest, oldest = run_options(page)
    new, old = newest[:19], oldest[:19]  # each label starts with the run's time
    expect_badges(page, {new: "", old: ""})
    shoot_top(page, screenshot_dir, "production-0-none")

    promote(page, oldest, "first model: a quick baseline")
    in_production = page.get_by_text(re.compile(r"^In production:")).first
    in_production.wait_for()
    line = page.locator('[data-testid="stAlert"]').filter(has_text="In production:").first.inner_text()
    assert oldest in line and "first model: a quick baseline" in line and "promoted by" in line
    expect_badges(page, {new: "", old: "🏆 production"})  # the badge is on the first run
    assert page.get_by_label("Why this run? (required)").input_value() == ""  # cleared once sent
    shoot_top(page, screenshot_dir, "production-1-first-promoted")

    promote(page, newest, "second model: a bigger budget")
    page.get_by_text("second model: a bigger budget").first.wait_for()
    line = page.locator('[data-testid="stAlert"]').filter(has_text="In production:").first.inner_text()
    assert newest in line and "second model: a bigger budget" in line
    expect_badges(page, {new: "🏆 production", old: ""})  # the badge moved
    shoot(page, screenshot_dir, "production-2-second-promoted")

    page.get_by_label("Why roll back? (required)").fill("the bigger model is slower")
    page.get_by_role("button", name=re.compile(r"^Roll back to ")).click()
    wait_for_app(page)
    page.get_by_text("the bigger model is slower").first.wait_for()
    expect_badges(page, {new: "", old: "🏆 production"})
    line = page.locator('[data-testid="stAlert"]').filter(has_text="In production:").first.inner_text()
    assert oldest in line and "rolled back by" in line and "the bigger model is slower" in line
    shoot_top(page, screenshot_dir, "production-3-rolled-back")
