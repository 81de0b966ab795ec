"""Tests for core.errors: the user-facing error and the cancel signal."""

from __future__ import annotations

import pytest

from core.errors import Cancelled, TabwrightError


def test_message_hint_and_str():
    err = TabwrightError("The file is empty.", "Upload a CSV with a header row.")
    assert err.message == "The file is empty."
    assert err.hint == "Upload a CSV with a header row."
    assert err.full_text == "The file is empty. Upload a CSV with a header row."
    assert str(err) == err.full_text
    assert err.args == (err.full_text,)


def test_without_a_hint_the_text_is_the_message_alone():
    err = TabwrightError("Line 7 has 5 fields but the header has 4.")
    assert err.hint == ""
    assert str(err) == "Line 7 has 5 fields but the header has 4."  # no trailing space


def test_it_is_raised_and_caught_as_an_exception():
    with pytest.raises(TabwrightError, match="bad choice. Choose again.") as info:
        raise TabwrightError("bad choice.", "Choose again.")
    assert isinstance(info.value, Exception)


def test_cancelled_is_not_a_user_error():
    assert issubclass(Cancelled, Exception)
    assert not issubclass(Cancelled, TabwrightError)
    assert not issubclass(TabwrightError, Cancelled)
