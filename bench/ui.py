"""Page timings in a real browser: first render, upload, and interactions on big data.

Starts the app, opens it in Debian's Chromium (Playwright), uploads a generated CSV of the
given size and times, from the click until the app is idle again: each page's first visit, a
second visit (cached work must not be redone), and a widget change on the Explore page.

    python bench/ui.py                      # 50k rows (the wizard's target: interactions < 1 s)
    python bench/ui.py --rows 1000000 --cols 30

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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import OUT, generate  # noqa: E402
from tests.e2e import rss_mb, wait_for_app  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS as ARGS, _free_port, _healthy  # noqa: E402



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--cols", type=int, default=20)
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
                start = time.perf_counter()
                action()
                wait_for_app(page, timeout_ms=timeout_ms)
                rows.append((label, time.perf_counter() - start))
                print(f"{label:<40} {rows[-1][1]:7.2f} s", flush=True)

            def go(title):
                page.locator('[data-testid="stSidebar"] a').filter(has_text=title).first.click()
                page.get_by_role("heading", name=title).first.wait_for(timeout=300_000)

            timed("first render (Data page)", lambda: page.goto(url))
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
            memory = rss_mb(server.pid)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"\n{args.rows:,} rows × {args.cols} columns; server memory after the run: {memory:.0f} MB")


if __name__ == "__main__":
    main()
