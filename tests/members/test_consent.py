"""Marketing consent carries when it was given and when it was withdrawn, whichever path changed it."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from members.errors import InvalidStatus
from members.models import Member
from members.services import member_enroll, member_set_status, member_update
from privacy.services import member_erase

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)


@pytest.mark.django_db
def test_enrolling_with_consent_dates_it():
    member = member_enroll(email="a@example.com", marketing_consent=True, now=NOW)

    stored = Member.objects.get(pk=member.pk)
    assert (stored.marketing_consent, stored.marketing_consent_given_at, stored.marketing_consent_withdrawn_at) == (
        True, NOW, None,
    )  # fmt: skip


@pytest.mark.django_db
def test_enrolling_without_consent_dates_nothing():
    member = member_enroll(email="a@example.com", now=NOW)

    stored = Member.objects.get(pk=member.pk)
    assert (stored.marketing_consent, stored.marketing_consent_given_at, stored.marketing_consent_withdrawn_at) == (
        False, None, None,
    )  # fmt: skip


@pytest.mark.django_db
def test_withdrawing_keeps_when_it_was_given_and_giving_again_moves_it():
    member = member_enroll(email="a@example.com", marketing_consent=True, now=NOW)

    member_update(member=member, marketing_consent=False, now=LATER)
    stored = Member.objects.get(pk=member.pk)
    assert (stored.marketing_consent, stored.marketing_consent_given_at, stored.marketing_consent_withdrawn_at) == (
        False, NOW, LATER,
    )  # fmt: skip

    member_update(member=member, marketing_consent=True, now=LATER + dt.timedelta(days=1))
    stored = Member.objects.get(pk=member.pk)
    assert stored.marketing_consent and stored.marketing_consent_given_at == LATER + dt.timedelta(days=1)
    assert stored.marketing_consent_withdrawn_at == LATER


@pytest.mark.django_db
def test_setting_what_is_set_keeps_its_date():
    member = member_enroll(email="a@example.com", marketing_consent=True, now=NOW)

    member_update(member=member, marketing_consent=True, now=LATER)

    assert Member.objects.get(pk=member.pk).marketing_consent_given_at == NOW


@pytest.mark.django_db
def test_the_admin_form_dates_a_consent_change():
    member = member_enroll(email="a@example.com", now=NOW)
    staff = User.objects.create_superuser("boss", password="pw-for-tests-only")
    client = Client()
    client.force_login(staff)

    r = client.post(f"/admin/members/member/{member.pk}/change/", {
        "email": "a@example.com", "first_name": "", "last_name": "", "phone": "", "birth_date": "",
        "locale": "en", "status": "active", "marketing_consent": "on",
    }, secure=True)  # fmt: skip

    assert r.status_code == 302, r.content[:2000]
    stored = Member.objects.get(pk=member.pk)
    assert stored.marketing_consent and stored.marketing_consent_given_at is not None
    assert stored.marketing_consent_withdrawn_at is None


@pytest.mark.django_db
def test_an_erased_member_cannot_be_reactivated():
    member = member_enroll(email="a@example.com", now=NOW)
    member_erase(member=member, actor="staff:dpo", now=timezone.now())

    with pytest.raises(InvalidStatus):
        member_set_status(member=member, status="active")
    assert Member.objects.get(pk=member.pk).status == "closed"
