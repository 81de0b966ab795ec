"""What if? In a real browser: train on Titanic, open Evaluate, pick a test row, change its
values, and see the prediction and its explanation change. Screenshots go to
test-output/screenshots/ (what-if-1-row.png, what-if-2-edited.png)."""

from __future__ import annotations

import pytest

from core.formatting import escape_markdown

from . import wait_for_app
from .test_journey import choose, go, shoot, train_quickly, upload

pytestmark = pytest.mark.slow

CHANCE = "Chance of survived = 1"


def chance(page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=CHANCE).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def shown_value(page, label: str) -> str:
    """The picked option of a selectbox: its text, or its input's value (as ``choose`` reads it)."""
    box = page.get_by_role("combobox", name=label).first
    shown = page.locator('[data-testid="stSelectbox"]').filter(has=box).first
    text = shown.inner_text().strip().splitlines()
    return (box.input_value() or "").strip() or (text[-1].strip() if len(text) > 1 else "")


def test_what_if_a_row_changes_its_prediction(app_server, page, datasets_dir, screenshot_dir):
    page.goto(app_server)
    wait_for_app(page)
    upload(page, datasets_dir / "titanic.csv")
    go(page, "Model")
    choose(page, "Target column", "survived")
    page.get_by_role("button", name="Set the target").click()
    wait_for_app(page)
    train_quickly(page)
    go(page, "Evaluate")

    heading = page.get_by_role("heading", name="Why this prediction?").first
    heading.wait_for(timeout=60_000)
    heading.scroll_into_view_if_needed()
    box = page.get_by_role("combobox", name="Test row").first
    box.scroll_into_view_if_needed()
    box.click()
    options = page.get_by_role("option")
    options.nth(2).wait_for()
    picked = options.nth(2).inner_text().strip()
    options.nth(2).click()
    wait_for_app(page)
    assert picked.split(" · ")[0] in shown_value(page, "Test row")
    page.get_by_text("The model gives this row a").first.wait_for()
    before = chance(page)
    assert before.endswith("%")
    page.get_by_text("The model gives this row a").first.scroll_into_view_if_needed()
    shoot(page, screenshot_dir, "what-if-1-row")

    # Change who the passenger is: a model may ignore one of these columns, not all three.
    # Widget labels are Markdown, so column names are escaped (adult\\_male) in their names too.
    for column, pair in (("who", ("man", "woman")), ("sex", ("male", "female")),
                         ("adult_male", ("True", "False"))):
        label = escape_markdown(column)
        current = shown_value(page, label)
        choose(page, label, pair[1] if current == pair[0] else pair[0])
    page.get_by_text("vs the test row").first.wait_for(timeout=30_000)
    after = chance(page)
    assert after != before
    assert page.get_by_text("You changed the row.").first.is_visible()
    waterfall = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="Why this prediction")
    assert waterfall.count() == 1
    waterfall.first.scroll_into_view_if_needed()
    shoot(page, screenshot_dir, "what-if-2-edited")
