"""Real threads against real PostgreSQL transactions.

`parallel(calls, threads=...)` runs zero-argument callables on worker threads. Every thread opens its own
database connection (Django keeps one per thread) *before* a barrier, so all of them start their first
call at the same instant, and closes it when done. Each call's result or exception comes back as an
`Outcome`, in the order of `calls`; nothing a call raises is lost or swallowed.

PostgreSQL here allows 100 connections; a test uses at most MAX_THREADS of them (plus the test's own) so
the suite still runs beside another test process.
"""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection

from tests.support.workers import Workers, wait_for_no_other_connections

MAX_THREADS = 50
BARRIER_TIMEOUT = 30  # seconds; a broken start fails the test instead of hanging it


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _run(calls: Sequence[Callable[[], Any]], *, threads: int | None = None) -> list[Outcome]:
    threads = min(threads or len(calls), len(calls))
    assert 0 < threads <= MAX_THREADS, f"{threads} threads: PostgreSQL allows 100 connections"
    shares = [range(first, len(calls), threads) for first in range(threads)]  # round robin
    barrier = threading.Barrier(threads, timeout=BARRIER_TIMEOUT)
    outcomes: list[Outcome | None] = [None] * len(calls)

    def worker(indices: range) -> None:
        try:
            try:
                connection.ensure_connection()  # connect before the start line, not after it
            except BaseException:
                barrier.abort()
                raise
            barrier.wait()
            for index in indices:
                try:
                    outcomes[index] = Outcome(value=calls[index]())
                except Exception as exc:  # noqa: BLE001 - every outcome is asserted by the test
                    outcomes[index] = Outcome(error=exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker, share) for share in shares]:
            future.result()  # re-raises a failed connect or a broken barrier
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


@pytest.fixture
def parallel() -> Callable[..., list[Outcome]]:
    return _run


@pytest.fixture
def workers_for(tmp_path):
    made: list[Workers] = []

    def make(broker_url: str) -> Workers:
        made.append(Workers(tmp_path, broker_url))
        return made[-1]

    yield make
    for workers in made:
        workers.stop_all()
    wait_for_no_other_connections()
