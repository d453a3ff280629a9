"""Rewards in the operator's hands: the `rewards` section of `load_program`."""

import json

import pytest
from django.core.management import CommandError, call_command

from loyalty.program.loading import ProgramFileError, program_load
from loyalty.shops.models import Shop
from loyalty.tiers.models import Tier
from rewards.models import Reward
from tests.support.api import PROGRAM
from tests.support.rewards import TIERS, redeemed, reward_item, world

pytestmark = pytest.mark.django_db

# docs/API.md's rewards block, word for word.
API_MD_REWARD = {
    "code": "COFFEE", "name": "Free coffee", "kind": "free_product", "points_cost": 300, "value": "3.50",
    "stock": 10, "per_member_limit": 2, "min_tier": None, "subscribers_only": False, "voucher_valid_days": 30,
}  # fmt: skip


def document(*rewards: dict) -> dict:
    return {
        "program": PROGRAM,
        "tiers": [{"code": "bronze", "name": "Bronze", "threshold": 0, "multiplier": "1"}],
        "shops": [{"code": "shop-a", "name": "Shop A"}, {"code": "shop-b", "name": "B"}],
        "rewards": list(rewards or [API_MD_REWARD]),
    }


@pytest.fixture
def load_file(tmp_path, capsys):
    """`load_file(doc)` runs `manage.py load_program` on it and returns what it printed."""

    def load(doc: dict) -> str:
        path = tmp_path / "program.json"
        path.write_text(json.dumps(doc))
        call_command("load_program", str(path))
        return capsys.readouterr().out

    return load


def reward_state(code: str = "COFFEE") -> dict:
    reward = Reward.objects.get(code=code)
    return {f.attname: getattr(reward, f.attname) for f in Reward._meta.fields}


# --- load_program --------------------------------------------------------------------------------------


def test_load_program_creates_api_md_s_reward(load_file):
    out = load_file(document())

    assert "rewards: 1 created, 0 updated, 0 unchanged" in out
    reward = Reward.objects.get(code="COFFEE")
    assert (reward.name, reward.kind, reward.points_cost, str(reward.value)) == (
        "Free coffee", "free_product", 300, "3.50"
    )  # fmt: skip
    assert (reward.stock, reward.stock_remaining, reward.per_member_limit) == (10, 10, 2)
    assert (reward.min_tier, reward.subscribers_only, reward.voucher_valid_days, reward.active) == (
        None, False, 30, True
    )  # fmt: skip


def test_loading_the_same_file_again_changes_nothing(load_file):
    load_file(document())
    before = reward_state()

    out = load_file(document())

    assert "rewards: 0 created, 0 updated, 1 unchanged" in out
    assert reward_state() == before


def test_reloading_after_redemptions_does_not_refill_the_stock(load_file, api_for, member_with_points):
    load_file(document())
    api = api_for(Shop.objects.get(code="shop-a"))
    for _ in range(3):
        redeemed(api, member_with_points(1000), "COFFEE")
    before = world()

    out = load_file(document())

    assert "rewards: 0 created, 0 updated, 1 unchanged" in out
    assert Reward.objects.get(code="COFFEE").stock_remaining == 7
    assert world() == before


def test_raising_the_stock_in_the_file_adds_to_what_is_left(load_file, api_for, member_with_points):
    load_file(document())
    api = api_for(Shop.objects.get(code="shop-a"))
    for _ in range(3):
        redeemed(api, member_with_points(1000), "COFFEE")

    out = load_file(document({**API_MD_REWARD, "stock": 15}))

    assert "rewards: 0 created, 1 updated, 0 unchanged" in out
    reward = Reward.objects.get(code="COFFEE")
    assert (reward.stock, reward.stock_remaining) == (15, 12)
    assert "1 unchanged" in load_file(document({**API_MD_REWARD, "stock": 15}))


def test_lowering_the_stock_within_what_is_left_takes_it_away(load_file, api_for, member_with_points):
    load_file(document())
    api = api_for(Shop.objects.get(code="shop-a"))
    redeemed(api, member_with_points(1000), "COFFEE")

    load_file(document({**API_MD_REWARD, "stock": 4}))

    reward = Reward.objects.get(code="COFFEE")
    assert (reward.stock, reward.stock_remaining) == (4, 3)


def test_lowering_the_stock_below_what_was_redeemed_is_a_reported_problem(api, reward_load, member_with_points):
    """rewards_apply means to answer ProgramFileError("rewards", "...: stock below what was already
    redeemed"), so that `load_program` reports it like any other problem of the file."""
    reward_load("R", stock=3)
    for _ in range(2):
        redeemed(api, member_with_points(1000), "R")
    before = world()

    with pytest.raises(ProgramFileError) as caught:
        program_load({"rewards": [reward_item("R", stock=1)]})

    assert caught.value.problems == [("rewards[0].stock", "R: 1 is less than was already redeemed")]
    assert world() == before


@pytest.mark.parametrize(("old", "new", "remaining"), [(3, None, None), (None, 4, 4)])
def test_a_reward_can_become_unlimited_or_limited_through_the_file(reward_load, old, new, remaining):
    """rewards_apply has branches for both switches; the file format allows `stock: null`."""
    reward_load("R", stock=old)

    report = program_load({"rewards": [reward_item("R", stock=new)]})

    assert str(report.sections["rewards"]) == "0 created, 1 updated, 0 unchanged"
    reward = Reward.objects.get(code="R")
    assert (reward.stock, reward.stock_remaining) == (new, remaining)


def test_an_unknown_min_tier_is_reported_at_its_path_and_nothing_is_loaded(load_file, tmp_path, capsys):
    bad = document(
        {**API_MD_REWARD, "min_tier": "platinum"}, {**API_MD_REWARD, "code": "TEA", "name": "Tea"}
    )  # fmt: skip

    with pytest.raises(ProgramFileError) as caught:
        program_load(bad)
    assert caught.value.problems == [("rewards[0].min_tier", "unknown tier 'platinum'")]

    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_program", str(path))
    assert "rewards[0].min_tier: unknown tier 'platinum'" in capsys.readouterr().err
    # Not the rewards, and not the other sections of the same file either.
    assert not Reward.objects.exists()
    assert not Tier.objects.exists()
    assert not Shop.objects.exists()


def test_a_min_tier_from_the_same_file_is_found(program):
    program_load({"tiers": TIERS, "rewards": [reward_item("R", min_tier="silver")]})

    assert Reward.objects.get(code="R").min_tier == Tier.objects.get(code="silver")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"points_cost": 0}, "rewards[0].points_cost"),
        ({"kind": "cashback"}, "rewards[0].kind"),
        ({"kind": "voucher_percent", "value": "101"}, "rewards[0].value"),
        ({"stock": -1}, "rewards[0].stock"),
        ({"valid_from": "2026-05-01T00:00:00Z", "valid_until": "2026-04-01T00:00:00Z"}, "rewards[0].valid_until"),
        ({"colour": "red"}, "rewards[0].colour"),
    ],
)
def test_a_bad_reward_is_reported_at_its_path(program, change, path):
    with pytest.raises(ProgramFileError) as caught:
        program_load({"rewards": [reward_item("R", **change)]})

    assert path in [problem_path for problem_path, _ in caught.value.problems]
    assert not Reward.objects.exists()
