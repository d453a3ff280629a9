"""Suite-wide rules.

- Tests marked `postgres` (everything under tests/concurrency/ is) need PostgreSQL. On SQLite they are
  deselected and the header says so; they are never skipped-and-counted.
- A skipped test fails the run: a skip must never pass for a test that ran.
- After every test that touched the database, `ledger_verify()` must find nothing wrong (tests that
  corrupt the ledger on purpose are marked `corrupts_ledger`).
"""

import datetime as dt
import os

import pytest
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from loyalty.ledger.verify import ledger_verify
from loyalty.program.selectors import settings_cache_clear
from loyalty.shops.services import api_keys_cache_clear

hypothesis_settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
hypothesis_settings.register_profile(
    "thorough", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=500
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "corrupts_ledger: breaks the ledger on purpose; skip the check after it")


def pytest_report_header(config: pytest.Config) -> str:
    vendor = "PostgreSQL" if ON_POSTGRES else "SQLite (PostgreSQL-only tests are deselected)"
    return f"database: {vendor}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/concurrency/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.postgres)
    if ON_POSTGRES:
        return
    deselected = [item for item in items if item.get_closest_marker("postgres")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]


def _uses_database(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    return bool(item.get_closest_marker("django_db")) or "db" in fixtures or "transactional_db" in fixtures


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    if _uses_database(item) and not item.get_closest_marker("corrupts_ledger"):
        violations = ledger_verify()
        assert not violations, "ledger invariants broken:\n" + "\n".join(map(str, violations))
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; a skipped test is not a passing test.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _fresh_program_settings():
    """Each test reads the program settings it wrote, not a copy cached by an earlier test."""
    settings_cache_clear()
    api_keys_cache_clear()
    yield
    settings_cache_clear()
    api_keys_cache_clear()


@pytest.fixture
def now() -> dt.datetime:
    """A fixed, aware 'now' that tests move explicitly."""
    return dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
