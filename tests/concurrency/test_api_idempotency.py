"""Retries of one checkout request that race each other through the HTTP API credit exactly once.

Every call is a real request through `django.test.Client`, in-process, on its own thread and so on its own
PostgreSQL connection (the `parallel` fixture opens it before a barrier and closes it after). Every test
commits for real (transaction=True); the suite-wide ledger_verify() runs after each one.

The API key's `last_used_at` is stamped before the race: authentication stamps it at most once a minute,
and a stamp taken inside a POST's transaction would hold the key's row until that request commits, so the
first request would finish before the others even got past authentication and nothing would race.
"""

from collections import Counter
from decimal import Decimal
from functools import partial

import pytest
from django.db.models import Sum
from django.utils import timezone

from loyalty.earning.models import Refund, Transaction
from loyalty.idempotency.models import IdempotentRequest
from loyalty.ledger.models import LedgerEntry
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create
from tests.factories import MemberFactory
from tests.support.api import PROGRAM, Api, balance, purchase

pytestmark = pytest.mark.django_db(transaction=True)

Kind = LedgerEntry.Kind
TRANSACTIONS = "/api/v1/transactions"


@pytest.fixture
def shop() -> Shop:
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "Shop A"}]})
    return Shop.objects.get(code="shop-a")


@pytest.fixture
def api_key(shop) -> str:
    """A raw key with every scope, already stamped as used (see the module's docstring)."""
    key, raw_key = api_key_create(shop=shop)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return raw_key


def _post(raw_key: str, shop: Shop, path: str, body: dict, **headers):
    """One request on its own client (the calling thread's connection)."""
    return Api(raw_key, shop).post(path, body, **headers)


def _responses(outcomes) -> list:
    """The responses, once no call raised and no response is a 5xx."""
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


def _earns(member) -> int:
    return LedgerEntry.objects.filter(account__member=member, kind=Kind.EARN).count()


def test_twenty_retries_of_one_purchase_create_it_once_and_replay_it(parallel, shop, api_key):
    member = MemberFactory()
    body = purchase(member, external_id="order-race", total="25.00")

    responses = _responses(parallel([partial(_post, api_key, shop, TRANSACTIONS, body)] * 20))

    assert _statuses(responses) == {201: 1, 200: 19}, [(r.status_code, r.content) for r in responses]
    txn = Transaction.objects.get()
    bodies = [response.json() for response in responses]
    assert {b["id"] for b in bodies} == {txn.public_id}
    # The replays are the original: same points, and the balance after the one credit.
    assert all(b == bodies[0] for b in bodies), bodies
    assert bodies[0]["points"] == 25 and bodies[0]["balance"] == {"available": 25, "pending": 0, "held": 0}
    assert _earns(member) == 1
    assert balance(member) == (25, 0, 0)


def test_twenty_members_racing_for_one_external_id_one_wins_the_rest_conflict(parallel, shop, api_key):
    members = [MemberFactory() for _ in range(20)]
    calls = [
        partial(_post, api_key, shop, TRANSACTIONS, purchase(member, external_id="order-shared", total="25.00"))
        for member in members
    ]

    responses = _responses(parallel(calls))

    assert _statuses(responses) == {201: 1, 409: 19}, [(r.status_code, r.content) for r in responses]
    assert _error_codes(responses, 409) == {("conflict", "idempotency_conflict")}
    assert {r.json()["error"]["param"] for r in responses if r.status_code == 409} == {"external_id"}
    txn = Transaction.objects.get()
    winner = next(member for member, r in zip(members, responses, strict=True) if r.status_code == 201)
    assert txn.member_id == winner.pk
    assert LedgerEntry.objects.filter(kind=Kind.EARN).count() == 1
    assert [balance(member) for member in members] == [(25, 0, 0) if m == winner else (0, 0, 0) for m in members]


def test_twenty_requests_with_one_idempotency_key_and_body_run_once_and_replay(parallel, shop, api_key):
    member = MemberFactory()
    body = purchase(member, external_id="order-keyed", total="12.00")
    call = partial(_post, api_key, shop, TRANSACTIONS, body, idempotency_key="checkout-7f3a")

    responses = _responses(parallel([call] * 20))

    assert _statuses(responses) == {201: 20}, [(r.status_code, r.content) for r in responses]
    bodies = [response.json() for response in responses]
    assert all(b == bodies[0] for b in bodies), bodies
    assert bodies[0]["id"] == Transaction.objects.get().public_id
    replayed = Counter(response.headers.get("Idempotent-Replayed") for response in responses)
    assert replayed == {"true": 19, None: 1}
    stored = IdempotentRequest.objects.get()
    assert (stored.key, stored.status) == ("checkout-7f3a", 201)
    assert _earns(member) == 1
    assert balance(member) == (12, 0, 0)


