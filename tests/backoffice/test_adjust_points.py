"""Adjusting points from the member page: through points_adjust as staff:<username>, four-eyes above the
program's limit, never below zero, and only for people allowed to."""

import pytest
from django.contrib.admin.models import LogEntry

from loyalty.adjustments.models import Adjustment
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import account_of

ADJUSTMENTS = "/admin/loyalty/adjustment/"


def adjust_url(member) -> str:
    return f"/admin/members/member/{member.pk}/adjust/"


def adjust(client, member, points: int, reason: str = "goodwill", note: str = "parcel arrived late"):
    return client.post(adjust_url(member), {"points": points, "reason": reason, "note": note}, secure=True,
                        follow=True)  # fmt: skip


def text(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def agent(staff_with):
    return staff_with("agnes", "members.view_member", "members.change_member", "loyalty.add_adjustment",
                      "loyalty.view_adjustment")  # fmt: skip


@pytest.fixture
def approver(staff_with):
    return staff_with("bruno", "members.view_member", "loyalty.view_adjustment", "loyalty.approve_adjustment")


def test_staff_adjust_points_and_see_the_entry_on_the_member_page(agent, member_with_points):
    member = member_with_points(100)

    response = adjust(agent, member, 250)

    entry = LedgerEntry.objects.get(kind="adjust")
    assert (entry.points, entry.actor, entry.description) == (250, "staff:agnes", "goodwill adjustment")
    assert account_of(member).available == 350
    page = text(response)
    assert "+250 points posted (goodwill); available now 350." in page
    assert "goodwill adjustment: parcel arrived late" in page and "staff:agnes" in page
    log = LogEntry.objects.get(object_id=str(member.pk))
    assert log.user.username == "agnes"
    assert log.get_change_message() == f"Adjustment {entry.adjustment.public_id}: +250 points (goodwill), posted"


def test_taking_more_than_the_balance_is_refused_and_writes_nothing(agent, member_with_points):
    member = member_with_points(100)

    response = adjust(agent, member, -101, reason="correction")

    assert "Points not adjusted: The member has 100 points available; 101 were requested." in text(response)
    assert account_of(member).available == 100
    assert not Adjustment.objects.exists() and not LedgerEntry.objects.filter(kind="adjust").exists()
    assert not LogEntry.objects.exists()


def test_a_note_is_required_and_zero_is_refused(agent, member_with_points):
    member = member_with_points(100)

    assert "Points not adjusted: note: This field is required." in text(adjust(agent, member, 5, note=""))
    assert "at least one point" in text(adjust(agent, member, 0))
    assert "Points not adjusted: reason" in text(adjust(agent, member, 5, reason="because"))
    assert not Adjustment.objects.exists() and account_of(member).available == 100


def test_above_the_limit_it_waits_for_approval(agent, member_with_points, program_set):
    program_set(adjustment_approval_points=1000)
    member = member_with_points(100)

    response = adjust(agent, member, 1001, reason="migration")

    adjustment = Adjustment.objects.get()
    assert adjustment.status == "pending_approval" and adjustment.requested_by == "staff:agnes"
    assert account_of(member).available == 100 and not LedgerEntry.objects.filter(kind="adjust").exists()
    page = text(response)
    assert f"+1,001 points wait for approval by a second person (adjustment {adjustment.public_id})" in page
    assert "Waiting for approval:" in page and "+1001 points (migration)" in page


def test_the_requester_cannot_approve_their_own_a_second_person_can(staff_with, agent, approver, member_with_points,
                                                                   program_set):  # fmt: skip
    program_set(adjustment_approval_points=1000)
    member = member_with_points(100)
    adjust(agent, member, 5000)
    adjustment = Adjustment.objects.get()
    both = staff_with("carla", "members.view_member", "loyalty.add_adjustment", "loyalty.view_adjustment",
                      "loyalty.approve_adjustment")  # fmt: skip
    adjust(both, member, 2000)
    own = Adjustment.objects.get(requested_by="staff:carla")
    listed = text(both.get(ADJUSTMENTS, secure=True))
    assert f"{ADJUSTMENTS}{own.pk}/approve/" not in listed and "yours: another person decides" in listed
    assert f"{ADJUSTMENTS}{adjustment.pk}/approve/" in listed  # the other person's is carla's to decide

    refused = both.post(f"{ADJUSTMENTS}{own.pk}/approve/", {"post": "yes"}, secure=True, follow=True)
    assert "Not done: An adjustment must be approved by someone other than who asked for it." in text(refused)
    assert Adjustment.objects.get(pk=own.pk).status == "pending_approval"

    confirm = approver.get(f"{ADJUSTMENTS}{adjustment.pk}/approve/", secure=True)
    assert confirm.status_code == 200 and "+5,000 points are written to the member" in text(confirm)
    approved = approver.post(f"{ADJUSTMENTS}{adjustment.pk}/approve/", {"post": "yes"}, secure=True, follow=True)

    adjustment.refresh_from_db()
    assert adjustment.status == "posted" and adjustment.decided_by == "staff:bruno"
    assert adjustment.entry.actor == "staff:bruno" and account_of(member).available == 5100
    assert f"Adjustment +5,000 points for {member.card_number}: posted." in text(approved)
    log = LogEntry.objects.get(user__username="bruno")
    assert log.get_change_message() == f"Approved adjustment {adjustment.public_id} (+5000)"


def test_a_rejected_adjustment_writes_nothing_to_the_ledger(agent, approver, member_with_points, program_set):
    program_set(adjustment_approval_points=1000)
    member = member_with_points(8000)
    adjust(agent, member, -5000, reason="fraud")
    adjustment = Adjustment.objects.get()

    approver.post(f"{ADJUSTMENTS}{adjustment.pk}/reject/", {"post": "yes"}, secure=True)

    adjustment.refresh_from_db()
    assert adjustment.status == "rejected" and adjustment.decided_by == "staff:bruno" and adjustment.entry is None
    assert account_of(member).available == 8000
    assert LogEntry.objects.get(user__username="bruno").get_change_message().startswith("Rejected adjustment")


def test_approving_a_debit_the_balance_no_longer_covers_is_refused(agent, approver, member_with_points,
                                                                    program_set):  # fmt: skip
    program_set(adjustment_approval_points=10)
    member = member_with_points(100)
    adjust(agent, member, -80, reason="correction")
    adjust(agent, member, -5)  # posted at once: 95 left
    adjust(agent, member, -10)  # posted: 85 left... and then the pending -80 still fits
    adjust(agent, member, -10)  # 75 left: it no longer does
    pending = Adjustment.objects.get(status="pending_approval")

    response = approver.post(f"{ADJUSTMENTS}{pending.pk}/approve/", {"post": "yes"}, secure=True, follow=True)

    assert "Not done: The member has 75 points available; 80 were requested." in text(response)
    assert Adjustment.objects.get(pk=pending.pk).status == "pending_approval" and account_of(member).available == 75


def test_people_without_the_permissions_get_403_and_no_form(staff_with, approver, member_with_points, program_set):
    program_set(adjustment_approval_points=1000)
    member = member_with_points(100)
    viewer = staff_with("vera", "members.view_member", "members.change_member", "loyalty.view_adjustment")

    page = viewer.get(f"/admin/members/member/{member.pk}/change/", secure=True)
    assert page.status_code == 200 and 'id="adjust-form"' not in page.content.decode()
    assert (
        viewer.post(adjust_url(member), {"points": 5, "reason": "goodwill", "note": "x"}, secure=True).status_code
        == 403
    )
    assert not Adjustment.objects.exists()

    adjust(staff_with("agnes", "members.view_member", "loyalty.add_adjustment"), member, 5000)
    pending = Adjustment.objects.get()
    for action in ("approve", "reject"):
        assert viewer.post(f"{ADJUSTMENTS}{pending.pk}/{action}/", {"post": "yes"}, secure=True).status_code == 403
        assert viewer.get(f"{ADJUSTMENTS}{pending.pk}/{action}/", secure=True).status_code == 403
    assert Adjustment.objects.get().status == "pending_approval"
    assert 'class="adjustment-approve"' not in viewer.get(ADJUSTMENTS, secure=True).content.decode()
    assert 'class="adjustment-approve"' in approver.get(ADJUSTMENTS, secure=True).content.decode()


def test_the_list_shows_pending_first_and_rows_cannot_be_changed(staff, agent, member_with_points, program_set):
    program_set(adjustment_approval_points=1000)
    member = member_with_points(100)
    adjust(agent, member, 5000)
    adjust(agent, member, 10)
    adjust(agent, member, 20)
    pending = Adjustment.objects.get(status="pending_approval")

    rows = staff.get(ADJUSTMENTS, secure=True).context["cl"].result_list
    assert [row.pk for row in rows][0] == pending.pk
    assert [row.status for row in staff.get(ADJUSTMENTS, {"status__exact": "posted"}, secure=True)
            .context["cl"].result_list] == ["posted", "posted"]  # fmt: skip
    assert staff.post(f"{ADJUSTMENTS}{pending.pk}/change/", {"points": 1}, secure=True).status_code == 403
    assert staff.get(f"{ADJUSTMENTS}add/", secure=True).status_code == 403
    assert staff.post(f"{ADJUSTMENTS}{pending.pk}/delete/", {"post": "yes"}, secure=True).status_code == 403
    change = staff.get(f"{ADJUSTMENTS}{pending.pk}/change/", secure=True).content.decode()
    assert f'href="/admin/loyalty/adjustment/{pending.pk}/approve/"' in change
