"""An evaluation in words and tables: the score cards, cluster profiles, worst errors and cells.

The Evaluate page draws these as they are; everything a sentence or a table says is decided
here, from the evaluation that training stored and the error analysis.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.evaluate._heldout import CELL_ROWS
from core.metrics import METRICS, card_metrics, metric_help
from core.run import TrainResult


def _score_text(value: float | None, metric: str = "") -> str:
    """Four decimals for scores near 1, fewer for big errors, a percentage for MAPE."""
    if value is None:
        return "n/a"
    if metric == "mape":
        return f"{value:.1%}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"


def score_cards(result: TrainResult) -> dict[str, Any]:
    """The scores to show as cards, the optimised metric first, with what they were measured on.

    Returns
    -------
    dict
        ``title`` (e.g. "Scores on the test set"), ``cards`` (each ``label``, ``value`` as
        text, ``help`` and ``caption``, the help's first sentence; both None when the metric
        has no help), ``footnote`` (the star, the test rows, the majority baseline and the
        decision threshold, in one line) and ``notes`` (the evaluation's notes).
    """
    ev = result.evaluation
    scores = ev.get("metrics", {})
    names = [m for m in card_metrics(result.task) if m in scores]
    if result.metric in names:
        names.remove(result.metric)
        names.insert(0, result.metric)
    cards = []
    for name in names:
        label = METRICS[name].card_label if name in METRICS else name
        help_text = metric_help(name) or None
        cards.append({
            "label": label + (" ★" if name == result.metric else ""),
            "value": _score_text(scores.get(name), name),
            "help": help_text,
            "caption": help_text.split(". ")[0].rstrip(".") + "." if help_text else None,
        })
    if result.task == "clustering":
        facts = [f"{ev.get('n_clusters')} clusters"]
    else:
        facts = [f"{ev.get('n_test', result.n_test):,} test rows"]
    if ev.get("baseline"):
        facts.append(f"always predicting {ev['baseline']['majority_class']!r} would score accuracy "
                     f"{ev['baseline']['accuracy']:.3f}")
    if result.task == "binary" and ev.get("threshold") is not None:
        tuned = result.threshold is not None and abs(result.threshold - 0.5) > 1e-9
        facts.append(f"decision threshold {ev['threshold']:.3f}"
                     + (" (tuned on validation folds)" if tuned else " (the default)")
                     + f", positive class {ev.get('positive_label')!r}")
    where = "test set" if result.task != "clustering" else "training sample"
    return {"title": f"Scores on the {where}", "cards": cards,
            "footnote": "★ the metric you optimise · " + " · ".join(facts),
            "notes": list(ev.get("notes", []))}


def cluster_profile_table(evaluation: dict[str, Any]) -> pd.DataFrame | None:
    """What each cluster looks like: a column per cluster (and one for all rows), a row per feature.

    Numbers show their mean, categories their most common value with its share. None when
    the evaluation has no profiles.
    """
    profiles = evaluation.get("profiles", [])
    if not profiles:
        return None
    table: dict[str, dict[str, str]] = {}
    for p in profiles:
        name = "noise" if p["cluster"] == -1 else f"cluster {p['cluster']} ({p['size']:,})"
        table[name] = {column: _profile_cell(v) for column, v in p["values"].items()}
    table["all rows"] = {column: _profile_cell(v) for column, v in evaluation.get("overall", {}).items()}
    return pd.DataFrame(table)


def _profile_cell(value: dict[str, Any]) -> str:
    if value.get("kind") == "numeric":
        return _score_text(value.get("mean"))
    share = value.get("top_share")
    return f"{value.get('top')} ({share:.0%})" if share is not None else str(value.get("top"))


def worst_errors_table(errors: dict[str, Any], task: str) -> pd.DataFrame | None:
    """The error analysis's worst rows (largest misses for regression) as one table.

    Each row's values become columns next to its truth, prediction and probability or
    residual, indexed by the row's label in the test set. None when there is nothing to show.
    """
    rows = errors.get("largest_errors" if task == "regression" else "worst", [])
    if not rows:
        return None
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "values"} | r["values"] for r in rows])
    return table.set_index("index")


def confusion_cell_defaults(labels: list[Any], *, clicked: tuple[Any, Any] | None,
                            positive_label: Any = None) -> tuple[int, int, bool]:
    """Which cell the rows are shown for: the clicked one, else positives predicted as the next class.

    Returns
    -------
    tuple
        The positions in ``labels`` of the true and the predicted class, and whether they
        come from the click.

    Examples
    --------
    >>> confusion_cell_defaults([0, 1], clicked=None, positive_label=1)
    (1, 0, False)
    """
    if clicked is not None and clicked[0] in labels and clicked[1] in labels:
        return labels.index(clicked[0]), labels.index(clicked[1]), True
    true_index = labels.index(positive_label) if positive_label in labels else 0
    return true_index, (true_index + 1) % len(labels), False


def confusion_cell_caption(n_rows: int, true_label: Any, predicted_label: Any) -> str:
    """How many test rows one confusion cell holds, and whether they are the model's mistakes.

    Examples
    --------
    >>> confusion_cell_caption(3, "yes", "no")
    '3 test row(s) truly yes and predicted no (mistakes).'
    """
    kind = "correct" if true_label == predicted_label else "mistakes"
    return (f"{n_rows:,} test row(s) truly {true_label!s} and predicted {predicted_label!s} "
            f"({kind}){f' — the first {CELL_ROWS} shown' if n_rows == CELL_ROWS else ''}.")
