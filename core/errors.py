"""The one error type a tabwright user ever sees.

Every failure a person can cause (bad file, bad choice, missing column) is raised as a
:class:`TabwrightError` carrying two plain sentences: what is wrong, and what to do about it.
The UI shows them in an error box and keeps the user's state; the CLI prints them on one line
of stderr and exits with status 2. Anything else that escapes is a bug.
"""

from __future__ import annotations


class TabwrightError(Exception):
    """A problem the user can fix, explained in their words.

    Parameters
    ----------
    message : str
        What is wrong, e.g. "Line 7 has 5 fields but the header has 4."
    hint : str, default=""
        What to do about it, e.g. "Check for an unquoted delimiter on that line."

    Examples
    --------
    >>> err = TabwrightError("The file is empty.", "Upload a CSV with a header row.")
    >>> str(err)
    'The file is empty. Upload a CSV with a header row.'
    """

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.full_text)

    @property
    def full_text(self) -> str:
        return f"{self.message} {self.hint}".strip()

    def __str__(self) -> str:
        return self.full_text


class Cancelled(Exception):
    """Raised inside long work when the user pressed Cancel; never shown as an error."""
