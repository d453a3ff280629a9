"""The admin's reward form, whose stock is set as a new total applied only if what is left is still what
the form showed (so redemptions happening meanwhile are never lost, and a stale form is refused whole),
its previews, and cancelling a redemption from its page or the list."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.ledger.models import LedgerEntry
from members.models import Member
from rewards.admin import RewardAdmin
from rewards.eligibility import reward_eligible_members
from rewards.models import Redemption, Reward, Voucher
from rewards.services import reward_redeem
from tests.support.api import balance
from tests.support.rewards import redeemed, tier_give

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
        "voucher_valid_days": reward.voucher_valid_days, "sort_order": reward.sort_order,
        "left": "" if reward.stock_remaining is None else reward.stock_remaining,
        "stock_shown": "" if reward.stock_remaining is None else reward.stock_remaining, "_save": "Save",
    }  # fmt: skip
    if reward.stock_remaining is None:
        data["unlimited"] = "on"
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


def test_the_form_shows_what_is_left_and_a_new_total_replaces_it(staff, api, reward_load, member_with_points):
    reward = reward_load("R", stock=10)
    redeemed(api, member_with_points(1000), "R")

    page = staff.get(change_url(reward), secure=True).content.decode()
    assert 'name="left" value="9"' in page and 'name="stock_shown" value="9"' in page

    response = post(staff, change_url(reward), form_data(reward, left="12"))

    assert "was changed successfully" in response.content.decode()
    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (13, 12)  # 1 redeemed of 13 allotted


def test_a_stale_form_is_refused_whole_and_says_how_the_stock_moved(staff, api, reward_load, member_with_points):
    reward = reward_load("R", stock=10)
    stale = form_data(reward, left="20", name="Renamed")  # opened at 10 left
    redeemed(api, member_with_points(1000), "R")
    before = reward_state("R")

    response = staff.post(change_url(reward), stale, secure=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The stock changed from 10 to 9 while you were editing; nothing was saved." in page
    assert "changed successfully" not in page
    assert reward_state("R") == before  # not the stock, not the name
    assert 'name="stock_shown" value="9"' in page  # saving again applies against what is left now
    assert not LogEntry.objects.exists()

    post(staff, change_url(reward), {**stale, "stock_shown": "9"})
    reward.refresh_from_db()
    assert (reward.name, reward.stock, reward.stock_remaining) == ("Renamed", 21, 20)


def test_limited_and_unlimited_both_ways(staff, api, reward_load, member_with_points):
    reward = reward_load("R", stock=3)
    redeemed(api, member_with_points(1000), "R")

    post(staff, change_url(reward), form_data(reward, unlimited="on", left=""))
    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (None, None)

    post(staff, change_url(reward), {k: v for k, v in form_data(reward, left="5").items() if k != "unlimited"})
    reward.refresh_from_db()
    assert (reward.stock, reward.stock_remaining) == (5, 5)


def test_a_limited_stock_needs_a_number_and_not_a_negative_one(staff, reward_load):
    reward = reward_load("R", stock=None)
    before = reward_state("R")

    for left in ("", "-1"):
        data = {k: v for k, v in form_data(reward, left=left).items() if k != "unlimited"}
        response = staff.post(change_url(reward), data, secure=True)
        assert response.status_code == 200 and response.context["errors"], left

    assert reward_state("R") == before


def test_the_reward_page_previews_its_image_and_who_may_redeem_it(staff, api, reward_load, member_with_points, tiers):
    reward = reward_load("R", stock=5, per_member_limit=1, image_url="https://img.example/coffee.png")
    member_with_points(1000), member_with_points(10)  # both may; one has the points
    redeemed(api, member_with_points(1000), "R")  # reached the per-member limit
    Member.objects.filter(pk=member_with_points(1000).pk).update(status=Member.Status.SUSPENDED)

    page = staff.get(change_url(reward), secure=True).content.decode()

    assert '<img src="https://img.example/coffee.png"' in page
    assert f"2 active members meet its tier, plan and per-member limit; 1 of them have the {reward.points_cost}" in page


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


@pytest.mark.parametrize("edit", [{"name": "Renamed"}, {}], ids=["a field edited", "nothing edited"])
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
    assert Redemption.objects.filter(reward=reward).count() == 1
    assert (reward.stock, reward.stock_remaining) == (10, 9)


def test_adding_a_reward_in_the_admin_sets_its_stock(staff, tiers):
    base = {
        "name": "Tote bag", "description": "", "image_url": "", "category": "", "kind": "free_product",
        "points_cost": "500", "value": "5.00", "per_member_limit": "", "min_tier": tiers["silver"].pk,
        "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
        "voucher_valid_days": "30", "active": "on", "sort_order": "0", "_save": "Save",
    }  # fmt: skip

    post(staff, "/admin/rewards/reward/add/", {**base, "code": "TOTE", "left": "5"})
    post(staff, "/admin/rewards/reward/add/", {**base, "code": "FREE", "unlimited": "on", "left": ""})

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
    assert sorted(LogEntry.objects.values_list("object_id", "change_message")) == [
        (str(ids[0]), "Cancelled: 300 points and the stock given back.")
    ]


def cancel_url(redemption: Redemption) -> str:
    return f"/admin/rewards/redemption/{redemption.pk}/cancel/"


def test_the_redemption_page_cancels_through_a_confirmation_page(staff, api, reward_load, member_with_points):
    reward_load("R", stock=10, points_cost=300)
    member = member_with_points(1000)
    body = redeemed(api, member, "R")
    redemption = Redemption.objects.get(public_id=body["id"])

    page = staff.get(f"/admin/rewards/redemption/{redemption.pk}/change/", secure=True).content.decode()
    assert cancel_url(redemption) in page
    confirmation = staff.get(cancel_url(redemption), secure=True).content.decode()
    assert "300 points to the member" in confirmation and "one unit of stock" in confirmation
    assert body["voucher_code"] in confirmation
    assert Redemption.objects.get(pk=redemption.pk).status == "issued"  # looking changes nothing

    response = post(staff, cancel_url(redemption), {})

    assert f"Redemption {redemption.public_id} cancelled." in response.content.decode()
    assert balance(member)[0] == 1000 and Reward.objects.get(code="R").stock_remaining == 10
    assert Redemption.objects.get(pk=redemption.pk).status == "cancelled"
    assert Voucher.objects.get(code=body["voucher_code"]).status == "cancelled"
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert entry.actor == "staff:staff"
    log = LogEntry.objects.get()
    assert (log.object_id, log.user.username, log.change_message) == (
        str(redemption.pk), "staff", "Cancelled: 300 points and the stock given back."
    )  # fmt: skip


def test_a_redemption_whose_voucher_was_used_cannot_be_cancelled(
    staff, api, other_api, reward_load, member_with_points
):
    reward_load("R", stock=10, points_cost=300)
    member = member_with_points(1000)
    body = redeemed(api, member, "R")
    assert other_api.post(f"/api/v1/vouchers/{body['voucher_code']}/use", {"external_id": "o-1"}).status_code == 200
    redemption = Redemption.objects.get(public_id=body["id"])

    confirmation = staff.get(cancel_url(redemption), secure=True).content.decode()
    assert "Its voucher was used" in confirmation and "Yes, cancel" not in confirmation
    staff.post(cancel_url(redemption), {}, secure=True)

    assert Redemption.objects.get(pk=redemption.pk).status == "issued" and balance(member)[0] == 700
    assert not LogEntry.objects.exists()


def test_staff_without_the_change_permission_cannot_cancel(api, reward_load, member_with_points):
    reward_load("R", stock=10, points_cost=300)
    redemption = Redemption.objects.get(public_id=redeemed(api, member_with_points(1000), "R")["id"])
    viewer = User.objects.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_redemption"))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)

    assert client.get(f"/admin/rewards/redemption/{redemption.pk}/change/", secure=True).status_code == 200
    assert client.post(cancel_url(redemption), {}, secure=True).status_code == 403
    assert Redemption.objects.get(pk=redemption.pk).status == "issued"


def test_the_eligibility_preview_counts_tier_and_plan_in_one_query(reward_load, member_with_points, tiers):
    reward = reward_load("GOLDEN", stock=None, min_tier="gold")
    gold, silver = member_with_points(5000), member_with_points(5000)
    tier_give(gold, tiers["gold"])
    tier_give(silver, tiers["silver"])
    reward_eligible_members(reward=reward, now=timezone.now())  # the tier ladder is cached from here on

    with CaptureQueriesContext(connection) as queries:
        eligible = reward_eligible_members(reward=reward, now=timezone.now())

    assert (eligible.members, eligible.with_points) == (1, 1) and len(queries) == 1
    subscribers = reward_load("PLUS-ONLY", stock=None, subscribers_only=True)
    assert reward_eligible_members(reward=subscribers, now=timezone.now()).members == 0
