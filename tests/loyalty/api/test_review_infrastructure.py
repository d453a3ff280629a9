"""What the API's plumbing promises and nothing else tested: request transactions without savepoints,
the body limit, the database errors' answers, the API-key cache, the NUL guard and the schema hook."""

import io
import json

import pytest
from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loyalty.api.schema_hooks import IDEMPOTENCY_KEY, REPLAYED, idempotency_headers
from loyalty.db import in_request_transaction, request_transaction, service_atomic
from loyalty.earning import api as transactions_api
from loyalty.earning.models import Transaction
from loyalty.shops import services as shop_services
from loyalty.shops.models import ApiKey, Shop
from tests.support.api import balance, purchase
from tests.support.state import db_state


def error(r) -> dict:
    return r.json()["error"]


# --- loyalty.db ----------------------------------------------------------------------------------------


@service_atomic
def _write_then_fail(code: str) -> None:
    Shop.objects.create(code=code, name=code)
    raise ValueError("after writing")


def _savepoints(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].upper().startswith("SAVEPOINT")]


@pytest.mark.django_db
def test_a_service_outside_a_request_opens_a_savepoint_that_undoes_only_its_own_writes():
    with transaction.atomic():
        Shop.objects.create(code="kept", name="kept")
        with CaptureQueriesContext(connection) as queries, pytest.raises(ValueError):
            _write_then_fail("undone")

        assert len(_savepoints(queries.captured_queries)) == 1
        assert not connection.needs_rollback  # the caller's transaction goes on
        assert set(Shop.objects.values_list("code", flat=True)) == {"kept"}


@pytest.mark.django_db
def test_a_service_inside_a_request_transaction_opens_no_savepoint_and_the_request_must_roll_back():
    assert not in_request_transaction()
    with pytest.raises(ValueError), request_transaction():
        assert in_request_transaction()
        with CaptureQueriesContext(connection) as queries:
            try:
                _write_then_fail("inside")
            except ValueError:
                assert _savepoints(queries.captured_queries) == []
                assert connection.needs_rollback  # no savepoint: only the whole request can roll back
                raise

    assert not in_request_transaction()  # reset even when the request failed
    assert not Shop.objects.filter(code="inside").exists()


# --- config.middleware: bodies over 256 KiB ---------------------------------------------------------------


def _big_body(member) -> bytes:
    return json.dumps({**purchase(member), "metadata": {"pad": "x" * (256 * 1024)}}).encode()


def test_a_body_over_256_kib_without_a_content_length_is_400_body_too_large(api, member):
    """A chunked body says no length; docs/API.md (and ApiBodyLimitMiddleware) refuse it all the same."""
    body = _big_body(member)
    before = db_state()

    r = api.client.generic(
        "POST", "/api/v1/transactions", b"", content_type="application/json", secure=True,
        CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": io.BytesIO(body)},
    )  # fmt: skip

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"]) == ("invalid_request", "body_too_large")
    assert db_state() == before


def test_a_body_over_256_kib_with_a_content_length_is_refused_before_any_view_runs(api, member, monkeypatch):
    monkeypatch.setattr(transactions_api, "transaction_create", lambda **kw: pytest.fail("the view ran"))

    r = api.post("/api/v1/transactions", raw=_big_body(member).decode())

    assert r.status_code == 400 and error(r)["code"] == "body_too_large"


def test_the_body_limit_is_the_api_s_only(db):
    """Outside /api/ the middleware leaves the request to Django (here: a 404, not the API's 400)."""
    r = Client(HTTP_HOST="127.0.0.1").post("/not-api/", "x" * (256 * 1024 + 1), content_type="text/plain", secure=True)

    assert r.status_code == 404 and b"body_too_large" not in r.content


# --- config.api_errors: database errors after a service wrote ---------------------------------------------


def _after_writing(exc: Exception):
    real = transactions_api.transaction_create

    def failing(**kwargs):
        real(**kwargs)
        raise exc

    return failing


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            DataError("value too long for type character varying(64)"),
            400,
            {"type": "invalid_request", "code": "invalid_value", "message": "A value in the request cannot be used."},
        ),
        (
            IntegrityError("duplicate key value violates unique constraint"),
            409,
            {
                "type": "conflict",
                "code": "concurrent_conflict",
                "message": "A concurrent request changed this first; nothing was written. Retry to see the outcome.",
            },
        ),
    ],
    ids=["DataError", "IntegrityError"],
)
def test_a_database_error_after_a_service_wrote_has_its_answer_and_nothing_stays_written(
    api, member, monkeypatch, exc, status, body
):
    monkeypatch.setattr(transactions_api, "transaction_create", _after_writing(exc))
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member))

    assert r.status_code == status
    assert r.json() == {"error": {**body, "param": None}}
    assert db_state() == before and not Transaction.objects.exists() and balance(member) == (0, 0, 0)


