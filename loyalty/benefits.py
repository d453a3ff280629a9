"""Whether a member currently enjoys paid-plan benefits (subscribers-only rewards, the plan multiplier).

Paid loyalty subscriptions fill this in; until a member has a live subscription it is always False."""

import datetime as dt


def plan_benefits_active(*, member_id: int, now: dt.datetime) -> bool:
    return False
