"""POST /api/v1/redemptions and POST /api/v1/redemptions/{id}/cancel (docs/API.md, Rewards and vouchers).

A redemption takes the reward's points through the ledger (one `redeem` entry drawing lots), one unit of
stock, and issues a voucher (none for a donation). Every refusal is 422 with its business code and writes
nothing at all. Cancelling gives the points back to the very lots they came from and the stock back.
"""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.utils import timezone

from loyalty.ledger.models import Account, LedgerEntry, LotAllocation
from loyalty.ledger.services import points_credit
from members.services import member_set_status
from rewards.models import Redemption, Reward, Voucher
from tests.factories import MemberFactory
from tests.support.api import balance
from tests.support.rewards import (
    DAY,
    cancel,
    error_of,
    lots_of,
    redeem,
    redeemed,
    tier_give,
    world,
)

pytestmark = pytest.mark.django_db

Kind = LedgerEntry.Kind
CODE_FORMAT = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2}$")


def benefits(monkeypatch, active: bool) -> None:
    """Pretend the member has (or has not) a live paid plan, everywhere the rule is read."""
    fake = lambda account, *, now: active  # noqa: E731
    for module in ("rewards.eligibility", "rewards.services"):
        monkeypatch.setattr(f"{module}.plan_benefits_hold", fake)


# --- success -------------------------------------------------------------------------------------------


def test_a_redemption_takes_the_points_and_one_unit_of_stock_and_issues_a_voucher(api, reward_load, member_with_points):
    reward = reward_load("COFFEE", name="Free coffee", points_cost=300, stock=10, voucher_valid_days=30)
    member = member_with_points(1000)
    before = timezone.now()

    response = redeem(api, member, "COFFEE")

    after = timezone.now()
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("red_")
    assert body["reward"] == {"code": "COFFEE", "name": "Free coffee"}
    assert body["points"] == 300 and body["status"] == "issued"
    assert CODE_FORMAT.match(body["voucher_code"]), body["voucher_code"]
    assert body["balance"] == {"available": 700, "pending": 0, "held": 0}
    expires_at = dt.datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() is not None
    assert before + 30 * DAY <= expires_at <= after + 30 * DAY

    redemption = Redemption.objects.get(public_id=body["id"])
    voucher = Voucher.objects.get(redemption=redemption)
    assert (redemption.member, redemption.reward, redemption.shop, redemption.points) == (
        member, reward, api.shop, 300
    )  # fmt: skip
    assert voucher.code == body["voucher_code"] and voucher.status == Voucher.Status.ISSUED
    assert voucher.expires_at == redemption.created_at + 30 * DAY == expires_at
    assert voucher.value == reward.value and voucher.member == member
    # The points went through the ledger: one redeem entry of -300, drawn from the member's lot.
    entry = redemption.entry
    assert (entry.kind, entry.points, entry.balance_after, entry.shop) == (Kind.REDEEM, -300, 700, api.shop)
    assert entry.reference == f"redemption:{body['id']}"
    assert sum(LotAllocation.objects.filter(entry=entry).values_list("points", flat=True)) == 300
    assert balance(member) == (700, 0, 0)
    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (10, 9)


def test_each_redemption_takes_exactly_one_unit_until_the_stock_is_gone(api, reward_load, member_with_points):
    reward_load("MUG", points_cost=100, stock=3)
    members = [member_with_points(500) for _ in range(4)]

    statuses = [redeem(api, member, "MUG").status_code for member in members]

    assert statuses == [201, 201, 201, 422]
    assert Reward.objects.get(code="MUG").stock_remaining == 0
    assert [balance(m)[0] for m in members] == [400, 400, 400, 500]


def test_an_unlimited_reward_stays_unlimited(api, reward_load, member_with_points):
    reward_load("SOCKS", stock=None)
    member = member_with_points(1000)

    redeemed(api, member, "SOCKS")
    redeemed(api, member, "SOCKS")

    assert Reward.objects.get(code="SOCKS").stock_remaining is None
    assert Redemption.objects.filter(member=member).count() == 2


def test_a_donation_records_the_redemption_but_issues_no_voucher(api, reward_load, member_with_points):
    reward_load("TREES", kind="donation", name="Plant a tree", points_cost=200, value="2.00", stock=5)
    member = member_with_points(1000)

    body = redeemed(api, member, "TREES")

    assert body["voucher_code"] is None and body["expires_at"] is None
    assert body["status"] == "issued" and body["points"] == 200
    assert body["balance"]["available"] == 800
    redemption = Redemption.objects.get(public_id=body["id"])
    assert redemption.entry.kind == Kind.REDEEM and redemption.entry.points == -200
    assert Voucher.objects.count() == 0
    assert Reward.objects.get(code="TREES").stock_remaining == 4


