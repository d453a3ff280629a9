"""Every staff write in the admin is attributable: a LogEntry names the user and the changed fields, the object's
History page shows it, and program managers read them all in the audit log."""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.roles import SHOP_STAFF
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey, ShopStaff
from loyalty.shops.services import api_key_create
from loyalty.tiers.models import Tier
from members.models import Member
from rewards.models import Reward
from rewards.services import reward_redeem
from tests.support.rewards import reward_item

pytestmark = pytest.mark.django_db

AUDIT_LOG = "/admin/backoffice/auditlogentry/"


def post(client, url: str, data: dict):
    response = client.post(url, data, secure=True)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def last_entry() -> LogEntry:
    return LogEntry.objects.select_related("user").latest("pk")


def member_form(member, **changes) -> dict:
    return {
        "email": member.email, "first_name": member.first_name, "last_name": member.last_name, "phone": member.phone,
        "birth_date": "", "locale": member.locale, "status": member.status, **changes,
    }  # fmt: skip


def test_a_support_agents_member_change_is_logged_with_the_fields_and_shown_on_its_history(staff_client, member):
    support = staff_client("support")

    post(support, f"/admin/members/member/{member.pk}/change/", member_form(member, first_name="Grace", phone=""))

    entry = last_entry()
    assert (entry.user, entry.action_flag, entry.object_id) == (support.user, CHANGE, str(member.pk))
    assert entry.get_change_message() == "Changed First name."
    history = support.get(f"/admin/members/member/{member.pk}/history/", secure=True).content.decode()
    assert "Changed First name." in history and support.user.username in history


def test_a_program_managers_addition_is_logged(staff_client, program):
    manager = staff_client("manager")

    post(manager, "/admin/loyalty/tier/add/", {"code": "gold", "name": "Gold", "rank": 3, "threshold": 2000,
                                              "multiplier": "2", "benefits": ""})  # fmt: skip

    entry = last_entry()
    tier = Tier.objects.get(code="gold")
    assert (entry.user, entry.action_flag, entry.object_id) == (manager.user, ADDITION, str(tier.pk))


def test_a_redemption_cancelled_by_a_support_agent_is_logged(staff_client, member_with_points, shop, now):
    program_load({"rewards": [reward_item("R", points_cost=100)]})
    redemption = reward_redeem(
        member=member_with_points(500), reward=Reward.objects.get(code="R"), shop=shop, now=now
    ).redemption
    support = staff_client("support")

    support.post(
        "/admin/rewards/redemption/", {"action": "cancel", "_selected_action": [str(redemption.pk)]}, secure=True
    )

    redemption.refresh_from_db()
    entry = last_entry()
    assert redemption.status == "cancelled"
    assert (entry.user, entry.object_id, entry.get_change_message()) == (
        support.user, str(redemption.pk), "Cancelled: 100 points and the stock given back."
    )  # fmt: skip


def test_a_revoked_api_key_is_logged(superuser_client, shop):
    key, _raw = api_key_create(shop=shop, scopes=None, name="till")

    superuser_client.post(
        "/admin/loyalty/apikey/", {"action": "revoke", "_selected_action": [str(key.pk)]}, secure=True
    )

    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert (last_entry().user, last_entry().get_change_message()) == (superuser_client.user, "Revoked.")


def test_a_superuser_links_a_new_user_to_a_shop_on_the_user_page_and_it_is_logged(superuser_client, roles, shop):
    post(superuser_client, "/admin/auth/user/add/",
         {"username": "till-ann", "password1": "a long pass phrase 42", "password2": "a long pass phrase 42",
          "usable_password": "true"})  # fmt: skip
    user = User.objects.get(username="till-ann")
    page = superuser_client.get(f"/admin/auth/user/{user.pk}/change/", secure=True)
    assert page.status_code == 200 and "shop_staff-TOTAL_FORMS" in page.content.decode()

    post(superuser_client, f"/admin/auth/user/{user.pk}/change/", {
        "username": "till-ann", "is_active": "on", "is_staff": "on",
        "groups": [str(user.groups.model.objects.get(name=SHOP_STAFF).pk)],
        "date_joined_0": timezone.now().strftime("%Y-%m-%d"), "date_joined_1": "09:00:00",
        "shop_staff-TOTAL_FORMS": "1", "shop_staff-INITIAL_FORMS": "0",
        "shop_staff-MIN_NUM_FORMS": "0", "shop_staff-MAX_NUM_FORMS": "1",
        "shop_staff-0-shop": str(shop.pk),
    })  # fmt: skip

    assert ShopStaff.objects.get(user=user).shop == shop
    assert User.objects.get(pk=user.pk).is_staff
    message = last_entry().get_change_message()
    assert "Staff status" in message and "Groups" in message and "Added shop" in message


def test_the_audit_log_lists_every_write_filtered_by_user_at_a_fixed_query_cost(staff_client, superuser_client):
    manager, support = staff_client("manager"), staff_client("support")
    for n in range(3):
        _log(support.user, f"Member {n}")

    with CaptureQueriesContext(connection) as few:
        assert manager.get(AUDIT_LOG, secure=True).status_code == 200
    for n in range(3, 15):
        _log(support.user, f"Member {n}")
    with CaptureQueriesContext(connection) as many:
        page = manager.get(AUDIT_LOG, secure=True)
    by_user = manager.get(AUDIT_LOG, {"user__id__exact": superuser_client.user.pk}, secure=True)
    searched = manager.get(AUDIT_LOG, {"q": "Member 7"}, secure=True)

    assert len(page.context["cl"].result_list) == 15
    assert len(many) == len(few)
    assert list(by_user.context["cl"].result_list) == []
    assert [entry.object_repr for entry in searched.context["cl"].result_list] == ["Member 7"]


def test_the_audit_log_is_read_only(staff_client):
    manager = staff_client("manager")
    entry = _log(manager.user, "Member 1")

    assert manager.get(f"{AUDIT_LOG}add/", secure=True).status_code == 403
    assert manager.post(f"{AUDIT_LOG}{entry.pk}/change/", {}, secure=True).status_code == 403
    assert manager.post(f"{AUDIT_LOG}{entry.pk}/delete/", {"post": "yes"}, secure=True).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def _log(user: User, name: str) -> LogEntry:
    return LogEntry.objects.create(
        user=user, content_type=ContentType.objects.get_for_model(Member), object_id="1", object_repr=name,
        action_flag=CHANGE, change_message='[{"changed": {"fields": ["First name"]}}]',
    )  # fmt: skip
