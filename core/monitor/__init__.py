"""Monitor: a deployed model's life — its prediction log read back, champion vs challenger.

:func:`monitor_report` turns a prediction log and the feedback that followed into traffic,
drift, measured and estimated performance per time window, and a verdict (healthy, watch,
act) with reasons and actions; :func:`monitor_card` does it for a model card from its
project's log; :func:`add_outcomes` stores true outcomes; :func:`challenge` and
:func:`retrain` train a challenger from the champion's recipe and decide, on the same recent
labelled rows, whether it replaces the champion. The figures are in
:mod:`core.monitor.figures`.

Names load on first use (PEP 562), so ``tabwright monitor`` imports neither plotly nor the
training code.
"""

from core import lazy

_HOMES = {
    "MonitorReport": "_windows", "Thresholds": "_windows", "monitor_report": "_windows",
    "add_outcomes": "_watch", "monitor_card": "_watch", "outcome_columns": "_watch",
    "parse_since": "_watch", "read_card": "_watch",
    "Challenge": "_challenger", "challenge": "_challenger", "retrain": "_challenger",
    "figures": "figures",
}
"""Each public name and the module that defines it (``figures`` is the module itself)."""

__all__, __getattr__, __dir__ = lazy.exports(__name__, _HOMES)
