"""The stored responses' periodic purge (its name is the one beat's stored schedules know)."""

from loyalty.idempotency.jobs import purge_idempotency_keys
from loyalty.jobs.registry import job_task

purge_idempotency_keys_task = job_task(purge_idempotency_keys, task_name="loyalty.tasks.purge_idempotency_keys")
