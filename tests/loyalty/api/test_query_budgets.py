"""Statement budgets of the checkout API (Zulip's habit: bound the queries of the stable interface).

Counts are every statement Django sends, SAVEPOINT/RELEASE included (inside a test the request's
transaction is a savepoint, and so is a read's: in production a read runs in autocommit without one).
Each measurement runs after a warm-up request with the same key, so the key's `last_used_at` stamp (one
UPDATE per minute) and the per-process caches of the program's settings, tiers and campaigns
(`LOYALTY_SETTINGS_CACHE_SECONDS`) are in their steady state, as they are for a checkout sending a
stream of purchases.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.ledger.services import points_credit, points_debit
from loyalty.program.loading import program_load
from tests.support.api import purchase

TRANSACTION_BUDGET = 10
# Reads: + SAVEPOINT and RELEASE, which a read gets only inside a caller's transaction (here the test's).
MEMBER_DETAIL_BUDGET = 6 + 2  # key, member, account, next expiry (2), live subscription
ENTRIES_BUDGET = 3 + 2
HOLD_BUDGET = 14
CAPTURE_BUDGET = 16


def statements(call, *args, **kwargs) -> tuple[object, list[str]]:
    """`call(*args, **kwargs)`'s result and the SQL it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = call(*args, **kwargs)
    return response, [query["sql"] for query in captured.captured_queries]


def listing(sqls: list[str]) -> str:
    return f"{len(sqls)} statements:\n" + "\n".join(f"  {sql[:160]}" for sql in sqls)


@pytest.fixture
def member_with_lots(member_with_points, now):
    """A member whose account already exists, holding `lots` lots of 10 points each."""

    def make(lots: int):
        member = member_with_points(0)
        for i in range(lots):
            points_credit(member=member, points=10, now=now, expires_at=now + dt.timedelta(days=400 + i))
        return member

    return make


def _transaction_statements(api, member) -> list[str]:
    warm = api.post("/api/v1/transactions", purchase(member, external_id=f"warm-{member.pk}", total="1.00"))
    assert warm.status_code == 201, warm.content
    body = purchase(member, external_id=f"o-{member.pk}", total="25.50")
    r, sqls = statements(api.post, "/api/v1/transactions", body)
    assert r.status_code == 201, r.content
    return sqls


def test_a_purchase_for_a_member_with_50_lots_runs_at_most_10_statements(api, member_with_lots):
    sqls = _transaction_statements(api, member_with_lots(50))

    assert len(sqls) <= TRANSACTION_BUDGET, listing(sqls)


def test_a_purchase_runs_as_many_statements_with_1_lot_as_with_50(api, member_with_lots):
    few, many = _transaction_statements(api, member_with_lots(1)), _transaction_statements(api, member_with_lots(50))

    assert len(few) == len(many), listing(few) + "\n" + listing(many)


def _detail_and_entries(api, member) -> tuple[list[str], list[str]]:
    assert api.get(f"/api/v1/members/{member.public_id}").status_code == 200  # warm-up
    detail, detail_sqls = statements(api.get, f"/api/v1/members/{member.public_id}")
    entries, entries_sqls = statements(api.get, f"/api/v1/members/{member.public_id}/entries?limit=200")
    assert (detail.status_code, entries.status_code) == (200, 200)
    return detail_sqls, entries_sqls


def test_member_detail_and_entries_run_a_constant_number_of_statements(api, other_api, member_with_lots, now):
    small = member_with_lots(1)
    large = member_with_lots(60)
    points_debit(member=large, points=15, now=now)
    # entries linked to transactions of this shop and of another one
    for i, client in enumerate((api, other_api, api)):
        recorded = client.post("/api/v1/transactions", purchase(large, external_id=f"t-{i}", total="5.00"))
        assert recorded.status_code == 201, recorded.content

    small_detail, small_entries = _detail_and_entries(api, small)
    large_detail, large_entries = _detail_and_entries(api, large)

    assert len(large_detail) == len(small_detail) <= MEMBER_DETAIL_BUDGET, listing(large_detail)
    assert len(large_entries) == len(small_entries) <= ENTRIES_BUDGET, listing(large_entries)


def test_a_hold_and_its_capture_run_a_constant_number_of_statements(api, member_with_lots):
    counts = []
    for lots in (5, 50):
        member = member_with_lots(lots)
        body = {"member": member.public_id, "points": 20, "external_id": f"warm-{lots}"}
        assert api.post("/api/v1/holds", body).status_code == 201  # warm-up
        held, hold_sqls = statements(api.post, "/api/v1/holds", {**body, "external_id": f"h-{lots}"})
        hold_id = held.json()["id"]
        captured, capture_sqls = statements(api.post, f"/api/v1/holds/{hold_id}/capture", {"points": 5})
        assert (held.status_code, captured.status_code) == (201, 200)
        assert len(hold_sqls) <= HOLD_BUDGET, listing(hold_sqls)
        assert len(capture_sqls) <= CAPTURE_BUDGET, listing(capture_sqls)
        counts.append((len(hold_sqls), len(capture_sqls)))

    assert counts[0] == counts[1]


# Inside the test's transaction the request's own transaction is a SAVEPOINT and RELEASE too.
ENROLL_BUDGET = 14


def test_an_enrollment_opens_the_account_in_the_base_tier_within_its_budget(api, program):
    """Enrolling writes the member, the account and its base-tier change in the request's one transaction; the
    services add no savepoints of their own (only the member INSERT's, which turns a duplicate into 409)."""
    program_load({"tiers": [{"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"}]})
    api.post("/api/v1/members", {"email": "warm@example.com"})  # warms the key and settings caches
    r, sqls = statements(api.post, "/api/v1/members", {"email": "ada@example.com"})

    assert r.status_code == 201 and r.json()["tier"]["code"] == "bronze", r.content
    assert len(sqls) <= ENROLL_BUDGET, listing(sqls)


ADJUSTMENT_BUDGET = 13  # a credit takes 11, a debit 13 (the lots it draws from: read and updated)


def test_an_adjustment_runs_as_many_statements_with_5_lots_as_with_50(api_for, shop, member_with_lots):
    adjuster = api_for(shop, ["points:adjust"])
    counts = []
    for lots in (5, 50):
        member = member_with_lots(lots)
        path = f"/api/v1/members/{member.public_id}/adjustments"
        body = {"points": 5, "reason": "goodwill", "note": "sorry", "external_id": f"warm-{lots}"}
        assert adjuster.post(path, body).status_code == 201  # warm-up
        credited, credit_sqls = statements(adjuster.post, path, {**body, "external_id": f"c-{lots}"})
        debited, debit_sqls = statements(adjuster.post, path, {**body, "points": -45, "external_id": f"d-{lots}"})
        assert (credited.status_code, debited.status_code) == (201, 201), debited.content
        assert len(credit_sqls) <= ADJUSTMENT_BUDGET, listing(credit_sqls)
        assert len(debit_sqls) <= ADJUSTMENT_BUDGET, listing(debit_sqls)
        counts.append((len(credit_sqls), len(debit_sqls)))

    assert counts[0] == counts[1]
