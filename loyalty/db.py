"""Transactions of services, and of the API requests that call them.

A write API request is one transaction whose rollback the API's exception handler owns. Services that
run inside it need no savepoint of their own (two statements saved on every checkout), so they open
theirs with `service_atomic()`: a savepoint when called from anywhere else (commands, tasks, tests), none
inside a request.

A read request runs in autocommit, where a statement the database refuses ends only itself. Run inside a
transaction someone else opened (a test's), it gets a savepoint of its own (`read_transaction()`), so a
refused statement that the handler answers as a 4xx never leaves that transaction aborted for the next query.
"""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_in_request_transaction: ContextVar[bool] = ContextVar("in_request_transaction", default=False)


@contextmanager
def request_transaction() -> Iterator[None]:
    with transaction.atomic():
        token = _in_request_transaction.set(True)
        try:
            yield
        finally:
            _in_request_transaction.reset(token)


@contextmanager
def read_transaction() -> Iterator[None]:
    """Nothing in autocommit; a savepoint the exception handler rolls back inside a caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        yield
        return
    with request_transaction():
        yield


def in_request_transaction() -> bool:
    return _in_request_transaction.get()


def service_atomic(func):
    """Like `transaction.atomic`, without a savepoint when the caller is a request's transaction."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with transaction.atomic(savepoint=not in_request_transaction()):
            return func(*args, **kwargs)

    return wrapper
