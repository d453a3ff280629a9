"""docs/API.md, Conventions: keys and scopes, the error shape for every status, bounds, Idempotency-Key,
pagination, throttling, and what a database failure looks like."""

import datetime as dt
import json
import re
from decimal import Decimal

import jsonschema_rs
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from loyalty.api import base as api_base
from loyalty.api.idempotency import KEY_PATTERN
from loyalty.earning import api as transactions_api
from loyalty.earning.models import Transaction
from loyalty.holds.models import Hold
from loyalty.idempotency.jobs import idempotency_keys_purge
from loyalty.idempotency.models import IdempotentRequest
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_revoke
from members.models import Member
from members.services import PHONE_INPUT_PATTERN
from tests.support.api import Api, balance, line, purchase
from tests.support.state import db_state

AUTH_MISSING = {
    "type": "authentication_error",
    "code": "invalid_api_key",
    "message": "Send `Authorization: Bearer <key>`.",
    "param": None,
}
AUTH_REFUSED = {**AUTH_MISSING, "message": "Unknown or revoked API key."}


def error(r) -> dict:
    return r.json()["error"]


def api_key_of(api: Api) -> ApiKey:
    return ApiKey.objects.get(prefix=api.key.split("_")[1])


# --- 401 ---------------------------------------------------------------------------------------------


def test_a_request_without_a_key_is_401(program):
    r = Client(HTTP_HOST="127.0.0.1").get("/api/v1/transactions", secure=True)

    assert r.status_code == 401
    assert r.json() == {"error": AUTH_MISSING}
    assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer lk_abcdefgh_" + "A" * 40,  # well formed, unknown
        "Bearer not-a-key",
        "Bearer",
        "Bearer two words",
    ],
)
def test_an_unknown_or_malformed_key_is_401(program, authorization):
    r = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=authorization).get("/api/v1/transactions", secure=True)

    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error" and r.json()["error"]["code"] == "invalid_api_key"


def test_another_auth_scheme_is_401(program):
    r = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz").get("/api/v1/transactions", secure=True)

    assert r.status_code == 401 and r.json() == {"error": AUTH_MISSING}


def test_a_revoked_key_is_401_and_writes_nothing(api, member):
    assert api.get("/api/v1/transactions").status_code == 200
    api_key_revoke(key=api_key_of(api), now=timezone.now())
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member), idempotency_key="k-1")

    assert r.status_code == 401
    assert r.json() == {"error": AUTH_REFUSED}
    assert db_state() == before and not Transaction.objects.exists()


def test_a_key_of_an_inactive_shop_is_401(api, member):
    Shop.objects.filter(pk=api.shop.pk).update(active=False)

    r = api.get(f"/api/v1/members/{member.public_id}")

    assert r.status_code == 401 and r.json() == {"error": AUTH_REFUSED}


# --- 403 ---------------------------------------------------------------------------------------------


def test_a_key_with_only_members_read_cannot_post_a_transaction_and_writes_nothing(api_for, shop, member):
    reader = api_for(shop, ["members:read"])
    before = db_state()

    r = reader.post("/api/v1/transactions", purchase(member), idempotency_key="k-1")

    assert r.status_code == 403
    assert r.json() == {
        "error": {
            "type": "permission_error",
            "code": "missing_scope",
            "message": "This API key lacks the `transactions:write` scope.",
            "param": None,
        }
    }
    assert db_state() == before and balance(member) == (0, 0, 0)
    assert reader.get(f"/api/v1/members/{member.public_id}").status_code == 200


