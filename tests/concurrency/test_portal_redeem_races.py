"""The portal's redeem form under races, on PostgreSQL with real threads: the same form sent twice at the same
instant redeems once (the second waits on the token's unique row and shows the first's voucher); different forms
racing for the last unit get one each as long as it lasts."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from members.models import RedeemRequest
from members.portal.redeeming import portal_redeem
from rewards.models import Redemption, Reward, Voucher
from tests.factories import MemberFactory
from tests.support.api import PROGRAM, balance
from tests.support.portal import signed_in

pytestmark = pytest.mark.django_db(transaction=True)

COST = 300


@pytest.fixture
def reward() -> Reward:
    program_load({
        "program": PROGRAM, "shops": [{"code": "shop-a", "name": "A"}],
        "rewards": [{"code": "COFFEE", "name": "Coffee", "kind": "free_product", "points_cost": COST, "value": "3.50",
                     "stock": None}],
    })  # fmt: skip
    return Reward.objects.get(code="COFFEE")


@pytest.fixture
def member(reward):
    member = MemberFactory()
    points_credit(member=member, points=1000, now=timezone.now())
    return member


def clients_of(member, count: int) -> list[Client]:
    """`count` clients sharing one session, as two tabs (or a double tap) of one browser."""
    first = signed_in(member)
    clients = [first]
    for _ in range(count - 1):
        client = Client(HTTP_HOST="127.0.0.1")
        client.cookies = first.cookies
        clients.append(client)
    return clients


@pytest.mark.parametrize("sends", [2, 8])
def test_one_form_sent_at_once_from_several_requests_redeems_once(member, parallel, settings, sends):
    settings.SECURE_SSL_REDIRECT = False
    clients = clients_of(member, sends)
    page = clients[0].get("/portal/rewards/COFFEE/redeem").content.decode()
    token = re.search(r'name="token" value="([^"]+)"', page)[1]

    outcomes = parallel([lambda c=c: c.post("/portal/rewards/COFFEE/redeem", {"token": token}) for c in clients])

    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    (voucher,) = Voucher.objects.filter(member=member)
    assert [o.value.status_code for o in outcomes] == [302] * sends
    assert {o.value["Location"] for o in outcomes} == {f"/portal/vouchers/{voucher.code}"}
    assert Redemption.objects.filter(member=member).count() == 1
    assert RedeemRequest.objects.filter(member=member, token=token).values_list("redemption", flat=True).get() == (
        voucher.redemption.public_id
    )
    assert balance(member) == (1000 - COST, 0, 0)


def test_a_refused_first_send_leaves_the_second_to_be_decided_afresh(member, reward, parallel):
    Reward.objects.filter(pk=reward.pk).update(stock=1, stock_remaining=1)
    other = MemberFactory()
    points_credit(member=other, points=1000, now=timezone.now())
    calls = [
        lambda: portal_redeem(member=member, reward=reward, token="a" * 32, now=timezone.now()),
        lambda: portal_redeem(member=member, reward=reward, token="a" * 32, now=timezone.now()),
        lambda: portal_redeem(member=other, reward=reward, token="b" * 32, now=timezone.now()),
    ]

    outcomes = parallel(calls)

    winners = {o.value.redemption.member_id for o in outcomes if o.ok}
    assert len(winners) == 1 and Redemption.objects.count() == 1  # one unit, one redemption, whoever got it
    assert all(getattr(o.error, "code", None) == "out_of_stock" for o in outcomes if not o.ok)
    assert RedeemRequest.objects.count() == 1  # a refusal leaves no token behind
