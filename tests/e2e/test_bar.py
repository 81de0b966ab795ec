"""The experiment loop in a browser: set a good-enough bar, train, see the verdict; move the
bar and see the same model judged again."""

from __future__ import annotations

import re

import pytest

from . import wait_for_app
from .test_journey import choose, go, shoot, train_quickly

pytestmark = pytest.mark.slow


def set_bar(page, value: str) -> None:
    go(page, "Define")
    choose(page, "The metric that matters", "ROC-AUC")
    page.locator('[data-testid="stNumberInput"]').filter(has_text="Good enough").locator(
        "input").first.fill(value)
    page.get_by_role("button", name="Save the brief").click()
    wait_for_app(page)


def test_bar_verdict(app_server, page, screenshot_dir):
    page.goto(app_server)
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Titanic")).first.click()
    wait_for_app(page, timeout_ms=60_000)
    set_bar(page, "0.7")
    train_quickly(page, budget="5")
    go(page, "Evaluate")
    verdict = page.locator('[data-testid="stAlert"]').filter(has_text="bar").first
    verdict.wait_for()
    assert re.search(r"\bmet\b", verdict.inner_text()) and "not met" not in verdict.inner_text()
    shoot(page, screenshot_dir, "bar-met")

    set_bar(page, "0.99")
    go(page, "Evaluate")
    verdict = page.locator('[data-testid="stAlert"]').filter(has_text="not met").first
    verdict.wait_for()
    shoot(page, screenshot_dir, "bar-not-met")
