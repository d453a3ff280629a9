"""Calendar arithmetic on aware datetimes: months and years that clamp to the month's last day."""

import calendar
import datetime as dt
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Instants:
    """A set of instants: every one before `before`, and every one inside a closed span of `spans`."""

    before: dt.datetime
    spans: tuple[tuple[dt.datetime, dt.datetime], ...] = ()

    def __contains__(self, moment: dt.datetime) -> bool:
        return moment < self.before or any(start <= moment <= end for start, end in self.spans)


def months_add_reached(months: int, now: dt.datetime) -> Instants:
    """The UTC instants `m` with `months_add(m, months) <= now`, as bounds a database can compare against.

    Not simply "before `now` minus `months`": clamping keeps the time of day, so when `now` falls on the
    last day of its month, the later days of the month `months` back (which clamp onto it) are in only up
    to `now`'s time of day. `m` is taken in UTC, the zone the database returns instants in."""
    now = now.astimezone(dt.UTC)
    index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    days_then = calendar.monthrange(year, month)[1]
    days_now = calendar.monthrange(now.year, now.month)[1]
    first_day = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    time_of_day = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Days before now's day are in whole; now's day up to its time of day; so are the days clamped onto it.
    days_up_to_time = [now.day] if now.day <= days_then else []
    if now.day == days_now:
        days_up_to_time += range(now.day + 1, days_then + 1)
    day_starts = [first_day + dt.timedelta(days=day - 1) for day in days_up_to_time]
    return Instants(
        before=first_day + dt.timedelta(days=min(now.day, days_then + 1) - 1),
        spans=tuple((start, start + time_of_day) for start in day_starts),
    )
