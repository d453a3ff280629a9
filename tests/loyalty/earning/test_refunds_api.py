"""docs/API.md, Transactions: refunds and the claw-back of their points."""

import json
import math
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from django.test import Client

from loyalty.earning.models import Refund, Transaction
from loyalty.earning.services import refund_create, transaction_create
from loyalty.errors import InvalidRequest
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_debit
from tests.support.api import balance, line, purchase
from tests.support.state import db_state


def error(r) -> dict:
    return r.json()["error"]


def refund(api, txn_id: str, external_id: str, amount: str, **headers):
    return api.post(f"/api/v1/transactions/{txn_id}/refunds", {"external_id": external_id, "amount": amount}, **headers)


def claw_back_target(points: int, total: str, refunded: str) -> int:
    """docs/API.md: after refunds totalling R of T, points - floor(points x (T - R) / T) are clawed back."""
    t, r = Fraction(total), Fraction(refunded)
    return points - math.floor(points * (t - r) / t)


@pytest.mark.parametrize(
    ("total", "lines", "points", "amounts", "clawed"),
    [
        ("29.99", None, 29, ["10.00", "10.00", "9.99"], [10, 10, 9]),
        # 7.00 of 30.00 earns (gift cards do not): the shares round down, the last refund takes the rest
        ("30.00", [line("7.00"), line("23.00", category="gift_cards")], 7, ["10.00", "10.00", "10.00"], [3, 2, 2]),
        ("100.00", None, 100, ["0.01", "33.33", "0.01", "66.65"], [1, 33, 0, 66]),
    ],
)
def test_partial_refunds_claw_back_exactly_the_formula_and_all_points_in_the_end(
    api, member_with_points, total, lines, points, amounts, clawed
):
    member = member_with_points(1000)
    body = purchase(member, total=total, **({"lines": lines} if lines else {}))
    txn = api.post("/api/v1/transactions", body).json()
    assert txn["points"] == points

    responses = [refund(api, txn["id"], f"r-{i}", amount) for i, amount in enumerate(amounts)]

    assert [r.status_code for r in responses] == [201] * len(amounts)
    assert [r.json()["points_clawed_back"] for r in responses] == clawed
    refunded, so_far = Fraction(0), 0
    for amount, r in zip(amounts, responses, strict=True):
        refunded += Fraction(amount)
        so_far += r.json()["points_clawed_back"]
        assert so_far == claw_back_target(points, total, str(refunded))
        assert r.json()["balance"] == {"available": 1000 + points - so_far, "pending": 0, "held": 0}
    assert sum(clawed) == points and balance(member) == (1000, 0, 0)
    detail = api.get(f"/api/v1/transactions/{txn['id']}").json()
    assert (detail["refunded_amount"], detail["points_clawed_back"], detail["points_forgiven"]) == (total, points, 0)


def test_a_refund_returns_201_with_the_refund(api, member_with_points):
    member = member_with_points(100)
    txn = api.post("/api/v1/transactions", purchase(member, total="40.00")).json()

    r = refund(api, txn["id"], "rf-1", "10.00")

    assert r.status_code == 201, r.content
    stored = Refund.objects.get()
    assert r.json() == {
        "id": stored.public_id,
        "external_id": "rf-1",
        "amount": "10.00",
        "points_clawed_back": 10,
        "points_forgiven": 0,
        "balance": {"available": 130, "pending": 0, "held": 0},
        "transaction": txn["id"],
    }
    entry = LedgerEntry.objects.filter(kind="clawback").get()
    assert (entry.points, entry.pending_points, entry.transaction.public_id) == (-10, 0, txn["id"])


def test_a_full_refund_takes_back_exactly_the_points(api, member_with_points):
    member = member_with_points(5)
    txn = api.post("/api/v1/transactions", purchase(member, total="99.99")).json()

    r = refund(api, txn["id"], "rf-1", "99.99")

    assert (r.status_code, r.json()["points_clawed_back"]) == (201, 99)
    assert balance(member) == (5, 0, 0)


