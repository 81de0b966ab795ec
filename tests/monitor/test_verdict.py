"""Checks into words: the worst level wins, and every reason says what to do."""

from __future__ import annotations

from core.monitor._measure import LATENCY_PERCENTILES
from core.monitor._verdict import LEVELS, latency_reason, reason, verdict_of


def test_the_verdict_is_the_worst_level_and_healthy_without_reasons():
    assert verdict_of([]) == "healthy"
    found = [reason("latency", "watch", "a", "b", "c"), reason("drift", "act", "d", "e", "f")]
    assert verdict_of(found) == "act" and LEVELS[-1] == "act"


def test_slow_answers_over_the_briefs_limit_are_watched_with_an_action():
    assert latency_reason(12.0, when="today", limit=50.0) == []
    (slow,) = latency_reason(80.0, when="today", limit=50.0)
    assert slow["level"] == "watch" and slow["check"] == "latency" and slow["action"]
    assert LATENCY_PERCENTILES[-1] == 99
    assert latency_reason(None, when="today", limit=50.0) == []
