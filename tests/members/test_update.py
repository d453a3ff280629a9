"""`member_update`: the one way a stored member's profile changes (the admin's form now, the portal next)."""

import datetime as dt

import pytest

from members.errors import InvalidEmail, InvalidStatus, MemberExists, PhoneExists
from members.models import Member
from members.services import member_enroll, member_update
from privacy.services import member_erase

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=2)


def row(member: Member) -> dict:
    return Member.objects.values().get(pk=member.pk)


def test_values_are_normalised_as_at_enrollment_and_only_changes_are_written():
    member = member_enroll(email="ada@example.com", phone="+44 20 7946 0018", now=NOW)

    member_update(member=member, now=LATER, email="  Ada.L@Example.COM ", phone="+44 20 7946 0018", first_name="Ada")

    stored = row(member)
    assert (stored["email"], stored["phone"], stored["first_name"]) == ("ada.l@example.com", "+442079460018", "Ada")
    assert member.email == "ada.l@example.com"  # the caller's instance follows


def test_consent_is_dated_when_it_changes():
    member = member_enroll(email="ada@example.com", now=NOW)

    member_update(member=member, now=LATER, marketing_consent=True)

    stored = row(member)
    assert (stored["marketing_consent"], stored["marketing_consent_given_at"]) == (True, LATER)


def test_another_members_email_or_phone_is_refused_and_nothing_is_written():
    member_enroll(email="grace@example.com", phone="+44 20 7946 0099", now=NOW)
    member = member_enroll(email="ada@example.com", now=NOW)
    before = row(member)

    with pytest.raises(MemberExists):
        member_update(member=member, now=LATER, email="Grace@example.com", first_name="Ada")
    with pytest.raises(PhoneExists):
        member_update(member=member, now=LATER, phone="+44 20 7946 0099")
    with pytest.raises(InvalidEmail):
        member_update(member=member, now=LATER, email="not an email")

    assert row(member) == before


def test_keeping_ones_own_email_while_taking_anothers_phone_names_the_phone():
    member_enroll(email="grace@example.com", phone="+44 20 7946 0099", now=NOW)
    member = member_enroll(email="ada@example.com", now=NOW)

    with pytest.raises(PhoneExists):
        member_update(member=member, now=LATER, email="ada@example.com", phone="+44 20 7946 0099")


def test_an_erased_members_data_stays_erased():
    member = member_enroll(email="ada@example.com", first_name="Ada", now=NOW)
    member_erase(member=member, actor="staff:root", now=NOW)
    before = row(member)

    with pytest.raises(InvalidStatus):
        member_update(member=member, now=LATER, first_name="Ada")

    assert row(member) == before
