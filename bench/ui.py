"""Page timings in a real browser: first render, upload, and interactions on big data.

Starts the app, opens it in Debian's Chromium (Playwright), uploads a generated CSV of the
given size and times, from the click until the app is idle again: each page's first visit, a
second visit (cached work must not be redone), a widget change on the Explore page, then the
rest of the journey: set the target, open Train (the plan with its measured time and memory
estimate), train in auto mode, and open Evaluate, Export and Use. A sampler thread records
the peak memory of the server and its training processes together.

    python bench/ui.py                      # 50k rows (the wizard's target: interactions < 1 s)
    python bench/ui.py --rows 1000000 --cols 30 --budget 60

Targets: first render < 2 s after the server is up; on 50k rows an interaction < 1 s; on
1M × 30, upload to first findings ≤ 10 s and every interaction ≤ 2 s after the first
computation.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import OUT, generate  # noqa: E402
from tests.e2e import rss_mb, wait_for_app  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS as ARGS  # noqa: E402
from tests.e2e.conftest import _free_port, _healthy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--budget", type=int, default=60, help="auto mode's time budget (s)")
    parser.add_argument("--no-train", action="store_true", help="stop after the Explore page")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    csv = OUT / f"ingest_{args.rows}x{args.cols}.csv"
    generate(csv, args.rows, args.cols)
    port = _free_port()
    env = os.environ | {"TABWRIGHT_WORKSPACE": str(OUT / "ui-workspace")}
    server = subprocess.Popen(
        [sys.executable, "scripts/run_app.py", "--server.headless=true",
         "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, float]] = []
    peak = _PeakMemory(server.pid)
    try:
        for _ in range(120):
            if _healthy(url):
                break
            time.sleep(0.5)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})

            def timed(label, action, *, timeout_ms=300_000):
                peak.step = label
                start = time.perf_counter()
                action()
                wait_for_app(page, timeout_ms=timeout_ms)
                rows.append((label, time.perf_counter() - start))
                print(f"{label:<40} {rows[-1][1]:7.2f} s   server {rss_mb(server.pid):5.0f} MB",
                      flush=True)

            def go(title):
                page.locator('[data-testid="stSidebar"] a').filter(has_text=title).first.click()
                page.get_by_role("heading", name=title).first.wait_for(timeout=300_000)

            timed("first render (Data page)", lambda: page.goto(url))
            peak.start()
            timed(f"upload {csv.stat().st_size / 2**20:.0f} MB → roles + findings", lambda: (
                page.locator('[data-testid="stFileUploader"] input[type=file]').first
                .set_input_files(str(csv)),
                page.get_by_text(re.compile(f"{args.rows:,} rows")).first.wait_for(timeout=300_000)))
            for title in ("Explore", "Prepare", "Model", "Data", "Explore"):
                timed(f"open {title}", lambda t=title: go(t))
            box = page.get_by_role("combobox", name="Column").first
            for option in (2, 5):
                def change(i=option):
                    box.scroll_into_view_if_needed()
                    box.click()
                    page.get_by_role("option").nth(i).click()
                timed(f"Explore: pick another column ({option})", change)
            if not args.no_train:
                _journey(page, timed, go, args.budget)
            memory = rss_mb(server.pid)
            server_peak = _peak_rss_mb(server.pid)
            browser.close()
    finally:
        peak.stop()
        server.terminate()
        server.wait(timeout=20)
    print(f"\n{args.rows:,} rows × {args.cols} columns; server memory after the run: {memory:.0f} MB, "
          f"its peak {server_peak:.0f} MB; peak of the server and its training processes together: "
          f"{peak.peak_mb:.0f} MB ({peak.where}); as PSS (shared pages counted once): "
          f"{peak.peak_pss_mb:.0f} MB")


def _pss_mb(pid: int) -> float:
    """Proportional set size in MB: resident memory with pages shared between processes
    (the training worker and the forkserver it was forked from share the preloaded
    libraries) counted once across them, not once per process as in RSS."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb(pid: int) -> float:
    """The peak resident memory of one process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _journey(page, timed, go, budget: int) -> None:
    """Model → Train (plan and estimate) → train in auto mode → Evaluate → Export → Use."""
    timed("open Model", lambda: go("Model"))
    timed("Model: set the target", lambda: page.get_by_role("button", name="Set the target").click())
    field = page.locator('[data-testid="stNumberInput"]').filter(
        has_text=re.compile(r"auto mode.{0,3}s? time budget", re.I))
    field.locator("input").first.fill(str(budget))
    timed("Model: save the plan", lambda: page.get_by_role("button", name="Save the plan").click())
    timed("open Train (plan + measured estimate)", lambda: go("Train"))
    estimate = page.locator('[data-testid="stMetric"]').filter(has_text="Memory at peak")
    if estimate.count():
        print(f"{'':<40} estimate: {estimate.first.inner_text().replace(chr(10), ' ')}")
    timed(f"train (auto mode, {budget} s budget)", lambda: (
        page.get_by_role("button", name="Train", exact=True).click(),
        page.get_by_text("Best model:", exact=True).first.wait_for(timeout=1_800_000)), timeout_ms=1_800_000)
    for title in ("Evaluate", "Export", "Use", "Evaluate"):
        timed(f"open {title}", lambda t=title: go(t))


class _PeakMemory:
    """Samples the resident memory of a process and its children (training workers) together."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self.peak_pss_mb = pid, 0.0, 0.0
        self.step, self.where = "", ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _tree(self) -> list[int]:
        pids, frontier = [self.pid], [self.pid]
        while frontier:
            parent = frontier.pop()
            try:
                children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                continue
            pids += [int(c) for c in children]
            frontier += [int(c) for c in children]
        return pids

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            total = server = pss = 0.0
            for pid in self._tree():
                try:
                    value = rss_mb(pid)
                    pss += _pss_mb(pid)
                except OSError:
                    continue
                if value == value:  # NaN when the process ended meanwhile
                    total += value
                    server = value if pid == self.pid else server
            self.peak_pss_mb = max(self.peak_pss_mb, pss)
            if total > self.peak_mb:
                self.peak_mb = total
                self.where = (f"during '{self.step}': server {server:.0f} MB + its other "
                              f"processes {total - server:.0f} MB")


if __name__ == "__main__":
    main()
