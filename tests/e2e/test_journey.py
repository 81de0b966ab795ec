"""A first-time user's whole journey in a real browser, for a classification and a regression.

Upload a CSV from ../shared/datasets, go through every stage, download the model and the
report, then load the downloaded model and predict with it. A screenshot of every stage goes
to test-output/screenshots/ (look at them: they must look good).
"""

from __future__ import annotations

import re

import joblib
import pandas as pd
import pytest

from . import wait_for_app

pytestmark = pytest.mark.slow


def go(page, title: str) -> None:
    """Open a stage from the sidebar stepper (same session, like a person would)."""
    heading = page.get_by_role("heading", name=title).first
    for attempt in range(3):
        page.locator('[data-testid="stSidebar"] a').filter(has_text=title).first.click()
        try:
            wait_for_app(page, timeout_ms=60_000)
            heading.wait_for(timeout=20_000)
            return
        except Exception:
            if attempt == 2:
                raise


def choose(page, label: str, option: str) -> None:
    """Pick an option in a Streamlit selectbox by its label, and check it was picked.

    On a loaded machine the list can open late, so a keyboard fallback may land on a
    neighbouring option: the shown value is checked and the choice retried.
    """
    box = page.get_by_role("combobox", name=label).first
    shown = page.locator('[data-testid="stSelectbox"]').filter(has=box).first

    def value() -> str:  # the picked option is the box's text or its input's value
        return shown.inner_text() + " " + (box.input_value() or "")

    for attempt in range(3):
        # Scroll first: the list closes itself when the page scrolls under it.
        box.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        box.click()
        wanted = page.get_by_role("option", name=option, exact=True).first
        try:
            wanted.wait_for(timeout=3_000)
        except Exception:  # the list did not open on click: the keyboard opens it
            box.focus()
            page.keyboard.press("ArrowDown")
        wanted.click()
        wait_for_app(page)
        if option in value():
            return
    raise AssertionError(f"{label!r} shows {value()!r}, not {option!r}")


def shoot(page, screenshot_dir, name: str) -> None:
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)


def upload(page, path) -> None:
    page.locator('[data-testid="stFileUploader"] input[type=file]').first.set_input_files(str(path))
    wait_for_app(page, timeout_ms=60_000)


def train_quickly(page, budget: str = "8") -> None:
    go(page, "Model")
    field = page.locator('[data-testid="stNumberInput"]').filter(has_text=re.compile(r"auto mode.{0,3}s? time budget", re.I))
    field.locator("input").first.fill(budget)
    page.get_by_role("button", name="Save the plan").click()
    wait_for_app(page)
    go(page, "Train")
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Best model:", exact=True).first.wait_for(timeout=120_000)
    wait_for_app(page)


@pytest.mark.parametrize("dataset, target, task", [
    ("titanic.csv", "survived", "binary"),
    ("california_housing.csv", "median_house_value", "regression"),
])
def test_full_journey(app_server, page, datasets_dir, screenshot_dir, tmp_path, dataset, target, task):
    stem = dataset.removesuffix(".csv")
    page.goto(app_server)
    wait_for_app(page)
    shoot(page, screenshot_dir, f"{stem}-0-data-empty")

    upload(page, datasets_dir / dataset)
    page.get_by_text(f"{dataset}").first.wait_for()
    shoot(page, screenshot_dir, f"{stem}-1-data")

    go(page, "Explore")
    shoot(page, screenshot_dir, f"{stem}-2-explore")

    go(page, "Model")
    choose(page, "Target column", target)
    page.get_by_role("button", name="Set the target").click()
    wait_for_app(page)
    page.get_by_text(task, exact=False).first.wait_for()
    shoot(page, screenshot_dir, f"{stem}-4-model")

    go(page, "Prepare")
    shoot(page, screenshot_dir, f"{stem}-3-prepare")

    train_quickly(page)
    shoot(page, screenshot_dir, f"{stem}-5-train")

    go(page, "Evaluate")
    metric = "ROC-AUC" if task == "binary" else "RMSE"
    page.get_by_text(metric).first.wait_for()
    shoot(page, screenshot_dir, f"{stem}-6-evaluate")

    go(page, "Export")
    with page.expect_download() as model_download:
        page.get_by_role("button", name="model.joblib").first.click()
    model_path = tmp_path / "model.joblib"
    model_download.value.save_as(model_path)
    with page.expect_download(timeout=120_000) as report_download:
        page.get_by_role("button", name="Report (.html)").first.click()
    report_path = tmp_path / "report.html"
    report_download.value.save_as(report_path)
    shoot(page, screenshot_dir, f"{stem}-7-export")

    # The downloaded model predicts straight from the raw columns.
    model = joblib.load(model_path)
    frame = pd.read_csv(datasets_dir / dataset).drop(columns=[target]).head(20)
    predictions = model.predict(frame)
    assert len(predictions) == 20
    html = report_path.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "plotly" in html.lower()
    assert 'src="http' not in html

    go(page, "Use")
    upload(page, datasets_dir / dataset)
    page.get_by_text("prediction", exact=False).first.wait_for(timeout=60_000)
    with page.expect_download() as predictions_download:
        page.get_by_role("button", name="Download the predictions (.csv)").click()
    out = pd.read_csv(predictions_download.value.path())
    assert "prediction" in out.columns and len(out) == len(pd.read_csv(datasets_dir / dataset))
    shoot(page, screenshot_dir, f"{stem}-8-use")


def test_deep_link_on_a_fresh_server_shows_our_stepper(fresh_server, page, screenshot_dir):
    server = fresh_server()
    page.goto(f"{server.url}/evaluate")
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    # our stepper, not Streamlit's automatic pages/ list
    assert sidebar.get_by_text("tabwright").first.is_visible()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    page.get_by_text("needs a trained model").first.wait_for()
    page.get_by_role("link", name="Go to Train").first.wait_for()
    shoot(page, screenshot_dir, "deep-link-evaluate")


def test_deep_link_to_the_data_page_and_the_root(app_server, page):
    for path in ("/data", "/"):
        page.goto(f"{app_server}{path}")
        wait_for_app(page)
        page.get_by_role("heading", name="Data").first.wait_for()
        assert page.get_by_text("Page not found").count() == 0
        assert "/data" in page.url


def test_reload_keeps_the_work(app_server, page, datasets_dir):
    page.goto(app_server)
    wait_for_app(page)
    upload(page, datasets_dir / "german_credit.csv")
    page.get_by_text("german_credit.csv").first.wait_for()
    assert "s=" in page.url
    page.reload()
    wait_for_app(page)
    page.get_by_text("german_credit.csv").first.wait_for(timeout=30_000)


def test_two_browsers_with_same_file_name_see_only_their_own_data(app_server, browser, tmp_path):
    first = tmp_path / "a" / "data.csv"
    second = tmp_path / "b" / "data.csv"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text("alpha_col,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n7,0\n8,1\n9,0\n10,1\n11,1\n")
    second.write_text("beta_col,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n7,0\n8,1\n9,0\n10,1\n11,1\n")
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    pages = [c.new_page() for c in contexts]
    try:
        for p, path in zip(pages, (first, second)):
            p.goto(app_server)
            wait_for_app(p)
            upload(p, path)
        for p, mine in zip(pages, ("alpha_col", "beta_col")):
            p.locator("th", has_text=mine).first.wait_for(state="attached")
        assert "beta_col" not in pages[0].content()
        assert "alpha_col" not in pages[1].content()
    finally:
        for c in contexts:
            c.close()
