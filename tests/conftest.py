"""Suite-wide rules.

- Tests marked `postgres` (everything under tests/concurrency/ is) need PostgreSQL. On SQLite they are
  deselected and the header says so; they are never skipped-and-counted.
- A skipped test fails the run: a skip must never pass for a test that ran.
- After every test that touched the database, `ledger_verify()` must find nothing wrong (tests that
  corrupt the ledger on purpose are marked `corrupts_ledger`).

The fixtures every concern shares live here: the program of docs/API.md's example, shops A and B, their
API clients, members, and the subscription plans. Plain helpers (the `Api` client, request bodies,
`db_state()`) are in tests/support/; factories in tests/factories.py.
"""

import datetime as dt
import os
from collections.abc import Callable

import pytest
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from loyalty.ledger.services import points_credit
from loyalty.ledger.verify import ledger_verify
from loyalty.program.loading import program_load
from loyalty.program.selectors import settings_cache_clear
from loyalty.shops.models import Shop
from loyalty.shops.services import api_key_create, api_keys_cache_clear
from loyalty.subscriptions.models import Plan
from members.models import Member
from tests.factories import MemberFactory
from tests.support.api import PROGRAM, Api
from tests.support.subscriptions import PLAN_ITEMS

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


@pytest.fixture
def program(db) -> dict:
    """The program of docs/API.md's example; returns the settings it loaded. Change with `program_set`."""
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "Shop A"}, {"code": "shop-b", "name": "B"}]})
    return PROGRAM


@pytest.fixture
def program_set(program) -> Callable[..., None]:
    def set_(**changes) -> None:
        program_load({"program": {**PROGRAM, **changes}})

    return set_


@pytest.fixture
def shop(program) -> Shop:
    return Shop.objects.get(code="shop-a")


@pytest.fixture
def other_shop(program) -> Shop:
    return Shop.objects.get(code="shop-b")


@pytest.fixture
def api_for(program) -> Callable[..., Api]:
    def make(shop: Shop, scopes: list[str] | None = None) -> Api:
        _, key = api_key_create(shop=shop, scopes=scopes)
        return Api(key, shop)

    return make


@pytest.fixture
def api(api_for, shop) -> Api:
    """Shop A's client with every scope."""
    return api_for(shop)


@pytest.fixture
def other_api(api_for, other_shop) -> Api:
    return api_for(other_shop)


@pytest.fixture
def member(program) -> Member:
    return MemberFactory()


@pytest.fixture
def member_with_points(program, now) -> Callable[[int], Member]:
    """A member holding `points` available (one never-expiring lot)."""

    def make(points: int) -> Member:
        member = MemberFactory()
        if points:
            points_credit(member=member, points=points, now=now)
        return member

    return make


@pytest.fixture
def plans(program) -> dict[str, Plan]:
    """The plans of tests/support/subscriptions.py, loaded through the program file."""
    program_load({"plans": PLAN_ITEMS})
    return {plan.code: plan for plan in Plan.objects.all()}


@pytest.fixture
def plus(plans) -> Plan:
    return plans["plus"]


@pytest.fixture
def trial(plans) -> Plan:
    return plans["trial"]


@pytest.fixture
def annual(plans) -> Plan:
    return plans["annual"]