def test_a_tier_at_or_above_the_minimum_may_redeem(api, reward_load, tiers, member_with_points):
    reward_load("LOUNGE", min_tier="silver")
    silver, gold = member_with_points(1000), member_with_points(1000)
    tier_give(silver, tiers["silver"])
    tier_give(gold, tiers["gold"])

    assert redeem(api, silver, "LOUNGE").status_code == 201
    assert redeem(api, gold, "LOUNGE").status_code == 201


def test_a_subscriber_may_redeem_a_subscribers_only_reward(api, reward_load, member_with_points, monkeypatch):
    reward_load("PLUS", subscribers_only=True)
    member = member_with_points(1000)
    benefits(monkeypatch, True)

    assert redeem(api, member, "PLUS").status_code == 201


def test_a_reward_inside_its_window_may_be_redeemed(api, reward_load, member_with_points):
    now = timezone.now()
    reward_load("WINDOW", valid_from=(now - DAY).isoformat(), valid_until=(now + DAY).isoformat())

    assert redeem(api, member_with_points(1000), "WINDOW").status_code == 201


def test_redeeming_needs_the_points_redeem_scope(api_for, shop, reward_load, member_with_points):
    reward_load("COFFEE")
    member = member_with_points(1000)
    reader = api_for(shop, scopes=["members:read", "members:write", "transactions:write"])
    before = world()

    response = redeem(reader, member, "COFFEE")

    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error"
    assert world() == before


# --- refusals ------------------------------------------------------------------------------------------


def _insufficient(ctx):
    ctx.reward_load("R", points_cost=300)
    return ctx.member_with_points(299)


def _insufficient_without_account(ctx):
    ctx.reward_load("R", points_cost=1)
    return ctx.member_with_points(0)  # never had a ledger account: the refusal must not create one


def _out_of_stock(ctx):
    ctx.reward_load("R", stock=0)
    return ctx.member_with_points(1000)


def _last_one_taken(ctx):
    ctx.reward_load("R", stock=1)
    redeemed(ctx.api, ctx.member_with_points(1000), "R")
    return ctx.member_with_points(1000)


def _limit_reached(ctx):
    ctx.reward_load("R", per_member_limit=2, points_cost=100)
    member = ctx.member_with_points(1000)
    redeemed(ctx.api, member, "R")
    redeemed(ctx.api, member, "R")
    return member


def _tier_too_low(ctx):
    tiers = ctx.tiers()
    ctx.reward_load("R", min_tier="gold")
    member = ctx.member_with_points(1000)
    tier_give(member, tiers["silver"])
    return member


def _no_tier_recorded(ctx):
    ctx.tiers()
    ctx.reward_load("R", min_tier="silver")
    return ctx.member_with_points(1000)  # no tier recorded: holds the base tier (bronze) only


def _not_subscribed(ctx):
    ctx.reward_load("R", subscribers_only=True)
    return ctx.member_with_points(1000)


def _inactive_reward(ctx):
    ctx.reward_load("R", active=False)
    return ctx.member_with_points(1000)


def _not_yet_valid(ctx):
    ctx.reward_load("R", valid_from=(timezone.now() + DAY).isoformat())
    return ctx.member_with_points(1000)


def _no_longer_valid(ctx):
    now = timezone.now()
    ctx.reward_load("R", valid_from=(now - 10 * DAY).isoformat(), valid_until=(now - DAY).isoformat())
    return ctx.member_with_points(1000)


def _suspended_member(ctx):
    ctx.reward_load("R")
    return member_set_status(member=ctx.member_with_points(1000), status="suspended")


def _closed_member(ctx):
    ctx.reward_load("R")
    return member_set_status(member=ctx.member_with_points(1000), status="closed")


REFUSALS = [
    ("insufficient_points", _insufficient),
    ("insufficient_points", _insufficient_without_account),
    ("out_of_stock", _out_of_stock),
    ("out_of_stock", _last_one_taken),
    ("member_limit_reached", _limit_reached),
    ("tier_required", _tier_too_low),
    ("tier_required", _no_tier_recorded),
    ("subscription_required", _not_subscribed),
    ("reward_unavailable", _inactive_reward),
    ("reward_unavailable", _not_yet_valid),
    ("reward_unavailable", _no_longer_valid),
    ("member_inactive", _suspended_member),
    ("member_inactive", _closed_member),
]


@pytest.fixture
def ctx(api, reward_load, member_with_points, request):
    return SimpleNamespace(
        api=api,
        reward_load=reward_load,
        member_with_points=member_with_points,
        tiers=lambda: request.getfixturevalue("tiers"),
    )


