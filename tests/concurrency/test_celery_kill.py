"""A real Celery worker killed with SIGKILL in the middle of an expiry run.

The run commits chunk by chunk (1,000 accounts each), so a kill leaves whole chunks expired and the other
members untouched: never a member half-expired, never the books off. Running the job again finishes the run
with every member expired exactly once and exact totals:

- with the embedded broker (`filesystem://`, the default) the job is rerun in-process: that broker takes a
  message off its folder when a worker fetches it, so a killed worker's task is not redelivered; the next
  scheduled run (or this rerun) does the rest;
- with RabbitMQ the broker requeues the unacknowledged task (`acks_late`) when the killed worker's connection
  drops, and a second worker finishes the run from it.

The worker is a separate process on the test database; it sees only committed rows, so these tests commit
for real (transaction=True). Members and their lots are written with bulk_create (through the services it
would take minutes), keeping the ledger exact: each lot is one earn entry of the same points, `balance_after`
is the running sum and `available` the sum of the lots.
"""

import datetime as dt
import os
import signal
import time

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from loyalty.ledger.jobs import expire_points
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.verify import ledger_verify
from loyalty.program.loading import program_load
from tests.support.workers import (
    DUE_PER_MEMBER,
    KEPT_PER_MEMBER,
    Workers,
    members_expired,
    members_with_due_lots,
    tail,
    wait_for_no_other_connections,
)

pytestmark = pytest.mark.django_db(transaction=True)

Kind = LedgerEntry.Kind
MEMBERS = 5000  # five chunks of 1,000: a few seconds of work for the worker
CHUNK = 1000  # the task runs the job with its default chunk size
RABBITMQ_URL = os.environ.get("CELERY_KILL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def kill_mid_run(workers: Workers) -> tuple[int, str]:
    """Start a worker, hand it the expiry task, and SIGKILL it once the first chunk has committed; returns
    (members expired at the kill, task id)."""
    worker, log = workers.start()
    task_id = workers.send()
    deadline = time.monotonic() + 60
    while members_expired() == 0:
        assert worker.poll() is None, f"the worker died before it committed a chunk:\n{tail(log)}"
        assert time.monotonic() < deadline, f"the worker committed nothing within 60 s:\n{tail(log)}"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    wait_for_no_other_connections()
    expired = members_expired()
    assert expired < MEMBERS, "the run finished before the kill: nothing was interrupted"
    return expired, task_id


def assert_partial_run(expired: int) -> None:
    """Whole chunks expired, the rest untouched, nothing twice, and the books exact (ledger_verify also runs
    after the test)."""
    assert 0 < expired < MEMBERS
    assert expired % CHUNK == 0, f"{expired} members expired: not whole chunks"
    per_account = LedgerEntry.objects.filter(kind=Kind.EXPIRE).values("account").annotate(n=Count("id"))
    assert per_account.filter(n__gt=1).count() == 0
    assert set(LedgerEntry.objects.filter(kind=Kind.EXPIRE).values_list("points", flat=True)) == {-DUE_PER_MEMBER}
    balances = dict(Account.objects.values("available").annotate(n=Count("id")).values_list("available", "n"))
    assert balances == {KEPT_PER_MEMBER: expired, DUE_PER_MEMBER + KEPT_PER_MEMBER: MEMBERS - expired}
    assert PointLot.objects.filter(expires_at__isnull=False, remaining=0).count() == 2 * expired
    assert PointLot.objects.filter(expires_at__isnull=False, remaining__gt=0).count() == 2 * (MEMBERS - expired)
    assert ledger_verify() == []


def assert_run_complete() -> None:
    """Every member expired exactly once, with exact totals."""
    per_account = LedgerEntry.objects.filter(kind=Kind.EXPIRE).values("account").annotate(n=Count("id"))
    assert per_account.count() == MEMBERS
    assert per_account.filter(n__gt=1).count() == 0
    expired = LedgerEntry.objects.filter(kind=Kind.EXPIRE).aggregate(total=Sum("points"))["total"]
    assert expired == -DUE_PER_MEMBER * MEMBERS
    assert LotAllocation.objects.filter(entry__kind=Kind.EXPIRE).count() == 2 * MEMBERS
    assert set(Account.objects.values_list("available", flat=True)) == {KEPT_PER_MEMBER}
    assert Account.objects.aggregate(total=Sum("available"))["total"] == KEPT_PER_MEMBER * MEMBERS
    assert PointLot.objects.filter(expires_at__isnull=False).aggregate(total=Sum("remaining"))["total"] == 0
    assert expire_points(now=timezone.now()).summary() == "expire_points: nothing due"


@pytest.fixture
def due_members():
    program_load({"program": {"name": "Kill test", "expiry": {"policy": "rolling", "months": 12}}})
    members_with_due_lots(MEMBERS, due_at=timezone.now() - dt.timedelta(days=1))


def test_a_worker_killed_mid_run_leaves_whole_chunks_and_a_rerun_finishes_exactly(due_members, workers_for):
    workers = workers_for("filesystem://")

    expired, _ = kill_mid_run(workers)
    assert_partial_run(expired)

    rerun = expire_points(now=timezone.now())

    assert rerun.counts == {
        "points_expired": DUE_PER_MEMBER * (MEMBERS - expired), "members": MEMBERS - expired,
        "lots": 2 * (MEMBERS - expired),
    }  # fmt: skip
    assert_run_complete()


def test_with_rabbitmq_the_killed_workers_task_is_redelivered_and_finishes_the_run(due_members, workers_for):
    workers = workers_for(RABBITMQ_URL)
    try:
        with workers.client.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"this test needs RabbitMQ at {RABBITMQ_URL} (set CELERY_KILL_TEST_AMQP_URL): {exc}")

    expired, task_id = kill_mid_run(workers)
    assert_partial_run(expired)

    # Nothing is sent again: the second worker gets the very task the first one was running.
    second, log = workers.start()
    deadline = time.monotonic() + 90
    while f"{task_id}] succeeded" not in log.read_text(errors="replace"):
        assert second.poll() is None, f"the second worker died:\n{tail(log)}"
        assert time.monotonic() < deadline, f"the task was not redelivered and finished within 90 s:\n{tail(log)}"
        time.sleep(0.1)

    text = log.read_text(errors="replace")
    assert f"Task loyalty.tasks.expire_points[{task_id}] received" in text
    assert text.count("] received") == 1
    summary = f"expire_points: {DUE_PER_MEMBER * (MEMBERS - expired)} points expired, {MEMBERS - expired} members"
    assert summary in text
    assert_run_complete()
