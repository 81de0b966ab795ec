"""Requiring login: off by default; when on, a logged-out visitor sees only the login screen."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"


def test_login_is_off_by_default(monkeypatch):
    monkeypatch.delenv("TABWRIGHT_REQUIRE_LOGIN", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert not [b for b in at.button if b.label == "Log in"]
    assert any("Data" in t.value for t in at.title)


def test_logged_out_visitor_sees_only_the_login_screen(monkeypatch):
    monkeypatch.setenv("TABWRIGHT_REQUIRE_LOGIN", "1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert "log in first" in at.info[0].value
    assert not at.file_uploader  # no page content, no upload for strangers
