"""Real-browser tests: a Streamlit server in a subprocess, driven by Playwright and Debian's Chromium.

Fixtures
--------
app_server : str
    Base URL (``http://127.0.0.1:<port>``) of one server per test session (per xdist worker),
    started on the app in ``$TABWRIGHT_APP`` (default ``app.py``) with a fresh temporary
    ``TABWRIGHT_WORKSPACE``.
fresh_server : ServerFactory
    ``fresh_server(app=None, *, env=None) -> StreamlitServer`` (``.url``, ``.workspace``,
    ``.log_path``): a new server process for one test, e.g. a deep link on a server that has
    never served a page; stopped after the test.
browser, page, screenshot_dir
    One Chromium per test module; a new context per test (1400×900, downloads accepted);
    ``test-output/screenshots/`` for pictures, including one of every failing test's page.
wait_for_app(page)
    In ``tests/e2e/__init__.py`` (``from . import wait_for_app`` in a test module): wait until
    Streamlit is connected and has finished running the script.

Every test under ``tests/e2e/`` is marked ``browser``. When a test fails, the tail of each
server's log it used is attached to the report.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
SCREENSHOT_DIR = REPO_ROOT / "test-output" / "screenshots"
CHROMIUM = os.environ.get("TABWRIGHT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: without these Chromium keeps trying to phone home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
HEALTH_TIMEOUT_S = 60
LOG_TAIL_CHARS = 6000


# --- the Streamlit server ------------------------------------------------------------------


@dataclass
class StreamlitServer:
    """A ``streamlit run`` subprocess on a free loopback port."""

    url: str
    workspace: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return text[-chars:]

    def stop(self) -> None:
        """Stop the server and anything it started (it leads its own process group)."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


# app_server's servers by URL, so the failure report can attach the right log.
_SERVERS_BY_URL: dict[str, StreamlitServer] = {}


def app_path() -> Path:
    """The app under test: ``$TABWRIGHT_APP`` (relative to the repository root) or app.py."""
    return (REPO_ROOT / os.environ.get("TABWRIGHT_APP", "app.py")).resolve()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    app: Path, *, workspace: Path, log_path: Path, env: dict[str, str] | None = None
) -> StreamlitServer:
    """Start ``streamlit run app`` and wait until ``/_stcore/health`` answers ``ok``.

    Runs from the repository root so that ``.streamlit/config.toml`` applies; the flags repeat
    the settings a test depends on. Retries on another port if the chosen one was taken.
    """
    if not app.is_file():
        pytest.fail(f"app under test not found: {app} (set TABWRIGHT_APP to override)")
    workspace.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "streamlit", "run", str(app),
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
        ]
        # The AppTest suite sets TABWRIGHT_POLL_SECONDS=0 in its own process; a real server
        # must poll as it does for users, so that setting is not passed on.
        inherited = {k: v for k, v in os.environ.items() if k != "TABWRIGHT_POLL_SECONDS"}
        process_env = {
            **inherited,
            "TABWRIGHT_WORKSPACE": str(workspace),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        with open(log_path, "ab") as log:
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=process_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = StreamlitServer(url=url, workspace=workspace, log_path=log_path, process=process)
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _healthy(url):
                return server
            time.sleep(0.2)
        server.stop()
        log = server.log_tail()
        if process.returncode is not None and "already in use" in log and attempt < 2:
            continue
        pytest.fail(
            f"Streamlit did not become healthy at {url} within {HEALTH_TIMEOUT_S} s "
            f"(exit code {process.returncode}). Log {log_path}:\n{log}",
            pytrace=False,
        )
    raise AssertionError("unreachable")


def _log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("streamlit-logs", numbered=True)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a Streamlit server shared by the session (one per xdist worker)."""
    server = start_server(
        app_path(),
        workspace=tmp_path_factory.mktemp("workspace"),
        log_path=_log_dir(tmp_path_factory) / "app_server.log",
    )
    _SERVERS_BY_URL[server.url] = server
    try:
        yield server.url
    finally:
        server.stop()


class ServerFactory:
    """``fresh_server(app=None, *, env=None) -> StreamlitServer``; remembers what it started."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[StreamlitServer] = []

    def __call__(
        self, app: str | Path | None = None, *, env: dict[str, str] | None = None
    ) -> StreamlitServer:
        target = app_path() if app is None else (REPO_ROOT / app).resolve()
        n = len(self.started)
        server = start_server(
            target,
            workspace=self.tmp_path / f"workspace-{n}",
            log_path=self.tmp_path / f"fresh_server-{n}.log",
            env=env,
        )
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """A new server process for one test, with its own workspace; stopped after the test.

    ``server = fresh_server()`` starts the app under test; ``fresh_server("other.py",
    env={...})`` another app or extra environment. Use ``server.url``, ``server.workspace``.
    """
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, headless. ``playwright install`` is never used.

    Module-scoped on purpose: while Playwright's sync API is started it leaves an asyncio loop
    marked as running in the main thread, so ``asyncio.run`` in any later test of the same
    worker would fail. Stopping it after each e2e module keeps the other tests unaffected,
    for about a second per module.
    """
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        message = (
            f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium) "
            "or set TABWRIGHT_CHROMIUM"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page in a fresh context (no shared cookies or storage) for each test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``test-output/screenshots/`` in the repository (git-ignored), for people to look at."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


# --- hooks ---------------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when != "call" or not report.failed:
        return report
    funcargs = getattr(item, "funcargs", {})
    page_ = funcargs.get("page")
    if page_ is not None:
        path = SCREENSHOT_DIR / f"FAILED-{_safe_name(item.nodeid)}.png"
        try:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            page_.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot", str(path)))
        except Exception as error:  # a crashed page must not hide the test's own failure
            report.sections.append(("screenshot", f"could not take one: {error}"))
    servers = []
    if funcargs.get("app_server") in _SERVERS_BY_URL:
        servers.append(("app_server", _SERVERS_BY_URL[funcargs["app_server"]]))
    factory = funcargs.get("fresh_server")
    for n, server in enumerate(factory.started if isinstance(factory, ServerFactory) else []):
        servers.append((f"fresh_server #{n}", server))
    for name, server in servers:
        report.sections.append((f"{name} log ({server.log_path})", server.log_tail()))
    return report


def _safe_name(nodeid: str) -> str:
    keep = "-_.[]"
    return "".join(c if c.isalnum() or c in keep else "_" for c in nodeid)[-150:]
