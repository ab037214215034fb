"""Browser-test harness: a real Salesflow server and the system Chromium driven by Playwright.

Fixtures for tests in ``tests/e2e`` (see ``tests/e2e/README.md``):

* ``live_server_url`` — ``http://127.0.0.1:PORT`` of ``salesflow serve`` started once per test
  session in a subprocess, on a fresh SQLite database in a temporary ``SALESFLOW_DATA_DIR``,
  seeded with the test personas (``rep``, ``teammate``, ``manager``, ``assistant``,
  ``support``, ``outsider``, ``other_manager``, ``admin``; password ``PASSWORD``);
* ``manage(*args)`` — runs a ``salesflow`` management command against that database;
* ``browser`` / ``context`` / ``page`` — headless ``/usr/bin/chromium`` (``SALESFLOW_CHROMIUM``
  overrides it); Playwright never downloads a browser;
* ``login(page, username)`` / ``logout(page)`` — through the real login form and user menu;
* ``screenshot(name)`` — saves ``artifacts/screenshots/<test>-<name>.png``; a failing test
  gets ``<test>-failure.png`` automatically.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from salesflow.core import test_databases
from salesflow.users.testing import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("SALESFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The personas of salesflow.users.testing; E2E_SEED=demo also loads `salesflow demo`.
SEED_PERSONAS = "import django; django.setup(); from salesflow.users.testing import make_personas; make_personas()"
# Start-up migrates a fresh database; on a loaded 2-core machine (the other suites run beside
# the browser tests) that has taken over 100 s, and over 240 s beside benchmark generations.
STARTUP_TIMEOUT = 600.0
# Migrating that fresh database with nice -n 19 beside benchmark generations took over 300 s.
MIGRATE_TIMEOUT = 900.0
DEFAULT_TIMEOUT_MS = 15_000

__all__ = ["PASSWORD"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


# ---------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _salesflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "salesflow.cli", *args]


class Server:
    """A ``salesflow serve`` subprocess with its own data directory and database."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "salesflow.settings",
            "SALESFLOW_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'e2e.sqlite3'}",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "SALESFLOW_TESTING": "0",  # the server runs as in production (hashed static files)
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",  # plain HTTP on localhost
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            _salesflow(*args), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"salesflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self) -> None:
        # The migrated test-database template (built once per set of migrations, shared with
        # the SQLite suite that runs beside these tests) instead of migrating from scratch;
        # `migrate` then finds every migration applied, as `make run` does on a second start.
        if test_databases.enabled():
            test_databases.sqlite_copy(test_databases.sqlite_template(), self.data_dir / "e2e.sqlite3")
        self.manage("migrate", "--no-input", "-v", "0", timeout=MIGRATE_TIMEOUT)
        subprocess.run([sys.executable, "-c", SEED_PERSONAS], cwd=ROOT, env=self.env, check=True, timeout=120)
        if os.environ.get("E2E_SEED") == "demo":
            self.manage("demo")  # the demo usernames (zhangwei, wang, …) differ from the personas
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            _salesflow("serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(self.port), "--threads", "4"),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"salesflow serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/login/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"salesflow serve did not answer within {STARTUP_TIMEOUT:.0f}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not (ROOT / "salesflow" / "static" / "vendor" / "htmx").exists():
        pytest.fail("front-end assets are missing: run `make setup` (npm ci + scripts/vendor.py) first")
    # Compile the catalogues that are out of date so the Chinese UI is really Chinese.
    subprocess.run([sys.executable, str(ROOT / "scripts" / "compilemessages.py")], cwd=ROOT, check=True)
    server = Server(tmp_path_factory.mktemp("salesflow-e2e"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server_url(e2e_server: Server) -> str:
    """Base URL of the running app, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
    return e2e_server.url


@pytest.fixture(scope="session")
def manage(e2e_server: Server) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``manage("createtoken", "rep")`` runs a ``salesflow`` command against the e2e database."""
    return e2e_server.manage


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Any, live_server_url: str) -> Iterator[Any]:
    """A fresh browser profile per test (no cookies), Chinese by default like a user in China."""
    context = browser.new_context(
        base_url=live_server_url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1366, "height": 900},
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


@pytest.fixture
def page(context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{_slug(request.node.name)}-failure.png"), full_page=True)
        except Exception as exc:  # the page may be gone; the test failure matters more
            print(f"could not save the failure screenshot: {exc}")


@pytest.fixture
def screenshot(page: Any, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``screenshot("board")`` saves the whole page as ``artifacts/screenshots/<test>-board.png``."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{_slug(request.node.name)}-{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _login(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='username']").fill(username)
    form.locator("input[name='password']").fill(password)
    form.locator("button[type='submit']").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def _logout(page: Any) -> None:
    page.get_by_test_id("user-menu").click()
    page.locator("form[action='/logout/'] button[type='submit']").click()
    page.wait_for_url(re.compile(r"/login/"))


@pytest.fixture
def login() -> Callable[..., None]:
    """``login(page, "rep")`` logs in through the form (password defaults to the personas')."""
    return _login


@pytest.fixture
def logout() -> Callable[[Any], None]:
    """``logout(page)`` logs out through the user menu and waits for the login page."""
    return _logout
