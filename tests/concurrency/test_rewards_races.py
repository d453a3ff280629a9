"""Rewards under races, on PostgreSQL with real threads (the `parallel` fixture): the last unit of stock,
a member's redemption limit, and a voucher taken by two shops at once each go to exactly one caller; a
stock set by staff racing redemptions neither oversells nor overwrites them.

Most races call the services directly (each call is its own committed transaction on its own connection);
one goes through the HTTP API, where the request's transaction wraps the service. Every test commits for
real and the suite-wide ledger_verify() runs after it.
"""

from collections import Counter

import pytest
from django.db.models import Sum
from django.utils import timezone

from loyalty.ledger.models import Account, LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create
from rewards.errors import StockChanged
from rewards.models import Redemption, Reward, Voucher
from rewards.services import redemption_cancel, reward_redeem, reward_stock_set, voucher_use
from tests.factories import MemberFactory
from tests.support.api import PROGRAM, Api, balance

pytestmark = pytest.mark.django_db(transaction=True)

COST = 300


def reward_item(code: str, **fields) -> dict:
    return {"code": code, "name": code, "kind": "free_product", "points_cost": COST, "value": "3.50", **fields}


@pytest.fixture
def shops() -> tuple[Shop, Shop]:
    program_load({"program": PROGRAM, "shops": [{"code": "shop-a", "name": "A"}, {"code": "shop-b", "name": "B"}]})
    return Shop.objects.get(code="shop-a"), Shop.objects.get(code="shop-b")


def reward_load(code: str, **fields) -> Reward:
    program_load({"rewards": [reward_item(code, **fields)]})
    return Reward.objects.get(code=code)


def funded(n: int, points: int = 1000) -> list:
    members = []
    for _ in range(n):
        member = MemberFactory()
        points_credit(member=member, points=points, now=timezone.now())
        members.append(member)
    return members


def redeem_call(member, reward, shop):
    return lambda: reward_redeem(member=member, reward=reward, shop=shop, now=timezone.now())


def codes_of(outcomes) -> Counter:
    """ "ok" for a success, else the error's API code (or its class name, which fails the test's asserts)."""
    return Counter("ok" if o.ok else getattr(o.error, "code", type(o.error).__name__) for o in outcomes)


def test_200_members_racing_for_10_units_get_exactly_10(shops, parallel):
    shop, _ = shops
    reward = reward_load("LAST-TEN", stock=10)
    members = funded(200)

    outcomes = parallel([redeem_call(m, reward, shop) for m in members], threads=50)

    assert codes_of(outcomes) == {"ok": 10, "out_of_stock": 190}, [o.error for o in outcomes if not o.ok][:3]
    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (10, 0)
    assert Redemption.objects.filter(reward=reward).count() == 10
    assert Voucher.objects.filter(reward=reward).count() == 10
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REDEEM).aggregate(s=Sum("points"))["s"] == -10 * COST
    assert Account.objects.aggregate(s=Sum("available"))["s"] == 200 * 1000 - 10 * COST
    winners = {o.value.redemption.member_id for o in outcomes if o.ok}
    assert len(winners) == 10
    assert sorted(balance(m)[0] for m in members) == [1000 - COST] * 10 + [1000] * 190
    assert all(balance(m)[0] == 1000 - COST for m in members if m.pk in winners)


def test_one_member_racing_20_times_against_a_limit_of_2_gets_2(shops, parallel):
    shop, _ = shops
    reward = reward_load("TWICE", stock=1000, per_member_limit=2)
    (member,) = funded(1, points=100_000)

    outcomes = parallel([redeem_call(member, reward, shop) for _ in range(20)])

    assert codes_of(outcomes) == {"ok": 2, "member_limit_reached": 18}
    assert Redemption.objects.filter(member=member, status="issued").count() == 2
    assert Reward.objects.get(pk=reward.pk).stock_remaining == 998
    assert balance(member) == (100_000 - 2 * COST, 0, 0)


def test_a_voucher_taken_by_two_shops_at_once_is_used_exactly_once(shops, parallel):
    shop_a, shop_b = shops
    reward = reward_load("V", stock=None)
    codes = [
        reward_redeem(member=m, reward=reward, shop=shop_a, now=timezone.now()).redemption.voucher.code
        for m in funded(10)
    ]

    calls, who = [], []
    for i, code in enumerate(codes):
        for shop in (shop_a, shop_b):
            external_id = f"{shop.code}-order-{i}"
            calls.append(lambda code=code, shop=shop, external_id=external_id: voucher_use(
                code=code, shop=shop, external_id=external_id, now=timezone.now()
            ))  # fmt: skip
            who.append((code, shop, external_id))

    outcomes = parallel(calls)

    assert codes_of(outcomes) == {"ok": 10, "voucher_already_used": 10}
    for code in codes:
        results = [(o, w) for o, w in zip(outcomes, who, strict=True) if w[0] == code]
        winners = [w for o, w in results if o.ok]
        assert len(winners) == 1, code
        assert all(o.value[1] is True for o, _ in results if o.ok)  # used now, not a replay
        voucher = Voucher.objects.get(code=code)
        assert (voucher.status, voucher.used_by, voucher.use_external_id) == ("used", winners[0][1], winners[0][2])


