"""docs/API.md, Points as payment: holds, captures and voids."""

import datetime as dt

import pytest
from django.utils import timezone

from loyalty.holds.models import Hold
from loyalty.ledger.models import LedgerEntry
from members.services import member_set_status
from tests.support.api import balance
from tests.support.state import db_state


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def error(r) -> dict:
    return r.json()["error"]


def hold(api, member, points: int, external_id: str = "pay-1", **headers):
    return api.post(
        "/api/v1/holds", {"member": member.public_id, "points": points, "external_id": external_id}, **headers
    )


def entries(api, member) -> list[tuple]:
    r = api.get(f"/api/v1/members/{member.public_id}/entries")
    assert r.status_code == 200, r.content
    return [(e["kind"], e["points"], e["held_points"], e["balance_after"]) for e in r.json()["results"]]


@pytest.fixture
def rich(member_with_points):
    return member_with_points(1000)


@pytest.fixture
def held(api, rich) -> dict:
    """250 of the member's 1000 points held by shop A."""
    r = hold(api, rich, 250)
    assert r.status_code == 201, r.content
    return r.json()


def test_a_hold_is_201_and_takes_the_points_out_of_available_at_once(api, rich):
    r = hold(api, rich, 250)

    assert r.status_code == 201, r.content
    stored = Hold.objects.get()
    assert r.json() == {
        "id": stored.public_id,
        "external_id": "pay-1",
        "member": rich.public_id,
        "status": "held",
        "points": 250,
        "value": "2.50",
        "currency": "EUR",
        "held_points": 250,
        "captured_points": 0,
        "released_points": 0,
        "expires_at": iso(stored.expires_at),
        "balance": {"available": 750, "pending": 0, "held": 250},
    }
    assert stored.expires_at - stored.created_at == dt.timedelta(minutes=15)  # hold_ttl_minutes
    assert balance(rich) == (750, 0, 250)
    assert api.get(f"/api/v1/members/{rich.public_id}").json()["balance"] == {
        "available": 750,
        "pending": 0,
        "held": 250,
    }
    assert entries(api, rich)[0] == ("hold", -250, 250, 750)


@pytest.mark.parametrize(
    ("points", "point_value", "value"), [(250, "0.01", "2.50"), (7, "0.25", "1.75"), (1, "1", "1.00")]
)
def test_the_value_of_a_hold_is_points_times_point_value(api, rich, program_set, points, point_value, value):
    program_set(point_value=point_value)

    r = hold(api, rich, points)

    assert (r.status_code, r.json()["value"], r.json()["currency"]) == (201, value, "EUR")


def test_a_hold_beyond_the_available_balance_is_422_insufficient_points_and_writes_nothing(api, rich, held):
    before = db_state()

    r = hold(api, rich, 751, external_id="pay-2")

    assert r.status_code == 422
    assert error(r) == {
        "type": "business_rule",
        "code": "insufficient_points",
        "message": "The member has 750 points available; 751 were requested.",
        "param": "points",
    }
    assert db_state() == before and balance(rich) == (750, 0, 250)
    assert hold(api, rich, 750, external_id="pay-3").status_code == 201


def test_a_hold_for_an_inactive_member_is_422_member_inactive(api, rich):
    member_set_status(member=rich, status="suspended")
    before = db_state()

    r = hold(api, rich, 10)

    assert r.status_code == 422
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("business_rule", "member_inactive", "member")
    assert db_state() == before


def test_a_hold_for_an_unknown_member_is_404(api, program):
    r = api.post("/api/v1/holds", {"member": "mem_nobody", "points": 1, "external_id": "x"})

    assert r.status_code == 404
    assert error(r) == {
        "type": "not_found",
        "code": "member_not_found",
        "message": "No such member.",
        "param": "member",
    }
    assert not Hold.objects.exists()


@pytest.mark.parametrize(
    ("points", "code"), [(0, "points_out_of_range"), (-5, "points_out_of_range"), ("ten", "invalid_field")]
)
def test_a_hold_of_invalid_points_is_400(api, rich, points, code):
    before = db_state()

    r = api.post("/api/v1/holds", {"member": rich.public_id, "points": points, "external_id": "x"})

    assert r.status_code == 400
    assert (error(r)["code"], error(r)["param"]) == (code, "points")
    assert db_state() == before


def test_capturing_everything_spends_the_held_points(api, rich, held):
    r = api.post(f"/api/v1/holds/{held['id']}/capture", {})

    assert r.status_code == 200, r.content
    captured = {"status": "captured", "captured_points": 250, "balance": {"available": 750, "pending": 0, "held": 0}}
    # everything captured: points and value are the held ones, nothing released
    assert r.json() == {**held, **captured}
    assert balance(rich) == (750, 0, 0)
    assert entries(api, rich)[:2] == [("capture", 0, -250, 750), ("hold", -250, 250, 750)]
    assert Hold.objects.get().resolved_at is not None


