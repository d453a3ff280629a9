"""`POST /api/v1/members/{id}/erase`: the erased member, the API's error shape, and nothing written on a refusal."""

from django.utils import timezone

from loyalty.holds.models import Hold
from loyalty.idempotency.models import IdempotentRequest
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from members.models import Member
from tests.support.api import balance
from tests.support.state import db_state


def erase(api, member_id: str, **headers):
    return api.post(f"/api/v1/members/{member_id}/erase", **headers)


def test_erase_answers_the_erased_member(api, member):
    points_credit(member=member, points=100, now=timezone.now())

    r = erase(api, member.public_id)

    assert r.status_code == 200, r.content
    body = r.json()
    assert body["id"] == member.public_id and body["status"] == "closed"
    assert (body["first_name"], body["last_name"], body["phone"], body["birth_date"]) == ("", "", "", None)
    assert body["email"] == f"erased-{member.public_id}@erased.invalid"
    assert body["card_number"] == f"erased-{member.pk}"
    assert body["balance"] == {"available": 100, "pending": 0, "held": 0}
    assert Member.objects.get(pk=member.pk).erased_by == "shop:shop-a"


def test_erasing_again_answers_the_same_member(api, member):
    first = erase(api, member.public_id).json()

    again = erase(api, member.public_id)

    assert again.status_code == 200 and again.json() == first


def test_unknown_member_is_404_in_the_api_shape_and_writes_nothing(api, member):
    before = db_state()

    r = erase(api, "mem_nobody")

    assert r.status_code == 404
    assert r.json() == {"error": {"type": "not_found", "code": "member_not_found", "message": "No such member.",
                                  "param": "member"}}  # fmt: skip
    assert db_state() == before


def test_a_key_without_members_write_is_403_and_writes_nothing(api_for, shop, member):
    reader = api_for(shop, scopes=["members:read"])
    before = db_state()

    r = erase(reader, member.public_id)

    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_scope"
    assert db_state() == before and Member.objects.get(pk=member.pk).erased_at is None


def test_no_key_is_401_and_writes_nothing(api, member):
    before = db_state()

    r = api.client.post(f"/api/v1/members/{member.public_id}/erase", secure=True, HTTP_AUTHORIZATION="")

    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert db_state() == before


def test_idempotency_key_replays_the_answer(api, member):
    first = erase(api, member.public_id, idempotency_key="erase-1")

    replay = erase(api, member.public_id, idempotency_key="erase-1")

    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert IdempotentRequest.objects.get(key="erase-1").body["email"].endswith("@erased.invalid")


def test_a_held_member_is_released_through_the_api(api, member):
    points_credit(member=member, points=100, now=timezone.now())
    hold = api.post("/api/v1/holds", {"member": member.public_id, "points": 40, "external_id": "pay-1"}).json()

    assert erase(api, member.public_id).json()["balance"] == {"available": 100, "pending": 0, "held": 0}

    assert Hold.objects.get(public_id=hold["id"]).status == "voided" and balance(member) == (100, 0, 0)
    assert LedgerEntry.objects.filter(kind="release", actor="shop:shop-a").count() == 1


def test_the_endpoint_is_in_the_schema(api):
    schema = api.client.get("/api/schema/", {"format": "json"}, secure=True).json()

    operation = schema["paths"]["/api/v1/members/{member_id}/erase"]["post"]
    assert operation["operationId"] == "members_erase"
    assert {"200", "401", "403", "404"} <= operation["responses"].keys()
