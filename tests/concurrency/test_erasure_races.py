"""Erasure racing checkout on the same member, on PostgreSQL with real threads: a purchase or a hold either
lands before the erasure (and the erasure then releases what it holds) or is refused for a closed member;
never does a purchase land on an erased member. The suite-wide ledger_verify() runs after each test.
"""

import threading
from functools import partial

import pytest
from django.db import connection, transaction
from django.utils import timezone

from loyalty.earning.models import Transaction
from loyalty.holds.models import Hold
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.ledger.verify import ledger_verify
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create
from members.models import Member
from privacy.services import member_erase
from tests.factories import MemberFactory
from tests.support.api import PROGRAM, Api, balance, purchase

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 10


@pytest.fixture
def shop() -> Shop:
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "Shop A"}]})
    return Shop.objects.get(code="shop-a")


@pytest.fixture
def api_key(shop) -> str:
    key, raw_key = api_key_create(shop=shop)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())  # authentication writes nothing later
    return raw_key


def _member() -> Member:
    member = MemberFactory()
    points_credit(member=member, points=1000, now=timezone.now())
    return member


def _erase(member: Member) -> Member:
    return member_erase(member=member, actor="staff:dpo", now=timezone.now())


def test_a_purchase_waiting_on_the_erasure_is_refused_for_the_closed_member(shop, api_key):
    """The purchase starts while the erasure holds the account's lock, and reads the member only after it
    commits: it must see a closed member, not the row as it was when its statement began."""
    member = _member()
    locked, go = threading.Event(), threading.Event()
    outcome: dict = {}

    def erase() -> None:
        try:
            with transaction.atomic():
                _erase(member)
                locked.set()
                go.wait(10)  # the purchase is now queued on the account row
        finally:
            connection.close()

    def buy() -> None:
        try:
            locked.wait(10)
            threading.Timer(0.5, go.set).start()
            outcome["response"] = Api(api_key, shop).post("/api/v1/transactions", purchase(member, "late-1"))
        finally:
            connection.close()

    threads = [threading.Thread(target=erase), threading.Thread(target=buy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    response = outcome["response"]
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "member_inactive"
    assert not Transaction.objects.filter(member=member).exists() and balance(member) == (1000, 0, 0)


def test_erasure_racing_purchases_and_holds_ends_consistent(parallel, shop, api_key):
    members = [_member() for _ in range(ROUNDS)]
    calls = []
    for n, member in enumerate(members):
        api = partial(Api(api_key, shop).post)
        calls += [
            partial(_erase, member),
            partial(api, "/api/v1/transactions", purchase(member, f"order-{n}", total="25.00")),
            partial(api, "/api/v1/holds", {"member": member.public_id, "points": 100, "external_id": f"pay-{n}"}),
        ]

    outcomes = parallel(calls, threads=12)

    assert [outcome.error for outcome in outcomes if not outcome.ok] == []
    for n, member in enumerate(members):
        erased, bought, held = (outcome.value for outcome in outcomes[3 * n : 3 * n + 3])
        member.refresh_from_db()
        assert member.status == "closed" and member.erased_at is not None
        release = LedgerEntry.objects.filter(account__member=member, kind="release").first()
        for response, kind in ((bought, "earn"), (held, "hold")):
            assert response.status_code in (201, 422), response.content
            if response.status_code == 422:
                assert response.json()["error"]["code"] == "member_inactive"
                continue
            # It landed before the erasure took the member's lock: its entry is there (a hold's release, which
            # the erasure wrote, shares its reference). The entries' times do not order them: each call read
            # the clock before it waited for the lock.
            made = Transaction if kind == "earn" else Hold
            assert LedgerEntry.objects.filter(
                kind=kind, reference=f"{made.__name__.lower()}:{response.json()['id']}"
            ).exists()
        # Whatever hold landed was released by the erasure: nothing stays held on an erased member.
        assert not Hold.objects.filter(member=member, status="held").exists()
        assert balance(member)[2] == 0
        if held.status_code == 201:
            assert release is not None and release.actor == "staff:dpo"
        earned = 25 if bought.status_code == 201 else 0
        assert balance(member) == (1000 + earned, 0, 0)
    assert ledger_verify() == []
