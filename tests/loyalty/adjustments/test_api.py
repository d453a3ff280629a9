"""POST /api/v1/members/{id}/adjustments: the adjustment service through a shop's key with `points:adjust`."""

import pytest

from loyalty.adjustments.models import Adjustment
from loyalty.ledger.models import LedgerEntry
from loyalty.shops.models import ApiKey
from tests.support.api import balance
from tests.support.state import db_state


@pytest.fixture
def adjuster(api_for, shop):
    return api_for(shop, ["points:adjust"])


def path(member) -> str:
    return f"/api/v1/members/{member.public_id}/adjustments"


def body(**fields) -> dict:
    return {"points": 250, "reason": "goodwill", "note": "late parcel", "external_id": "adj-1", **fields}


def error(response) -> dict:
    return response.json()["error"]


def test_a_credit_answers_201_with_the_posted_adjustment_and_the_balance(adjuster, member):
    r = adjuster.post(path(member), body())

    assert r.status_code == 201, r.content
    adjustment = Adjustment.objects.get()
    entry = LedgerEntry.objects.get()
    assert r.json() == {
        "id": adjustment.public_id, "external_id": "adj-1", "member": member.public_id, "points": 250,
        "reason": "goodwill", "note": "late parcel", "status": "posted", "entry": entry.public_id,
        "requested_by": "shop:shop-a", "created_at": r.json()["created_at"],
        "balance": {"available": 250, "pending": 0, "held": 0},
    }  # fmt: skip
    assert (entry.kind, entry.points, entry.actor, entry.shop_id) == ("adjust", 250, "shop:shop-a", adjuster.shop.pk)


def test_a_debit_takes_points(adjuster, member_with_points):
    member = member_with_points(1000)

    r = adjuster.post(path(member), body(points=-300, reason="correction"))

    assert (r.status_code, r.json()["status"], r.json()["balance"]["available"]) == (201, "posted", 700)


def test_a_debit_below_zero_answers_422_and_writes_nothing(adjuster, member_with_points):
    member = member_with_points(100)
    before = db_state()

    r = adjuster.post(path(member), body(points=-101))

    assert r.status_code == 422
    assert error(r)["code"] == "insufficient_points"
    assert error(r)["message"] == "The member has 100 points available; 101 were requested."
    assert db_state() == before


def test_above_the_limit_it_answers_201_pending_approval_without_an_entry(adjuster, member):
    r = adjuster.post(path(member), body(points=5001))

    assert r.status_code == 201
    assert (r.json()["status"], r.json()["entry"], r.json()["balance"]["available"]) == ("pending_approval", None, 0)
    assert not LedgerEntry.objects.exists()


def test_the_same_request_again_answers_200_with_the_original(adjuster, member):
    first = adjuster.post(path(member), body())
    again = adjuster.post(path(member), body())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert LedgerEntry.objects.count() == 1 and balance(member) == (250, 0, 0)


def test_a_different_request_with_the_same_external_id_answers_409(adjuster, member):
    adjuster.post(path(member), body())

    r = adjuster.post(path(member), body(points=251))

    assert r.status_code == 409
    assert (error(r)["code"], error(r)["param"]) == ("idempotency_conflict", "external_id")
    assert balance(member) == (250, 0, 0)


def test_an_unknown_member_answers_404(adjuster, program):
    r = adjuster.post("/api/v1/members/mem_nobody/adjustments", body())

    assert (r.status_code, error(r)["code"]) == (404, "member_not_found")


def test_a_key_without_the_scope_answers_403(api, member):
    r = api.post(path(member), body())

    assert (r.status_code, error(r)["code"]) == (403, "missing_scope")
    assert not Adjustment.objects.exists()


def test_a_key_made_without_scopes_lacks_points_adjust(api):
    key = ApiKey.objects.get(shop=api.shop)

    assert "points:adjust" not in key.scopes
    assert set(key.scopes) == set(ApiKey.SCOPES) - {"points:adjust"}


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [
        ({"points": 0}, "invalid_points", "points"),
        ({"points": 1_000_000_001}, "points_out_of_range", "points"),
        ({"points": -1_000_000_001}, "points_out_of_range", "points"),
        ({"points": "5"}, "invalid_field", "points"),
        ({"reason": "bored"}, "invalid_field", "reason"),
        ({"note": "   "}, "missing_field", "note"),
        ({"note": "x" * 501}, "note_out_of_range", "note"),
        ({"external_id": None}, "missing_field", "external_id"),
    ],
)
def test_invalid_bodies_answer_400_and_write_nothing(adjuster, member, fields, code, param):
    before = db_state()

    r = adjuster.post(path(member), body(**fields))

    assert r.status_code == 400, r.content
    assert (error(r)["code"], error(r)["param"]) == (code, param)
    assert db_state() == before