ENDPOINTS = [
    ("post", "/api/v1/members", "members:write"),
    ("get", "/api/v1/members/lookup?email=nobody@example.com", "members:read"),
    ("get", "/api/v1/members/{member}", "members:read"),
    ("get", "/api/v1/members/{member}/entries", "members:read"),
    ("post", "/api/v1/transactions", "transactions:write"),
    ("get", "/api/v1/transactions", "transactions:write"),
    ("get", "/api/v1/transactions/txn_nothing", "transactions:write"),
    ("post", "/api/v1/transactions/preview", "transactions:write"),
    ("post", "/api/v1/transactions/txn_nothing/refunds", "transactions:write"),
    ("post", "/api/v1/holds", "points:redeem"),
    ("get", "/api/v1/holds/hld_nothing", "points:redeem"),
    ("post", "/api/v1/holds/hld_nothing/capture", "points:redeem"),
    ("post", "/api/v1/holds/hld_nothing/void", "points:redeem"),
    ("post", "/api/v1/members/{member}/adjustments", "points:adjust"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_every_endpoint_needs_its_scope(api_for, shop, member, method, path, scope):
    without = api_for(shop, [s for s in ApiKey.SCOPES if s != scope])
    only = api_for(shop, [scope])
    path = path.format(member=member.public_id)
    body = {"email": "new@example.com"} if path == "/api/v1/members" else {}
    before = db_state()

    refused = getattr(without, method)(path, body) if method == "post" else without.get(path)

    assert refused.status_code == 403
    assert error(refused) == {
        "type": "permission_error",
        "code": "missing_scope",
        "message": f"This API key lacks the `{scope}` scope.",
        "param": None,
    }
    assert db_state() == before
    allowed = getattr(only, method)(path, body) if method == "post" else only.get(path)
    assert allowed.status_code not in (401, 403), allowed.content


# --- 404, 405, 415 -----------------------------------------------------------------------------------


def test_the_api_base_make_run_prints_says_where_the_endpoints_are(api):
    """`make run` prints "API base: .../api/v1/"; a newcomer who opens it learns where to go."""
    r = api.get("/api/v1/")

    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "/api/docs/" in r.json()["error"]["message"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_endpoint_is_404_in_the_error_shape(api, method):
    r = getattr(api, method)("/api/v1/nothing-here")

    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "type": "not_found",
            "code": "not_found",
            "message": "No such endpoint; the endpoints are listed at /api/docs/.",
            "param": None,
        }
    }


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("put", "/api/v1/members", "POST, OPTIONS"),
        ("delete", "/api/v1/transactions/txn_x", "GET, HEAD, OPTIONS"),
        ("get", "/api/v1/holds/hld_x/capture", "POST, OPTIONS"),
        ("patch", "/api/v1/members/mem_x", "GET, HEAD, OPTIONS"),
    ],
)
def test_an_unsupported_method_is_405_with_allow(api, method, path, allow):
    before = db_state()

    r = api.client.generic(method.upper(), path, "{}", content_type="application/json", secure=True)

    assert r.status_code == 405
    assert r.json() == {
        "error": {
            "type": "invalid_request",
            "code": "method_not_allowed",
            "message": f'Method "{method.upper()}" not allowed.',
            "param": None,
        }
    }
    assert r.headers["Allow"] == allow
    assert db_state() == before


def test_a_body_that_is_not_json_is_415(api, member):
    before = db_state()

    r = api.client.post("/api/v1/transactions", "total=1", content_type="text/plain", secure=True)

    assert r.status_code == 415
    assert error(r) == {
        "type": "invalid_request",
        "code": "unsupported_media_type",
        "message": "Send JSON (application/json).",
        "param": None,
    }
    assert db_state() == before


# --- 400: validation and bounds ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ['{"member": ', "{'single': 'quotes'}", '{"total": NaN}x', "\xff"])
def test_malformed_json_is_400_malformed_json(api, member, raw):
    before = db_state()

    r = api.post("/api/v1/transactions", raw=raw)

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "malformed_json", None)
    assert error(r)["message"].startswith("The body is not valid JSON")
    assert db_state() == before


@pytest.mark.parametrize("missing", ["external_id", "currency", "total"])
def test_a_missing_field_is_400_missing_field_naming_it(api, member, missing):
    body = purchase(member)
    del body[missing]
    before = db_state()

    r = api.post("/api/v1/transactions", body)

    assert r.status_code == 400
    assert error(r) == {
        "type": "invalid_request",
        "code": "missing_field",
        "message": "This field is required.",
        "param": missing,
    }
    assert db_state() == before


