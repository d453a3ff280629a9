"""/portal/profile/close: a confirmation step saying what happens, then the erasure (privacy's member_erase, as
the member), the session ends, a goodbye."""

from django.test import Client

from loyalty.holds.models import Hold
from loyalty.ledger.verify import ledger_verify
from loyalty.messages.models import Message
from members.models import Member, SignInLink
from privacy.services import erased_email
from rewards.models import Voucher
from tests.factories import MemberFactory
from tests.support.api import balance
from tests.support.everywhere import member_everywhere
from tests.support.portal import signed_in

CLOSE = "/portal/profile/close"


def text(response) -> str:
    return response.content.decode()


def test_the_confirmation_says_what_happens_and_changes_nothing(portal, member):
    before = Member.objects.filter(pk=member.pk).values().get()

    page = text(portal.get(CLOSE))

    assert 'data-testid="confirm"' in page and 'method="post" action="/portal/profile/close"' in page
    assert "erased" in page and "cannot be undone" in page and "Download my data" in page
    assert Member.objects.filter(pk=member.pk).values().get() == before


def test_confirming_erases_the_member_ends_the_session_and_says_goodbye(portal, member):
    r = portal.post(CLOSE)

    assert r.status_code == 200 and 'data-testid="goodbye"' in text(r)
    assert 'data-testid="logout"' not in text(r)  # signed out: no member's navigation
    stored = Member.objects.get(pk=member.pk)
    assert stored.status == "closed" and stored.erased_by == "member" and stored.erased_at is not None
    assert (stored.email, stored.first_name, stored.last_name) == (erased_email(stored), "", "")
    after = portal.get("/portal/")
    assert after.status_code == 302 and after["Location"] == "/portal/login"


def test_closing_releases_holds_cancels_vouchers_and_scrubs_mails(api, plus):
    zenobia = member_everywhere(api, plus)
    client = signed_in(zenobia.member)
    available_before = balance(zenobia.member)[0]

    client.post(CLOSE)

    member = Member.objects.get(pk=zenobia.member.pk)
    assert Hold.objects.get(member=member).status == "voided"
    assert Voucher.objects.get(code=zenobia.voucher_code).status == "cancelled"
    assert balance(member) == (available_before + 20 + 100, 0, 0)
    assert not SignInLink.objects.filter(member=member).exists()
    mails = list(Message.objects.filter(member=member).values("to_email", "body_text", "status", "subject"))
    assert [m["status"] for m in mails] == ["failed", "sent"]  # the queued one is never sent
    assert all(m["to_email"] == member.email and m["body_text"] == "" for m in mails)
    assert ledger_verify() == []


def test_the_members_other_sessions_end_too(member):
    phone, laptop = signed_in(member), signed_in(member)

    phone.post(CLOSE)

    assert laptop.get("/portal/profile").status_code == 302


def test_closing_needs_the_csrf_token(member):
    client = signed_in(member, Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True))

    assert client.post(CLOSE).status_code == 403
    assert Member.objects.get(pk=member.pk).status == "active"


def test_a_member_closes_only_their_own_account(portal, member):
    other = MemberFactory()

    portal.post(CLOSE, {"member": other.pk, "id": other.pk})

    assert Member.objects.get(pk=other.pk).status == "active"


def test_the_pages_cost_a_fixed_number_of_queries(portal, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        assert portal.get(CLOSE).status_code == 200
