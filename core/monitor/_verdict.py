"""The verdict: each check turned into a reason a non-expert can act on.

A reason is ``{"check", "level", "what", "why", "action"}``: what is wrong in a few words, why
it matters with the numbers behind it, and what to do. ``level`` is ``"watch"`` or ``"act"``;
the report's verdict is the worst level, or ``"healthy"`` when there is no reason. Feature
names appear verbatim: escape them where the text is rendered as Markdown or HTML.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.formatting import format_number, format_percent
from core.metrics import greater_is_better, metric_label

LEVELS = ("healthy", "watch", "act")
RETRAIN = "retrain on recent labelled data (Use page → Retrain, or `tabwright retrain`)"
SEND_LABELS = ("send the true outcomes of recent predictions as feedback (by their request id), "
               "so the report can measure performance instead of estimating it")


def reason(check: str, level: str, what: str, why: str, action: str) -> dict[str, str]:
    """One reason, as the report keeps it."""
    return {"check": check, "level": level, "what": what, "why": why, "action": action}


def verdict_of(reasons: list[dict[str, str]]) -> str:
    """The worst level among ``reasons`` ("healthy" when there are none)."""
    return max((r["level"] for r in reasons), key=LEVELS.index, default="healthy")


def window_name(start: pd.Timestamp | None, window: str) -> str:
    """The window starting at ``start`` in words: "on 5 Mar 2024", "in the week of 4 Mar 2024"."""
    if start is None:
        return "over the whole period"
    day = f"{start.day} {start:%b %Y}"
    if window == "hour":
        return f"on {day} {start:%H:00}–{start + pd.Timedelta(hours=1):%H:00} UTC"
    if window == "week":
        return f"in the week of {day}"
    return f"on {day}"


def number(x: float) -> str:
    """A score or a latency in words, to 4 significant decimals: ``0.8125``, ``1,234.5``."""
    return format_number(round(float(x), 4))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(clause: str) -> str:
    return _cap(clause) + "."


def traffic_reasons(*, rows: int, logged_rows: int, last_time: pd.Timestamp | None,
                    now: pd.Timestamp, silence: pd.Timedelta) -> list[dict[str, str]]:
    """No predictions at all, or none for longer than ``silence``."""
    check = ("Check that the app or service calling the model is running and that prediction "
             "logging is on for this model.")
    if rows == 0:
        why = ("The prediction log has no predictions from this model in this period, so there "
               "is nothing to monitor." if logged_rows == 0 else
               f"The log holds {format_number(logged_rows)} predictions, but none from this "
               "model in the chosen period.")
        return [reason("traffic", "watch", "No predictions logged yet", why, check)]
    if last_time is not None and now - last_time > silence:
        return [reason("traffic", "watch", f"No predictions since {last_time:%d %b %Y %H:%M} UTC",
                       f"The last prediction was logged {_duration(now - last_time)} ago; a model "
                       "that stops being called is often a broken integration.", check)]
    return []


def _duration(gap: pd.Timedelta) -> str:
    hours = gap.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


def drift_reasons(features: pd.DataFrame, *, when: str, psi_watch: float, psi_act: float,
                  drifted_share_act: float, missing_watch: float) -> list[dict[str, str]]:
    """Input drift and rising missing values in the assessed window.

    ``features`` has one row per feature with ``feature``, ``psi``, ``missing`` and
    ``missing_baseline`` for the assessed window.
    """
    out = []
    scored = features.dropna(subset=["psi"]).sort_values("psi", ascending=False)
    drifted = scored[scored["psi"] >= psi_act]
    moved = scored[scored["psi"] >= psi_watch]
    if len(moved):
        share = len(drifted) / max(len(scored), 1)
        level = "act" if len(drifted) and share >= drifted_share_act else "watch"
        listed = ", ".join(f"'{r.feature}' (PSI {r.psi:.2f})" for r in moved.head(3).itertuples())
        strong = (f"{len(drifted)} of {len(scored)} inputs changed strongly (population "
                  f"stability index, PSI, ≥ {psi_act:g}; under {psi_watch:g} is normal)"
                  if len(drifted) else f"{len(moved)} of {len(scored)} inputs shifted moderately "
                  f"(population stability index, PSI, ≥ {psi_watch:g})")
        what = ("Inputs have changed a lot since training" if level == "act" else
                "Some inputs look different from the training data")
        action = ("First check the data feeding the model: a renamed field, a changed unit or a "
                  "broken upstream job often looks like drift. If the change is real, "
                  + (f"{RETRAIN}." if level == "act" else
                     "watch the next windows and " + SEND_LABELS + "."))
        out.append(reason("drift", level, what,
                          f"{_cap(when)}, {strong}: {listed}. Predictions for rows unlike "
                          "the training data are less reliable.", action))
    rising = features[features["missing"] - features["missing_baseline"].fillna(0) >= missing_watch]
    if len(rising):
        listed = ", ".join(f"'{r.feature}' ({format_percent(r.missing)} missing, "
                           f"{format_percent(r.missing_baseline or 0.0)} in training)"
                           for r in rising.head(3).itertuples())
        out.append(reason("missing_values", "watch", "More input values are missing than in training",
                          f"{_cap(when)}: {listed}. The model fills them in as it learned "
                          "to, which is rarely what the missing value really was.",
                          "Find out why the values are missing upstream and fix the feed."))
    return out


def prediction_reason(psi: float | None, *, when: str, psi_watch: float, task: str,
                      detail: str = "", own: bool = False) -> list[dict[str, str]]:
    """The predictions' distribution moved away from the training target's (``own``: from
    the model's own predictions on its training rows).

    ``detail`` says how, in words (e.g. which class is predicted more often).
    """
    if psi is None or not psi >= psi_watch:
        return []
    what = ("The share of each predicted class has changed" if task != "regression" else
            "The predicted values have shifted")
    return [reason("prediction_drift", "watch", what,
                   f"{_cap(when)}, the predictions moved away from "
                   + ("the model's own predictions on its training rows (out of fold)" if own else
                      "the answers in the training data")
                   + f" (PSI {psi:.2f}, ≥ {psi_watch:g}){': ' + detail if detail else ''}. "
                   "Either the cases really changed, or the model reacts to drifted inputs.",
                   f"Check whether the change is expected (a season, a campaign); {SEND_LABELS}.")]


def latency_reason(p99: float | None, *, when: str, limit: float | None) -> list[dict[str, str]]:
    """Slow answers: the 99th percentile latency over the brief's limit."""
    if p99 is None or limit is None or not p99 > limit:
        return []
    return [reason("latency", "watch", "Predictions are slower than your limit",
                   f"{_cap(when)}, 1 request in 100 took longer than {number(p99)} ms; your "
                   f"limit is {number(limit)} ms.",
                   "Give the server more workers or CPU, send rows in batches, or train a faster "
                   "model (fewer or shallower trees, a linear model).")]


def performance_reason(value: float | None, *, metric: str, labelled: int, when: str,
                       bar: float | None, reference: float | None, drop: float
                       ) -> list[dict[str, str]]:
    """Measured performance under the user's bar (act), or clearly under the test score (watch)."""
    if value is None or value != value:
        return []
    label = metric_label(metric)
    measured = (f"{_cap(when)}: {label} {number(value)}, measured on "
                f"{format_number(labelled)} predictions whose outcome came back")
    if bar is not None and _worse(metric, value, bar):
        return [reason("performance", "act", f"{label} is below your bar",
                       f"{measured}; your good-enough bar is {number(bar)}.", _sentence(RETRAIN))]
    if bar is None and reference is not None and _worse_by(metric, value, reference, drop):
        return [reason("performance", "watch", f"{label} is worse than at training",
                       f"{measured}; on the test set it was {number(reference)}.",
                       "Keep collecting outcomes; if it stays lower, " + RETRAIN + ".")]
    return []


def estimate_reason(estimate: tuple[float, float, float] | None, *, metric: str, when: str,
                    bar: float | None, reference: float | None, drop: float
                    ) -> list[dict[str, str]]:
    """Estimated performance (no labels yet) under the bar, or clearly under the test score."""
    if estimate is None or estimate[0] != estimate[0]:
        return []
    value, low, high = estimate
    label = metric_label(metric)
    stated = (f"{_cap(when)}: estimated {label} {number(value)} (likely between "
              f"{number(low)} and {number(high)}), from the model's own confidence because no "
              "outcomes have come back yet")
    caveat = (". The estimate assumes the model's probabilities are calibrated and that what the "
              "right answer is has not changed (no concept drift).")
    if bar is not None and _worse(metric, value, bar):
        threshold = f"; your good-enough bar is {number(bar)}"
    elif bar is None and reference is not None and _worse_by(metric, value, reference, drop):
        threshold = f"; on the test set it was {number(reference)}"
    else:
        return []
    return [reason("estimated_performance", "watch", f"Estimated {label} is low",
                   stated + threshold + caveat,
                   f"To confirm, {SEND_LABELS}; if measured performance is low too, {RETRAIN}.")]


def _worse(metric: str, value: float, bar: float) -> bool:
    return value < bar if greater_is_better(metric) else value > bar


def _worse_by(metric: str, value: float, reference: float, drop: float) -> bool:
    change = (value - reference) if greater_is_better(metric) else (reference - value)
    return change < -drop * max(abs(reference), 1e-9)


def summary(verdict: str, reasons: list[dict[str, str]], *, rows: int, period: str,
            checks: dict[str, Any]) -> str:
    """One sentence for the top of the page: the verdict and its main reasons."""
    if verdict != "healthy":
        worst = [r["what"] for r in reasons if r["level"] == verdict]
        return f"{verdict.capitalize()}: " + "; ".join(worst) + "."
    parts = [f"{format_number(rows)} predictions {period}"]
    if checks.get("drift"):
        parts.append("inputs look like the training data")
    if checks.get("performance"):
        parts.append(checks["performance"])
    return "Healthy: " + "; ".join(parts) + "."