def test_a_missing_line_field_names_its_path(api, member):
    r = api.post(
        "/api/v1/transactions", purchase(member, total="1.00", lines=[line("1.00"), {"sku": "x", "quantity": 1}])
    )

    assert r.status_code == 400
    assert (error(r)["code"], error(r)["param"]) == ("missing_field", "lines[1].unit_price")


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"total": "twelve"}, "total"),
        ({"total": [1]}, "total"),
        ({"total": True}, "total"),
        ({"currency": "eur"}, "currency"),
        ({"currency": 978}, "currency"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"member": {"id": 1}}, "member"),
        ({"lines": "two books"}, "lines"),
        ({"lines": [{"sku": "a", "quantity": "two", "unit_price": "1.00"}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "a", "quantity": 1.5, "unit_price": "1.00"}]}, "lines[0].quantity"),
        ({"lines": ["a line"]}, "lines[0]"),
    ],
)
def test_a_field_of_the_wrong_type_is_400_invalid_field(api, member, change, param):
    before = db_state()

    r = api.post("/api/v1/transactions", {**purchase(member, total="1.00"), **change})

    assert r.status_code == 400, r.content
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "invalid_field", param)
    assert db_state() == before


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"total": "\u0661\u0662"}, "total"),  # Arabic-Indic "12": Decimal() would read it as 12.00
        ({"total": "\uff11\uff12.00"}, "total"),  # fullwidth digits
        ({"lines": [line("\u0661.00")]}, "lines[0].unit_price"),
        ({"total": ""}, "total"),
        ({"total": "-"}, "total"),
        ({"total": " 12.00"}, "total"),
        ({"total": "+12.00"}, "total"),
        ({"total": "1e3"}, "total"),
        ({"total": "12."}, "total"),
        ({"occurred_at": "2025-01-31T12:00:00"}, "occurred_at"),  # no UTC offset: refused, not taken as UTC
        ({"occurred_at": "2025-01-31"}, "occurred_at"),
    ],
)
def test_money_other_than_ascii_digits_and_a_time_without_offset_are_400_invalid_field(api, member, change, param):
    before = db_state()

    r = api.post("/api/v1/transactions", {**purchase(member, total="12.00"), **change})

    assert r.status_code == 400, r.content
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "invalid_field", param)
    assert db_state() == before


def test_a_time_with_any_offset_is_read_as_the_instant_it_names(api, member):
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    # +23:59 is a valid ISO 8601 offset that PostgreSQL could not store as given; the API stores the instant
    local = moment.astimezone(dt.timezone(dt.timedelta(hours=23, minutes=59)))

    r = api.post("/api/v1/transactions", purchase(member, occurred_at=local.isoformat()))

    assert r.status_code == 201, r.content
    assert r.json()["occurred_at"] == moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert Transaction.objects.get().occurred_at == moment