def test_one_idempotency_key_with_twenty_different_bodies_runs_one_and_refuses_the_rest(parallel, shop, api_key):
    member = MemberFactory()
    calls = [
        partial(
            _post,
            api_key,
            shop,
            TRANSACTIONS,
            purchase(member, external_id=f"order-{i}", total="12.00"),
            idempotency_key="checkout-shared",
        )
        for i in range(20)
    ]

    responses = _responses(parallel(calls))

    assert _statuses(responses) == {201: 1, 409: 19}, [(r.status_code, r.content) for r in responses]
    assert _error_codes(responses, 409) == {("conflict", "idempotency_conflict")}
    assert {r.json()["error"]["param"] for r in responses if r.status_code == 409} == {"Idempotency-Key"}
    assert not any(r.headers.get("Idempotent-Replayed") for r in responses)
    created = next(r.json() for r in responses if r.status_code == 201)
    txn = Transaction.objects.get()
    assert (created["id"], created["external_id"]) == (txn.public_id, txn.external_id)
    assert IdempotentRequest.objects.get().status == 201
    assert _earns(member) == 1
    assert balance(member) == (12, 0, 0)


def _transaction(raw_key: str, shop: Shop, member, total: str) -> dict:
    response = _post(raw_key, shop, TRANSACTIONS, purchase(member, external_id="order-refunded", total=total))
    assert response.status_code == 201, response.content
    return response.json()


def test_ten_refunds_of_a_fifth_race_and_exactly_five_fit(parallel, shop, api_key):
    member = MemberFactory()
    txn = _transaction(api_key, shop, member, "50.00")
    assert (txn["points"], balance(member)) == (50, (50, 0, 0))
    refunds = f"{TRANSACTIONS}/{txn['id']}/refunds"
    calls = [
        partial(_post, api_key, shop, refunds, {"external_id": f"refund-{i}", "amount": "10.00"}) for i in range(10)
    ]

    responses = _responses(parallel(calls))

    assert _statuses(responses) == {201: 5, 422: 5}, [(r.status_code, r.content) for r in responses]
    assert _error_codes(responses, 422) == {("business_rule", "refund_exceeds_remaining")}
    assert sorted(r.json()["points_clawed_back"] for r in responses if r.status_code == 201) == [10] * 5
    after = Api(api_key, shop).get(f"{TRANSACTIONS}/{txn['id']}").json()
    assert (after["refunded_amount"], after["points_clawed_back"], after["points_forgiven"]) == ("50.00", 50, 0)
    stored = Transaction.objects.get()
    assert (stored.refunded_amount, stored.points_clawed_back) == (Decimal("50.00"), 50)
    assert Refund.objects.count() == 5
    clawbacks = LedgerEntry.objects.filter(account__member=member, kind=Kind.CLAWBACK)
    assert clawbacks.aggregate(total=Sum("points"))["total"] == -50
    assert balance(member) == (0, 0, 0)


def test_uneven_refunds_racing_claw_back_exactly_what_the_formula_says(parallel, shop, api_key):
    member = MemberFactory()
    txn = _transaction(api_key, shop, member, "33.33")
    assert txn["points"] == 33
    refunds = f"{TRANSACTIONS}/{txn['id']}/refunds"
    calls = [
        partial(_post, api_key, shop, refunds, {"external_id": f"refund-{i}", "amount": "5.00"}) for i in range(10)
    ]

    responses = _responses(parallel(calls))

    assert _statuses(responses) == {201: 6, 422: 4}, [(r.status_code, r.content) for r in responses]
    assert _error_codes(responses, 422) == {("business_rule", "refund_exceeds_remaining")}
    # R = 30.00 of T = 33.33: points - floor(points * (T - R) / T) = 33 - floor(3.297) = 30, whatever the order.
    clawed = sum(r.json()["points_clawed_back"] for r in responses if r.status_code == 201)
    assert clawed == 30
    stored = Transaction.objects.get()
    assert (stored.refunded_amount, stored.points_clawed_back) == (Decimal("30.00"), 30)
    assert balance(member) == (3, 0, 0)


def test_ten_retries_of_one_refund_refund_once(parallel, shop, api_key):
    member = MemberFactory()
    txn = _transaction(api_key, shop, member, "50.00")
    body = {"external_id": "refund-once", "amount": "20.00"}

    responses = _responses(parallel([partial(_post, api_key, shop, f"{TRANSACTIONS}/{txn['id']}/refunds", body)] * 10))

    assert _statuses(responses) == {201: 1, 200: 9}, [(r.status_code, r.content) for r in responses]
    assert {r.json()["id"] for r in responses} == {Refund.objects.get().public_id}
    assert {r.json()["points_clawed_back"] for r in responses} == {20}
    assert Transaction.objects.get().refunded_amount == Decimal("20.00")
    assert balance(member) == (30, 0, 0)
