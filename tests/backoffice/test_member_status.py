"""Suspending and reactivating a member: a confirmation page first, then member_set_status, in the audit log."""

from django.contrib.admin.models import LogEntry

from members.models import Member
from tests.factories import MemberFactory


def status_url(member, action: str) -> str:
    return f"/admin/members/member/{member.pk}/status/{action}/"


def test_suspend_asks_first_then_suspends_and_logs_it(staff, db):
    member = MemberFactory()

    confirm = staff.get(status_url(member, "suspend"), secure=True)
    assert confirm.status_code == 200 and "can no longer earn or spend points" in confirm.content.decode()
    assert Member.objects.get(pk=member.pk).status == "active"  # asking writes nothing

    response = staff.post(status_url(member, "suspend"), {"post": "yes"}, secure=True, follow=True)

    assert Member.objects.get(pk=member.pk).status == "suspended"
    assert "The member is suspended." in response.content.decode()
    assert LogEntry.objects.get(object_id=str(member.pk)).get_change_message() == "Status: active → suspended"
    assert status_url(member, "reactivate") in response.content.decode()


def test_reactivate_a_suspended_member(staff, db):
    member = MemberFactory()
    staff.post(status_url(member, "suspend"), {"post": "yes"}, secure=True)

    staff.post(status_url(member, "reactivate"), {"post": "yes"}, secure=True)

    assert Member.objects.get(pk=member.pk).status == "active"


def test_reactivating_an_active_member_changes_nothing(staff, db):
    member = MemberFactory()

    response = staff.post(status_url(member, "reactivate"), {"post": "yes"}, secure=True, follow=True)

    assert "the member is active, not suspended" in response.content.decode()
    assert not LogEntry.objects.exists()


def test_someone_who_may_only_view_members_cannot_suspend(staff_with, db):
    member = MemberFactory()
    viewer = staff_with("vera", "members.view_member")

    assert viewer.post(status_url(member, "suspend"), {"post": "yes"}, secure=True).status_code == 403
    assert (
        status_url(member, "suspend")
        not in viewer.get(f"/admin/members/member/{member.pk}/change/", secure=True).content.decode()
    )
    assert Member.objects.get(pk=member.pk).status == "active"
