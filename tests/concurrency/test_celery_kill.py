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
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from loyalty.ledger.jobs import expire_points
from loyalty.ledger.models import Account, LedgerEntry, LotAllocation, PointLot
from loyalty.ledger.verify import ledger_verify
from loyalty.program.loading import program_load
from members.models import Member

pytestmark = pytest.mark.django_db(transaction=True)

Kind = LedgerEntry.Kind
PROJECT = Path(__file__).resolve().parents[2]
CELERY = PROJECT / ".venv" / "bin" / "celery"
MEMBERS = 5000  # five chunks of 1,000: a few seconds of work for the worker
CHUNK = 1000  # the task runs the job with its default chunk size
DUE_PER_MEMBER = 3 + 4
KEPT_PER_MEMBER = 10
RABBITMQ_URL = os.environ.get("CELERY_KILL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def members_with_due_lots(count: int, *, due_at: dt.datetime) -> None:
    """`count` members, each with two lots (3 and 4 points) due at `due_at` and one of 10 that never expires."""
    created = due_at - dt.timedelta(days=400)
    members = Member.objects.bulk_create(
        [
            Member(
                public_id=f"mem_kill{index}",
                card_number=f"8{index:015d}",
                email=f"kill{index}@example.com",
                referral_code=f"K{index:09d}",
                enrolled_at=created,
            )
            for index in range(count)
        ],
        batch_size=2000,
    )
    accounts = Account.objects.bulk_create(
        [Account(member_id=member.pk, available=DUE_PER_MEMBER + KEPT_PER_MEMBER) for member in members],
        batch_size=2000,
    )
    lots = ((3, due_at), (4, due_at), (KEPT_PER_MEMBER, None))
    entries = LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                public_id=f"ent_kill{account.pk}_{points}",
                account_id=account.pk,
                kind=Kind.EARN,
                points=points,
                balance_after=running,
                created_at=created,
                actor="test",
                description="bulk",
            )
            for account in accounts
            for (points, _), running in zip(lots, (3, 7, 17), strict=True)
        ],
        batch_size=5000,
    )
    PointLot.objects.bulk_create(
        [
            PointLot(
                account_id=entry.account_id,
                entry_id=entry.pk,
                amount=entry.points,
                remaining=entry.points,
                pending=False,
                available_at=created,
                expires_at=expires_at,
                created_at=created,
            )
            for entry, (_, expires_at) in zip(entries, lots * count, strict=True)
        ],
        batch_size=5000,
    )


class Workers:
    """Celery workers as child processes on the test database, with a broker of the test's own."""

    def __init__(self, tmp_path: Path, broker_url: str) -> None:
        self.var = tmp_path / "var"
        self.broker_url = broker_url
        self.queue = f"kill-test-{uuid.uuid4().hex[:10]}"  # private even on a shared RabbitMQ
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "LOYALTY_VAR_DIR": str(self.var),  # the filesystem broker's folders: var/broker/{queue,processed}
            "PYTHONUNBUFFERED": "1",
        }
        transport_options = {}
        if broker_url.startswith("filesystem://"):
            folders = {name: self.var / "broker" / name for name in ("queue", "processed")}
            for folder in folders.values():
                folder.mkdir(parents=True, exist_ok=True)
            transport_options = {
                "data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
                "processed_folder": str(folders["processed"]), "store_processed": False,
            }  # fmt: skip
        # The test's own client of the same broker (the project's app is configured for var/ of the project).
        self.client = Celery("kill-test", broker=broker_url, broker_transport_options=transport_options)

    def start(self, *, loglevel: str | None = "INFO", env: dict | None = None) -> tuple[subprocess.Popen, Path]:
        """A worker (with `--loglevel` unless None) and the variables in `env` set ("" unsets one)."""
        log = self.var / f"worker-{len(self.processes)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        output = log.open("w")
        environment = {name: value for name, value in {**self.env, **(env or {})}.items() if value != ""}
        process = subprocess.Popen(
            [
                str(CELERY), "-A", "config", "worker", "--pool=solo", "--concurrency=1",
                *([f"--loglevel={loglevel}"] if loglevel else []),
                "--queues", self.queue, "--hostname", f"{self.queue}-{len(self.processes)}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=PROJECT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        output.close()  # the worker has its own copy
        self.processes.append((process, log))
        return process, log

    def send(self) -> str:
        return self.client.send_task("loyalty.tasks.expire_points", queue=self.queue).id

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        if self.broker_url.startswith("amqp://"):
            with self.client.connection_for_write() as conn:
                conn.default_channel.queue_delete(self.queue)
        self.client.close()


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


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


def members_expired() -> int:
    return LedgerEntry.objects.filter(kind=Kind.EXPIRE).count()


def wait_for_no_other_connections(timeout: float = 30) -> None:
    """Until PostgreSQL has ended every backend of a killed worker (rolling back its open chunk and freeing its
    row locks), which the next run must not find held."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (others,) = cursor.fetchone()
        if not others:
            return
        assert time.monotonic() < deadline, f"{others} other connections to the test database are still open"
        time.sleep(0.05)


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
