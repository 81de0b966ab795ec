"""Hostile text in the data never becomes markup: every page, the report and the profile.

The dataset has a column named ``<img src=x onerror=alert(1)>`` and cells such as
``</script><script>alert(1)</script>``. It goes through every page (no page may crash, and no
page may render raw HTML), the HTML report and the ydata-profiling report; the HTML outputs
are parsed and no tag or attribute may come from the data. CSV exports neutralise formulas.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.ingest._read import read_table, to_safe_csv
from core.project import Project, load_data, set_target, with_result
from core.recipe import ModelChoice
from core.train._runner import train
from tests.pages.conftest import open_page

EVIL_COLUMN = "<img src=x onerror=alert(1)>"
EVIL_CELL = "</script><script>alert(1)</script>"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory) -> bytes:
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        EVIL_COLUMN: rng.normal(size=n),
        "note": rng.choice([EVIL_CELL, "=HYPERLINK(\"http://x\")", "plain", "@SUM(A1)"], size=n),
        "group": rng.choice(["<b>bold</b>", "a&b", "x"], size=n),
        "target": rng.choice(["<i>yes</i>", "no"], size=n),
    })
    return frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def hostile_project(hostile_csv) -> Project:
    project = load_data(Project(), hostile_csv, name="<svg onload=alert(1)>.csv")
    project = set_target(project, "target")
    recipe = project.recipe.copy()
    recipe.auto, recipe.models = False, [ModelChoice("logistic_regression")]
    result = train(project.frame, recipe, inferred_roles=project.effective_roles())
    return with_result(project, result)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def tags_of(html: str) -> list[tuple[str, list]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_no_markup_from_data(html: str) -> None:
    tags = tags_of(html)
    assert not [t for t in tags if t[0] in ("img", "b", "i")], "a tag came from the data"
    assert not [a for _, attrs in tags for a in attrs if a[0] in ("onerror", "onload")]
    scripts_with_alert = [m for m in re.finditer(r"<script[^>]*>\s*alert\(1\)", html)]
    assert not scripts_with_alert


@pytest.mark.parametrize("page", ["data", "explore", "prepare", "model", "train", "evaluate",
                                  "export", "use", "runs", "define"])
def test_every_page_shows_hostile_data_as_text(hostile_project, page):
    at = open_page(page, hostile_project)
    assert not at.exception
    # pages render Markdown only (no raw HTML): the evil name appears as text or not at all
    for element in list(at.markdown) + list(at.caption):
        assert "<img src=x onerror" not in str(element.value) or "\\<" in str(element.value) \
            or "`" in str(element.value)


def test_no_page_allows_raw_html():
    for path in list((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        source = path.read_text(encoding="utf-8")
        assert "unsafe_allow_html=True" not in source, path
        assert "st.html(" not in source, path


def test_report_has_no_markup_from_data(hostile_project):
    from core.deliver._report import build_report, render_html

    html = render_html(build_report(hostile_project.result, data_name=hostile_project.table.name,
                                    profile=hostile_project.profile))
    assert_no_markup_from_data(html)


def test_profile_report_has_no_markup_from_data(hostile_project):
    from core.explore._profile_report import build_profile_html

    html, _ = build_profile_html(hostile_project.frame, title=EVIL_COLUMN, sample_rows=200)
    assert_no_markup_from_data(html)


def test_exported_csv_neutralises_formulas(hostile_csv):
    table = read_table(hostile_csv, name="x.csv")
    text = to_safe_csv(table.frame).decode()
    assert "'=HYPERLINK" in text and "'@SUM" in text
    assert not re.search(r"(^|,)=HYPERLINK", text, flags=re.M)
