"""Pages in a real browser: Playwright driving Debian's chromium (`/usr/bin/chromium`, or $CHROMIUM).

`.ci/run` installs chromium with apt-get when it is missing; Playwright's own browser download is never used.
A test here needs the browser: without it the test errors, it is not skipped.
"""

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

# Playwright's sync API runs an event loop in the test's thread; the ORM calls a test makes around it are
# still plain synchronous calls, so Django's guard against ORM calls from async code does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-quic",
    # Without these, chromium keeps trying to reach Google's hosts, which a closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"chromium not found at {path}: `apt-get install chromium` (as .ci/run does) or set $CHROMIUM")
    return path


@pytest.fixture
def site(settings, transactional_db) -> Iterator[LiveServer]:
    """The project served on localhost for this test, over plain HTTP where production sits behind a TLS
    proxy: started after the settings below, since the middleware reads them when the server starts (the
    session-wide `live_server` of pytest-django starts before a test can change them)."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    server = LiveServer("localhost")
    yield server
    # The browser has closed its connections by now (`page` closes first); let their threads finish before the
    # server stops sharing the test's database connection with them.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.02)
    server.stop()
    _end_server_connections()


def _end_server_connections() -> None:
    """The server's request threads are daemons that can outlive `stop()` holding a persistent
    (`CONN_MAX_AGE`) PostgreSQL connection; the tests of tests/concurrency that start workers wait for no
    other connection to the test database, so end them here."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, site: LiveServer) -> Iterator[Page]:
    """A fresh context (no cookies) at 1280 x 800, a desktop the staff use; closed before the site stops, so
    no request of it is still being served then."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot() -> callable:
    """Save the page to docs/screenshots/NAME.png (kept for the README) when SCREENSHOTS=1."""

    def take(page: Page, name: str) -> None:
        if os.environ.get("SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
