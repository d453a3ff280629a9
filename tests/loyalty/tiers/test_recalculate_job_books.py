"""The tiers and TierChange rows `recalculate_tiers` leaves, exactly, on SQLite and on PostgreSQL (the job
is one set of SQL statements both run); its decisions pinned to `tier_decide`, the rule checkout applies,
over every held tier, validity and qualifying-points boundary; a chunk's statement count; and the tier
concern importing nothing of earning.

Tiers: bronze from 0, silver from 500, gold from 2000; one point per EUR; a 365-day window.
"""

import ast
import datetime as dt
import itertools
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import loyalty.tiers
from loyalty.earning.selectors import qualifying_points
from loyalty.ledger.models import Account
from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.program.selectors import program_get
from loyalty.shops.models import Shop
from loyalty.tiers.jobs import recalculate_tiers
from loyalty.tiers.models import Tier, TierChange
from loyalty.tiers.selectors import tiers_all
from loyalty.tiers.services import RENEWED, tier_decide, window_start
from tests.factories import MemberFactory
from tests.support.books import buy, refund

UTC = dt.UTC
DAY = dt.timedelta(days=1)
YEAR = 365 * DAY
MICRO = dt.timedelta(microseconds=1)
T0 = dt.datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
NOW = T0 + 400 * DAY  # the window is (T0 + 35 days, NOW]
PROGRAM = {
    "name": "Tier books", "currency": "EUR", "points_per_currency_unit": "1", "point_value": "0.01",
    "pending_days": 0, "expiry": {"policy": "never"}, "max_backdate_days": 3650, "allow_negative_balance": True,
    "tier_window_days": 365, "hold_ttl_minutes": 15,
}  # fmt: skip
TIERS = [
    {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"},
    {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "1"},
    {"code": "gold", "name": "Gold", "threshold": 2000, "multiplier": "1"},
]


@pytest.fixture
def shop(db) -> Shop:
    program_load({"program": PROGRAM, "tiers": TIERS, "shops": [{"code": "shop-a", "name": "A"}]})
    return Shop.objects.get(code="shop-a")


def tier(member) -> tuple[str | None, dt.datetime | None]:
    return Account.objects.values_list("tier__code", "tier_valid_until").get(member=member)


def changes(member) -> list[tuple]:
    rows = TierChange.objects.filter(account__member=member).order_by("pk")
    return list(rows.values_list("from_tier__code", "to_tier__code", "reason", "qualifying_points", "valid_until",
                                 "created_at"))  # fmt: skip


def books() -> tuple[list, list]:
    return (
        list(Account.objects.order_by("pk").values_list("pk", "tier_id", "tier_valid_until")),
        list(TierChange.objects.order_by("pk").values_list("pk", "account_id", "to_tier_id", "valid_until")),
    )


def test_the_books_after_recalculation_over_several_chunks(shop):
    down, renewed, kept, down_one, placed, no_account, no_purchase = (MemberFactory() for _ in range(7))
    buy(shop, down, "2500.00", T0)  # gold until T0 + 1 year; nothing qualifies by NOW
    buy(shop, renewed, "2500.00", T0)
    buy(shop, renewed, "2100.00", T0 + 100 * DAY)  # re-qualifies: gold until T0 + 465 days ...
    Account.objects.filter(member=renewed).update(tier_valid_until=T0 + 380 * DAY)  # ... cut short: lapsed
    buy(shop, kept, "600.00", T0)
    buy(shop, kept, "300.00", T0 + 300 * DAY)  # 900 qualify: silver until T0 + 665 days, still valid at NOW
    big = buy(shop, down_one, "2000.00", T0)  # gold until T0 + 1 year
    refund(shop, big, "1500.00", T0 + DAY)
    buy(shop, down_one, "600.00", T0 + 100 * DAY)  # 1100 qualify then: gold is not extended
    buy(shop, placed, "100.00", T0 + 200 * DAY)
    Account.objects.filter(member=placed).update(tier=None, tier_valid_until=None)  # holds no tier
    points_credit(member=no_purchase, points=5, now=T0)  # an account holding no tier, no purchases

    run = recalculate_tiers(now=NOW, chunk_size=2)

    assert run.counts == {"accounts_opened": 1, "upgrades": 3, "downgrades": 2, "renewed": 1}
    assert (run.accounts, run.chunks) == (7, 4)
    until = NOW + YEAR
    assert [tier(m) for m in (down, renewed, kept, down_one, placed, no_account, no_purchase)] == [
        ("bronze", until), ("gold", until), ("silver", T0 + 665 * DAY), ("silver", until), ("bronze", until),
        ("bronze", until), ("bronze", until),
    ]  # fmt: skip
    assert changes(down)[-1] == ("gold", "bronze", "downgrade", 0, until, NOW)
    assert changes(renewed) == [(None, "gold", "upgrade", 2500, T0 + YEAR, T0)]
    assert len(changes(kept)) == 1
    assert changes(down_one)[-1] == ("gold", "silver", "downgrade", 600, until, NOW)
    assert changes(placed)[-1] == (None, "bronze", "upgrade", 100, until, NOW)
    assert changes(no_account) == changes(no_purchase) == [(None, "bronze", "upgrade", 0, until, NOW)]
    before = books()

    rerun = recalculate_tiers(now=NOW, chunk_size=2)

    assert rerun.summary() == "recalculate_tiers: nothing due" and books() == before


# --- the job decides as tier_decide ---------------------------------------------------------------------

HELD = [None, "bronze", "silver", "gold"]
VALIDITY = [None, NOW, NOW + MICRO, NOW + 100 * DAY]  # none, lapsed at now, valid by a microsecond, valid
SPENT = ["0", "499.00", "500.00", "1999.00", "2000.00", "5000.00"]  # each side of each threshold


def test_the_job_decides_every_case_as_tier_decide_and_counts_qualifying_points_as_checkout(shop):
    """Every held tier, validity and qualifying-points boundary: the job's SQL moves exactly as
    `tier_decide(review=True)` says, with qualifying points as earning's `qualifying_points` counts them
    (purchases after the window's start, net of refunds)."""
    since = window_start(program_get(), NOW)
    cases = {}
    for held, valid_until, spent in itertools.product(HELD, VALIDITY, SPENT):
        member = MemberFactory()
        points_credit(member=member, points=1, now=T0)
        buy(shop, member, "3000.00", since)  # at the window's start: never counts
        if spent != "0":
            buy(shop, member, spent, NOW - 10 * DAY)
        if valid_until is None:
            refunded = buy(shop, member, "250.00", NOW - 5 * DAY)
            refund(shop, refunded, "250.00", NOW - 4 * DAY)  # counts for nothing, net of its refund
        tier_held = Tier.objects.get(code=held) if held else None
        Account.objects.filter(member=member).update(tier=tier_held, tier_valid_until=valid_until)
        cases[member.pk] = (tier_held, valid_until, qualifying_points(member_id=member.pk, since=since))
    assert {points for _, _, points in cases.values()} == {0, 499, 500, 1999, 2000, 5000}
    before = TierChange.objects.count()

    recalculate_tiers(now=NOW)

    tiers = tiers_all()
    for member_id, (held, valid_until, points) in cases.items():
        move = tier_decide(held, valid_until, qualifying=points, now=NOW, window_days=365, tiers=tiers, review=True)
        expected = (held.code if held else None, valid_until) if move is None else (
            move.to_tier.code if move.to_tier else None, move.valid_until)  # fmt: skip
        account = Account.objects.select_related("tier").get(member_id=member_id)
        assert (account.tier.code if account.tier else None, account.tier_valid_until) == expected, cases[member_id]
        recorded = list(
            TierChange.objects.filter(account=account, created_at=NOW).values_list(
                "from_tier_id", "to_tier_id", "reason", "qualifying_points", "valid_until"
            )
        )
        if move is None or move.reason == RENEWED:
            assert recorded == [], cases[member_id]
        else:
            assert recorded == [
                (held and held.pk, move.to_tier and move.to_tier.pk, move.reason, points, move.valid_until)
            ], cases[member_id]
    assert TierChange.objects.count() > before


def test_the_job_agrees_with_every_checkout_at_the_same_instant(shop):
    """Checkout upgrades and extends with `tier_decide` inside the purchase; the job, run at that instant,
    finds nothing to change: both read the same qualifying points and the same rule."""
    for index, spent in enumerate(["0.50", "499.00", "500.00", "1999.00", "2000.00", "2600.00"]):
        member = MemberFactory()
        buy(shop, member, spent, NOW - (index + 1) * DAY)
        if index % 2:
            refunded = buy(shop, member, "1500.00", NOW - DAY)
            refund(shop, refunded, "900.00", NOW)
        buy(shop, member, "1.00", NOW)
    assert Account.objects.filter(tier__isnull=True).count() == 0

    assert recalculate_tiers(now=NOW).summary() == "recalculate_tiers: nothing due"


def test_a_chunk_is_the_same_statements_however_many_members_and_moves_it_holds(shop):
    def run_counting(spends: list[str], at: dt.datetime) -> tuple[dict, int]:
        for spent in spends:
            buy(shop, MemberFactory(), spent, at - YEAR - DAY)  # lapsed at `at`, and out of its window
        with CaptureQueriesContext(connection) as queries:
            run = recalculate_tiers(now=at)
        return run.counts, len(queries)

    one = run_counting(["600.00", "30.00"], NOW)
    many = run_counting(["600.00", "2500.00", "30.00", "900.00", "40.00"], NOW + 2 * YEAR)

    assert one[0] == {"downgrades": 1, "renewed": 1}
    assert many[0] == {"downgrades": 3, "renewed": 4}  # the first two members' bronze has lapsed again
    assert one[1] == many[1]


def test_the_tier_concern_imports_nothing_of_earning():
    """Earning builds on tiers; the tier job reads the purchases table by its name instead."""
    for path in Path(loyalty.tiers.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        assert not [name for name in imported if name.startswith("loyalty.earning")], path
