"""Real Celery worker and beat processes log through settings.LOGGING: LOG_LEVEL (default INFO) applies, not
their `--loglevel` (which defaults to WARNING and used to hide every job summary), in the project's line format.

The worker is started the way test_celery_kill.py starts it (tests/support/workers.py), on the test database
and a filesystem broker of the test's own."""

import datetime as dt
import re
import signal
import subprocess
import time

import pytest
from django.utils import timezone

from loyalty.program.loading import program_load
from tests.support.workers import (
    CELERY,
    PROJECT,
    Workers,
    members_expired,
    members_with_due_lots,
    tail,
    wait_for_no_other_connections,
)

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARY = "expire_points: 7 points expired, 1 members"
# The project's plain format: time, level, logger, request id (`-` outside a request), message.
SUMMARY_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO loyalty\.jobs - " + re.escape(SUMMARY), re.M)


@pytest.fixture
def one_member_due():
    program_load({"program": {"name": "Logging test", "expiry": {"policy": "rolling", "months": 12}}})
    members_with_due_lots(1, due_at=timezone.now() - dt.timedelta(days=1))


def run_expiry_and_stop(workers: Workers, **env: str) -> str:
    """Start a worker without --loglevel, send it the expiry task, wait until the member has expired, stop the
    worker gracefully (SIGTERM: it finishes what it runs and flushes), and return its log."""
    worker, log = workers.start(loglevel=None, env=env)
    workers.send()
    deadline = time.monotonic() + 60
    while members_expired() == 0:
        assert worker.poll() is None, f"the worker died:\n{tail(log)}"
        assert time.monotonic() < deadline, f"the worker did not run the task within 60 s:\n{tail(log)}"
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, tail(log)
    wait_for_no_other_connections()
    return log.read_text(errors="replace")


def test_a_worker_without_loglevel_logs_the_job_summary_at_info(one_member_due, workers_for):
    text = run_expiry_and_stop(workers_for("filesystem://"), LOG_LEVEL="")  # the default

    assert SUMMARY_LINE.search(text), text
    assert " INFO celery.app.trace - Task loyalty.tasks.expire_points[" in text  # Celery's own lines too


def test_a_worker_with_log_level_warning_leaves_info_lines_out(one_member_due, workers_for):
    text = run_expiry_and_stop(workers_for("filesystem://"), LOG_LEVEL="WARNING")

    assert members_expired() == 1  # the job ran
    assert SUMMARY not in text and " INFO " not in text, text


def test_beat_without_loglevel_logs_at_info_through_the_same_setup(tmp_path, workers_for):
    workers = workers_for("filesystem://")  # only for its environment: the test database and a private broker
    log = tmp_path / "beat.log"
    with log.open("w") as output:
        beat = subprocess.Popen(
            [str(CELERY), "-A", "config", "beat", "--pidfile", str(tmp_path / "beat.pid")],
            cwd=PROJECT, env={k: v for k, v in workers.env.items() if k != "LOG_LEVEL"}, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while " INFO celery.beat - beat: Starting..." not in log.read_text(errors="replace"):
            assert beat.poll() is None, f"beat died:\n{tail(log)}"
            assert time.monotonic() < deadline, f"beat logged no start at INFO within 60 s:\n{tail(log)}"
            time.sleep(0.1)
    finally:
        beat.kill()  # only its logging is tested here; how it shuts down is not
        beat.wait(timeout=30)
        wait_for_no_other_connections()
