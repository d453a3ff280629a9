"""Signing in with a one-time link: one answer for every address, single use, 15 minutes, a POST to spend it,
rate limits, and sessions that end."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import Member, SignInLink, SignInRequest
from members.services import member_set_status
from tests.support.portal import mails_delivered, mails_to, signin_token

SENT = 'data-testid="login-sent"'


def page_text(response) -> str:
    """The page without what differs per request anyway (the CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def ask_link(client: Client, email: str):
    return client.post("/portal/login", {"email": email})


def test_the_login_page_has_one_labelled_field(visitor, db):
    page = visitor.get("/portal/login").content.decode()

    assert 'data-testid="login-email"' in page and 'for="id_email"' in page and 'id="id_email"' in page
    assert '<html lang="en">' in page


def test_a_member_and_a_stranger_get_the_same_answer_and_only_the_member_a_mail(visitor, ada):
    for_member = ask_link(visitor, "ADA@example.com ")
    for_stranger = ask_link(visitor, "nobody@example.com")

    assert for_member.status_code == for_stranger.status_code == 200
    assert SENT in for_member.content.decode() and SENT in for_stranger.content.decode()
    assert page_text(for_member) == page_text(for_stranger)
    assert [message.to for message in mails_delivered()] == [["ada@example.com"]]


def test_the_mail_is_in_the_members_language_with_an_absolute_link(visitor, ada, settings):
    settings.PUBLIC_BASE_URL = "https://loyalty.example.com"
    Member.objects.filter(pk=ada.pk).update(locale="de")

    ask_link(visitor, "ada@example.com")

    (message,) = mails_to("ada@example.com")
    assert "https://loyalty.example.com/portal/login/" in message.body
    assert "Hallo Ada" in message.body and "Anmelde" in message.subject


def test_opening_the_link_shows_a_button_and_does_not_spend_it(visitor, ada):
    ask_link(visitor, "ada@example.com")
    token = signin_token("ada@example.com")

    first_look = visitor.get(f"/portal/login/{token}")
    second_look = visitor.get(f"/portal/login/{token}")  # a mail scanner, then the member

    assert 'data-testid="signin-confirm"' in first_look.content.decode()
    assert 'data-testid="signin-confirm"' in second_look.content.decode()
    assert visitor.get("/portal/").status_code == 302  # still signed out


def test_the_link_signs_in_once(visitor, ada):
    ask_link(visitor, "ada@example.com")
    token = signin_token("ada@example.com")

    signed = visitor.post(f"/portal/login/{token}")
    again = Client(HTTP_HOST="127.0.0.1").post(f"/portal/login/{token}")

    assert signed.status_code == 302 and signed["Location"] == "/portal/"
    assert visitor.get("/portal/").status_code == 200
    assert again.status_code == 400 and 'data-testid="link-invalid"' in again.content.decode()


def test_a_link_older_than_15_minutes_is_refused(visitor, ada):
    ask_link(visitor, "ada@example.com")
    token = signin_token("ada@example.com")
    SignInLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert 'data-testid="link-invalid"' in visitor.get(f"/portal/login/{token}").content.decode()
    assert visitor.post(f"/portal/login/{token}").status_code == 400
    assert visitor.get("/portal/").status_code == 302


def test_a_made_up_token_is_refused(visitor, db):
    assert visitor.post("/portal/login/not-a-token").status_code == 400


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_a_suspended_or_closed_member_gets_the_same_answer_and_no_mail(visitor, ada, status):
    member_set_status(member=ada, status=status)

    r = ask_link(visitor, "ada@example.com")

    assert SENT in r.content.decode()
    assert mails_delivered() == []


def test_a_member_suspended_after_the_mail_cannot_use_the_link_nor_the_session(visitor, ada):
    ask_link(visitor, "ada@example.com")
    token = signin_token("ada@example.com")
    member_set_status(member=ada, status="suspended")

    assert visitor.post(f"/portal/login/{token}").status_code == 400


def test_a_signed_in_member_who_is_suspended_is_signed_out(visitor, ada):
    ask_link(visitor, "ada@example.com")
    visitor.post(f"/portal/login/{signin_token('ada@example.com')}")
    member_set_status(member=ada, status="suspended")

    assert visitor.get("/portal/").status_code == 302


def test_more_than_five_links_in_15_minutes_for_one_address_send_no_more_mail(ada, settings):
    for n in range(7):  # from seven addresses, so only the per-email limit applies
        Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR=f"10.0.0.{n}").post("/portal/login", {"email": "ada@example.com"})

    assert len(mails_to("ada@example.com")) == settings.PORTAL_SIGNIN_LIMIT == 5


def test_more_than_five_requests_from_one_address_send_no_more_mail(program, settings):
    from loyalty.membership.services import member_enroll_with_account  # noqa: PLC0415

    members = [member_enroll_with_account(email=f"m{n}@example.com") for n in range(7)]
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="10.9.9.9")
    answers = [client.post("/portal/login", {"email": m.email}) for m in members]

    assert all(SENT in answer.content.decode() for answer in answers)
    assert len(mails_delivered()) == 5


def test_signing_in_starts_a_fresh_session_that_expires_after_30_idle_days(visitor, ada):
    visitor.get("/portal/login")
    before = visitor.cookies.get("sessionid")
    ask_link(visitor, "ada@example.com")

    visitor.post(f"/portal/login/{signin_token('ada@example.com')}")

    cookie = visitor.cookies["sessionid"]
    assert before is None or cookie.value != before.value
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert 30 * 24 * 3600 - 60 <= int(cookie["max-age"]) <= 30 * 24 * 3600


def test_logging_out_ends_the_session(portal):
    r = portal.post("/portal/logout")

    assert r.status_code == 302 and r["Location"] == "/portal/login"
    assert portal.get("/portal/").status_code == 302


def test_logging_out_needs_a_post(portal):
    assert portal.get("/portal/logout").status_code == 405
    assert portal.get("/portal/").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(ada):
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)

    assert client.post("/portal/login", {"email": "ada@example.com"}).status_code == 403
    assert mails_delivered() == []


def test_a_mail_server_down_leaves_the_answer_alone_and_the_mail_for_a_retry(visitor, ada, settings, monkeypatch):
    def refuse(self, messages):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)

    r = ask_link(visitor, "ada@example.com")
    mails_delivered()

    assert SENT in r.content.decode() and mail.outbox == []
    monkeypatch.undo()
    later = mails_delivered(timezone.now() + dt.timedelta(minutes=2))
    assert [message.to for message in later] == [["ada@example.com"]]


def test_the_answer_runs_the_same_statements_for_a_member_a_stranger_and_a_suspended_member(visitor, ada, program):
    """What the login page does before answering cannot tell members apart, by its answer or by its work: it only
    records the request; looking the address up and mailing happen afterwards."""
    from loyalty.membership.services import member_enroll_with_account  # noqa: PLC0415

    member_set_status(member=member_enroll_with_account(email="sus@example.com"), status="suspended")
    statements = {}
    for address in ("ada@example.com", "nobody@example.com", "sus@example.com"):
        with CaptureQueriesContext(connection) as queries:
            ask_link(visitor, address)
        statements[address] = [re.sub(r"'[^']*'|\d+", "?", query["sql"]) for query in queries.captured_queries]

    assert statements["ada@example.com"] == statements["nobody@example.com"] == statements["sus@example.com"]
    assert not any("members_member" in sql for sql in statements["ada@example.com"])
    assert SignInRequest.objects.count() == 3
    assert [message.to for message in mails_delivered()] == [["ada@example.com"]]
    assert SignInRequest.objects.count() == 0
