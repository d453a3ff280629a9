"""Calendar arithmetic on aware datetimes: months and years that clamp to the month's last day."""

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings


def months_add(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` moved by whole calendar months; 31 January + 1 month = 28 (or 29) February."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def year_end_after(moment: dt.datetime, years: int) -> dt.datetime:
    """The first instant after 31 December of the `years`-th year after `moment`, in the program's zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = moment.astimezone(zone)
    return dt.datetime(local.year + years + 1, 1, 1, tzinfo=zone)
