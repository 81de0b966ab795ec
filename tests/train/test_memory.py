"""Tests for core.train._memory: free memory, giving heap back, megabytes in words."""

from __future__ import annotations

import sys

import pytest

from core.train import _memory
from core.train._memory import available_memory_mb, give_back_memory, mb_words


@pytest.mark.parametrize("mb, words", [
    (0, "under 1 MB"), (0.99, "under 1 MB"), (1, "1 MB"), (330.4, "330 MB"), (1023, "1023 MB"),
    (1024, "1.0 GB"), (2560, "2.5 GB"), (10 * 1024, "10.0 GB"),
])
def test_mb_words(mb, words):
    assert mb_words(mb) == words


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/meminfo")
def test_available_memory_is_positive_on_linux():
    mb = available_memory_mb()
    assert mb is not None and mb > 0
    with open("/proc/meminfo", encoding="ascii") as f:
        total_kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    assert mb <= total_kb / 1024


def test_available_memory_is_unknown_without_meminfo(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(_memory, "open", refuse, raising=False)
    assert available_memory_mb() is None


def test_available_memory_is_unknown_when_meminfo_has_no_line_for_it(monkeypatch, tmp_path):
    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal:       16384000 kB\nMemFree:         1024 kB\n", encoding="ascii")
    real_open = open
    monkeypatch.setattr(_memory, "open", lambda path, **kw: real_open(fake, **kw), raising=False)
    assert available_memory_mb() is None
    fake.write_text("MemAvailable:    2048000 kB\n", encoding="ascii")
    assert available_memory_mb() == 2000.0  # kB to MB


def test_give_back_memory_collects_garbage(monkeypatch):
    import gc

    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    give_back_memory()
    assert calls == ["collect"]