def test_a_body_that_is_not_an_object_is_400(api, member):
    r = api.post("/api/v1/transactions", [purchase(member)])

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "invalid_field", None)
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("change", "code", "param"),
    [
        ({"lines": [line("1.00", quantity=0)]}, "quantity_out_of_range", "lines[0].quantity"),
        ({"lines": [line("0.01", quantity=100_001)]}, "quantity_out_of_range", "lines[0].quantity"),
        ({"total": "-0.01"}, "total_out_of_range", "total"),
        ({"total": "10000000.01"}, "total_out_of_range", "total"),
        ({"total": "99999999"}, "total_out_of_range", "total"),
        ({"total": "-0.00"}, "total_out_of_range", "total"),
        ({"lines": [line("-0.00")]}, "unit_price_out_of_range", "lines[0].unit_price"),
        ({"lines": [line("-0.01")]}, "unit_price_out_of_range", "lines[0].unit_price"),
        ({"lines": [line("10000000.01")]}, "unit_price_out_of_range", "lines[0].unit_price"),
        ({"total": "1.005"}, "too_many_decimals", "total"),
        ({"total": "1.0001"}, "too_many_decimals", "total"),
        ({"lines": [line("1.001")]}, "too_many_decimals", "lines[0].unit_price"),
        ({"external_id": "x" * 129}, "external_id_out_of_range", "external_id"),
    ],
)
def test_a_value_out_of_bounds_is_400_naming_the_bound(api, member, change, code, param):
    before = db_state()

    r = api.post("/api/v1/transactions", {**purchase(member, total="1.00"), **change})

    assert r.status_code == 400, r.content
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", code, param)
    assert db_state() == before


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/api/v1/holds", {"points": "5", "external_id": "h-1"}, "points"),
        ("/api/v1/holds", {"points": 5.0, "external_id": "h-1"}, "points"),
        ("/api/v1/holds", {"points": True, "external_id": "h-1"}, "points"),
        ("/api/v1/holds", {"points": 5, "external_id": 123}, "external_id"),
        ("/api/v1/transactions", {"lines": [line("25.00", quantity="1")]}, "lines[0].quantity"),
        ("/api/v1/transactions", {"total": True}, "total"),
        ("/api/v1/transactions", {"lines": {"sku": "x"}}, "lines"),
        ("/api/v1/members", {"email": "typed@example.com", "card_number": 4111111111111111}, "card_number"),
        ("/api/v1/members", {"email": "typed@example.com", "marketing_consent": "yes"}, "marketing_consent"),
        ("/api/v1/members", {"email": ["typed@example.com"]}, "email"),
    ],
)
def test_a_field_in_another_json_type_is_400_invalid_field_and_writes_nothing(api, member, path, body, param):
    """`"5"` for an integer, a number for a string, `"yes"` for a boolean: the documented type or 400."""
    base = purchase(member) if path == "/api/v1/transactions" else {"member": member.public_id}
    before = db_state()

    r = api.post(path, {**base, **body} if path != "/api/v1/members" else body)

    assert r.status_code == 400, r.content
    assert (error(r)["code"], error(r)["param"]) == ("invalid_field", param)
    assert error(r)["message"].startswith("Expected ")
    assert db_state() == before


@pytest.mark.parametrize(
    ("total", "lines", "points"),
    [
        ("10000000.00", None, 10_000_000),
        ("0.00", None, 0),
        ("1000.00", [line("0.01", quantity=100_000)], 1000),
        ("12.500", None, 12),  # trailing zeros are not more decimals than EUR has
    ],
)
def test_values_on_the_bounds_are_accepted(api, member, total, lines, points):
    r = api.post("/api/v1/transactions", purchase(member, total=total, **({"lines": lines} if lines else {})))

    assert r.status_code == 201, r.content
    assert r.json()["points"] == points and balance(member) == (points, 0, 0)


def test_more_than_500_lines_is_400_too_many_lines_and_500_are_accepted(api, member):
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member, total="5.01", lines=[line("0.01")] * 501))

    assert r.status_code == 400
    assert error(r) == {
        "type": "invalid_request",
        "code": "too_many_lines",
        "message": "Ensure this field has no more than 500 elements.",
        "param": "lines",
    }
    assert db_state() == before
    ok = api.post("/api/v1/transactions", purchase(member, total="5.00", lines=[line("0.01")] * 500))
    assert (ok.status_code, ok.json()["points"]) == (201, 5)


def _padded(body: dict, size: int) -> str:
    body = {**body, "padding": ""}
    body["padding"] = "x" * (size - len(json.dumps(body)))
    raw = json.dumps(body)
    assert len(raw.encode()) == size
    return raw


def test_a_body_over_256_kib_is_400_body_too_large_and_256_kib_is_accepted(api, member):
    before = db_state()

    r = api.post("/api/v1/transactions", raw=_padded(purchase(member, total="3.00"), 256 * 1024 + 1))

    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "type": "invalid_request",
            "code": "body_too_large",
            "message": "The body is larger than 256 KiB.",
            "param": None,
        }
    }
    assert db_state() == before
    ok = api.post("/api/v1/transactions", raw=_padded(purchase(member, total="3.00"), 256 * 1024))
    assert (ok.status_code, ok.json()["points"]) == (201, 3)


