"""Whether a member enjoys paid-plan benefits (subscribers-only rewards, the plan multiplier, perks), and
from which plan. The account row carries the plan and the instant its benefits end; the subscription
services and the renewal job keep them, under the account's lock. The rule is `plan_benefits_hold`."""

import datetime as dt

from loyalty.ledger.models import Account
from loyalty.program.selectors import settings_cached
from loyalty.subscriptions.models import Plan


@settings_cached
def plans_by_id() -> dict[int, Plan]:
    return {plan.pk: plan for plan in Plan.objects.all()}


def plan_benefits_hold(account: Account | None, *, now: dt.datetime) -> bool:
    """Whether the account's plan gives its benefits at `now` (trialing, active, or past due within grace)."""
    return (
        account is not None
        and account.plan_id is not None
        and account.plan_benefits_until is not None
        and now < account.plan_benefits_until
    )


def plan_benefits_of(account: Account | None, *, now: dt.datetime) -> Plan | None:
    """The plan whose benefits hold at `now`, or None (no query: plans are cached)."""
    return plans_by_id().get(account.plan_id) if plan_benefits_hold(account, now=now) else None
