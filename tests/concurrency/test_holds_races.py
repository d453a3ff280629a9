"""Points as payment under races, through the HTTP API: holds, captures and voids of one member's points
serialize on the account row and leave exact balances.

Every call is a real request through `django.test.Client` on its own thread and PostgreSQL connection (the
`parallel` fixture); every test commits for real and the suite-wide ledger_verify() runs after it. The API
key is stamped as used before the race, so authentication writes nothing during it (see
test_api_idempotency.py).
"""

from collections import Counter
from functools import partial

import pytest
from django.db.models import Sum
from django.utils import timezone

from loyalty.holds.models import Hold
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create
from tests.factories import MemberFactory
from tests.support.api import PROGRAM, Api, balance

pytestmark = pytest.mark.django_db(transaction=True)

Kind = LedgerEntry.Kind
HOLDS = "/api/v1/holds"


@pytest.fixture
def shop() -> Shop:
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "Shop A"}]})
    return Shop.objects.get(code="shop-a")


@pytest.fixture
def api_key(shop) -> str:
    key, raw_key = api_key_create(shop=shop)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return raw_key


@pytest.fixture
def member(shop):
    """A member with 1,000 points available (one never-expiring lot)."""
    member = MemberFactory()
    points_credit(member=member, points=1000, now=timezone.now())
    return member


def _post(raw_key: str, shop: Shop, path: str, body: dict | None = None):
    return Api(raw_key, shop).post(path, body)


def _responses(outcomes) -> list:
    errors = [outcome.error for outcome in outcomes if not outcome.ok]
    assert errors == [], errors
    responses = [outcome.value for outcome in outcomes]
    server_errors = [(r.status_code, r.content) for r in responses if r.status_code >= 500]
    assert server_errors == [], server_errors
    return responses


def _statuses(responses) -> Counter:
    return Counter(response.status_code for response in responses)


def _error_codes(responses, status: int) -> set[tuple[str, str]]:
    return {(r.json()["error"]["type"], r.json()["error"]["code"]) for r in responses if r.status_code == status}


def _hold(raw_key: str, shop: Shop, member, points: int) -> dict:
    response = _post(raw_key, shop, HOLDS, {"member": member.public_id, "points": points, "external_id": "pay-1"})
    assert response.status_code == 201, response.content
    return response.json()


def _entries(member, kind: str) -> int:
    return LedgerEntry.objects.filter(account__member=member, kind=kind).count()


def test_thirty_holds_of_forty_on_a_thousand_hold_exactly_twenty_five(parallel, shop, api_key, member):
    calls = [
        partial(_post, api_key, shop, HOLDS, {"member": member.public_id, "points": 40, "external_id": f"pay-{i}"})
        for i in range(30)
    ]

    responses = _responses(parallel(calls))

    assert _statuses(responses) == {201: 25, 422: 5}, [(r.status_code, r.content) for r in responses]
    assert _error_codes(responses, 422) == {("business_rule", "insufficient_points")}
    held = [r.json() for r in responses if r.status_code == 201]
    assert {(h["status"], h["points"], h["value"]) for h in held} == {("held", 40, "0.40")}
    # Serialized: each hold saw the one before it, so the balances it reports are 960, 920, ..., 0.
    assert sorted(h["balance"]["available"] for h in held) == list(range(0, 1000, 40))
    assert balance(member) == (0, 0, 1000)
    assert Hold.objects.filter(member=member, status=Hold.Status.HELD).count() == 25
    assert _entries(member, Kind.HOLD) == 25


def test_ten_retries_of_one_hold_hold_once(parallel, shop, api_key, member):
    body = {"member": member.public_id, "points": 300, "external_id": "pay-retried"}

    responses = _responses(parallel([partial(_post, api_key, shop, HOLDS, body)] * 10))

    assert _statuses(responses) == {201: 1, 200: 9}, [(r.status_code, r.content) for r in responses]
    assert {r.json()["id"] for r in responses} == {Hold.objects.get().public_id}
    assert balance(member) == (700, 0, 300)
    assert _entries(member, Kind.HOLD) == 1


def test_captures_racing_voids_of_one_hold_one_wins(parallel, shop, api_key, member):
    hold = _hold(api_key, shop, member, 300)
    calls = [partial(_post, api_key, shop, f"{HOLDS}/{hold['id']}/capture")] * 5
    calls += [partial(_post, api_key, shop, f"{HOLDS}/{hold['id']}/void")] * 5

    responses = _responses(parallel(calls))

    assert _statuses(responses) == {200: 1, 422: 9}, [(r.status_code, r.content) for r in responses]
    assert _error_codes(responses, 422) == {("business_rule", "hold_not_active")}
    winner = next(r.json() for r in responses if r.status_code == 200)
    stored = Hold.objects.get()
    assert (winner["status"], winner["id"]) == (stored.status, stored.public_id)
    if stored.status == Hold.Status.CAPTURED:
        assert (winner["captured_points"], stored.captured_points) == (300, 300)
        assert balance(member) == (700, 0, 0)
        assert (_entries(member, Kind.CAPTURE), _entries(member, Kind.RELEASE)) == (1, 0)
    else:
        assert stored.status == Hold.Status.VOIDED
        assert balance(member) == (1000, 0, 0)
        assert (_entries(member, Kind.CAPTURE), _entries(member, Kind.RELEASE)) == (0, 1)
    assert winner["balance"] == dict(zip(("available", "pending", "held"), balance(member), strict=True))


def test_partial_captures_racing_on_one_hold_one_wins_and_the_rest_is_released(parallel, shop, api_key, member):
    hold = _hold(api_key, shop, member, 300)
    capture = f"{HOLDS}/{hold['id']}/capture"
    amounts = [10 * (i + 1) for i in range(10)]  # 10, 20, ..., 100

    responses = _responses(parallel([partial(_post, api_key, shop, capture, {"points": points}) for points in amounts]))

    assert _statuses(responses) == {200: 1, 422: 9}, [(r.status_code, r.content) for r in responses]
    assert _error_codes(responses, 422) == {("business_rule", "hold_not_active")}
    captured = next(points for points, r in zip(amounts, responses, strict=True) if r.status_code == 200)
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert (winner["status"], winner["points"], winner["held_points"], winner["captured_points"]) == (
        "captured",
        captured,
        300,
        captured,
    )
    stored = Hold.objects.get()
    assert (stored.status, stored.captured_points) == (Hold.Status.CAPTURED, captured)
    assert balance(member) == (1000 - captured, 0, 0)
    assert (_entries(member, Kind.CAPTURE), _entries(member, Kind.RELEASE)) == (1, 1)
    released = LedgerEntry.objects.filter(account__member=member, kind=Kind.RELEASE).aggregate(total=Sum("points"))
    assert released["total"] == 300 - captured
