"""docs/API.md, Transactions: earning points at checkout, previews, the list and the detail."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.earning.models import Campaign, Transaction
from loyalty.ledger.models import LedgerEntry, PointLot
from loyalty.program.selectors import settings_cache_clear
from members.services import member_set_status
from tests.support.api import balance, line, purchase
from tests.support.state import db_state


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def error(r) -> dict:
    return r.json()["error"]


def an_hour_ago() -> dt.datetime:
    return timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)


@pytest.fixture
def books_double(program) -> Campaign:
    campaign = Campaign.objects.create(
        code="BOOKS2X", name="Double points on books", kind="multiplier", multiplier=Decimal(2), categories=["books"]
    )
    settings_cache_clear()  # campaigns are cached per process
    return campaign


@pytest.fixture
def bonus_over_50(program) -> Campaign:
    campaign = Campaign.objects.create(
        code="BIGBASKET", name="100 points from 50 EUR", kind="fixed_bonus", points=100, min_total=Decimal("50.00")
    )
    settings_cache_clear()
    return campaign


# --- earning -----------------------------------------------------------------------------------------


def test_a_purchase_credits_floor_of_its_total_and_returns_the_transaction(api, member):
    occurred_at = an_hour_ago()

    r = api.post("/api/v1/transactions", purchase(member, total="25.99", occurred_at=iso(occurred_at)))

    assert r.status_code == 201, r.content
    txn = Transaction.objects.get()
    assert r.json() == {
        "id": txn.public_id,
        "external_id": "order-1",
        "member": member.public_id,
        "shop": "shop-a",
        "occurred_at": iso(occurred_at),
        "currency": "EUR",
        "total": "25.99",
        "eligible_amount": "25.99",
        "base_points": 25,
        "points": 25,
        "breakdown": [{"source": "base", "points": 25}],
        "points_status": "available",
        "available_at": iso(txn.available_at),
        "refunded_amount": "0.00",
        "points_clawed_back": 0,
        "points_forgiven": 0,
        "balance": {"available": 25, "pending": 0, "held": 0},
        "tier": None,
    }
    assert balance(member) == (25, 0, 0)
    # the lot expires 24 months (the program's rolling policy) after the purchase happened
    lot = PointLot.objects.get()
    assert (lot.amount, lot.remaining, lot.pending) == (25, 25, False)
    assert lot.expires_at == occurred_at.replace(year=occurred_at.year + 2)


def test_lines_in_excluded_categories_earn_nothing(api, member):
    body = purchase(
        member,
        total="45.50",
        lines=[line("10.00", quantity=2, category="books"), line("25.50", category="gift_cards", sku="gc-25")],
    )

    r = api.post("/api/v1/transactions", body)

    assert r.status_code == 201, r.content
    assert (r.json()["eligible_amount"], r.json()["base_points"], r.json()["points"]) == ("20.00", 20, 20)
    assert r.json()["breakdown"] == [{"source": "base", "points": 20}]
    assert balance(member) == (20, 0, 0)


def test_a_campaign_multiplies_only_matching_lines_and_the_breakdown_sums_to_points(api, member, books_double):
    # books 10.75 x2 = 21.50, plus 5.50 general: floor(27.00) = 27 points; base floor(16.25) = 16
    body = purchase(
        member, total="16.25", lines=[line("10.75", category="books", sku="b-1"), line("5.50", category="food")]
    )

    r = api.post("/api/v1/transactions", body)

    assert r.status_code == 201, r.content
    assert (r.json()["base_points"], r.json()["points"]) == (16, 27)
    assert r.json()["breakdown"] == [{"source": "base", "points": 16}, {"source": "campaign:BOOKS2X", "points": 11}]
    assert sum(part["points"] for part in r.json()["breakdown"]) == 27
    assert balance(member) == (27, 0, 0)


def test_a_campaign_does_not_apply_to_a_purchase_without_matching_lines(api, member, books_double):
    r = api.post("/api/v1/transactions", purchase(member, total="16.25", lines=[line("16.25", category="food")]))

    assert r.status_code == 201, r.content
    assert (r.json()["points"], r.json()["breakdown"]) == (16, [{"source": "base", "points": 16}])


@pytest.mark.parametrize(
    ("total", "points", "breakdown"),
    [
        ("49.99", 49, [{"source": "base", "points": 49}]),
        # min_total is a minimum: a total equal to it qualifies
        ("50.00", 150, [{"source": "base", "points": 50}, {"source": "campaign:BIGBASKET", "points": 100}]),
        ("60.40", 160, [{"source": "base", "points": 60}, {"source": "campaign:BIGBASKET", "points": 100}]),
    ],
)
def test_a_fixed_bonus_is_added_once_from_its_min_total(api, member, bonus_over_50, total, points, breakdown):
    r = api.post("/api/v1/transactions", purchase(member, total=total, lines=[line(total), line("0.00", sku="x")]))

    assert r.status_code == 201, r.content
    assert (r.json()["points"], r.json()["breakdown"]) == (points, breakdown)
    assert balance(member) == (points, 0, 0)


def test_multiplier_and_bonus_together(api, member, books_double, bonus_over_50):
    body = purchase(member, total="60.00", lines=[line("20.00", category="books"), line("40.00", category="food")])

    r = api.post("/api/v1/transactions", body)

    assert r.status_code == 201, r.content
    assert (r.json()["base_points"], r.json()["points"]) == (60, 180)
    assert r.json()["breakdown"] == [
        {"source": "base", "points": 60},
        {"source": "campaign:BOOKS2X", "points": 20},
        {"source": "campaign:BIGBASKET", "points": 100},
    ]


def test_a_purchase_of_zero_earns_nothing_and_writes_no_entry(api, member):
    r = api.post("/api/v1/transactions", purchase(member, total="0.00"))

    assert r.status_code == 201, r.content
    assert (r.json()["points"], r.json()["balance"]) == (0, {"available": 0, "pending": 0, "held": 0})
    assert Transaction.objects.count() == 1 and not LedgerEntry.objects.exists()


def test_money_sent_as_json_numbers_is_read_exactly(api, member):
    # As floats, 3 x 0.1 is 0.30000000000000004 and would not add up to 0.3
    raw = (
        f'{{"member": "{member.public_id}", "external_id": "o", "currency": "EUR", "total": 0.3, '
        '"lines": [{"sku": "a", "quantity": 3, "unit_price": 0.1}]}'
    )

    r = api.post("/api/v1/transactions", raw=raw)

    assert r.status_code == 201, r.content
    assert (r.json()["total"], r.json()["eligible_amount"], r.json()["points"]) == ("0.30", "0.30", 0)
    assert Transaction.objects.get().total == Decimal("0.30")


# --- refusals ----------------------------------------------------------------------------------------


def test_lines_that_do_not_add_up_to_the_total_are_400_total_mismatch(api, member_with_points):
    member = member_with_points(10)
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member, total="25.00", lines=[line("10.00"), line("14.99")]))

    assert r.status_code == 400
    assert error(r) == {
        "type": "invalid_request",
        "code": "total_mismatch",
        "message": "The lines do not add up to the total.",
        "param": "lines",
    }
    assert db_state() == before and balance(member) == (10, 0, 0)


def test_occurred_at_in_the_future_is_400(api, member):
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member, occurred_at=iso(timezone.now() + dt.timedelta(minutes=5))))

    assert r.status_code == 400
    assert error(r) == {
        "type": "invalid_request",
        "code": "occurred_at_in_future",
        "message": "occurred_at cannot be in the future.",
        "param": "occurred_at",
    }
    assert db_state() == before and not Transaction.objects.exists()


def test_occurred_at_beyond_max_backdate_days_is_422_backdate_too_old(api, member):
    before = db_state()

    r = api.post(
        "/api/v1/transactions", purchase(member, occurred_at=iso(timezone.now() - dt.timedelta(days=30, minutes=1)))
    )

    assert r.status_code == 422
    assert error(r) == {
        "type": "business_rule",
        "code": "backdate_too_old",
        "message": "A purchase may be reported at most 30 days after it happened.",
        "param": "occurred_at",
    }
    assert db_state() == before and balance(member) == (0, 0, 0)


def test_occurred_at_within_max_backdate_days_is_accepted_and_expires_from_occurred_at(api, member):
    occurred_at = timezone.now().replace(microsecond=0) - dt.timedelta(days=29, hours=23)

    r = api.post("/api/v1/transactions", purchase(member, total="12.00", occurred_at=iso(occurred_at)))

    assert r.status_code == 201, r.content
    assert (r.json()["occurred_at"], r.json()["points"], r.json()["points_status"]) == (
        iso(occurred_at),
        12,
        "available",
    )
    assert PointLot.objects.get().expires_at == occurred_at.replace(year=occurred_at.year + 2)


@pytest.mark.parametrize("currency", ["USD", "XYZ"])
def test_a_currency_other_than_the_programs_is_422_unsupported_currency(api, member, currency):
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member, currency=currency))

    assert r.status_code == 422
    assert error(r) == {
        "type": "business_rule",
        "code": "unsupported_currency",
        "message": "The program runs in EUR.",
        "param": "currency",
    }
    assert db_state() == before


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_a_purchase_by_an_inactive_member_is_422_member_inactive(api, member, status):
    member_set_status(member=member, status=status)
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member))

    assert r.status_code == 422
    assert error(r) == {
        "type": "business_rule",
        "code": "member_inactive",
        "message": "The member is suspended or closed.",
        "param": "member",
    }
    assert db_state() == before and not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("ref", "param"), [({"member": "mem_nobody"}, "member"), ({"card_number": "4111111111111111"}, "card_number")]
)
def test_a_purchase_by_an_unknown_member_is_404(api, member, ref, param):
    body = {**purchase(member), **ref}
    if "card_number" in ref:
        del body["member"]
    before = db_state()

    r = api.post("/api/v1/transactions", body)

    assert r.status_code == 404
    assert error(r) == {"type": "not_found", "code": "member_not_found", "message": "No such member.", "param": param}
    assert db_state() == before


def test_a_purchase_names_the_member_by_card_number(api, member):
    body = purchase(member, total="30.00")
    del body["member"]
    spaced = " ".join(member.card_number[i : i + 4] for i in range(0, 16, 4))

    r = api.post("/api/v1/transactions", {**body, "card_number": spaced})

    assert r.status_code == 201, r.content
    assert (r.json()["member"], r.json()["points"]) == (member.public_id, 30)
    assert balance(member) == (30, 0, 0)


@pytest.mark.parametrize("both", [True, False], ids=["both", "neither"])
def test_a_purchase_needs_exactly_one_of_member_and_card_number(api, member, both):
    body = purchase(member)
    if both:
        body["card_number"] = member.card_number
    else:
        del body["member"]

    r = api.post("/api/v1/transactions", body)

    assert r.status_code == 400
    assert (error(r)["code"], error(r)["param"]) == ("missing_field", "member")
    assert not Transaction.objects.exists()


# --- pending points ----------------------------------------------------------------------------------


def test_with_pending_days_the_points_are_pending_until_available_at(api, member, program_set):
    program_set(pending_days=14)
    occurred_at = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)

    r = api.post("/api/v1/transactions", purchase(member, total="40.00", occurred_at=iso(occurred_at)))

    assert r.status_code == 201, r.content
    assert r.json()["points_status"] == "pending"
    assert r.json()["available_at"] == iso(occurred_at + dt.timedelta(days=14))
    assert r.json()["balance"] == {"available": 0, "pending": 40, "held": 0}
    assert balance(member) == (0, 40, 0)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.points, entry.pending_points) == ("earn", 0, 40)
    lot = PointLot.objects.get()
    assert (lot.pending, lot.available_at) == (True, occurred_at + dt.timedelta(days=14))


def test_pending_points_of_a_purchase_older_than_pending_days_are_available_at_once(api, member, program_set):
    program_set(pending_days=3)

    occurred_at = an_hour_ago() - dt.timedelta(days=3)

    r = api.post("/api/v1/transactions", purchase(member, total="40.00", occurred_at=iso(occurred_at)))

    assert r.status_code == 201, r.content
    assert (r.json()["points_status"], r.json()["balance"]) == (
        "available",
        {"available": 40, "pending": 0, "held": 0},
    )


# --- idempotency on external_id ----------------------------------------------------------------------


def test_the_same_external_id_and_body_again_is_200_with_the_original_and_credits_once(api, member):
    body = purchase(member, total="25.00", occurred_at=iso(an_hour_ago()), lines=[line("25.00", category="food")])
    first = api.post("/api/v1/transactions", body)

    again = api.post("/api/v1/transactions", body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Transaction.objects.count() == 1 and LedgerEntry.objects.count() == 1 and balance(member) == (25, 0, 0)


def test_the_same_external_id_with_another_body_is_409_and_writes_nothing(api, member):
    assert api.post("/api/v1/transactions", purchase(member, total="25.00")).status_code == 201
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member, total="26.00"))

    assert r.status_code == 409
    assert error(r) == {
        "type": "conflict",
        "code": "idempotency_conflict",
        "message": "A different transaction was already recorded with this external_id.",
        "param": "external_id",
    }
    assert db_state() == before and balance(member) == (25, 0, 0)


def test_external_ids_are_per_shop(api, other_api, member):
    a = api.post("/api/v1/transactions", purchase(member, external_id="same", total="10.00"))
    b = other_api.post("/api/v1/transactions", purchase(member, external_id="same", total="20.00"))

    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"] and balance(member) == (30, 0, 0)


def test_a_retry_after_the_member_was_suspended_still_returns_the_original(api, member):
    """docs/API.md: 'the same body again -> 200 with the original'. A checkout retrying a purchase that was
    recorded (its first response was lost) must get the recorded transaction, whatever happened since."""
    body = purchase(member, total="25.00")
    first = api.post("/api/v1/transactions", body)
    member_set_status(member=member, status="suspended")

    again = api.post("/api/v1/transactions", body)

    assert first.status_code == 201
    assert again.status_code == 200, again.content
    assert again.json() == first.json()


# --- preview -----------------------------------------------------------------------------------------


def test_preview_computes_the_same_points_and_writes_nothing(api, member, books_double, bonus_over_50):
    lines = [line("20.00", category="books"), line("40.00", category="food"), line("7.00", category="gift_cards")]
    body = {"currency": "EUR", "total": "67.00", "lines": lines}
    before = db_state()

    anonymous = api.post("/api/v1/transactions/preview", body)
    for_member = api.post("/api/v1/transactions/preview", {**body, "member": member.public_id})

    assert (anonymous.status_code, for_member.status_code) == (200, 200)
    expected = {
        "eligible_amount": "60.00",
        "base_points": 60,
        "points": 180,
        "breakdown": [
            {"source": "base", "points": 60},
            {"source": "campaign:BOOKS2X", "points": 20},
            {"source": "campaign:BIGBASKET", "points": 100},
        ],
    }
    assert anonymous.json() == expected and for_member.json() == expected
    assert db_state() == before
    created = api.post("/api/v1/transactions", {**body, "member": member.public_id, "external_id": "o-1"}).json()
    assert {key: created[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"member": "mem_nobody"}, 404, "member_not_found"),
        ({"currency": "USD"}, 422, "unsupported_currency"),
        ({"lines": [line("1.00")]}, 400, "total_mismatch"),
        ({"total": "-1.00"}, 400, "total_out_of_range"),
    ],
)
def test_preview_refusals(api, member, extra, status, code):
    before = db_state()

    r = api.post("/api/v1/transactions/preview", {"currency": "EUR", "total": "10.00", **extra})

    assert (r.status_code, error(r)["code"]) == (status, code)
    assert db_state() == before


# --- list and detail ---------------------------------------------------------------------------------


def test_the_list_shows_only_the_calling_shops_transactions_filtered_by_member_or_external_id(
    api, other_api, member_with_points
):
    ada, bob = member_with_points(0), member_with_points(0)
    a1 = api.post("/api/v1/transactions", purchase(ada, external_id="a1", total="1.00")).json()["id"]
    a2 = api.post("/api/v1/transactions", purchase(bob, external_id="a2", total="2.00")).json()["id"]
    a3 = api.post("/api/v1/transactions", purchase(ada, external_id="a3", total="3.00")).json()["id"]
    b1 = other_api.post("/api/v1/transactions", purchase(ada, external_id="a1", total="4.00")).json()["id"]

    def ids(api_, params=None):
        r = api_.get("/api/v1/transactions", params)
        assert r.status_code == 200, r.content
        assert r.json()["next"] is None
        return [t["id"] for t in r.json()["results"]]

    assert ids(api) == [a3, a2, a1]
    assert ids(api, {"member": ada.public_id}) == [a3, a1]
    assert ids(api, {"external_id": "a1"}) == [a1]
    assert ids(api, {"member": bob.public_id, "external_id": "a1"}) == []
    assert ids(other_api) == [b1]
    assert ids(other_api, {"member": bob.public_id}) == []
    listed = api.get("/api/v1/transactions", {"external_id": "a3"}).json()["results"][0]
    assert listed == api.get(f"/api/v1/transactions/{a3}").json()
    assert (listed["total"], listed["points"], listed["balance"]) == (
        "3.00",
        3,
        {"available": 8, "pending": 0, "held": 0},
    )


def test_the_list_paginates_with_a_cursor(api, member):
    ids = [
        api.post("/api/v1/transactions", purchase(member, external_id=f"o{i}", total="1.00")).json()["id"]
        for i in range(5)
    ]

    pages, url = [], "/api/v1/transactions?limit=2"
    while url:
        r = api.get(url)
        assert r.status_code == 200, r.content
        pages.append([t["id"] for t in r.json()["results"]])
        url = r.json()["next"]

    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[0:1]]


def test_the_detail_returns_the_transaction(api, member):
    created = api.post("/api/v1/transactions", purchase(member, total="5.00"))

    r = api.get(f"/api/v1/transactions/{created.json()['id']}")

    assert r.status_code == 200 and r.json() == created.json()


def test_another_shops_transaction_is_404(api, other_api, member):
    theirs = other_api.post("/api/v1/transactions", purchase(member, total="5.00")).json()["id"]

    r = api.get(f"/api/v1/transactions/{theirs}")

    assert r.status_code == 404
    assert error(r) == {
        "type": "not_found",
        "code": "transaction_not_found",
        "message": "No such transaction.",
        "param": "id",
    }
    assert api.get("/api/v1/transactions/txn_nothing").status_code == 404
