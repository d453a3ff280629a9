"""loyalty.db: a service outside a request opens a savepoint; inside a request transaction it opens none,
and only the whole request can roll back."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from loyalty.db import in_request_transaction, request_transaction, service_atomic
from loyalty.shops.models import Shop


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
