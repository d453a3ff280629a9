"""Each job's `JobStatus` row says how its last run went, so a failing job is visible without the workers' logs."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client

from loyalty.jobs import registry
from loyalty.jobs.models import JobStatus
from loyalty.jobs.registry import JOBS, job_run
from loyalty.program.loading import program_load

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def program():
    program_load({"program": {"name": "Jobs", "currency": "EUR"}})


@pytest.fixture
def broken(monkeypatch):
    def fail(*, now):
        raise RuntimeError("the chunk's statement timed out")

    monkeypatch.setitem(JOBS, "expire_points", fail)


def test_a_run_records_its_summary(monkeypatch):
    summary = job_run("expire_points", now=NOW)

    status = JobStatus.objects.get(name="expire_points")
    assert (status.last_summary, status.failures, status.last_error) == (summary, 0, "")
    assert status.last_finished_at >= status.last_started_at


def test_failures_are_counted_with_their_error_and_a_success_clears_the_count(monkeypatch, broken):
    for _ in range(2):
        with pytest.raises(RuntimeError):
            job_run("expire_points", now=NOW)

    status = JobStatus.objects.get(name="expire_points")
    assert status.failures == 2
    assert status.last_error == "RuntimeError: the chunk's statement timed out"
    assert status.last_finished_at is None

    monkeypatch.undo()
    job_run("expire_points", now=NOW)

    status.refresh_from_db()
    assert (status.failures, status.last_summary) == (0, "expire_points: nothing due")
    assert status.last_error == "RuntimeError: the chunk's statement timed out"  # kept, with when it failed


def test_a_status_that_cannot_be_written_does_not_hide_the_jobs_own_error(monkeypatch, broken):
    def database_down(*args, **kwargs):
        raise registry.DatabaseError("server closed the connection")

    monkeypatch.setattr(JobStatus.objects, "filter", database_down)

    with pytest.raises(RuntimeError, match="timed out"):
        job_run("expire_points", now=NOW)


def test_staff_read_job_statuses_and_cannot_change_them(broken):
    with pytest.raises(RuntimeError):
        job_run("expire_points", now=NOW)
    staff = Client()
    staff.force_login(User.objects.create_superuser("ops", "ops@example.com", "x" * 12))

    page = staff.get("/admin/loyalty/jobstatus/", secure=True)

    assert page.status_code == 200
    assert "the chunk&#x27;s statement timed out" in page.content.decode()
    status = JobStatus.objects.get()
    assert staff.post(f"/admin/loyalty/jobstatus/{status.pk}/change/", {"failures": 0}, secure=True).status_code == 403