# --- loyalty.shops.services: the API-key cache -----------------------------------------------------------


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.at = start

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(shop_services.time, "monotonic", clock)
    return clock


def _key_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/transactions").status_code == 200
    return sum(ApiKey._meta.db_table in q["sql"] and "SELECT" in q["sql"].upper() for q in queries.captured_queries)


def test_a_verified_key_is_not_read_again_within_the_ttl_and_is_after_it(api, clock):
    assert _key_queries(api) == 1
    clock.at += settings.API_KEY_CACHE_SECONDS - 0.01
    assert _key_queries(api) == 0
    clock.at += 0.02
    assert _key_queries(api) == 1


def test_a_shop_deactivated_after_its_key_was_cached_is_refused_once_the_ttl_passed(api, clock):
    assert api.get("/api/v1/transactions").status_code == 200
    Shop.objects.filter(pk=api.shop.pk).update(active=False)

    clock.at += settings.API_KEY_CACHE_SECONDS + 0.01
    r = api.get("/api/v1/transactions")

    assert r.status_code == 401 and error(r)["code"] == "invalid_api_key"


def test_a_key_revoked_elsewhere_stops_working_once_the_ttl_passed(api, clock):
    assert api.get("/api/v1/transactions").status_code == 200
    ApiKey.objects.filter(shop=api.shop).update(revoked_at="2026-01-01T00:00:00Z")  # another process revoked

    clock.at += settings.API_KEY_CACHE_SECONDS + 0.01
    r = api.get("/api/v1/transactions")

    assert r.status_code == 401 and error(r)["code"] == "invalid_api_key"


def test_revoking_one_key_does_not_let_a_cached_revoked_key_through(api_for, shop, clock):
    """api_key_revoke clears the whole cache, so a revocation in this process applies at once."""
    first, second = api_for(shop), api_for(shop)
    assert first.get("/api/v1/transactions").status_code == 200
    assert second.get("/api/v1/transactions").status_code == 200

    shop_services.api_key_revoke(
        key=ApiKey.objects.get(key_hash=shop_services.key_hash(first.key)), now="2026-01-01T00:00:00Z"
    )

    assert first.get("/api/v1/transactions").status_code == 401
    assert second.get("/api/v1/transactions").status_code == 200


# --- loyalty.api.base: NUL bytes ----------------------------------------------------------------------------


def test_a_query_parameter_with_a_nul_byte_is_400_naming_it(api, member):
    r = api.get("/api/v1/transactions", {"member": "mem_a\x00b"})

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "invalid_field", "member")


def test_a_path_id_with_a_nul_byte_is_404(api, member):
    r = api.get("/api/v1/members/mem_a%00b")

    assert r.status_code == 404 and error(r)["code"] == "not_found"


# --- loyalty.api.schema_hooks ---------------------------------------------------------------------------


def test_the_schema_hook_adds_the_idempotency_key_409_400_and_replay_header_to_posts_only():
    result = {
        "paths": {
            "/a": {
                "post": {"responses": {"201": {"description": "made"}, "400": {"description": "own"}}},
                "get": {"responses": {"200": {"description": "read"}}},
            },
            "/b": {"get": {"responses": {"200": {}}}},
        }
    }

    out = idempotency_headers(result, None, None, True)

    post = out["paths"]["/a"]["post"]
    assert post["parameters"] == [IDEMPOTENCY_KEY]
    assert post["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    assert post["responses"]["400"] == {"description": "own"}  # an operation's own 400 is kept
    assert post["responses"]["201"]["headers"] == REPLAYED
    assert "headers" not in post["responses"]["400"] and "headers" not in post["responses"]["409"]
    assert out["paths"]["/a"]["get"] == {"responses": {"200": {"description": "read"}}}
    assert out["paths"]["/b"] == {"get": {"responses": {"200": {}}}}


def test_the_served_schema_documents_idempotency_on_every_post(api):
    r = Client(HTTP_HOST="127.0.0.1").get("/api/schema/", {"format": "json"}, secure=True)

    assert r.status_code == 200
    schema = json.loads(r.content)
    posts = [(path, item["post"]) for path, item in schema["paths"].items() if "post" in item]
    assert posts
    for path, operation in posts:
        names = [p.get("name") for p in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, path
        if operation["operationId"] == "members_lookup_private":  # a read by POST: the key is accepted, ignored
            continue
        assert "409" in operation["responses"], path


def test_a_small_chunked_body_is_read_not_taken_for_empty(api, member):
    body = json.dumps(purchase(member, external_id="chunked-1")).encode()

    r = api.client.generic(
        "POST", "/api/v1/transactions", b"", content_type="application/json", secure=True,
        CONTENT_TYPE="application/json", CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )  # fmt: skip

    assert r.status_code == 201, r.content
    assert r.json()["external_id"] == "chunked-1" and r.json()["points"] == 25
