"""The member's vouchers: code, reward, status (as the API says it) and expiry, a scannable code for each one
still to use, a page of its own with a big one; nobody else's."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.ledger.services import points_credit
from loyalty.membership.services import member_enroll_with_account
from loyalty.program.loading import program_load
from rewards.models import Voucher
from tests.support.portal import signed_in
from tests.support.portal_pages import marked, one
from tests.support.rewards import cancel, redeemed, reward_item

BUDGET = 3  # session, member, the vouchers with their rewards (4 with a cursor)


@pytest.fixture
def rewards(program):
    program_load({"rewards": [reward_item("COFFEE", name="Free coffee", points_cost=10, stock=None),
                              reward_item("TENOFF", name="10 off", kind="voucher_amount", value="10.00",
                                          points_cost=10, stock=None)]})  # fmt: skip


@pytest.fixture
def holder(ada, rewards):
    points_credit(member=ada, points=10_000, now=timezone.now())
    return ada


def test_each_voucher_with_its_status_code_and_a_scannable_code_while_usable(holder, api, shop):
    issued = redeemed(api, holder, "COFFEE")["voucher_code"]
    used = redeemed(api, holder, "TENOFF")["voucher_code"]
    api.post(f"/api/v1/vouchers/{used}/use", {"external_id": "order-9"})
    expired = redeemed(api, holder, "COFFEE")["voucher_code"]
    Voucher.objects.filter(code=expired).update(expires_at=timezone.now() - dt.timedelta(minutes=1))  # job not run
    cancelled = redeemed(api, holder, "COFFEE")
    cancel(api, cancelled["id"])

    page = signed_in(holder).get("/portal/vouchers").content

    rows = marked(page, "voucher")
    shown = [(row.attrs["data-code"], row.attrs["data-status"]) for row in rows]
    assert shown == [(cancelled["voucher_code"], "cancelled"), (expired, "expired"), (used, "used"), (issued, "issued")]
    assert [s.text for s in marked(page, "voucher-status")] == ["Cancelled", "Expired", "Used", "Ready to use"]
    for code, status in shown:
        assert api.get(f"/api/v1/vouchers/{code}").json()["status"] == status
    qrs = marked(page, "voucher-qr")
    assert len(qrs) == 1 and issued in qrs[0].attrs["aria-label"] and "<svg" in "".join(qrs[0].inner)
    assert "Free coffee" in rows[-1].text and issued in rows[-1].text and "expires" in rows[-1].text


def test_one_vouchers_page_has_its_code_big_and_scannable(holder, api):
    code = redeemed(api, holder, "TENOFF")["voucher_code"]
    voucher = Voucher.objects.get(code=code)

    page = signed_in(holder).get(f"/portal/vouchers/{code}").content

    assert one(page, "voucher-code").text == code
    assert one(page, "voucher").attrs["data-status"] == "issued"
    assert one(page, "voucher-qr").attrs["role"] == "img"
    assert one(page, "voucher-expiry").text == f"{voucher.expires_at:%-d %b %Y}"
    assert "10.00\N{NO-BREAK SPACE}EUR" in page.decode()


def test_a_used_voucher_shows_no_code_to_scan(holder, api):
    code = redeemed(api, holder, "COFFEE")["voucher_code"]
    api.post(f"/api/v1/vouchers/{code}/use", {"external_id": "order-1"})

    page = signed_in(holder).get(f"/portal/vouchers/{code}").content

    assert one(page, "voucher").attrs["data-status"] == "used" and not marked(page, "voucher-qr")


def test_another_members_voucher_is_a_404(holder, api, program):
    bob = member_enroll_with_account(email="bob@example.com", first_name="Bob")
    points_credit(member=bob, points=100, now=timezone.now())
    theirs = redeemed(api, bob, "COFFEE")["voucher_code"]

    portal = signed_in(holder)

    assert portal.get(f"/portal/vouchers/{theirs}").status_code == 404
    assert portal.get("/portal/vouchers", {"after": theirs}).status_code == 404
    assert signed_in(bob).get(f"/portal/vouchers/{theirs.lower()}").status_code == 200  # as typed: any case


def test_no_vouchers_yet_points_to_the_rewards(ada):
    page = signed_in(ada).get("/portal/vouchers").content.decode()

    assert 'data-testid="voucher"' not in page and 'href="/portal/rewards"' in page


def test_25_a_page(holder, api):
    codes = [redeemed(api, holder, "COFFEE")["voucher_code"] for _ in range(27)]
    portal = signed_in(holder)

    first = portal.get("/portal/vouchers").content
    older = [a for a in marked(first, "page-older")]
    second = portal.get("/portal/vouchers" + older[0].attrs["href"]).content

    assert [row.attrs["data-code"] for row in marked(first, "voucher")] == codes[::-1][:25]
    assert [row.attrs["data-code"] for row in marked(second, "voucher")] == codes[1::-1]


def test_the_query_count_does_not_grow_with_the_history(rewards, api, django_assert_max_num_queries):
    counts = []
    for entries in (5, 200):
        member = member_enroll_with_account(email=f"m{entries}@example.com", first_name="M")
        for n in range(entries):
            points_credit(member=member, points=n + 10, now=timezone.now())
        code = redeemed(api, member, "COFFEE")["voucher_code"]
        client = signed_in(member)
        client.get("/portal/vouchers")  # the session's daily refresh is written on the first visit
        with django_assert_max_num_queries(BUDGET), CaptureQueriesContext(connection) as queries:
            assert client.get("/portal/vouchers").status_code == 200
        with django_assert_max_num_queries(BUDGET):
            assert client.get(f"/portal/vouchers/{code}").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
