"""Fixtures and helpers for the reward catalogue, redemptions and vouchers.

The shop fixtures come from tests/api/conftest.py (program, shops A and B, their API clients, funded
members). Rewards are loaded through `program_load`, as an operator's file would, unless a test needs a
state the file format cannot express.
"""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from loyalty.ledger.models import Account, LedgerEntry, PointLot
from loyalty.program.loading import program_load
from loyalty.tiers.models import Tier
from members.models import Member
from rewards.models import Redemption, Reward, Voucher
from tests.api import conftest as api_fixtures
from tests.api.conftest import Api, balance  # noqa: F401 (re-exported for the rewards tests)

# The shop-side fixtures of the API tests: the program, shops A and B, their clients, funded members.
program = api_fixtures.program
program_set = api_fixtures.program_set
shop = api_fixtures.shop
other_shop = api_fixtures.other_shop
api_for = api_fixtures.api_for
api = api_fixtures.api
other_api = api_fixtures.other_api
member = api_fixtures.member
member_with_points = api_fixtures.member_with_points

REWARDS = "/api/v1/rewards"
REDEMPTIONS = "/api/v1/redemptions"
DAY = dt.timedelta(days=1)

TIERS = [
    {"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"},
    {"code": "silver", "name": "Silver", "threshold": 500, "multiplier": "1.5"},
    {"code": "gold", "name": "Gold", "threshold": 2000, "multiplier": "2"},
]


def reward_item(code: str = "COFFEE", **fields) -> dict:
    """A `rewards` entry of the program file: docs/API.md's example unless overridden."""
    return {
        "code": code, "name": f"Reward {code}", "kind": "free_product", "points_cost": 300, "value": "3.50",
        "stock": 10, "per_member_limit": None, "min_tier": None, "subscribers_only": False,
        "voucher_valid_days": 30, **fields,
    }  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttle counters live in the cache, keyed by API key id, and ids are reused between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def reward_load(program):
    """`reward_load(code, **fields)` loads one reward through the program file and returns it."""

    def load(code: str = "COFFEE", **fields) -> Reward:
        program_load({"rewards": [reward_item(code, **fields)]})
        return Reward.objects.get(code=code)

    return load


@pytest.fixture
def tiers(program) -> dict[str, Tier]:
    program_load({"tiers": TIERS})
    return Tier.objects.in_bulk(field_name="code")


def tier_give(member: Member, tier: Tier | None) -> None:
    """Put the member in `tier` (as a purchase or recalculate_tiers would have)."""
    Account.objects.filter(member=member).update(tier=tier, tier_valid_until=timezone.now() + 365 * DAY)


def redeem(api: Api, member: Member, reward: str | Reward, **headers):
    code = reward.code if isinstance(reward, Reward) else reward
    return api.post(REDEMPTIONS, {"member": member.public_id, "reward": code}, **headers)


def redeemed(api: Api, member: Member, reward: str | Reward) -> dict:
    response = redeem(api, member, reward)
    assert response.status_code == 201, response.content
    return response.json()


def cancel(api: Api, redemption_id: str):
    return api.post(f"{REDEMPTIONS}/{redemption_id}/cancel")


def error_of(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["type"], error["code"]


def lots_of(member: Member) -> dict[int, int]:
    """Remaining points per lot of the member."""
    return dict(PointLot.objects.filter(account__member=member).values_list("id", "remaining"))


def world() -> dict:
    """Everything a redemption, a cancellation or a voucher use could write, to compare before/after."""
    return {
        "accounts": sorted(Account.objects.values_list("member_id", "available", "pending", "held")),
        "entries": LedgerEntry.objects.count(),
        "lots": sorted(PointLot.objects.values_list("id", "remaining")),
        "stock": sorted(Reward.objects.values_list("code", "stock", "stock_remaining")),
        "redemptions": sorted(Redemption.objects.values_list("id", "status", "cancelled_at")),
        "vouchers": sorted(Voucher.objects.values_list("id", "status", "used_at", "use_external_id")),
    }
