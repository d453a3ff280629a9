"""Reads of plans and subscriptions."""

from loyalty.subscriptions.errors import PlanNotFound
from loyalty.subscriptions.models import Plan


def plan_by_code(code: str) -> Plan:
    """The active plan with this code. Raises PlanNotFound."""
    plan = Plan.objects.filter(code=code, active=True).first() if isinstance(code, str) else None
    if plan is None:
        raise PlanNotFound(param="plan")
    return plan
