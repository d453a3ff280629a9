"""One logging setup (config/logs.py, settings.LOGGING): request ids on every response and every line logged
while a request is served, JSON lines with LOG_FORMAT=json, LOG_LEVEL for every logger, job summaries at INFO.
The Celery worker's side is in tests/concurrency/test_celery_logging.py."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.utils import timezone

from config.logs import JsonFormatter, RequestIdFilter, request_id
from loyalty.api import base as api_base
from loyalty.jobs.registry import job_run
from loyalty.ledger.tasks import expire_points_task
from loyalty.shops.models import Shop
from loyalty.shops.services import api_key_create
from tests.support.api import Api

PROJECT = Path(__file__).resolve().parents[2]
UUID_HEX = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def console():
    """What the configured console handler writes, as text."""
    [handler] = [h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters)]
    stream = io.StringIO()
    previous, handler.stream = handler.stream, stream  # not setStream: it flushes the old one, maybe closed by now
    yield stream
    handler.stream = previous


def client() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


# --- X-Request-ID ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/members/mem_x", "/api/v1/no-such-endpoint", "/admin/login/"])
def test_every_response_carries_a_new_request_id(db, path):
    first = client().get(path, secure=True)
    second = client().get(path, secure=True)

    assert UUID_HEX.fullmatch(first["X-Request-ID"]) and UUID_HEX.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_clients_own_request_id_is_echoed(db):
    sent = "checkout-7f3a:order/1001_retry.2~" + "x" * 95  # 128 printable characters

    r = client().get("/api/v1/members/mem_x", secure=True, HTTP_X_REQUEST_ID=sent)

    assert r["X-Request-ID"] == sent


@pytest.mark.parametrize("sent", ["", "two words", "x" * 129, "tab\there", "naïve", "line\nbreak", "nul\x00"])
def test_a_request_id_that_is_not_sane_is_replaced_by_a_new_one(db, sent):
    r = client().get("/api/v1/members/mem_x", secure=True, HTTP_X_REQUEST_ID=sent)

    assert UUID_HEX.fullmatch(r["X-Request-ID"]) and r["X-Request-ID"] != sent


def test_lines_logged_while_a_request_is_served_carry_its_id(db, console):
    client().get("/api/v1/no-such-endpoint", secure=True, HTTP_X_REQUEST_ID="req-404")

    [line] = [line for line in console.getvalue().splitlines() if "Not Found" in line]
    assert " WARNING django.request req-404 Not Found: /api/v1/no-such-endpoint" in line


def test_a_line_logged_inside_the_view_carries_the_request_id(db, monkeypatch, console):
    _, key = api_key_create(shop=Shop.objects.create(code="shop-a", name="A"))
    api = Api(key, Shop.objects.get())
    api_base.throttle_outages_clear()

    def unreachable(self, key, delta=1):
        raise ConnectionError("cache down")

    monkeypatch.setattr(LocMemCache, "incr", unreachable)
    r = api.get("/api/v1/members/mem_x", x_request_id="req-view-1")
    api_base.throttle_outages_clear()
    cache.clear()

    assert r.status_code == 404 and r["X-Request-ID"] == "req-view-1"
    [line] = [line for line in console.getvalue().splitlines() if "rate limit OFF" in line]
    assert " ERROR loyalty.api.throttle req-view-1 rate limit OFF" in line


def test_outside_a_request_lines_carry_a_dash(console):
    request_id.set(None)
    logging.getLogger("loyalty.test").warning("between requests")

    assert console.getvalue().splitlines()[-1].endswith(" WARNING loyalty.test - between requests")


# --- JSON lines -----------------------------------------------------------------------------------------


def test_the_json_formatter_writes_one_object_per_line_with_the_request_id():
    record = logging.LogRecord("loyalty.api", logging.ERROR, __file__, 1, "failed: %s\nsecond line", ("x",), None)
    record.request_id, record.status_code, record.request = "req-1", 503, object()
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()

    text = JsonFormatter().format(record)

    assert "\n" not in text
    line = json.loads(text)
    assert {k: line[k] for k in ("level", "logger", "message", "request_id", "status_code")} == {
        "level": "ERROR", "logger": "loyalty.api", "message": "failed: x\nsecond line", "request_id": "req-1",
        "status_code": 503,
    }  # fmt: skip
    assert "request" not in line  # objects (a request holds a query string, maybe an email) are left out
    assert "ValueError: boom" in line["exception"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def test_the_json_formatter_gives_null_outside_a_request():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdFilter().filter(record)

    assert json.loads(JsonFormatter().format(record))["request_id"] is None


def run_server(tmp_path: Path, port: int, **env: str) -> tuple[list[str], str]:
    """`manage.py runserver` in a subprocess with `env`; GET an unknown API path with X-Request-ID `req-sub` (404)
    and the admin's login page with `req-ok` (200), stop the server, return (its stderr lines, the X-Request-ID
    the 404 answered)."""
    inherited = {name: value for name, value in os.environ.items() if name not in {"LOG_LEVEL", "LOG_FORMAT"}}
    environment = {
        **inherited, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LOYALTY_VAR_DIR": str(tmp_path),
        "SECURE_SSL_REDIRECT": "0", "DEBUG": "0", "PYTHONUNBUFFERED": "1", **env,
    }  # fmt: skip
    stderr = tmp_path / f"server-{port}.err"
    with stderr.open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
            cwd=PROJECT, env=environment, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/no-such", headers={"X-Request-ID": "req-sub"})
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(request, timeout=5)  # noqa: S310
            except urllib.error.HTTPError as answer:
                echoed = answer.headers["X-Request-ID"]
                break
            except OSError:
                assert server.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, "runserver did not answer within 30 s"
                time.sleep(0.2)
        login = urllib.request.Request(f"http://127.0.0.1:{port}/admin/login/", headers={"X-Request-ID": "req-ok"})
        assert urllib.request.urlopen(login, timeout=10).status == 200  # noqa: S310
        # The server logs a request after answering it: a last 404, logged at WARNING whatever LOG_LEVEL is,
        # shows when every earlier line is written.
        last = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/no-such", headers={"X-Request-ID": "req-end"})
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(last, timeout=10)  # noqa: S310
        while stderr.read_text().count("req-end") < 2:  # django.request's line and django.server's
            assert time.monotonic() < deadline + 10, stderr.read_text()
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return stderr.read_text().splitlines(), echoed


def test_log_format_json_makes_every_line_of_a_real_server_a_json_object(tmp_path):
    lines, echoed = run_server(tmp_path, 18210, LOG_FORMAT="json")

    records = [json.loads(line) for line in lines if line.strip()]  # every line parses
    assert echoed == "req-sub"
    assert {(r["level"], r["logger"], r["request_id"]) for r in records} >= {
        ("WARNING", "django.request", "req-sub"), ("WARNING", "django.server", "req-sub"),
        ("INFO", "django.server", "req-ok"),
    }  # fmt: skip


def test_log_level_warning_leaves_out_info_lines_of_django_too(tmp_path):
    lines, _ = run_server(tmp_path, 18211, LOG_LEVEL="WARNING")

    assert any(" WARNING django.request req-sub Not Found: /api/v1/no-such" in line for line in lines)
    assert not [line for line in lines if " INFO " in line]


# --- job summaries --------------------------------------------------------------------------------------


def test_a_job_run_by_a_task_logs_its_summary_at_info(db, caplog):
    caplog.set_level(logging.INFO, logger="loyalty.jobs")

    summary = expire_points_task.apply().get()

    assert summary == "expire_points: nothing due"
    assert [(r.levelname, r.name, r.getMessage()) for r in caplog.records if r.name == "loyalty.jobs"] == [
        ("INFO", "loyalty.jobs", "expire_points: nothing due")
    ]


def test_job_run_returns_and_logs_the_same_summary(db, caplog):
    caplog.set_level(logging.INFO, logger="loyalty.jobs")

    summary = job_run("expire_vouchers", now=timezone.now())

    assert summary == "expire_vouchers: nothing due"
    assert caplog.records[-1].getMessage() == summary
