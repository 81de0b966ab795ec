"""Explore: what the data says before anyone trains: profile, findings, signal, charts.

:func:`profile_table` bundles the column roles and the data-quality :class:`Finding` list into
a :class:`Profile`; :func:`assess_signal` checks whether the features say anything about the
target, and :func:`lookup_score` says how well one feature alone predicts it (both that check
and the leakage finding use it; pairs of columns that reproduce a numeric target together are
found by :mod:`core.explore._pair_leaks`); the chart data and figures live in
:mod:`core.explore.eda`, the columns each chart offers (on a wide table the most informative,
:func:`chart_order`) and the sentences around them in :func:`linked_view_choices`,
:func:`signal_tables` and their neighbours, and the full
ydata-profiling report behind :func:`build_profile_html`.

Names load on first use (PEP 562, as in :mod:`core.deliver`): a command that needs one stage
does not import the others.
"""

from core import lazy

_HOMES = {
    "Finding": "_findings", "Suggestion": "_findings", "find_issues": "_findings",
    "as_numbers": "_lookup", "level_codes": "_lookup", "lookup_score": "_lookup",
    "Profile": "_profile", "profile_table": "_profile", "build_profile_html": "_profile_report",
    "profile_sample_note": "_profile_report", "sandboxed_document": "_profile_report",
    "RELATION_READINGS": "_readout", "chart_order": "_readout",
    "correlation_columns": "_readout", "correlation_note": "_readout",
    "linked_view_choices": "_readout", "missing_reading": "_readout",
    "relation_features": "_readout", "signal_tables": "_readout", "strongest_pairs": "_readout",
    "assess_signal": "_signal", "baseline_scores": "_signal", "recommend_metric": "_signal",
    "sample_for_plots": "eda",
}
"""Each public name and the module that defines it."""

__all__, __getattr__, __dir__ = lazy.exports(__name__, _HOMES)
