"""config.middleware: the API's body limit (256 KiB, with or without a Content-Length) and chunked bodies."""

import io
import json

import pytest
from django.test import Client

from loyalty.earning import api as transactions_api
from tests.support.api import purchase
from tests.support.state import db_state


def error(r) -> dict:
    return r.json()["error"]


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


def test_a_small_chunked_body_is_read_not_taken_for_empty(api, member):
    body = json.dumps(purchase(member, external_id="chunked-1")).encode()

    r = api.client.generic(
        "POST", "/api/v1/transactions", b"", content_type="application/json", secure=True,
        CONTENT_TYPE="application/json", CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
    )  # fmt: skip

    assert r.status_code == 201, r.content
    assert r.json()["external_id"] == "chunked-1" and r.json()["points"] == 25