def test_unknown_fields_are_ignored_and_never_stored(api, member):
    body = purchase(member, total="3.00", lines=[{**line("3.00"), "colour": "red"}])

    r = api.post("/api/v1/transactions", {**body, "coupon": "FREE", "points": 1_000_000})

    assert r.status_code == 201, r.content
    assert "coupon" not in r.json() and r.json()["points"] == 3
    (stored,) = Transaction.objects.get().lines
    assert sorted(stored) == ["category", "quantity", "sku", "unit_price"]
    assert (stored["sku"], stored["category"], stored["quantity"], Decimal(stored["unit_price"])) == (
        "sku-1",
        "general",
        1,
        Decimal("3.00"),
    )
    # the unknown fields are not part of what makes a retry the same request
    assert api.post("/api/v1/transactions", body).status_code == 200
    assert balance(member) == (3, 0, 0)


def test_responses_are_json(api, member):
    r = api.post("/api/v1/members", {"email": "zoe@example.com", "first_name": "Zoë"})

    assert r.headers["Content-Type"] == "application/json"
    assert "Zoë".encode() in r.content and r.json()["first_name"] == "Zoë"


# --- 429 ---------------------------------------------------------------------------------------------


@pytest.fixture
def two_per_minute(monkeypatch):
    """The throttle reads its rate when a view runs; two requests a minute per key."""
    monkeypatch.setattr(api_base.ApiKeyThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    cache.clear()
    yield
    cache.clear()


def test_too_many_requests_are_429_with_retry_after_and_write_nothing(api, other_api, member, two_per_minute):
    assert api.get(f"/api/v1/members/{member.public_id}").status_code == 200
    assert api.post("/api/v1/transactions", purchase(member, external_id="o-1")).status_code == 201
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member, external_id="o-2"))

    assert r.status_code == 429
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert r.json() == {
        "error": {
            "type": "rate_limited",
            "code": "rate_limited",
            "message": f"Too many requests; retry in {wait} s.",
            "param": None,
        }
    }
    assert db_state() == before
    # the limit is per key: another key is still served
    assert other_api.get(f"/api/v1/members/{member.public_id}").status_code == 200


# --- 500 and 503 -------------------------------------------------------------------------------------


def _after_writing(exc: Exception):
    """transaction_create that writes everything, then fails: what fails must not stay written."""
    real = transactions_api.transaction_create

    def failing(**kwargs):
        real(**kwargs)
        raise exc

    return failing


WITH_AND_WITHOUT_KEY = pytest.mark.parametrize("headers", [{}, {"idempotency_key": "k-1"}], ids=["plain", "keyed"])


@WITH_AND_WITHOUT_KEY
def test_a_database_error_is_503_unavailable_and_nothing_stays_written(api, member, monkeypatch, headers):
    """docs/API.md: 503 `unavailable`, "nothing was written" - even when the error comes after a service wrote
    (ShopApi.dispatch promises the request is one transaction that the exception handler rolls back)."""
    monkeypatch.setattr(
        transactions_api,
        "transaction_create",
        _after_writing(OperationalError("canceling statement due to lock timeout")),
    )
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member), **headers)

    assert r.status_code == 503
    assert r.json() == {
        "error": {
            "type": "unavailable",
            "code": "database_unavailable",
            "message": "The service is temporarily unavailable; nothing was written. Retry later.",
            "param": None,
        }
    }
    assert r.headers["Retry-After"] == "5"
    assert db_state() == before and not LedgerEntry.objects.exists() and balance(member) == (0, 0, 0)


def test_a_database_error_while_authenticating_is_503(api, monkeypatch):
    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(api_base, "api_key_authenticate", down)

    r = api.get("/api/v1/transactions")

    assert r.status_code == 503 and error(r)["type"] == "unavailable"


