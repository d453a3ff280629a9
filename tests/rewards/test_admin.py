"""The admin's reward form, whose stock changes apply to the live count so that redemptions happening
meanwhile are never lost, and the admin's cancel action."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from rewards.admin import RewardAdmin
from rewards.models import Redemption, Reward, Voucher
from rewards.services import reward_redeem
from tests.support.api import balance
from tests.support.rewards import redeemed

pytestmark = pytest.mark.django_db


def reward_state(code: str = "COFFEE") -> dict:
    reward = Reward.objects.get(code=code)
    return {f.attname: getattr(reward, f.attname) for f in Reward._meta.fields}


@pytest.fixture
def staff(db) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create(username="staff", is_staff=True, is_superuser=True))
    return client


def form_data(reward: Reward, **changes) -> dict:
    """The change form as the admin shows it for `reward`, with `changes` typed in."""
    reward.refresh_from_db()
    data = {
        "code": reward.code, "name": reward.name, "description": reward.description, "image_url": reward.image_url,
        "category": reward.category, "kind": reward.kind, "points_cost": reward.points_cost, "value": reward.value,
        "per_member_limit": reward.per_member_limit or "", "min_tier": reward.min_tier_id or "",
        "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
        "voucher_valid_days": reward.voucher_valid_days, "sort_order": reward.sort_order, "stock_change": "",
        "_save": "Save",
    }  # fmt: skip
    if reward.active:
        data["active"] = "on"
    if reward.subscribers_only:
        data["subscribers_only"] = "on"
    return {**data, **changes}


def change_url(reward: Reward) -> str:
    return f"/admin/rewards/reward/{reward.pk}/change/"


def post(staff: Client, url: str, data: dict):
    response = staff.post(url, data, secure=True, follow=True)
    assert response.status_code == 200
    assert not (response.context and response.context.get("errors")), response.context.get("errors")
    return response


def test_staff_can_open_every_rewards_screen(staff, api, reward_load, member_with_points):
    reward = reward_load("R")
    redeemed(api, member_with_points(1000), "R")
    for url in [
        "/admin/rewards/reward/", change_url(reward), "/admin/rewards/reward/add/",
        "/admin/rewards/redemption/", "/admin/rewards/voucher/",
        f"/admin/rewards/redemption/{Redemption.objects.get().pk}/change/",
        f"/admin/rewards/voucher/{Voucher.objects.get().pk}/change/",
    ]:  # fmt: skip
        assert staff.get(url, secure=True).status_code == 200, url


def test_a_stock_change_adds_to_the_live_count(staff, api, reward_load, member_with_points):
    reward = reward_load("R", stock=10)
    redeemed(api, member_with_points(1000), "R")

    post(staff, change_url(reward), form_data(reward, stock_change="3"))

    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (13, 12)


def test_taking_away_more_than_is_left_is_refused_with_a_message(staff, api, reward_load, member_with_points):
    reward = reward_load("R", stock=3)
    redeemed(api, member_with_points(1000), "R")
    before = reward_state("R")

    response = post(staff, change_url(reward), form_data(reward, stock_change="-3"))

    assert "Stock not changed" in response.content.decode()
    assert reward_state("R") == before

    post(staff, change_url(reward), form_data(reward, stock_change="-2"))
    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (1, 0)


def test_a_stock_change_on_an_unlimited_reward_is_refused(staff, reward_load):
    reward = reward_load("R", stock=None)

    response = post(staff, change_url(reward), form_data(reward, stock_change="5"))

    assert "Stock not changed" in response.content.decode()
    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (None, None)


def test_saving_the_form_after_a_redemption_keeps_the_redemptions_decrement(
    staff, api, reward_load, member_with_points
):
    reward = reward_load("R", stock=10)
    data = form_data(reward, name="Renamed")  # the form as it was opened, before the redemption
    redeemed(api, member_with_points(1000), "R")

    post(staff, change_url(reward), data)
    post(staff, change_url(reward), form_data(reward))  # and saved again with nothing changed

    reward.refresh_from_db()
    assert (reward.name, reward.stock, reward.stock_remaining) == ("Renamed", 10, 9)


@pytest.mark.parametrize(
    "edit", [{"name": "Renamed"}, {}, {"stock_change": "3"}], ids=["a field edited", "nothing edited", "stock +3"]
)
def test_a_redemption_committing_while_the_admin_saves_is_not_overwritten(
    staff, reward_load, member_with_points, shop, monkeypatch, edit
):
    """The admin reads the reward, then a checkout's redemption commits, then the admin writes. The
    redemption's decrement must survive: stock columns are never written from what the form read."""
    reward = reward_load("R", stock=10)
    buyer = member_with_points(1000)
    original = RewardAdmin.get_object

    def get_object_then_a_redemption_commits(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "POST":
            reward_redeem(member=buyer, reward=obj, shop=shop, now=timezone.now())
        return obj

    monkeypatch.setattr(RewardAdmin, "get_object", get_object_then_a_redemption_commits)

    post(staff, change_url(reward), form_data(reward, **edit))

    reward.refresh_from_db()
    added = 3 if "stock_change" in edit else 0
    assert Redemption.objects.filter(reward=reward).count() == 1
    assert (reward.stock, reward.stock_remaining) == (10 + added, 9 + added)


def test_adding_a_reward_in_the_admin_sets_its_stock(staff, tiers):
    base = {
        "name": "Tote bag", "description": "", "image_url": "", "category": "", "kind": "free_product",
        "points_cost": "500", "value": "5.00", "per_member_limit": "", "min_tier": tiers["silver"].pk,
        "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
        "voucher_valid_days": "30", "active": "on", "sort_order": "0", "_save": "Save",
    }  # fmt: skip

    post(staff, "/admin/rewards/reward/add/", {**base, "code": "TOTE", "stock_change": "5"})
    post(staff, "/admin/rewards/reward/add/", {**base, "code": "FREE", "stock_change": ""})

    assert list(Reward.objects.values_list("code", "stock", "stock_remaining").order_by("code")) == [
        ("FREE", None, None), ("TOTE", 5, 5)
    ]  # fmt: skip
    assert Reward.objects.get(code="TOTE").min_tier == tiers["silver"]


def test_the_admin_cancel_action_gives_back_points_and_stock_and_skips_used_vouchers(
    staff, api, other_api, reward_load, member_with_points
):
    reward_load("R", stock=10, points_cost=300)
    one, two = member_with_points(1000), member_with_points(1000)
    first, second = redeemed(api, one, "R"), redeemed(api, two, "R")
    assert other_api.post(f"/api/v1/vouchers/{second['voucher_code']}/use", {"external_id": "o-1"}).status_code == 200
    ids = [Redemption.objects.get(public_id=body["id"]).pk for body in (first, second)]

    response = post(
        staff, "/admin/rewards/redemption/", {"action": "cancel", "_selected_action": [str(pk) for pk in ids]}
    )

    assert "1 cancelled, 1 refused" in response.content.decode()
    assert balance(one)[0] == 1000 and balance(two)[0] == 700
    assert Reward.objects.get(code="R").stock_remaining == 9
    statuses = dict(Redemption.objects.values_list("public_id", "status"))
    assert (statuses[first["id"]], statuses[second["id"]]) == ("cancelled", "issued")
    assert Voucher.objects.get(code=first["voucher_code"]).status == "cancelled"
