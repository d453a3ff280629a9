"""GET /api/v1/rewards[?member=]: the catalogue of active rewards and, for a member, whether each may be
redeemed now. The catalogue never promises what redemption then refuses: its `eligibility.reason` is the
very code POST /api/v1/redemptions answers.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.ledger.services import points_credit
from loyalty.program.loading import program_load
from loyalty.tiers.models import Tier
from members.services import member_set_status
from tests.factories import MemberFactory
from tests.support.rewards import DAY, REWARDS, cancel, error_of, redeem, redeemed, reward_item, tier_give

pytestmark = pytest.mark.django_db

FIELDS = {
    "id", "code", "name", "description", "image_url", "category", "kind", "points_cost", "value", "stock_remaining",
    "per_member_limit", "min_tier", "subscribers_only", "valid_from", "valid_until",
}  # fmt: skip


def catalogue(api, member=None, **params) -> list[dict]:
    if member is not None:
        params["member"] = member.public_id
    response = api.get(REWARDS, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_catalogue_lists_active_rewards_in_sort_order(api, program):
    program_load({"tiers": [{"code": "gold", "name": "Gold", "threshold": 0, "multiplier": "1"}]})
    program_load({"rewards": [
        reward_item("LATE", sort_order=5, points_cost=50),
        reward_item("FIRST", sort_order=1, points_cost=900, name="First", description="the first",
                    kind="voucher_amount", value="10.00", stock=None, per_member_limit=3, min_tier="gold"),
        reward_item("GONE", active=False, sort_order=0),
    ]})  # fmt: skip

    results = catalogue(api)

    assert [r["code"] for r in results] == ["FIRST", "LATE"]
    first = results[0]
    assert set(first) == FIELDS
    assert "eligibility" not in first
    assert {k: first[k] for k in ("name", "description", "kind", "points_cost", "value", "stock_remaining")} == {
        "name": "First", "description": "the first", "kind": "voucher_amount", "points_cost": 900,
        "value": "10.00", "stock_remaining": None,
    }  # fmt: skip
    assert (first["per_member_limit"], first["min_tier"], first["subscribers_only"]) == (3, "gold", False)
    assert (first["valid_from"], first["valid_until"]) == (None, None)
    assert results[1]["stock_remaining"] == 10 and results[1]["min_tier"] is None


def test_the_catalogue_shows_the_live_stock(api, reward_load, member_with_points):
    reward_load("R", stock=2)
    redeemed(api, member_with_points(1000), "R")

    assert catalogue(api)[0]["stock_remaining"] == 1


def test_the_catalogue_is_paginated(api, program):
    program_load({"rewards": [reward_item(f"R{i}", sort_order=i) for i in range(5)]})

    page = api.get(REWARDS, {"limit": 2}).json()
    seen = [r["code"] for r in page["results"]]
    while page["next"]:
        page = api.client.get(page["next"], secure=True).json()
        seen += [r["code"] for r in page["results"]]

    assert seen == ["R0", "R1", "R2", "R3", "R4"]


def test_an_unknown_member_is_404(api, reward_load):
    reward_load("R")

    assert error_of(api.get(REWARDS, {"member": "mem_nobody"})) == (404, "not_found", "member_not_found")


def test_eligibility_takes_a_fixed_number_of_queries(api, program, member_with_points):
    member = member_with_points(1000)
    api.get("/api/v1/plans")  # warm the API key, as a busy checkout's is
    counts = []
    for n in (2, 12):
        program_load({"rewards": [reward_item(f"R{i}", per_member_limit=2) for i in range(n)]})
        with CaptureQueriesContext(connection) as queries:
            assert len(catalogue(api, member)) == n
        counts.append(len(queries))

    assert counts[0] == counts[1], counts


# --- the catalogue and redemption agree ----------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    reason: str | None  # what the catalogue must say; "unlisted" when the reward is not in it
    reward: dict = field(default_factory=dict)
    points: int = 1000
    prepare: Callable | None = None  # (api, member, code) -> None, after the reward and member exist
    subscribed: bool = False


def _redeem_times(n: int) -> Callable:
    def prepare(api, member, code):
        for _ in range(n):
            redeemed(api, member, code)

    return prepare


def _redeem_then_cancel(api, member, code):
    cancel(api, redeemed(api, member, code)["id"])


def _tier(code: str | None) -> Callable:
    def prepare(api, member, reward_code):
        tier_give(member, Tier.objects.get(code=code) if code else None)

    return prepare


def _suspend(api, member, code):
    member_set_status(member=member, status="suspended")


def _someone_else_takes_the_last(api, member, code):
    other = MemberFactory()
    points_credit(member=other, points=1000, now=timezone.now())
    redeemed(api, other, code)


def _scenarios() -> list[Scenario]:
    now = timezone.now()
    past, future = (now - 10 * DAY).isoformat(), (now + DAY).isoformat()
    return [
        Scenario("plain", None),
        Scenario("exact points", None, {"points_cost": 300}, points=300),
        Scenario("one point short", "insufficient_points", {"points_cost": 300}, points=299),
        Scenario("no account at all", "insufficient_points", {"points_cost": 1}, points=0),
        Scenario("stock 0", "out_of_stock", {"stock": 0}),
        Scenario("last one taken", "out_of_stock", {"stock": 1}, prepare=_someone_else_takes_the_last),
        Scenario("unlimited stock", None, {"stock": None}),
        Scenario("below the limit", None, {"per_member_limit": 2}, prepare=_redeem_times(1)),
        Scenario("at the limit", "member_limit_reached", {"per_member_limit": 2}, prepare=_redeem_times(2)),
        Scenario("cancelled frees a slot", None, {"per_member_limit": 1}, prepare=_redeem_then_cancel),
        Scenario("tier too low", "tier_required", {"min_tier": "gold"}, prepare=_tier("silver")),
        Scenario("no tier recorded holds the base tier", None, {"min_tier": "bronze"}, prepare=_tier(None)),
        Scenario("no tier recorded, above the base", "tier_required", {"min_tier": "silver"}, prepare=_tier(None)),
        Scenario("tier reached", None, {"min_tier": "silver"}, prepare=_tier("silver")),
        Scenario("tier above", None, {"min_tier": "silver"}, prepare=_tier("gold")),
        Scenario("not subscribed", "subscription_required", {"subscribers_only": True}),
        Scenario("subscribed", None, {"subscribers_only": True}, subscribed=True),
        Scenario("not yet", "reward_unavailable", {"valid_from": future}),
        Scenario("over", "reward_unavailable", {"valid_from": past, "valid_until": (now - DAY).isoformat()}),
        Scenario("in window", None, {"valid_from": past, "valid_until": future}),
        Scenario("inactive", "unlisted", {"active": False}),
        Scenario("suspended member", "member_inactive", {}, prepare=_suspend),
        # Several reasons at once: both sides name the same first one.
        Scenario("over and too poor", "reward_unavailable", {"valid_until": past, "valid_from": None}, points=0),
        Scenario("suspended and too poor", "member_inactive", {"points_cost": 5000}, prepare=_suspend),
        Scenario(
            "low tier and not subscribed",
            "tier_required",
            {"min_tier": "gold", "subscribers_only": True},
            prepare=_tier("bronze"),
        ),  # fmt: skip
        Scenario(
            "at limit and out of stock",
            "member_limit_reached",
            {"per_member_limit": 1, "stock": 1},
            prepare=_redeem_times(1),
        ),  # fmt: skip
        Scenario("out of stock and too poor", "out_of_stock", {"stock": 0, "points_cost": 5000}),
    ]


def test_the_catalogue_never_promises_what_redemption_refuses(api, tiers, member_with_points, monkeypatch):
    scenarios = _scenarios()
    assert {s.reason for s in scenarios} >= {
        None, "insufficient_points", "out_of_stock", "member_limit_reached", "tier_required",
        "subscription_required", "reward_unavailable", "member_inactive", "unlisted",
    }  # fmt: skip
    for number, scenario in enumerate(scenarios):
        code = f"S{number}"
        program_load({"rewards": [reward_item(code, **scenario.reward)]})
        member = member_with_points(scenario.points)
        if scenario.prepare:
            scenario.prepare(api, member, code)
        with monkeypatch.context() as patch:
            if scenario.subscribed:
                for module in ("rewards.eligibility", "rewards.services"):
                    patch.setattr(f"{module}.plan_benefits_hold", lambda account, *, now: True)
            listed = {r["code"]: r for r in catalogue(api, member, limit=200)}
            response = redeem(api, member, code)

        said = listed[code]["eligibility"] if code in listed else None
        if scenario.reason == "unlisted":
            assert said is None, scenario.name
            assert error_of(response) == (422, "business_rule", "reward_unavailable"), scenario.name
            continue
        assert said == {"eligible": scenario.reason is None, "reason": scenario.reason}, scenario.name
        if said["eligible"]:
            assert response.status_code == 201, (scenario.name, response.content)
        else:
            assert error_of(response) == (422, "business_rule", said["reason"]), (scenario.name, response.content)
