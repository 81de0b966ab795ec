"""Tests for core.run: the cancel token, the progress snapshot and the data fingerprint."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from core.errors import Cancelled
from core.run import CancelToken, Progress, TrainResult, fingerprint


def test_cancel_token_check_raises_only_after_cancel():
    token = CancelToken()
    assert not token.cancelled
    token.check()  # not cancelled yet: returns quietly
    token.cancel()
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.check()
    token.cancel()  # cancelling twice is harmless
    assert token.cancelled


def test_cancel_from_another_thread_is_seen():
    token = CancelToken()
    worker = threading.Thread(target=token.cancel)
    worker.start()
    worker.join()
    with pytest.raises(Cancelled):
        token.check()


def test_progress_defaults():
    progress = Progress(0.25, "Trying logistic regression")
    assert progress.fraction == 0.25 and progress.message == "Trying logistic regression"
    assert progress.model is None and progress.best is None
    assert progress.leaderboard == []
    other = Progress(0.5, "x")
    other.leaderboard.append({"model": "dummy"})
    assert progress.leaderboard == []  # each snapshot has its own list


def test_train_result_optional_fields_default_to_a_finished_run():
    names = TrainResult.__dataclass_fields__
    assert names["cancelled"].default is False
    assert names["train_score"].default is None and names["noise_note"].default is None


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, np.nan, 2.0]})


def test_fingerprint_is_stable():
    first = fingerprint(_frame())
    assert first == fingerprint(_frame())
    assert len(first) == 16 and int(first, 16) >= 0  # 16 hex digits
    # the index is not part of the contents
    assert fingerprint(_frame().set_axis([10, 20, 30])) == first


def test_fingerprint_changes_with_a_value():
    changed = _frame()
    changed.loc[1, "a"] = 5
    assert fingerprint(changed) != fingerprint(_frame())
    missing = _frame()
    missing.loc[0, "b"] = None
    assert fingerprint(missing) != fingerprint(_frame())


def test_fingerprint_changes_with_a_column_name_or_order():
    assert fingerprint(_frame().rename(columns={"a": "A"})) != fingerprint(_frame())
    assert fingerprint(_frame()[["b", "a", "c"]]) != fingerprint(_frame())
    assert fingerprint(_frame().iloc[::-1]) != fingerprint(_frame())