def test_pending_points_are_cancelled_before_available_ones_are_taken(api, member_with_points, program_set):
    program_set(pending_days=14)
    member = member_with_points(100)
    txn = api.post("/api/v1/transactions", purchase(member, total="50.00")).json()
    assert balance(member) == (100, 50, 0)

    first = refund(api, txn["id"], "rf-1", "20.00")
    second = refund(api, txn["id"], "rf-2", "30.00")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["points_clawed_back"] == 20
    assert first.json()["balance"] == {"available": 100, "pending": 30, "held": 0}
    assert second.json()["points_clawed_back"] == 30
    assert second.json()["balance"] == {"available": 100, "pending": 0, "held": 0}
    clawbacks = LedgerEntry.objects.filter(kind="clawback").order_by("pk")
    assert [(e.points, e.pending_points) for e in clawbacks] == [(0, -20), (0, -30)]


def test_with_allow_negative_balance_a_claw_back_takes_the_balance_below_zero(api, member, now):
    txn = api.post("/api/v1/transactions", purchase(member, total="40.00")).json()
    points_debit(member=member, points=30, now=now)  # spent meanwhile
    assert balance(member) == (10, 0, 0)

    r = refund(api, txn["id"], "rf-1", "40.00")

    assert r.status_code == 201, r.content
    assert (r.json()["points_clawed_back"], r.json()["points_forgiven"]) == (40, 0)
    assert r.json()["balance"] == {"available": -30, "pending": 0, "held": 0}
    assert balance(member) == (-30, 0, 0)


def test_without_allow_negative_balance_the_shortfall_is_forgiven_once(api, member, program_set, now):
    program_set(allow_negative_balance=False)
    txn = api.post("/api/v1/transactions", purchase(member, total="40.00")).json()
    points_debit(member=member, points=30, now=now)

    # When half is refunded: 20 are due, 10 can be taken
    first = refund(api, txn["id"], "rf-1", "20.00")

    assert first.status_code == 201, first.content
    assert (first.json()["points_clawed_back"], first.json()["points_forgiven"]) == (10, 10)
    assert first.json()["balance"] == {"available": 0, "pending": 0, "held": 0}

    # When the member has earned again and the rest is refunded: only the rest's 20 are due
    assert api.post("/api/v1/transactions", purchase(member, external_id="o-2", total="100.00")).status_code == 201
    second = refund(api, txn["id"], "rf-2", "20.00")

    assert (second.json()["points_clawed_back"], second.json()["points_forgiven"]) == (20, 0)
    assert second.json()["balance"] == {"available": 80, "pending": 0, "held": 0}
    detail = api.get(f"/api/v1/transactions/{txn['id']}").json()
    assert (detail["points_clawed_back"], detail["points_forgiven"], detail["refunded_amount"]) == (30, 10, "40.00")


def test_refunds_beyond_the_total_are_422_and_write_nothing(api, member_with_points):
    member = member_with_points(100)
    txn = api.post("/api/v1/transactions", purchase(member, total="25.00")).json()
    assert refund(api, txn["id"], "rf-1", "20.00").status_code == 201
    before = db_state()

    r = refund(api, txn["id"], "rf-2", "5.01")

    assert r.status_code == 422
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == (
        "business_rule",
        "refund_exceeds_remaining",
        "amount",
    )
    assert db_state() == before and balance(member) == (105, 0, 0)
    last = refund(api, txn["id"], "rf-3", "5.00")
    assert (last.status_code, last.json()["points_clawed_back"], balance(member)) == (201, 5, (100, 0, 0))
    assert refund(api, txn["id"], "rf-4", "0.01").status_code == 422


def test_the_refund_exceeds_remaining_message_states_money_in_the_currencys_minor_units(api, member):
    """docs/API.md: money is a decimal string with the currency's minor units; the message an operator reads
    should say 5.00 EUR, not the storage column's 5.0000."""
    txn = api.post("/api/v1/transactions", purchase(member, total="25.00")).json()
    assert refund(api, txn["id"], "rf-1", "20.00").status_code == 201

    r = refund(api, txn["id"], "rf-2", "5.01")

    assert (r.status_code, error(r)["message"]) == (422, "Only 5.00 of 25.00 is left to refund.")


def test_the_same_refund_again_is_200_with_the_original_and_claws_back_once(api, member_with_points):
    member = member_with_points(100)
    txn = api.post("/api/v1/transactions", purchase(member, total="40.00")).json()
    first = refund(api, txn["id"], "rf-1", "10.00")

    again = refund(api, txn["id"], "rf-1", "10.00")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Refund.objects.count() == 1 and balance(member) == (130, 0, 0)
    assert Transaction.objects.get().refunded_amount == 10


