"""A client's input never makes the API answer 500, nor does a database that cannot be reached: every
refusal is in the error shape, and nothing is written."""

import base64
import json
import os
import runpy
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import OperationalError, connection
from django.db.models import QuerySet
from django.test import Client
from gunicorn.config import Config

from config import middleware
from loyalty.api import base as api_base
from loyalty.earning.models import Transaction
from loyalty.idempotency.models import IdempotentRequest
from loyalty.program.loading import program_load
from loyalty.shops.models import ApiKey
from loyalty.shops.services import api_keys_cache_clear
from tests.support.api import balance, purchase
from tests.support.state import db_state

PROJECT = Path(__file__).resolve().parents[3]
UNAVAILABLE = {
    "type": "unavailable",
    "code": "database_unavailable",
    "message": "The service is temporarily unavailable; nothing was written. Retry later.",
    "param": None,
}


def error(r) -> dict:
    return r.json()["error"]


def no_raise(api) -> Client:
    """The shop's client, answering a server error as a client would see it instead of raising it."""
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {api.key}", raise_request_exception=False)


# --- 1. the database cannot be reached ----------------------------------------------------------------


def _refused(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 1 failed: Connection refused')


DOWN_REQUESTS = [
    ("GET", "/api/v1/transactions", None, {}),
    ("GET", "/api/v1/members/mem_x", None, {}),
    ("POST", "/api/v1/transactions", "purchase", {}),
    ("POST", "/api/v1/transactions", "purchase", {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
    ("POST", "/api/v1/transactions", "purchase", {"HTTP_TRANSFER_ENCODING": "chunked"}),
    ("POST", "/api/v1/members", {"email": "new@example.com"}, {}),
    ("POST", "/api/v1/holds/hld_x/void", {}, {}),
    ("PUT", "/api/v1/members", {}, {}),
    ("DELETE", "/api/v1/transactions/txn_x", None, {}),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    DOWN_REQUESTS,
    ids=["get-list", "get-one", "post", "post-keyed", "post-chunked", "post-member", "post-void", "put", "delete"],
)
def test_any_request_while_the_database_cannot_be_reached_is_503_and_writes_nothing(
    api, member, monkeypatch, method, path, body, headers
):
    """Issue 9, item 1: a POST used to answer 500 because its transaction is opened outside DRF's error
    handling. Every method answers 503 `unavailable` with Retry-After."""
    payload = json.dumps(purchase(member) if body == "purchase" else body or {})
    client = no_raise(api)
    before = db_state()

    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", _refused)
        r = client.generic(method, path, payload, content_type="application/json", secure=True, **headers)

    assert r.status_code == 503, r.content
    assert r.json() == {"error": UNAVAILABLE}
    assert r.headers["Retry-After"] == "5"
    assert db_state() == before and balance(member) == (0, 0, 0)


def test_a_request_after_the_database_came_back_is_served(api, member, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", _refused)
        down = no_raise(api).post(
            "/api/v1/transactions", purchase(member), content_type="application/json", secure=True
        )

    r = api.post("/api/v1/transactions", purchase(member), idempotency_key="k-1")

    assert (down.status_code, r.status_code) == (503, 201)
    assert Transaction.objects.count() == 1 and IdempotentRequest.objects.get().status == 201


def test_a_commit_that_fails_is_503_saying_the_outcome_is_unknown(api, member, monkeypatch):
    """The connection can drop at COMMIT, after every statement ran: the client cannot be told nothing was
    written, only to retry the same request (external_id and Idempotency-Key make that safe)."""
    real = api_base.request_transaction

    class FailingCommit:
        def __enter__(self):
            self.inner = real()
            return self.inner.__enter__()

        def __exit__(self, *exc):
            self.inner.__exit__(OperationalError, OperationalError("server closed the connection"), None)
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(api_base, "request_transaction", FailingCommit)
    before = db_state()

    r = no_raise(api).post("/api/v1/transactions", purchase(member), content_type="application/json", secure=True)

    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert error(r)["code"] == "database_unavailable" and error(r)["type"] == "unavailable"
    assert "may or may not" in error(r)["message"]
    assert db_state() == before


@pytest.mark.django_db(transaction=True)
def test_a_key_stamp_that_fails_after_the_commit_does_not_turn_the_request_into_an_error(
    api, member, monkeypatch, caplog
):
    """The key's last_used_at is stamped after the request's transaction commits: a database gone by then
    must not answer 500 or 503 for a purchase that is stored."""
    real_update = QuerySet.update

    def update(queryset, **kwargs):
        if queryset.model is ApiKey:
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(queryset, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)

    posted = api.post("/api/v1/transactions", purchase(member))
    api_keys_cache_clear()
    listed = api.get("/api/v1/transactions")

    assert (posted.status_code, listed.status_code) == (201, 200)
    assert Transaction.objects.count() == 1 and len(listed.json()["results"]) == 1
    assert "server closed the connection unexpectedly" in caplog.text


def _closed_port_run(script: str) -> list:
    """Run `script` in a fresh process whose DATABASE_URL points at a port that refuses connections."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound and not listening: a connection to it is refused
        port = held.getsockname()[1]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/loyalty",
            "CELERY_BROKER_URL": "memory://",
            "CACHE_URL": "locmemcache://",
            "DEBUG": "0",
        }
        done = subprocess.run(
            [sys.executable, "-c", script],
            check=False,
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


WSGI_CALLS = """
import io, json
from wsgiref.util import setup_testing_defaults
from config.wsgi import application

def call(method, path, body=b""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_HOST": "127.0.0.1",
               "HTTP_X_FORWARDED_PROTO": "https", "HTTP_AUTHORIZATION": "Bearer lk_abcdefgh_" + "x" * 40,
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    setup_testing_defaults(environ)
    answer = {}
    def start_response(status, headers, exc_info=None):
        answer.update(status=int(status.split()[0]), headers=dict(headers))
    content = b"".join(application(environ, start_response))
    return [answer["status"], answer["headers"].get("Retry-After"), json.loads(content)]

body = json.dumps({"member": "mem_x", "external_id": "o-1", "currency": "EUR", "total": "1.00"}).encode()
print(json.dumps([call("GET", "/api/v1/transactions"), call("POST", "/api/v1/transactions", body),
                  call("POST", "/api/v1/members", b'{"email": "a@example.com"}')]))
"""


def test_the_wsgi_app_with_the_database_at_a_closed_port_answers_503_to_get_and_post():
    """Issue 9, item 1, as reported: DATABASE_URL at a closed port, the real WSGI application."""
    answers = _closed_port_run(WSGI_CALLS)

    assert [(status, retry_after) for status, retry_after, _ in answers] == [(503, "5")] * 3
    assert all(body == {"error": UNAVAILABLE} for _, _, body in answers)


# --- 3. JSON nested deeper than anything the API reads ---------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 1000 + "]" * 1000,
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 1000 + "1" + "}" * 1000,
        '{"member": ' + "[" * 900 + "]" * 900 + "}",
        '{"member": ' + "[" * 33 + "]" * 33 + "}",
    ],
    ids=["1000-lists", "100000-lists", "1000-objects", "900-under-a-field", "33-under-a-field"],
)
def test_deeply_nested_json_is_400_malformed_json_and_writes_nothing(api, member, raw):
    before = db_state()

    r = api.post("/api/v1/transactions", raw=raw, idempotency_key="k-1")

    assert r.status_code == 400, r.content
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "malformed_json", None)
    assert db_state() == before


def test_json_nested_as_deep_as_the_limit_is_read(api, member):
    """32 levels are parsed (the API's own bodies nest 3 deep); the field is then refused for its type."""
    r = api.post("/api/v1/transactions", raw='{"member": ' + "[" * 31 + "]" * 31 + "}")

    assert r.status_code == 400
    assert (error(r)["code"], error(r)["param"]) != ("malformed_json", None)


# --- 4. a forged pagination cursor ---------------------------------------------------------------------


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


LIST_ENDPOINTS = [
    "/api/v1/members/{member}/entries",
    "/api/v1/transactions",
    "/api/v1/rewards",
    "/api/v1/plans",
]
FORGED_CURSORS = {
    "position-abc": _cursor("p=abc"),
    "position-dots": _cursor("p=1.2.3"),
    "position-huge": _cursor("p=" + "9" * 40),
    "position-nan": _cursor("p=NaN"),
    "position-exponent": _cursor("p=1e999999"),
    "position-nul": _cursor("p=1%00"),
    "reverse-abc": _cursor("r=abc&p=1"),
    "offset-abc": _cursor("o=abc"),
    "not-base64": "%%%",
    "not-ascii": "\u00e2\u0019-\u00b1\u00ae",
}


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
def test_a_forged_cursor_is_400_invalid_cursor_on_every_list(api, member, path, cursor):
    r = api.get(path.format(member=member.public_id), {"cursor": cursor})

    assert r.status_code == 400, r.content
    assert error(r) == {
        "type": "invalid_request",
        "code": "invalid_cursor",
        "message": "This cursor was not given by this API; start again without it.",
        "param": "cursor",
    }


@pytest.fixture
def three_of_each(api, member):
    """Three entries and transactions, three rewards and plans (two sharing a price and a sort order)."""
    rewards = [
        {"code": f"R{i}", "name": f"R{i}", "kind": "free_product", "points_cost": 100, "value": "1.00",
         "sort_order": i // 2}
        for i in range(3)
    ]  # fmt: skip
    plans = [
        {"code": f"p{i}", "name": f"P{i}", "price": f"{4 + i // 2}.99", "interval": "month", "trial_days": 0,
         "multiplier": "1", "renewal_bonus": 0, "perks": []}
        for i in range(3)
    ]  # fmt: skip
    program_load({"rewards": rewards, "plans": plans})
    for i in range(3):
        api.post("/api/v1/transactions", purchase(member, external_id=f"o-{i}", total="1.00"))


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_the_cursors_the_api_gives_still_page_through_every_list(api, member, three_of_each, path):
    """The cursor check refuses only forged cursors: `next` of each list works, in both directions."""

    first = api.get(path.format(member=member.public_id), {"limit": "1"}).json()
    seen = len(first["results"])
    page = first
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += len(page["results"])
    unpaged = api.get(path.format(member=member.public_id), {"limit": "200"}).json()

    assert seen == len(unpaged["results"]) == 3


# --- 5. a charset other than UTF-8 ---------------------------------------------------------------------


@pytest.mark.parametrize("charset", ["rot13", "base64", "hex", "zlib", "latin-1", "utf-16", "no-such-charset", ""])
def test_json_in_a_charset_other_than_utf8_is_415_unsupported_charset_and_writes_nothing(api, member, charset):
    before = db_state()

    r = api.client.generic(
        "POST",
        "/api/v1/transactions",
        json.dumps(purchase(member)),
        content_type=f"application/json; charset={charset}",
        secure=True,
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert r.status_code == 415, r.content
    assert error(r) == {
        "type": "invalid_request",
        "code": "unsupported_charset",
        "message": "JSON is read as UTF-8 only: send `Content-Type: application/json` or `; charset=utf-8`.",
        "param": None,
    }
    assert db_state() == before


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", "UTF8", '"utf-8"'])
def test_json_declared_as_utf8_is_read(api, member, charset):
    r = api.client.post(
        "/api/v1/transactions",
        json.dumps(purchase(member, external_id="caf\u00e9-1")),
        content_type=f"application/json; charset={charset}",
        secure=True,
    )

    assert r.status_code == 201, r.content
    assert Transaction.objects.get().external_id == "caf\u00e9-1"


CHARSET_CALLS = """
import io, json
from wsgiref.util import setup_testing_defaults
from config.wsgi import application

def call(path, query, charset):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "127.0.0.1",
               "HTTP_X_FORWARDED_PROTO": "https", "CONTENT_TYPE": "text/plain; charset=" + charset}
    setup_testing_defaults(environ)
    answer = {}
    def start_response(status, headers, exc_info=None):
        answer.update(status=int(status.split()[0]), headers=dict(headers))
    content = b"".join(application(environ, start_response))
    is_json = answer["headers"]["Content-Type"] == "application/json"
    return [answer["status"], json.loads(content)["error"]["code"] if is_json else None]

print(json.dumps([call(path, query, charset) for path in ("/api/v1/transactions", "/nothing-here")
                  for query, charset in (("member=m%C3%A9", "rot13"), ("member=x", "zlib"), ("a=%41", "undefined"),
                                         ("a=1", "utf-16"))]))
"""


def test_a_charset_python_cannot_decode_text_with_never_crashes_building_the_request():
    """Django took rot13, zlib, undefined... as the request's encoding and failed decoding the query string
    while building the request, before any middleware or handler: gunicorn answered its own 500. Through the
    real WSGI application: the API refuses with 415, other pages read UTF-8."""
    answers = _closed_port_run(CHARSET_CALLS)

    assert answers == [[415, "unsupported_charset"]] * 4 + [[404, None]] * 4


# --- 20. the error shape under DEBUG, and the API's own limits before gunicorn's -------------------------


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/nothing", "/api/v1/members/mem_x/nothing"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_api_path_is_404_in_the_error_shape_under_debug(api, debug, method, path):
    r = api.client.generic(method, path, "{}", content_type="application/json", secure=True)

    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "type": "not_found",
            "code": "not_found",
            "message": "No such endpoint; the endpoints are listed at /api/docs/.",
            "param": None,
        }
    }


def test_an_unsupported_method_is_405_in_the_error_shape_under_debug(api, debug):
    r = api.client.generic("PATCH", "/api/v1/members/mem_x", "{}", content_type="application/json", secure=True)

    assert r.status_code == 405 and error(r)["code"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_a_failure_outside_the_api_s_handler_is_500_in_the_error_shape_under_debug(api, member, debug, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug before DRF's handler")

    monkeypatch.setattr(api_base.ShopApi, "dispatch", broken)
    before = db_state()

    r = no_raise(api).post("/api/v1/transactions", purchase(member), content_type="application/json", secure=True)

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


def test_a_host_outside_allowed_hosts_is_400_in_the_error_shape(program, debug):
    r = Client(HTTP_HOST="evil.example").get("/api/v1/transactions", secure=True)

    assert r.status_code == 400
    assert error(r) == {"type": "invalid_request", "code": "bad_request", "message": "Bad Request.", "param": None}


def test_pages_outside_the_api_keep_django_s_html_under_debug(db, debug):
    r = Client(HTTP_HOST="127.0.0.1").get("/nothing-here", secure=True)

    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")


def test_a_url_over_4096_characters_is_414_in_the_error_shape(api):
    r = api.get("/api/v1/transactions", {"member": "m" * 4096})

    assert r.status_code == 414
    assert error(r) == {
        "type": "invalid_request",
        "code": "uri_too_long",
        "message": "The URL is longer than 4096 characters.",
        "param": None,
    }
    assert api.get("/api/v1/transactions", {"member": "m" * 4000}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{f"HTTP_X_EXTRA_{i}": "x" for i in range(100)}, {"HTTP_X_LONG": "x" * 8190}],
    ids=["101-headers", "one-header-over-8190-bytes"],
)
def test_headers_over_the_api_s_limits_are_431_in_the_error_shape(api, member, headers):
    before = db_state()

    r = api.post("/api/v1/transactions", purchase(member), **{k.removeprefix("HTTP_"): v for k, v in headers.items()})

    assert r.status_code == 431 and error(r)["code"] == "headers_too_large"
    assert db_state() == before


def test_gunicorn_s_limits_are_above_the_api_s_so_django_answers_first(monkeypatch):
    """config/gunicorn.py: a request line holds the method, the URL and the protocol; gunicorn's own answers
    are HTML, so they must only meet requests beyond what the API refuses in its error shape."""
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(PROJECT / "config" / "gunicorn.py"))

    assert conf["limit_request_line"] >= len("OPTIONS ") + middleware.API_MAX_URL_LENGTH + len(" HTTP/1.1") + 1
    assert conf["limit_request_line"] <= 8190  # gunicorn's maximum; 0 would mean unlimited
    assert conf["limit_request_fields"] > middleware.API_MAX_HEADERS
    assert conf["limit_request_field_size"] > middleware.API_MAX_HEADER_SIZE
    assert (conf["wsgi_app"], conf["worker_class"], conf["bind"]) == (
        "config.wsgi:application",
        "sync",
        "127.0.0.1:8000",
    )
    assert (conf["accesslog"], conf["errorlog"], conf["timeout"]) == ("-", "-", 30)
    assert "%(U)s" in conf["access_log_format"] and "%(r)s" not in conf["access_log_format"]  # no query strings


def test_a_path_cannot_forge_a_line_in_gunicorn_s_access_log(tmp_path, monkeypatch):
    """gunicorn writes the path as it decoded it: `GET /api/v1/members/x%0A127.0.0.1 "GET /forged` ended the access
    line at the newline and wrote a forged line after it. config/gunicorn.py's logger escapes the path."""
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(PROJECT / "config" / "gunicorn.py"))
    cfg = Config()
    cfg.set("logger_class", conf.get("logger_class", "gunicorn.glogging.Logger"))
    cfg.set("access_log_format", conf["access_log_format"])
    cfg.set("accesslog", str(tmp_path / "access.log"))
    logger = cfg.logger_class(cfg)
    path = '/api/v1/members/x\n127.0.0.1 "GET /forged HTTP/1.1" 200 1 1ms\x1b[2J\xc3\xa9'  # as gunicorn decodes it
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/api/v1/members/x%0A...",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1",
    }
    resp = SimpleNamespace(status="401 Unauthorized", headers=[("X-Request-ID", "abc")], sent=127)
    logger.access(resp, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=8))
    for handler in logger.access_log.handlers:
        handler.flush()

    lines = (tmp_path / "access.log").read_text(encoding="utf-8").splitlines()
    assert lines == [
        '127.0.0.1 "GET /api/v1/members/x\\n127.0.0.1 \\"GET /forged HTTP/1.1\\" 200 1 1ms\\x1b[2J\\xc3\\xa9 HTTP/1.1"'
        " 401 127 8ms request_id=abc forwarded_for=-"
    ]


# --- 26. plain HTTP is refused, never redirected -----------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_plain_http_to_the_api_is_400_https_required_never_a_redirect(api, member, settings, method):
    settings.SECURE_SSL_REDIRECT = True
    before = db_state()

    r = api.client.generic(
        method, "/api/v1/transactions", json.dumps(purchase(member)), content_type="application/json"
    )

    assert r.status_code == 400 and "Location" not in r.headers
    assert error(r) == {
        "type": "invalid_request",
        "code": "https_required",
        "message": "The API is served over HTTPS only: send the request again with https:// instead of http://.",
        "param": None,
    }
    assert db_state() == before


def test_https_told_by_the_proxy_header_is_served(api, member, settings):
    settings.SECURE_SSL_REDIRECT = True

    r = api.client.post(
        "/api/v1/transactions", purchase(member), content_type="application/json", HTTP_X_FORWARDED_PROTO="https"
    )

    assert r.status_code == 201


def test_plain_http_is_served_when_https_is_not_enforced(api, member, settings):
    settings.SECURE_SSL_REDIRECT = False

    r = api.client.post("/api/v1/transactions", purchase(member), content_type="application/json")

    assert r.status_code == 201


def test_plain_http_outside_the_api_is_still_redirected(db, settings):
    settings.SECURE_SSL_REDIRECT = True

    r = Client(HTTP_HOST="127.0.0.1").get("/admin/")

    assert r.status_code == 301 and r.headers["Location"] == "https://127.0.0.1/admin/"


# --- more client input that used to reach a 500 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ('{"total": NaN}', "NaN is not a JSON value"),
        ('{"total": Infinity}', "Infinity is not a JSON value"),
        ('{"lines": [{"quantity": -Infinity}]}', "-Infinity is not a JSON value"),
        ('{"total": ' + "9" * 5000 + "}", "Exceeds the limit"),
        ('{"status": "\\ud800"}', "lone surrogate"),
        ('{"external_id": "\\udfff"}', "lone surrogate"),
        ('{"\\ud83d": 1}', "lone surrogate"),
    ],
    ids=["nan", "infinity", "minus-infinity", "5000-digit-integer", "lone-surrogate", "low-surrogate", "in-a-key"],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/transactions", "/api/v1/holds", "/api/v1/subscriptions/sub_x/payments", "/api/v1/members"]
)
def test_json_no_utf8_text_or_number_can_hold_is_400_malformed_json(api, member, path, raw, says):
    """A lone surrogate used to be echoed in a validation message that could not be encoded: 500."""
    before = db_state()

    r = api.post(path, raw=raw, idempotency_key="k-1")

    assert r.status_code == 400, r.content
    assert (error(r)["code"], error(r)["param"]) == ("malformed_json", None) and says in error(r)["message"]
    assert db_state() == before


def test_a_number_beyond_any_bound_is_refused_by_its_bound(api, member):
    body = json.dumps({**purchase(member), "total": "TOTAL"}).replace('"TOTAL"', "1e999999")

    r = api.post("/api/v1/transactions", raw=body)

    assert r.status_code == 400 and (error(r)["code"], error(r)["param"]) == ("total_out_of_range", "total")
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members",
        "/api/v1/transactions",
        "/api/v1/transactions/preview",
        "/api/v1/holds",
        "/api/v1/subscriptions",
        "/api/v1/redemptions",
    ],
)
@pytest.mark.parametrize("raw", ["[]", '"a string"', "1", "null", "[{}]"])
def test_a_body_that_is_not_an_object_is_400_on_every_post(api, member, path, raw):
    before = db_state()

    r = api.post(path, raw=raw, idempotency_key="k-1")

    assert r.status_code == 400, r.content
    assert error(r)["type"] == "invalid_request"
    assert db_state() == before


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_date_filter_beyond_the_years_utc_holds_is_400(api, member, name, value):
    """Year 1 at +14:00 is in year 0 in UTC: converting it for the query raised OverflowError, a 500."""
    r = api.get(f"/api/v1/members/{member.public_id}/entries", {name: value})

    assert r.status_code == 400
    assert (error(r)["code"], error(r)["param"]) == ("invalid_field", name)


@pytest.mark.parametrize("length", ["abc", "-5", "\u00b2"])
def test_a_content_length_that_is_not_a_number_is_400(api, member, length):
    r = api.client.generic(
        "POST",
        "/api/v1/transactions",
        json.dumps(purchase(member)),
        content_type="application/json",
        secure=True,
        CONTENT_LENGTH=length,
    )

    assert r.status_code == 400 and error(r)["code"] == "invalid_content_length"
    assert not Transaction.objects.exists()


# --- NUL bytes (loyalty.api.base) -------------------------------------------------------------------------


def test_a_query_parameter_with_a_nul_byte_is_400_naming_it(api, member):
    r = api.get("/api/v1/transactions", {"member": "mem_a\x00b"})

    assert r.status_code == 400
    assert (error(r)["type"], error(r)["code"], error(r)["param"]) == ("invalid_request", "invalid_field", "member")


def test_a_path_id_with_a_nul_byte_is_404(api, member):
    r = api.get("/api/v1/members/mem_a%00b")

    assert r.status_code == 404 and error(r)["code"] == "not_found"