@pytest.mark.parametrize(("code", "scenario"), REFUSALS, ids=[s.__name__.strip("_") for _, s in REFUSALS])
def test_a_refused_redemption_is_422_with_its_code_and_writes_nothing(ctx, code, scenario):
    member = scenario(ctx)
    before = world()
    accounts = Account.objects.count()

    response = redeem(ctx.api, member, "R")

    assert error_of(response) == (422, "business_rule", code), response.content
    assert response.json()["error"]["message"]
    assert world() == before
    assert Account.objects.count() == accounts


def test_the_refusals_cover_every_code_api_md_lists():
    assert {code for code, _ in REFUSALS} == {
        "insufficient_points", "out_of_stock", "member_limit_reached", "tier_required", "subscription_required",
        "reward_unavailable", "member_inactive",
    }  # fmt: skip


def test_a_subscription_check_is_refused_even_when_the_member_has_the_points(
    api, reward_load, member_with_points, monkeypatch
):
    reward_load("PLUS", subscribers_only=True)
    member = member_with_points(1000)
    benefits(monkeypatch, False)

    assert error_of(redeem(api, member, "PLUS")) == (422, "business_rule", "subscription_required")


def test_a_cancelled_redemption_frees_a_slot_of_the_member_limit(api, reward_load, member_with_points):
    reward_load("R", per_member_limit=1, points_cost=100)
    member = member_with_points(1000)
    first = redeemed(api, member, "R")
    assert error_of(redeem(api, member, "R"))[2] == "member_limit_reached"

    assert cancel(api, first["id"]).status_code == 200

    assert redeem(api, member, "R").status_code == 201
    assert error_of(redeem(api, member, "R"))[2] == "member_limit_reached"
    assert balance(member)[0] == 900


def test_the_member_limit_counts_each_member_separately(api, reward_load, member_with_points):
    reward_load("R", per_member_limit=1, points_cost=100)
    one, two = member_with_points(1000), member_with_points(1000)

    assert redeem(api, one, "R").status_code == 201
    assert redeem(api, two, "R").status_code == 201


def test_an_unknown_reward_is_404_reward_not_found(api, reward_load, member_with_points):
    reward_load("R")
    member = member_with_points(1000)
    before = world()

    response = redeem(api, member, "NO-SUCH-REWARD")

    assert error_of(response) == (404, "not_found", "reward_not_found")
    assert response.json()["error"]["param"] == "reward"
    assert world() == before


def test_an_unknown_member_is_404(api, reward_load):
    reward_load("R")
    before = world()

    response = api.post("/api/v1/redemptions", {"member": "mem_doesnotexist", "reward": "R"})

    assert error_of(response) == (404, "not_found", "member_not_found")
    assert world() == before


@pytest.mark.parametrize("body", [{}, {"member": "mem_x"}, {"reward": "R"}, {"member": 5, "reward": ["R"]}])
def test_a_malformed_redemption_is_400(api, reward_load, body):
    reward_load("R")
    before = world()

    response = api.post("/api/v1/redemptions", body)

    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request"
    assert world() == before


# --- cancellation --------------------------------------------------------------------------------------


@pytest.fixture
def three_lots(program):
    """A member whose 750 points sit in three lots: 100 expiring first, 150 next, 500 never."""
    now = timezone.now()
    member = MemberFactory()
    points_credit(member=member, points=100, now=now - DAY, expires_at=now + 10 * DAY)
    points_credit(member=member, points=150, now=now - DAY, expires_at=now + 20 * DAY)
    points_credit(member=member, points=500, now=now - DAY)
    return member


def test_cancelling_gives_the_points_back_to_the_very_lots_they_came_from(api, reward_load, three_lots):
    reward_load("R", points_cost=300, stock=10)
    lots_before = lots_of(three_lots)
    body = redeemed(api, three_lots, "R")
    drawn = {lot: lots_before[lot] - left for lot, left in lots_of(three_lots).items()}
    assert sorted(drawn.values()) == [50, 100, 150]  # soonest-expiring first, the rest from the last lot
    assert Reward.objects.get(code="R").stock_remaining == 9

    response = cancel(api, body["id"])

    assert response.status_code == 200, response.content
    out = response.json()
    assert out["id"] == body["id"] and out["status"] == "cancelled"
    assert out["balance"] == {"available": 750, "pending": 0, "held": 0}
    assert out["voucher_code"] == body["voucher_code"]
    assert lots_of(three_lots) == lots_before
    assert balance(three_lots) == (750, 0, 0)
    assert Reward.objects.get(code="R").stock_remaining == 10
    redemption = Redemption.objects.get(public_id=body["id"])
    assert redemption.status == Redemption.Status.CANCELLED and redemption.cancelled_at is not None
    reversal = LedgerEntry.objects.get(reverses=redemption.entry)
    assert (reversal.kind, reversal.points, reversal.balance_after) == (Kind.REVERSAL, 300, 750)
    returned = dict(LotAllocation.objects.filter(entry=reversal).values_list("lot_id", "points"))
    assert returned == {lot: -points for lot, points in drawn.items()}
    assert Voucher.objects.get(redemption=redemption).status == Voucher.Status.CANCELLED