@WITH_AND_WITHOUT_KEY
def test_an_unexpected_error_is_500_in_the_error_shape_and_nothing_stays_written(api, member, monkeypatch, headers):
    """A bug while rendering the response, after transaction_create wrote: ShopApi.dispatch promises that
    "if anything fails after a service wrote, even rendering, ... nothing stays written"."""

    def rendering_fails(txn, account=None):
        raise RuntimeError("bug in rendering")

    monkeypatch.setattr(transactions_api, "transaction_out", rendering_fails)
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member), **headers)

    assert r.status_code == 500
    assert r.json() == {
        "error": {
            "type": "api_error",
            "code": "internal_error",
            "message": "Something went wrong on our side; nothing was written.",
            "param": None,
        }
    }
    assert db_state() == before


# --- Idempotency-Key ---------------------------------------------------------------------------------


def test_a_replay_returns_the_original_status_and_body_and_writes_once(api, member):
    first = api.post("/api/v1/transactions", purchase(member, total="12.00"), idempotency_key="key-1")

    again = api.post("/api/v1/transactions", purchase(member, total="12.00"), idempotency_key="key-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 1 and LedgerEntry.objects.count() == 1 and balance(member) == (12, 0, 0)
    stored = IdempotentRequest.objects.get()
    assert (stored.key, stored.method, stored.path, stored.status) == ("key-1", "POST", "/api/v1/transactions", 201)


def test_the_same_key_with_another_body_or_path_is_409_and_writes_nothing(api, member_with_points):
    member = member_with_points(100)
    assert api.post("/api/v1/transactions", purchase(member, total="12.00"), idempotency_key="key-1").status_code == 201
    before = db_state()

    other_body = api.post("/api/v1/transactions", purchase(member, total="13.00"), idempotency_key="key-1")
    other_path = api.post(
        "/api/v1/holds", {"member": member.public_id, "points": 5, "external_id": "h"}, idempotency_key="key-1"
    )

    for r in (other_body, other_path):
        assert r.status_code == 409
        assert error(r) == {
            "type": "conflict",
            "code": "idempotency_conflict",
            "message": "This Idempotency-Key was used with a different request.",
            "param": "Idempotency-Key",
        }
        assert "Idempotent-Replayed" not in r.headers
    assert db_state() == before


def test_different_api_keys_use_the_same_idempotency_key_independently(api, other_api, api_for, shop, member):
    second_key_of_a = api_for(shop)

    a = api.post("/api/v1/transactions", purchase(member, external_id="o-a", total="1.00"), idempotency_key="k")
    a2 = second_key_of_a.post(
        "/api/v1/transactions", purchase(member, external_id="o-a2", total="2.00"), idempotency_key="k"
    )
    b = other_api.post("/api/v1/transactions", purchase(member, external_id="o-b", total="4.00"), idempotency_key="k")

    assert (a.status_code, a2.status_code, b.status_code) == (201, 201, 201)
    assert "Idempotent-Replayed" not in a2.headers and "Idempotent-Replayed" not in b.headers
    assert balance(member) == (7, 0, 0) and IdempotentRequest.objects.count() == 3


@pytest.mark.parametrize(
    "broken",
    [
        {"total": "abc"},  # refused by the serializer
        {"lines": [line("1.00")]},  # refused by the service: total_mismatch
    ],
)
def test_a_400_is_not_stored_so_the_same_key_can_retry_with_a_fixed_body(api, member, broken):
    bad = api.post("/api/v1/transactions", {**purchase(member, total="12.00"), **broken}, idempotency_key="key-1")
    assert bad.status_code == 400
    assert not IdempotentRequest.objects.exists()

    fixed = api.post("/api/v1/transactions", purchase(member, total="12.00"), idempotency_key="key-1")

    assert fixed.status_code == 201, fixed.content
    assert "Idempotent-Replayed" not in fixed.headers and balance(member) == (12, 0, 0)


def test_a_422_is_stored_and_replayed(api, member, now):
    body = {"member": member.public_id, "points": 50, "external_id": "pay-1"}
    refused = api.post("/api/v1/holds", body, idempotency_key="key-1")
    assert refused.status_code == 422
    points_credit(member=member, points=100, now=now)  # the member could now pay

    again = api.post("/api/v1/holds", body, idempotency_key="key-1")

    assert again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == refused.json() and error(again)["code"] == "insufficient_points"
    assert not Hold.objects.exists() and balance(member) == (100, 0, 0)
    fresh = api.post("/api/v1/holds", body, idempotency_key="key-2")
    assert fresh.status_code == 201


def test_refusals_before_the_view_are_not_stored(api_for, shop, member):
    reader = api_for(shop, ["members:read"])

    assert reader.post("/api/v1/transactions", purchase(member), idempotency_key="key-1").status_code == 403

    assert not IdempotentRequest.objects.exists()


@pytest.mark.parametrize("key", ["x" * 256, "", "caf\u00e9-1", "tab\tkey", "\x7f"])
def test_an_idempotency_key_must_be_1_to_255_printable_ascii_characters(api, member, key):
    r = api.post("/api/v1/transactions", purchase(member), idempotency_key=key)

    assert r.status_code == 400
    assert (error(r)["code"], error(r)["param"]) == ("invalid_field", "Idempotency-Key")
    assert not Transaction.objects.exists()
    assert api.post("/api/v1/transactions", purchase(member), idempotency_key="x" * 255).status_code == 201


def test_idempotency_keys_are_kept_at_least_24_hours(api, member):
    assert api.post("/api/v1/transactions", purchase(member), idempotency_key="key-1").status_code == 201
    created_at = IdempotentRequest.objects.get().created_at

    assert idempotency_keys_purge(now=created_at + dt.timedelta(hours=24)) == 0
    assert api.post("/api/v1/transactions", purchase(member), idempotency_key="key-1").headers["Idempotent-Replayed"]
    ttl = dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    assert settings.IDEMPOTENCY_KEY_TTL_HOURS >= 24
    assert idempotency_keys_purge(now=created_at + ttl + dt.timedelta(seconds=1)) == 1


# --- pagination --------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
def test_a_limit_outside_1_to_200_is_400(api, program, limit):
    r = api.get("/api/v1/transactions", {"limit": limit})

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "limit_out_of_range", "limit")


