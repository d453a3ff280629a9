import pytest
from django.contrib.auth.models import User
from django.test import Client

from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from members.cards import luhn_valid
from members.models import Member
from tests.factories import MemberFactory


@pytest.fixture
def staff(db) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw-staff-123"))
    return client


def get(client: Client, url: str):
    return client.get(url, secure=True)


def test_staff_can_open_every_screen(staff, now):
    member = MemberFactory()
    points_credit(member=member, points=5, now=now)
    account = member.account
    for url in [
        "/admin/",
        "/admin/members/member/",
        f"/admin/members/member/{member.pk}/change/",
        "/admin/members/member/add/",
        "/admin/loyalty/account/",
        f"/admin/loyalty/ledgerentry/?account__id__exact={account.pk}",
        "/admin/loyalty/program/",
        "/admin/loyalty/shop/",
        "/admin/loyalty/tier/",
        "/admin/loyalty/tierchange/",
        "/admin/loyalty/apikey/",
        "/admin/loyalty/campaign/",
        "/admin/loyalty/transaction/",
        "/admin/loyalty/hold/",
        "/admin/loyalty/plan/",
        "/admin/loyalty/subscription/",
        "/admin/loyalty/subscriptionpayment/",
        "/admin/rewards/reward/",
        "/admin/rewards/redemption/",
        "/admin/rewards/voucher/",
        "/admin/django_celery_beat/periodictask/",
    ]:
        assert get(staff, url).status_code == 200, url


def test_adding_a_member_enrolls_with_a_card_and_a_normalised_email(staff):
    response = staff.post(
        "/admin/members/member/add/",
        {"email": " New@Example.COM ", "locale": "de", "status": "active", "first_name": "Nina"},
        secure=True,
    )

    assert response.status_code == 302
    member = Member.objects.get()
    assert member.email == "new@example.com" and member.locale == "de"
    assert luhn_valid(member.card_number) and member.public_id.startswith("mem_")


def test_a_case_variant_duplicate_email_is_refused_in_the_form(staff):
    MemberFactory(email="taken@example.com")

    response = staff.post(
        "/admin/members/member/add/",
        {"email": "TAKEN@example.com", "locale": "en", "status": "active"},
        secure=True,
    )

    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert Member.objects.count() == 1


def test_the_ledger_cannot_be_edited_in_the_admin(staff, now):
    member = MemberFactory()
    entry = points_credit(member=member, points=5, now=now)

    assert get(staff, f"/admin/loyalty/ledgerentry/{entry.pk}/change/").status_code == 200  # view only
    response = staff.post(f"/admin/loyalty/ledgerentry/{entry.pk}/change/", {"points": 500}, secure=True)
    assert response.status_code == 403
    assert get(staff, "/admin/loyalty/ledgerentry/add/").status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).points == 5


def test_no_one_is_offered_to_delete_a_member(staff):
    member = MemberFactory()

    page = get(staff, f"/admin/members/member/{member.pk}/change/").content.decode()
    assert "/delete/" not in page
    assert staff.post(f"/admin/members/member/{member.pk}/delete/", {"post": "yes"}, secure=True).status_code == 403
    changelist = get(staff, "/admin/members/member/").content.decode()
    assert "delete_selected" not in changelist
    assert Member.objects.filter(pk=member.pk).exists()


def test_editing_a_member_normalises_the_email_and_phone_as_the_api_does(staff):
    member = MemberFactory(email="old@example.com")

    response = staff.post(
        f"/admin/members/member/{member.pk}/change/",
        {"email": " Moved@Example.COM", "first_name": "Ada", "last_name": "Lovelace", "phone": "+49 (151) 234-5678",
         "locale": "de"},
        secure=True,
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    member.refresh_from_db()
    assert member.email == "moved@example.com" and member.phone == "+491512345678" and member.locale == "de"