def test_a_cancelled_voucher_looks_cancelled_and_cannot_be_used(api, other_api, reward_load, member_with_points):
    reward_load("R")
    body = redeemed(api, member_with_points(1000), "R")
    assert cancel(api, body["id"]).status_code == 200

    looked_up = other_api.get(f"/api/v1/vouchers/{body['voucher_code']}")
    assert looked_up.status_code == 200 and looked_up.json()["status"] == "cancelled"
    before = world()
    used = other_api.post(f"/api/v1/vouchers/{body['voucher_code']}/use", {"external_id": "order-9"})
    assert error_of(used) == (422, "business_rule", "voucher_cancelled")
    assert world() == before


def test_cancelling_twice_is_invalid_state_and_changes_nothing(api, reward_load, member_with_points):
    reward_load("R")
    member = member_with_points(1000)
    body = redeemed(api, member, "R")
    assert cancel(api, body["id"]).status_code == 200
    before = world()

    response = cancel(api, body["id"])

    assert error_of(response) == (422, "business_rule", "invalid_state")
    assert world() == before
    assert balance(member) == (1000, 0, 0)
    assert Reward.objects.get(code="R").stock_remaining == 10


def test_a_redemption_whose_voucher_was_used_cannot_be_cancelled(api, other_api, reward_load, member_with_points):
    reward_load("R")
    member = member_with_points(1000)
    body = redeemed(api, member, "R")
    assert other_api.post(f"/api/v1/vouchers/{body['voucher_code']}/use", {"external_id": "o-1"}).status_code == 200
    before = world()

    response = cancel(api, body["id"])

    assert error_of(response) == (422, "business_rule", "voucher_already_used")
    assert world() == before
    assert balance(member) == (700, 0, 0)


def test_another_shops_redemption_cannot_be_cancelled_and_is_404(api, other_api, reward_load, member_with_points):
    reward_load("R")
    body = redeemed(api, member_with_points(1000), "R")
    before = world()

    assert error_of(cancel(other_api, body["id"])) == (404, "not_found", "redemption_not_found")
    assert error_of(cancel(api, "red_doesnotexist")) == (404, "not_found", "redemption_not_found")
    assert world() == before


def test_cancelling_a_donation_gives_the_points_and_the_stock_back(api, reward_load, member_with_points):
    reward_load("TREES", kind="donation", points_cost=200, stock=5)
    member = member_with_points(1000)
    body = redeemed(api, member, "TREES")

    response = cancel(api, body["id"])

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["voucher_code"] is None
    assert balance(member) == (1000, 0, 0)
    assert Reward.objects.get(code="TREES").stock_remaining == 5


def test_cancelling_after_later_spending_returns_the_points_to_the_redemptions_own_lots(api, reward_load, three_lots):
    """Lots 100 (soonest), 150, 500 (never). R takes 100+150+50; S then takes 400 of the last lot. Cancelling
    R gives back 100, 150 and 50 to exactly those lots, not to whatever lot S left short."""
    reward_load("R", points_cost=300, stock=None)
    reward_load("S", points_cost=400, stock=None)
    soon, later, never = sorted(lots_of(three_lots))
    first = redeemed(api, three_lots, "R")
    redeemed(api, three_lots, "S")
    assert lots_of(three_lots) == {soon: 0, later: 0, never: 50}

    assert cancel(api, first["id"]).status_code == 200

    assert lots_of(three_lots) == {soon: 100, later: 150, never: 100}
    assert balance(three_lots) == (350, 0, 0)


def test_an_idempotency_key_replays_the_redemption_instead_of_redeeming_twice(api, reward_load, member_with_points):
    reward_load("R", stock=10)
    member = member_with_points(1000)
    first = redeem(api, member, "R", idempotency_key="checkout-42")
    assert first.status_code == 201

    again = redeem(api, member, "R", idempotency_key="checkout-42")

    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Redemption.objects.count() == 1 and balance(member)[0] == 700
    assert Reward.objects.get(code="R").stock_remaining == 9