def test_the_same_refund_external_id_with_another_amount_or_transaction_is_409(api, member_with_points):
    member = member_with_points(100)
    txn = api.post("/api/v1/transactions", purchase(member, total="40.00")).json()
    other = api.post("/api/v1/transactions", purchase(member, external_id="o-2", total="40.00")).json()
    assert refund(api, txn["id"], "rf-1", "10.00").status_code == 201
    before = db_state()

    other_amount = refund(api, txn["id"], "rf-1", "11.00")
    other_txn = refund(api, other["id"], "rf-1", "10.00")

    for r in (other_amount, other_txn):
        assert r.status_code == 409
        assert error(r) == {
            "type": "conflict",
            "code": "idempotency_conflict",
            "message": "A different refund was already recorded with this external_id.",
            "param": "external_id",
        }
    assert db_state() == before


def test_another_shop_cannot_refund_a_transaction(api, other_api, member_with_points):
    member = member_with_points(100)
    txn = api.post("/api/v1/transactions", purchase(member, total="40.00")).json()
    before = db_state()

    r = refund(other_api, txn["id"], "rf-1", "40.00")

    assert r.status_code == 404
    assert error(r) == {
        "type": "not_found",
        "code": "transaction_not_found",
        "message": "No such transaction.",
        "param": "id",
    }
    assert db_state() == before and balance(member) == (140, 0, 0)


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"external_id": "rf", "amount": "0.00"}, "amount_out_of_range", "amount"),
        ({"external_id": "rf", "amount": "-1.00"}, "amount_out_of_range", "amount"),
        ({"external_id": "rf", "amount": "10000000.01"}, "amount_out_of_range", "amount"),
        ({"external_id": "rf", "amount": "1.001"}, "too_many_decimals", "amount"),
        ({"external_id": "rf", "amount": "ten"}, "invalid_field", "amount"),
        ({"amount": "1.00"}, "missing_field", "external_id"),
        ({"external_id": "rf"}, "missing_field", "amount"),
    ],
)
def test_invalid_refunds_are_400_and_write_nothing(api, member, body, code, param):
    txn = api.post("/api/v1/transactions", purchase(member, total="40.00")).json()
    before = db_state()

    r = api.post(f"/api/v1/transactions/{txn['id']}/refunds", body)

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", code, param)
    assert db_state() == before


def test_a_refund_of_an_unknown_transaction_is_404(api, program):
    r = refund(api, "txn_nothing", "rf-1", "1.00")

    assert r.status_code == 404 and error(r)["code"] == "transaction_not_found"
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("amount", "refused"), [("0", True), ("0.00", True), ("000.000", True), ("0.01", False), ("10", False)]
)
def test_the_schema_refuses_the_refund_amounts_the_server_refuses(api, member_with_points, amount, refused):
    """A refund is above 0: the schema's pattern said 0 was fine (schemathesis' positive-data check: `"amount":
    "0"` answered 400 `amount_out_of_range`), so a client validating against the schema learnt it too late."""
    txn = api.post("/api/v1/transactions", purchase(member_with_points(0), total="20.00")).json()["id"]
    schema = json.loads(Client(HTTP_HOST="127.0.0.1").get("/api/schema/", {"format": "json"}, secure=True).content)
    pattern = schema["components"]["schemas"]["RefundInRequest"]["properties"]["amount"]["pattern"]
    before = db_state()

    r = refund(api, txn, f"r-{amount}", amount)

    assert (re.search(pattern, amount) is None) is refused
    if refused:
        assert r.status_code == 400 and error(r)["code"] == "amount_out_of_range"
        assert db_state() == before
    else:
        assert r.status_code == 201


# --- refund_create checks its own input, whatever the caller parsed --------------------------------------


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-1.00"), 5, "5.00"])
def test_a_refund_of_no_money_or_not_a_decimal_is_refused_and_writes_nothing(shop, member, now, amount):
    txn = transaction_create(
        shop=shop, member=member, external_id="o-1", currency="EUR", total=Decimal("20.00"), occurred_at=None,
        lines=None, fingerprint="f", now=now,
    ).transaction  # fmt: skip

    with pytest.raises(InvalidRequest) as refused:
        refund_create(shop=shop, txn=txn, external_id="r-1", amount=amount, fingerprint="g", now=now)

    assert (refused.value.code, refused.value.param) == ("amount_out_of_range", "amount")
    assert not Refund.objects.exists() and balance(member) == (20, 0, 0)
