"""Real Celery workers as child processes on the test database, and members with points due to expire
written in bulk (through the services it would take minutes), keeping the ledger exact: each lot is one earn
entry of the same points, `balance_after` is the running sum and `available` the sum of the lots."""

import datetime as dt
import os
import subprocess
import time
import uuid
from pathlib import Path

from celery import Celery
from django.db import connection

from loyalty.ledger.models import Account, LedgerEntry, PointLot
from members.models import Member

Kind = LedgerEntry.Kind
PROJECT = Path(__file__).resolve().parents[2]
CELERY = PROJECT / ".venv" / "bin" / "celery"
DUE_PER_MEMBER = 3 + 4
KEPT_PER_MEMBER = 10


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
