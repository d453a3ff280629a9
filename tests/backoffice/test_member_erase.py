"""Erasing a member from the back office: a page stating what will happen, then privacy's member_erase as
staff:<username>, in the audit log; the ledger stays."""

from django.contrib.admin.models import LogEntry

from loyalty.ledger.selectors import account_of
from members.models import Member


def erase_url(member) -> str:
    return f"/admin/members/member/{member.pk}/erase/"


def test_erase_states_what_happens_then_erases_and_logs_it(staff, member_with_points):
    member = member_with_points(300)
    card_number = member.card_number

    confirm = staff.get(erase_url(member), secure=True)
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "This cannot be undone." in page and "Name, phone and birth date" in page
    assert Member.objects.get(pk=member.pk).erased_at is None  # asking writes nothing

    response = staff.post(erase_url(member), {"post": "yes"}, secure=True, follow=True)

    erased = Member.objects.get(pk=member.pk)
    assert erased.erased_at is not None and erased.erased_by == "staff:staff" and erased.status == "closed"
    assert erased.card_number != card_number and erased.first_name == ""
    assert f"Member {card_number} erased" in response.content.decode()
    assert account_of(erased).available == 300  # the ledger's amounts stay
    assert LogEntry.objects.get(object_id=str(member.pk)).get_change_message() == "Erased (GDPR): personal data removed"
    assert erase_url(member) not in response.content.decode()  # no second erasure offered


def test_someone_who_may_only_view_members_cannot_erase(staff_with, member):
    viewer = staff_with("vera", "members.view_member")

    assert viewer.post(erase_url(member), {"post": "yes"}, secure=True).status_code == 403
    assert Member.objects.get(pk=member.pk).erased_at is None


def test_changing_members_is_not_enough_to_erase_one(staff_with, member):
    """Suspending can be undone, erasing cannot: it takes its own permission, which support agents lack."""
    support = staff_with("sam", "members.view_member", "members.change_member")

    page = support.get(f"/admin/members/member/{member.pk}/change/", secure=True).content.decode()

    assert erase_url(member) not in page
    assert support.post(erase_url(member), {"post": "yes"}, secure=True).status_code == 403
    assert Member.objects.get(pk=member.pk).erased_at is None
    eraser = staff_with("erin", "members.view_member", "members.erase_member")
    assert eraser.post(erase_url(member), {"post": "yes"}, secure=True).status_code == 302
    assert Member.objects.get(pk=member.pk).erased_at is not None