def test_cancelling_while_the_voucher_is_being_used_lets_exactly_one_win(shops, parallel):
    shop_a, shop_b = shops
    reward = reward_load("C", stock=100)
    members = funded(10)
    redemptions = [reward_redeem(member=m, reward=reward, shop=shop_a, now=timezone.now()).redemption for m in members]

    calls = []
    for i, redemption in enumerate(redemptions):
        calls.append(lambda r=redemption: redemption_cancel(redemption=r, now=timezone.now()))
        calls.append(lambda code=redemption.voucher.code, i=i: voucher_use(
            code=code, shop=shop_b, external_id=f"o-{i}", now=timezone.now()
        ))  # fmt: skip

    outcomes = parallel(calls)

    cancelled = used = 0
    for i, member in enumerate(members):
        cancel_outcome, use_outcome = outcomes[2 * i], outcomes[2 * i + 1]
        voucher = Voucher.objects.get(pk=redemptions[i].voucher.pk)
        if cancel_outcome.ok:
            cancelled += 1
            assert use_outcome.error.code == "voucher_cancelled"
            assert voucher.status == "cancelled" and balance(member)[0] == 1000
        else:
            used += 1
            assert cancel_outcome.error.code == "voucher_already_used" and use_outcome.ok
            assert voucher.status == "used" and balance(member)[0] == 1000 - COST
    assert cancelled + used == 10
    assert Reward.objects.get(pk=reward.pk).stock_remaining == 100 - used


def test_through_the_api_the_last_units_go_to_exactly_as_many_checkouts(shops, parallel):
    shop, _ = shops
    reward_load("API-FIVE", stock=5)
    members = funded(30)
    key, raw_key = api_key_create(shop=shop)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())  # authentication writes nothing now

    def call(member):
        return lambda: Api(raw_key, shop).post(
            "/api/v1/redemptions", {"member": member.public_id, "reward": "API-FIVE"}
        )

    outcomes = parallel([call(m) for m in members])

    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    answers = Counter(
        (o.value.status_code, o.value.json().get("error", {}).get("code")) for o in outcomes
    )  # fmt: skip
    assert answers == {(201, None): 5, (422, "out_of_stock"): 25}
    assert Reward.objects.get(code="API-FIVE").stock_remaining == 0
    assert Voucher.objects.count() == Redemption.objects.count() == 5
    assert Account.objects.aggregate(s=Sum("available"))["s"] == 30 * 1000 - 5 * COST


def stock_set_call(reward, *, remaining, expected):
    return lambda: reward_stock_set(reward=reward, remaining=remaining, expected=expected)


def test_redemptions_racing_stock_sets_never_oversell_and_stale_sets_are_refused(shops, parallel):
    """Staff who all saw 20 left set a new total of 5 while 50 members redeem: a set applies only while 20
    are still left (so at most one does), every other is refused with what it found, and whatever the
    order, what was redeemed is exactly what was allotted and taken, never more."""
    shop, _ = shops
    reward = reward_load("SET-RACE", stock=20)
    members = funded(60)
    calls = [redeem_call(m, reward, shop) for m in members]
    calls[::6] = [stock_set_call(reward, remaining=5, expected=20) for _ in calls[::6]]  # 10 staff saves

    outcomes = parallel(calls, threads=50)

    sets = outcomes[::6]
    redemptions = [o for i, o in enumerate(outcomes) if i % 6]
    applied = [o for o in sets if o.ok]
    assert len(applied) <= 1
    assert all(isinstance(o.error, StockChanged) for o in sets if not o.ok), [o.error for o in sets]
    assert all(o.error.expected == 20 and o.error.actual != 20 for o in sets if not o.ok)
    assert set(codes_of(redemptions)) <= {"ok", "out_of_stock"}, [o.error for o in redemptions if not o.ok][:3]
    reward.refresh_from_db()
    issued = Redemption.objects.filter(reward=reward).count()
    assert reward.stock_remaining == 0  # 50 members wanted more than was ever allotted
    assert issued == reward.stock == codes_of(redemptions)["ok"]
    assert issued <= 20 and (issued == 20 or applied)  # only an applied set lowers the allotment
    assert Voucher.objects.filter(reward=reward).count() == issued
    assert Account.objects.aggregate(s=Sum("available"))["s"] == 60 * 1000 - issued * COST


def test_a_stock_set_refuses_a_stale_expected_value_and_writes_nothing(shops):
    shop, _ = shops
    reward = reward_load("STALE", stock=20)
    reward_redeem(member=funded(1)[0], reward=reward, shop=shop, now=timezone.now())

    with pytest.raises(StockChanged) as refused:
        reward_stock_set(reward=reward, remaining=30, expected=20)

    assert (refused.value.expected, refused.value.actual) == (20, 19)
    assert Reward.objects.values_list("stock", "stock_remaining").get(pk=reward.pk) == (20, 19)
    reward_stock_set(reward=reward, remaining=30, expected=19)
    assert Reward.objects.values_list("stock", "stock_remaining").get(pk=reward.pk) == (31, 30)
