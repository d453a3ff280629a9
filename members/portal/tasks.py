"""The portal's task: sign-in requests handled after the login page answered (and swept every minute, for a task
the broker lost)."""

from loyalty.jobs.registry import job_task
from members.portal.signin import process_signin_requests

process_signin_requests_task = job_task(
    process_signin_requests, task_name="members.portal.tasks.process_signin_requests"
)
