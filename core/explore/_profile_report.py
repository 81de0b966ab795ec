"""The full ydata-profiling report, behind one adapter, on demand.

ydata-profiling is heavy (about 6 s to import, seconds to minutes to run), deprecated in favour
of fg-data-profiling (same API), and its HTML has had cross-site-scripting advisories
(CVE-2024-37063: column names and values reach the page unescaped). So it is imported only
inside :func:`build_profile_html`, its usage analytics are switched off, the report gets a
Content-Security-Policy that forbids every network request, and a page shows it only inside a
sandboxed frame (:func:`sandboxed_document`) whose scripts cannot reach the app.
"""

from __future__ import annotations

import html as html_lib
import os
import re
import warnings
from typing import Callable

import pandas as pd

from core.errors import TabwrightError

Progress = Callable[[float, str], None]

REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
              "img-src data:; font-src data:")
"""The report runs its own inline scripts and styles but may load nothing from anywhere."""
SANDBOX = "allow-scripts allow-popups"
"""No ``allow-same-origin``: the report's scripts run in an opaque origin, away from the app."""


def build_profile_html(frame: pd.DataFrame, *, title: str, sample_rows: int,
                       minimal: bool = True, progress: Progress | None = None,
                       seed: int = 0) -> tuple[str, str]:
    """A ydata-profiling HTML report of ``frame`` (a seeded sample above ``sample_rows``).

    Parameters
    ----------
    frame : DataFrame
    title : str
        Shown at the top of the report; made safe with :func:`safe_title` (ydata-profiling does
        not escape it).
    sample_rows : int
        Above this many rows a random sample of this size is profiled
        (``limits.profile_sample_rows``).
    minimal : bool, default=True
        ydata-profiling's minimal mode: no correlations or interactions, several times faster.
    progress : callable, optional
        ``progress(fraction, message)`` is called as the report is built.
    seed : int, default=0

    Returns
    -------
    html : str
        A complete HTML document with a Content-Security-Policy that blocks network access.
        Show it only through :func:`sandboxed_document`.
    note : str
        What was profiled, e.g. "Profiled all 891 rows (minimal report)."

    Raises
    ------
    TabwrightError
        If the table is empty or ydata-profiling fails on it.
    """
    report = progress or (lambda fraction, message: None)
    if frame.empty or not len(frame.columns):
        raise TabwrightError("There is nothing to profile: the table is empty.",
                             "Load a table with at least one row and one column.")
    mode = "minimal report" if minimal else "full report"
    if len(frame) > sample_rows:
        data = frame.sample(n=sample_rows, random_state=seed).sort_index()
        note = (f"Profiled a random sample of {sample_rows:,} of {len(frame):,} rows ({mode}; "
                "limit profile_sample_rows).")
    else:
        data = frame
        note = f"Profiled all {len(frame):,} rows ({mode})."
    data = defang(data)
    report(0.05, "Loading ydata-profiling")
    # The package reports each use to its vendor unless told not to; tabwright never phones home.
    os.environ["YDATA_PROFILING_NO_ANALYTICS"] = "1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its import-time deprecation notice, and pandas chatter
        try:
            # ydata-profiling takes ~6 s to import: only when someone asks for the full report.
            from ydata_profiling import ProfileReport

            profile = ProfileReport(data, title=safe_title(title), minimal=minimal,
                                    progress_bar=False)
            report(0.2, f"Describing {len(data.columns)} columns of {len(data):,} rows")
            profile.get_description()
            report(0.8, "Rendering the report")
            document = profile.to_html()
        except TabwrightError:
            raise
        except Exception as error:  # a third-party failure must not take the page down
            raise TabwrightError(
                f"ydata-profiling could not build the report: {type(error).__name__}: {error}.",
                "The charts, findings and signal check above work without it.",
            ) from error
    report(1.0, "Done")
    return with_csp(document), note


def profile_sample_note(rows: int, sample_rows: int) -> str | None:
    """What :func:`build_profile_html` will profile, said before it starts; None for every row.

    Examples
    --------
    >>> profile_sample_note(120_000, 50_000)
    'It will profile a random sample of 50,000 of 120,000 rows (limit profile_sample_rows).'
    """
    if rows <= sample_rows:
        return None
    return (f"It will profile a random sample of {sample_rows:,} of {rows:,} rows "
            "(limit profile_sample_rows).")


_LOOKALIKES = str.maketrans({"<": "‹", ">": "›", '"': "＂", "'": "’", "`": "ˋ"})


def defang(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with markup characters in names and text replaced by look-alikes.

    ydata-profiling writes column names and values into its HTML without escaping them
    everywhere (CVE-2024-37063), so ``<``, ``>`` and quotes are swapped for characters that
    read the same but can never open a tag or close an attribute.
    """
    out = frame.rename(columns=lambda c: str(c).translate(_LOOKALIKES))
    for column in out.columns:
        if out[column].dtype == object:
            values = out[column]
            out[column] = values.where(values.isna(), values.astype(str).str.translate(_LOOKALIKES))
    return out


def safe_title(title: str) -> str:
    """``title`` made safe for ydata-profiling's templates, which do not escape it.

    Escaping alone is not enough: its ``<title>`` uses Jinja's ``striptags``, which turns
    ``&lt;`` back into ``<``. So ``<``, ``>`` and ``&`` are removed first, then the rest is
    escaped.

    Examples
    --------
    >>> safe_title('</title><script>x</script> "q" & co')
    '/titlescriptx/script &quot;q&quot;  co'
    """
    return html_lib.escape("".join(ch for ch in title if ch not in "<>&"))


def with_csp(document: str) -> str:
    """``document`` with :data:`REPORT_CSP` as a ``<meta>`` before any other content.

    It goes right after the opening ``<head>`` tag, or, in minified HTML that leaves out
    ``<head>``, after ``<html>`` (or the doctype), so the browser stays in standards mode.

    Examples
    --------
    >>> with_csp("<!doctype html><html lang=en><title>x</title>")[:60]
    '<!doctype html><html lang=en><meta http-equiv="Content-Secur'
    """
    meta = f'<meta http-equiv="Content-Security-Policy" content="{REPORT_CSP}">'
    for tag in (r"<head(\s[^>]*)?>", r"<html(\s[^>]*)?>", r"<!doctype[^>]*>"):
        match = re.search(tag, document, flags=re.IGNORECASE)
        if match is not None:
            return document[:match.end()] + meta + document[match.end():]
    return meta + document


def sandboxed_document(document: str, *, title: str = "Profiling report") -> str:
    """A small HTML page holding ``document`` in a sandboxed frame that fills it.

    ``st.iframe`` runs HTML with the app's own origin; this wrapper is trusted, and the report
    inside it runs in an opaque origin (no ``allow-same-origin``), so its scripts can read
    neither the app's page nor its cookies or storage.

    Examples
    --------
    >>> "sandbox=\\"allow-scripts allow-popups\\"" in sandboxed_document("<p>x</p>")
    True
    """
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><style>"
        "html,body{margin:0;height:100%;overflow:hidden}"
        "iframe{border:0;width:100%;height:100%;display:block}</style></head><body>"
        f"<iframe sandbox=\"{SANDBOX}\" referrerpolicy=\"no-referrer\" "
        f"title=\"{html_lib.escape(title)}\" srcdoc=\"{html_lib.escape(document, quote=True)}\">"
        "</iframe></body></html>"
    )
