"""The periodic jobs by their `run_job` names (README.md, Operator commands)."""

import datetime as dt
from collections.abc import Callable

from loyalty.api.idempotency import idempotency_keys_purge
from loyalty.jobs.expiry import expire_points
from loyalty.jobs.holds import release_expired_holds
from loyalty.jobs.pending import activate_pending_points
from loyalty.jobs.runner import JobRun
from loyalty.jobs.subscriptions import renew_subscriptions
from loyalty.jobs.tiers import recalculate_tiers


def purge_idempotency_keys(*, now: dt.datetime) -> JobRun:
    run = JobRun("purge_idempotency_keys")
    run.add(stored_responses_deleted=idempotency_keys_purge(now=now))
    return run


JOBS: dict[str, Callable[..., JobRun]] = {
    "expire_points": expire_points,
    "activate_pending_points": activate_pending_points,
    "release_expired_holds": release_expired_holds,
    "recalculate_tiers": recalculate_tiers,
    "renew_subscriptions": renew_subscriptions,
    "purge_idempotency_keys": purge_idempotency_keys,
}


def job_register(name: str, job: Callable[..., JobRun]) -> None:
    """Later parts of the product (subscriptions, vouchers) add their jobs here."""
    JOBS[name] = job
