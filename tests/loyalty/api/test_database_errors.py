"""A statement the database refuses must not leave the request's (or a caller's) transaction aborted.

CI's PostgreSQL pass failed with `InFailedSqlTransaction` on a schemathesis request: an earlier generated
request had sent a timestamp offset PostgreSQL cannot hold (beyond ±15:59, or fractional), the statement
failed inside the test's transaction, the handler answered 400, and the next query in that transaction
failed. Inputs are now validated (timestamps converted to UTC) before they reach the database, and a read
inside a caller's transaction runs in a savepoint the handler rolls back. Each test sends the offending
request and then one that must succeed in the same test transaction."""

import datetime as dt

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from config.api_errors import api_exception_handler
from loyalty.earning import api as transactions_api
from loyalty.earning.models import Transaction
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.membership import api as members_api
from tests.support.api import balance, purchase
from tests.support.state import db_state

# The reproducer schemathesis printed in the failing CI run, byte for byte.
REPRODUCER = (
    "/api/v1/members/%25%5C-%C2%84/entries?%C3%92=null&limit=9300527957040194"
    "&created_before=0235-05-13T17%3A41%3A22Z&created_after=7532-01-18T14%3A21%3A10%2B15%3A25"
    "&cursor=%C3%A2%19-%C2%B1%C2%AE&kind=reversal"
)


def _still_usable(api, member) -> None:
    """The follow-up: a read and a write in the same test transaction both work."""
    r = api.get(f"/api/v1/members/{member.public_id}/entries")
    assert r.status_code == 200, r.content
    r = api.post("/api/v1/transactions", purchase(member, external_id="after", total="10.00"))
    assert r.status_code == 201, r.content


@pytest.mark.postgres
def test_the_ci_reproducer_is_a_4xx_and_the_transaction_stays_usable(api, member):
    r = api.client.get(REPRODUCER, secure=True)

    assert r.status_code == 404, r.content
    assert r.json()["error"]["code"] == "member_not_found"
    _still_usable(api, member)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/members/%25%5C%01%7F/entries", 404),  # %, \, control characters in the id
        ("/api/v1/members/%ED%A0%80/entries", 404),  # not UTF-8
        ("/api/v1/members/%00/entries", 404),
        ("/api/v1/transactions/%25%5C%0A", 404),
        ("/api/v1/holds/%25%5C%0A", 404),
        ("/api/v1/members/{member}/entries?limit=9300527957040194", 400),
        ("/api/v1/members/{member}/entries?limit=-1", 400),
        ("/api/v1/members/{member}/entries?%C3%92=null&unknown=%5C%25", 200),  # unknown parameters are ignored
        ("/api/v1/members/{member}/entries?unknown=%00", 400),
        ("/api/v1/members/{member}/entries?created_after=0001-01-01T00:00:00%2B23:59", 400),  # before year 1 in UTC
        ("/api/v1/members/{member}/entries?created_before=9999-12-31T23:59:59-23:59", 400),  # after 9999 in UTC
        ("/api/v1/members/{member}/entries?kind=%00", 400),
        ("/api/v1/transactions?member=%ED%A0%80&external_id=%5C%25", 200),
        ("/api/v1/members/lookup?email=%25%5C%01", 404),
    ],
)
def test_odd_ids_and_query_values_are_answered_before_the_database_fails(api, member, url, status):
    r = api.client.get(url.format(member=member.public_id), secure=True)

    assert r.status_code == status, r.content
    _still_usable(api, member)


@pytest.mark.parametrize("offset", ["+16:00", "+23:59", "-23:59", "+15:59:59.999999", "+15:25"])
def test_an_offset_postgresql_cannot_hold_is_read_as_the_instant_it_names(api, member, now, offset):
    """+16:00 and beyond made PostgreSQL raise `time zone displacement out of range` inside the transaction."""
    points_credit(member=member, points=10, now=now)
    entry = LedgerEntry.objects.get()
    sign = -1 if offset.startswith("-") else 1
    hours, minutes, *seconds = (float(part) for part in offset[1:].split(":"))
    zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes, seconds=sum(seconds)))
    just_after = (entry.created_at + dt.timedelta(seconds=1)).astimezone(zone)

    found = api.get(f"/api/v1/members/{member.public_id}/entries", {"created_before": just_after.isoformat()})
    missed = api.get(f"/api/v1/members/{member.public_id}/entries", {"created_after": just_after.isoformat()})

    assert (found.status_code, [e["id"] for e in found.json()["results"]]) == (200, [entry.public_id])
    assert (missed.status_code, missed.json()["results"]) == (200, [])
    _still_usable(api, member)


def test_an_offset_postgresql_cannot_hold_in_occurred_at_is_stored_as_its_instant(api, member):
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    local = moment.astimezone(dt.timezone(dt.timedelta(hours=20)))

    r = api.post("/api/v1/transactions", purchase(member, occurred_at=local.isoformat()))

    assert r.status_code == 201, r.content
    assert Transaction.objects.get().occurred_at == moment
    _still_usable(api, member)


def _refused_statement(*args, **kwargs):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")  # division_by_zero: a DataError, answered 400 invalid_value


@pytest.mark.postgres
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_statement_the_database_refuses_is_rolled_back_to_the_requests_own_boundary(api, member, monkeypatch, method):
    """Whatever input still reached the database and failed there: the 4xx leaves nothing aborted or written."""
    before = db_state()
    if method == "GET":
        monkeypatch.setattr(members_api, "member_get", _refused_statement)
        r = api.get(f"/api/v1/members/{member.public_id}")
    else:
        monkeypatch.setattr(transactions_api, "transaction_create", _refused_statement)
        r = api.post("/api/v1/transactions", purchase(member), idempotency_key="k-1")

    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "invalid_value"
    assert db_state() == before
    monkeypatch.undo()
    _still_usable(api, member)


def test_a_database_error_in_a_transaction_no_request_owns_is_not_passed_off_as_the_clients_mistake(db):
    """Outside ShopApi's boundaries nothing would roll the refused statement back: a 500, not a 400."""
    with transaction.atomic():
        response = api_exception_handler(DataError("value out of range"), {})

    assert (response.status_code, response.data["error"]["code"]) == (500, "internal_error")


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
