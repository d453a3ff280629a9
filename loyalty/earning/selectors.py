"""Reads of purchases."""

import datetime as dt

from django.db.models import Sum

from loyalty.earning.models import Transaction


def qualifying_points(*, member_id: int, since: dt.datetime) -> int:
    """Base points of the member's purchases after `since`, net of refunds (one query)."""
    rows = Transaction.objects.filter(member_id=member_id, occurred_at__gt=since)
    return rows.aggregate(points=Sum("qualifying_points"))["points"] or 0
