"""`manage.py run_job NAME [--now] [--chunk-size]` and the Celery tasks that run the same jobs."""

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from config.celery import app
from loyalty.jobs.registry import JOBS
from loyalty.ledger.models import Account, LedgerEntry
from loyalty.ledger.services import points_credit
from loyalty.ledger.tasks import expire_points_task
from loyalty.program.loading import program_load
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
PROJECT = Path(__file__).resolve().parents[3]
EXPIRES_AT = dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
EMPTY_SUMMARIES = {
    "expire_points": "expire_points: nothing due",
    "activate_pending_points": "activate_pending_points: nothing due",
    "release_expired_holds": "release_expired_holds: nothing due",
    "recalculate_tiers": "recalculate_tiers: nothing due",
    "purge_idempotency_keys": "purge_idempotency_keys: 0 stored responses deleted",
}


def run_job(*args: str) -> str:
    out = io.StringIO()
    call_command("run_job", *args, stdout=out)
    return out.getvalue()


def rolling_program() -> None:
    program_load({"program": {"name": "Run job", "expiry": {"policy": "rolling", "months": 12}}})


def available(member) -> int:
    return Account.objects.values_list("available", flat=True).get(member=member)


@pytest.fixture
def due_member():
    """A member with 100 points expiring at 10:00 UTC on 1 June 2026 and 20 that never expire."""
    rolling_program()
    member = MemberFactory()
    points_credit(member=member, points=100, now=EXPIRES_AT - dt.timedelta(days=30), expires_at=EXPIRES_AT)
    points_credit(member=member, points=20, now=EXPIRES_AT - dt.timedelta(days=30))
    return member


def empty_summary(name: str) -> str:
    return EMPTY_SUMMARIES.get(name, f"{name}: nothing due")


def test_every_job_api_md_names_is_registered():
    assert {
        "expire_points", "activate_pending_points", "release_expired_holds", "recalculate_tiers",
        "renew_subscriptions", "expire_vouchers",
    } <= set(JOBS)  # fmt: skip


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_job_prints_a_one_line_summary(name):
    output = run_job(name, "--now", "2026-03-15T12:00:00+00:00")

    assert output.endswith("\n") and output.count("\n") == 1
    assert output.rstrip("\n") == empty_summary(name)


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_job_runs_without_now_as_of_the_current_time(name):
    output = run_job(name)
    assert output.count("\n") == 1
    assert output.startswith(f"{name}: ")


def test_now_with_an_offset_is_the_instant_it_names(due_member):
    # 12:00 in UTC+2 is 10:00 UTC, the lot's expiry; a microsecond earlier nothing is due.
    assert run_job("expire_points", "--now", "2026-06-01T11:59:59.999999+02:00") == "expire_points: nothing due\n"
    assert available(due_member) == 120

    output = run_job("expire_points", "--now", "2026-06-01T12:00:00+02:00")

    assert output == "expire_points: 100 points expired, 1 members, 1 lots (1 accounts in 1 chunks)\n"
    assert available(due_member) == 20
    entry = LedgerEntry.objects.get(account__member=due_member, kind=LedgerEntry.Kind.EXPIRE)
    assert (entry.points, entry.created_at) == (-100, EXPIRES_AT)
    assert run_job("expire_points", "--now", "2026-06-01T10:00:00Z") == "expire_points: nothing due\n"


def test_a_naive_now_is_refused_and_nothing_runs(due_member):
    with pytest.raises(CommandError, match="--now needs an offset"):
        run_job("expire_points", "--now", "2026-07-01T12:00:00")
    assert available(due_member) == 120
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EXPIRE).exists()


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01T00:00:00+00:00", "1 June 2026"])
def test_a_now_that_is_not_a_timestamp_is_refused(due_member, value):
    with pytest.raises(CommandError, match="--now"):
        run_job("expire_points", "--now", value)
    assert available(due_member) == 120


def test_an_unknown_job_is_refused_with_the_list_of_jobs():
    with pytest.raises(CommandError) as raised:
        run_job("expire_everything")

    message = str(raised.value)
    assert "expire_everything" in message
    for name in JOBS:
        assert name in message


def test_chunk_size_is_passed_to_the_job():
    rolling_program()
    for _ in range(3):
        points_credit(member=MemberFactory(), points=7, now=EXPIRES_AT - dt.timedelta(days=1), expires_at=EXPIRES_AT)

    output = run_job("expire_points", "--now", "2026-06-02T00:00:00+00:00", "--chunk-size", "1")

    assert output == "expire_points: 21 points expired, 3 members, 3 lots (3 accounts in 3 chunks)\n"


@pytest.mark.parametrize("size", ["0", "-5"])
def test_a_chunk_size_below_one_is_refused(due_member, size):
    with pytest.raises(CommandError, match="--chunk-size"):
        run_job("expire_points", "--now", "2026-07-01T00:00:00+00:00", "--chunk-size", size)
    assert available(due_member) == 120


def test_the_command_line_exits_non_zero_for_an_unknown_job(tmp_path):
    env = {**os.environ, "LOYALTY_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "run_job", "nope"], cwd=PROJECT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stdout == ""
    assert "unknown job 'nope'" in result.stderr
    assert ", ".join(sorted(JOBS)) in result.stderr


# --- the Celery tasks --------------------------------------------------------------------------------


def task_of(name: str):
    """The Celery task that runs job `name` (named loyalty.tasks.NAME, or APP.tasks.NAME for later apps)."""
    app.loader.import_default_modules()  # what a worker does at start: autodiscover every app's tasks
    found = [task for task_name, task in app.tasks.items() if task_name.endswith(f".tasks.{name}")]
    assert len(found) == 1, f"no single task for job {name}: {found}"
    return found[0]


@pytest.mark.parametrize("name", sorted(JOBS))
def test_each_job_is_a_late_acknowledged_task_that_returns_its_summary(name):
    task = task_of(name)

    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert task.apply().get() == empty_summary(name)


def test_the_expire_task_runs_as_of_the_current_time():
    rolling_program()
    member = MemberFactory()
    now = timezone.now()
    points_credit(member=member, points=33, now=now - dt.timedelta(days=2), expires_at=now - dt.timedelta(seconds=1))

    summary = expire_points_task.apply().get()

    assert summary == "expire_points: 33 points expired, 1 members, 1 lots (1 accounts in 1 chunks)"
    assert available(member) == 0


def test_the_beat_schedule_names_registered_tasks_for_every_job():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert scheduled == {task_of(name).name for name in JOBS}
