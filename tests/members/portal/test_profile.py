"""/portal/profile: the member's details and marketing consent (with when it was given or withdrawn), changed
through member_update with errors in words beside their field and nothing written on an error; the ways to
download the data and to close the account."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from members.models import Member
from members.services import member_update
from tests.factories import MemberFactory
from tests.support.portal import signed_in

FORM = {"first_name": "Ada", "last_name": "Lovelace", "phone": "", "locale": "en"}


def text(response) -> str:
    return response.content.decode()


def stored(member: Member) -> dict:
    return Member.objects.filter(pk=member.pk).values().get()


def test_the_page_shows_the_details_and_the_way_out(portal, member):
    member_update(member=member, phone="+49 151 2345678", now=timezone.now())

    page = text(portal.get("/portal/profile"))

    assert 'data-testid="profile-name">Ada Lovelace<' in page
    assert f'data-testid="profile-email">{member.email}<' in page
    assert 'data-testid="profile-phone">+491512345678<' in page and 'data-testid="profile-language">English<' in page
    assert 'href="/portal/profile/export" download data-testid="export-data"' in page
    assert 'href="/portal/profile/close" data-testid="close-account"' in page
    for field in ("first_name", "last_name", "phone", "locale", "marketing_consent"):
        assert f'for="id_{field}"' in page and f'id="id_{field}"' in page  # every input labelled


def test_consent_shows_when_it_was_given_and_withdrawn(portal, member):
    member_update(member=member, marketing_consent=True, now=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    assert "Yes, agreed on 1 Mar 2026" in text(portal.get("/portal/profile"))

    member_update(member=member, marketing_consent=False, now=dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC))
    assert "No, withdrawn on 2 Apr 2026" in text(portal.get("/portal/profile"))


def test_saving_changes_the_details_and_dates_the_consent(portal, member):
    r = portal.post("/portal/profile", {"first_name": " Augusta ", "last_name": "King", "phone": "+44 20 7946 0018",
                                        "locale": "en", "marketing_consent": "on"})  # fmt: skip

    assert r.status_code == 302 and r["Location"] == "/portal/profile"
    row = stored(member)
    assert (row["first_name"], row["last_name"], row["phone"]) == ("Augusta", "King", "+442079460018")
    assert row["marketing_consent"] is True and row["marketing_consent_given_at"] is not None
    page = text(portal.get("/portal/profile"))
    assert "Your details are saved." in page and 'data-testid="profile-name">Augusta King<' in page


def test_withdrawing_consent(portal, member):
    member_update(member=member, marketing_consent=True, now=timezone.now() - dt.timedelta(days=3))

    portal.post("/portal/profile", FORM)  # the box unticked

    row = stored(member)
    assert row["marketing_consent"] is False and row["marketing_consent_withdrawn_at"] is not None


def test_switching_the_language_turns_the_portal_german(portal, member):
    r = portal.post("/portal/profile", {**FORM, "locale": "de"})

    assert stored(member)["locale"] == "de" and r.cookies["django_language"].value == "de"
    page = text(portal.get("/portal/profile"))
    assert '<html lang="de">' in page and "Profil" in page


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"phone": "12"}, "phone", "Please enter a phone number of 6 to 15 digits"),
        ({"phone": "not a phone"}, "phone", "Please enter a phone number of 6 to 15 digits"),
        ({"phone": "+44 20 7946 0999"}, "phone", "This phone number belongs to another member"),
        ({"first_name": "x" * 101}, "first_name", "at most 100 characters"),
        ({"locale": "fr"}, "locale", "not one of the available choices"),
    ],
)
def test_an_error_is_shown_in_words_by_its_field_and_nothing_is_written(portal, member, change, field, words):
    MemberFactory(phone="+44 20 7946 0999")
    before = stored(member)

    r = portal.post("/portal/profile", {**FORM, "first_name": "Changed", "marketing_consent": "on", **change})

    assert r.status_code == 400
    page = text(r)
    assert f'id="{field}-error">' in page and words in page
    assert stored(member) == before


def test_a_member_changes_only_their_own_details(portal, member):
    other = MemberFactory(first_name="Grace")

    portal.post("/portal/profile", {**FORM, "first_name": "Changed", "member": other.pk, "id": other.pk})

    assert stored(other)["first_name"] == "Grace" and stored(member)["first_name"] == "Changed"
    assert "Grace" not in text(portal.get("/portal/profile"))


def test_saving_needs_the_csrf_token(member):
    client = signed_in(member, Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True))

    assert client.post("/portal/profile", {**FORM, "first_name": "Changed"}).status_code == 403
    assert stored(member)["first_name"] == "Ada"


def test_the_page_costs_a_fixed_number_of_queries(portal, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        assert portal.get("/portal/profile").status_code == 200
    with django_assert_max_num_queries(9):
        assert portal.post("/portal/profile", {**FORM, "first_name": "Bo"}).status_code == 302
