"""Browser tests of tabwright (Playwright + Debian's Chromium); fixtures are in conftest.py.

A test module here starts with::

    from . import wait_for_app

    def test_home_page_loads(app_server, page):
        page.goto(app_server)
        wait_for_app(page)
"""

from __future__ import annotations

from pathlib import Path


def wait_for_app(page, *, timeout_ms: int = 30_000, settle_ms: int = 250) -> None:
    """Wait until Streamlit is connected and has finished running the script.

    Call it after ``page.goto`` and after every interaction that reruns the script. The short
    ``settle_ms`` pause first lets a rerun triggered by the interaction begin, so the wait does
    not pass on the state from before it.
    """
    page.wait_for_timeout(settle_ms)
    app = page.locator('[data-testid="stApp"]')
    app.wait_for(state="attached", timeout=timeout_ms)
    page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]').wait_for(
        state="attached", timeout=timeout_ms
    )
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=timeout_ms
    )
    page.locator('[data-testid="stStatusWidgetRunningIcon"]').wait_for(
        state="detached", timeout=timeout_ms
    )
    page.locator('[data-testid="stSkeleton"]').first.wait_for(state="detached", timeout=timeout_ms)


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux), for load tests and benchmarks."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