@pytest.mark.parametrize("path", ["/api/v1/transactions", "/api/v1/plans", "/api/v1/rewards"])
def test_a_query_parameter_given_twice_is_400(api, program, path):
    """No parameter takes a list: `limit=5&limit=500` would otherwise count as whichever came last."""
    r = api.get(f"{path}?limit=5&limit=500")

    assert r.status_code == 400
    assert (error(r)["code"], error(r)["param"]) == ("invalid_field", "limit")


def test_a_list_has_results_and_next(api, member):
    for i in range(3):
        api.post("/api/v1/transactions", purchase(member, external_id=f"o-{i}", total="1.00"))

    first = api.get("/api/v1/transactions", {"limit": "2"}).json()
    last = api.get(first["next"]).json()

    assert set(first) == {"results", "next"} and len(first["results"]) == 2
    assert first["next"].startswith("https://127.0.0.1/api/v1/transactions?") and "limit=2" in first["next"]
    assert (len(last["results"]), last["next"]) == (1, None)
    assert Member.objects.count() == 1


# --- the served schema says what the server takes (schemathesis' positive and negative checks rely on it) --


def _served_schema() -> dict:
    r = Client(HTTP_HOST="127.0.0.1").get("/api/schema/", {"format": "json"}, secure=True)
    assert r.status_code == 200
    return json.loads(r.content)


def test_the_schema_bounds_every_idempotency_key_and_limit_as_the_server_does(db):
    schema = _served_schema()
    keys = [
        p["schema"]
        for item in schema["paths"].values()
        for p in item.get("post", {}).get("parameters", [])
        if p["name"] == "Idempotency-Key" and item["post"]["operationId"] != "members_lookup_private"
    ]
    limits = [
        p["schema"] for item in schema["paths"].values() for p in item.get("get", {}).get("parameters", [])
        if p["name"] == "limit"
    ]  # fmt: skip

    assert keys and all(k == {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN} for k in keys)
    assert len(limits) == 4
    assert all(limit == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50} for limit in limits)


