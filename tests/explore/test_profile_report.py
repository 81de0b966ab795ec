"""The ydata-profiling adapter: sampling, escaping, the CSP and the sandboxed wrapper."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from core.errors import TabwrightError
from core.explore._profile_report import (
    REPORT_CSP,
    build_profile_html,
    profile_sample_note,
    safe_title,
    sandboxed_document,
    with_csp,
)
from core.ingest._read import read_table


def test_a_minimal_report_of_a_sample_with_an_escaped_title(sample_dir):
    frame = read_table(str(sample_dir / "titanic.csv")).frame.head(300)
    steps = []
    document, note = build_profile_html(frame, title="</title><script>alert(1)</script>",
                                        sample_rows=200, progress=lambda f, m: steps.append((f, m)))
    assert note == ("Profiled a random sample of 200 of 300 rows (minimal report; limit "
                    "profile_sample_rows).")
    assert [f for f, _ in steps] == sorted(f for f, _ in steps) and steps[-1] == (1.0, "Done")
    head = document[:600].lower()
    assert head.startswith("<!doctype html>") and REPORT_CSP.lower() in head
    assert "<script>alert(1)" not in document  # neither in <title> nor in the page
    assert "<title>/titlescriptalert(1)/script</title>" in document
    assert "Overview" in document


def test_a_small_table_is_profiled_whole_and_an_empty_one_is_refused():
    frame = pd.DataFrame({"a": range(30), "b": ["x", "y", "z"] * 10})
    _, note = build_profile_html(frame, title="t", sample_rows=1_000)
    assert note == "Profiled all 30 rows (minimal report)."
    with pytest.raises(TabwrightError, match="nothing to profile"):
        build_profile_html(pd.DataFrame(), title="t", sample_rows=10)


def test_before_building_it_says_when_only_a_sample_will_be_profiled():
    assert profile_sample_note(891, 891) is None
    assert profile_sample_note(12_345, 1_000) == ("It will profile a random sample of 1,000 of "
                                                  "12,345 rows (limit profile_sample_rows).")


@pytest.mark.parametrize("document, starts", [
    ("<html><head><title>x</title></head></html>", "<html><head><meta"),
    ("<!doctype html><html lang=en><title>x</title>", "<!doctype html><html lang=en><meta"),
    ("<!DOCTYPE html><p>x", "<!DOCTYPE html><meta"),
    ("<p>x</p>", "<meta"),
    ("<html><header>h</header></html>", "<html><meta"),
])
def test_the_csp_comes_before_any_content(document, starts):
    assert with_csp(document).startswith(starts)


def test_the_wrapper_sandboxes_the_report_away_from_the_app():
    report = '<html><body><p title="a">"quoted" & <b>bold</b></p></body></html>'
    page = sandboxed_document(report, title='x" onload="alert(1)')
    frames = re.findall(r"<iframe [^>]*>", page)
    assert len(frames) == 1
    assert 'sandbox="allow-scripts allow-popups"' in frames[0]
    assert "allow-same-origin" not in page
    assert 'onload="alert(1)"' not in page
    srcdoc = re.search(r'srcdoc="([^"]*)"', frames[0]).group(1)
    assert html.unescape(srcdoc) == report


def test_safe_title_survives_ydatas_striptags():
    from markupsafe import Markup

    title = safe_title("</title><script>alert('x')</script> & more")
    assert "<" not in Markup(title).striptags()  # what ydata puts in <title>
