"""Load: N real headless browsers, each through upload → train → download, at the same time.

Not in the default run (marker ``load``). Run it with::

    .venv/bin/python -m pytest -m load tests/load -s            # N=10
    TABWRIGHT_LOAD_USERS=20 .venv/bin/python -m pytest -m load tests/load -s

It prints the p95 of interaction times (a click until the app is idle again), failed sessions
and the server's memory per session, and fails if any session failed.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time
from pathlib import Path

import pytest

from tests.e2e import rss_mb
from tests.e2e.conftest import CHROMIUM_ARGS as ARGS

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]


async def idle(page, timeout_ms=180_000):
    await page.wait_for_timeout(250)
    await page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=timeout_ms)


async def timed(times, page, action):
    start = time.perf_counter()
    await action()
    await idle(page)
    times.append(time.perf_counter() - start)


async def one_user(browser, url, csv, times, downloads_dir, index):
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = await context.new_page()
    try:
        await page.goto(url)
        await idle(page)

        async def go(title):
            heading = page.get_by_role("heading", name=title).first
            for attempt in range(3):
                await page.locator('[data-testid="stSidebar"] a').filter(has_text=title).first.click()
                try:
                    await heading.wait_for(timeout=60_000)
                    return
                except Exception:
                    if attempt == 2:
                        raise

        await timed(times, page, lambda: page.locator(
            '[data-testid="stFileUploader"] input[type=file]').first.set_input_files(str(csv)))
        await page.get_by_text("891 rows").first.wait_for(timeout=120_000)
        await timed(times, page, lambda: go("Model"))
        await timed(times, page, lambda: page.get_by_role("button", name="Set the target").click())
        field = page.locator('[data-testid="stNumberInput"]').filter(
            has_text=re.compile(r"auto mode.{0,3}s? time budget", re.I))
        await field.locator("input").first.fill("5")
        await timed(times, page, lambda: page.get_by_role("button", name="Save the plan").click())
        await timed(times, page, lambda: go("Train"))
        await page.get_by_role("button", name="Train").click()
        await page.get_by_text("Best model").first.wait_for(timeout=600_000)
        await idle(page)
        await timed(times, page, lambda: go("Export"))
        async with page.expect_download(timeout=120_000) as download:
            await page.get_by_role("button", name="model.joblib").first.click()
        target = downloads_dir / f"model-{index}.joblib"
        await (await download.value).save_as(target)
        return target.stat().st_size > 0
    finally:
        await context.close()


def test_concurrent_users(tmp_path):
    from playwright.async_api import async_playwright

    from tests.e2e.conftest import app_path, start_server

    users = int(os.environ.get("TABWRIGHT_LOAD_USERS", "10"))
    server = start_server(app_path(), workspace=tmp_path / "workspace",
                          log_path=tmp_path / "server.log",
                          env={"TABWRIGHT_MAX_CONCURRENT_TRAININGS": "2"})
    csv = ROOT / "sample_data" / "titanic.csv"
    times: list[float] = []
    try:
        before = rss_mb(server.process.pid)

        async def run():
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                results = await asyncio.gather(
                    *[one_user(browser, server.url, csv, times, tmp_path, i) for i in range(users)],
                    return_exceptions=True)
                await browser.close()
                return results

        started = time.perf_counter()
        results = asyncio.run(run())
        wall = time.perf_counter() - started
        after = rss_mb(server.process.pid)
    finally:
        server.stop()
    failed = [r for r in results if r is not True]
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    print(f"\nload: {users} users, {len(failed)} failed sessions, wall {wall:.0f} s, "
          f"interaction p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s, "
          f"server memory {before:.0f} → {after:.0f} MB ({(after - before) / users:.0f} MB per session)")
    assert not failed, failed