def test_the_schema_lists_the_errors_every_endpoint_can_answer(db):
    """An over-long URL (414) or headers (431), a bad request line (400) and the database down (503) can meet any
    operation; schemathesis' undocumented-status check holds the server to that."""
    operations = [op for item in _served_schema()["paths"].values() for op in item.values() if "responses" in op]

    assert len(operations) >= 24
    assert all({"400", "414", "431", "503"} <= set(op["responses"]) for op in operations)


@pytest.mark.parametrize(
    ("amount", "valid"),
    [("12.50", True), ("0", True), ("10000000.00", True), ("", False), ("-", False), ("-1.00", False),
     ("-0.00", False), ("\u0661\u0662", False), ("1e3", False), ("10000000.01", False), ("1.0001", False)],
)  # fmt: skip
def test_the_schemas_money_pattern_takes_what_the_server_takes(api, member, amount, valid):
    pattern = _served_schema()["components"]["schemas"]["TransactionInRequest"]["properties"]["total"]["pattern"]

    r = api.post("/api/v1/transactions", purchase(member, total=amount))

    assert (re.search(pattern, amount) is not None, r.status_code) == (valid, 201 if valid else 400), r.content


def test_the_schema_says_an_enrolled_email_is_an_email_and_a_phone_what_the_server_takes(db):
    properties = _served_schema()["components"]["schemas"]["MemberEnrollInRequest"]["properties"]

    assert properties["email"]["format"] == "email"
    assert properties["phone"]["oneOf"][0]["pattern"] == PHONE_INPUT_PATTERN


@pytest.mark.parametrize("fmt", ["api", "xml", "json"])
def test_a_format_query_parameter_is_ignored_like_any_unknown_parameter(api, member, fmt):
    """DRF reads `?format=` to pick a renderer: `GET /api/v1/members/{id}?format=api` answered 404 `not_found`
    ("No such object.") for a member that exists, and a POST with it was refused the same way. The API renders
    JSON only; `format` is not one of its parameters and is ignored like every unknown one."""
    r = api.get(f"/api/v1/members/{member.public_id}", {"format": fmt})

    assert r.status_code == 200 and r.json()["id"] == member.public_id
    assert r["Content-Type"] == "application/json"

    created = api.post(f"/api/v1/transactions?format={fmt}", purchase(member, external_id=f"fmt-{fmt}"))

    assert created.status_code == 201 and created.json()["external_id"] == f"fmt-{fmt}"


def test_an_accept_header_without_json_is_406_not_acceptable(api, member):
    """docs/API.md: an `Accept` header that excludes application/json gets 406 `not_acceptable`."""
    r = api.get(f"/api/v1/members/{member.public_id}", accept="text/html")

    assert r.status_code == 406
    assert r.json()["error"]["code"] == "not_acceptable" and r.json()["error"]["type"] == "invalid_request"


@pytest.mark.parametrize("blank", ["\x1d", "\x85", " \x1c "])
def test_the_schema_refuses_the_blank_text_the_server_trims_away(api, member, blank):
    """DRF trims with str.strip(), which also strips \\x1c-\\x1f and \\x85; the schema's not-blank pattern must
    refuse them too, for a validator with ECMA-262 or Rust regex semantics (schemathesis uses jsonschema-rs)."""
    line_schema = _served_schema()["components"]["schemas"]["LineInRequest"]["properties"]["sku"]
    r = api.post("/api/v1/transactions", purchase(member, total="1.00", lines=[{**line("1.00"), "sku": blank}]))

    assert r.status_code == 400 and error(r)["param"] == "lines[0].sku"
    assert not jsonschema_rs.validator_for(line_schema).is_valid(blank)
