"""A shop's staff sees only its own shop's rows, in every list and by URL (another shop's object is a 404), and
changes nothing; staff of the whole program see every shop's rows."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from unfold.admin import ModelAdmin

from loyalty.earning.models import Transaction
from loyalty.holds.services import hold_create
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.program.loading import program_load
from loyalty.shops.admin import ShopCustomerScopedAdmin
from members.models import Member
from rewards.models import Reward
from rewards.services import reward_redeem, voucher_use
from tests.support.rewards import reward_item
from tests.support.subscriptions import pay, subscribe
from tests.support.tiers import buy

pytestmark = pytest.mark.django_db


def get(client, url: str):
    return client.get(url, secure=True)


@pytest.fixture
def sales(shop, other_shop, member_with_points, plus, now) -> dict:
    """One customer at each shop: a purchase, a hold, a subscription with a payment, a redemption with a voucher."""
    program_load({"rewards": [reward_item("R", points_cost=100)]})
    reward = Reward.objects.get(code="R")
    made = {}
    for key, where in (("a", shop), ("b", other_shop)):
        member = member_with_points(1000)
        subscription = subscribe(where, member, plus, now)
        made[key] = {
            "member": member,
            "transaction": buy(where, member, "20.00", now),
            "hold": hold_create(
                shop=where, member=member, points=10, external_id=f"h-{key}", fingerprint=f"h-{key}", now=now
            ).hold,
            "subscription": subscription,
            "payment": pay(where, subscription, f"p-{key}", now)[0],
            "redemption": reward_redeem(member=member, reward=reward, shop=where, now=now).redemption,
        }
    return made


@pytest.fixture
def shop_a_staff(staff_client, shop):
    return staff_client("shop", shop=shop)


def test_a_shops_staff_lists_only_its_shops_transactions_and_ledger_entries(sales, shop_a_staff):
    transactions = get(shop_a_staff, "/admin/loyalty/transaction/").content.decode()
    ledger = get(shop_a_staff, "/admin/loyalty/ledgerentry/").content.decode()

    assert sales["a"]["transaction"].public_id in transactions
    assert sales["b"]["transaction"].public_id not in transactions
    shown = set(get(shop_a_staff, "/admin/loyalty/ledgerentry/").context["cl"].result_list)
    assert shown and {entry.shop_id for entry in shown} == {sales["a"]["transaction"].shop_id}
    assert sales["b"]["transaction"].public_id not in ledger


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("/admin/loyalty/transaction/", "transaction"),
        ("/admin/loyalty/hold/", "hold"),
        ("/admin/loyalty/subscription/", "subscription"),
        ("/admin/rewards/redemption/", "redemption"),
    ],
)
def test_every_list_of_a_shops_staff_shows_its_own_shop_only(sales, shop_a_staff, staff_client, url, key):
    support = staff_client("support")

    mine = [obj.pk for obj in get(shop_a_staff, url).context["cl"].result_list]
    everyone = {obj.pk for obj in get(support, url).context["cl"].result_list}

    assert mine == [sales["a"][key].pk]
    assert everyone == {sales["a"][key].pk, sales["b"][key].pk}


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("loyalty/transaction", "transaction"),
        ("loyalty/hold", "hold"),
        ("loyalty/subscription", "subscription"),
        ("rewards/redemption", "redemption"),
    ],
)
def test_another_shops_object_by_url_is_not_found(sales, shop_a_staff, path, key):
    other = get(shop_a_staff, f"/admin/{path}/{sales['b'][key].pk}/change/")
    own = get(shop_a_staff, f"/admin/{path}/{sales['a'][key].pk}/change/")
    history = get(shop_a_staff, f"/admin/{path}/{sales['b'][key].pk}/history/")

    assert (other.status_code, own.status_code, history.status_code) == (404, 200, 404)


def test_another_shops_ledger_entry_and_shop_are_not_found(sales, shop_a_staff, shop, other_shop):
    entry_b = LedgerEntry.objects.filter(transaction=sales["b"]["transaction"]).first()

    assert get(shop_a_staff, f"/admin/loyalty/ledgerentry/{entry_b.pk}/change/").status_code == 404
    assert get(shop_a_staff, f"/admin/loyalty/shop/{other_shop.pk}/change/").status_code == 404
    assert get(shop_a_staff, f"/admin/loyalty/shop/{shop.pk}/change/").status_code == 200
    assert [s.pk for s in get(shop_a_staff, "/admin/loyalty/shop/").context["cl"].result_list] == [shop.pk]


def test_a_shops_staff_changes_nothing(sales, shop_a_staff):
    member = sales["a"]["member"]
    email = member.email

    changed_member = shop_a_staff.post(
        f"/admin/members/member/{member.pk}/change/", {"email": "new@example.com", "locale": "en"}, secure=True
    )
    changed_transaction = shop_a_staff.post(
        f"/admin/loyalty/transaction/{sales['a']['transaction'].pk}/change/", {}, secure=True
    )
    cancelled = shop_a_staff.post(
        "/admin/rewards/redemption/",
        {"action": "cancel", "_selected_action": [str(sales["a"]["redemption"].pk)]},
        secure=True,
    )

    assert changed_member.status_code == 403 and changed_transaction.status_code == 403
    assert Member.objects.get(pk=member.pk).email == email
    assert cancelled.status_code in (200, 302)  # the changelist answers "no action selected"
    sales["a"]["redemption"].refresh_from_db()
    assert sales["a"]["redemption"].status == "issued"


def test_the_shop_filter_is_hidden_from_a_shops_staff(sales, shop_a_staff, staff_client):
    assert "shop" not in get(shop_a_staff, "/admin/loyalty/transaction/").context["cl"].list_filter
    assert "shop" in get(staff_client("support"), "/admin/loyalty/transaction/").context["cl"].list_filter


def test_a_voucher_is_seen_by_the_shop_that_issued_it_and_by_the_shop_that_took_it(sales, shop_a_staff, shop, now):
    voucher_b = sales["b"]["redemption"].voucher
    voucher_a = sales["a"]["redemption"].voucher

    before = {v.pk for v in get(shop_a_staff, "/admin/rewards/voucher/").context["cl"].result_list}
    voucher_use(code=voucher_b.code, shop=shop, external_id="till-1", now=now)
    after = {v.pk for v in get(shop_a_staff, "/admin/rewards/voucher/").context["cl"].result_list}

    assert before == {voucher_a.pk}
    assert after == {voucher_a.pk, voucher_b.pk}


def request_of(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_accounts_and_members_of_a_shops_staff_are_those_who_bought_there(sales, shop_a_staff, member_with_points):
    member_with_points(5)  # bought nowhere
    request = request_of(shop_a_staff.user)

    accounts = admin.site._registry[Account].get_queryset(request)

    class MemberAdmin(ShopCustomerScopedAdmin, ModelAdmin):
        pass

    members = MemberAdmin(Member, admin.site).get_queryset(request)
    assert list(accounts.values_list("member_id", flat=True)) == [sales["a"]["member"].pk]
    assert list(members.values_list("pk", flat=True)) == [sales["a"]["member"].pk]


def test_superusers_and_staff_without_a_shop_see_every_account(sales, superuser_client, staff_client):
    for user in (superuser_client.user, staff_client("manager").user):
        accounts = admin.site._registry[Account].get_queryset(request_of(user))
        assert accounts.count() == 2


@pytest.mark.parametrize("url", ["/admin/loyalty/transaction/", "/admin/loyalty/ledgerentry/"])
def test_a_shops_list_costs_the_same_queries_however_many_rows(sales, shop_a_staff, shop, now, url):
    get(shop_a_staff, url)
    with CaptureQueriesContext(connection) as few:
        get(shop_a_staff, url)
    for _ in range(5):
        buy(shop, sales["a"]["member"], "5.00", now)
    with CaptureQueriesContext(connection) as many:
        response = get(shop_a_staff, url)

    assert len(response.context["cl"].result_list) > 1
    assert len(many) == len(few)
    assert Transaction.objects.filter(shop=shop).count() == 6


def test_a_member_page_shows_a_shops_staff_only_its_shops_entries(shop, other_shop, member, now, shop_a_staff):
    """A customer of both shops: the member page's last entries hold shop A's purchase, never shop B's."""
    mine, theirs = buy(shop, member, "20.00", now), buy(other_shop, member, "30.00", now)

    response = get(shop_a_staff, f"/admin/members/member/{member.pk}/change/")

    page = response.content.decode()
    assert mine.public_id in page and theirs.public_id not in page
    assert {entry.shop_id for entry in response.context["m360"].entries} == {shop.pk}
