"""Explore: what the data says before anyone trains: profile, findings, signal, charts.

:func:`profile_table` bundles the column roles and the data-quality :class:`Finding` list into
a :class:`Profile`; :func:`assess_signal` checks whether the features say anything about the
target; the chart data and figures live in :mod:`core.explore.eda`, and the
full ydata-profiling report behind :func:`build_profile_html`.
"""


from core.explore._findings import Finding, Suggestion, find_issues
from core.explore._profile import Profile, profile_table
from core.explore._profile_report import build_profile_html, sandboxed_document
from core.explore._signal import assess_signal, baseline_scores, recommend_metric
from core.explore.eda import sample_for_plots

__all__ = ['Finding', 'Profile', 'Suggestion', 'assess_signal', 'baseline_scores', 'build_profile_html', 'find_issues', 'profile_table', 'recommend_metric', 'sample_for_plots', 'sandboxed_document']
