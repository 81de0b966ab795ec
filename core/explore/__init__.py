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
"""


from core.explore._findings import Finding, Suggestion, find_issues
from core.explore._lookup import as_numbers, level_codes, lookup_score
from core.explore._profile import Profile, profile_table
from core.explore._profile_report import (
    build_profile_html,
    profile_sample_note,
    sandboxed_document,
)
from core.explore._readout import (
    RELATION_READINGS,
    chart_order,
    correlation_columns,
    correlation_note,
    linked_view_choices,
    missing_reading,
    relation_features,
    signal_tables,
    strongest_pairs,
)
from core.explore._signal import assess_signal, baseline_scores, recommend_metric
from core.explore.eda import sample_for_plots

__all__ = ['Finding', 'Profile', 'RELATION_READINGS', 'Suggestion', 'as_numbers', 'assess_signal', 'baseline_scores', 'build_profile_html', 'chart_order', 'correlation_columns', 'correlation_note', 'find_issues', 'level_codes', 'linked_view_choices', 'lookup_score', 'missing_reading', 'profile_sample_note', 'profile_table', 'recommend_metric', 'relation_features', 'sample_for_plots', 'sandboxed_document', 'signal_tables', 'strongest_pairs']
