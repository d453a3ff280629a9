import datetime as dt

from django.test import override_settings

from loyalty.idempotency.jobs import idempotency_keys_purge
from loyalty.idempotency.models import IdempotentRequest
from loyalty.idempotency.tasks import purge_idempotency_keys_task as purge_idempotency_keys
from tests.support.api import purchase


def stored_keys() -> list[str]:
    return sorted(IdempotentRequest.objects.values_list("key", flat=True))


def test_stored_responses_are_kept_a_day_and_purged_after_the_retention(api, member, now):
    api.post("/api/v1/transactions", purchase(member, external_id="o-1"), idempotency_key="old")
    api.post("/api/v1/transactions", purchase(member, external_id="o-2"), idempotency_key="fresh")
    IdempotentRequest.objects.filter(key="old").update(created_at=now - dt.timedelta(hours=49))
    IdempotentRequest.objects.filter(key="fresh").update(created_at=now - dt.timedelta(hours=47))

    with override_settings(IDEMPOTENCY_KEY_TTL_HOURS=48):
        assert idempotency_keys_purge(now=now) == 1

    assert stored_keys() == ["fresh"]


def test_a_purged_key_runs_again_as_a_new_request(api, member, now):
    first = api.post("/api/v1/transactions", purchase(member, external_id="o-1"), idempotency_key="k")
    IdempotentRequest.objects.update(created_at=now - dt.timedelta(days=3))
    idempotency_keys_purge(now=now)

    again = api.post("/api/v1/transactions", purchase(member, external_id="o-1"), idempotency_key="k")

    # Not a key replay any more, but external_id still makes it idempotent: the original, once.
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] == first.json()["id"]


def test_the_task_reports_what_it_deleted(db):
    assert purge_idempotency_keys() == "purge_idempotency_keys: 0 stored responses deleted"
    assert stored_keys() == []