def test_a_partial_capture_releases_the_rest(api, rich, held):
    r = api.post(f"/api/v1/holds/{held['id']}/capture", {"points": 100})

    assert r.status_code == 200, r.content
    # points and value are what was captured (spent), not the 250 held
    assert r.json() == {
        **held,
        "status": "captured",
        "points": 100,
        "value": "1.00",
        "held_points": 250,
        "captured_points": 100,
        "released_points": 150,
        "balance": {"available": 900, "pending": 0, "held": 0},
    }
    assert api.get(f"/api/v1/holds/{held['id']}").json() == r.json()
    assert r.json()["balance"] == {"available": 900, "pending": 0, "held": 0}
    assert balance(rich) == (900, 0, 0)
    assert entries(api, rich) == [
        ("release", 150, -150, 900),
        ("capture", 0, -100, 750),
        ("hold", -250, 250, 750),
        ("earn", 1000, 0, 1000),
    ]


def test_voiding_gives_every_held_point_back(api, rich, held):
    r = api.post(f"/api/v1/holds/{held['id']}/void")

    assert r.status_code == 200, r.content
    assert r.json() == {
        **held,
        "status": "voided",
        "released_points": 250,
        "balance": {"available": 1000, "pending": 0, "held": 0},
    }
    assert balance(rich) == (1000, 0, 0)
    assert entries(api, rich)[:2] == [("release", 250, -250, 1000), ("hold", -250, 250, 750)]


@pytest.mark.parametrize("first", ["capture", "void"])
@pytest.mark.parametrize("then", ["capture", "void"])
def test_a_resolved_hold_cannot_be_captured_or_voided_again(api, rich, held, first, then):
    assert api.post(f"/api/v1/holds/{held['id']}/{first}", {}).status_code == 200
    before = db_state()

    r = api.post(f"/api/v1/holds/{held['id']}/{then}", {})

    assert r.status_code == 422
    status = {"capture": "captured", "void": "voided"}[first]
    assert error(r) == {
        "type": "business_rule",
        "code": "hold_not_active",
        "message": f"The hold is {status}.",
        "param": "hold",
    }
    assert db_state() == before


@pytest.mark.parametrize(("points", "code"), [(251, "invalid_points"), (0, "points_out_of_range")])
def test_capturing_more_than_held_or_nothing_is_400_and_writes_nothing(api, rich, held, points, code):
    before = db_state()

    r = api.post(f"/api/v1/holds/{held['id']}/capture", {"points": points})

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", code, "points")
    assert db_state() == before and Hold.objects.get().status == "held" and balance(rich) == (750, 0, 250)


@pytest.mark.parametrize("action", ["capture", "void"])
def test_a_hold_past_expires_at_is_422_hold_not_active(api, rich, held, action):
    Hold.objects.filter(public_id=held["id"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    before = db_state()

    r = api.post(f"/api/v1/holds/{held['id']}/{action}", {})

    assert r.status_code == 422
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("business_rule", "hold_not_active", "hold")
    assert db_state() == before and balance(rich) == (750, 0, 250)


@pytest.mark.parametrize("action", ["capture", "void"])
def test_another_shop_cannot_capture_or_void_a_hold(other_api, rich, held, action):
    before = db_state()

    r = other_api.post(f"/api/v1/holds/{held['id']}/{action}", {})

    assert r.status_code == 404
    assert error(r) == {"type": "not_found", "code": "hold_not_found", "message": "No such hold.", "param": "id"}
    assert db_state() == before and Hold.objects.get().status == "held"


def test_the_hold_detail_is_the_calling_shops_only(api, other_api, rich, held):
    own = api.get(f"/api/v1/holds/{held['id']}")
    theirs = other_api.get(f"/api/v1/holds/{held['id']}")

    assert (own.status_code, own.json()) == (200, held)
    assert (theirs.status_code, error(theirs)["code"]) == (404, "hold_not_found")
    assert api.get("/api/v1/holds/hld_nothing").status_code == 404


@pytest.mark.parametrize("action", ["capture", "void"])
def test_an_unknown_hold_is_404(api, program, action):
    r = api.post(f"/api/v1/holds/hld_nothing/{action}", {})

    assert r.status_code == 404 and error(r)["code"] == "hold_not_found"


def test_the_same_hold_again_is_200_with_the_original_and_holds_once(api, rich, held):
    again = hold(api, rich, 250)

    assert again.status_code == 200
    assert again.json() == held
    assert Hold.objects.count() == 1 and balance(rich) == (750, 0, 250)
    assert LedgerEntry.objects.filter(kind="hold").count() == 1


def test_the_same_hold_external_id_with_other_points_is_409_and_writes_nothing(api, rich, held):
    before = db_state()

    r = hold(api, rich, 300)

    assert r.status_code == 409
    assert error(r) == {
        "type": "conflict",
        "code": "idempotency_conflict",
        "message": "A different hold was already recorded with this external_id.",
        "param": "external_id",
    }
    assert db_state() == before


def test_holds_add_up(api, rich):
    assert hold(api, rich, 600, external_id="a").status_code == 201
    assert hold(api, rich, 400, external_id="b").status_code == 201

    r = hold(api, rich, 1, external_id="c")

    assert (r.status_code, error(r)["code"]) == (422, "insufficient_points")
    assert balance(rich) == (0, 0, 1000)
