"""The reward catalogue, redemptions and vouchers: program-file entries and API calls.

Rewards are loaded through `program_load`, as an operator's file would, unless a test needs a state the
file format cannot express.
"""

import datetime as dt

from django.utils import timezone

from loyalty.ledger.models import Account, LedgerEntry, PointLot
from loyalty.tiers.models import Tier
from members.models import Member
from rewards.models import Redemption, Reward, Voucher
from tests.support.api import Api

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
