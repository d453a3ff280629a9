"""Joining from the portal: enrolled through the same service as the API, a sign-in link by mail, referral
links, and the same answer for an address that is already a member."""

import re

import pytest

from loyalty.ledger.models import Account
from members.models import Member
from tests.support.portal import mails_to, signin_token

SENT = 'data-testid="join-sent"'


def join(client, **fields):
    data = {"email": "grace@example.com", "first_name": "Grace", "locale": "de", **fields}
    return client.post("/portal/join", data)


def test_joining_enrolls_with_an_account_and_mails_a_welcome_with_a_sign_in_link(visitor, program):
    r = join(visitor)

    assert r.status_code == 200 and SENT in r.content.decode()
    member = Member.objects.get(email="grace@example.com")
    assert (member.first_name, member.locale, member.marketing_consent) == ("Grace", "de", False)
    assert Account.objects.filter(member=member).exists()
    (welcome,) = mails_to("grace@example.com")
    assert "Willkommen" in welcome.subject  # in the language chosen
    visitor.post(f"/portal/login/{signin_token('grace@example.com')}")
    assert visitor.get("/portal/").status_code == 200


def test_the_consent_box_starts_unticked_and_a_tick_is_dated(visitor, program):
    page = visitor.get("/portal/join").content.decode()
    box = re.search(r'<input type="checkbox"[^>]*name="marketing_consent"[^>]*>', page)
    assert box and "checked" not in box.group(0)

    join(visitor, marketing_consent="on")

    member = Member.objects.get(email="grace@example.com")
    assert member.marketing_consent and member.marketing_consent_given_at is not None


def test_an_enrolled_address_gets_the_same_answer_and_a_sign_in_link(visitor, ada):
    r = join(visitor, email="ADA@example.com")

    assert SENT in r.content.decode()
    assert Member.objects.filter(email="ada@example.com").count() == 1
    (mail,) = mails_to("ada@example.com")
    assert "/portal/login/" in mail.body and "Welcome" not in mail.subject


def test_a_referral_link_records_who_referred(visitor, ada):
    page = visitor.get(f"/portal/join?ref={ada.referral_code}").content.decode()
    assert 'data-testid="join-referral"' in page and ada.referral_code in page

    join(visitor, ref=ada.referral_code)

    assert Member.objects.get(email="grace@example.com").referred_by == ada


def test_an_unknown_referral_code_is_explained_and_nothing_is_written(visitor, program):
    r = join(visitor, ref="NOPE1234")

    assert r.status_code == 400 and "not valid" in r.content.decode()
    assert not Member.objects.filter(email="grace@example.com").exists()


def test_a_bad_address_is_shown_at_its_field_and_nothing_is_written(visitor, program):
    r = join(visitor, email="not-an-address")

    page = r.content.decode()
    assert r.status_code == 400 and 'id="email-error"' in page and 'aria-invalid="true"' in page
    assert Member.objects.count() == 0


@pytest.mark.parametrize(
    "name", ["Eve\r\nBcc: y@example.com", "Eve\u202egnp.exe", "visit https://evil.example now", "www.evil.example"]
)
def test_a_name_with_control_characters_or_a_web_address_is_refused_and_no_mail_goes_out(visitor, program, name):
    r = join(visitor, first_name=name)

    assert r.status_code == 400 and 'id="first_name-error"' in r.content.decode()
    assert not Member.objects.exists() and mails_to("grace@example.com") == []


def test_names_from_many_languages_are_welcome(visitor, program):
    join(visitor, first_name="Zoë-Anne O'Brien Müller 李")

    assert Member.objects.get(email="grace@example.com").first_name == "Zoë-Anne O'Brien Müller 李"


def test_a_suspended_members_address_gets_the_same_answer_and_no_mail(visitor, ada):
    from members.services import member_set_status  # noqa: PLC0415

    member_set_status(member=ada, status="suspended")

    r = join(visitor, email="ada@example.com")

    assert SENT in r.content.decode() and mails_to("ada@example.com") == []
