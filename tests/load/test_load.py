"""Load: N real headless browsers, each through upload → train → download, at the same time.

Not in the default run (marker ``load``). Run it with::

    .venv/bin/python -m pytest -m load tests/load -s            # N=10
    TABWRIGHT_LOAD_USERS=20 .venv/bin/python -m pytest -m load tests/load -s

It prints the p95 of interaction times (a click until the app is idle again), failed sessions
and the server's memory per session, and fails if any session failed. Trainings run in worker
processes (``core.train._jobs``), so it also prints the peak memory of the whole process tree (server,
forkserver, training children; proportional set size, so shared pages count once). A failed
session leaves a screenshot and the step it was on in ``test-output/load/``; the server's log is
in the test's tmp dir (its path is printed).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import threading
import time
from pathlib import Path

import pytest

from tests.e2e import rss_mb
from tests.e2e.conftest import CHROMIUM_ARGS as ARGS

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "load"


class SessionFailed(Exception):
    """A user's session failed at ``step`` (a screenshot of the page is in ``OUTPUT``)."""


def descendants(root_pid: int) -> set[int]:
    """``root_pid`` and every process below it (Linux)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        children = [c for c, parent in parents.items() if parent == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return tree


def browser_cpu_seconds() -> float:
    """CPU time so far of the Chromium processes this test started (Linux)."""
    total = 0
    for pid in descendants(os.getpid()):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if "chrom" in stat.split(")", 1)[0].lower():
                total += sum(int(v) for v in stat.rsplit(")", 1)[1].split()[11:15])
        except (OSError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def tree_pss_mb(root_pid: int) -> float:
    """Proportional set size of ``root_pid`` and all its descendants, in MB (Linux)."""
    total = 0
    for pid in descendants(root_pid):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def idle(page, timeout_ms=180_000):
    await page.wait_for_timeout(250)
    await page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=timeout_ms)


def cpu_seconds(root_pid: int) -> dict[str, float]:
    """CPU time so far of the server itself and of the trainings its forkserver ran (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")

    def times(pid: int) -> list[int]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return [int(v) for v in fields[11:15]]  # utime, stime, cutime, cstime

    result = {"server": sum(times(root_pid)[:2]) / tick, "trainings": 0.0}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"multiprocessing.forkserver" in cmdline.read_bytes():
                pid = int(cmdline.parent.name)
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == root_pid:  # children it reaped, plus its own work
                    result["trainings"] = sum(times(pid)) / tick
        except (OSError, ValueError):
            continue
    return result


async def describe(page) -> str:
    """The app's state as Streamlit reports it, for a failure message."""
    try:
        app = page.locator('[data-testid="stApp"]')
        script = await app.get_attribute("data-test-script-state", timeout=5_000)
        connection = await app.get_attribute("data-test-connection-state", timeout=5_000)
        headings = await page.locator("h1").all_inner_texts()
        labels = await page.locator('[data-testid="stNumberInput"] label').all_inner_texts()
        return (f"url {page.url.split('?')[0]}, script {script}, connection {connection}, "
                f"h1 {headings}, number inputs {labels}")
    except Exception as exc:  # the page may be gone
        return f"(no state: {type(exc).__name__})"


async def timed(times, page, action, step=None, by_step=None, done=None):
    """Time ``action`` until what it should show (``done``, a locator) is there and the app idle.

    Without ``done`` the short settle pause in :func:`idle` can pass before a slow rerun even
    starts, and the interaction's time would stop too early.
    """
    start = time.perf_counter()
    await action()
    if done is not None:
        await done.wait_for(timeout=120_000)
    await idle(page)
    times.append(time.perf_counter() - start)
    if by_step is not None:
        by_step.setdefault(step, []).append(times[-1])


async def one_user(browser, url, csv, times, downloads_dir, index, by_step=None):
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = await context.new_page()
    by_step = {} if by_step is None else by_step
    step = "open"
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
                    by_step.setdefault(f"{title} link clicked again", []).append(attempt + 1)
                    if attempt == 2:
                        raise

        step = "upload"
        await timed(times, page, lambda: page.locator(
            '[data-testid="stFileUploader"] input[type=file]').first.set_input_files(str(csv)),
            step, by_step, done=page.get_by_text("891 rows").first)
        step = "go to Model"
        await timed(times, page, lambda: go("Model"), step, by_step)
        step = "set the target"
        field = page.locator('[data-testid="stNumberInput"]').filter(
            has_text=re.compile(r"auto mode.{0,3}s? time budget", re.I))
        await timed(times, page, lambda: page.get_by_role("button", name="Set the target").click(),
                    step, by_step, done=field.first)  # the plan form appears with the target
        step = "save the plan"
        await field.locator("input").first.fill("5")
        typed = await field.locator("input").first.input_value()
        by_step.setdefault("budget typed", []).append(float(typed or "nan"))
        saved = page.get_by_text("Auto mode will choose models within 5 s.").first
        await timed(times, page, lambda: page.get_by_role("button", name="Save the plan").click(),
                    step, by_step, done=saved)
        step = "go to Train"
        await timed(times, page, lambda: go("Train"), step, by_step)
        step = "train"
        await page.get_by_role("button", name="Train").click()
        trained = time.perf_counter()
        # The result's "Best model: …" line (exactly: the plan also speaks of "the best model").
        await page.get_by_text("Best model:", exact=True).first.wait_for(timeout=600_000)
        await idle(page)
        by_step.setdefault("train (click to result)", []).append(time.perf_counter() - trained)
        shown = await page.locator('[data-testid="stMetric"]').filter(
            has_text="Training time").locator('[data-testid="stMetricValue"]').first.inner_text()
        by_step.setdefault("training time shown", []).append(float(shown.split()[0]))
        step = "go to Export"
        await timed(times, page, lambda: go("Export"), step, by_step)
        step = "download"
        async with page.expect_download(timeout=120_000) as download:
            await page.get_by_role("button", name="model.joblib").first.click()
        target = downloads_dir / f"model-{index}.joblib"
        await (await download.value).save_as(target)
        return target.stat().st_size > 0
    except Exception as exc:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        shot = OUTPUT / f"user-{index}.png"
        try:
            await page.screenshot(path=str(shot), full_page=True)
        except Exception:
            shot = None
        lines = str(exc).splitlines()
        # Playwright's message, then the last lines of its call log (what it was waiting for).
        said = " / ".join(lines[:1] + [line.strip() for line in lines[1:] if line.strip()][-4:])
        raise SessionFailed(f"user {index} failed at {step!r} ({type(exc).__name__}: {said}); "
                            f"{await describe(page)}; screenshot {shot}") from exc
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
    by_step: dict[str, list[float]] = {}
    peak_tree, browser_cpu = [0.0], [0.0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(1.0):
            peak_tree[0] = max(peak_tree[0], tree_pss_mb(server.process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        before = rss_mb(server.process.pid)
        tree_before = tree_pss_mb(server.process.pid)
        sampler.start()

        async def run():
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                results = await asyncio.gather(
                    *[one_user(browser, server.url, csv, times, tmp_path, i, by_step)
                      for i in range(users)],
                    return_exceptions=True)
                browser_cpu[0] = browser_cpu_seconds()
                await browser.close()
                return results

        started = time.perf_counter()
        results = asyncio.run(run())
        wall = time.perf_counter() - started
        after = rss_mb(server.process.pid)
        cpu = cpu_seconds(server.process.pid)
    finally:
        sampling.set()
        server.stop()
    failed = [r for r in results if r is not True]
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    print(f"\nload: {users} users, {len(failed)} failed sessions, wall {wall:.0f} s, "
          f"interaction p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s, "
          f"server memory {before:.0f} → {after:.0f} MB "
          f"({(after - before) / users:.0f} MB per session), "
          f"process tree peak {peak_tree[0]:.0f} MB (PSS; {tree_before:.0f} MB before)")
    print(f"  CPU: server {cpu['server']:.0f} s, training processes {cpu['trainings']:.0f} s "
          f"(finished ones), browsers {browser_cpu[0]:.0f} s, over {wall:.0f} s wall on "
          f"{os.cpu_count()} cores")
    for step, seconds in by_step.items():
        print(f"  {step}: median {statistics.median(seconds):.1f}, min {min(seconds):.1f}, "
              f"max {max(seconds):.1f} ({len(seconds)} done)")
    for failure in failed:
        print(f"  {failure!r}")
    if failed:
        print(f"  server log: {tmp_path / 'server.log'}")
    assert not failed, failed
