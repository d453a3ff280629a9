"""The history: every entry newest first, 25 a page by keyset, said in words, with points and the balance after,
filtered by kind; another member's entry as a cursor is a 404; the query count does not grow with the history."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.adjustments.services import points_adjust
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit, points_expire
from loyalty.membership.services import member_enroll_with_account
from loyalty.program.loading import program_load
from tests.support.api import purchase
from tests.support.portal import signed_in
from tests.support.portal_pages import marked
from tests.support.rewards import redeemed, reward_item

BUDGET = 4  # session, member, account, the page (and the cursor's entry when one is given: 5)


def shown(page) -> list[tuple[str, str, int, int]]:
    """(kind, words, points, balance after) of each history row."""
    rows = marked(page, "entry")
    what, points, balance = (marked(page, name) for name in ("entry-what", "entry-points", "entry-balance"))
    return [
        (row.attrs["data-kind"], w.text, p.number, b.number)
        for row, w, p, b in zip(rows, what, points, balance, strict=True)
    ]


def test_each_kind_of_entry_is_said_in_words_with_points_and_balance_after(api, ada, shop, now):
    program_load({"rewards": [reward_item("COFFEE", name="Free coffee", points_cost=300)]})
    txn = api.post("/api/v1/transactions", purchase(ada, external_id="order-1", total="500.00")).json()["id"]
    api.post(f"/api/v1/transactions/{txn}/refunds", {"external_id": "refund-1", "amount": "100.00"})
    redeemed(api, ada, "COFFEE")
    points_adjust(member=ada, points=5, reason="goodwill", note="sorry", actor="staff:eve", now=timezone.now())
    hold = api.post("/api/v1/holds", {"member": ada.public_id, "points": 20, "external_id": "hold-1"}).json()
    api.post(f"/api/v1/holds/{hold['id']}/void")
    points_credit(member=ada, points=7, now=timezone.now() - dt.timedelta(days=2), expires_at=timezone.now())
    points_expire(member=ada, now=timezone.now())

    rows = shown(signed_in(ada).get("/portal/history").content)

    balances = LedgerEntry.objects.filter(account__member=ada).order_by("-id").values_list("balance_after", flat=True)
    assert rows == [
        ("expire", "Expired", -7, balances[0]),
        ("earn", "Points earned", 7, balances[1]),
        ("release", "Points released", 20, balances[2]),
        ("hold", "Points reserved at Shop A", -20, balances[3]),
        ("adjust", "Adjustment", 5, balances[4]),
        ("redeem", "Reward: Free coffee", -300, balances[5]),
        ("clawback", "Refund at Shop A", -100, balances[6]),
        ("earn", "Purchase at Shop A", 500, 500),
    ]
    assert balances[0] == 500 - 100 - 300 + 5


def test_a_cancelled_reward_says_so(api, ada, shop):
    program_load({"rewards": [reward_item("COFFEE", name="Free coffee", points_cost=300)]})
    api.post("/api/v1/transactions", purchase(ada, external_id="order-1", total="500.00"))
    redemption = redeemed(api, ada, "COFFEE")
    api.post(f"/api/v1/redemptions/{redemption['id']}/cancel")

    rows = shown(signed_in(ada).get("/portal/history").content)

    assert rows[0] == ("reversal", "Reward cancelled: Free coffee", 300, 500)


def credited(member, count: int) -> None:
    at = timezone.now() - dt.timedelta(days=1)
    for n in range(count):
        points_credit(member=member, points=n + 1, now=at)


def test_25_a_page_newest_first_and_the_pages_link_both_ways(ada):
    credited(ada, 60)
    portal = signed_in(ada)
    ids = list(LedgerEntry.objects.filter(account__member=ada).order_by("-id").values_list("public_id", flat=True))

    first = portal.get("/portal/history").content
    older = marked(first, "page-older")[0].attrs["href"]
    second = portal.get("/portal/history" + older).content
    third = portal.get("/portal/history" + marked(second, "page-older")[0].attrs["href"]).content
    back = portal.get("/portal/history" + marked(second, "page-newer")[0].attrs["href"]).content

    points = [[row[2] for row in shown(page)] for page in (first, second, third)]
    assert points == [list(range(60, 35, -1)), list(range(35, 10, -1)), list(range(10, 0, -1))]
    assert older == f"?after={ids[24]}"
    assert not marked(first, "page-newer") and not marked(third, "page-older")
    assert [row.text for row in marked(back, "entry")] == [row.text for row in marked(first, "entry")]
    assert not marked(back, "page-newer")


def test_filtered_by_kind_and_the_filter_kept_across_pages(api, ada, shop):
    credited(ada, 30)
    for n in range(3):
        api.post("/api/v1/transactions", purchase(ada, external_id=f"order-{n}", total="10.00"))
    portal = signed_in(ada)

    purchases = marked(portal.get("/portal/history", {"kind": "earn"}).content, "entry")
    adjusted = portal.get("/portal/history", {"kind": "adjust"})
    everything = portal.get("/portal/history", {"kind": "nonsense"}).content

    assert len(purchases) == 25 and {row.attrs["data-kind"] for row in purchases} == {"earn"}
    assert marked(adjusted.content, "entry") == [] and marked(adjusted.content, "history-empty")
    assert len(marked(everything, "entry")) == 25
    page = portal.get("/portal/history", {"kind": "earn"}).content
    assert marked(page, "page-older")[0].attrs["href"].startswith("?kind=earn&after=")


def test_another_members_entry_as_cursor_is_a_404(ada, program):
    other = member_enroll_with_account(email="bob@example.com", first_name="Bob")
    credited(other, 2)
    theirs = LedgerEntry.objects.filter(account__member=other).first().public_id

    assert signed_in(ada).get("/portal/history", {"after": theirs}).status_code == 404
    assert signed_in(ada).get("/portal/history", {"before": "ent_nothing"}).status_code == 404


def test_a_member_without_entries_is_told_so(ada):
    page = signed_in(ada).get("/portal/history").content

    assert marked(page, "entry") == [] and marked(page, "history-empty")


@pytest.mark.parametrize("cursor", [False, True])
def test_the_query_count_does_not_grow_with_the_history(program, cursor, django_assert_max_num_queries):
    counts = []
    for entries in (30, 200):
        member = member_enroll_with_account(email=f"m{entries}@example.com", first_name="M")
        credited(member, entries)
        client = signed_in(member)
        client.get("/portal/history")  # the session's daily refresh is written on the first visit
        middle = LedgerEntry.objects.filter(account__member=member).order_by("-id")[26].public_id
        params = {"after": middle} if cursor else {}
        with django_assert_max_num_queries(BUDGET + cursor), CaptureQueriesContext(connection) as queries:
            page = client.get("/portal/history", params).content
        assert len(marked(page, "entry")) == (3 if cursor and entries == 30 else 25)
        counts.append(len(queries))

    assert counts[0] == counts[1]
